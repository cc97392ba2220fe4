package chart

import (
	"bytes"
	"image"
	"image/png"
	"math"
	"strings"
	"sync"
	"testing"
)

// drawn renders c as PNG with the text-run log on, decodes it, and checks
// what every chart's picture must be.
func drawn(t *testing.T, r *Renderer, c Chart) (image.Image, []run) {
	t.Helper()
	var runs []run
	b, err := r.png(c, &runs)
	if err != nil {
		t.Fatal(err)
	}
	img, format, err := image.Decode(bytes.NewReader(b))
	if err != nil || format != "png" {
		t.Fatalf("decode: %v (format %q)", err, format)
	}
	if w := img.Bounds().Dx(); w != Width {
		t.Errorf("width %d px, want %d", w, Width)
	}
	if _, err := png.DecodeConfig(bytes.NewReader(b)); err != nil {
		t.Error(err)
	}
	return img, runs
}

// inked tells whether box holds dark pixels and light ones: letters drawn
// where the log says, on paper rather than in a black block.
func inked(img image.Image, box image.Rectangle) bool {
	var dark, light bool
	for y := box.Min.Y; y < box.Max.Y; y++ {
		for x := box.Min.X; x < box.Max.X; x++ {
			g, _, _, _ := img.At(x, y).RGBA()
			dark = dark || g < 0x6000
			light = light || g > 0xc000
		}
	}
	return dark && light
}

// TestPNGIsInkOnWhitePaper: the margin is white and most of the picture
// too (a version whose background overflowed to black passed every other
// test).
func TestPNGIsInkOnWhitePaper(t *testing.T) {
	r := newRenderer(t)
	for name, c := range charts() {
		t.Run(name, func(t *testing.T) {
			img, _ := drawn(t, r, c)
			b := img.Bounds()
			white := 0
			for y := b.Min.Y; y < b.Max.Y; y++ {
				for x := b.Min.X; x < b.Max.X; x++ {
					if g, _, _, _ := img.At(x, y).RGBA(); g == 0xffff {
						white++
					}
				}
			}
			if share := float64(white) / float64(b.Dx()*b.Dy()); share < 0.6 {
				t.Errorf("%.0f%% of the picture is white, want most of it", 100*share)
			}
			for _, p := range []image.Point{{0, 0}, {b.Max.X - 1, 0}, {0, b.Max.Y - 1}, {b.Max.X - 1, b.Max.Y - 1}} {
				if g, _, _, _ := img.At(p.X, p.Y).RGBA(); g != 0xffff {
					t.Errorf("corner %v is %#x, want white", p, g)
				}
			}
		})
	}
}

func TestPNGDrawsEveryNumber(t *testing.T) {
	r := newRenderer(t)
	for name, c := range charts() {
		t.Run(name, func(t *testing.T) {
			img, runs := drawn(t, r, c)
			var texts []string
			for _, x := range runs {
				texts = append(texts, x.text)
				if !x.box.In(img.Bounds()) {
					t.Errorf("%q drawn at %v, outside the %v picture", x.text, x.box, img.Bounds())
				}
				if !inked(img, x.box) {
					t.Errorf("%q: no ink in its box %v", x.text, x.box)
				}
			}
			if m := missing(numbers(c), tokens(texts)); len(m) > 0 {
				t.Errorf("numbers never drawn: %q\nruns: %q", m, texts)
			}
		})
	}
}

func TestPNGDrawsVietnameseNames(t *testing.T) {
	r := newRenderer(t)
	f := sampleFunnel(3)
	f.Rows[0].Label = "Thôn Nà Ngằn, Bản Ỏ, Làng Ữ — Tổ dân phố 1 (Đình Cả)"
	_, runs := drawn(t, r, f)
	want := map[string]bool{f.Title: false, f.Rows[0].Label: false}
	for _, x := range runs {
		if _, ok := want[x.text]; ok {
			want[x.text] = true
		}
	}
	for s, ok := range want {
		if !ok {
			t.Errorf("%q was not drawn as one run", s)
		}
	}
	// An emoji (guides' titles start with one) is dropped from both.
	f.Rows[1].Label = "💳 Ví điện tử ✅"
	_, runs = drawn(t, r, f)
	found := false
	for _, x := range runs {
		found = found || strings.HasSuffix(x.text, "Ví điện tử")
		if strings.ContainsAny(x.text, "💳✅") {
			t.Errorf("an emoji was drawn: %q", x.text)
		}
	}
	if !found {
		t.Error("the label without its emoji was not drawn")
	}
	if svg, err := r.SVG(f); err != nil || strings.Contains(string(svg), "💳") {
		t.Errorf("SVG of a label with an emoji: %v, emoji kept: %v", err, strings.Contains(string(svg), "💳"))
	}
	// Other text DejaVu cannot draw is refused in the PNG, left to the
	// browser in the SVG.
	f.Rows[1].Label = "Ví điện tử 中"
	if _, err := r.PNG(f); err == nil || !strings.Contains(err.Error(), "U+4E2D") {
		t.Errorf("PNG of a label with a CJK letter: error %v, want one naming U+4E2D", err)
	}
	if _, err := r.SVG(f); err != nil {
		t.Errorf("SVG of a label with a CJK letter: %v", err)
	}
}

// TestPNGFollowsTheSVGLayout: the picture is the SVG's viewBox scaled to
// Width, and its text sits where the SVG writes it.
func TestPNGFollowsTheSVGLayout(t *testing.T) {
	r := newRenderer(t)
	c := sampleFunnel(7)
	cv, err := r.layout(c)
	if err != nil {
		t.Fatal(err)
	}
	img, runs := drawn(t, r, c)
	s := Width / width
	if want := int(math.Ceil(cv.h * s)); img.Bounds().Dy() != want {
		t.Errorf("height %d px, want %d (the viewBox's %v scaled)", img.Bounds().Dy(), want, cv.h)
	}
	if len(runs) != len(cv.texts) {
		t.Fatalf("%d runs for %d texts", len(runs), len(cv.texts))
	}
	for i, x := range runs {
		lt := cv.texts[i]
		// The baseline is the layout's; the ink of a line sits above it
		// and its marks below at most a descender.
		base := int(math.Round(lt.y * s))
		if x.box.Min.Y > base || x.box.Max.Y < base-int(lt.size*s*0.5) || x.box.Max.Y > base+int(lt.size*s*0.3) {
			t.Errorf("%q: ink %v, baseline %d", x.text, x.box, base)
		}
	}
}

func TestRendererIsSafeForConcurrentUse(t *testing.T) {
	r := newRenderer(t)
	want, err := r.PNG(sampleFunnel(7))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			got, err := r.PNG(sampleFunnel(7))
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("a concurrent render differs (err %v)", err)
			}
			if _, err := r.SVG(sampleTrend()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}
