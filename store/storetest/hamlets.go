package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/store"
)

// testMoveCarriesStart: a resident moved with a flow under way takes its
// start from the old hamlet (in the month it was started) to the new one,
// and finishes it there (issue 19; the first of the known gaps before).
func testMoveCarriesStart(t *testing.T, s *store.Redis) {
	from := store.HamletFlow{Hamlet: "h-from", Flow: "ewallet"}
	to := store.HamletFlow{Hamlet: "h-to", Flow: "ewallet"}
	res, other := residentID(), residentID()
	started := t0                         // April in ICT
	moved := t0.Add(40 * 24 * time.Hour)  // May
	finished := moved.Add(24 * time.Hour) // May
	move := []flows.Effect{
		{Kind: flows.EffectLeft, Flow: "ewallet", Hamlet: from.Hamlet, At: moved, Reason: "move", Started: started},
		{Kind: flows.EffectStarted, Flow: "ewallet", Hamlet: to.Hamlet, At: moved, Reason: "move", Started: started},
	}
	commitApply(t, s, res, "tg:300", flows.Effect{Kind: flows.EffectStarted, Flow: "ewallet", Hamlet: from.Hamlet, At: started})
	commitApply(t, s, other, "tg:301", flows.Effect{Kind: flows.EffectStarted, Flow: "ewallet", Hamlet: from.Hamlet, At: started})
	commitApply(t, s, res, "tg:302", move...)
	// The other resident, idle since April, is the old hamlet's only one.
	diff(t, "old hamlet after the move", store.Counts{Started: 1, Stalled: 1}, counts(t, s, from, moved, "2026-04", "2026-05"))
	diff(t, "new hamlet after the move", store.Counts{Started: 1}, counts(t, s, to, moved, "2026-04", "2026-05"))
	diff(t, "new hamlet, in the month started", store.Counts{Started: 1}, counts(t, s, to, moved, "2026-04"))

	// The same move again (a redelivered update) changes nothing.
	commitApply(t, s, res, "tg:303", move...)
	diff(t, "old hamlet after the move again", store.Counts{Started: 1, Stalled: 1}, counts(t, s, from, moved, "2026-04", "2026-05"))
	diff(t, "new hamlet after the move again", store.Counts{Started: 1}, counts(t, s, to, moved, "2026-04", "2026-05"))

	commitApply(t, s, res, "tg:304", flows.Effect{Kind: flows.EffectCompleted, Flow: "ewallet", Hamlet: to.Hamlet, At: finished, Via: "self"})
	diff(t, "finished where they are", store.Counts{Started: 1, CompletedSelf: 1}, counts(t, s, to, finished, "2026-04", "2026-05"))
	diff(t, "nothing of theirs in the old hamlet", store.Counts{Started: 1, Stalled: 1}, counts(t, s, from, finished, "2026-04", "2026-05"))
}

// testMoveNeverNegative: a move whose start was never counted in the old
// hamlet (a flow moved before the start moved with it), or counted in
// another month, takes no count below zero; a resident who finished the
// flow in the old hamlet leaves their start there.
func testMoveNeverNegative(t *testing.T, s *store.Redis) {
	tests := []struct {
		name   string
		before []flows.Effect
		want   store.Counts // the old hamlet's, April and May
	}{
		{"never started here", nil, store.Counts{}},
		{"started in another month", []flows.Effect{{Kind: flows.EffectStarted, At: t0.Add(-10 * 24 * time.Hour)}}, store.Counts{}},
		{"finished here before", []flows.Effect{{Kind: flows.EffectStarted, At: t0}, {Kind: flows.EffectCompleted, At: t0, Via: "self"}},
			store.Counts{Started: 1, CompletedSelf: 1}},
	}
	for i, tt := range tests {
		hf := store.HamletFlow{Hamlet: fmt.Sprintf("h-neg-%d", i), Flow: "ewallet"}
		res := residentID()
		for j, e := range tt.before {
			e.Flow, e.Hamlet = hf.Flow, hf.Hamlet
			commitApply(t, s, res, fmt.Sprintf("tg:31%d%d", i, j), e)
		}
		left := flows.Effect{Kind: flows.EffectLeft, Flow: hf.Flow, Hamlet: hf.Hamlet, At: t0.Add(time.Hour), Reason: "move", Started: t0}
		commitApply(t, s, res, fmt.Sprintf("tg:32%d", i), left)
		got := counts(t, s, hf, t0, "2026-03", "2026-04", "2026-05")
		if tt.name == "started in another month" {
			// Counted in March, which the start's month (April) does
			// not touch: the set loses them, no count goes below 0.
			tt.want = store.Counts{Started: 1}
		}
		diff(t, tt.name, tt.want, got)
		m := s.Client().HGetAll(t.Context(), s.Keys().MonthCounts(hf.Hamlet, "2026-04")).Val()
		for f, v := range m {
			if len(v) > 0 && v[0] == '-' {
				t.Errorf("%s: %s is %s", tt.name, f, v)
			}
		}
	}
}

