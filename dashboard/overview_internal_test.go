package dashboard

import (
	"net/url"
	"testing"

	"github.com/hangxomso/hangxom/dashboard/chart"
	"github.com/hangxomso/hangxom/flows"
)

type idLoc struct{}

func (idLoc) Localize(_, id string, _ map[string]any) (string, error) { return id, nil }

// TestCompletedSelfAndTeamAreMaskedTogether: Completed = Self + Team, so a
// masked one of the three must not be computable from the other two.
func TestCompletedSelfAndTeamAreMaskedTogether(t *testing.T) {
	// The table writes flows' mask and the chart its own: one text.
	if chart.MaskText != flows.MaskText {
		t.Fatalf("chart.MaskText %q, flows.MaskText %q", chart.MaskText, flows.MaskText)
	}
	charts, err := chart.New()
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse("http://127.0.0.1/d/")
	s := &Server{Loc: idLoc{}, Charts: charts, BaseURL: u}
	f := &flows.Flow{ID: "other", Title: "other.title"}
	for _, tt := range []struct {
		tot                   flows.StatsTotal
		completed, self, team string
	}{
		{flows.StatsTotal{Started: 9, Completed: 8, CompletedSelf: 3, CompletedTeam: 5}, "—", "&lt;5", "—"},
		{flows.StatsTotal{Started: 9, Completed: 8, CompletedSelf: 6, CompletedTeam: 2}, "—", "—", "&lt;5"},
		{flows.StatsTotal{Started: 9, Completed: 3, CompletedSelf: 0, CompletedTeam: 3}, "&lt;5", "—", "&lt;5"},
		{flows.StatsTotal{Started: 9, Completed: 11, CompletedSelf: 5, CompletedTeam: 6}, "11", "5", "6"},
	} {
		sums := map[string][]*total{"a-1": {{id: "a-1", name: "Xóm 1", t: tt.tot, masked: true}}}
		fv, err := s.flowView("vi", 0, f, []string{"a-1"}, sums, "2026-01", "2026-11", "2026-01", "2026-11")
		if err != nil {
			t.Fatal(err)
		}
		r := fv.Rows[0]
		// The template escapes "<"; compare with what it writes.
		esc := func(x string) string {
			if x == chart.MaskText {
				return "&lt;5"
			}
			return x
		}
		if got := [3]string{esc(r.Completed), esc(r.Self), esc(r.Team)}; got != [3]string{tt.completed, tt.self, tt.team} {
			t.Errorf("%+v: completed, self, team = %v, want %s %s %s", tt.tot, got, tt.completed, tt.self, tt.team)
		}
	}
}
