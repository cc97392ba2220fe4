package chart

import (
	"fmt"
	"hash/fnv"
	"math"
	"strings"
	"unicode"

	"golang.org/x/image/font"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
	"golang.org/x/text/unicode/norm"
)

// The layout is in units of one CSS pixel of a 360 px wide phone: the SVG
// scales it with its viewBox, the PNG multiplies it by Width/width.
const (
	width = 360.0
	pad   = 10.0

	titleSize = 15.0
	capSize   = 11.0
	labelSize = 12.0
	numSize   = 12.0
	smallSize = 11.0

	lineFactor = 1.3  // line pitch in font sizes
	ascent     = 0.95 // baseline below a line's top, in font sizes
	stub       = 6.0  // the length of every masked bar
)

// The fills; PNG and SVG draw each the same way.
type fill uint8

const (
	fillWhite fill = iota
	fillLight      // a started bar, a swatch
	fillMid        // separators, the track's outline
	fillBlack      // ticks
	fillHatch      // a value: diagonal lines
	fillCross      // a highlighted value: cross-hatch, darker
)

type anchor uint8

const (
	anchorStart anchor = iota
	anchorMiddle
	anchorEnd
)

// rect is every shape of a chart: bars, tracks, ticks and rules.
type rect struct {
	x, y, w, h float64
	fill       fill
	stroke     float64 // black outline width; 0: none
	dashed     bool
}

type text struct {
	x, y, size float64 // y is the baseline
	s          string
	anchor     anchor
	bold, gray bool
}

// canvas is a laid-out chart, in layout units.
type canvas struct {
	id, title, desc string
	h               float64
	rects           []rect
	texts           []text
}

func (c *canvas) rect(r rect) {
	if r.w > 0 && r.h > 0 {
		c.rects = append(c.rects, r)
	}
}

func (c *canvas) text(t text) {
	if t.s != "" {
		c.texts = append(c.texts, t)
	}
}

// measurer measures text with the font the PNG is drawn in. It is not safe
// for concurrent use: a Renderer makes one per chart.
type measurer struct {
	regular, bold *sfnt.Font
	buf           sfnt.Buffer
	glyphs        map[glyphKey]glyph
	kerns         map[kernKey]fixed.Int26_6
}

type kernKey struct {
	a, b sfnt.GlyphIndex
	bold bool
}

type glyphKey struct {
	r    rune
	bold bool
}

type glyph struct {
	index   sfnt.GlyphIndex
	advance fixed.Int26_6
}

// width is s's advance at size. Glyphs are looked up once per chart: wrap
// measures each line as it grows, and the lookups were a third of a
// funnel's SVG time.
func (m *measurer) width(s string, size float64, bold bool) float64 {
	f := m.regular
	if bold {
		f = m.bold
	}
	if m.glyphs == nil {
		m.glyphs = map[glyphKey]glyph{}
		m.kerns = map[kernKey]fixed.Int26_6{}
	}
	upm := fixed.Int26_6(f.UnitsPerEm())
	var sum fixed.Int26_6
	var prev sfnt.GlyphIndex
	for i, r := range s {
		g, ok := m.glyphs[glyphKey{r, bold}]
		if !ok {
			g.index, _ = f.GlyphIndex(&m.buf, r)
			g.advance, _ = f.GlyphAdvance(&m.buf, g.index, upm, font.HintingNone)
			m.glyphs[glyphKey{r, bold}] = g
		}
		if i > 0 {
			// Kerning pairs are looked up once per chart too: they were
			// most of a page's time with fifty hamlets' names.
			kk := kernKey{prev, g.index, bold}
			k, ok := m.kerns[kk]
			if !ok {
				k, _ = f.Kern(&m.buf, prev, g.index, upm, font.HintingNone)
				m.kerns[kk] = k
			}
			sum += k
		}
		sum += g.advance
		prev = g.index
	}
	return float64(sum) / float64(upm) * size
}

// clean NFC-normalises s (the PNG's font draws no combining marks in
// place), drops emoji, and folds runs of white space and control
// characters to one space. Guides' titles start with an emoji ("💳 Mở tài
// khoản…"): it says nothing a chart needs, DejaVu has no glyph for it, and
// a chart in grayscale has no use for colour pictures.
func clean(s string) string {
	s = norm.NFC.String(s)
	s = strings.Map(func(r rune) rune {
		if IsEmoji(r) {
			return -1
		}
		return r
	}, s)
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r)
	}), " ")
}

