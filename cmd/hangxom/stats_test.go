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

// TestStatsShowDVCOnlineCompletedByAResident: a resident who walks the
// dvc-online guide to its end (the golden main transcript) is counted in
// `hangxom stats` like in any other guide: a row per hamlet, one started and
// one completed on their own in their hamlet, and a line in the table.
func TestStatsShowDVCOnlineCompletedByAResident(t *testing.T) {
	p := newProgram(t)
	script, err := os.ReadFile("testdata/transcripts/dvc-online_vi_main.txt")
	if err != nil {
		t.Fatal(err)
	}
	if _, stderr, err := p.run(inputsOf(string(script)), "chat", "--user", "lan"); err != nil {
		t.Fatalf("chat: %v\n%s", err, stderr)
	}
	s := p.stats()
	r := row(t, s, tdp1, "dvc-online")
	if r.Started != 1 || r.Completed != 1 || r.CompletedSelf != 1 || r.CompletedTeam != 0 || r.Stalled != 0 {
		t.Errorf("row = %+v, want one resident started and completed on their own", r)
	}
	if other := row(t, s, "sang-moc-chua-xep", "dvc-online"); other.Started != 0 || other.Completed != 0 {
		t.Errorf("another hamlet's row = %+v, want zeros", other)
	}
	out, stderr, err := p.run("", "stats")
	if err != nil {
		t.Fatalf("stats: %v\n%s", err, stderr)
	}
	var line string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "Tổ dân phố 1 (Đình Cả)") && strings.Contains(l, "dvc-online") {
			line = l
		}
	}
	if line == "" {
		t.Fatalf("`hangxom stats` has no dvc-online line for TDP 1:\n%s", out)
	}
	// After the flow id: STARTED, COMPLETED, SELF, TEAM, STALLED, HELP.
	_, after, _ := strings.Cut(line, "dvc-online")
	if f := strings.Fields(after); len(f) < 6 || !slices.Equal(f[:6], []string{"1", "1", "1", "0", "0", "0"}) {
		t.Errorf("dvc-online line = %q, want started 1, completed 1, self 1, team 0, stalled 0, help 0", line)
	}
}
