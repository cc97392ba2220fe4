package poster_test

import (
	"bytes"
	"flag"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/text/unicode/norm"

	"github.com/hangxomso/hangxom/bot/poster"
	"github.com/hangxomso/hangxom/content"
	"github.com/hangxomso/hangxom/flows"
)

// outDir keeps the rendered posters for a person to look at:
// go test ./bot/poster -run Poster -poster.out /tmp/posters
var outDir = flag.String("poster.out", "", "write every rendered poster to this directory")

const instruction = "Mời bác quét mã bằng camera điện thoại để được hướng dẫn từng bước dùng dịch vụ số"

// loadFonts loads the embedded DejaVu Sans.
func loadFonts(t *testing.T) poster.Fonts {
	t.Helper()
	f, err := poster.DejaVuSans()
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// seedAreas returns the areas the program seeds the store with at start.
// It reads only the areas file, so a flow being edited elsewhere does not
// stop the posters being checked.
func seedAreas(t *testing.T) []flows.Area {
	t.Helper()
	areas, err := content.LoadAreas(content.FS, content.AreasFile)
	if err != nil {
		t.Fatal(err)
	}
	return areas
}

// seedHamlets returns every hamlet of the embedded content with its commune.
func seedHamlets(t *testing.T) (hamlets []flows.Area, communes map[string]flows.Area) {
	t.Helper()
	areas := seedAreas(t)
	communes = map[string]flows.Area{}
	for _, a := range areas {
		switch a.Level {
		case flows.LevelHamlet:
			hamlets = append(hamlets, a)
		case flows.LevelCommune:
			communes[a.ID] = a
		}
	}
	if len(hamlets) == 0 {
		t.Fatal("the content seed has no hamlets")
	}
	return hamlets, communes
}

// decodeQR reads the one QR code on the page.
func decodeQR(t *testing.T, img image.Image) string {
	t.Helper()
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true})
	if err != nil {
		t.Fatalf("no QR code read from the poster: %v", err)
	}
	return res.GetText()
}

// checkPage decodes a rendered poster and checks what every poster must be.
func checkPage(t *testing.T, data []byte, link string) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if got := img.Bounds(); got != image.Rect(0, 0, poster.Width, poster.Height) || got.Dx() != 1240 || got.Dy() != 1754 {
		t.Fatalf("page is %v, want A4 at 150 dpi, 1240×1754", got)
	}
	if got := decodeQR(t, img); got != link {
		t.Errorf("QR code reads %q, want %q", got, link)
	}
	// The paper's own edge and the space between the border line and the
	// text stay white: text that failed to shrink would run into them.
	const edge, inner = 30, 50 // the border line is at 40–46 px
	for y := 0; y < poster.Height; y++ {
		xs := []int{0, edge - 1, poster.Width - edge, poster.Width - 1}
		if y >= inner && y < poster.Height-inner {
			xs = append(xs, inner, 80, poster.Width-81, poster.Width-inner-1)
		}
		for _, x := range xs {
			if dark(img, x, y) {
				t.Fatalf("ink at (%d,%d), in the margin", x, y)
			}
		}
	}
	if !bytes.Contains(data[:64], []byte("pHYs")) {
		t.Error("no pHYs chunk: printers would guess the size")
	}
	return img
}

func dark(img image.Image, x, y int) bool {
	r, g, b, _ := img.At(x, y).RGBA()
	return (r+g+b)/3 < 0x8000
}

func save(t *testing.T, name string, data []byte) {
	t.Helper()
	if *outDir == "" {
		return
	}
	if err := os.MkdirAll(*outDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(*outDir, name+".png"), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestPosterEveryHamlet renders the poster of every hamlet in the content
// seed and reads its QR code back.
func TestPosterEveryHamlet(t *testing.T) {
	fonts := loadFonts(t)
	hamlets, communes := seedHamlets(t)
	for _, h := range hamlets {
		t.Run(h.ID, func(t *testing.T) {
			t.Parallel()
			c, ok := communes[h.ParentID]
			if !ok {
				t.Fatalf("hamlet %s: no commune %q", h.ID, h.ParentID)
			}
			link, err := poster.StartLink("hangxom_bot", h.ID)
			if err != nil {
				t.Fatal(err)
			}
			data, err := poster.Render(poster.Poster{HamletName: h.Name, CommuneName: c.Name, Link: link, Instruction: instruction}, fonts)
			if err != nil {
				t.Fatal(err)
			}
			save(t, h.ID, data)
			checkPage(t, data, link)
		})
	}
}

// TestPosterFontCoversSeedNames checks every character of every area name
// and alias has a glyph, so no name prints as empty boxes.
func TestPosterFontCoversSeedNames(t *testing.T) {
	fonts := loadFonts(t)
	areas := seedAreas(t)
	texts := []string{instruction}
	for _, a := range areas {
		texts = append(texts, a.Name)
		texts = append(texts, a.Aliases...)
	}
	for _, s := range texts {
		if m := fonts.Missing(s); len(m) > 0 {
			t.Errorf("Missing(%q) = %q, want none", s, string(m))
		}
	}
}

func TestPosterMissing(t *testing.T) {
	fonts := loadFonts(t)
	for _, tc := range []struct {
		name, text string
		want       []rune
	}{
		{"vietnamese letters", "ơ ư ạ ế ằ ỹ Đ", nil},
		{"every vietnamese vowel", "aàáảãạăằắẳẵặâầấẩẫậeèéẻẽẹêềếểễệiìíỉĩịoòóỏõọôồốổỗộơờớởỡợuùúủũụưừứửữựyỳýỷỹỵđ" +
			"AÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬEÈÉẺẼẸÊỀẾỂỄỆIÌÍỈĨỊOÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢUÙÚỦŨỤƯỪỨỬỮỰYỲÝỶỸỴĐ", nil},
		{"decomposed marks compose", norm.NFD.String("Đình Cả Thượng Nung"), nil},
		{"an emoji DejaVu lacks", "Xóm 🥭 ơ", []rune{'🥭'}},
		{"each missing once, in order", "🥭a🦬🥭", []rune{'🥭', '🦬'}},
		{"white space is not drawn", "a\tb\n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, fonts.Missing(tc.text)); diff != "" {
				t.Errorf("Missing(%q) (-want +got):\n%s", tc.text, diff)
			}
		})
	}
}

