// Package storetest is the conformance suite of the Redis store. Run it
// against any Redis the store must work on: miniredis, a real server, a real
// cluster. Every test uses its own random key prefix and deletes only the
// keys under it, so a shared server is safe (no FLUSHALL).
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/store"
)

// ict is the bot's zone in the suite (Asia/Ho_Chi_Minh, without tzdata).
var ict = time.FixedZone("ICT", 7*3600)

// t0 is a fixed instant: 2026-03-31 20:00 UTC is already April in ICT, which
// tests the month buckets.
var t0 = time.Date(2026, 3, 31, 20, 0, 0, 0, time.UTC)

// Run runs the suite. newClient returns a client to the Redis under test; it
// is called once per test, and the test closes the client.
func Run(t *testing.T, newClient func(t *testing.T) redis.UniversalClient) {
	run(t, 0, newClient)
}

// RunWaiting runs the suite with every commit waiting for one replica
// (store.Options.WaitReplicas) for at most 2 ms: the servers under test
// have none, so every wait falls short, and the suite checks that the
// commits and what follows them behave as without the wait.
func RunWaiting(t *testing.T, newClient func(t *testing.T) redis.UniversalClient) {
	run(t, 1, newClient)
}

func run(t *testing.T, waits int, newClient func(t *testing.T) redis.UniversalClient) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s *store.Redis)
	}{
		{"LockExcludes", testLockExcludes},
		{"LockTokenRelease", testLockTokenRelease},
		{"LockContext", testLockContext},
		{"SessionAbsent", testSessionAbsent},
		{"CommitVersions", testCommitVersions},
		{"CommitTokens", testCommitTokens},
		{"CommitConcurrent", testCommitConcurrent},
		{"Processed", testProcessed},
		{"Begin", testBegin},
		{"CommitRelease", testCommitRelease},
		{"CommitUnlocked", testCommitUnlocked},
		{"EffectsWaiting", testEffectsWaiting},
		{"Outbox", testOutbox},
		{"EffectsOnce", testEffectsOnce},
		{"EffectsManyBatches", testEffectsManyBatches},
		{"CrashBeforeApply", testCrashBeforeApply},
		{"CompletedOnce", testCompletedOnce},
		{"Help", testHelp},
		{"Left", testLeft},
		{"StalledAndAbandoned", testStalledAndAbandoned},
		{"SweepSingleRunner", testSweepSingleRunner},
		{"StalledFromSweep", testStalledFromSweep},
		{"CountersOfTheOldLayout", testCountersOfTheOldLayout},
		{"CountsManyHamlets", testCountsManyHamlets},
		{"Areas", testAreas},
		{"AreaCodes", testAreaCodes},
		{"PutAreasAndTargets", testPutAreasAndTargets},
		{"CountsMonths", testCountsMonths},
		{"YearCounts", testYearCounts},
		{"YearCountsBackfill", testYearCountsBackfill},
		{"YearCountsRebuildRacing", testYearCountsRebuildRacing},
		{"Pseudonym", testPseudonym},
		{"Retention", testRetention},
		{"RetentionCap", testRetentionCap},
		{"RetentionFailure", testRetentionFailure},
		{"OutboxIndex", testOutboxIndex},
		{"SendMarkers", testSendMarkers},
		{"FinishRace", testFinishRace},
		{"SendLock", testSendLock},
		{"SendClaim", testSendClaim},
		{"SendClaimNext", testSendClaimNext},
		{"DeferFinishes", testDeferFinishes},
		{"Reachable", testReachable},
		{"Lease", testLease},
		{"RateLimit", testRateLimit},
		{"ZaloTokens", testZaloTokens},
		{"PairsAddedAgain", testPairsAddedAgain},
		{"MoveCarriesStart", testMoveCarriesStart},
		{"MoveNeverNegative", testMoveNeverNegative},
		{"HamletRequests", testHamletRequests},
		{"FunnelOncePerMonth", testFunnelOncePerMonth},
		{"FunnelMonths", testFunnelMonths},
		{"FunnelStalledAndHelp", testFunnelStalledAndHelp},
		{"FunnelRetired", testFunnelRetired},
		{"FunnelsManyHamlets", testFunnelsManyHamlets},
		{"HamletView", testHamletView},
		{"FunnelLeft", testFunnelLeft},
		{"FunnelFailureKeepsTheCommit", testFunnelFailureKeepsTheCommit},
	}
	for _, tt := range tests {
		if waits > 0 && (tt.name == "FinishRace" || tt.name == "CountsManyHamlets") {
			// Thousands of commits, each waiting its 2 ms: they add
			// nothing to what the rest of the suite checks of the wait.
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := newClient(t)
			t.Cleanup(func() { _ = c.Close() })
			tt.fn(t, newStore(t, c, waits))
		})
	}
}

// newStore returns a store on c under a fresh prefix and deletes that
// prefix's keys when the test ends.
func newStore(t *testing.T, c redis.UniversalClient, waits int) *store.Redis {
	t.Helper()
	prefix := "hxtest:" + randomHex(6) + ":v1"
	t.Cleanup(func() {
		// t.Context is already cancelled in cleanups.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := deletePrefix(ctx, c, prefix); err != nil {
			t.Errorf("delete keys %s*: %v", prefix, err)
		}
	})
	return store.New(c, store.Options{
		Prefix:   prefix,
		DataKey:  []byte("storetest data key"),
		Location: ict,
		LockTTL:  10 * time.Second,
		// Four workers taking turns on one lock under the race detector on
		// a loaded two-core CI machine waited past 300 ms
		// (CommitConcurrent): the lock is polled, not queued.
		LockWait: 2 * time.Second,
		// RunWaiting.
		WaitReplicas: waits,
		WaitTimeout:  2 * time.Millisecond,
	})
}

// deletePrefix deletes the keys that start with prefix, on every master of a
// cluster.
func deletePrefix(ctx context.Context, c redis.UniversalClient, prefix string) error {
	del := func(ctx context.Context, c redis.Cmdable) error {
		iter := c.Scan(ctx, 0, prefix+"*", 500).Iterator()
		for iter.Next(ctx) {
			if err := c.Del(ctx, iter.Val()).Err(); err != nil {
				return err
			}
		}
		return iter.Err()
	}
	if cc, ok := c.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error { return del(ctx, n) })
	}
	return del(ctx, c)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// residentID returns a fresh resident id.
func residentID() string { return "tg:" + randomHex(4) }

// commit commits effects for a resident under its lock, as the service does,
// and fails the test on error.
func commit(t *testing.T, s *store.Redis, resident, updateID string, effects ...flows.Effect) {
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
	sess.Seen = t0
	if err := s.Commit(ctx, flows.Commit{Resident: resident, Expect: sess.Version, ExpectToken: sess.Token, Session: sess, UpdateID: updateID, Effects: effects}); err != nil {
		t.Fatal(err)
	}
}

// commitApply commits effects and applies them.
func commitApply(t *testing.T, s *store.Redis, resident, updateID string, effects ...flows.Effect) {
	t.Helper()
	commit(t, s, resident, updateID, effects...)
	if err := s.ApplyEffects(t.Context(), resident); err != nil {
		t.Fatal(err)
	}
}

// counts returns the counts of one pair over months.
func counts(t *testing.T, s *store.Redis, hf store.HamletFlow, stalledBefore time.Time, months ...string) store.Counts {
	t.Helper()
	m, err := s.Counts(t.Context(), []store.HamletFlow{hf}, months, stalledBefore)
	if err != nil {
		t.Fatal(err)
	}
	return m[hf]
}

