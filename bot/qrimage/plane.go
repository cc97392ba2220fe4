package qrimage

import (
	"image"
	"math"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode/decoder"
)

// toGray returns the luminance of img. The decoders of JPEG (the usual
// photo) and of grayscale PNG give their luminance directly.
func toGray(img image.Image) plane {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	p := plane{pix: make([]byte, w*h), w: w, h: h, scale: 1}
	switch m := img.(type) {
	case *image.YCbCr:
		for y := 0; y < h; y++ {
			copy(p.pix[y*w:(y+1)*w], m.Y[m.YOffset(b.Min.X, b.Min.Y+y):])
		}
	case *image.Gray:
		for y := 0; y < h; y++ {
			copy(p.pix[y*w:(y+1)*w], m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):])
		}
	case *image.RGBA:
		rgbToGray(p, m.Pix, m.Stride, m.PixOffset(b.Min.X, b.Min.Y), nil)
	case *image.NRGBA:
		// Transparent pixels are shown on white, as a chat client shows them.
		rgbToGray(p, m.Pix, m.Stride, m.PixOffset(b.Min.X, b.Min.Y), func(v, a uint32) uint32 {
			return (v*a + 255*(255-a)) / 255
		})
	default:
		i := 0
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				r, g, bb, a := img.At(x, y).RGBA() // premultiplied, 16 bit
				l := (299*r + 587*g + 114*bb) / 1000
				p.pix[i] = byte((l + (0xffff - a)) >> 8)
				i++
			}
		}
	}
	return p
}

func rgbToGray(p plane, pix []byte, stride, off int, unpremul func(v, a uint32) uint32) {
	for y := 0; y < p.h; y++ {
		row := pix[off+y*stride:]
		out := p.pix[y*p.w : (y+1)*p.w]
		for x := range out {
			s := row[4*x : 4*x+4 : 4*x+4]
			l := (299*uint32(s[0]) + 587*uint32(s[1]) + 114*uint32(s[2])) / 1000
			if unpremul != nil {
				l = unpremul(l, uint32(s[3]))
			}
			out[x] = byte(l)
		}
	}
}

// downscale box-averages p by the smallest whole factor that brings its
// longest side to at most side.
func downscale(p plane, side int) plane {
	long := maxSide(p)
	if side <= 0 || long <= side {
		return p
	}
	k := (long + side - 1) / side
	w, h := p.w/k, p.h/k
	out := plane{pix: make([]byte, w*h), w: w, h: h, scale: p.scale * float64(k)}
	sums := make([]uint32, w)
	n := uint32(k * k)
	for y := 0; y < h; y++ {
		clear(sums)
		for dy := 0; dy < k; dy++ {
			row := p.pix[(y*k+dy)*p.w:]
			for x := 0; x < w; x++ {
				s := uint32(0)
				for _, v := range row[x*k : x*k+k] {
					s += uint32(v)
				}
				sums[x] += s
			}
		}
		o := out.pix[y*w : (y+1)*w]
		for x, s := range sums {
			o[x] = byte((s + n/2) / n)
		}
	}
	return out
}

// percentile returns the luminance below which a share q of p's pixels lie.
func percentiles(p plane, qs ...float64) []int {
	var hist [256]int
	for _, v := range p.pix {
		hist[v]++
	}
	out := make([]int, len(qs))
	for i, q := range qs {
		target, acc := int(q*float64(len(p.pix))), 0
		for v, c := range hist {
			acc += c
			if acc > target {
				out[i] = v
				break
			}
		}
	}
	return out
}

// stretch maps p's 1st to 99th luminance percentiles onto the full range: a
// dim or washed-out photo gets the contrast the global binarizer needs.
func stretch(p plane) plane {
	q := percentiles(p, 0.01, 0.99)
	lo, hi := q[0], q[1]
	if hi-lo < 8 {
		return p
	}
	var lut [256]byte
	for v := range lut {
		lut[v] = byte(min(255, max(0, (v-lo)*255/(hi-lo))))
	}
	out := plane{pix: make([]byte, len(p.pix)), w: p.w, h: p.h, scale: p.scale}
	for i, v := range p.pix {
		out.pix[i] = lut[v]
	}
	return out
}