// testHamletRequests: typed hamlet names are kept per commune, one per
// name without diacritics or prefix, one pending per resident, bounded.
func testHamletRequests(t *testing.T, s *store.Redis) {
	ctx := t.Context()
	now := time.Now()
	ask := func(res, commune, name string, at time.Time) {
		t.Helper()
		commitApply(t, s, res, "", flows.Effect{Kind: flows.EffectAsked, Hamlet: commune + "-chua-xep", Commune: commune, Name: name, At: at})
	}
	list := func(commune string) map[string]int {
		t.Helper()
		rs, err := s.HamletRequests(ctx, commune)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int{}
		for _, r := range rs {
			out[r.Name] = r.Count
		}
		return out
	}
	a, b, c := residentID(), residentID(), residentID()
	ask(a, "xa-1", "Xóm Chùa", now.Add(-3*time.Minute))
	ask(b, "xa-1", "thon chua", now.Add(-2*time.Minute)) // the same name
	ask(b, "xa-1", "thôn chùa", now.Add(-time.Minute))   // again: counted once
	ask(c, "xa-2", "Xóm Chùa", now)                      // another commune
	diff(t, "xa-1", map[string]int{"Xóm Chùa": 2}, list("xa-1"))
	diff(t, "xa-2", map[string]int{"Xóm Chùa": 1}, list("xa-2"))

	// A resident's new name replaces theirs; a name no one asks for goes.
	ask(c, "xa-2", "Bản Mới", now)
	diff(t, "xa-2 replaced", map[string]int{"Bản Mới": 1}, list("xa-2"))
	ask(a, "xa-1", "Xóm Đá", now)
	diff(t, "xa-1 after a's new name", map[string]int{"Xóm Chùa": 1, "Xóm Đá": 1}, list("xa-1"))
	rs, err := s.HamletRequests(ctx, "xa-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || rs[0].Key != "da" || !rs[1].First.Equal(now.Add(-3*time.Minute).Truncate(time.Millisecond)) {
		t.Errorf("requests %+v: want the latest first, and the first time kept", rs)
	}

	// Dropped once its hamlet exists.
	if err := s.DropHamletRequest(ctx, "xa-1", "da"); err != nil {
		t.Fatal(err)
	}
	diff(t, "xa-1 after drop", map[string]int{"Xóm Chùa": 1}, list("xa-1"))

	// Bounded: past MaxHamletRequests a new name is not kept, unless old
	// ones are stale.
	for i := range store.MaxHamletRequests + 5 {
		at := now
		if i == 0 {
			at = now.Add(-store.HamletRequestTTL - time.Hour)
		}
		ask(residentID(), "xa-3", fmt.Sprintf("Xóm %d", i), at)
	}
	// The stale "Xóm 0" made room for "Xóm 50"; later names were refused.
	got := list("xa-3")
	_, stale := got["Xóm 0"]
	_, room := got[fmt.Sprintf("Xóm %d", store.MaxHamletRequests)]
	_, over := got[fmt.Sprintf("Xóm %d", store.MaxHamletRequests+1)]
	if len(got) != store.MaxHamletRequests || stale || !room || over {
		t.Errorf("xa-3 shows %d requests (stale one %v, the one it made room for %v, one past the bound %v), want %d, false, true, false",
			len(got), stale, room, over, store.MaxHamletRequests)
	}
	if n := s.Client().HLen(ctx, s.Keys().HamletRequests("xa-3")).Val(); n > store.MaxHamletRequests {
		t.Errorf("xa-3 keeps %d requests, more than %d", n, store.MaxHamletRequests)
	}
	ttl := s.Client().PTTL(ctx, s.Keys().HamletRequests("xa-1")).Val()
	if ttl <= 0 || ttl > store.HamletRequestTTL {
		t.Errorf("requests live %s, want at most %s", ttl, store.HamletRequestTTL)
	}
}