func diff(t *testing.T, what string, want, got any) {
	t.Helper()
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("%s (-want +got):\n%s", what, d)
	}
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func testLockExcludes(t *testing.T, s *store.Redis) {
	ctx := t.Context()
	res := residentID()
	unlock, err := s.Lock(ctx, res)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := s.Lock(ctx, res); !errors.Is(err, flows.ErrLocked) {
		t.Fatalf("second Lock: got %v, want ErrLocked", err)
	}
	if waited := time.Since(start); waited < 1500*time.Millisecond {
		t.Errorf("second Lock gave up after %v, want about LockWait (2s)", waited)
	}
	// Another resident is not blocked.
	other, err := s.Lock(ctx, residentID())
	if err != nil {
		t.Fatalf("lock of another resident: %v", err)
	}
	other()

	// A waiter gets the lock once it is released.
	got := make(chan error, 1)
	go func() {
		u, err := s.Lock(ctx, res)
		if err == nil {
			u()
		}
		got <- err
	}()
	unlock()
	unlock() // twice is harmless
	if err := <-got; err != nil {
		t.Fatalf("waiter: %v", err)
	}
}

func testLockTokenRelease(t *testing.T, s *store.Redis) {
	ctx := t.Context()
	res := residentID()
	key := s.Keys().Lock(res)
	first, err := s.Lock(ctx, res)
	if err != nil {
		t.Fatal(err)
	}
	// The first lock expires (simulated) and someone else takes it.
	if err := s.Client().Del(ctx, key).Err(); err != nil {
		t.Fatal(err)
	}
	second, err := s.Lock(ctx, res)
	if err != nil {
		t.Fatal(err)
	}
	token, err := s.Client().Get(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	first() // must not release the second holder's lock
	after, err := s.Client().Get(ctx, key).Result()
	if err != nil {
		t.Fatalf("lock gone after a stale unlock: %v", err)
	}
	diff(t, "lock token", token, after)
	ttl, err := s.Client().PTTL(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	if ttl <= 0 || ttl > 10*time.Second {
		t.Errorf("lock TTL = %v, want in (0, 10s]", ttl)
	}
	second()
	if n, err := s.Client().Exists(ctx, key).Result(); err != nil || n != 0 {
		t.Errorf("lock after release: exists=%d err=%v", n, err)
	}
}

func testLockContext(t *testing.T, s *store.Redis) {
	res := residentID()
	unlock, err := s.Lock(t.Context(), res)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.Lock(ctx, res); !errors.Is(err, context.Canceled) {
		t.Errorf("Lock with a cancelled context: got %v, want context.Canceled", err)
	}
}

func testSessionAbsent(t *testing.T, s *store.Redis) {
	got, err := s.Session(t.Context(), residentID())
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "absent session", flows.Session{}, got)
}

// testCommitTokens: a write checks the session's token with its version,
// so a session Redis forgot and the one written after it, under the same
// version number, are never taken for each other (flows.Session.Token).
func testCommitTokens(t *testing.T, s *store.Redis) {
	ctx := t.Context()
	res := residentID()
	if err := s.Commit(ctx, flows.Commit{Resident: res, Session: flows.Session{Token: "aaaa", Stage: flows.StageMenu}}); err != nil {
		t.Fatal(err)
	}
	raw, err := s.Client().Get(ctx, s.Keys().Session(res)).Result()
	if err != nil || !strings.HasPrefix(raw, `{"v":1,"tok":"aaaa",`) {
		t.Fatalf("a stored session starts %.24q (%v), want its version and token first", raw, err)
	}
	other := flows.Commit{Resident: res, Expect: 1, ExpectToken: "bbbb", Session: flows.Session{Token: "cccc"}, UpdateID: "tg:1"}
	if err := s.Commit(ctx, other); !errors.Is(err, flows.ErrStale) {
		t.Fatalf("commit on version 1 with another token: %v, want ErrStale", err)
	}
	if _, err := s.CommitUnlocked(ctx, other); !errors.Is(err, flows.ErrStale) {
		t.Fatalf("commit without the lock on version 1 with another token: %v, want ErrStale", err)
	}
	if err := s.Commit(ctx, flows.Commit{Resident: res, Expect: 1, Session: flows.Session{Token: "cccc"}}); !errors.Is(err, flows.ErrStale) {
		t.Fatalf("commit on version 1 without its token: %v, want ErrStale", err)
	}
	mine := flows.Commit{Resident: res, Expect: 1, ExpectToken: "aaaa", Session: flows.Session{Token: "dddd"}, UpdateID: "tg:2"}
	if _, err := s.CommitUnlocked(ctx, mine); err != nil {
		t.Fatalf("commit without the lock on version 1 and its token: %v", err)
	}
	// The same write sent again (go-redis sends a command again when its
	// answer was lost) finds itself done: no stale error, nothing written
	// twice.
	again := flows.Commit{Resident: res, Expect: 2, ExpectToken: "dddd", Session: flows.Session{Token: "t-2_x"}, UpdateID: "tg:3",
		Outbox: []flows.Reply{{ID: "tg:3#0", Text: "x"}}}
	for i := range 2 {
		if err := s.Commit(ctx, again); err != nil {
			t.Fatalf("the same commit, sent %d times: %v", i+1, err)
		}
	}
	if out, err := s.Outbox(ctx, res); err != nil || len(out) != 1 {
		t.Errorf("the same commit sent twice left %d replies (%v), want 1", len(out), err)
	}
	fastAgain := flows.Commit{Resident: res, Expect: 3, ExpectToken: "t-2_x", Session: flows.Session{Token: "ffff"}, UpdateID: "tg:4",
		Effects: []flows.Effect{{Kind: flows.EffectStarted, Flow: "ewallet", Hamlet: "h1", At: t0}}}
	unlock, err := s.CommitUnlocked(ctx, fastAgain)
	if err != nil || unlock == nil {
		t.Fatalf("a commit without the lock, effects waiting: unlock %v, %v", unlock != nil, err)
	}
	// Sent again (here with another lock token than go-redis's own resend
	// would carry): done, not locked, not a duplicate.
	if _, err := s.CommitUnlocked(ctx, fastAgain); err != nil {
		t.Fatalf("the same commit without the lock, sent again: %v", err)
	}
	if err := s.ApplyEffects(ctx, res); err != nil {
		t.Fatal(err)
	}
	unlock()
	if n, err := s.Client().LLen(ctx, s.Keys().Effects(res)).Result(); err != nil || n != 0 {
		t.Errorf("the same commit without the lock sent twice left %d effects (%v)", n, err)
	}
	// A write that is not the same, under the same version, stays stale.
	if err := s.Commit(ctx, flows.Commit{Resident: res, Expect: 3, ExpectToken: "t-2_x", Session: flows.Session{Token: "gggg"}}); !errors.Is(err, flows.ErrStale) {
		t.Fatalf("another commit on version 3: %v, want ErrStale", err)
	}
	if err := s.Commit(ctx, flows.Commit{Resident: res, Expect: 4, ExpectToken: "ffff", Session: flows.Session{Token: `a"b`}}); err == nil {
		t.Error("a token with a quote was written")
	}
	// A session whose fields are in another order is decoded whole.
	if err := s.Client().Set(ctx, s.Keys().Session(res), `{"lang":"vi","tok":"eeee","v":7}`, 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(ctx, flows.Commit{Resident: res, Expect: 7, ExpectToken: "ffff"}); !errors.Is(err, flows.ErrStale) {
		t.Fatalf("commit on version 7 with another token, written with the token last: %v, want ErrStale", err)
	}
	if err := s.Commit(ctx, flows.Commit{Resident: res, Expect: 7, ExpectToken: "eeee"}); err != nil {
		t.Fatalf("commit on version 7 and its token, written with the token last: %v", err)
	}
}

func testCommitVersions(t *testing.T, s *store.Redis) {
	ctx := t.Context()
	res := residentID()
	sess := flows.Session{
		Version: 42, // ignored: Commit stores Expect+1
		Lang:    "vi",
		Hamlet:  "h1",
		Stage:   flows.StageFlow,
		Active:  &flows.Run{Flow: "ewallet", Step: "sim", Started: t0, Last: t0, Vars: map[string]string{"bank": "x"}},
		Done:    map[string]time.Time{"vneid": t0},
		Seen:    t0,
	}
	if err := s.Commit(ctx, flows.Commit{Resident: res, Expect: 0, Session: sess, UpdateID: "tg:1"}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Session(ctx, res)
	if err != nil {
		t.Fatal(err)
	}
	want := sess.Clone()
	want.Version = 1
	want.Paused, want.Keyboard = nil, nil
	diff(t, "session after first commit", want, got)

	// A writer that loaded version 0 lost the race.
	err = s.Commit(ctx, flows.Commit{Resident: res, Expect: 0, Session: flows.Session{Lang: "en"}, UpdateID: "tg:2",
		Outbox: []flows.Reply{{ID: "tg:2:0", Text: "x"}}, Effects: []flows.Effect{{Kind: flows.EffectHelp, Hamlet: "h1", At: t0}}})
	if !errors.Is(err, flows.ErrStale) {
		t.Fatalf("stale commit: got %v, want ErrStale", err)
	}
	if p, err := s.Processed(ctx, res, "tg:2"); err != nil || p {
		t.Errorf("stale commit recorded its update id: %v %v", p, err)
	}
	if out, err := s.Outbox(ctx, res); err != nil || len(out) != 0 {
		t.Errorf("stale commit wrote the outbox: %v %v", out, err)
	}
	if n, err := s.Client().LLen(ctx, s.Keys().Effects(res)).Result(); err != nil || n != 0 {
		t.Errorf("stale commit wrote effects: %d %v", n, err)
	}
	if err := s.Commit(ctx, flows.Commit{Resident: res, Expect: 1, Session: got}); err != nil {
		t.Fatalf("commit on version 1: %v", err)
	}
	got, err = s.Session(ctx, res)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "version after second commit", int64(2), got.Version)

	// The scripts read the version at the start of the JSON; a session
	// written otherwise (the version elsewhere) is decoded whole.
	if err := s.Client().Set(ctx, s.Keys().Session(res), `{"lang":"vi","v":7}`, 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(ctx, flows.Commit{Resident: res, Expect: 6, Session: got}); !errors.Is(err, flows.ErrStale) {
		t.Fatalf("commit on version 6 of a session at 7: %v, want ErrStale", err)
	}
	if err := s.Commit(ctx, flows.Commit{Resident: res, Expect: 7, Session: got}); err != nil {
		t.Fatalf("commit on version 7, written with the version last: %v", err)
	}
	raw, err := s.Client().Get(ctx, s.Keys().Session(res)).Result()
	if err != nil || !strings.HasPrefix(raw, `{"v":8,`) {
		t.Errorf("a stored session starts %.12q (%v), want its version first", raw, err)
	}
}

func testCommitConcurrent(t *testing.T, s *store.Redis) {
	res := residentID()
	const workers, each = 4, 5
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				errs <- func() error {
					ctx := t.Context()
					unlock, err := s.Lock(ctx, res)
					if err != nil {
						return err
					}
					defer unlock()
					sess, err := s.Session(ctx, res)
					if err != nil {
						return err
					}
					return s.Commit(ctx, flows.Commit{Resident: res, Expect: sess.Version, ExpectToken: sess.Token, Session: sess,
						UpdateID: fmt.Sprintf("tg:%d-%d", w, i)})
				}()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Session(t.Context(), res)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "version after serialised commits", int64(workers*each), got.Version)
}

func testProcessed(t *testing.T, s *store.Redis) {
	ctx := t.Context()
	res := residentID()
	if p, err := s.Processed(ctx, res, "tg:7"); err != nil || p {
		t.Fatalf("before commit: %v %v", p, err)
	}
	commit(t, s, res, "tg:7")
	if p, err := s.Processed(ctx, res, "tg:7"); err != nil || !p {
		t.Fatalf("after commit: %v %v", p, err)
	}
	if p, err := s.Processed(ctx, residentID(), "tg:7"); err != nil || p {
		t.Errorf("another resident sees the update as processed: %v %v", p, err)
	}
	ttl, err := s.Client().TTL(ctx, s.Keys().Processed(res, "tg:7")).Result()
	if err != nil {
		t.Fatal(err)
	}
	if ttl < 48*time.Hour-time.Minute {
		t.Errorf("processed TTL = %v, want at least 48h", ttl)
	}
	// An internal commit records nothing.
	commit(t, s, res, "")
	n, err := s.Client().Exists(ctx, s.Keys().Processed(res, "")).Result()
	if err != nil || n != 0 {
		t.Errorf("internal commit recorded an empty update id: %d %v", n, err)
	}
}

// testBegin checks that Begin answers what Lock, Processed and Session do,
// in its one-script path and in its busy path.
func testBegin(t *testing.T, s *store.Redis) {
	ctx := t.Context()
	res := residentID()
	unlock, seen, sess, err := s.Begin(ctx, res, "tg:1")
	if err != nil {
		t.Fatal(err)
	}
	if seen || sess.Version != 0 {
		t.Errorf("new resident: seen %v, version %d; want false, 0", seen, sess.Version)
	}
	// The lock is held: Lock must wait and fail.
	if _, err := s.Lock(ctx, res); !errors.Is(err, flows.ErrLocked) {
		t.Errorf("Lock while Begin holds the resident: got %v, want ErrLocked", err)
	}
	if err := s.Commit(ctx, flows.Commit{Resident: res, Session: flows.Session{Stage: "x"}, UpdateID: "tg:1"}); err != nil {
		t.Fatal(err)
	}
	unlock()

	unlock, seen, sess, err = s.Begin(ctx, res, "tg:1")
	if err != nil {
		t.Fatal(err)
	}
	if !seen || sess.Version != 1 || sess.Stage != "x" {
		t.Errorf("after commit: seen %v, version %d, stage %q; want true, 1, x", seen, sess.Version, sess.Stage)
	}
	// Busy path: a second Begin waits LockWait and fails with ErrLocked.
	if _, _, _, err := s.Begin(ctx, res, "tg:2"); !errors.Is(err, flows.ErrLocked) {
		t.Errorf("Begin while held: got %v, want ErrLocked", err)
	}
	// Busy path that succeeds once the holder lets go.
	type began struct {
		seen bool
		sess flows.Session
		err  error
	}
	got := make(chan began, 1)
	go func() {
		u, seen, sess, err := s.Begin(ctx, res, "tg:1")
		if err == nil {
			u()
		}
		got <- began{seen, sess, err}
	}()
	time.Sleep(20 * time.Millisecond)
	unlock()
	b := <-got
	if b.err != nil || !b.seen || b.sess.Version != 1 {
		t.Errorf("Begin after waiting: seen %v, version %d, err %v; want true, 1, nil", b.seen, b.sess.Version, b.err)
	}
	// No update id: never seen.
	unlock, seen, _, err = s.Begin(ctx, res, "")
	if err != nil || seen {
		t.Errorf("Begin without update id: seen %v, err %v", seen, err)
	}
	if err == nil {
		unlock()
	}
}

// testCommitRelease checks that a commit with Release frees the lock Begin
// took, that a stale commit does not, and that the unlock function then
// leaves a lock someone else took alone.
func testCommitRelease(t *testing.T, s *store.Redis) {
	ctx := t.Context()
	res := residentID()
	held := func() bool { t.Helper(); return lockHeld(t, s, res) }
	unlock, _, sess, err := s.Begin(ctx, res, "tg:1")
	if err != nil {
		t.Fatal(err)
	}
	// A stale commit keeps the lock.
	err = s.Commit(ctx, flows.Commit{Resident: res, Expect: sess.Version + 5, UpdateID: "tg:1", Release: true})
	if !errors.Is(err, flows.ErrStale) {
		t.Fatalf("stale commit: got %v, want ErrStale", err)
	}
	if !held() {
		t.Fatal("a stale commit released the lock")
	}
	if err := s.Commit(ctx, flows.Commit{Resident: res, Expect: sess.Version, ExpectToken: sess.Token, UpdateID: "tg:1", Release: true}); err != nil {
		t.Fatal(err)
	}
	if held() {
		t.Fatal("the lock is still held after a commit with Release")
	}
	// Someone else takes the lock; the first turn's unlock must not free it.
	other, err := s.Lock(ctx, res)
	if err != nil {
		t.Fatalf("lock after release: %v", err)
	}
	unlock()
	if !held() {
		t.Fatal("the first turn's unlock freed another holder's lock")
	}
	other()
	if held() {
		t.Fatal("the second holder's unlock left the lock")
	}
	// Without Release the lock stays until unlock.
	unlock, _, sess, err = s.Begin(ctx, res, "tg:2")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(ctx, flows.Commit{Resident: res, Expect: sess.Version, ExpectToken: sess.Token, UpdateID: "tg:2"}); err != nil {
		t.Fatal(err)
	}
	if !held() {
		t.Fatal("a commit without Release released the lock")
	}
	unlock()
	if held() {
		t.Fatal("unlock left the lock")
	}
}

func testOutbox(t *testing.T, s *store.Redis) {
	ctx := t.Context()
	res := residentID()
	r1 := []flows.Reply{
		{ID: "tg:1:0", Text: "Xin chào", Buttons: []flows.Choice{{Data: "c:a", Label: "A"}}},
		{ID: "tg:1:1", Text: "Bạn ở thôn nào?"},
	}
	r2 := []flows.Reply{{ID: "tg:2:0", Text: "Cảm ơn", Image: "img/x.png"}}
	if err := s.Commit(ctx, flows.Commit{Resident: res, Expect: 0, UpdateID: "tg:1", Outbox: r1}); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(ctx, flows.Commit{Resident: res, Expect: 1, UpdateID: "tg:2", Outbox: r2}); err != nil {
		t.Fatal(err)
	}
	outbox := func() []flows.Reply {
		t.Helper()
		got, err := s.Outbox(ctx, res)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	diff(t, "outbox", append(append([]flows.Reply{}, r1...), r2...), outbox())

	steps := []struct {
		ack  string
		want []flows.Reply
	}{
		{"tg:2:0", []flows.Reply{r1[0], r1[1], r2[0]}}, // not the head: nothing
		{"tg:1:0", []flows.Reply{r1[1], r2[0]}},
		{"tg:1:0", []flows.Reply{r1[1], r2[0]}}, // again: nothing
		{"tg:1:1", []flows.Reply{r2[0]}},
		{"tg:2:0", []flows.Reply{}},
		{"tg:2:0", []flows.Reply{}}, // empty outbox
	}
	for _, st := range steps {
		if err := s.AckOutbox(ctx, res, st.ack); err != nil {
			t.Fatal(err)
		}
		diff(t, "outbox after ack "+st.ack, st.want, outbox())
	}
}

// testEffectsManyBatches applies more effects than one read takes (64):
// every one is applied, the list ends empty and the resident leaves the work
// index.
func testEffectsManyBatches(t *testing.T, s *store.Redis) {
	ctx := t.Context()
	res := residentID()
	hf := store.HamletFlow{Hamlet: "h-many", Flow: "ewallet"}
	effects := []flows.Effect{{Kind: flows.EffectStarted, Flow: hf.Flow, Step: "why", Hamlet: hf.Hamlet, At: t0}}
	for i := range 69 {
		effects = append(effects, flows.Effect{Kind: flows.EffectActivity, Flow: hf.Flow, Step: "s" + strconv.Itoa(i),
			Hamlet: hf.Hamlet, At: t0.Add(time.Duration(i) * time.Second)})
	}
	effects = append(effects, flows.Effect{Kind: flows.EffectCompleted, Flow: hf.Flow, Step: "done", Hamlet: hf.Hamlet,
		At: t0.Add(2 * time.Minute)})
	commit(t, s, res, "tg:1", effects...)
	if err := s.ApplyEffects(ctx, res); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Client().LLen(ctx, s.Keys().Effects(res)).Result(); err != nil || n != 0 {
		t.Errorf("effects left: %d %v", n, err)
	}
	if n, err := s.Client().ZScore(ctx, s.Keys().Work(), res).Result(); !errors.Is(err, redis.Nil) {
		t.Errorf("resident still in the work index: %v %v", n, err)
	}
	diff(t, "counts", store.Counts{Started: 1, CompletedSelf: 1}, counts(t, s, hf, t0.Add(time.Hour), "2026-04"))
}

func testEffectsOnce(t *testing.T, s *store.Redis) {
	ctx := t.Context()
	res := residentID()
	hf := store.HamletFlow{Hamlet: "h-once", Flow: "ewallet"}
	started := flows.Effect{Kind: flows.EffectStarted, Flow: hf.Flow, Step: "why", Hamlet: hf.Hamlet, At: t0}
	commit(t, s, res, "tg:10", started)
	raw, err := s.Client().LIndex(ctx, s.Keys().Effects(res), 0).Result()
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := s.ApplyEffects(ctx, res); err != nil {
			t.Fatal(err)
		}
	}
	// A crash between applying and popping leaves the effect in the list:
	// put it back and apply again.
	if err := s.Client().LPush(ctx, s.Keys().Effects(res), raw).Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.ApplyEffects(ctx, res); err != nil {
		t.Fatal(err)
	}
	diff(t, "counts", store.Counts{Started: 1, Stalled: 1}, counts(t, s, hf, t0.Add(time.Hour), "2026-04"))
	if n, err := s.Client().LLen(ctx, s.Keys().Effects(res)).Result(); err != nil || n != 0 {
		t.Errorf("effects left: %d %v", n, err)
	}
	if n, err := s.Client().ZCard(ctx, s.Keys().Work()).Result(); err != nil || n != 0 {
		t.Errorf("work index after apply: %d %v", n, err)
	}
	// Starting the same flow again later counts no new resident.
	commitApply(t, s, res, "tg:11", started)
	diff(t, "counts after a restart", store.Counts{Started: 1, Stalled: 1}, counts(t, s, hf, t0.Add(time.Hour), "2026-04"))
}

func testCrashBeforeApply(t *testing.T, s *store.Redis) {
	ctx := t.Context()
	res := residentID()
	hf := store.HamletFlow{Hamlet: "h-crash", Flow: "vneid"}
	commit(t, s, res, "tg:20",
		flows.Effect{Kind: flows.EffectStarted, Flow: hf.Flow, Hamlet: hf.Hamlet, At: t0},
		flows.Effect{Kind: flows.EffectCompleted, Flow: hf.Flow, Hamlet: hf.Hamlet, At: t0, Via: "team"})
	// The process dies here: ApplyEffects never runs.
	diff(t, "counts before the sweep", store.Counts{}, counts(t, s, hf, t0, "2026-04"))

	// A sweep within the grace period leaves the resident to the live path.
	rep, err := s.Sweep(ctx, time.Now(), store.SweepOptions{})
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "early sweep", store.SweepReport{}, rep)

	later := time.Now().Add(time.Minute)
	rep, err = s.Sweep(ctx, later, store.SweepOptions{})
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "repair sweep", store.SweepReport{Repaired: 1, Effects: 2}, rep)
	want := store.Counts{Started: 1, CompletedTeam: 1}
	diff(t, "counts after the sweep", want, counts(t, s, hf, t0, "2026-04"))

	rep, err = s.Sweep(ctx, later, store.SweepOptions{})
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "second sweep", store.SweepReport{}, rep)
	diff(t, "counts after the second sweep", want, counts(t, s, hf, t0, "2026-04"))
}

