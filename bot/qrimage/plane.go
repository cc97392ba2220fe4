package qrimage

import (
	"image"
	"math"

	"github.com/makiuchi-d/gozxing/qrcode/decoder"
)

// plane is an 8-bit luminance picture. m maps its pixel coordinates to
// those of the original picture (x' = m0·x + m1·y + m2, y' = m3·x + m4·y + m5),
// so that what is found on a scaled, rotated or cropped plane is placed and
// measured in the original.
type plane struct {
	pix  []byte
	w, h int
	m    affine
}

type affine [6]float64

var identity = affine{1, 0, 0, 0, 1, 0}

// then returns the map that applies l, then a.
func (a affine) then(l affine) affine {
	return affine{
		a[0]*l[0] + a[1]*l[3], a[0]*l[1] + a[1]*l[4], a[0]*l[2] + a[1]*l[5] + a[2],
		a[3]*l[0] + a[4]*l[3], a[3]*l[1] + a[4]*l[4], a[3]*l[2] + a[4]*l[5] + a[5],
	}
}

func (a affine) inverse() affine {
	det := a[0]*a[4] - a[1]*a[3]
	i0, i1, i3, i4 := a[4]/det, -a[1]/det, -a[3]/det, a[0]/det
	return affine{i0, i1, -(i0*a[2] + i1*a[5]), i3, i4, -(i3*a[2] + i4*a[5])}
}

func (a affine) apply(x, y float64) [2]float64 {
	return [2]float64{a[0]*x + a[1]*y + a[2], a[3]*x + a[4]*y + a[5]}
}

func (p plane) toOrig(x, y float64) [2]float64 { return p.m.apply(x, y) }

// toGray returns the luminance of img. The decoders of JPEG (the usual
// photo) and of grayscale PNG give their luminance directly.
func toGray(img image.Image) plane {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	p := plane{pix: make([]byte, w*h), w: w, h: h, m: identity}
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
	kf := float64(k)
	out := plane{pix: make([]byte, w*h), w: w, h: h, m: p.m.then(affine{kf, 0, 0, 0, kf, 0})}
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
	out := plane{pix: make([]byte, len(p.pix)), w: p.w, h: p.h, m: p.m}
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
	cx, cy := float64(p.w)/2, float64(p.h)/2
	ox, oy := float64(w)/2, float64(h)/2
	out := plane{pix: make([]byte, w*h), w: w, h: h, m: p.m.then(affine{
		cos, sin, cx - cos*ox - sin*oy,
		-sin, cos, cy + sin*ox - cos*oy,
	})}
	fill := byte(percentiles(p, 0.5)[0])
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

// crop returns a copy of the part r of p.
func crop(p plane, r image.Rectangle) plane {
	out := plane{pix: make([]byte, 0, r.Dx()*r.Dy()), w: r.Dx(), h: r.Dy(),
		m: p.m.then(affine{1, 0, float64(r.Min.X), 0, 1, float64(r.Min.Y)})}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		out.pix = append(out.pix, p.pix[y*p.w+r.Min.X:y*p.w+r.Max.X]...)
	}
	return out
}

// resample scales p by f, bilinearly: for enlarging, or for reducing by
// less than half.
func resample(p plane, f float64) plane {
	w, h := max(1, int(float64(p.w)*f)), max(1, int(float64(p.h)*f))
	fx, fy := float64(p.w)/float64(w), float64(p.h)/float64(h)
	out := plane{pix: make([]byte, w*h), w: w, h: h, m: p.m.then(affine{fx, 0, 0, 0, fy, 0})}
	for y := 0; y < h; y++ {
		sy := (float64(y)+0.5)*fy - 0.5
		for x := 0; x < w; x++ {
			out.pix[y*w+x] = bilinear(p, max(0, (float64(x)+0.5)*fx-0.5), max(0, sy), 0)
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
	out := plane{pix: append([]byte(nil), p.pix...), w: p.w, h: p.h, m: p.m}
	paper := byte(percentiles(p, 0.95)[0])
	inv := p.m.inverse()
	for _, f := range fs {
		if len(f.centres) < 3 {
			continue
		}
		var cs [3][2]float64
		for i, c := range f.centres[:3] {
			cs[i] = inv.apply(c[0], c[1])
		}
		d := (distf(cs[0], cs[1]) + distf(cs[1], cs[2])) / 2
		// The pattern with its separator reaches 4.5 modules from its centre,
		// and the centres are modules-7 modules apart; √2 covers any rotation.
		r := 0.25 * d
		if f.modules > 7 {
			r = 4.5 * d / float64(f.modules-7)
		}
		r *= math.Sqrt2
		for _, c := range cs {
			cx, cy := c[0], c[1]
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

// moduleCount returns the number of modules per side of a code from its
// error-correction level and its count n of data codewords, or 0 when they
// do not say.
func moduleCount(ecLevel string, n int) int {
	level, err := decoder.ErrorCorrectionLevel_ValueOf(ecLevel)
	if err != nil {
		return 0
	}
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