func TestPosterRenderRefusesMissingGlyph(t *testing.T) {
	fonts := loadFonts(t)
	_, err := poster.Render(poster.Poster{HamletName: "Xóm Xoài 🥭", CommuneName: "Xã Võ Nhai", Link: "https://t.me/hangxom_bot?start=h_x", Instruction: instruction}, fonts)
	if err == nil {
		t.Fatal("rendered a name with a character the font lacks")
	}
	for _, want := range []string{"hamlet name", "🥭", "U+1F96D"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
}

// TestPosterDecomposedInput renders text typed with combining marks exactly
// like the same text precomposed.
func TestPosterDecomposedInput(t *testing.T) {
	fonts := loadFonts(t)
	p := poster.Poster{HamletName: "Tổ dân phố 1 (Đình Cả)", CommuneName: "Xã Võ Nhai",
		Link: "https://t.me/hangxom_bot?start=h_vo-nhai-tdp-1-dinh-ca", Instruction: instruction}
	want, err := poster.Render(p, fonts)
	if err != nil {
		t.Fatal(err)
	}
	d := poster.Poster{HamletName: norm.NFD.String(p.HamletName), CommuneName: norm.NFD.String(p.CommuneName),
		Link: p.Link, Instruction: norm.NFD.String(p.Instruction)}
	if d.HamletName == p.HamletName {
		t.Fatal("NFD did not change the name: the test tests nothing")
	}
	got, err := poster.Render(d, fonts)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("decomposed input renders differently from precomposed")
	}
}

// TestPosterLongText shrinks and wraps long names, a long instruction and a
// long link inside the margins, and the code still reads.
func TestPosterLongText(t *testing.T) {
	fonts := loadFonts(t)
	link, err := poster.StartLink("a_rather_long_village_helper_bot", "nghinh-tuong-xom-khuoi-nang-tren-va-duoi-2025")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		p    poster.Poster
	}{
		{"long hamlet name", poster.Poster{
			HamletName:  "Xóm Khuổi Nặng Trên và Khuổi Nặng Dưới sáp nhập năm 2025 (Nghinh Tường cũ)",
			CommuneName: "Xã Nghinh Tường", Link: link, Instruction: instruction}},
		{"one very long word", poster.Poster{
			HamletName:  "Xómmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm",
			CommuneName: "Xã Nghinh Tường", Link: link, Instruction: instruction}},
		{"long commune and instruction", poster.Poster{
			HamletName:  "Xóm Mỏ Gà",
			CommuneName: "Xã Nghinh Tường, tỉnh Thái Nguyên (trước đây thuộc huyện Võ Nhai)",
			Link:        link,
			Instruction: instruction + ", đăng ký tài khoản định danh điện tử, mở ví điện tử và nhận tin nhắn nhắc lịch của tổ công nghệ số cộng đồng"}},
		{"short", poster.Poster{HamletName: "Na", CommuneName: "", Link: link, Instruction: ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, err := poster.Render(tc.p, fonts)
			if err != nil {
				t.Fatal(err)
			}
			save(t, "long-"+strings.ReplaceAll(tc.name, " ", "-"), data)
			checkPage(t, data, link)
		})
	}
}

