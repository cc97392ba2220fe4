package desk_test

import (
	"slices"
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
	w.askPerson("tg:20")
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

// Right after the sweep retires a resident (time just past the retention,
// so keys with a TTL have not run out), Redis names them only where it may:
// by pseudonym, in the hamlet's anonymous tallies. Their id, name, phone
// number and note are gone, as is the mapping from the pseudonym back.
func TestRightAfterRetirementOnlyTheHamletTalliesKeepThePseudonym(t *testing.T) {
	w := newStaffWorld(t)
	ctx := t.Context()
	joinHoa(t, w)
	w.begin("tg:20", "Lan", "a-1", "demo")
	w.askPerson("tg:20")
	w.send("tg:20", flows.Input{Kind: flows.InputContact, Text: "0912345678"})
	rs := w.outboxOf("tg:5")
	if len(rs) == 0 || len(rs[len(rs)-1].Buttons) == 0 {
		t.Fatalf("Hoa was not asked to help: %+v", rs)
	}
	claim := rs[len(rs)-1].Buttons[0].Data
	flowstest.OutboxTexts(t, w.st, "tg:5")
	w.send("tg:5", flows.Input{Kind: flows.InputChoice, Data: claim})
	if rs = w.outboxOf("tg:20"); len(rs) == 0 || len(rs[0].Buttons) == 0 {
		t.Fatalf("Lan was not offered to write where she lives: %+v", rs)
	}
	note := rs[0].Buttons[0].Data
	flowstest.OutboxTexts(t, w.st, "tg:20")
	w.send("tg:20", flows.Input{Kind: flows.InputChoice, Data: note})
	w.send("tg:20", flows.Input{Kind: flows.InputText, Text: "Nhà cạnh trạm y tế"})
	for _, who := range []string{"tg:1", "tg:5", "tg:20"} {
		flowstest.OutboxTexts(t, w.st, who)
	}
	pseud := w.st.Pseudonym("tg:20")

	const retention = time.Hour
	w.now = w.now.Add(retention + time.Minute)
	w.mini.FastForward(retention + time.Minute)
	rep, err := w.st.Sweep(ctx, w.now, store.SweepOptions{Retention: retention, Retire: w.svc.Retire})
	if err != nil || rep.Retired != 1 {
		t.Fatalf("sweep: %+v, %v; want Lan retired", rep, err)
	}

	// The keys that may still hold Lan's pseudonym, and why.
	mayKeep := []struct{ key, why string }{
		{":{h:a-1}:started:", "the hamlet's tally of residents who started a flow"},
		{":{h:a-1}:done:", "… who finished one"},
		{":{h:a-1}:open:", "… who are in one (the sweep's expiry drops them)"},
		{":{h:a-1}:residents", "… filed under the hamlet"},
		{":{h:a-1}:completions", "the hamlet's stream of finished flows"},
		{":{h:a-1}:helps", "the hamlet's stream of help requests"},
		{":{h:a-1}:dedupe:" + pseud + ":", "an applied effect's marker, DedupeTTL"},
		{":{h:a-1}:seen:", "the funnel's record of the steps she reached this month, gone after the next"},
	}
	tallies := 0
	for _, key := range w.mini.Keys() {
		v := key + "\n" + redisValue(t, w.mini, key)
		switch {
		case strings.Contains(key, ":{r:tg:20}:upd:") && w.mini.TTL(key) > 0 && w.mini.TTL(key) <= store.ProcessedTTL:
			// Her update ids, "1" each: kept ProcessedTTL (48 h) against
			// Telegram's redelivery, gone by themselves long before any
			// retention a deployment sets ends.
			continue
		}
		for _, what := range []string{"tg:20", "Lan", "0912345678", "trạm y tế"} {
			if strings.Contains(v, what) {
				t.Errorf("%q is still in Redis right after the sweep: %s", what, v)
			}
		}
		if !strings.Contains(v, pseud) {
			continue
		}
		tallies++
		if !slices.ContainsFunc(mayKeep, func(k struct{ key, why string }) bool { return strings.Contains(key, k.key) }) {
			t.Errorf("Lan's pseudonym is in a key that should not keep it: %s", v)
		}
	}
	if tallies == 0 {
		t.Error("no key holds Lan's pseudonym: the hamlet's tallies lost her")
	}
}
