package qrimage

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"hash/crc32"
	"image"
	"image/color"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	qrcode "github.com/skip2/go-qrcode"
)

var dumpDir = flag.String("dump", "", "write the generated sample pictures to this directory, to look at them")

func TestDecodeClean(t *testing.T) {
	t.Parallel()
	payload := vietQR(rand.New(rand.NewPCG(1, 1000)))
	q, err := qrcode.New(payload, qrcode.Medium)
	if err != nil {
		t.Fatal(err)
	}
	img := q.Image(400)
	encode := map[string]func(*bytes.Buffer) error{
		"png":  func(b *bytes.Buffer) error { return png.Encode(b, img) },
		"jpeg": func(b *bytes.Buffer) error { return jpeg.Encode(b, img, &jpeg.Options{Quality: 75}) },
		"gif":  func(b *bytes.Buffer) error { return gif.Encode(b, img, nil) },
	}
	for name, enc := range encode {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			if err := enc(&buf); err != nil {
				t.Fatal(err)
			}
			got, err := Decode(t.Context(), buf.Bytes())
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if diff := cmp.Diff([]string{payload}, got); diff != "" {
				t.Errorf("Decode (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDecodeLargestFirst puts a small and a large code side by side.
func TestDecodeLargestFirst(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 1001))
	small, large := vietQR(rng), vietQR(rng)
	canvas := image.NewGray(image.Rect(0, 0, 900, 600))
	draw.Draw(canvas, canvas.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	for _, c := range []struct {
		payload string
		size    int
		at      image.Point
	}{{small, 250, image.Pt(20, 170)}, {large, 550, image.Pt(320, 25)}} {
		q, err := qrcode.New(c.payload, qrcode.Medium)
		if err != nil {
			t.Fatal(err)
		}
		img := q.Image(c.size)
		draw.Draw(canvas, img.Bounds().Add(c.at), img, image.Point{}, draw.Src)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, canvas); err != nil {
		t.Fatal(err)
	}
	got, err := Decode(t.Context(), buf.Bytes())
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	if diff := cmp.Diff([]string{large, small}, got); diff != "" {
		t.Errorf("Decode (-want +got):\n%s", diff)
	}
}

// TestDecodeTooLarge gives a PNG that is only a header claiming 8000×6000
// pixels: were its pixels decoded, the error would be a truncated file.
func TestDecodeTooLarge(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	buf.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], 8000)
	binary.BigEndian.PutUint32(ihdr[4:], 6000)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	chunk := append([]byte("IHDR"), ihdr...)
	_ = binary.Write(&buf, binary.BigEndian, uint32(len(ihdr)))
	buf.Write(chunk)
	_ = binary.Write(&buf, binary.BigEndian, crc32.ChecksumIEEE(chunk))

	if _, _, err := image.DecodeConfig(bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatalf("the test header is not a valid PNG header: %v", err)
	}
	_, err := Decode(t.Context(), buf.Bytes())
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("Decode = %v, want ErrTooLarge", err)
	}
}

func TestDecodeNoCode(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 1002))
	img := image.NewGray(image.Rect(0, 0, 640, 480))
	for i := range img.Pix {
		img.Pix[i] = uint8(rng.IntN(256))
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 70}); err != nil {
		t.Fatal(err)
	}
	_, err := Decode(t.Context(), buf.Bytes())
	if !errors.Is(err, ErrNoCode) {
		t.Errorf("Decode = %v, want ErrNoCode", err)
	}
}

func TestDecodeNotAPicture(t *testing.T) {
	t.Parallel()
	_, err := Decode(t.Context(), []byte("hello"))
	if err == nil || errors.Is(err, ErrNoCode) || errors.Is(err, ErrTooLarge) {
		t.Errorf("Decode = %v, want a decoding error", err)
	}
}

func TestDecodeCanceled(t *testing.T) {
	t.Parallel()
	p := genPhoto(t, 20)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := Decode(ctx, p.data)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Decode = %v, want context.Canceled", err)
	}
}

// sampleIndices are twelve pictures of the measurement at Telegram's sizes,
// two of them with a sticker (25 and 35).
var sampleIndices = []int{20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 35}

// TestDecodeGeneratedSample decodes a fixed sample of the generated photos.
func TestDecodeGeneratedSample(t *testing.T) {
	t.Parallel()
	photos := genPhotos(t, sampleIndices)
	if *dumpDir != "" {
		for _, p := range photos {
			name := filepath.Join(*dumpDir, p.kind+"-"+strconv.Itoa(p.index)+".jpg")
			if err := os.WriteFile(name, p.data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	doubles := 0
	for _, p := range photos {
		if p.double() {
			doubles++
		}
		t.Run(strconv.Itoa(p.index), func(t *testing.T) {
			t.Parallel()
			got, err := Decode(t.Context(), p.data)
			if err != nil {
				t.Fatalf("photo %d (%s): Decode: %v", p.index, p.kind, err)
			}
			want := slices.Sorted(slices.Values(p.payloads))
			if diff := cmp.Diff(want, slices.Sorted(slices.Values(got))); diff != "" {
				t.Errorf("photo %d (%s): payloads (-want +got):\n%s", p.index, p.kind, diff)
			}
		})
	}
	if doubles != 2 {
		t.Errorf("sample has %d pictures with a sticker, want 2", doubles)
	}
}

// BenchmarkDecodePhotos is the measurement: 200 generated photos
// (seed 1), reporting the share decoded, the share of sticker pictures
// flagged with both codes, and the time per picture by size. Run it with
//
//	go test ./bot/qrimage -run XXX -bench DecodePhotos -benchtime 1x
func BenchmarkDecodePhotos(b *testing.B) {
	indices := make([]int, photoCount)
	for i := range indices {
		indices[i] = i
	}
	photos := genPhotos(b, indices)
	verbose := os.Getenv("QRIMAGE_VERBOSE") != ""

	for b.Loop() {
		var decoded, doubles, flagged int
		elapsed := map[string]time.Duration{}
		count := map[string]int{}
		for _, p := range photos {
			start := time.Now()
			got, err := Decode(b.Context(), p.data)
			d := time.Since(start)
			elapsed[p.kind] += d
			count[p.kind]++
			ok := err == nil && len(got) > 0
			for _, g := range got {
				if !slices.Contains(p.payloads, g) {
					ok = false
				}
			}
			if ok {
				decoded++
			}
			if p.double() {
				doubles++
				if len(got) == 2 && ok {
					flagged++
				}
			}
			if verbose && (!ok || (p.double() && len(got) != 2) || d > 300*time.Millisecond) {
				b.Logf("photo %d (%s, double %v): got %d codes, err %v, ok %v, %v", p.index, p.kind, p.double(), len(got), err, ok, d)
			}
		}
		b.ReportMetric(100*float64(decoded)/float64(len(photos)), "decoded_pct")
		b.ReportMetric(100*float64(flagged)/float64(max(1, doubles)), "double_flagged_pct")
		ms := func(kind string) float64 {
			return float64(elapsed[kind].Microseconds()) / 1000 / float64(max(1, count[kind]))
		}
		b.ReportMetric(ms(kind1280), "ms_per_1280px")
		b.ReportMetric(ms(kind2560), "ms_per_2560px")
		b.ReportMetric(ms(kind12MP), "ms_per_12mp")
	}
}