func testCompletedOnce(t *testing.T, s *store.Redis) {
	ctx := t.Context()
	hf := store.HamletFlow{Hamlet: "h-done", Flow: "ewallet"}
	a, b := residentID(), residentID()
	done := func(via string) flows.Effect {
		return flows.Effect{Kind: flows.EffectCompleted, Flow: hf.Flow, Hamlet: hf.Hamlet, At: t0, Via: via}
	}
	commitApply(t, s, a, "tg:30", done(""))
	commitApply(t, s, a, "tg:31", done("team"))
	commitApply(t, s, a, "tg:32", done(""))
	commitApply(t, s, b, "tg:33", done("team"))
	diff(t, "counts", store.Counts{CompletedSelf: 1, CompletedTeam: 1}, counts(t, s, hf, t0, "2026-04"))

	msgs, err := s.Client().XRange(ctx, s.Keys().Completions(hf.Hamlet), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	for _, m := range msgs {
		got = append(got, m.Values)
	}
	at := t0.In(ict).Format(time.RFC3339)
	want := []map[string]any{
		{"pseud": s.Pseudonym(a), "flow": hf.Flow, "via": "self", "at": at},
		{"pseud": s.Pseudonym(b), "flow": hf.Flow, "via": "team", "at": at},
	}
	diff(t, "completion log", want, got)
}

func testHelp(t *testing.T, s *store.Redis) {
	ctx := t.Context()
	res := residentID()
	hf := store.HamletFlow{Hamlet: "h-help", Flow: "ewallet"}
	help := flows.Effect{Kind: flows.EffectHelp, Flow: hf.Flow, Step: "otp", Hamlet: hf.Hamlet, At: t0}
	commitApply(t, s, res, "tg:40", help)
	commitApply(t, s, res, "tg:41", help)
	commitApply(t, s, residentID(), "tg:42", flows.Effect{Kind: flows.EffectHelp, Hamlet: "h-help2", At: t0})
	diff(t, "counts", store.Counts{Help: 2}, counts(t, s, hf, t0, "2026-04"))
	diff(t, "counts without a flow", store.Counts{Help: 1},
		counts(t, s, store.HamletFlow{Hamlet: "h-help2"}, t0, "2026-04"))
	total, err := s.HelpRequests(ctx)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "help requests", int64(3), total)

	msgs, err := s.Client().XRange(ctx, s.Keys().Helps(hf.Hamlet), "-", "+").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 {
		t.Fatalf("help stream has %d entries, want 2", len(msgs))
	}
	want := map[string]any{"pseud": s.Pseudonym(res), "flow": hf.Flow, "step": "otp", "at": t0.In(ict).Format(time.RFC3339)}
	diff(t, "help entry", want, msgs[0].Values)
	for _, v := range msgs[0].Values {
		if v == res {
			t.Errorf("the help stream holds the resident id %q", res)
		}
	}
}

