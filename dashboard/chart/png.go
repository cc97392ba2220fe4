package chart

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
)

// Width is the PNG's width in pixels: sharp on a phone that zooms in,
// small enough for Telegram's photo limits (a 20-step funnel is ~3,300 px
// tall, under its 20:1 ratio).
const Width = 1200

// grays are the PNG's palette: 0x00, 0x11 … 0xff.
var grays = func() color.Palette {
	p := make(color.Palette, 16)
	for i := range p {
		p[i] = color.Gray{Y: uint8(i * 17)}
	}
	return p
}()

// run is one string the PNG renderer drew, and the box its ink may cover.
type run struct {
	text string
	box  image.Rectangle
}

// PNG returns c drawn at Width pixels wide in 16 grays: half the bytes of
// 8-bit gray (96 KB against 160 KB for a 20-step funnel), and still smooth
// letters.
func (r *Renderer) PNG(c Chart) ([]byte, error) {
	return r.png(c, nil)
}

// png draws c; when runs is not nil it records every string drawn, which
// only tests ask for.
func (r *Renderer) png(c Chart, runs *[]run) ([]byte, error) {
	cv, err := r.layout(c)
	if err != nil {
		return nil, err
	}
	if err := r.covered(cv); err != nil {
		return nil, err
	}
	s := Width / width
	img := image.NewGray(image.Rect(0, 0, Width, int(math.Ceil(cv.h*s))))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	for _, x := range cv.rects {
		paint(img, x, s)
	}

	faces := map[[2]int]font.Face{}
	defer func() {
		for _, f := range faces {
			_ = f.Close()
		}
	}()
	for _, t := range cv.texts {
		f := r.regular
		bold := 0
		if t.bold {
			f, bold = r.bold, 1
		}
		key := [2]int{int(math.Round(t.size * s * 4)), bold}
		face := faces[key]
		if face == nil {
			// HintingNone: the layout was measured unhinted, and at 40 px
			// hinting buys nothing.
			face, err = opentype.NewFace(f, &opentype.FaceOptions{Size: float64(key[0]) / 4, DPI: 72, Hinting: font.HintingNone})
			if err != nil {
				return nil, fmt.Errorf("chart: font face at %.1f px: %w", t.size*s, err)
			}
			faces[key] = face
		}
		var ink uint8
		if t.gray {
			ink = 0x33
		}
		d := font.Drawer{Face: face}
		x := fixed.Int26_6(math.Round(t.x * s * 64))
		switch w := d.MeasureString(t.s); t.anchor {
		case anchorMiddle:
			x -= w / 2
		case anchorEnd:
			x -= w
		}
		d.Dot = fixed.Point26_6{X: x, Y: fixed.Int26_6(math.Round(t.y * s * 64))}
		if runs != nil {
			b, _ := d.BoundString(t.s)
			*runs = append(*runs, run{t.s, image.Rect(b.Min.X.Floor(), b.Min.Y.Floor(), b.Max.X.Ceil(), b.Max.Y.Ceil())})
		}
		drawString(img, face, d.Dot, t.s, ink)
	}
	out := image.NewPaletted(img.Bounds(), grays)
	for i := range out.Pix {
		out.Pix[i] = uint8((int(img.Pix[i]) + 8) / 17)
	}
	var b bytes.Buffer
	// BestSpeed: a chart of flat grays compresses almost as well at the
	// fastest level, in two thirds of the time (BenchmarkFunnel20/png: 120 → 80 ms, 96 → 109 KB).
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&b, out); err != nil {
		return nil, fmt.Errorf("chart: png %q: %w", cv.title, err)
	}
	return b.Bytes(), nil
}

