package desk_test

import (
	"strings"
	"testing"
	"time"

	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/flows/flowstest"
	"github.com/hangxomso/hangxom/store"
)

// A resident silent for longer than the retention period is forgotten by
// the periodic sweep, as /forget would: session (with their name), help
// requests and pseudonym mapping. The anonymous counts stay; a resident
// who wrote since, and the team, are kept.
func TestSilentResidentsAreForgottenAfterRetention(t *testing.T) {
	w := newStaffWorld(t)
	ctx := t.Context()
	joinHoa(t, w)
	w.begin("tg:20", "Lan", "a-1", "demo")
	w.tap("tg:20", "common.btn.human")
	w.begin("tg:21", "Mai", "a-1", "other")
	w.tap("tg:21", "common.btn.done")
	for _, who := range []string{"tg:1", "tg:5", "tg:20", "tg:21"} {
		flowstest.OutboxTexts(t, w.st, who) // sent: Lan's name no longer waits in Hoa's outbox
	}
	hs, err := w.st.OpenHelps(ctx, "a-1")
	if err != nil || len(hs) != 1 {
		t.Fatalf("help requests: %+v, %v", hs, err)
	}
	before := map[string]flows.Counts{"demo": w.counts("a-1", "demo"), "other": w.counts("a-1", "other")}

	w.now = w.now.Add(200 * 24 * time.Hour)
	w.mini.FastForward(200 * 24 * time.Hour)                                // keys with a TTL expire as in Redis
	w.send("tg:21", flows.Input{Kind: flows.InputCommand, Command: "menu"}) // Mai writes again
	w.now = w.now.Add(170 * 24 * time.Hour)
	w.mini.FastForward(170 * 24 * time.Hour)
	rep, err := w.st.Sweep(ctx, w.now, store.SweepOptions{Retention: 365 * 24 * time.Hour, Retire: w.svc.Retire})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Retired != 1 {
		t.Errorf("retired %d residents, want 1 (Lan)", rep.Retired)
	}
	if s, err := w.st.Session(ctx, "tg:20"); err != nil || s.Version != 0 {
		t.Errorf("Lan's session is kept: %+v, %v", s, err)
	}
	if _, ok, err := w.st.Resident(ctx, w.st.Pseudonym("tg:20")); ok || err != nil {
		t.Errorf("Lan's pseudonym still leads to her: %v, %v", ok, err)
	}
	if _, ok, _ := w.st.Help(ctx, hs[0].ID); ok {
		t.Error("Lan's help request is kept")
	}
	if hs, _ := w.st.OpenHelps(ctx, "a-1"); len(hs) != 0 {
		t.Errorf("Lan's help request is still open: %+v", hs)
	}
	for _, key := range w.mini.Keys() {
		if v := redisValue(t, w.mini, key); strings.Contains(key+"\n"+v, "Lan") || strings.Contains(key, "tg:20") {
			t.Errorf("Lan is still in Redis: %s\n%s", key, v)
		}
	}
	for _, who := range []string{"tg:1", "tg:5", "tg:21"} {
		if s, err := w.st.Session(ctx, who); err != nil || s.Version == 0 {
			t.Errorf("%s was forgotten: %+v, %v", who, s, err)
		}
	}
	for flow, want := range before {
		got := w.counts("a-1", flow)
		got.Stalled, want.Stalled = 0, 0 // Lan's open flow left the team's lists
		if got != want {
			t.Errorf("%s counts changed: %+v, want %+v", flow, got, want)
		}
	}
	// The next run finds nobody.
	if rep, err := w.st.Sweep(ctx, w.now, store.SweepOptions{Retention: 365 * 24 * time.Hour, Retire: w.svc.Retire}); err != nil || rep.Retired != 0 {
		t.Errorf("second sweep: %+v, %v", rep, err)
	}
}