func testLeft(t *testing.T, s *store.Redis) {
	hf := store.HamletFlow{Hamlet: "h-left", Flow: "ewallet"}
	ev := func(kind flows.EffectKind, reason string) flows.Effect {
		return flows.Effect{Kind: kind, Flow: hf.Flow, Hamlet: hf.Hamlet, At: t0, Reason: reason}
	}
	a, b := residentID(), residentID()
	commitApply(t, s, a, "tg:50", ev(flows.EffectStarted, ""))
	commitApply(t, s, b, "tg:51", ev(flows.EffectStarted, ""))
	commitApply(t, s, a, "tg:52", ev(flows.EffectLeft, "cancel"))
	commitApply(t, s, b, "tg:53", ev(flows.EffectLeft, "expired"))
	commitApply(t, s, b, "tg:54", ev(flows.EffectLeft, "expired")) // not open any more
	diff(t, "counts", store.Counts{Started: 2, Abandoned: 1}, counts(t, s, hf, t0.Add(time.Hour), "2026-04"))
}

func testStalledAndAbandoned(t *testing.T, s *store.Redis) {
	ctx := t.Context()
	hf := store.HamletFlow{Hamlet: "h-idle", Flow: "ewallet"}
	other := store.HamletFlow{Hamlet: "h-idle", Flow: "vneid"}
	ev := func(kind flows.EffectKind, hf store.HamletFlow, at time.Time) flows.Effect {
		return flows.Effect{Kind: kind, Flow: hf.Flow, Hamlet: hf.Hamlet, At: at}
	}
	a, b, c := residentID(), residentID(), residentID()
	commitApply(t, s, a, "tg:60", ev(flows.EffectStarted, hf, t0))
	commitApply(t, s, b, "tg:61", ev(flows.EffectStarted, hf, t0))
	commitApply(t, s, b, "tg:62", ev(flows.EffectActivity, hf, t0.Add(50*time.Minute)))
	commitApply(t, s, c, "tg:63", ev(flows.EffectStarted, other, t0))

	diff(t, "stalled at +10m", store.Counts{Started: 2, Stalled: 1}, counts(t, s, hf, t0.Add(10*time.Minute), "2026-04"))
	diff(t, "stalled at +2h", store.Counts{Started: 2, Stalled: 2}, counts(t, s, hf, t0.Add(2*time.Hour), "2026-04"))

	// 90 minutes idle expires a but not b; vneid is not swept.
	now := t0.Add(100 * time.Minute)
	opts := store.SweepOptions{SessionExpiry: 90 * time.Minute, Hamlets: []string{hf.Hamlet}, Flows: []string{hf.Flow}}
	rep, err := s.Sweep(ctx, now, opts)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "sweep", store.SweepReport{Abandoned: 1}, rep)
	rep, err = s.Sweep(ctx, now, opts)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "second sweep", store.SweepReport{}, rep)
	diff(t, "counts", store.Counts{Started: 2, Abandoned: 1, Stalled: 1}, counts(t, s, hf, now, "2026-04"))
	diff(t, "vneid untouched", store.Counts{Started: 1, Stalled: 1}, counts(t, s, other, now, "2026-04"))

	// Without Hamlets and Flows the sweep covers every known pair. b returns
	// and leaves, which counts nothing twice.
	rep, err = s.Sweep(ctx, now.Add(2*time.Hour), store.SweepOptions{SessionExpiry: 90 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "sweep of known pairs", store.SweepReport{Abandoned: 2}, rep)
	commitApply(t, s, b, "tg:64", flows.Effect{Kind: flows.EffectLeft, Flow: hf.Flow, Hamlet: hf.Hamlet, At: now, Reason: "expired"})
	diff(t, "counts after all expired", store.Counts{Started: 2, Abandoned: 2}, counts(t, s, hf, now, "2026-04"))
	diff(t, "vneid expired", store.Counts{Started: 1, Abandoned: 1}, counts(t, s, other, now, "2026-04"))
}

