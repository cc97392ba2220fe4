// Package qrimage reads QR codes out of a resident's photo: a payment code on
// a poster, a sticker someone pasted over it. The picture is decoded in memory
// and never stored.
//
// Phone photos are blurred, tilted, noisy and compressed, so Decode does not
// stop at one attempt: it works on a grayscale copy scaled to a size the
// detector handles well, and falls back through other binarizers, a
// contrast-stretched copy, other scales, rotations and overlapping crops until
// a code is found. Once a code is found it looks once more, with that code's
// finder patterns blanked out, for a second code (a sticker pasted over the
// first): that second code is what the caller has to warn about.
package qrimage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	_ "image/gif"  // registers GIF with image.Decode and image.DecodeConfig
	_ "image/jpeg" // registers JPEG
	_ "image/png"  // registers PNG
	"math"
	"sort"

	"github.com/makiuchi-d/gozxing"
	multiqr "github.com/makiuchi-d/gozxing/multi/qrcode"
	"github.com/makiuchi-d/gozxing/qrcode"
	_ "golang.org/x/image/webp" // registers WebP
)

// MaxPixels is the largest picture, in pixels, that Decode accepts. A 12
// megapixel phone photo fits with room to spare; the limit keeps a crafted
// file from making us allocate gigabytes.
const MaxPixels = 40_000_000

var (
	// ErrTooLarge is returned for a picture of more than MaxPixels pixels.
	ErrTooLarge = errors.New("qrimage: picture too large")
	// ErrNoCode is returned when no readable QR code was found; the caller
	// advises the resident to come closer, hold the phone flat, add light.
	ErrNoCode = errors.New("qrimage: no readable QR code")
)

// workSide is the longest side, in pixels, of the plane the detector works
// on. Larger pictures are box-averaged down to it: this is faster and the
// averaging removes sensor noise and JPEG artefacts that confuse the
// binarizer. The 12-megapixel photos of a code at a quarter of the width
// still leave it about 300 px wide.
const workSide = 1600

// Decode returns the distinct QR payloads found in the picture data (JPEG,
// PNG, GIF or WebP), the largest code first. It reads the header first and
// refuses a picture of more than MaxPixels pixels with ErrTooLarge before
// decoding its pixels. It returns ErrNoCode when no code could be read, and
// ctx's error when ctx ends between attempts.
func Decode(ctx context.Context, data []byte) ([]string, error) {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("qrimage: read picture header: %w", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("qrimage: picture of %d×%d pixels: %w", cfg.Width, cfg.Height, ErrNoCode)
	}
	if int64(cfg.Width)*int64(cfg.Height) > MaxPixels {
		return nil, fmt.Errorf("qrimage: picture of %d×%d pixels: %w", cfg.Width, cfg.Height, ErrTooLarge)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("qrimage: decode picture: %w", err)
	}
	return decodeImage(ctx, img)
}

// plane is an 8-bit luminance picture. scale is the number of original
// picture pixels per plane pixel, so that code sizes found on different
// planes compare.
type plane struct {
	pix   []byte
	w, h  int
	scale float64
}

// found is one decoded code: its payload and the side of its finder-pattern
// triangle in original pixels, and the finder-pattern centres in the
// coordinates of the plane it was found on.
type found struct {
	text    string
	size    float64
	centres []gozxing.ResultPoint
	modules int // modules per side, 0 when unknown
}

// collector gathers distinct payloads with the largest size seen for each.
type collector struct {
	size  map[string]float64
	order []string
}

func (c *collector) add(fs []found) int {
	added := 0
	for _, f := range fs {
		if f.text == "" {
			continue
		}
		old, ok := c.size[f.text]
		if !ok {
			c.order = append(c.order, f.text)
			added++
		}
		if f.size > old {
			c.size[f.text] = f.size
		}
	}
	return added
}

func (c *collector) result() []string {
	out := append([]string(nil), c.order...)
	sort.SliceStable(out, func(i, j int) bool { return c.size[out[i]] > c.size[out[j]] })
	return out
}

