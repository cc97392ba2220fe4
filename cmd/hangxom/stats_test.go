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

// TestStatsCountTheNewGuides: the two guides issue 19 §5 adds are counted
// like the others: a resident who walks one to its end (its golden main
// transcript) is one started and one completed on their own in their
// hamlet's row of `hangxom stats`, in the JSON and in the table, and every
// other hamlet has a row of zeros. Neither has a target: no sourced figure.
func TestStatsCountTheNewGuides(t *testing.T) {
	for _, flow := range []string{"dvc-online", "shop-qr"} {
		t.Run(flow, func(t *testing.T) {
			p := newProgram(t)
			script, err := os.ReadFile("testdata/transcripts/" + flow + "_vi_main.txt")
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
			r := row(t, s, tdp1, flow)
			if r.Started != 1 || r.Completed != 1 || r.CompletedSelf != 1 || r.CompletedTeam != 0 || r.Stalled != 0 {
				t.Errorf("row = %+v, want one resident started and completed on their own", r)
			}
			if r.TargetPct != nil {
				t.Errorf("a target (%v), but no sourced figure exists for one", *r.TargetPct)
			}
			if other := row(t, s, "sang-moc-chua-xep", flow); other.Started != 0 || other.Completed != 0 {
				t.Errorf("another hamlet's row = %+v, want zeros", other)
			}
			table, stderr, err := p.run("", "stats")
			if err != nil {
				t.Fatalf("stats: %v\n%s", err, stderr)
			}
			var line string
			for _, l := range strings.Split(table, "\n") {
				if strings.Contains(l, "Tổ dân phố 1 (Đình Cả)") && slices.Contains(strings.Fields(l), flow) {
					line = l
				}
			}
			if line == "" {
				t.Fatalf("`hangxom stats` has no %s line for TDP 1:\n%s", flow, table)
			}
			// After the flow id: STARTED, COMPLETED, SELF, TEAM, STALLED, HELP.
			_, after, _ := strings.Cut(line, " "+flow+" ")
			if f := strings.Fields(after); len(f) < 6 || !slices.Equal(f[:6], []string{"1", "1", "1", "0", "0", "0"}) {
				t.Errorf("table line = %q, want started 1, completed 1, self 1, team 0, stalled 0, help 0", line)
			}
		})
	}
}