// testStalledFromSweep: a report reads the stalled residents the sweep
// counted while its count is fresh for the report's cutoff, and counts
// them itself otherwise.
func testStalledFromSweep(t *testing.T, s *store.Redis) {
	ctx := t.Context()
	hf := store.HamletFlow{Hamlet: "h-stall", Flow: "ewallet"}
	quiet := store.HamletFlow{Hamlet: "h-stall", Flow: "vneid"}
	ev := func(kind flows.EffectKind, at time.Time) flows.Effect {
		return flows.Effect{Kind: kind, Flow: hf.Flow, Hamlet: hf.Hamlet, At: at}
	}
	commitApply(t, s, residentID(), "tg:90", ev(flows.EffectStarted, t0.Add(-100*time.Hour)))
	commitApply(t, s, residentID(), "tg:91", ev(flows.EffectStarted, t0))
	wait := 72 * time.Hour
	cutoff := t0.Add(-wait)
	diff(t, "counted by the report", store.Counts{Stalled: 1}, counts(t, s, hf, cutoff, "2026-05"))

	opts := store.SweepOptions{StalledAfter: wait, Hamlets: []string{hf.Hamlet}, Flows: []string{hf.Flow, quiet.Flow}}
	if _, err := s.Sweep(ctx, t0, opts); err != nil {
		t.Fatal(err)
	}
	if ttl := s.Client().TTL(ctx, s.Keys().Stalled()).Val(); ttl <= 0 || ttl > 10*time.Minute {
		t.Errorf("the sweep's stalled counts live %s, want at most 10 min", ttl)
	}
	// A resident idle long enough joins after the sweep: the report reads
	// the sweep's count while it is fresh (within StalledSlack), so it is
	// not seen until the next sweep, or when the report counts itself.
	commitApply(t, s, residentID(), "tg:92", ev(flows.EffectStarted, t0.Add(-90*time.Hour)))
	got, err := s.Counts(ctx, []store.HamletFlow{hf, quiet}, []string{"2026-05"}, cutoff.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "from the sweep", map[store.HamletFlow]store.Counts{hf: {Stalled: 1}, quiet: {}}, got)
	diff(t, "stale for this cutoff: counted", store.Counts{Stalled: 2}, counts(t, s, hf, cutoff.Add(store.StalledSlack+time.Minute), "2026-05"))
	if _, err := s.Sweep(ctx, t0.Add(time.Minute), opts); err != nil {
		t.Fatal(err)
	}
	diff(t, "next sweep", store.Counts{Stalled: 2}, counts(t, s, hf, cutoff, "2026-05"))

	// Counts that are not the sweep's are not trusted.
	if err := s.Client().Set(ctx, s.Keys().Stalled(), "garbage", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	diff(t, "unreadable: counted", store.Counts{Stalled: 2}, counts(t, s, hf, cutoff, "2026-05"))
}

// testCountersOfTheOldLayout: counters of one HASH per hamlet, flow and
// month are moved into the hamlet's month by the first sweep, added to
// what is there, once.
func testCountersOfTheOldLayout(t *testing.T, s *store.Redis) {
	ctx := t.Context()
	hf := store.HamletFlow{Hamlet: "h-old", Flow: "fee-qr"}
	commitApply(t, s, residentID(), "tg:95", flows.Effect{Kind: flows.EffectStarted, Flow: hf.Flow, Hamlet: hf.Hamlet, At: t0})
	old := s.Keys().Prefix() + ":{h:h-old}:count:fee-qr:2026-04"
	oldMarch := s.Keys().Prefix() + ":{h:h-old}:count:fee-qr:2026-03"
	if err := s.Client().HSet(ctx, old, "started", 3, "completed_self", 2, "help", 1).Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.Client().HSet(ctx, oldMarch, "completed_team", 4).Err(); err != nil {
		t.Fatal(err)
	}
	want := store.Counts{Started: 4, CompletedSelf: 2, CompletedTeam: 4, Help: 1}
	for i := range 2 {
		if _, err := s.Sweep(ctx, t0, store.SweepOptions{}); err != nil {
			t.Fatal(err)
		}
		diff(t, fmt.Sprintf("after sweep %d", i+1), want, counts(t, s, hf, t0, "2026-03", "2026-04"))
	}
	if n := s.Client().Exists(ctx, old, oldMarch).Val(); n != 0 {
		t.Errorf("%d counters of the old layout left", n)
	}
}

// testCountsManyHamlets: a report over many hamlets reads each pair's own
// numbers, whichever way stalled residents are counted.
func testCountsManyHamlets(t *testing.T, s *store.Redis) {
	ctx := t.Context()
	var pairs []store.HamletFlow
	var hamlets []string
	for i := range 60 {
		h := fmt.Sprintf("h-many-%02d", i)
		hamlets = append(hamlets, h)
		for _, f := range []string{"ewallet", "vneid"} {
			pairs = append(pairs, store.HamletFlow{Hamlet: h, Flow: f})
		}
	}
	// Hamlet i: i+1 started ewallet (the last of them long idle), i%3 of
	// them finished it; nobody vneid.
	for i, h := range hamlets {
		for j := range i%4 + 1 {
			at := t0
			if j == 0 {
				at = t0.Add(-100 * time.Hour)
			}
			es := []flows.Effect{{Kind: flows.EffectStarted, Flow: "ewallet", Hamlet: h, At: at}}
			if j < i%3 {
				es = append(es, flows.Effect{Kind: flows.EffectCompleted, Flow: "ewallet", Hamlet: h, At: t0})
			}
			commitApply(t, s, residentID(), fmt.Sprintf("tg:m%d-%d", i, j), es...)
		}
	}
	want := map[store.HamletFlow]store.Counts{}
	for i, h := range hamlets {
		started := int64(i%4 + 1)
		done := int64(min(i%3, i%4+1))
		stalled := int64(0)
		if done == 0 {
			stalled = 1 // the idle one, unless finished
		}
		want[store.HamletFlow{Hamlet: h, Flow: "ewallet"}] = store.Counts{Started: started, CompletedSelf: done, Stalled: stalled}
		want[store.HamletFlow{Hamlet: h, Flow: "vneid"}] = store.Counts{}
	}
	cutoff := t0.Add(-72 * time.Hour)
	months := []string{"2026-03", "2026-04"} // t0 − 100 h is still March
	got, err := s.Counts(ctx, pairs, months, cutoff)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "counted by the report", want, got)
	if _, err := s.Sweep(ctx, t0, store.SweepOptions{StalledAfter: 72 * time.Hour, Hamlets: hamlets, Flows: []string{"ewallet", "vneid"}}); err != nil {
		t.Fatal(err)
	}
	got, err = s.Counts(ctx, pairs, months, cutoff)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "with the sweep's stalled counts", want, got)
}

