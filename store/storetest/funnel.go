package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/store"
)

// funnelFlow is the guide of the funnel tests: three steps and an end, in
// file order, and a step taken out of it.
var funnelFlow = &flows.Flow{ID: "ewallet", Start: "a", Retired: []string{"old"},
	Steps: []flows.Step{{ID: "a"}, {ID: "b"}, {ID: "c"}, {ID: "end", Type: flows.StepEnd}}}

// commitMarks commits a turn with marks (and effects, applied after it) for
// a resident under its lock, as the service does, and returns the commit's
// error.
func commitMarks(t *testing.T, s *store.Redis, resident, updateID string, marks []flows.Mark, effects ...flows.Effect) error {
	t.Helper()
	ctx := t.Context()
	unlock, err := s.Lock(ctx, resident)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	sess, err := s.Session(ctx, resident)
	if err != nil {
		t.Fatal(err)
	}
	next := sess
	next.Seen = t0
	next.Token = flows.NewToken()
	err = s.Commit(ctx, flows.Commit{Resident: resident, Expect: sess.Version, ExpectToken: sess.Token, Session: next,
		UpdateID: updateID, Effects: effects, Marks: marks})
	if err != nil {
		return err
	}
	if err := s.ApplyEffects(ctx, resident); err != nil {
		t.Fatal(err)
	}
	return nil
}

// marks are the marks of steps of funnelFlow in hamlet at one time; "end"
// is the end step.
func marks(hamlet string, at time.Time, steps ...string) []flows.Mark {
	var ms []flows.Mark
	for _, st := range steps {
		ms = append(ms, flows.Mark{Flow: funnelFlow.ID, Step: st, Hamlet: hamlet, At: at, End: st == "end"})
	}
	return ms
}