// covered refuses text DejaVu has no glyph for: a picture with empty boxes
// where a hamlet's name should be is worse than none (the page still has
// the SVG, drawn in the browser's fonts).
func (r *Renderer) covered(cv *canvas) error {
	var buf sfnt.Buffer
	var bad []string
	seen := map[rune]bool{}
	for _, t := range cv.texts {
		f := r.regular
		if t.bold {
			f = r.bold
		}
		for _, c := range t.s {
			if seen[c] || c == ' ' {
				continue
			}
			// Glyph 0 is .notdef, the box a font draws for what it lacks.
			if g, err := f.GlyphIndex(&buf, c); err != nil || g == 0 {
				seen[c] = true
				bad = append(bad, fmt.Sprintf("%q (U+%04X) in %q", c, c, t.s))
			}
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("chart: png %q: the font has no glyph for %s", cv.title, strings.Join(bad, ", "))
	}
	return nil
}

// paint draws one rect scaled by s, with the same fills and outline as the
// SVG: patterns are anchored to the picture, as userSpaceOnUse patterns are.
func paint(img *image.Gray, r rect, s float64) {
	x0, y0 := int(math.Round(r.x*s)), int(math.Round(r.y*s))
	x1, y1 := max(int(math.Round((r.x+r.w)*s)), x0+1), max(int(math.Round((r.y+r.h)*s)), y0+1)
	b := image.Rect(x0, y0, x1, y1).Intersect(img.Bounds())
	period := int(math.Round(6 * s))
	cross := int(math.Round(5 * s))
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			var g uint8
			switch r.fill {
			case fillWhite:
				g = 0xff
			case fillLight:
				g = 0xd9
			case fillMid:
				g = 0x88
			case fillBlack:
				g = 0
			case fillHatch:
				g = 0xff
				if (x+y)%period < period*5/12 { // 2.5 of 6, as the SVG pattern
					g = 0
				}
			case fillCross:
				g = 0xff
				if (x+y)%cross < cross*2/5 || ((x-y)%cross+cross)%cross < cross*2/5 {
					g = 0
				}
			}
			img.Pix[img.PixOffset(x, y)] = g
		}
	}
	if r.stroke <= 0 {
		return
	}
	t := max(1, int(math.Round(r.stroke*s)))
	dash, gap := int(math.Round(3*s)), int(math.Round(2*s))
	on := func(i int) bool { return !r.dashed || i%(dash+gap) < dash }
	set := func(x, y int) {
		if (image.Point{x, y}).In(img.Bounds()) {
			img.Pix[img.PixOffset(x, y)] = 0
		}
	}
	// The outline straddles the edge, as an SVG stroke does.
	for i := 0; x0+i < x1; i++ {
		if on(i) {
			for k := -t / 2; k < t-t/2; k++ {
				set(x0+i, y0+k)
				set(x0+i, y1-1+k)
			}
		}
	}
	for i := 0; y0+i < y1; i++ {
		if on(i) {
			for k := -t / 2; k < t-t/2; k++ {
				set(x0+k, y0+i)
				set(x1-1+k, y0+i)
			}
		}
	}
}

// drawString draws s in gray ink from dot, as font.Drawer.DrawString does
// (kerning, then each glyph's mask), but onto *image.Gray directly:
// image/draw has no fast path for a Gray destination, and the generic one
// made the text of a funnel three times slower than the whole encoding,
// while an RGBA canvas cost 16 MB a picture.
func drawString(dst *image.Gray, face font.Face, dot fixed.Point26_6, s string, ink uint8) {
	prev := rune(-1)
	for _, c := range s {
		if prev >= 0 {
			dot.X += face.Kern(prev, c)
		}
		dr, mask, mp, adv, ok := face.Glyph(dot, c)
		if ok {
			clip := dr.Intersect(dst.Bounds())
			for y := clip.Min.Y; y < clip.Max.Y; y++ {
				for x := clip.Min.X; x < clip.Max.X; x++ {
					mx, my := mp.X+x-dr.Min.X, mp.Y+y-dr.Min.Y
					var a uint32
					if m, isAlpha := mask.(*image.Alpha); isAlpha {
						a = uint32(m.Pix[m.PixOffset(mx, my)])
					} else {
						_, _, _, a16 := mask.At(mx, my).RGBA()
						a = a16 >> 8
					}
					if a == 0 {
						continue
					}
					i := dst.PixOffset(x, y)
					dst.Pix[i] = uint8((uint32(dst.Pix[i])*(255-a) + uint32(ink)*a + 127) / 255)
				}
			}
		}
		dot.X += adv
		prev = c
	}
}
