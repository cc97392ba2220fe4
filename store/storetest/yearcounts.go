package storetest

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/store"
)

// The ranges reports ask that testYearCounts checks: whole years (read
// from the year keys), a year's first nine months (its year key less three
// months) and ranges across two years (a year and months).
var (
	months2025 = monthsOf(2025, 1, 12)
	months2026 = monthsOf(2026, 1, 12)
	yearRanges = map[string][]string{
		"2025":             months2025,
		"2026":             months2026,
		"2026-01..09":      monthsOf(2026, 1, 9),
		"2025-03..2026-12": append(monthsOf(2025, 3, 12), months2026...),
		"2025..2026-05":    append(append([]string{}, months2025...), monthsOf(2026, 1, 5)...),
	}
)

func monthsOf(year, from, to int) []string {
	var out []string
	for m := from; m <= to; m++ {
		out = append(out, fmt.Sprintf("%d-%02d", year, m))
	}
	return out
}

// anotherProcess returns a store on s's keys as another process would open
// it: what it does once per process (the sweep's backfill) it does again.
func anotherProcess(s *store.Redis) *store.Redis {
	return store.New(s.Client(), store.Options{Prefix: s.Keys().Prefix(), DataKey: []byte("storetest data key"), Location: ict})
}

// countsByMonth sums a pair's counts one month at a time, a read that
// never takes a year key; Stalled is left out (it is not a month's).
func countsByMonth(t *testing.T, s *store.Redis, hf store.HamletFlow, months []string) store.Counts {
	t.Helper()
	var sum store.Counts
	for _, m := range months {
		c := counts(t, s, hf, t0, m)
		sum.Started += c.Started
		sum.CompletedSelf += c.CompletedSelf
		sum.CompletedTeam += c.CompletedTeam
		sum.Help += c.Help
		sum.Abandoned += c.Abandoned
	}
	return sum
}

func countsNoStalled(t *testing.T, s *store.Redis, hf store.HamletFlow, months []string) store.Counts {
	t.Helper()
	c := counts(t, s, hf, t0, months...)
	c.Stalled = 0
	return c
}

// hashInts reads a counts hash, leaving out fields at 0 (a start moved
// away leaves one in the month and in the year alike).
func hashInts(t *testing.T, s *store.Redis, key string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for f, v := range s.Client().HGetAll(t.Context(), key).Val() {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			t.Fatalf("%s %s: %v", key, f, err)
		}
		if n != 0 {
			out[f] = n
		}
	}
	return out
}

// checkYearIsSum checks that a hamlet's year key holds the sum of its months.
func checkYearIsSum(t *testing.T, s *store.Redis, hamlet string, year int) {
	t.Helper()
	sum := map[string]int64{}
	for _, m := range monthsOf(year, 1, 12) {
		for f, n := range hashInts(t, s, s.Keys().MonthCounts(hamlet, m)) {
			sum[f] += n
		}
	}
	for f, n := range sum {
		if n == 0 {
			delete(sum, f)
		}
	}
	diff(t, fmt.Sprintf("%s %d: the year key against its months", hamlet, year), sum,
		hashInts(t, s, s.Keys().YearCounts(hamlet, strconv.Itoa(year))))
}

