// Package qrimage reads QR codes out of a resident's photo: a payment code on
// a poster, a sticker someone pasted over it. The picture is decoded in memory
// and never stored.
//
// Phone photos are blurred, tilted, noisy and compressed, so Decode does not
// stop at one attempt: it works on a grayscale copy scaled to a size the
// detector handles well, and falls back through other binarizers, a
// contrast-stretched copy, other scales, rotations and overlapping crops until
// a code is found. Where the detector found finder patterns but could not
// read the code, it looks at that region alone, at full resolution and
// several scales. Once a code is found it looks once more, with that code's
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
	multidetector "github.com/makiuchi-d/gozxing/multi/qrcode/detector"
	"github.com/makiuchi-d/gozxing/qrcode/decoder"
	"github.com/makiuchi-d/gozxing/qrcode/detector"
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

// found is one decoded code: its payload, the side of its finder-pattern
// triangle and the centres of its finder patterns, in original pixels.
type found struct {
	text    string
	size    float64
	centres [][2]float64
	modules int // modules per side, 0 when unknown
}

// candidate is three finder patterns the detector grouped into a code it
// could not read, in original pixels; a closer look at that region alone,
// at other scales, often reads it.
type candidate struct {
	centres [3][2]float64
}

// collector gathers distinct payloads with the largest size seen for each.
type collector struct {
	size  map[string]float64
	order []string
	all   []found
}