func testSweepSingleRunner(t *testing.T, s *store.Redis) {
	ctx := t.Context()
	key := s.Keys().SweepLock()
	if err := s.Client().Set(ctx, key, "someone else", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	rep, err := s.Sweep(ctx, t0, store.SweepOptions{SessionExpiry: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "sweep while locked", store.SweepReport{Skipped: true}, rep)
	if v, err := s.Client().Get(ctx, key).Result(); err != nil || v != "someone else" {
		t.Errorf("skipped sweep touched the lock: %q %v", v, err)
	}
	if err := s.Client().Del(ctx, key).Err(); err != nil {
		t.Fatal(err)
	}

	// Concurrent sweeps: each either runs or is skipped, and the lock is
	// free afterwards.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			_, err := s.Sweep(ctx, t0, store.SweepOptions{SessionExpiry: time.Hour})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "sweep lock released", func() bool {
		n, err := s.Client().Exists(ctx, key).Result()
		return err == nil && n == 0
	})
	rep, err = s.Sweep(ctx, t0, store.SweepOptions{SessionExpiry: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "sweep after release", store.SweepReport{}, rep)
}

func testAreas(t *testing.T, s *store.Redis) {
	ctx := t.Context()
	hh := 120
	seed := []flows.Area{
		{ID: "c1", Level: flows.LevelCommune, Name: "Xã Một", ParentID: "p1"},
		{ID: "c1-h1", Level: flows.LevelHamlet, Name: "Thôn Một", ParentID: "c1", Households: &hh, Aliases: []string{"thon 1"}},
	}
	added, err := s.SeedAreas(ctx, seed)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "added", 2, added)

	edited := seed[1]
	edited.Name = "Thôn Một (mới)"
	if err := s.PutArea(ctx, edited); err != nil {
		t.Fatal(err)
	}
	more := append([]flows.Area{{ID: "c1-h0", Level: flows.LevelHamlet, Name: "Chưa xác định", ParentID: "c1", Unassigned: true}}, seed...)
	added, err = s.SeedAreas(ctx, more)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "added on reseed", 1, added)
	got, err := s.Areas(ctx)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "areas", []flows.Area{seed[0], more[0], edited}, noCodes(got))
}