// testYearCounts: every way a count is made (a start, a finish alone or
// with the team, a help request, an expiry, a move taking its start from
// an earlier month of the same year and of the year before) counts in the
// year as in the month, and a report read from the years equals one read
// from the months.
func testYearCounts(t *testing.T, s *store.Redis) {
	ctx := t.Context()
	// The first sweep of this process marks the (empty) years ready: from
	// here on only the scripts keep them.
	if _, err := s.Sweep(ctx, t0, store.SweepOptions{}); err != nil {
		t.Fatal(err)
	}
	a := store.HamletFlow{Hamlet: "h-year", Flow: "ewallet"}
	aTeam := store.HamletFlow{Hamlet: "h-year", Flow: "vneid"}
	b := store.HamletFlow{Hamlet: "h-year-to", Flow: "ewallet"}
	jan25 := time.Date(2025, 1, 15, 3, 0, 0, 0, time.UTC)
	nov25 := time.Date(2025, 11, 10, 3, 0, 0, 0, time.UTC)
	dec25 := time.Date(2025, 12, 31, 18, 0, 0, 0, time.UTC) // 2026-01-01 01:00 ICT
	feb26 := time.Date(2026, 2, 10, 3, 0, 0, 0, time.UTC)
	may26 := time.Date(2026, 5, 10, 3, 0, 0, 0, time.UTC)
	ev := func(kind flows.EffectKind, hf store.HamletFlow, at time.Time) flows.Effect {
		return flows.Effect{Kind: kind, Flow: hf.Flow, Hamlet: hf.Hamlet, At: at, Via: "self"}
	}
	move := func(started time.Time) []flows.Effect {
		return []flows.Effect{
			{Kind: flows.EffectLeft, Flow: a.Flow, Hamlet: a.Hamlet, At: may26, Reason: "move", Started: started},
			{Kind: flows.EffectStarted, Flow: b.Flow, Hamlet: b.Hamlet, At: may26, Reason: "move", Started: started},
		}
	}
	r1, r2, r3, r4, r5 := residentID(), residentID(), residentID(), residentID(), residentID()
	commitApply(t, s, r1, "tg:y1", ev(flows.EffectStarted, a, nov25))
	commitApply(t, s, r1, "tg:y2", ev(flows.EffectCompleted, a, feb26))
	commitApply(t, s, r2, "tg:y3", ev(flows.EffectStarted, a, jan25), ev(flows.EffectHelp, a, jan25))
	commitApply(t, s, r2, "tg:y4", ev(flows.EffectHelp, a, feb26))
	commitApply(t, s, r3, "tg:y5", ev(flows.EffectStarted, a, nov25))
	commitApply(t, s, r3, "tg:y6", move(nov25)...) // a start of the year before
	commitApply(t, s, r4, "tg:y7", ev(flows.EffectStarted, a, feb26))
	commitApply(t, s, r4, "tg:y8", move(feb26)...) // a start of the same year
	commitApply(t, s, r5, "tg:y9", ev(flows.EffectStarted, a, t0))
	if _, err := s.LogTeamCompletion(ctx, aTeam.Hamlet, aTeam.Flow, "household:y:1", nov25, "vneid"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LogTeamCompletion(ctx, aTeam.Hamlet, aTeam.Flow, "household:y:2", dec25, "vneid"); err != nil {
		t.Fatal(err)
	}
	// r2 (idle since January 2025) and r5 (since April 2026) expire in
	// May 2026: abandoned in the sweep's month.
	rep, err := s.Sweep(ctx, may26.Add(time.Hour), store.SweepOptions{SessionExpiry: 30 * 24 * time.Hour,
		Hamlets: []string{a.Hamlet, b.Hamlet}, Flows: []string{a.Flow, aTeam.Flow}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Abandoned != 2 {
		t.Errorf("%d abandoned, want 2", rep.Abandoned)
	}
	if got := s.Client().Get(ctx, s.Keys().YearCountsReady()).Val(); got != "v1" {
		t.Fatalf("years ready mark %q, want v1", got)
	}
	for _, h := range []string{a.Hamlet, b.Hamlet} {
		checkYearIsSum(t, s, h, 2025)
		checkYearIsSum(t, s, h, 2026)
	}
	// Counted by hand.
	diff(t, "a, 2025", store.Counts{Started: 2, Help: 1}, countsNoStalled(t, s, a, months2025))
	diff(t, "a, 2026", store.Counts{Started: 1, CompletedSelf: 1, Help: 1, Abandoned: 2}, countsNoStalled(t, s, a, months2026))
	diff(t, "a's team, 2025", store.Counts{CompletedTeam: 1}, countsNoStalled(t, s, aTeam, months2025))
	diff(t, "a's team, 2026", store.Counts{CompletedTeam: 1}, countsNoStalled(t, s, aTeam, months2026))
	diff(t, "b, 2025", store.Counts{Started: 1}, countsNoStalled(t, s, b, months2025))
	diff(t, "b, 2026", store.Counts{Started: 1}, countsNoStalled(t, s, b, months2026))
	for name, months := range yearRanges {
		for _, hf := range []store.HamletFlow{a, aTeam, b} {
			diff(t, fmt.Sprintf("%s %s", hf, name), countsByMonth(t, s, hf, months), countsNoStalled(t, s, hf, months))
		}
	}

	// Reports read the year keys only while they are marked ready: a
	// year key made wrong on purpose shows in a year's report with the
	// mark, not without it.
	if err := s.Client().HIncrBy(ctx, s.Keys().YearCounts(a.Hamlet, "2025"), "ewallet:help", 100).Err(); err != nil {
		t.Fatal(err)
	}
	diff(t, "a, 2025, from the year key", store.Counts{Started: 2, Help: 101}, countsNoStalled(t, s, a, months2025))
	if err := s.Client().Del(ctx, s.Keys().YearCountsReady()).Err(); err != nil {
		t.Fatal(err)
	}
	diff(t, "a, 2025, not ready: from the months", store.Counts{Started: 2, Help: 1}, countsNoStalled(t, s, a, months2025))
	// Another process's first sweep rebuilds the years and marks them.
	if _, err := anotherProcess(s).Sweep(ctx, may26.Add(time.Hour), store.SweepOptions{}); err != nil {
		t.Fatal(err)
	}
	diff(t, "a, 2025, rebuilt", store.Counts{Started: 2, Help: 1}, countsNoStalled(t, s, a, months2025))
	if got := s.Client().Get(ctx, s.Keys().YearCountsReady()).Val(); got != "v1" {
		t.Errorf("years ready mark %q after the rebuild, want v1", got)
	}
}

// testYearCountsBackfill: months written before the year keys existed (as
// the old code wrote them) are summed into the years by the first sweep,
// which then marks them ready; a second rebuild changes nothing, and counts
// made after it land in the month and the year alike.
func testYearCountsBackfill(t *testing.T, s *store.Redis) {
	ctx := t.Context()
	hf := store.HamletFlow{Hamlet: "h-backfill", Flow: "ewallet"}
	k := s.Keys()
	old := map[string]map[string]any{
		"2025-02": {"ewallet:started": 3, "ewallet:help": 1, "vneid:started": 7},
		"2025-12": {"ewallet:started": 2, "ewallet:completed_self": 1},
		"2026-01": {"ewallet:started": 5, "ewallet:abandoned": 2},
	}
	for m, fields := range old {
		if err := s.Client().HSet(ctx, k.MonthCounts(hf.Hamlet, m), fields).Err(); err != nil {
			t.Fatal(err)
		}
	}
	// A month of a hamlet with no flow ("_" in keys), and a year key
	// wrong before the rebuild: it is replaced, not added to.
	if err := s.Client().HSet(ctx, k.MonthCounts("", "2025-07"), "_:help", 4).Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.Client().HSet(ctx, k.YearCounts(hf.Hamlet, "2026"), "ewallet:started", 99).Err(); err != nil {
		t.Fatal(err)
	}
	want2025 := store.Counts{Started: 5, Help: 1, CompletedSelf: 1}
	want2026 := store.Counts{Started: 5, Abandoned: 2}
	// Not ready: the months are read.
	if n := s.Client().Exists(ctx, k.YearCountsReady()).Val(); n != 0 {
		t.Fatal("years marked ready before any sweep")
	}
	diff(t, "2025 before the rebuild", want2025, countsNoStalled(t, s, hf, months2025))
	diff(t, "2026 before the rebuild", want2026, countsNoStalled(t, s, hf, months2026))

	for i, st := range []*store.Redis{s, anotherProcess(s)} {
		if _, err := st.Sweep(ctx, t0, store.SweepOptions{}); err != nil {
			t.Fatal(err)
		}
		what := fmt.Sprintf("rebuild %d", i+1)
		diff(t, what+": 2025 year key", map[string]int64{"ewallet:started": 5, "ewallet:help": 1, "ewallet:completed_self": 1, "vneid:started": 7},
			hashInts(t, s, k.YearCounts(hf.Hamlet, "2025")))
		diff(t, what+": 2026 year key", map[string]int64{"ewallet:started": 5, "ewallet:abandoned": 2},
			hashInts(t, s, k.YearCounts(hf.Hamlet, "2026")))
		diff(t, what+": no flow's year key", map[string]int64{"_:help": 4}, hashInts(t, s, k.YearCounts("", "2025")))
		if got := s.Client().Get(ctx, k.YearCountsReady()).Val(); got != "v1" {
			t.Fatalf("%s: years ready mark %q, want v1", what, got)
		}
		diff(t, what+": 2025", want2025, countsNoStalled(t, s, hf, months2025))
		diff(t, what+": 2026", want2026, countsNoStalled(t, s, hf, months2026))
		for name, months := range yearRanges {
			diff(t, what+": "+name, countsByMonth(t, s, hf, months), countsNoStalled(t, s, hf, months))
		}
	}

	// After the rebuild a count lands in its month and its year.
	jun25 := time.Date(2025, 6, 1, 3, 0, 0, 0, time.UTC)
	commitApply(t, s, residentID(), "tg:bf1", flows.Effect{Kind: flows.EffectStarted, Flow: hf.Flow, Hamlet: hf.Hamlet, At: jun25})
	if got := s.Client().HGet(ctx, k.MonthCounts(hf.Hamlet, "2025-06"), "ewallet:started").Val(); got != "1" {
		t.Errorf("June 2025 started %q, want 1", got)
	}
	if got := s.Client().HGet(ctx, k.YearCounts(hf.Hamlet, "2025"), "ewallet:started").Val(); got != "6" {
		t.Errorf("2025 started %q, want 6", got)
	}
	want2025.Started++
	diff(t, "2025 after a start", want2025, countsNoStalled(t, s, hf, months2025))
	checkYearIsSum(t, s, hf.Hamlet, 2025)
}

// testYearCountsRebuildRacing: rebuilds (each a new process's first sweep)
// running while counts are made leave every year the sum of its months.
func testYearCountsRebuildRacing(t *testing.T, s *store.Redis) {
	ctx := t.Context()
	const hamlet, writers, each = "h-race", 4, 40
	jan := time.Date(2026, 1, 10, 3, 0, 0, 0, time.UTC)
	// Months written before the year keys, to rebuild from.
	for m := 1; m <= 12; m++ {
		if err := s.Client().HSet(ctx, s.Keys().MonthCounts(hamlet, fmt.Sprintf("2026-%02d", m)), "vneid:completed_team", m).Err(); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, writers+1)
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			if _, err := anotherProcess(s).Sweep(context.WithoutCancel(ctx), t0, store.SweepOptions{}); err != nil {
				errs <- err
				return
			}
			select {
			case <-stop:
				return
			default:
			}
		}
	}()
	var done sync.WaitGroup
	for w := range writers {
		done.Add(1)
		go func() {
			defer done.Done()
			for i := range each {
				at := jan.AddDate(0, i%12, 0)
				if _, err := s.LogTeamCompletion(ctx, hamlet, "vneid", fmt.Sprintf("household:race:%d:%d", w, i), at, "vneid"); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	done.Wait()
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// And one count after the last rebuild, kept by the script alone.
	if _, err := s.LogTeamCompletion(ctx, hamlet, "vneid", "household:race:last", jan, "vneid"); err != nil {
		t.Fatal(err)
	}
	checkYearIsSum(t, s, hamlet, 2026)
	hf := store.HamletFlow{Hamlet: hamlet, Flow: "vneid"}
	diff(t, "2026", store.Counts{CompletedTeam: 78 + writers*each + 1}, countsNoStalled(t, s, hf, months2026))
}
