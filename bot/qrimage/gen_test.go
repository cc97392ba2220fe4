package qrimage

// A generator of synthetic phone photos of payment QR codes, for the
// measurement the issue asks for and for a fixed sample in the tests. Every
// picture is drawn from its own generator seeded with (1, index), so any
// picture can be made alone and the set is the same on every run.

import (
	"bytes"
	"fmt"
	"github.com/hangxomso/hangxom/flows/vietqr"
	"image"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"testing"

	qrcode "github.com/skip2/go-qrcode"
)

// Picture sizes as Telegram delivers photos, and as a phone stores them.
const (
	kind1280 = "1280px"
	kind2560 = "2560px"
	kind12MP = "12MP"
)

// photoCount is the number of pictures in the measurement.
const photoCount = 200

// photo is one generated picture and what it must decode to: the poster's
// code first, then the sticker's when there is one.
type photo struct {
	index    int
	kind     string
	data     []byte // JPEG
	payloads []string
}

func (p photo) double() bool { return len(p.payloads) == 2 }

// photoKind returns the size class of picture i: the first 20 are full
// 12-megapixel files, the others two thirds Telegram's 1280 px and one third
// its 2560 px HD photos.
func photoKind(i int) string {
	switch {
	case i < 20:
		return kind12MP
	case (i-20)%3 == 2:
		return kind2560
	default:
		return kind1280
	}
}

// photoDouble reports whether picture i has a sticker over its code: one in ten.
func photoDouble(i int) bool { return i%10 == 5 }

// genPhotos makes the pictures with the given indices, on every core.
func genPhotos(tb testing.TB, indices []int) []photo {
	tb.Helper()
	out := make([]photo, len(indices))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for k, i := range indices {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			out[k] = genPhoto(tb, i)
		})
	}
	wg.Wait()
	return out
}