func TestPosterRenderNeedsNameAndLink(t *testing.T) {
	fonts := loadFonts(t)
	for _, p := range []poster.Poster{
		{HamletName: " ", Link: "https://t.me/hangxom_bot?start=h_x"},
		{HamletName: "Xóm Na", Link: ""},
	} {
		if _, err := poster.Render(p, fonts); err == nil {
			t.Errorf("Render(%+v) = nil error", p)
		}
	}
	if _, err := poster.Render(poster.Poster{HamletName: "Xóm Na", Link: "x"}, poster.Fonts{}); err == nil {
		t.Error("rendered without fonts")
	}
}

func TestPosterFontsAreEmbedded(t *testing.T) {
	f := loadFonts(t)
	if f.Regular == nil || f.Bold == nil {
		t.Fatalf("DejaVuSans = %+v, want both faces", f)
	}
	var buf sfnt.Buffer
	for _, face := range []struct {
		font *opentype.Font
		want string
	}{{f.Regular, "DejaVu Sans"}, {f.Bold, "DejaVu Sans Bold"}} {
		name, err := face.font.Name(&buf, sfnt.NameIDFull)
		if err != nil || name != face.want {
			t.Errorf("font name = %q (%v), want %q", name, err, face.want)
		}
	}
}

func TestPosterStartLink(t *testing.T) {
	for _, tc := range []struct {
		bot, id, want string
		ok            bool
	}{
		{"hangxom_bot", "vo-nhai-tdp-1-dinh-ca", "https://t.me/hangxom_bot?start=h_vo-nhai-tdp-1-dinh-ca", true},
		{"@hangxom_bot", "x", "https://t.me/hangxom_bot?start=h_x", true},
		{"hangxom_bot", strings.Repeat("a", 62), "https://t.me/hangxom_bot?start=h_" + strings.Repeat("a", 62), true},
		{"hangxom_bot", strings.Repeat("a", 63), "", false},
		{"hangxom_bot", "xóm-1", "", false},
		{"hangxom_bot", "a b", "", false},
		{"hangxom_bot", "", "", false},
		{"hx", "x", "", false},
		{"hangxom bot", "x", "", false},
	} {
		t.Run(tc.bot+"/"+tc.id, func(t *testing.T) {
			got, err := poster.StartLink(tc.bot, tc.id)
			if (err == nil) != tc.ok || got != tc.want {
				t.Errorf("StartLink(%q, %q) = %q, %v; want %q, ok %v", tc.bot, tc.id, got, err, tc.want, tc.ok)
			}
		})
	}
}

func TestPosterZaloLink(t *testing.T) {
	for _, tc := range []struct {
		oa, want string
	}{
		{"5791", "https://zalo.me/5791"},
		{" 1234567890123456789 ", "https://zalo.me/1234567890123456789"},
		{"", ""}, {"abc", ""}, {"57 91", ""}, {"zalo.me/5791", ""},
	} {
		t.Run(tc.oa, func(t *testing.T) {
			got, err := poster.ZaloLink(tc.oa)
			if (err == nil) != (tc.want != "") || got != tc.want {
				t.Errorf("ZaloLink(%q) = %q, %v; want %q", tc.oa, got, err, tc.want)
			}
		})
	}
}

// lastLineHeight is the height of the lowest line of ink inside the
// border line: the rows with ink up from the lowest to the first blank one.
func lastLineHeight(img image.Image) int {
	inked := func(y int) bool {
		for x := 60; x < poster.Width-60; x++ {
			if dark(img, x, y) {
				return true
			}
		}
		return false
	}
	y := poster.Height - 60
	for y > 60 && !inked(y) {
		y--
	}
	bottom := y
	for y > 60 && inked(y) {
		y--
	}
	return bottom - y
}

// TestPosterZalo: a Zalo poster's QR code opens the Official Account, and
// the code to send is printed large under its link.
func TestPosterZalo(t *testing.T) {
	fonts := loadFonts(t)
	const link = "https://zalo.me/1234567890123456789"
	p := poster.Poster{HamletName: "Tổ dân phố 1 (Đình Cả)", CommuneName: "Xã Võ Nhai", Link: link,
		Instruction: "Mời bác quét mã bằng Zalo, bấm «Quan tâm», rồi gửi mã XAK7 để được hướng dẫn từng bước dùng dịch vụ số"}
	without, err := poster.Render(p, fonts)
	if err != nil {
		t.Fatal(err)
	}
	p.Code = "XAK7"
	with, err := poster.Render(p, fonts)
	if err != nil {
		t.Fatal(err)
	}
	save(t, "zalo", with)
	imgWith := checkPage(t, with, link)
	imgWithout := checkPage(t, without, link)
	// The link's line is some 30 px high; the code's capitals, three
	// times that.
	if hw, ho := lastLineHeight(imgWith), lastLineHeight(imgWithout); hw < 70 || ho > 50 {
		t.Errorf("the last line is %d px high with the code, %d without: want the code large under the link", hw, ho)
	}
	p.Code = "XAK7\u0378"
	if _, err := poster.Render(p, fonts); err == nil || !strings.Contains(err.Error(), "code") {
		t.Errorf("a code the font cannot show: %v, want an error naming the code", err)
	}
}
