package main

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/store"
)

// TestStatsShowTeamLogsOnceAsExportWouldWriteThem: a household logged by
// the team (twice, spelt differently) is one completion via the team in
// `hangxom stats`, whose CSV is byte for byte what /export builds from the
// same rows.
func TestStatsShowTeamLogsOnceAsExportWouldWriteThem(t *testing.T) {
	p := newProgram(t)
	st := store.New(p.client, store.Options{Prefix: "test", DataKey: []byte(devDataKey)})
	for i, label := range []string{"Nhà bác Tư đầu dốc", "nha bac tu  dau doc"} {
		counted, err := st.LogTeamCompletion(t.Context(), tdp1, "ewallet", flows.HouseholdSubject(tdp1, label), fixedNow, "ewallet")
		if err != nil || counted != (i == 0) {
			t.Fatalf("log %q: counted %v, %v", label, counted, err)
		}
	}
	s := p.stats()
	r := row(t, s, tdp1, "ewallet")
	if r.Completed != 1 || r.CompletedTeam != 1 || r.CompletedSelf != 0 || r.Started != 0 {
		t.Errorf("row = %+v, want one completion via the team", r)
	}
	if r.TargetPct == nil || *r.TargetPct != 50 || r.SharePct == nil {
		t.Errorf("row lacks the commune's target or the share: %+v", r)
	}
	out, stderr, err := p.run("", "stats", "--format", "csv")
	if err != nil {
		t.Fatalf("stats: %v\n%s", err, stderr)
	}
	if want := string(flows.ExportCSV(s.Rows)); out != want {
		t.Errorf("`hangxom stats --format csv` differs from ExportCSV of its rows:\n%s\nwant:\n%s", out, want)
	}
}

// TestStatsCountShopQR: the shopkeeper's QR guide (issue 19 §5) is counted
// like the other guides: a resident who walks it to its end is one
// completion on their hamlet's shop-qr row of `hangxom stats`, in the table
// and in the JSON, and every hamlet has a shop-qr row.
func TestStatsCountShopQR(t *testing.T) {
	p := newProgram(t)
	script, err := os.ReadFile("testdata/transcripts/shop-qr_vi_main.txt")
	if err != nil {
		t.Fatal(err)
	}
	out, stderr, err := p.run(inputsOf(string(script)), "chat", "--user", "lan")
	if err != nil {
		t.Fatalf("chat: %v\n%s", err, stderr)
	}
	if !strings.Contains(out, "🎉") {
		t.Fatalf("the resident did not reach the guide's end:\n%s", out)
	}
	s := p.stats()
	r := row(t, s, tdp1, "shop-qr")
	if r.Started != 1 || r.Completed != 1 || r.CompletedSelf != 1 || r.CompletedTeam != 0 {
		t.Errorf("shop-qr row = %+v, want one resident started and completed", r)
	}
	if r.TargetPct != nil {
		t.Errorf("shop-qr has a target (%v), but no sourced figure exists for one", *r.TargetPct)
	}
	if other := row(t, s, "sang-moc-chua-xep", "shop-qr"); other.Started != 0 || other.Completed != 0 {
		t.Errorf("zero row = %+v", other)
	}
	table, stderr, err := p.run("", "stats")
	if err != nil {
		t.Fatalf("stats: %v\n%s", err, stderr)
	}
	found := false
	for _, line := range strings.Split(table, "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && strings.Contains(line, "Tổ dân phố 1") && slices.Contains(f, "shop-qr") {
			found = true
			i := slices.Index(f, "shop-qr")
			if len(f) < i+3 || f[i+1] != "1" || f[i+2] != "1" {
				t.Errorf("table row for shop-qr: %q, want started 1, completed 1", line)
			}
		}
	}
	if !found {
		t.Errorf("`hangxom stats` lists no shop-qr row for Tổ dân phố 1:\n%s", table)
	}
}