// IsEmoji reports whether r is what charts leave out of their text (see
// clean): the emoji planes' pictures, the variation selectors and
// the joiner that compose them, and the dingbats and symbols block's
// pictographs (U+2600–U+27BF: ☎ ✅ ❓). Letters, digits, punctuation and the
// geometric shapes the charts draw (▲) are kept.
func IsEmoji(r rune) bool {
	return r >= 0x1F000 || (r >= 0xFE00 && r <= 0xFE0F) || r == 0x200D || r == 0x20E3 || (r >= 0x2600 && r <= 0x27BF)
}

// wrap breaks s into at most maxLines lines no wider than w, at spaces
// (inside a word only when the word alone is wider), and ends the last line
// with "…" when the text goes on: the full text is in the <desc>.
func (m *measurer) wrap(s string, size float64, bold bool, w float64, maxLines int) []string {
	fits := func(t string) bool { return m.width(t, size, bold) <= w }
	var lines []string
	line := ""
	words := strings.Fields(s)
	for i := 0; i < len(words); i++ {
		word := words[i]
		try := word
		if line != "" {
			try = line + " " + word
		}
		if fits(try) {
			line = try
			continue
		}
		if line != "" {
			lines = append(lines, line)
			line = ""
			i--
			continue
		}
		// One word wider than the line: cut it where it stops fitting.
		rs := []rune(word)
		n := len(rs)
		for n > 1 && !fits(string(rs[:n])) {
			n--
		}
		lines = append(lines, string(rs[:n]))
		words[i] = string(rs[n:])
		i--
	}
	if line != "" {
		lines = append(lines, line)
	}
	if len(lines) <= maxLines {
		return lines
	}
	last := []rune(lines[maxLines-1])
	for len(last) > 0 && !fits(string(last)+"…") {
		last = last[:len(last)-1]
	}
	return append(lines[:maxLines-1], strings.TrimRightFunc(string(last), unicode.IsSpace)+"…")
}

// lines writes ls from top y and returns the y under them.
func (c *canvas) lines(ls []string, x, y, size float64, a anchor, bold, gray bool) float64 {
	for _, l := range ls {
		c.text(text{x: x, y: y + ascent*size, size: size, s: l, anchor: a, bold: bold, gray: gray})
		y += lineFactor * size
	}
	return y
}

// heading lays out the title and caption and returns the canvas and the y
// under them.
func heading(m *measurer, h Heading, kind string, content string) (*canvas, float64) {
	c := &canvas{title: clean(h.Title), id: chartID(h.ID, kind, h.Title+"\x00"+h.Caption+"\x00"+content)}
	y := pad
	y = c.lines(m.wrap(c.title, titleSize, true, width-2*pad, 3), pad, y, titleSize, anchorStart, true, false)
	y = c.lines(m.wrap(clean(h.Caption), capSize, false, width-2*pad, 2), pad, y, capSize, anchorStart, false, true)
	return c, y + 4
}

// chartID keeps the characters of id that are safe in an XML id and a
// url(#…) reference; an empty id is derived from the content, so that a
// page's charts differ and a golden file stays put.
func chartID(id, kind, content string) string {
	var b strings.Builder
	for _, r := range id {
		if r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_') {
			b.WriteRune(r)
		}
	}
	if b.Len() > 0 {
		return "chart-" + b.String()
	}
	h := fnv.New32a()
	h.Write([]byte(content))
	return fmt.Sprintf("chart-%s-%08x", kind, h.Sum32())
}

// legend lays out swatches with their words, wrapping, and returns the y
// under them.
type swatch struct {
	fill   fill
	dashed bool
	tick   bool
	word   string
}

func (c *canvas) legend(m *measurer, items []swatch, y float64) float64 {
	x := pad
	h := lineFactor * smallSize
	for _, it := range items {
		word := clean(it.word)
		w := 16 + 4 + m.width(word, smallSize, false)
		if x > pad && x+w > width-pad {
			x, y = pad, y+h+2
		}
		if it.tick {
			c.rect(rect{x: x + 7, y: y, w: 2, h: h, fill: fillBlack})
		} else {
			c.rect(rect{x: x, y: y + 2, w: 16, h: h - 4, fill: it.fill, stroke: 1, dashed: it.dashed})
		}
		c.text(text{x: x + 20, y: y + ascent*smallSize, size: smallSize, s: word})
		x += w + 12
	}
	return y + h + 6
}

func (c *canvas) rule(y float64) {
	c.rect(rect{x: pad, y: y, w: width - 2*pad, h: 0.5, fill: fillMid})
}