// genPhoto draws picture i: a poster with a VietQR-like code at 25–60% of
// the picture's width (a sticker with another code over its corner for one
// in ten), rotated up to ±20°, in perspective up to 10%, on a noisy
// background, lit unevenly, blurred with σ up to 1.5 px, with sensor noise,
// saved as JPEG at quality 50–80.
func genPhoto(tb testing.TB, i int) photo {
	tb.Helper()
	rng := rand.New(rand.NewPCG(1, uint64(i)))
	p := photo{index: i, kind: photoKind(i)}

	long, short := 1280, 960
	switch p.kind {
	case kind2560:
		long, short = 2560, 1920
	case kind12MP:
		long, short = 4000, 3000
	}
	w, h := long, short
	if rng.IntN(2) == 0 {
		w, h = short, long
	}

	sc := scene{paperMargin: 0.15 + 0.3*rng.Float64()}
	p.payloads = append(p.payloads, vietQR(rng))
	sc.main = qrBitmap(tb, p.payloads[0])
	frac := 0.25 + 0.35*rng.Float64()
	extent := 1.0
	if photoDouble(i) {
		p.payloads = append(p.payloads, vietQR(rng))
		sc.sticker = qrBitmap(tb, p.payloads[1])
		sc.stickerSize = 0.45 + 0.25*rng.Float64()
		// The sticker covers the bottom-right corner of the poster's code,
		// the one corner without a finder pattern, up to a quarter of its
		// width: a cover the poster's error correction can still read through.
		sc.stickerX = 1 - (0.1 + 0.15*rng.Float64())
		sc.stickerY = 1 - (0.1 + 0.15*rng.Float64())
		extent = max(sc.stickerX, sc.stickerY) + sc.stickerSize
		frac = 0.25 + 0.2*rng.Float64()
	}

	theta := (rng.Float64()*2 - 1) * 20 * math.Pi / 180
	skew := 0.1 * rng.Float64()
	phi := rng.Float64() * 2 * math.Pi
	kx, ky := skew*math.Cos(phi), skew*math.Sin(phi)
	// The code's corners around its centre, keystoned and rotated, in
	// units of the code's width.
	src := [4][2]float64{{0, 0}, {1, 0}, {0, 1}, {1, 1}}
	var dst [4][2]float64
	sin, cos := math.Sincos(theta)
	for c, s := range src {
		sx, sy := 2*s[0]-1, 2*s[1]-1
		x := 0.5 * sx * (1 + sy*ky/2)
		y := 0.5 * sy * (1 + sx*kx/2)
		dst[c] = [2]float64{cos*x - sin*y, sin*x + cos*y}
	}
	// Scale to the picture, shrinking until the codes fit with a margin, and
	// place them anywhere they fit.
	var inv homography
	for {
		cw := frac * float64(w)
		var d [4][2]float64
		for c := range dst {
			d[c] = [2]float64{dst[c][0] * cw, dst[c][1] * cw}
		}
		fwd := solveHomography(src, d)
		minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
		for _, s := range [][2]float64{{0, 0}, {extent, 0}, {0, extent}, {extent, extent}} {
			x, y := fwd.apply(s[0], s[1])
			minX, maxX = min(minX, x), max(maxX, x)
			minY, maxY = min(minY, y), max(maxY, y)
		}
		margin := 0.03 * float64(w)
		freeX := float64(w) - 2*margin - (maxX - minX)
		freeY := float64(h) - 2*margin - (maxY - minY)
		if freeX < 0 || freeY < 0 {
			frac *= 0.95
			continue
		}
		ox := margin - minX + freeX*rng.Float64()
		oy := margin - minY + freeY*rng.Float64()
		for c := range d {
			d[c][0] += ox
			d[c][1] += oy
		}
		inv = solveHomography(d, src)
		break
	}

	sc.black = 15 + 55*rng.Float64()
	sc.white = 170 + 75*rng.Float64()
	sc.gradX = (rng.Float64()*2 - 1) * 0.25 / float64(w)
	sc.gradY = (rng.Float64()*2 - 1) * 0.25 / float64(h)
	sc.bg = newValueNoise(rng, w, h)
	sc.text = rng.Uint64()

	lum := make([]float32, w*h)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			u, v := inv.apply(float64(x)+0.5, float64(y)+0.5)
			lum[y*w+x] = float32(sc.at(x, y, u, v))
		}
	}
	sigma := 1.5 * rng.Float64()
	gaussianBlur(lum, w, h, sigma)

	tint := [3]float64{0.88 + 0.2*rng.Float64(), 0.88 + 0.2*rng.Float64(), 0.88 + 0.2*rng.Float64()}
	noise := 2 + 6*rng.Float64()
	normals := make([]float32, 1<<16)
	for k := range normals {
		normals[k] = float32(rng.NormFloat64() * noise)
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	state := rng.Uint64() | 1
	for k, l := range lum {
		for c := range 3 {
			state ^= state << 13
			state ^= state >> 7
			state ^= state << 17
			v := float64(l)*tint[c] + float64(normals[state&0xffff])
			img.Pix[4*k+c] = uint8(min(255, max(0, v+0.5)))
		}
		img.Pix[4*k+3] = 255
	}
	var buf bytes.Buffer
	quality := 50 + rng.IntN(31)
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality}); err != nil {
		tb.Fatalf("photo %d: encode JPEG: %v", i, err)
	}
	p.data = buf.Bytes()
	return p
}

// scene is the flat world the camera looks at: a sheet of paper with the
// code (poster coordinates in units of the code's width, the code at
// [0,1]²), maybe a sticker, a few lines of print under the code, and a
// blotchy background around the paper in picture coordinates.
type scene struct {
	main, sticker              [][]bool
	stickerX, stickerY         float64
	stickerSize                float64
	paperMargin                float64
	black, white, gradX, gradY float64
	bg                         *valueNoise
	text                       uint64
}

