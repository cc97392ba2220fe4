package flows

import (
	"encoding/json"
	"testing"
	"time"
)

// The shared JSON row writes exactly what a StatsRow marshals to, so
// `hangxom stats --format json` is byte for byte what it was, and the API
// only adds keys (masked, from, to) when it masks.
func TestStatsJSONRowIsTheStatsRowsJSON(t *testing.T) {
	hh, share := 40, 12.5
	r := StatsRow{CommuneID: "xa-a", Commune: "Xã A", HamletID: "a-1", Hamlet: "Xóm 1", Flow: "demo", Started: 7,
		Completed: 5, CompletedSelf: 3, CompletedTeam: 2, Stalled: 1, HelpRequests: 4, Households: &hh, SharePct: &share}
	want, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.Marshal(r.JSON())
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("StatsRow.JSON() writes\n%s\nwant\n%s", got, want)
	}
	doc, err := json.Marshal(NewStatsJSON(nil, time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)))
	if err != nil {
		t.Fatal(err)
	}
	if string(doc) != `{"generated_at":"2026-11-20T09:00:00Z","rows":[]}` {
		t.Errorf("no rows: %s", doc)
	}
}
