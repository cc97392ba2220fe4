package main

import (
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