// barLength is the length of count c on a track of w for scale, a stub
// when it is masked.
func barLength(c Count, scale, w float64) float64 {
	if c.Masked {
		return stub
	}
	return math.Min(c.N/scale, 1) * w
}

func (b Bars) layout(m *measurer) (*canvas, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	texts := make([]string, len(b.Bars))
	labels := make([]string, len(b.Bars))
	var numW float64
	scale := b.Max
	for i, x := range b.Bars {
		texts[i] = clean(x.Value.Text())
		if x.Target > 0 {
			texts[i] += " / " + formatNumber(x.Target)
		}
		labels[i] = clean(x.Label)
		numW = math.Max(numW, m.width(texts[i], numSize, x.Highlight))
		if b.Max == 0 {
			scale = math.Max(scale, math.Max(x.Value.value(), x.Target))
		}
	}
	if scale == 0 {
		scale = 1
	}
	var desc []string
	for i := range b.Bars {
		desc = append(desc, labels[i]+": "+texts[i])
	}
	c, y := heading(m, b.Heading, "bars", strings.Join(desc, "\n"))
	c.desc = describe(b.Desc, desc)
	if b.Words.Value != "" {
		items := []swatch{{fill: fillHatch, word: b.Words.Value}}
		if b.Words.Target != "" {
			items = append(items, swatch{tick: true, word: b.Words.Target})
		}
		y = c.legend(m, items, y)
	}
	trackW := width - 2*pad - numW - 8
	const barH = 16.0
	for i, x := range b.Bars {
		y = c.lines(m.wrap(labels[i], labelSize, x.Highlight, width-2*pad, 2), pad, y, labelSize, anchorStart, x.Highlight, false)
		y += 3
		c.rect(rect{x: pad, y: y, w: trackW, h: barH, fill: fillWhite, stroke: 0.5, dashed: true})
		f := fillHatch
		if x.Highlight {
			f = fillCross
		}
		c.rect(rect{x: pad, y: y, w: barLength(x.Value, scale, trackW), h: barH, fill: f, stroke: 1, dashed: x.Value.Masked})
		if x.Target > 0 {
			tx := pad + math.Min(x.Target/scale, 1)*trackW
			// A white edge keeps the tick visible on a hatched bar.
			c.rect(rect{x: tx - 2.5, y: y - 3, w: 5, h: barH + 6, fill: fillWhite})
			c.rect(rect{x: tx - 1, y: y - 3, w: 2, h: barH + 6, fill: fillBlack})
		}
		c.text(text{x: width - pad, y: y + barH/2 + 0.36*numSize, size: numSize, s: texts[i], anchor: anchorEnd, bold: x.Highlight})
		y += barH + 10
	}
	c.h = math.Ceil(y)
	return c, nil
}

func (f Funnel) layout(m *measurer) (*canvas, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	type row struct{ label, reached, stalled, help string }
	rows := make([]row, len(f.Rows))
	var numW, scale float64
	var desc []string
	words := FunnelWords{Reached: clean(f.Words.Reached), Stalled: clean(f.Words.Stalled), Help: clean(f.Words.Help), Top: clean(f.Words.Top)}
	anyTop := false
	for i, r := range f.Rows {
		label := clean(r.Label)
		if label == "" {
			label = clean(r.Step)
		}
		rows[i] = row{label, clean(r.Reached.Text()), clean(r.Stalled.Text()), clean(r.Help.Text())}
		numW = math.Max(numW, m.width(rows[i].reached, numSize, r.Top))
		scale = math.Max(scale, r.Reached.value())
		mark := ""
		if r.Top {
			mark, anyTop = "▲ ", true
		}
		desc = append(desc, fmt.Sprintf("%s%s: %s %s, %s %s, %s %s", mark, label,
			words.Reached, rows[i].reached, words.Stalled, rows[i].stalled, words.Help, rows[i].help))
	}
	if scale == 0 {
		scale = 1
	}
	c, y := heading(m, f.Heading, "funnel", strings.Join(desc, "\n"))
	c.desc = describe(f.Desc, desc)
	if anyTop {
		y = c.legend(m, []swatch{{fill: fillCross, word: "▲ " + words.Top}}, y)
	}

	const colW = 56.0
	helpR := width - pad
	stallR := helpR - colW
	trackW := stallR - colW - pad - numW - 8
	// Column headings, bottom-aligned over their columns.
	heads := [][]string{
		m.wrap(words.Reached, smallSize, true, trackW+numW, 2),
		m.wrap(words.Stalled, smallSize, true, colW-6, 2),
		m.wrap(words.Help, smallSize, true, colW-6, 2),
	}
	n := max(len(heads[0]), len(heads[1]), len(heads[2]))
	pitch := lineFactor * smallSize
	for i, x := range []struct {
		x float64
		a anchor
	}{{pad, anchorStart}, {stallR, anchorEnd}, {helpR, anchorEnd}} {
		c.lines(heads[i], x.x, y+float64(n-len(heads[i]))*pitch, smallSize, x.a, true, false)
	}
	y += float64(n)*pitch + 2
	c.rule(y)
	y += 5

	const barH = 14.0
	for i, r := range f.Rows {
		label := rows[i].label
		if r.Top {
			label = "▲ " + label
		}
		y = c.lines(m.wrap(label, labelSize, r.Top, width-2*pad, 2), pad, y, labelSize, anchorStart, r.Top, false)
		y += 2
		fl := fillHatch
		if r.Top {
			fl = fillCross
		}
		l := barLength(r.Reached, scale, trackW)
		c.rect(rect{x: pad, y: y, w: l, h: barH, fill: fl, stroke: 1, dashed: r.Reached.Masked})
		base := y + barH/2 + 0.36*numSize
		c.text(text{x: pad + l + 4, y: base, size: numSize, s: rows[i].reached, bold: r.Top})
		c.text(text{x: stallR, y: base, size: numSize, s: rows[i].stalled, anchor: anchorEnd, bold: r.Top})
		c.text(text{x: helpR, y: base, size: numSize, s: rows[i].help, anchor: anchorEnd})
		y += barH + 5
		c.rule(y)
		y += 5
	}
	c.h = math.Ceil(y)
	return c, nil
}

