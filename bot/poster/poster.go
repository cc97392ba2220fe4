// Package poster draws the printable poster a hamlet's team puts on a wall:
// the hamlet and commune names, one line telling the reader what to do, and
// a QR code of the bot's deep link that files the resident under the hamlet
// (t.me/<bot>?start=h_<hamlet id>), with the link printed under it for
// anyone who would rather type it. Zalo has no such link: its poster's code
// opens the Official Account (zalo.me/<oa id>, ZaloLink), and the hamlet's
// code, printed large under it, is what the reader sends.
//
// Go's bundled fonts have no Vietnamese letters (ơ, ư, ạ, ế…), so the text
// is set in DejaVu Sans, compiled in from github.com/go-fonts/dejavu;
// Render refuses text the font cannot show rather than print empty boxes.
package poster

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"regexp"
	"strings"
	"unicode"

	qrcode "github.com/skip2/go-qrcode"
	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
	"golang.org/x/text/unicode/norm"
)

// The page: A4 portrait (210 × 297 mm) at 150 dots per inch.
const (
	DPI    = 150
	Width  = 1240
	Height = 1754
)

// Poster is what one poster says. Render NFC-normalises every field.
type Poster struct {
	HamletName  string // large and bold at the top
	CommuneName string // under the hamlet name
	Link        string // encoded in the QR code and printed under it
	Instruction string // one sentence above the code: what to do with it
	// Code, when set, is printed large under the link: what the reader
	// sends once the QR code opened the chat (a hamlet's code on a Zalo
	// poster, which the instruction names too).
	Code string
}