func (s *scene) at(x, y int, u, v float64) float64 {
	light := 1 + s.gradX*float64(x) + s.gradY*float64(y)
	ink := func(dark float64) float64 { return (s.white - dark*(s.white-s.black)) * light }
	switch {
	case s.sticker != nil && u >= s.stickerX && v >= s.stickerY &&
		u < s.stickerX+s.stickerSize && v < s.stickerY+s.stickerSize:
		return ink(sampleBits(s.sticker, (u-s.stickerX)/s.stickerSize, (v-s.stickerY)/s.stickerSize))
	case u >= 0 && v >= 0 && u < 1 && v < 1:
		return ink(sampleBits(s.main, u, v))
	case u >= -s.paperMargin && v >= -s.paperMargin && u < 1+s.paperMargin && v < 1+2*s.paperMargin:
		// Lines of print under the code: words as dark dashes.
		if v > 1.05 && u > 0 && u < 1 {
			line := int((v - 1.05) / 0.06)
			inLine := math.Mod(v-1.05, 0.06) < 0.035
			word := int(u / 0.04)
			if inLine && mix(s.text, uint64(line), uint64(word))%10 < 6 {
				return ink(0.85)
			}
		}
		return ink(0)
	default:
		return s.bg.at(x, y)
	}
}

// sampleBits reads a module bitmap at (u, v) in [0,1)², bilinearly between
// module centres, so that edges fall between pixels as in a photo.
func sampleBits(bits [][]bool, u, v float64) float64 {
	n := len(bits)
	fx, fy := u*float64(n)-0.5, v*float64(n)-0.5
	x0, y0 := int(math.Floor(fx)), int(math.Floor(fy))
	ax, ay := fx-float64(x0), fy-float64(y0)
	get := func(x, y int) float64 {
		if x < 0 || y < 0 || x >= n || y >= n || !bits[y][x] {
			return 0
		}
		return 1
	}
	return (get(x0, y0)*(1-ax)+get(x0+1, y0)*ax)*(1-ay) + (get(x0, y0+1)*(1-ax)+get(x0+1, y0+1)*ax)*ay
}

func mix(a, b, c uint64) uint64 {
	h := a ^ (b * 0x9e3779b97f4a7c15) ^ (c * 0xc2b2ae3d27d4eb4f)
	h ^= h >> 31
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 29
	return h
}

// valueNoise is a blotchy background: two octaves of random values on a
// grid, interpolated bilinearly.
type valueNoise struct {
	coarse, fine [][]float64
	cs, fs       float64
	base, amp    float64
}

func newValueNoise(rng *rand.Rand, w, h int) *valueNoise {
	long := float64(max(w, h))
	n := &valueNoise{cs: long / 12, fs: long / 90, base: 40 + 120*rng.Float64(), amp: 30 + 60*rng.Float64()}
	grid := func(step float64) [][]float64 {
		g := make([][]float64, int(float64(h)/step)+2)
		for y := range g {
			g[y] = make([]float64, int(float64(w)/step)+2)
			for x := range g[y] {
				g[y][x] = rng.Float64()*2 - 1
			}
		}
		return g
	}
	n.coarse, n.fine = grid(n.cs), grid(n.fs)
	return n
}

func (n *valueNoise) at(x, y int) float64 {
	interp := func(g [][]float64, step float64) float64 {
		fx, fy := float64(x)/step, float64(y)/step
		x0, y0 := int(fx), int(fy)
		ax, ay := fx-float64(x0), fy-float64(y0)
		return (g[y0][x0]*(1-ax)+g[y0][x0+1]*ax)*(1-ay) + (g[y0+1][x0]*(1-ax)+g[y0+1][x0+1]*ax)*ay
	}
	return n.base + n.amp*(interp(n.coarse, n.cs)+0.4*interp(n.fine, n.fs))
}

// homography is a projective map of the plane, h[8] = 1.
type homography [9]float64

func (m homography) apply(x, y float64) (float64, float64) {
	d := m[6]*x + m[7]*y + m[8]
	return (m[0]*x + m[1]*y + m[2]) / d, (m[3]*x + m[4]*y + m[5]) / d
}

