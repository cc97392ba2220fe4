package main

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/hangxomso/hangxom/flows"
)

// posterRun runs `hangxom poster` on the embedded store with a fixed clock
// and returns what it printed and its exit status.
func posterRun(t *testing.T, getenv func(string) string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	err := runWith(t.Context(), append([]string{"poster"}, args...), getenv, nil, &out, &errb,
		appOptions{clock: flows.ClockFunc(func() time.Time { return fixedNow })})
	code = exitCode(err, &errb)
	return out.String(), errb.String(), code
}

func TestPosterCommand(t *testing.T) {
	const hamlet = "vo-nhai-tdp-1-dinh-ca"
	for _, tc := range []struct {
		name     string
		getenv   func(string) string
		args     []string
		wantLink string
	}{
		{"bot from the setting", env("TELEGRAM_BOT_USERNAME", "hangxom_bot"), nil,
			"https://t.me/hangxom_bot?start=h_" + hamlet},
		{"--bot wins over the setting", env("TELEGRAM_BOT_USERNAME", "hangxom_bot"), []string{"--bot", "@xom_test_bot"},
			"https://t.me/xom_test_bot?start=h_" + hamlet},
		{"--bot alone", env(), []string{"--bot", "xom_test_bot"},
			"https://t.me/xom_test_bot?start=h_" + hamlet},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "poster.png")
			stdout, stderr, code := posterRun(t, tc.getenv, append([]string{"--hamlet", hamlet, "--out", out}, tc.args...)...)
			if code != 0 {
				t.Fatalf("exit %d, stderr:\n%s", code, stderr)
			}
			lines := strings.Split(strings.TrimSpace(stdout), "\n")
			if lines[0] != tc.wantLink {
				t.Errorf("first line %q, want the link %q", lines[0], tc.wantLink)
			}
			if !strings.Contains(stdout, out) || !strings.Contains(stdout, "Tổ dân phố 1 (Đình Cả), Xã Võ Nhai") {
				t.Errorf("stdout does not name the file and the hamlet:\n%s", stdout)
			}
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatalf("%s is not a PNG: %v", out, err)
			}
			if got := img.Bounds(); got != image.Rect(0, 0, 1240, 1754) {
				t.Errorf("page is %v, want 1240×1754", got)
			}
			bmp, err := gozxing.NewBinaryBitmapFromImage(img)
			if err != nil {
				t.Fatal(err)
			}
			res, err := qrcode.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true})
			if err != nil {
				t.Fatalf("no QR code read: %v", err)
			}
			if res.GetText() != tc.wantLink {
				t.Errorf("QR code reads %q, want %q", res.GetText(), tc.wantLink)
			}
			// The temporary file was renamed, not left beside the poster.
			if entries, _ := os.ReadDir(dir); len(entries) != 1 {
				t.Errorf("the directory holds %d files, want only the poster", len(entries))
			}
		})
	}
}

func TestPosterCommandErrors(t *testing.T) {
	withBot := env("TELEGRAM_BOT_USERNAME", "hangxom_bot")
	for _, tc := range []struct {
		name   string
		getenv func(string) string
		args   []string
		code   int
		want   []string // in stderr
	}{
		{"unknown hamlet", withBot, []string{"--hamlet", "xom-khong-co"}, 2,
			[]string{`"xom-khong-co"`, "not a hamlet", "hangxom areas list"}},
		{"a commune is not a hamlet", withBot, []string{"--hamlet", "vo-nhai"}, 2,
			[]string{`"vo-nhai"`, "not a hamlet"}},
		{"no --hamlet", withBot, []string{}, 2, []string{"--hamlet is required"}},
		{"no --out", withBot, []string{"--hamlet", "vo-nhai-tdp-1-dinh-ca", "--out", ""}, 2, []string{"--out"}},
		{"no bot username", env(), []string{"--hamlet", "vo-nhai-tdp-1-dinh-ca"}, 2,
			[]string{"--bot", "TELEGRAM_BOT_USERNAME"}},
		{"bad bot username", env(), []string{"--hamlet", "vo-nhai-tdp-1-dinh-ca", "--bot", "no spaces"}, 2,
			[]string{"not a Telegram username"}},
		{"unknown flag", withBot, []string{"--hamlett", "x"}, 2, []string{"hamlett"}},
		{"unwritable output", withBot, []string{"--hamlet", "vo-nhai-tdp-1-dinh-ca", "--out", "/nonexistent/dir/p.png"}, 1,
			[]string{"/nonexistent/dir/p.png"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "poster.png")
			args := append([]string{"--out", out}, tc.args...)
			_, stderr, code := posterRun(t, tc.getenv, args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr does not say %q:\n%s", w, stderr)
				}
			}
			if _, err := os.Stat(out); err == nil {
				t.Error("a poster was written despite the error")
			}
		})
	}
}
