package main

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"

	"github.com/hangxomso/hangxom/bot/telegram/telegramtest"
)

// TestExportsWriteNoFormula: a coordinator names a hamlet like a formula
// with /addhamlet; `hangxom stats --format csv` and another coordinator's
// /export on Telegram both show the name as text (a leading quote), never
// as a live formula.
func TestExportsWriteNoFormula(t *testing.T) {
	const name = `=HYPERLINK("http://evil.example/x","Xom")`
	p := newProgram(t)
	var out, errb bytes.Buffer
	err := runWith(t.Context(), []string{"chat", "--user", "co"}, env("COORDINATOR_IDS", "console:co"),
		strings.NewReader("/addhamlet "+name+"\nXã Võ Nhai\n"), &out, &errb, appOptions{clock: p.clock, client: p.client, prefix: "test"})
	if err != nil || !strings.Contains(out.String(), "Đã thêm «"+name+"»") {
		t.Fatalf("/addhamlet: %v\n%s%s", err, out.String(), errb.String())
	}

	hamletCells := func(t *testing.T, data []byte) []string {
		t.Helper()
		recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\ufeff")))).ReadAll()
		if err != nil || len(recs) < 2 || recs[0][3] != "hamlet" {
			t.Fatalf("not the stats CSV (%v):\n%s", err, data)
		}
		var names []string
		for _, r := range recs[1:] {
			if strings.Contains(r[3], "HYPERLINK") {
				names = append(names, r[3])
			}
		}
		return names
	}
	check := func(t *testing.T, names []string) {
		t.Helper()
		if len(names) == 0 {
			t.Fatal("the hamlet is not in the CSV")
		}
		for _, n := range names {
			if n != "'"+name {
				t.Errorf("hamlet cell %q, want %q", n, "'"+name)
			}
		}
	}

	t.Run("stats", func(t *testing.T) {
		csvOut, stderr, err := p.run("", "stats", "--format", "csv")
		if err != nil {
			t.Fatalf("stats: %v\n%s", err, stderr)
		}
		check(t, hamletCells(t, []byte(csvOut)))
	})

	t.Run("export", func(t *testing.T) {
		tt := startServe(t, false, nil, p.client, "test", "COORDINATOR_IDS", "tg:555001")
		tt.fake.PushText(tt.chat, "/export")
		var m telegramtest.Message
		tt.waitFor(func() bool {
			for _, m = range tt.fake.Messages(tt.chat) {
				if m.Document != "" {
					return true
				}
			}
			return false
		}, "the CSV document")
		data, ok := tt.fake.File(m.FileID)
		if !ok || !strings.HasSuffix(m.Document, ".csv") || !strings.Contains(m.Caption, "Bảng số liệu") {
			t.Fatalf("no CSV document in %+v", m)
		}
		check(t, hamletCells(t, data))
	})
}