func testCountsMonths(t *testing.T, s *store.Redis) {
	hf := store.HamletFlow{Hamlet: "h-months", Flow: "ewallet"}
	march := time.Date(2026, 3, 31, 10, 0, 0, 0, time.UTC) // 17:00 ICT, still March
	ev := func(kind flows.EffectKind, at time.Time) flows.Effect {
		return flows.Effect{Kind: kind, Flow: hf.Flow, Hamlet: hf.Hamlet, At: at}
	}
	a, b := residentID(), residentID()
	commitApply(t, s, a, "tg:70", ev(flows.EffectStarted, march), ev(flows.EffectHelp, march))
	commitApply(t, s, b, "tg:71", ev(flows.EffectStarted, t0), ev(flows.EffectCompleted, t0)) // April in ICT
	tests := []struct {
		months []string
		want   store.Counts
	}{
		{[]string{"2026-03"}, store.Counts{Started: 1, Help: 1, Stalled: 1}},
		{[]string{"2026-04"}, store.Counts{Started: 1, CompletedSelf: 1, Stalled: 1}},
		{[]string{"2026-03", "2026-04"}, store.Counts{Started: 2, Help: 1, CompletedSelf: 1, Stalled: 1}},
		{[]string{"2026-05"}, store.Counts{Stalled: 1}},
		{nil, store.Counts{Stalled: 1}},
	}
	for _, tt := range tests {
		diff(t, fmt.Sprint(tt.months), tt.want, counts(t, s, hf, t0, tt.months...))
	}
	// Several pairs at once, an unknown one included.
	unknown := store.HamletFlow{Hamlet: "nowhere", Flow: "x"}
	got, err := s.Counts(t.Context(), []store.HamletFlow{hf, unknown, hf}, []string{"2026-03", "2026-04"}, t0)
	if err != nil {
		t.Fatal(err)
	}
	want := map[store.HamletFlow]store.Counts{hf: tests[2].want, unknown: {}}
	diff(t, "several pairs", want, got)
}

func testPseudonym(t *testing.T, s *store.Redis) {
	ctx := t.Context()
	res := residentID()
	p := s.Pseudonym(res)
	if n, err := strconv.ParseUint(p, 10, 63); err != nil || strconv.FormatUint(n, 10) != p || p == s.Pseudonym(residentID()) {
		t.Fatalf("pseudonym %q: want a number below 2⁶³, distinct per resident", p)
	}
	if _, ok, err := s.Resident(ctx, p); err != nil || ok {
		t.Fatalf("mapping before any effect: %v %v", ok, err)
	}
	commitApply(t, s, res, "tg:80", flows.Effect{Kind: flows.EffectStarted, Flow: "ewallet", Hamlet: "h-p", At: t0})
	got, ok, err := s.Resident(ctx, p)
	if err != nil || !ok {
		t.Fatalf("mapping after apply: %v %v", ok, err)
	}
	diff(t, "resident", res, got)
	if err := s.Forget(ctx, res); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.Resident(ctx, p); err != nil || ok {
		t.Errorf("mapping after Forget: %v %v", ok, err)
	}
	// The counts stay.
	diff(t, "counts after Forget", store.Counts{Started: 1},
		counts(t, s, store.HamletFlow{Hamlet: "h-p", Flow: "ewallet"}, t0, "2026-04"))
}

// testRetention checks that Sweep hands Retire the residents whose last
// message (the session's Seen) is older than the retention period, and
// only them, reading the sessions a stretch at a time: a forgotten
// resident is not handed over again.
func testRetention(t *testing.T, s *store.Redis) {
	ctx := t.Context()
	now := t0.Add(400 * 24 * time.Hour)
	silent, recent, member := residentID(), residentID(), residentID()
	for _, r := range []struct {
		resident string
		seen     time.Time
	}{{silent, t0}, {recent, now.Add(-24 * time.Hour)}, {member, t0}} {
		if err := s.Commit(ctx, flows.Commit{Resident: r.resident, Session: flows.Session{Seen: r.seen, Name: "Lan"}}); err != nil {
			t.Fatal(err)
		}
	}
	var (
		mu    sync.Mutex
		asked []string
	)
	// On a cluster, Sweep walks the masters at once: Retire is called
	// from several goroutines.
	retire := func(ctx context.Context, resident string, before time.Time) (bool, error) {
		mu.Lock()
		asked = append(asked, resident)
		mu.Unlock()
		if resident == member {
			return false, nil // kept (a team member, say)
		}
		return true, s.Forget(ctx, resident)
	}
	opts := store.SweepOptions{Retention: 365 * 24 * time.Hour, Retire: retire}
	retired := 0
	// The other tests' keys share the server: a few runs end a pass.
	for range 5 {
		rep, err := s.Sweep(ctx, now, opts)
		if err != nil {
			t.Fatal(err)
		}
		retired += rep.Retired
	}
	if !slices.Contains(asked, silent) || !slices.Contains(asked, member) || slices.Contains(asked, recent) {
		t.Errorf("residents handed to Retire: %q; want the silent one and the member, not the recent one", asked)
	}
	if n := len(slices.DeleteFunc(slices.Clone(asked), func(r string) bool { return r != silent })); n != 1 {
		t.Errorf("the forgotten resident was handed to Retire again: %q", asked)
	}
	diff(t, "retired", 1, retired)
	if sess, err := s.Session(ctx, silent); err != nil || sess.Version != 0 {
		t.Errorf("the silent resident's session after Retire: %+v, %v", sess, err)
	}
}