func (t Trend) layout(m *measurer) (*canvas, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	words := TrendWords{Started: clean(t.Words.Started), Completed: clean(t.Words.Completed)}
	type month struct{ label, started, completed string }
	months := make([]month, len(t.Months))
	var labelW, numW, scale float64
	var desc []string
	for i, x := range t.Months {
		months[i] = month{clean(x.Label), clean(x.Started.Text()), clean(x.Completed.Text())}
		labelW = math.Max(labelW, m.width(months[i].label, labelSize, false))
		numW = math.Max(numW, math.Max(m.width(months[i].started, smallSize, false), m.width(months[i].completed, smallSize, false)))
		scale = math.Max(scale, math.Max(x.Started.value(), x.Completed.value()))
		desc = append(desc, fmt.Sprintf("%s: %s %s, %s %s", months[i].label, words.Started, months[i].started, words.Completed, months[i].completed))
	}
	if scale == 0 {
		scale = 1
	}
	labelW = math.Min(labelW, width/3)
	c, y := heading(m, t.Heading, "trend", strings.Join(desc, "\n"))
	c.desc = describe(t.Desc, desc)
	y = c.legend(m, []swatch{{fill: fillLight, word: words.Started}, {fill: fillHatch, word: words.Completed}}, y)
	c.rule(y)
	y += 5
	trackX := pad + labelW + 8
	trackW := width - pad - trackX - numW - 4
	const barH, gap = 11.0, 2.0
	for i, x := range t.Months {
		ls := m.wrap(months[i].label, labelSize, false, labelW, 1)
		c.lines(ls, pad, y+barH+gap/2-lineFactor*labelSize/2, labelSize, anchorStart, false, false)
		for j, b := range []struct {
			c    Count
			s    string
			fill fill
		}{{x.Started, months[i].started, fillLight}, {x.Completed, months[i].completed, fillHatch}} {
			top := y + float64(j)*(barH+gap)
			l := barLength(b.c, scale, trackW)
			c.rect(rect{x: trackX, y: top, w: l, h: barH, fill: b.fill, stroke: 1, dashed: b.c.Masked})
			c.text(text{x: trackX + l + 3, y: top + barH/2 + 0.36*smallSize, size: smallSize, s: b.s})
		}
		y += 2*barH + gap + 5
		c.rule(y)
		y += 5
	}
	c.h = math.Ceil(y)
	return c, nil
}

// describe is the <desc>: the caller's sentence, then every figure.
func describe(desc string, figures []string) string {
	parts := []string{}
	if d := clean(desc); d != "" {
		parts = append(parts, strings.TrimRight(d, ".")+".")
	}
	if len(figures) > 0 {
		parts = append(parts, strings.Join(figures, "; ")+".")
	}
	return strings.Join(parts, " ")
}
