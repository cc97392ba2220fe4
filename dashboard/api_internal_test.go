package dashboard

import (
	"encoding/json"
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