func (c *collector) add(fs []found) int {
	added := 0
	for _, f := range fs {
		if f.text == "" {
			continue
		}
		c.all = append(c.all, f)
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

// covers reports whether cd is where a code was already read.
func (c *collector) covers(cd candidate) bool {
	for _, f := range c.all {
		if len(f.centres) == 3 && near([3][2]float64(f.centres), cd.centres) {
			return true
		}
	}
	return false
}

func coveredBy(cs []candidate, cd candidate) bool {
	for _, c := range cs {
		if near(c.centres, cd.centres) {
			return true
		}
	}
	return false
}

// near reports whether two finder-pattern triangles are about the same
// code: their centres closer than a third of the first one's diagonal.
func near(a, b [3][2]float64) bool {
	ca := [2]float64{(a[0][0] + a[2][0]) / 2, (a[0][1] + a[2][1]) / 2}
	cb := [2]float64{(b[0][0] + b[2][0]) / 2, (b[0][1] + b[2][1]) / 2}
	return distf(ca, cb) < distf(a[0], a[2])/3
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
	var (
		cands []candidate
		tried []candidate
	)
	// retry looks closer at the candidates no code has been read from yet.
	retry := func() int {
		added := 0
		for _, cd := range cands {
			if ctx.Err() != nil || c.covers(cd) || coveredBy(tried, cd) {
				continue
			}
			tried = append(tried, cd)
			added += c.add(scanRegion(gray, cd))
		}
		cands = cands[:0]
		return added
	}

	// The cascade: cheap and usually sufficient first; each step builds its
	// plane only when it runs.
	steps := []func() ([]found, []candidate){
		func() ([]found, []candidate) { return scan(base, hybrid) },
		func() ([]found, []candidate) { return scan(base, global) },
		func() ([]found, []candidate) { return scan(stretch(base), hybrid) },
		func() ([]found, []candidate) { return scan(downscale(base, maxSide(base)/2), hybrid) },
		func() ([]found, []candidate) { return scan(rotate(base, math.Pi/4), hybrid) },
		func() ([]found, []candidate) { return scanCrops(ctx, base) },
		func() ([]found, []candidate) { return scanCrops(ctx, stretch(base)) },
	}
	var hits []found
	for _, step := range steps {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var cs []candidate
		hits, cs = step()
		cands = append(cands, cs...)
		if c.add(hits) > 0 {
			break
		}
		if retry() > 0 {
			break
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(c.order) == 0 {
		return nil, ErrNoCode
	}
	// Look for a second code (a sticker) unless one was already seen:
	// first where the detector saw an unread code, then with the found
	// code's finder patterns blanked out, so that the detector cannot pair
	// them with the other code's, whole and in crops.
	if len(c.order) == 1 && retry() == 0 {
		blanked := blankFinders(base, c.all)
		hits, cs := scan(blanked, hybrid)
		cands = append(cands, cs...)
		if c.add(hits) == 0 && retry() == 0 {
			hits, cs := scanCrops(ctx, blanked)
			cands = append(cands, cs...)
			if c.add(hits) == 0 && retry() == 0 && len(gray.pix) > len(base.pix) && ctx.Err() == nil {
				// A small sticker on a large picture may be too small on the
				// working plane: look at twice its resolution.
				fine := blankFinders(downscale(gray, 2*workSide), c.all)
				hits, cs := scan(fine, hybrid)
				cands = append(cands, cs...)
				if c.add(hits) == 0 {
					retry()
				}
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return c.result(), nil
}

func maxSide(p plane) int { return max(p.w, p.h) }

type binarizerKind int

const (
	hybrid binarizerKind = iota
	global
)

// scan runs the multi-code detector on the whole plane, and the single-code
// detector when the multi detector groups no finder patterns (it is more
// tolerant of a distorted code).
func scan(p plane, kind binarizerKind) ([]found, []candidate) {
	return scanRect(p, image.Rect(0, 0, p.w, p.h), kind)
}

func scanRect(p plane, r image.Rectangle, kind binarizerKind) (out []found, cands []candidate) {
	if r.Dx() < 21 || r.Dy() < 21 {
		return nil, nil
	}
	// gozxing is a port of a large Java library; a malformed picture must
	// not take the bot down with an index out of range.
	defer func() {
		if recover() != nil {
			out, cands = nil, nil
		}
	}()
	src, err := gozxing.NewPlanarYUVLuminanceSource(p.pix, p.w, p.h, r.Min.X, r.Min.Y, r.Dx(), r.Dy(), false)
	if err != nil {
		return nil, nil
	}
	var b gozxing.Binarizer
	if kind == global {
		b = gozxing.NewGlobalHistgramBinarizer(src)
	} else {
		b = gozxing.NewHybridBinarizer(src)
	}
	matrix, err := b.GetBlackMatrix()
	if err != nil {
		return nil, nil
	}
	hints := map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true}
	toOrig := func(pt gozxing.ResultPoint) [2]float64 {
		return p.toOrig(pt.GetX()+float64(r.Min.X), pt.GetY()+float64(r.Min.Y))
	}
	infos, _ := multidetector.NewMultiFinderPatternFinder(matrix, nil).FindMulti(hints)
	if len(infos) == 0 {
		if info, err := detector.NewFinderPatternFinder(matrix, nil).Find(hints); err == nil {
			infos = append(infos, info)
		}
	}
	det := detector.NewDetector(matrix)
	dec := decoder.NewDecoder()
	for _, info := range infos {
		tri := [3][2]float64{toOrig(info.GetBottomLeft()), toOrig(info.GetTopLeft()), toOrig(info.GetTopRight())}
		dr, err := det.ProcessFinderPatternInfo(info)
		if err != nil {
			cands = append(cands, candidate{tri})
			continue
		}
		res, err := dec.Decode(dr.GetBits(), hints)
		if err != nil || res.GetText() == "" {
			cands = append(cands, candidate{tri})
			continue
		}
		out = append(out, found{
			text:    res.GetText(),
			size:    (distf(tri[0], tri[1]) + distf(tri[1], tri[2])) / 2,
			centres: tri[:],
			modules: moduleCount(res.GetECLevel(), len(res.GetRawBytes())),
		})
	}
	return out, cands
}

// scanCrops scans overlapping windows, each half the plane's width and
// height, in steps of a quarter: a small code is then a larger share of
// what the binarizer sees, and of two codes each gets a window of its own.
func scanCrops(ctx context.Context, p plane) ([]found, []candidate) {
	var (
		out   []found
		cands []candidate
	)
	cw, ch := p.w/2, p.h/2
	for iy := 0; iy < 3; iy++ {
		for ix := 0; ix < 3; ix++ {
			if ctx.Err() != nil {
				return out, cands
			}
			x0, y0 := ix*p.w/4, iy*p.h/4
			fs, cs := scanRect(p, image.Rect(x0, y0, min(x0+cw, p.w), min(y0+ch, p.h)), hybrid)
			out, cands = append(out, fs...), append(cands, cs...)
		}
	}
	return out, cands
}

// regionSide caps the resolution, in pixels, at which scanRegion works.
const regionSide = 500

// scanRegion looks at the candidate's region alone, cut from the full
// picture, at several scales with both binarizers.
func scanRegion(gray plane, cd candidate) []found {
	bl, tl, tr := cd.centres[0], cd.centres[1], cd.centres[2]
	d := (distf(bl, tl) + distf(tl, tr)) / 2
	half := distf(bl, tr)/2 + 0.35*d
	cx, cy := (bl[0]+tr[0])/2, (bl[1]+tr[1])/2
	// Original coordinates are those of gray, whose scale is 1.
	r := image.Rect(int(cx-half), int(cy-half), int(cx+half), int(cy+half)).Intersect(image.Rect(0, 0, gray.w, gray.h))
	if r.Dx() < 21 || r.Dy() < 21 {
		return nil
	}
	// Sizes are relative to the region at its own resolution, or at
	// regionSide for a region larger than that.
	side := float64(min(maxSide(plane{w: r.Dx(), h: r.Dy()}), regionSide))
	sub := downscale(crop(gray, r), 2*regionSide)
	// The detector's sampling grid is so sensitive to rounding that a code
	// unread at one scale is often read at the next.
	for _, s := range []float64{1.5, 0.75, 2, 1.25, 0.6} {
		p := resample(sub, s*side/float64(maxSide(sub)))
		for _, kind := range []binarizerKind{hybrid, global} {
			if fs, _ := scan(p, kind); len(fs) > 0 {
				return fs
			}
		}
	}
	return nil
}

func distf(a, b [2]float64) float64 { return math.Hypot(a[0]-b[0], a[1]-b[1]) }