func decodeImage(ctx context.Context, img image.Image) ([]string, error) {
	gray := toGray(img)
	base := downscale(gray, workSide)
	c := &collector{size: map[string]float64{}}

	// The cascade: cheap and usually sufficient first. Each step builds its
	// plane lazily, so a picture read at the first step costs one pass.
	// Each step returns the plane it scanned, in whose coordinates the
	// finder patterns of its hits are.
	type step func() ([]found, plane)
	on := func(p plane, kind binarizerKind) ([]found, plane) { return scan(p, kind), p }
	steps := []step{
		func() ([]found, plane) { return on(base, hybrid) },
		func() ([]found, plane) { return on(base, global) },
		func() ([]found, plane) { return on(stretch(base), hybrid) },
		func() ([]found, plane) { return on(downscale(base, maxSide(base)/2), hybrid) },
		func() ([]found, plane) { return on(rotate(base, math.Pi/4), hybrid) },
		func() ([]found, plane) { return scanCrops(ctx, base), base },
		func() ([]found, plane) { p := stretch(base); return scanCrops(ctx, p), p },
	}
	var (
		hits []found
		on1  plane
	)
	for _, s := range steps {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hits, on1 = s()
		if c.add(hits) > 0 {
			break
		}
	}
	if len(c.order) == 0 {
		return nil, ErrNoCode
	}
	// Look for a second code once more, unless a scan already saw two: blank
	// the finder patterns of what was found, so that the detector cannot
	// pair them with another code's, and scan again, whole and in crops.
	if len(c.order) == 1 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		blanked := blankFinders(on1, hits)
		if c.add(scan(blanked, hybrid)) == 0 {
			c.add(scanCrops(ctx, blanked))
		}
	}
	return c.result(), nil
}

func maxSide(p plane) int { return max(p.w, p.h) }

type binarizerKind int

const (
	hybrid binarizerKind = iota
	global
)

// scan runs the multi-code reader on the whole plane, and the single-code
// reader when the multi reader finds nothing (its detector is more tolerant
// of a distorted code).
func scan(p plane, kind binarizerKind) []found {
	return scanRect(p, image.Rect(0, 0, p.w, p.h), kind)
}

func scanRect(p plane, r image.Rectangle, kind binarizerKind) (out []found) {
	if r.Dx() < 21 || r.Dy() < 21 {
		return nil
	}
	// gozxing is a port of a large Java library; a malformed picture must
	// not take the bot down with an index out of range.
	defer func() {
		if recover() != nil {
			out = nil
		}
	}()
	src, err := gozxing.NewPlanarYUVLuminanceSource(p.pix, p.w, p.h, r.Min.X, r.Min.Y, r.Dx(), r.Dy(), false)
	if err != nil {
		return nil
	}
	newBitmap := func() *gozxing.BinaryBitmap {
		var b gozxing.Binarizer
		if kind == global {
			b = gozxing.NewGlobalHistgramBinarizer(src)
		} else {
			b = gozxing.NewHybridBinarizer(src)
		}
		bmp, _ := gozxing.NewBinaryBitmap(b)
		return bmp
	}
	hints := map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true}
	bmp := newBitmap()
	results, _ := multiqr.NewQRCodeMultiReader().DecodeMultiple(bmp, hints)
	if len(results) == 0 {
		if res, err := qrcode.NewQRCodeReader().Decode(bmp, hints); err == nil {
			results = append(results, res)
		}
	}
	for _, res := range results {
		pts := res.GetResultPoints()
		f := found{text: res.GetText(), modules: moduleCount(res)}
		if len(pts) >= 3 {
			f.size = (dist(pts[0], pts[1]) + dist(pts[1], pts[2])) / 2 * p.scale
			for _, pt := range pts[:3] {
				f.centres = append(f.centres, gozxing.NewResultPoint(pt.GetX()+float64(r.Min.X), pt.GetY()+float64(r.Min.Y)))
			}
		}
		out = append(out, f)
	}
	return out
}

// scanCrops scans overlapping windows, each half the plane's width and
// height, in steps of a quarter: a small code is then a larger share of
// what the binarizer and the finder see, and of two codes each gets a
// window of its own.
func scanCrops(ctx context.Context, p plane) []found {
	var out []found
	cw, ch := p.w/2, p.h/2
	for iy := 0; iy < 3; iy++ {
		for ix := 0; ix < 3; ix++ {
			if ctx.Err() != nil {
				return out
			}
			x0, y0 := ix*p.w/4, iy*p.h/4
			out = append(out, scanRect(p, image.Rect(x0, y0, min(x0+cw, p.w), min(y0+ch, p.h)), hybrid)...)
		}
	}
	return out
}

func dist(a, b gozxing.ResultPoint) float64 {
	return math.Hypot(a.GetX()-b.GetX(), a.GetY()-b.GetY())
}