var (
	botUsername  = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{3,31}$`)
	startPayload = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
)

// StartLink returns the deep link that opens bot with the start parameter
// h_<hamletID>, which the engine reads as "this resident lives in that
// hamlet". Telegram drops a start parameter that is longer than 64
// characters or has characters other than A–Z, a–z, 0–9, _ and -, so such an
// id is an error rather than a poster whose code silently does nothing.
func StartLink(bot, hamletID string) (string, error) {
	bot = strings.TrimPrefix(bot, "@")
	if !botUsername.MatchString(bot) {
		return "", fmt.Errorf("poster: %q is not a Telegram bot username", bot)
	}
	payload := "h_" + hamletID
	if hamletID == "" || !startPayload.MatchString(payload) {
		return "", fmt.Errorf("poster: hamlet id %q cannot be put in a Telegram start link: at most 62 of A–Z a–z 0–9 _ -", hamletID)
	}
	return "https://t.me/" + bot + "?start=" + payload, nil
}

var oaID = regexp.MustCompile(`^[0-9]{1,32}$`)

// ZaloLink returns the link that opens a Zalo Official Account, whose id
// is digits: the QR code of a Zalo poster. Zalo passes nothing to the
// chat from such a link, which is why the poster also gives a code to send.
func ZaloLink(oa string) (string, error) {
	oa = strings.TrimSpace(oa)
	if !oaID.MatchString(oa) {
		return "", fmt.Errorf("poster: %q is not a Zalo Official Account id (digits)", oa)
	}
	return "https://zalo.me/" + oa, nil
}

// Layout, in pixels of the 150 dpi page.
const (
	marginX    = 90 // left and right, well inside any printer's unprintable edge
	marginY    = 100
	textWidth  = Width - 2*marginX
	frameInset = 40 // the border line, as far from the paper's edge
	frameWidth = 6
	maxQRSide  = 900
	minQRSide  = 500
)

// Render draws p on an A4 page and returns it as PNG bytes, tagged as 150
// dpi so that it prints at A4 size. It is an error if fonts lacks a glyph
// for any character of the text.
func Render(p Poster, fonts Fonts) ([]byte, error) {
	if fonts.Regular == nil || fonts.Bold == nil {
		return nil, errors.New("poster: fonts not loaded (use DejaVuSans)")
	}
	p = Poster{
		HamletName:  clean(p.HamletName),
		CommuneName: clean(p.CommuneName),
		Link:        strings.TrimSpace(p.Link),
		Instruction: clean(p.Instruction),
		Code:        clean(p.Code),
	}
	if p.HamletName == "" || p.Link == "" {
		return nil, errors.New("poster: a poster needs a hamlet name and a link")
	}
	var missing []string
	for _, f := range []struct{ what, text string }{
		{"hamlet name", p.HamletName}, {"commune name", p.CommuneName},
		{"instruction", p.Instruction}, {"link", p.Link}, {"code", p.Code},
	} {
		if rs := fonts.Missing(f.text); len(rs) > 0 {
			missing = append(missing, fmt.Sprintf("%s %q: %s", f.what, f.text, describeRunes(rs)))
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("poster: the font has no glyph for some characters, so they would print as boxes: %s", strings.Join(missing, "; "))
	}

	// Error correction High: a poster on a village wall gets rained on,
	// taped over and torn, and High still reads with 30% of it gone.
	qr, err := qrcode.New(p.Link, qrcode.High)
	if err != nil {
		return nil, fmt.Errorf("poster: QR code for %q: %w", p.Link, err)
	}
	// The bitmap keeps the 4-module quiet zone the standard asks for.
	modules := qr.Bitmap()

	var blocks []*block
	defer func() {
		for _, b := range blocks {
			b.close()
		}
	}()
	fit := func(f *opentype.Font, text string, maxPx, minPx float64, maxLines int) (*block, error) {
		b, err := fitBlock(f, text, maxPx, minPx, maxLines)
		if b != nil {
			blocks = append(blocks, b)
		}
		return b, err
	}
	hamlet, err := fitHeadline(fonts.Bold, p.HamletName)
	if hamlet != nil {
		blocks = append(blocks, hamlet)
	}
	if err != nil {
		return nil, err
	}
	// The commune name stays smaller than the hamlet's, however long that is.
	commune, err := fit(fonts.Regular, p.CommuneName, min(72, max(40, hamlet.px*0.7)), 36, 1)
	if err != nil {
		return nil, err
	}
	instruction, err := fit(fonts.Regular, p.Instruction, 54, 36, 3)
	if err != nil {
		return nil, err
	}
	link, err := fit(fonts.Regular, p.Link, 38, 22, 1)
	if err != nil {
		return nil, err
	}
	code, err := fit(fonts.Bold, p.Code, 130, 60, 1)
	if err != nil {
		return nil, err
	}

	const (
		gapHamletCommune = 36
		gapRule          = 48 // above and below the rule under the names
		ruleWidth        = 4
		gapText          = 20 // instruction to the code; its white quiet zone adds more
		gapCode          = 40 // the link to the code to send
	)
	textHeight := hamlet.height() + gapHamletCommune + commune.height() + 2*gapRule + ruleWidth +
		instruction.height() + gapText + link.height()
	if p.Code != "" {
		textHeight += gapCode + code.height()
	}
	side := min(maxQRSide, Height-2*marginY-textHeight)
	module := side / len(modules)
	if side < minQRSide || module < 4 {
		return nil, fmt.Errorf("poster: the text is too long: it leaves %d px for the QR code, at least %d needed", side, minQRSide)
	}
	side = module * len(modules)

	img := image.NewGray(image.Rect(0, 0, Width, Height))
	draw.Draw(img, img.Bounds(), image.White, image.Point{}, draw.Src)
	frame(img, frameInset, frameWidth)

	// Centre the whole column on the page.
	y := (Height - (textHeight + side)) / 2
	y = hamlet.draw(img, y)
	y += gapHamletCommune
	y = commune.draw(img, y)
	y += gapRule
	rw := textWidth / 3
	fillRect(img, image.Rect((Width-rw)/2, y, (Width+rw)/2, y+ruleWidth))
	y += ruleWidth + gapRule
	y = instruction.draw(img, y)
	y += gapText
	x0 := (Width - side) / 2
	for r, row := range modules {
		for c, dark := range row {
			if dark {
				fillRect(img, image.Rect(x0+c*module, y+r*module, x0+(c+1)*module, y+(r+1)*module))
			}
		}
	}
	y += side // the quiet zone separates the link from the code
	y = link.draw(img, y)
	if p.Code != "" {
		code.draw(img, y+gapCode)
	}

	var buf bytes.Buffer
	// Default compression: best saves a tenth of ~50 kB at ten times the time.
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("poster: encode PNG: %w", err)
	}
	return withDPI(buf.Bytes(), DPI), nil
}

// clean NFC-normalises s, so that text typed with combining marks (as some
// keyboards and imports produce) uses the precomposed letters the font
// has, and folds runs of white space into one space.
func clean(s string) string {
	return strings.Join(strings.Fields(norm.NFC.String(s)), " ")
}

func describeRunes(rs []rune) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = fmt.Sprintf("%q (%U)", r, r)
	}
	return strings.Join(parts, ", ")
}

func fillRect(img *image.Gray, r image.Rectangle) {
	draw.Draw(img, r, image.Black, image.Point{}, draw.Src)
}

// frame draws a border line inset from the paper's edge: it makes the sheet
// read as one notice on a crowded board.
func frame(img *image.Gray, inset, width int) {
	w, h := img.Bounds().Dx(), img.Bounds().Dy()
	fillRect(img, image.Rect(inset, inset, w-inset, inset+width))
	fillRect(img, image.Rect(inset, h-inset-width, w-inset, h-inset))
	fillRect(img, image.Rect(inset, inset, inset+width, h-inset))
	fillRect(img, image.Rect(w-inset-width, inset, w-inset, h-inset))
}

// block is text set in one face, wrapped into lines that each fit textWidth.
type block struct {
	face    font.Face
	px      float64
	lines   []string
	pitch   int // baseline to baseline
	ascent  int // ink above the first baseline
	descent int // ink below the last baseline
}

func (b *block) close() {
	if b.face != nil {
		_ = b.face.Close()
	}
}

func (b *block) height() int {
	if len(b.lines) == 0 {
		return 0
	}
	return b.ascent + (len(b.lines)-1)*b.pitch + b.descent
}

// draw sets the lines centred, the first one's ink starting at top, and
// returns the y under the last line's ink.
func (b *block) draw(dst draw.Image, top int) int {
	if len(b.lines) == 0 {
		return top
	}
	d := font.Drawer{Dst: dst, Src: image.NewUniform(color.Black), Face: b.face}
	base := top + b.ascent
	for _, l := range b.lines {
		w := d.MeasureString(l)
		d.Dot = fixed.Point26_6{X: fixed.I(Width/2) - w/2, Y: fixed.I(base)}
		d.DrawString(l)
		base += b.pitch
	}
	return top + b.height()
}

// fitHeadline sets the hamlet name as large as it goes on one line, or on
// two or three when that makes the letters clearly bigger: a long name such
// as "Tổ dân phố 1 (Đình Cả)" reads better from across a road broken than
// shrunk.
func fitHeadline(f *opentype.Font, text string) (*block, error) {
	best, err := fitBlock(f, text, 150, 48, 1)
	if err != nil {
		return nil, err
	}
	for lines := 2; lines <= 3; lines++ {
		b, err := fitBlock(f, text, 120, 48, lines)
		if err != nil {
			best.close()
			return nil, err
		}
		if b.px >= best.px*1.25 {
			best, b = b, best
		}
		b.close()
	}
	return best, nil
}

// fitBlock wraps text at the largest size from maxPx down to minPx that
// gives at most maxLines lines, each narrower than textWidth. If none does,
// it takes minPx and as many lines as the text needs, and if a single word
// is wider than the page even then, the size that fits that word: a poster
// is always made, and a very long text leaves too little room for the code,
// which Render reports.
func fitBlock(f *opentype.Font, text string, maxPx, minPx float64, maxLines int) (*block, error) {
	if text == "" {
		return &block{}, nil
	}
	for px := maxPx; px >= minPx; px -= 2 {
		b, err := newBlock(f, px)
		if err != nil {
			return nil, err
		}
		if lines, ok := wrap(b.face, text, fixed.I(textWidth)); ok && len(lines) <= maxLines {
			b.setLines(lines)
			return b, nil
		}
		b.close()
	}
	b, err := newBlock(f, minPx)
	if err != nil {
		return nil, err
	}
	if lines, ok := wrap(b.face, text, fixed.I(textWidth)); ok {
		b.setLines(lines)
		return b, nil
	}
	var widest fixed.Int26_6
	for _, w := range strings.Fields(text) {
		widest = max(widest, font.MeasureString(b.face, w))
	}
	b.close()
	px := minPx * float64(fixed.I(textWidth)) / float64(widest) * 0.98
	if b, err = newBlock(f, px); err != nil {
		return nil, err
	}
	lines, _ := wrap(b.face, text, fixed.I(textWidth))
	b.setLines(lines)
	return b, nil
}

func newBlock(f *opentype.Font, px float64) (*block, error) {
	// At 72 dpi a point is a pixel, so Size is the size in pixels.
	face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: px, DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		return nil, fmt.Errorf("poster: font face at %.0f px: %w", px, err)
	}
	m := face.Metrics()
	return &block{face: face, px: px, pitch: max(m.Height.Ceil(), int(px*1.2+0.5))}, nil
}

// setLines measures the ink of the first and last lines, so that stacked
// Vietnamese marks (Ễ, Ở) are never clipped or crowded.
func (b *block) setLines(lines []string) {
	b.lines = lines
	m := b.face.Metrics()
	first, _ := font.BoundString(b.face, lines[0])
	last, _ := font.BoundString(b.face, lines[len(lines)-1])
	b.ascent = max(m.CapHeight.Ceil(), (-first.Min.Y).Ceil())
	b.descent = max(0, last.Max.Y.Ceil())
}

// wrap breaks text into lines no wider than width, at spaces; ok is false
// if a single word is wider.
func wrap(face font.Face, text string, width fixed.Int26_6) (lines []string, ok bool) {
	line := ""
	for _, w := range strings.Fields(text) {
		if font.MeasureString(face, w) > width {
			return nil, false
		}
		try := w
		if line != "" {
			try = line + " " + w
		}
		if font.MeasureString(face, try) <= width {
			line = try
			continue
		}
		lines = append(lines, line)
		line = w
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines, true
}

// withDPI adds a pHYs chunk after IHDR, so that printing programs lay the
// page out at A4 instead of guessing 72 or 96 dpi. Go's encoder writes none.
func withDPI(pngData []byte, dpi int) []byte {
	const ihdrEnd = 8 + 4 + 4 + 13 + 4 // signature, then IHDR: length, type, data, CRC
	ppm := uint32(float64(dpi)/0.0254 + 0.5)
	chunk := make([]byte, 0, 4+4+9+4)
	chunk = binary.BigEndian.AppendUint32(chunk, 9)
	chunk = append(chunk, "pHYs"...)
	chunk = binary.BigEndian.AppendUint32(chunk, ppm)
	chunk = binary.BigEndian.AppendUint32(chunk, ppm)
	chunk = append(chunk, 1) // unit: metre
	chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(chunk[4:]))
	out := make([]byte, 0, len(pngData)+len(chunk))
	out = append(out, pngData[:ihdrEnd]...)
	out = append(out, chunk...)
	return append(out, pngData[ihdrEnd:]...)
}

// isDrawn reports whether r needs a glyph: white space only moves the pen.
func isDrawn(r rune) bool { return !unicode.IsSpace(r) }
