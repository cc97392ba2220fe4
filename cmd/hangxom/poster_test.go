package main

import (
	"bytes"
	"image"
	"image/png"
	"io"
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

// TestZaloPosterCommand: `hangxom poster --channel zalo` prints the
// Official Account's QR code and the hamlet's code, and says so.
func TestZaloPosterCommand(t *testing.T) {
	const hamlet = "vo-nhai-tdp-1-dinh-ca"
	code := flows.HamletCodeCandidates(hamlet, 1)[0] // the seed's hamlets take their first
	zaloEnv := env("ZALO_APP_ID", "4321", "ZALO_APP_SECRET", "s", "ZALO_OA_ID", "5791")
	for _, tc := range []struct {
		name   string
		getenv func(string) string
		args   []string
		link   string
	}{
		{"--oa-id", env(), []string{"--oa-id", "1234567890123456789"}, "https://zalo.me/1234567890123456789"},
		{"ZALO_OA_ID", zaloEnv, nil, "https://zalo.me/5791"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "zalo.png")
			args := append([]string{"--hamlet", hamlet, "--channel", "zalo", "--out", out}, tc.args...)
			stdout, stderr, exit := posterRun(t, tc.getenv, args...)
			if exit != 0 {
				t.Fatalf("exit %d, stderr:\n%s", exit, stderr)
			}
			if lines := strings.Split(stdout, "\n"); lines[0] != tc.link || !strings.Contains(stdout, "code "+code) {
				t.Errorf("stdout does not give the link %s and the code %s:\n%s", tc.link, code, stdout)
			}
			data, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			bmp, err := gozxing.NewBinaryBitmapFromImage(img)
			if err != nil {
				t.Fatal(err)
			}
			res, err := qrcode.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true})
			if err != nil || res.GetText() != tc.link {
				t.Errorf("QR code reads %v (%v), want %s", res, err, tc.link)
			}
		})
	}
	if got := zaloPosterInstruction("XAK7"); !strings.Contains(got, "Quan tâm") || !strings.Contains(got, "gửi mã XAK7") {
		t.Errorf("instruction %q", got)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--channel", "zalo"}, "--oa-id"},
		{[]string{"--channel", "zalo", "--oa-id", "zalo.me/5791"}, "--oa-id"},
		{[]string{"--channel", "viber"}, "--channel"},
	} {
		out := filepath.Join(t.TempDir(), "zalo.png")
		_, stderr, exit := posterRun(t, env(), append([]string{"--hamlet", hamlet, "--out", out}, tc.args...)...)
		if exit != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %s", tc.args, exit, stderr)
		}
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

// TestRenderPosterByChannel: /poster gives a Zalo team member the Zalo
// poster, a Telegram one the Telegram poster, and the Zalo poster is
// unavailable without ZALO_OA_ID.
func TestRenderPosterByChannel(t *testing.T) {
	h := flows.Area{ID: "vo-nhai-tdp-1-dinh-ca", Level: flows.LevelHamlet, Name: "Tổ dân phố 1 (Đình Cả)", Code: "XAK7"}
	c := flows.Area{ID: "vo-nhai", Level: flows.LevelCommune, Name: "Xã Võ Nhai"}
	a := &app{cfg: config{ZaloOAID: "5791"}, channel: channel{username: "hangxom_bot"}, logger: newLogger(config{LogLevel: "error"}, io.Discard)}
	for _, tc := range []struct {
		channel, name, link string
	}{
		{"zl", "poster-zalo-vo-nhai-tdp-1-dinh-ca.png", "https://zalo.me/5791"},
		{"tg", "poster-vo-nhai-tdp-1-dinh-ca.png", "https://t.me/hangxom_bot?start=h_vo-nhai-tdp-1-dinh-ca"},
	} {
		doc, link, err := a.renderPoster(t.Context(), tc.channel, h, c)
		if err != nil || doc.Name != tc.name || link != tc.link {
			t.Fatalf("%s: %s, %s, %v; want %s, %s", tc.channel, doc.Name, link, err, tc.name, tc.link)
		}
		img, err := png.Decode(bytes.NewReader(doc.Data))
		if err != nil {
			t.Fatal(err)
		}
		bmp, _ := gozxing.NewBinaryBitmapFromImage(img)
		res, err := qrcode.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true})
		if err != nil || res.GetText() != tc.link {
			t.Errorf("%s: QR code reads %v (%v), want %s", tc.channel, res, err, tc.link)
		}
	}
	a.cfg.ZaloOAID = ""
	if _, _, err := a.renderPoster(t.Context(), "zl", h, c); err == nil {
		t.Error("a Zalo poster without ZALO_OA_ID")
	}
}