// solveHomography returns the map taking each from[i] to to[i], by Gaussian
// elimination on the usual 8×8 system.
func solveHomography(from, to [4][2]float64) homography {
	var a [8][9]float64
	for i := range 4 {
		x, y, u, v := from[i][0], from[i][1], to[i][0], to[i][1]
		a[2*i] = [9]float64{x, y, 1, 0, 0, 0, -u * x, -u * y, u}
		a[2*i+1] = [9]float64{0, 0, 0, x, y, 1, -v * x, -v * y, v}
	}
	for c := range 8 {
		p := c
		for r := c + 1; r < 8; r++ {
			if math.Abs(a[r][c]) > math.Abs(a[p][c]) {
				p = r
			}
		}
		a[c], a[p] = a[p], a[c]
		for r := range 8 {
			if r == c {
				continue
			}
			f := a[r][c] / a[c][c]
			for k := c; k < 9; k++ {
				a[r][k] -= f * a[c][k]
			}
		}
	}
	var m homography
	for i := range 8 {
		m[i] = a[i][8] / a[i][i]
	}
	m[8] = 1
	return m
}

// gaussianBlur blurs the w×h plane in place with a separable kernel.
func gaussianBlur(pix []float32, w, h int, sigma float64) {
	if sigma < 0.3 {
		return
	}
	r := int(math.Ceil(3 * sigma))
	k := make([]float32, 2*r+1)
	var sum float32
	for i := range k {
		d := float64(i - r)
		k[i] = float32(math.Exp(-d * d / (2 * sigma * sigma)))
		sum += k[i]
	}
	for i := range k {
		k[i] /= sum
	}
	tmp := make([]float32, len(pix))
	for y := 0; y < h; y++ {
		row := pix[y*w : (y+1)*w]
		for x := 0; x < w; x++ {
			var s float32
			for i, kv := range k {
				xx := min(w-1, max(0, x+i-r))
				s += kv * row[xx]
			}
			tmp[y*w+x] = s
		}
	}
	for y := 0; y < h; y++ {
		out := pix[y*w : (y+1)*w]
		for x := range out {
			out[x] = 0
		}
		for i, kv := range k {
			yy := min(h-1, max(0, y+i-r))
			in := tmp[yy*w : (yy+1)*w]
			for x := range out {
				out[x] += kv * in[x]
			}
		}
	}
}

func qrBitmap(tb testing.TB, payload string) [][]bool {
	tb.Helper()
	q, err := qrcode.New(payload, qrcode.Medium)
	if err != nil {
		tb.Fatalf("encode QR %q: %v", payload, err)
	}
	return q.Bitmap()
}

// vietQR returns a VietQR-like EMVCo merchant-presented payload: a bank
// transfer to an account, sometimes with an amount and a purpose, with the
// CRC-16/CCITT-FALSE the standard puts at the end.
func vietQR(rng *rand.Rand) string {
	banks := []string{"970436", "970415", "970418", "970422", "970407", "970423", "970432"}
	account := make([]byte, 8+rng.IntN(7))
	for i := range account {
		account[i] = byte('0' + rng.IntN(10))
	}
	beneficiary := tlv("00", banks[rng.IntN(len(banks))]) + tlv("01", string(account))
	merchant := tlv("00", "A000000727") + tlv("01", beneficiary) + tlv("02", "QRIBFTTA")
	var b strings.Builder
	b.WriteString(tlv("00", "01"))
	amount := rng.IntN(2) == 0
	if amount {
		b.WriteString(tlv("01", "12"))
	} else {
		b.WriteString(tlv("01", "11"))
	}
	b.WriteString(tlv("38", merchant))
	b.WriteString(tlv("53", "704"))
	if amount {
		b.WriteString(tlv("54", fmt.Sprint(1000*(1+rng.IntN(2000)))))
	}
	b.WriteString(tlv("58", "VN"))
	if rng.IntN(2) == 0 {
		purposes := []string{"Tien dien thang 5", "Phi ve sinh", "Quy khuyen hoc", "Tien nuoc", "Ung ho dong bao lu lut"}
		b.WriteString(tlv("62", tlv("08", purposes[rng.IntN(len(purposes))])))
	}
	b.WriteString("6304")
	return b.String() + fmt.Sprintf("%04X", vietqr.CRC16([]byte(b.String())))
}

func tlv(tag, value string) string { return fmt.Sprintf("%s%02d%s", tag, len(value), value) }
