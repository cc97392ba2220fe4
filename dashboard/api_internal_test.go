package dashboard

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/hangxomso/hangxom/flows"
)

// Completed is Self + Team: one of the three hidden hides all three and
// the share computed from Completed; the other counts are hidden alone.
func TestAPIMasksTheCompletedGroupTogether(t *testing.T) {
	share := 60.0
	for _, tt := range []struct {
		name string
		row  flows.StatsRow
		want string
	}{
		{"team hidden", flows.StatsRow{Started: 9, Completed: 6, CompletedSelf: 4, CompletedTeam: 2, Stalled: 3, SharePct: &share},
			`{"started":9,"completed":null,"completed_self":null,"completed_team":null,"stalled":null,"help_requests":0,"share_pct":null,"masked":true}`},
		{"all shown", flows.StatsRow{Started: 9, Completed: 7, CompletedSelf: 7, CompletedTeam: 0, Stalled: 5, HelpRequests: 12, SharePct: &share},
			`{"started":9,"completed":7,"completed_self":7,"completed_team":0,"stalled":5,"help_requests":12,"share_pct":60}`},
		{"completed hidden", flows.StatsRow{Started: 4, Completed: 4, CompletedSelf: 0, CompletedTeam: 0},
			`{"started":null,"completed":null,"completed_self":null,"completed_team":null,"stalled":0,"help_requests":0,"share_pct":null,"masked":true}`},
	} {
		b, err := json.Marshal(maskStatsRow(tt.row))
		if err != nil {
			t.Fatal(err)
		}
		var all map[string]any
		_ = json.Unmarshal(b, &all)
		got := map[string]any{}
		for _, k := range []string{"started", "completed", "completed_self", "completed_team", "stalled", "help_requests", "share_pct", "masked"} {
			if v, ok := all[k]; ok {
				got[k] = v
			}
		}
		g, _ := json.Marshal(got)
		var w map[string]any
		_ = json.Unmarshal([]byte(tt.want), &w)
		wb, _ := json.Marshal(w)
		if string(g) != string(wb) {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, g, wb)
		}
	}
}

// A key's member sees what a member of its area would: a hamlet's key is
// a team member of it, any other a coordinator of its area.
func TestAPIKeyMemberByLevel(t *testing.T) {
	k := flows.APIKey{ID: "0123456789ab"}
	if m := keyMember(k, flows.Area{ID: "a-1", Level: flows.LevelHamlet}); m.Role != flows.RoleTeam || len(m.Areas) != 1 || m.Areas[0] != "a-1" {
		t.Errorf("hamlet: %+v", m)
	}
	for _, lv := range []string{flows.LevelCommune, flows.LevelProvince} {
		if m := keyMember(k, flows.Area{ID: "x", Level: lv}); m.Role != flows.RoleCoordinator || m.Areas[0] != "x" || m.Secretary {
			t.Errorf("%s: %+v", lv, m)
		}
	}
}

// A funnel's stalled and help columns add up to the stats row: one hidden
// cell hides every other non-zero one of its column; reached is cell by cell.
func TestAPIFunnelColumnsHideTheirSumsParts(t *testing.T) {
	rows := []flows.FunnelRow{{Step: "a", Reached: 9, Stalled: 6}, {Step: "b", Reached: 3, Stalled: 2}, {Step: "c", Reached: 6}}
	text := func(ps []*int64) string {
		var out []string
		for _, p := range ps {
			if p == nil {
				out = append(out, "null")
			} else {
				out = append(out, strconv.FormatInt(*p, 10))
			}
		}
		return strings.Join(out, " ")
	}
	for _, tt := range []struct {
		private, group bool
		col            func(flows.FunnelRow) int64
		want           string
	}{
		{true, true, func(x flows.FunnelRow) int64 { return x.Stalled }, "null null 0"},
		{true, false, func(x flows.FunnelRow) int64 { return x.Reached }, "9 null 6"},
		{false, true, func(x flows.FunnelRow) int64 { return x.Stalled }, "6 2 0"},
	} {
		if got := text(funnelColumn(rows, tt.private, tt.group, tt.col)); got != tt.want {
			t.Errorf("private %v group %v: %s, want %s", tt.private, tt.group, got, tt.want)
		}
	}
}
