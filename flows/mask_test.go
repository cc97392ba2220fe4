package flows_test

import (
	"slices"
	"testing"

	"github.com/hangxomso/hangxom/flows"
)

func TestMaskTotal(t *testing.T) {
	for _, tt := range []struct {
		name   string
		t      flows.StatsTotal
		masked bool
		want   flows.ShownTotal
	}{
		{"not masked: every number", flows.StatsTotal{Started: 3, Completed: 2, CompletedSelf: 1, CompletedTeam: 1, Stalled: 4, HelpRequests: 1}, false,
			flows.ShownTotal{Started: "3", Completed: "2", Self: "1", Team: "1", Stalled: "4", Help: "1"}},
		{"each alone", flows.StatsTotal{Started: 3, Completed: 0, Stalled: 5, HelpRequests: 4}, true,
			flows.ShownTotal{Started: "<5", Completed: "0", Self: "0", Team: "0", Stalled: "5", Help: "<5"}},
		{"a small self hides completed and team", flows.StatsTotal{Started: 9, Completed: 8, CompletedSelf: 3, CompletedTeam: 5}, true,
			flows.ShownTotal{Started: "9", Completed: "—", Self: "<5", Team: "—", Stalled: "0", Help: "0", GroupHidden: true}},
		{"a zero beside a small one is hidden", flows.StatsTotal{Started: 9, Completed: 3, CompletedSelf: 0, CompletedTeam: 3}, true,
			flows.ShownTotal{Started: "9", Completed: "<5", Self: "—", Team: "<5", Stalled: "0", Help: "0", GroupHidden: true}},
		{"five and more shown", flows.StatsTotal{Started: 12, Completed: 11, CompletedSelf: 5, CompletedTeam: 6}, true,
			flows.ShownTotal{Started: "12", Completed: "11", Self: "5", Team: "6", Stalled: "0", Help: "0"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := flows.MaskTotal(tt.t, tt.masked); got != tt.want {
				t.Errorf("MaskTotal(%+v, %v) = %+v, want %+v", tt.t, tt.masked, got, tt.want)
			}
		})
	}
}

// The CSV writes a small count "<5" and one hidden with it empty, and
// leaves out the share computed from the hidden completions.
func TestMaskedCells(t *testing.T) {
	share, target, hh := 8.0, 50.0, 100
	r := flows.StatsRow{CommuneID: "xa-a", Commune: "Xã A", HamletID: "a-1", Hamlet: "Xóm 1", Flow: "party-handbook",
		Started: 9, Completed: 8, CompletedSelf: 3, CompletedTeam: 5, Stalled: 2, HelpRequests: 7,
		Households: &hh, SharePct: &share, TargetPct: &target}
	if got, want := r.MaskedCells(false), r.Cells(); !slices.Equal(got, want) {
		t.Errorf("unmasked: %q, want Cells %q", got, want)
	}
	want := []string{"xa-a", "Xã A", "a-1", "Xóm 1", "party-handbook", "9", "", "<5", "", "<5", "7", "100", "", "", "50"}
	if got := r.MaskedCells(true); !slices.Equal(got, want) {
		t.Errorf("masked: %q, want %q", got, want)
	}
	csv := string(flows.ExportMaskedCSV([]flows.StatsRow{r}, func(flows.StatsRow) bool { return true }))
	if want := "\ufeff" + "commune_id,commune,hamlet_id,hamlet,flow,started,completed,completed_self,completed_team,stalled,help_requests,households,population,share_pct,target_pct\n" +
		"xa-a,Xã A,a-1,Xóm 1,party-handbook,9,,<5,,<5,7,100,,,50\n"; csv != want {
		t.Errorf("CSV:\n%s\nwant:\n%s", csv, want)
	}
	if got, want := flows.ExportMaskedCSV([]flows.StatsRow{r}, nil), flows.ExportCSV([]flows.StatsRow{r}); string(got) != string(want) {
		t.Errorf("nil mask: %s, want ExportCSV's %s", got, want)
	}
}