func funnel(t *testing.T, s *store.Redis, hamlet string, stalledBefore time.Time, months ...string) []flows.FunnelRow {
	t.Helper()
	rows, err := s.Funnel(t.Context(), hamlet, funnelFlow, months, stalledBefore)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// rowsOf builds the rows of funnelFlow's live steps from reached, stalled
// and help per step, then the rows given after them.
func rowsOf(reached, stalled, help [4]int64, more ...flows.FunnelRow) []flows.FunnelRow {
	var rows []flows.FunnelRow
	for i, st := range []string{"a", "b", "c", "end"} {
		rows = append(rows, flows.FunnelRow{Step: st, Reached: reached[i], Stalled: stalled[i], Help: help[i]})
	}
	return append(rows, more...)
}

// testFunnelOncePerMonth: a resident is counted once per step and month,
// however often the step is shown, and the same commit sent again or a
// refused one counts nothing.
func testFunnelOncePerMonth(t *testing.T, s *store.Redis) {
	h := "h-funnel"
	a, b := residentID(), residentID()
	if err := commitMarks(t, s, a, "tg:1", marks(h, t0, "a", "b")); err != nil {
		t.Fatal(err)
	}
	// Back to a, on to b and c: only c is new.
	if err := commitMarks(t, s, a, "tg:2", marks(h, t0.Add(time.Minute), "a")); err != nil {
		t.Fatal(err)
	}
	if err := commitMarks(t, s, a, "tg:3", marks(h, t0.Add(2*time.Minute), "b", "c")); err != nil {
		t.Fatal(err)
	}
	// The update of tg:3 again (a platform's redelivery) on a replica's
	// kept session, without the lock: refused, no count.
	sess, err := s.Session(t.Context(), a)
	if err != nil {
		t.Fatal(err)
	}
	next := sess
	next.Token = flows.NewToken()
	_, err = s.CommitUnlocked(t.Context(), flows.Commit{Resident: a, Expect: sess.Version, ExpectToken: sess.Token, Session: next,
		UpdateID: "tg:3", Marks: marks(h, t0.Add(2*time.Minute), "end")})
	if !errors.Is(err, flows.ErrDuplicate) {
		t.Fatalf("commit of a processed update: %v, want ErrDuplicate", err)
	}
	// A stale commit (the session moved on): refused, no count.
	err = s.Commit(t.Context(), flows.Commit{Resident: a, Expect: 0, Session: flows.Session{Token: flows.NewToken()},
		UpdateID: "tg:4", Marks: marks(h, t0, "end")})
	if !errors.Is(err, flows.ErrStale) {
		t.Fatalf("stale commit: %v, want ErrStale", err)
	}
	if err := commitMarks(t, s, b, "tg:5", marks(h, t0, "a")); err != nil {
		t.Fatal(err)
	}
	diff(t, "April", rowsOf([4]int64{2, 1, 1, 0}, [4]int64{}, [4]int64{}), funnel(t, s, h, t0.Add(-time.Hour), "2026-04"))
	// Another hamlet and another month are apart.
	diff(t, "May", rowsOf([4]int64{}, [4]int64{}, [4]int64{}), funnel(t, s, h, t0.Add(-time.Hour), "2026-05"))
	diff(t, "another hamlet", rowsOf([4]int64{}, [4]int64{}, [4]int64{}), funnel(t, s, "h-other", t0.Add(-time.Hour), "2026-04"))
}

// testFunnelMonths: months are the bot's (t0 is already April in ICT), and a
// resident reaching a step in two months counts in each.
func testFunnelMonths(t *testing.T, s *store.Redis) {
	h := "h-funnel-months"
	march := time.Date(2026, 3, 31, 10, 0, 0, 0, time.UTC) // 17:00 ICT
	a := residentID()
	if err := commitMarks(t, s, a, "tg:1", marks(h, march, "a", "b")); err != nil {
		t.Fatal(err)
	}
	if err := commitMarks(t, s, a, "tg:2", marks(h, t0, "a")); err != nil { // 03:00 ICT, April 1st
		t.Fatal(err)
	}
	before := t0.Add(-48 * time.Hour)
	diff(t, "March", rowsOf([4]int64{1, 1, 0, 0}, [4]int64{}, [4]int64{}), funnel(t, s, h, before, "2026-03"))
	diff(t, "April", rowsOf([4]int64{1, 0, 0, 0}, [4]int64{}, [4]int64{}), funnel(t, s, h, before, "2026-04"))
	diff(t, "both", rowsOf([4]int64{2, 1, 0, 0}, [4]int64{}, [4]int64{}), funnel(t, s, h, before, "2026-03", "2026-04"))
	diff(t, "no month", rowsOf([4]int64{}, [4]int64{}, [4]int64{}), funnel(t, s, h, before))
}

// testFunnelStalledAndHelp: the stalled are counted at the step they were
// last shown, as /stats counts them (the rows add up to Counts' Stalled);
// those who finished are at no step; help requests count at their step.
func testFunnelStalledAndHelp(t *testing.T, s *store.Redis) {
	h := "h-funnel-stalled"
	hf := store.HamletFlow{Hamlet: h, Flow: funnelFlow.ID}
	ev := func(kind flows.EffectKind, step string, at time.Time) flows.Effect {
		return flows.Effect{Kind: kind, Flow: funnelFlow.ID, Step: step, Hamlet: h, At: at}
	}
	a, b, c, d := residentID(), residentID(), residentID(), residentID()
	// a stops at b and asks for help there, twice.
	if err := commitMarks(t, s, a, "tg:1", marks(h, t0, "a", "b"), ev(flows.EffectStarted, "a", t0)); err != nil {
		t.Fatal(err)
	}
	if err := commitMarks(t, s, a, "tg:2", nil, ev(flows.EffectHelp, "b", t0), ev(flows.EffectHelp, "b", t0.Add(time.Minute))); err != nil {
		t.Fatal(err)
	}
	// b finishes.
	if err := commitMarks(t, s, b, "tg:3", marks(h, t0, "a", "b"), ev(flows.EffectStarted, "a", t0)); err != nil {
		t.Fatal(err)
	}
	if err := commitMarks(t, s, b, "tg:4", marks(h, t0, "c", "end"), ev(flows.EffectCompleted, "end", t0)); err != nil {
		t.Fatal(err)
	}
	// c started before the funnel was recorded: stalled at no known step.
	if err := commitMarks(t, s, c, "tg:5", nil, ev(flows.EffectStarted, "a", t0)); err != nil {
		t.Fatal(err)
	}
	// d is at c and active later: not stalled at the cutoff.
	if err := commitMarks(t, s, d, "tg:6", marks(h, t0, "a", "b", "c"), ev(flows.EffectStarted, "a", t0.Add(2*time.Hour))); err != nil {
		t.Fatal(err)
	}
	cutoff := t0.Add(time.Hour)
	want := rowsOf([4]int64{3, 3, 2, 1}, [4]int64{0, 1, 0, 0}, [4]int64{0, 2, 0, 0}, flows.FunnelRow{Stalled: 1})
	diff(t, "funnel", want, funnel(t, s, h, cutoff, "2026-04"))
	var sum int64
	for _, r := range want {
		sum += r.Stalled
	}
	diff(t, "Counts' stalled", sum, counts(t, s, hf, cutoff, "2026-04").Stalled)
	// Help requests of another month are not this month's.
	diff(t, "May", rowsOf([4]int64{}, [4]int64{0, 1, 0, 0}, [4]int64{}, flows.FunnelRow{Stalled: 1}), funnel(t, s, h, cutoff, "2026-05"))
}

// testFunnelRetired: counts kept under a step id taken out of the guide
// stay readable under it, after the live steps; an id the guide never
// listed too.
func testFunnelRetired(t *testing.T, s *store.Redis) {
	h := "h-funnel-retired"
	a := residentID()
	if err := commitMarks(t, s, a, "tg:1", marks(h, t0, "a", "zz", "old")); err != nil {
		t.Fatal(err)
	}
	want := rowsOf([4]int64{1, 0, 0, 0}, [4]int64{}, [4]int64{},
		flows.FunnelRow{Step: "old", Retired: true, Reached: 1},
		flows.FunnelRow{Step: "zz", Retired: true, Reached: 1})
	diff(t, "funnel", want, funnel(t, s, h, t0.Add(-time.Hour), "2026-04"))
}

// testFunnelsManyHamlets: many hamlets' funnels in one read.
func testFunnelsManyHamlets(t *testing.T, s *store.Redis) {
	var hamlets []string
	for i := range 20 {
		h := "h-funnel-" + string(rune('a'+i))
		hamlets = append(hamlets, h)
		steps := []string{"a", "b", "c"}[:1+i%3]
		if err := commitMarks(t, s, residentID(), "tg:1", marks(h, t0, steps...)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Funnels(t.Context(), hamlets, funnelFlow, []string{"2026-04"}, t0.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for i, h := range hamlets {
		var r [4]int64
		for j := 0; j <= i%3; j++ {
			r[j] = 1
		}
		diff(t, h, rowsOf(r, [4]int64{}, [4]int64{}), got[h])
	}
}

// testFunnelLeft: a run left unfinished takes the resident off its step
// (Keys.FunnelAt) and counts nothing; the end step does the same.
func testFunnelLeft(t *testing.T, s *store.Redis) {
	h := "h-funnel-left"
	ctx := t.Context()
	at := s.Keys().FunnelAt(h, funnelFlow.ID)
	a, b := residentID(), residentID()
	if err := commitMarks(t, s, a, "tg:1", marks(h, t0, "a", "b")); err != nil {
		t.Fatal(err)
	}
	if err := commitMarks(t, s, b, "tg:2", marks(h, t0, "a")); err != nil {
		t.Fatal(err)
	}
	got, err := s.Client().HGetAll(ctx, at).Result()
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "at", map[string]string{s.Pseudonym(a): "b", s.Pseudonym(b): "a"}, got)
	left := marks(h, t0, "b")
	left[0].Left = true
	if err := commitMarks(t, s, a, "tg:3", left); err != nil {
		t.Fatal(err)
	}
	if err := commitMarks(t, s, b, "tg:4", marks(h, t0, "end")); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Client().Exists(ctx, at).Result(); err != nil || n != 0 {
		t.Errorf("at: %d keys, %v; want none left", n, err)
	}
	diff(t, "funnel", rowsOf([4]int64{2, 1, 0, 1}, [4]int64{}, [4]int64{}), funnel(t, s, h, t0.Add(-time.Hour), "2026-04"))
}

// testFunnelFailureKeepsTheCommit: a mark that cannot be counted (here a
// funnel key of the wrong type) is logged; the turn is committed all the
// same.
func testFunnelFailureKeepsTheCommit(t *testing.T, s *store.Redis) {
	h := "h-funnel-broken"
	ctx := t.Context()
	if err := s.Client().Set(ctx, s.Keys().Funnel(h, funnelFlow.ID, "2026-04"), "not a hash", 0).Err(); err != nil {
		t.Fatal(err)
	}
	a := residentID()
	if err := commitMarks(t, s, a, "tg:1", marks(h, t0, "a")); err != nil {
		t.Fatalf("commit with a mark that fails: %v", err)
	}
	sess, err := s.Session(ctx, a)
	if err != nil || sess.Version != 1 {
		t.Fatalf("session after the commit: version %d, %v; want 1", sess.Version, err)
	}
}

// testHamletView: a hamlet's page reads the same funnels as Funnels, each
// month's counts, and its open help requests oldest first, in two round
// trips however many flows, months and requests.
func testHamletView(t *testing.T, s *store.Redis) {
	h := "h-view"
	ev := func(kind flows.EffectKind, step string, at time.Time, via string) flows.Effect {
		return flows.Effect{Kind: kind, Flow: funnelFlow.ID, Step: step, Hamlet: h, At: at, Via: via}
	}
	a, b := residentID(), residentID()
	march := t0.AddDate(0, -1, 0)
	if err := commitMarks(t, s, a, "tg:1", marks(h, march, "a", "b"), ev(flows.EffectStarted, "a", march, "")); err != nil {
		t.Fatal(err)
	}
	if err := commitMarks(t, s, b, "tg:2", marks(h, t0, "a", "b", "c", "end"), ev(flows.EffectStarted, "a", t0, ""), ev(flows.EffectCompleted, "end", t0, "self")); err != nil {
		t.Fatal(err)
	}
	for i, at := range []time.Time{t0.Add(time.Minute), t0} {
		req := flows.HelpRequest{ID: "hv-" + string(rune('a'+i)), Hamlet: h, Flow: funnelFlow.ID, Step: "b", Resident: a, At: at, Status: flows.HelpOpen}
		if _, err := s.CreateHelp(t.Context(), req); err != nil {
			t.Fatal(err)
		}
	}
	other := &flows.Flow{ID: "qr-pay", Start: "x", Steps: []flows.Step{{ID: "x"}}}
	fs := []*flows.Flow{funnelFlow, other}
	months := []string{"2026-03", "2026-04"}
	cutoff := t0.Add(time.Hour)
	trips := &store.RoundTrips{}
	s.Client().AddHook(trips)
	v, err := s.HamletView(t.Context(), h, fs, months, cutoff)
	if err != nil {
		t.Fatal(err)
	}
	if n := trips.Total(); n > 2 {
		// A cluster pipeline of one node's keys is one round trip too.
		t.Errorf("HamletView took %d round trips (%v), want 2", n, trips.ByOp())
	}
	for _, f := range fs {
		want, err := s.Funnels(t.Context(), []string{h}, f, months, cutoff)
		if err != nil {
			t.Fatal(err)
		}
		diff(t, "funnel "+f.ID, want[h], v.Funnels[f.ID])
	}
	diff(t, "months", map[string]map[string]flows.Counts{
		"2026-03": {funnelFlow.ID: {Started: 1}},
		"2026-04": {funnelFlow.ID: {Started: 1, CompletedSelf: 1}},
	}, v.Months)
	var ids []string
	for _, o := range v.Open {
		ids = append(ids, o.ID)
	}
	diff(t, "open", []string{"hv-b", "hv-a"}, ids)
}
