package qrcheck

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"strings"
	"testing"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/locales"
)

// twoCodes draws two different codes side by side, as when a sticker is
// pasted next to (or over) the genuine one.
func twoCodes(t *testing.T, a, b string) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 1100, 600))
	draw.Draw(img, img.Bounds(), &image.Uniform{C: color.White}, image.Point{}, draw.Src)
	for i, p := range []string{a, b} {
		q, err := qrcode.New(p, qrcode.Medium)
		if err != nil {
			t.Fatal(err)
		}
		size := 480 - 120*i
		draw.Draw(img, image.Rect(40+560*i, 40, 40+560*i+size, 40+size), q.Image(size), image.Point{}, draw.Src)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestQRCheckerPhotos(t *testing.T) {
	bundle, err := locales.NewBundle(locales.FS)
	if err != nil {
		t.Fatal(err)
	}
	const a = "00020101021138530010A0000007270123000697041601092576788590208QRIBFTTA53037045802VN6304AE9F"
	const b = "00020101021138580010A000000727012800069704070114190304136010180208QRIBFTTA53037045802VN63040283"
	noise := func() []byte {
		img := image.NewGray(image.Rect(0, 0, 300, 300))
		for i := range img.Pix {
			img.Pix[i] = uint8(i * 7919 % 251)
		}
		var buf bytes.Buffer
		_ = png.Encode(&buf, img)
		return buf.Bytes()
	}()
	huge := func() []byte { // a PNG header claiming 8000×6000: refused before decoding
		var buf bytes.Buffer
		_ = png.Encode(&buf, image.NewGray(image.Rect(0, 0, 1, 1)))
		raw := buf.Bytes()
		raw[16], raw[17], raw[18], raw[19] = 0, 0, 0x1f, 0x40 // width 8000
		raw[20], raw[21], raw[22], raw[23] = 0, 0, 0x17, 0x70 // height 6000
		binary.BigEndian.PutUint32(raw[29:33], crc32.ChecksumIEEE(raw[12:29]))
		return raw
	}()
	for _, tc := range []struct {
		name, outcome string
		photo         []byte
		want          []string
	}{
		{"two codes", "invalid", twoCodes(t, a, b), []string{"HAI mã QR khác nhau", "Mã 1:", "ACB", "Mã 2:", "Techcombank"}},
		{"no code", "unreadable", noise, []string{"Chưa đọc được mã", "chụp gần hơn"}},
		{"too large", "unreadable", huge, []string{"Ảnh quá lớn"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := New(locales.NewLocalizer(bundle), nil, nil, nil, func(context.Context, string) ([]byte, error) { return tc.photo, nil })
			r, err := q.Check(t.Context(), "tg:1", "vi", flows.Input{Kind: flows.InputPhoto, Photo: "f"})
			if err != nil {
				t.Fatal(err)
			}
			if r.Outcome != tc.outcome {
				t.Errorf("outcome %q, want %q", r.Outcome, tc.outcome)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.Text, w) {
					t.Errorf("answer lacks %q:\n%s", w, r.Text)
				}
			}
		})
	}
}

// TestQRCheckerPastedText: text that is no payment code at all is "not a
// payment code", never "broken, do not pay"; a payment code that is damaged
// is "broken", and what it seems to say is not shown.
func TestQRCheckerPastedText(t *testing.T) {
	bundle, err := locales.NewBundle(locales.FS)
	if err != nil {
		t.Fatal(err)
	}
	const acb = "00020101021138530010A0000007270123000697041601092576788590208QRIBFTTA53037045802VN6304AE9F"
	for _, tc := range []struct {
		name, text, outcome string
		want, not           []string
	}{
		{"a sentence", "Chuyển khoản cho cô giáo giúp tôi", "not_payment", []string{"không phải mã QR thanh toán"}, []string{"hỏng", "so tên người nhận"}},
		{"a Wi-Fi code", "WIFI:S:NhaVanHoa;T:WPA;P:xomdinhca;;", "not_payment", []string{"không phải mã QR thanh toán"}, []string{"hỏng"}},
		{"an account number", "STK 0123456789 Vietcombank", "not_payment", []string{"không phải mã QR thanh toán"}, []string{"hỏng", "0123456789"}},
		{"a bad crc", acb[:len(acb)-1] + "0", "invalid", []string{"Mã bị hỏng", "ĐỪNG trả"}, []string{"không phải mã QR", "257678859"}},
		{"cut short", acb[:60], "invalid", []string{"Mã bị hỏng"}, []string{"không phải mã QR"}},
		{"a link with a year", "https://hocphi-dinhca.example/nhan-qua/2026/48392", "url", []string{"đường link"}, []string{"hỏng", "không phải mã QR thanh toán"}},
		// "Compare the payee's name" is the caller's to say (/checkqr, or
		// the guide's next step), not the report's.
		{"sound", acb, "valid", []string{"ACB", "257678859", "✅"}, []string{"hỏng", "không phải mã QR", "so tên người nhận"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := New(locales.NewLocalizer(bundle), nil, nil, nil, nil)
			r, err := q.Check(t.Context(), "tg:1", "vi", flows.Input{Kind: flows.InputText, Text: tc.text})
			if err != nil {
				t.Fatal(err)
			}
			if r.Outcome != tc.outcome {
				t.Errorf("outcome %q, want %q", r.Outcome, tc.outcome)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.Text, w) {
					t.Errorf("answer lacks %q:\n%s", w, r.Text)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(r.Text, w) {
					t.Errorf("answer has %q:\n%s", w, r.Text)
				}
			}
		})
	}
}