// silentResidents commits n sessions whose last message is at t0.
func silentResidents(t *testing.T, s *store.Redis, n int) []string {
	t.Helper()
	out := make([]string, n)
	for i := range out {
		out[i] = residentID()
		if err := s.Commit(t.Context(), flows.Commit{Resident: out[i], Session: flows.Session{Seen: t0, Name: "Lan"}}); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// testRetentionCap checks that one Sweep hands at most MaxRetires
// residents to Retire, that the next runs go on where it stopped, and
// that the report counts each retired resident once, also when a
// cluster's masters are scanned in parallel (run it with -race).
func testRetentionCap(t *testing.T, s *store.Redis) {
	ctx := t.Context()
	const n, limit = 30, 5
	silent := silentResidents(t, s, n)
	var mu sync.Mutex
	asked := map[string]int{}
	perRun := 0
	retire := func(ctx context.Context, resident string, before time.Time) (bool, error) {
		mu.Lock()
		asked[resident]++
		perRun++
		mu.Unlock()
		return true, s.Forget(ctx, resident)
	}
	opts := store.SweepOptions{Retention: 365 * 24 * time.Hour, Retire: retire, MaxRetires: limit}
	retired := 0
	for run := 0; retired < n && run < 100; run++ {
		perRun = 0
		rep, err := s.Sweep(ctx, t0.Add(400*24*time.Hour), opts)
		if err != nil {
			t.Fatal(err)
		}
		if perRun > limit {
			t.Errorf("run %d handed %d residents to Retire, more than %d", run, perRun, limit)
		}
		diff(t, fmt.Sprintf("run %d: retired in the report", run), perRun, rep.Retired)
		retired += rep.Retired
	}
	diff(t, "retired", n, retired)
	for _, r := range silent {
		if asked[r] != 1 {
			t.Errorf("%s was handed to Retire %d times, want once", r, asked[r])
		}
	}
}

// testRetentionFailure checks that a resident Retire fails on does not
// stop the sweep: it is counted, the residents after it are retired, and
// the cursor moves on, so a later run does not ask for it again before
// the pass ends.
func testRetentionFailure(t *testing.T, s *store.Redis) {
	ctx := t.Context()
	silent := silentResidents(t, s, 6)
	broken := silent[0]
	asked := map[string]int{}
	var mu sync.Mutex
	retire := func(ctx context.Context, resident string, before time.Time) (bool, error) {
		mu.Lock()
		asked[resident]++
		mu.Unlock()
		if resident == broken {
			return false, fmt.Errorf("flows: retire %s: a corrupt session", resident)
		}
		return true, s.Forget(ctx, resident)
	}
	opts := store.SweepOptions{Retention: 365 * 24 * time.Hour, Retire: retire}
	var total store.SweepReport
	// The other tests' keys share the server: a few runs end a pass.
	for range 5 {
		rep, err := s.Sweep(ctx, t0.Add(400*24*time.Hour), opts)
		if err != nil {
			t.Fatalf("sweep: %v", err)
		}
		total.Retired += rep.Retired
		total.RetireFailed += rep.RetireFailed
	}
	diff(t, "retired", len(silent)-1, total.Retired)
	if total.RetireFailed < 1 || total.RetireFailed != asked[broken] {
		t.Errorf("failures in the reports: %d; Retire failed %d times", total.RetireFailed, asked[broken])
	}
	for _, r := range silent[1:] {
		if sess, err := s.Session(ctx, r); err != nil || sess.Version != 0 {
			t.Errorf("%s after the sweeps: %+v, %v", r, sess, err)
		}
	}
}

// testEffectsWaiting checks that Begin tells of effects an earlier turn
// committed but did not apply (a failure after its write), and only until
// they are applied.
func testEffectsWaiting(t *testing.T, s *store.Redis) {
	ctx := t.Context()
	res := residentID()
	commit(t, s, res, "tg:1", flows.Effect{Kind: flows.EffectStarted, Flow: "ewallet", Hamlet: "h-1", At: time.Now()})
	unlock, _, _, err := s.Begin(ctx, res, "tg:2")
	if err != nil {
		t.Fatal(err)
	}
	if !s.EffectsWaiting(res) {
		t.Error("Begin did not tell of the effect left unapplied")
	}
	if err := s.ApplyEffects(ctx, res); err != nil {
		t.Fatal(err)
	}
	unlock()
	if s.EffectsWaiting(res) {
		t.Error("still waiting after the unlock")
	}
	unlock, _, _, err = s.Begin(ctx, res, "tg:3")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	if s.EffectsWaiting(res) {
		t.Error("Begin tells of effects already applied")
	}
}

// testCommitUnlocked checks the write of a turn taken without the lock: it
// happens only while no one holds the lock, for a new update id and the
// version expected, and it takes the lock when effects wait.
func testCommitUnlocked(t *testing.T, s *store.Redis) {
	ctx := t.Context()
	res := residentID()
	held := func() bool { t.Helper(); return lockHeld(t, s, res) }
	sess := flows.Session{Lang: "vi", Hamlet: "h1", Stage: flows.StageMenu, Seen: t0}
	reply := func(id string) []flows.Reply { return []flows.Reply{{ID: id + "#0", Text: "xin chào"}} }
	unlock, err := s.CommitUnlocked(ctx, flows.Commit{Resident: res, Session: sess, UpdateID: "tg:1", Outbox: reply("tg:1")})
	if err != nil || unlock != nil {
		t.Fatalf("first write: unlock %v, err %v; want none and nil", unlock != nil, err)
	}
	if got, err := s.Session(ctx, res); err != nil || got.Version != 1 || got.Hamlet != "h1" {
		t.Fatalf("session after the write: %+v %v", got, err)
	}
	if p, err := s.Processed(ctx, res, "tg:1"); err != nil || !p {
		t.Errorf("update id not recorded: %v %v", p, err)
	}
	if held() {
		t.Error("a write without effects left the lock")
	}
	refused := func(what string, c flows.Commit, want error) {
		t.Helper()
		before, _ := s.Session(ctx, res)
		outbox, _ := s.Outbox(ctx, res)
		if _, err := s.CommitUnlocked(ctx, c); !errors.Is(err, want) {
			t.Fatalf("%s: got %v, want %v", what, err, want)
		}
		after, _ := s.Session(ctx, res)
		outboxAfter, _ := s.Outbox(ctx, res)
		if after.Version != before.Version || len(outboxAfter) != len(outbox) {
			t.Errorf("%s wrote: version %d → %d, outbox %d → %d", what, before.Version, after.Version, len(outbox), len(outboxAfter))
		}
	}
	refused("the same update again", flows.Commit{Resident: res, Expect: 1, Session: sess, UpdateID: "tg:1", Outbox: reply("tg:1")}, flows.ErrDuplicate)
	refused("a moved version", flows.Commit{Resident: res, Expect: 0, Session: sess, UpdateID: "tg:2", Outbox: reply("tg:2")}, flows.ErrStale)
	holder, err := s.Lock(ctx, res)
	if err != nil {
		t.Fatal(err)
	}
	refused("a busy resident", flows.Commit{Resident: res, Expect: 1, Session: sess, UpdateID: "tg:3", Outbox: reply("tg:3")}, flows.ErrLocked)
	holder()
	// Effects: the write takes the lock for them, and the unlock frees it.
	unlock, err = s.CommitUnlocked(ctx, flows.Commit{Resident: res, Expect: 1, Session: sess, UpdateID: "tg:4",
		Effects: []flows.Effect{{Kind: flows.EffectStarted, Flow: "ewallet", Hamlet: "h1", At: t0}}})
	if err != nil || unlock == nil {
		t.Fatalf("write with effects: unlock %v, err %v; want the lock taken", unlock != nil, err)
	}
	// The write kept the lock for its effects, and the last effect's pop
	// releases it in the same script.
	appliedUnder := func(whose string) {
		t.Helper()
		if !held() {
			t.Fatalf("%s: the lock went before the effects were applied", whose)
		}
		if err := s.ApplyEffects(ctx, res); err != nil {
			t.Fatal(err)
		}
		if held() {
			t.Errorf("%s: the lock outlived the effects applied under it", whose)
		}
	}
	appliedUnder("a write without the lock")
	// The turn's unlock then has nothing to do, and frees no one else's.
	other, err := s.Lock(ctx, res)
	if err != nil {
		t.Fatal(err)
	}
	unlock()
	if !held() {
		t.Error("the turn's unlock freed a later holder's lock")
	}
	other()
	diff(t, "counts", store.Counts{Started: 1}, counts(t, s, store.HamletFlow{Hamlet: "h1", Flow: "ewallet"}, t0, "2026-04"))
	// The same under Begin's lock: the pop releases it.
	unlockBegin, _, cur, err := s.Begin(ctx, res, "tg:5")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(ctx, flows.Commit{Resident: res, Expect: cur.Version, ExpectToken: cur.Token, Session: sess, UpdateID: "tg:5",
		Effects: []flows.Effect{{Kind: flows.EffectCompleted, Flow: "ewallet", Hamlet: "h1", At: t0}}}); err != nil {
		t.Fatal(err)
	}
	appliedUnder("Begin's lock")
	unlockBegin()
}

// lockHeld reports whether someone holds the resident's lock.
func lockHeld(t *testing.T, s *store.Redis, resident string) bool {
	t.Helper()
	n, err := s.Client().Exists(t.Context(), s.Keys().Lock(resident)).Result()
	if err != nil {
		t.Fatal(err)
	}
	return n == 1
}

// testPairsAddedAgain: a hamlet × flow pair whose SADD Redis forgot (its
// last second lost) is added again by a later commit within minutes,
// without a restart of the process that remembered adding it.
func testPairsAddedAgain(t *testing.T, s *store.Redis) {
	ctx := t.Context()
	now := t0
	s = store.New(s.Client(), store.Options{Prefix: s.Keys().Prefix(), DataKey: []byte("k"),
		Clock: flows.ClockFunc(func() time.Time { return now })})
	commit := func(update string) {
		t.Helper()
		err := s.Commit(ctx, flows.Commit{Resident: residentID(), UpdateID: update,
			Effects: []flows.Effect{{Kind: flows.EffectStarted, Flow: "ewallet", Hamlet: "h-pairs", At: now}}})
		if err != nil {
			t.Fatal(err)
		}
	}
	inSet := func() bool {
		t.Helper()
		n, err := s.Client().SCard(ctx, s.Keys().Pairs()).Result()
		if err != nil {
			t.Fatal(err)
		}
		return n == 1
	}
	commit("u1")
	if !inSet() {
		t.Fatal("the pair was not added")
	}
	if err := s.Client().Del(ctx, s.Keys().Pairs()).Err(); err != nil { // Redis forgot it
		t.Fatal(err)
	}
	now = now.Add(11 * time.Minute)
	commit("u2")
	if !inSet() {
		t.Error("the pair Redis forgot was not added again by a commit 11 minutes later")
	}
}