// rotate turns p by angle radians about its centre, bilinearly, into a
// plane large enough to hold all of it; the corners are filled with the
// median luminance so that they add no edges.
func rotate(p plane, angle float64) plane {
	sin, cos := math.Sincos(angle)
	w := int(math.Ceil(math.Abs(float64(p.w)*cos) + math.Abs(float64(p.h)*sin)))
	h := int(math.Ceil(math.Abs(float64(p.w)*sin) + math.Abs(float64(p.h)*cos)))
	out := plane{pix: make([]byte, w*h), w: w, h: h, scale: p.scale}
	fill := byte(percentiles(p, 0.5)[0])
	cx, cy := float64(p.w)/2, float64(p.h)/2
	ox, oy := float64(w)/2, float64(h)/2
	for y := 0; y < h; y++ {
		dy := float64(y) + 0.5 - oy
		for x := 0; x < w; x++ {
			dx := float64(x) + 0.5 - ox
			// Inverse rotation: where in p does this pixel come from?
			sx := cos*dx + sin*dy + cx - 0.5
			sy := -sin*dx + cos*dy + cy - 0.5
			out.pix[y*w+x] = bilinear(p, sx, sy, fill)
		}
	}
	return out
}

func bilinear(p plane, x, y float64, fill byte) byte {
	if x < 0 || y < 0 || x > float64(p.w-1) || y > float64(p.h-1) {
		return fill
	}
	x0, y0 := int(x), int(y)
	x1, y1 := min(x0+1, p.w-1), min(y0+1, p.h-1)
	fx, fy := x-float64(x0), y-float64(y0)
	a := float64(p.pix[y0*p.w+x0])*(1-fx) + float64(p.pix[y0*p.w+x1])*fx
	b := float64(p.pix[y1*p.w+x0])*(1-fx) + float64(p.pix[y1*p.w+x1])*fx
	return byte(a*(1-fy) + b*fy + 0.5)
}

// blankFinders returns a copy of p with the finder patterns of the codes in
// fs painted over in the paper's luminance. The multi-code detector pairs
// finder patterns by size and distance; with the found code's patterns gone
// it can only pair the other code's.
func blankFinders(p plane, fs []found) plane {
	out := plane{pix: append([]byte(nil), p.pix...), w: p.w, h: p.h, scale: p.scale}
	paper := byte(percentiles(p, 0.95)[0])
	for _, f := range fs {
		if len(f.centres) < 3 {
			continue
		}
		d := (dist(f.centres[0], f.centres[1]) + dist(f.centres[1], f.centres[2])) / 2
		// The pattern with its separator reaches 4.5 modules from its centre,
		// and the centres are modules-7 modules apart; √2 covers any rotation.
		r := 0.25 * d
		if f.modules > 7 {
			r = 4.5 * d / float64(f.modules-7)
		}
		r *= math.Sqrt2
		for _, c := range f.centres {
			cx, cy := c.GetX(), c.GetY()
			for y := max(0, int(cy-r)); y <= min(p.h-1, int(cy+r)); y++ {
				for x := max(0, int(cx-r)); x <= min(p.w-1, int(cx+r)); x++ {
					if math.Hypot(float64(x)-cx, float64(y)-cy) <= r {
						out.pix[y*p.w+x] = paper
					}
				}
			}
		}
	}
	return out
}

// moduleCount returns the number of modules per side of the code res was read
// from, found from its count of data codewords and its error-correction
// level, or 0 when they do not say.
func moduleCount(res *gozxing.Result) int {
	name, _ := res.GetResultMetadata()[gozxing.ResultMetadataType_ERROR_CORRECTION_LEVEL].(string)
	level, err := decoder.ErrorCorrectionLevel_ValueOf(name)
	if err != nil {
		return 0
	}
	n := len(res.GetRawBytes())
	for v := 1; v <= 40; v++ {
		ver, err := decoder.Version_GetVersionForNumber(v)
		if err != nil {
			return 0
		}
		if ver.GetTotalCodewords()-ver.GetECBlocksForLevel(level).GetTotalECCodewords() == n {
			return ver.GetDimensionForVersion()
		}
	}
	return 0
}
