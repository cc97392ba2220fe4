package main

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/hangxomso/hangxom/desk"
	"github.com/hangxomso/hangxom/flows"
)

func TestZaloWindowSettings(t *testing.T) {
	zalo := []string{"ZALO_APP_ID", "1", "ZALO_APP_SECRET", "s"}
	for _, tc := range []struct {
		name string
		env  []string
		want string
	}{
		{"billed neither yes nor no", append([]string{"ZALO_BILLED_MESSAGES", "maybe"}, zalo...), "ZALO_BILLED_MESSAGES"},
		{"bulk rate over Zalo's", append([]string{"SEND_RATE_BULK", "67"}, zalo...), "SEND_RATE_BULK"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			err := run(t.Context(), []string{"stats"}, env(tc.env...), strings.NewReader(""), &out, &errb)
			if code := exitCode(err, &errb); code != 2 || !strings.Contains(errb.String(), tc.want) ||
				strings.Count(strings.TrimSpace(errb.String()), "\n") != 0 {
				t.Errorf("exit %d, want 2 and one line naming %s: %q", code, tc.want, errb.String())
			}
		})
	}
	raw := map[string]string{}
	for _, s := range settings {
		raw[s.env] = s.def
	}
	raw["SEND_RATE_BULK"] = "100"
	if cfg, err := parseConfig(raw); err != nil || cfg.BulkRate != 100 || cfg.ZaloBilled {
		t.Errorf("without Zalo, 100/s: %+v, %v", cfg, err)
	}
	raw["ZALO_APP_ID"], raw["ZALO_APP_SECRET"], raw["SEND_RATE_BULK"], raw["ZALO_BILLED_MESSAGES"] = "1", "s", "66", "YES"
	if cfg, err := parseConfig(raw); err != nil || cfg.BulkRate != 66 || !cfg.ZaloBilled {
		t.Errorf("with Zalo, 66/s and billed messages: %+v, %v", cfg, err)
	}
	for _, s := range settings {
		if s.env == "SEND_RATE_BULK" && !strings.Contains(s.help, "66") {
			t.Errorf("SEND_RATE_BULK's help does not give Zalo's limit: %q", s.help)
		}
	}
}

// The desk is given Zalo's window and the billed-messages setting.
func TestTheDeskKnowsZalosWindow(t *testing.T) {
	m := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { _ = c.Close() })
	cfg := mustConfig(t)
	cfg.ZaloBilled = true
	a, err := openApp(t.Context(), cfg, appOptions{client: c, prefix: "window", clock: flows.ClockFunc(func() time.Time { return fixedNow })}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	want := []desk.Window{{Prefix: "zl:", Free: 48 * time.Hour, Open: 7 * 24 * time.Hour}}
	if d := a.desk; len(d.Windows) != 1 || d.Windows[0] != want[0] || !d.BilledMessages || d.KeptAlive == nil {
		t.Errorf("desk windows %+v, billed %v, kept alive %v", d.Windows, d.BilledMessages, d.KeptAlive)
	}
	// The keep-alive button fits a Zalo button title (20 characters):
	// longer, the screen would be numbered, and a typed number picks a
	// button of the member's current screen.
	for _, lang := range []string{"vi", "en"} {
		label, err := a.loc.Localize(lang, "staff.btn.keepalive", nil)
		if err != nil || utf8.RuneCountInString(label) > 20 {
			t.Errorf("%s keep-alive button %q (%d characters), %v", lang, label, utf8.RuneCountInString(label), err)
		}
	}
}
