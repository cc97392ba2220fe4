package storetest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hangxomso/hangxom/delivery"
	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/store"
)

// The tests of what a channel uses to send: the outbox index, the send
// markers, the send lock, reachability, the keyboard message, leases and the
// rate limiter.

// commitReplies commits replies for a resident at its current version, as
// the service does under its lock.
func commitReplies(t *testing.T, s *store.Redis, resident, updateID string, replies ...flows.Reply) {
	t.Helper()
	if err := commitRepliesErr(t, s, resident, updateID, replies...); err != nil {
		t.Fatal(err)
	}
}

func commitRepliesErr(t *testing.T, s *store.Redis, resident, updateID string, replies ...flows.Reply) error {
	t.Helper()
	ctx := t.Context()
	sess, err := s.Session(ctx, resident)
	if err != nil {
		return err
	}
	return s.Commit(ctx, flows.Commit{Resident: resident, Expect: sess.Version, ExpectToken: sess.Token, Session: sess,
		UpdateID: updateID, Outbox: replies})
}

// finishSent marks the reply sent and pops it if it heads the outbox, as a
// sender's last Finish does, under a claim of its own (which marks an
// attempt at the head reply if it has no marker yet).
func finishSent(ctx context.Context, s *store.Redis, resident, replyID string) error {
	c, err := s.ClaimOutbox(ctx, resident, delivery.Pace{Rate: 1000, Burst: 1000}, delivery.Limits{MaxText: 4096, OneMessage: 4096, MaxCaption: 1024})
	if err != nil {
		return err
	}
	return c.Finish(ctx, replyID, true, "", true)
}

// indexed reports whether the resident is in the outbox index.
func indexed(t *testing.T, s *store.Redis, resident string) bool {
	t.Helper()
	_, err := s.Client().ZScore(t.Context(), s.Keys().OutboxIndex(), resident).Result()
	if errors.Is(err, redis.Nil) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return true
}

// outboxIDs returns the ids of the resident's outbox.
func outboxIDs(t *testing.T, s *store.Redis, resident string) []string {
	t.Helper()
	out, err := s.Outbox(t.Context(), resident)
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{}
	for _, r := range out {
		ids = append(ids, r.ID)
	}
	return ids
}

func pending(t *testing.T, s *store.Redis, olderThan time.Time, limit int) []string {
	t.Helper()
	got, err := s.PendingOutboxes(t.Context(), olderThan, limit)
	if err != nil {
		t.Fatal(err)
	}
	if got == nil {
		got = []string{}
	}
	return got
}

func testOutboxIndex(t *testing.T, s *store.Redis) {
	ctx := t.Context()
	a, b, quiet := residentID(), residentID(), residentID()
	before := time.Now().Add(-time.Minute)
	commitReplies(t, s, a, "tg:1", flows.Reply{ID: "tg:1:0", Text: "một"}, flows.Reply{ID: "tg:1:1", Text: "hai"})
	commitReplies(t, s, b, "tg:2", flows.Reply{ID: "tg:2:0", Text: "ba"})
	commitReplies(t, s, quiet, "tg:3") // no replies: not indexed
	later := time.Now().Add(time.Minute)

	diff(t, "pending before the commits", []string{}, pending(t, s, before, 0))
	got := pending(t, s, later, 0)
	if len(got) != 2 || !(got[0] == a && got[1] == b || got[0] == b && got[1] == a) {
		t.Fatalf("pending = %v, want %s and %s", got, a, b)
	}
	if n := len(pending(t, s, later, 1)); n != 1 {
		t.Errorf("pending with limit 1 gave %d residents", n)
	}
	if indexed(t, s, quiet) {
		t.Errorf("a commit without replies indexed %s", quiet)
	}

	// A second commit keeps the first score (NX): the replies are as old as
	// the oldest.
	score := func(res string) float64 {
		v, err := s.Client().ZScore(ctx, s.Keys().OutboxIndex(), res).Result()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	first := score(a)
	commitReplies(t, s, a, "tg:4", flows.Reply{ID: "tg:4:0", Text: "bốn"})
	diff(t, "score after a second commit", first, score(a))

	// Draining with AckOutbox, a claim's Finish and DropReply: the resident
	// leaves the index only with the last reply.
	steps := []struct {
		name string
		do   func() error
		ids  []string
		in   bool
	}{
		{"ack tg:1:0", func() error { return s.AckOutbox(ctx, a, "tg:1:0") }, []string{"tg:1:1", "tg:4:0"}, true},
		{"finish tg:1:1", func() error { return finishSent(ctx, s, a, "tg:1:1") }, []string{"tg:4:0"}, true},
		{"drop tg:9:9 (not queued)", func() error { return s.DropReply(ctx, a, "tg:9:9") }, []string{"tg:4:0"}, true},
		{"drop tg:4:0", func() error { return s.DropReply(ctx, a, "tg:4:0") }, []string{}, false},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		diff(t, "outbox after "+st.name, st.ids, outboxIDs(t, s, a))
		diff(t, "indexed after "+st.name, st.in, indexed(t, s, a))
	}

	// Drain b the way a channel does.
	c, err := s.ClaimOutbox(ctx, b, delivery.Pace{Rate: 1000, Burst: 1000}, delivery.Limits{MaxText: 4096, OneMessage: 4096, MaxCaption: 1024})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range c.Replies() {
		st, _, _, err := c.Begin(ctx, r.ID, delivery.Pace{Rate: 1000, Burst: 1000})
		if err != nil || st != delivery.StateNew {
			t.Fatalf("Begin %s: %v %v", r.ID, st, err)
		}
		if err := c.Finish(ctx, r.ID, true, "", i == len(c.Replies())-1); err != nil {
			t.Fatal(err)
		}
	}
	diff(t, "pending after draining", []string{}, pending(t, s, later, 0))

	// A commit that loses its race leaves nothing in the index.
	err = s.Commit(ctx, flows.Commit{Resident: b, Expect: 0, UpdateID: "tg:5",
		Outbox: []flows.Reply{{ID: "tg:5:0", Text: "x"}}})
	if !errors.Is(err, flows.ErrStale) {
		t.Fatalf("stale commit: got %v, want ErrStale", err)
	}
	if indexed(t, s, b) {
		t.Errorf("a stale commit left %s in the outbox index", b)
	}

	// An index entry whose outbox is gone (expired, say) is dropped by
	// PendingOutboxes; one whose outbox holds replies is kept.
	ghost := residentID()
	if err := s.Client().ZAdd(ctx, s.Keys().OutboxIndex(), redis.Z{Score: 1, Member: ghost}).Err(); err != nil {
		t.Fatal(err)
	}
	commitReplies(t, s, a, "tg:6", flows.Reply{ID: "tg:6:0", Text: "sáu"})
	diff(t, "pending with a ghost", []string{a}, pending(t, s, later, 0))
	if indexed(t, s, ghost) {
		t.Errorf("PendingOutboxes kept a resident with an empty outbox")
	}
}

func testSendMarkers(t *testing.T, s *store.Redis) {
	ctx := t.Context()
	res := residentID()
	commitReplies(t, s, res, "tg:1", flows.Reply{ID: "tg:1:0", Text: "a"}, flows.Reply{ID: "tg:1:1", Text: "b"},
		flows.Reply{ID: "tg:1:2", Text: "c"})
	begin := func(id string, want delivery.State) {
		t.Helper()
		got, err := s.BeginSend(ctx, res, id)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("BeginSend %s = %v, want %v", id, got, want)
		}
	}

	begin("tg:1:0", delivery.StateNew)
	begin("tg:1:0", delivery.StateUncertain) // the first attempt's outcome is unknown
	// The head's attempt is there: the claim leaves it as it is.
	c, err := s.ClaimOutbox(ctx, res, delivery.Pace{Rate: 1000, Burst: 1000}, delivery.Limits{MaxText: 4096, OneMessage: 4096, MaxCaption: 1024})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Finish(ctx, "tg:1:0", true, "", false); err != nil {
		t.Fatal(err)
	}
	if err := c.Finish(ctx, "tg:1:0", true, "", true); err != nil { // again: nothing more
		t.Fatal(err)
	}
	diff(t, "outbox after finishing twice", []string{"tg:1:1", "tg:1:2"}, outboxIDs(t, s, res))
	begin("tg:1:0", delivery.StateDone)
	if err := s.AbortSend(ctx, res, "tg:1:0"); err != nil {
		t.Fatal(err)
	}
	begin("tg:1:0", delivery.StateDone) // a reply marked sent stays marked

	// An attempt that surely failed may be retried.
	begin("tg:1:1", delivery.StateNew)
	if err := s.AbortSend(ctx, res, "tg:1:1"); err != nil {
		t.Fatal(err)
	}
	begin("tg:1:1", delivery.StateNew)
	if err := finishSent(ctx, s, res, "tg:1:1"); err != nil {
		t.Fatal(err)
	}

	// An uncertain reply is dropped; its marker stays uncertain.
	begin("tg:1:2", delivery.StateNew)
	begin("tg:1:2", delivery.StateUncertain)
	if err := s.DropReply(ctx, res, "tg:1:2"); err != nil {
		t.Fatal(err)
	}
	diff(t, "outbox after the drop", []string{}, outboxIDs(t, s, res))
	begin("tg:1:2", delivery.StateUncertain)
	if indexed(t, s, res) {
		t.Error("drained outbox still indexed")
	}

	// Finishing a reply that is not at the head marks it but pops nothing.
	commitReplies(t, s, res, "tg:2", flows.Reply{ID: "tg:2:0", Text: "d"}, flows.Reply{ID: "tg:2:1", Text: "e"})
	if err := finishSent(ctx, s, res, "tg:2:1"); err != nil {
		t.Fatal(err)
	}
	diff(t, "outbox after finishing a later reply", []string{"tg:2:0", "tg:2:1"}, outboxIDs(t, s, res))
	begin("tg:2:1", delivery.StateDone)
	if !indexed(t, s, res) {
		t.Error("non-empty outbox not indexed")
	}

	// Markers are per resident, and expire with the outbox.
	other := residentID()
	got, err := s.BeginSend(ctx, other, "tg:2:1")
	if err != nil || got != delivery.StateNew {
		t.Errorf("another resident's BeginSend: %v %v", got, err)
	}
	ttl, err := s.Client().PTTL(ctx, s.Keys().Sent(res)).Result()
	if err != nil {
		t.Fatal(err)
	}
	if ttl < store.OutboxTTL-time.Minute || ttl > store.OutboxTTL {
		t.Errorf("markers' TTL = %v, want about %v", ttl, store.OutboxTTL)
	}
	diff(t, "state names", "new done uncertain",
		fmt.Sprint(delivery.StateNew, " ", delivery.StateDone, " ", delivery.StateUncertain))
}

// testFinishRace runs a sender emptying an outbox against a Commit adding
// to it, many times: whatever the interleaving, a non-empty outbox must end
// in the index.
func testFinishRace(t *testing.T, s *store.Redis) {
	ctx := t.Context()
	const rounds = 150
	for i := range rounds {
		res := residentID()
		commitReplies(t, s, res, "tg:1", flows.Reply{ID: "tg:1:0", Text: "a"})
		start := make(chan struct{})
		var wg sync.WaitGroup
		errs := make(chan error, 3)
		wg.Go(func() {
			<-start
			// Shift the sender by 0 to 4 round trips, so that rounds cover
			// both orders of the pop and the push.
			for range i % 5 {
				if err := s.Client().Ping(ctx).Err(); err != nil {
					errs <- err
					return
				}
			}
			c, err := s.ClaimOutbox(ctx, res, delivery.Pace{Rate: 1000, Burst: 1000}, delivery.Limits{MaxText: 4096, OneMessage: 4096, MaxCaption: 1024})
			if err != nil {
				errs <- err
				return
			}
			if _, _, _, err := c.Begin(ctx, "tg:1:0", delivery.Pace{Rate: 1000, Burst: 1000}); err != nil {
				errs <- err
				return
			}
			errs <- c.Finish(ctx, "tg:1:0", true, "", true)
		})
		wg.Go(func() {
			<-start
			errs <- commitRepliesErr(t, s, res, "tg:2", flows.Reply{ID: "tg:2:0", Text: "b"})
		})
		if i%2 == 1 {
			// Half the rounds also race the stale-entry cleanup.
			wg.Go(func() {
				<-start
				_, err := s.PendingOutboxes(ctx, time.Now().Add(time.Hour), 0)
				errs <- err
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("round %d: %v", i, err)
			}
		}
		diff(t, fmt.Sprintf("round %d: outbox", i), []string{"tg:2:0"}, outboxIDs(t, s, res))
		if !indexed(t, s, res) {
			t.Fatalf("round %d: a non-empty outbox is left out of the index", i)
		}
	}
}

// testSendLock checks the send lock a claim takes: apart from the processing
// lock (neither blocks the other), per resident, with a TTL, and released
// by its own claim only, however often.
func testSendLock(t *testing.T, s *store.Redis) {
	ctx := t.Context()
	res := residentID()
	commitReplies(t, s, res, "tg:1", flows.Reply{ID: "tg:1#0", Text: "a"})
	unlock, err := s.Lock(ctx, res)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	first, err := s.ClaimOutbox(ctx, res, delivery.Pace{Rate: 1000, Burst: 1000}, delivery.Limits{MaxText: 4096, OneMessage: 4096, MaxCaption: 1024})
	if err != nil {
		t.Fatalf("ClaimOutbox while Lock is held: %v", err)
	}
	if _, err := s.ClaimOutbox(ctx, res, delivery.Pace{Rate: 1000, Burst: 1000}, delivery.Limits{MaxText: 4096, OneMessage: 4096, MaxCaption: 1024}); !errors.Is(err, flows.ErrLocked) {
		t.Fatalf("second ClaimOutbox: got %v, want ErrLocked", err)
	}
	other := residentID()
	commitReplies(t, s, other, "tg:1", flows.Reply{ID: "tg:1#0", Text: "a"})
	c, err := s.ClaimOutbox(ctx, other, delivery.Pace{Rate: 1000, Burst: 1000}, delivery.Limits{MaxText: 4096, OneMessage: 4096, MaxCaption: 1024})
	if err != nil {
		t.Fatalf("send lock of another resident: %v", err)
	}
	c.Release(ctx)

	// A stale release does not free the next holder's lock.
	key := s.Keys().SendLock(res)
	if err := s.Client().Del(ctx, key).Err(); err != nil {
		t.Fatal(err)
	}
	second, err := s.ClaimOutbox(ctx, res, delivery.Pace{Rate: 1000, Burst: 1000}, delivery.Limits{MaxText: 4096, OneMessage: 4096, MaxCaption: 1024})
	if err != nil {
		t.Fatal(err)
	}
	first.Release(ctx)
	if n, err := s.Client().Exists(ctx, key).Result(); err != nil || n != 1 {
		t.Fatalf("a stale release freed the send lock: %d %v", n, err)
	}
	ttl, err := s.Client().PTTL(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	if ttl <= 0 || ttl > 10*time.Second {
		t.Errorf("send lock TTL = %v, want in (0, 10s]", ttl)
	}
	second.Release(ctx)
	second.Release(ctx)
	if n, err := s.Client().Exists(ctx, key).Result(); err != nil || n != 0 {
		t.Errorf("send lock after release: %d %v", n, err)
	}
	if n, err := s.Client().Exists(ctx, s.Keys().Lock(res)).Result(); err != nil || n != 1 {
		t.Errorf("releasing the send lock touched the processing lock: %d %v", n, err)
	}
}

func testReachable(t *testing.T, s *store.Redis) {
	ctx := t.Context()
	res := residentID()
	check := func(what string, want bool) {
		t.Helper()
		got, err := s.Reachable(ctx, res)
		if err != nil {
			t.Fatal(err)
		}
		diff(t, what, want, got)
	}
	check("reachable by default", true)
	for _, ok := range []bool{false, false, true, true, false} {
		if err := s.SetReachable(ctx, res, ok); err != nil {
			t.Fatal(err)
		}
		check("after SetReachable("+strconv.FormatBool(ok)+")", ok)
	}
	ttl, err := s.Client().TTL(ctx, s.Keys().Unreachable(res)).Result()
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "unreachable TTL (none)", time.Duration(-1), ttl)
	other, err := s.Reachable(ctx, residentID())
	if err != nil || !other {
		t.Errorf("another resident: %v %v", other, err)
	}
}

func testLease(t *testing.T, s *store.Redis) {
	ctx := t.Context()
	name := "poll-" + randomHex(3)
	key := s.Keys().Lease(name)
	first, ok, err := s.AcquireLease(ctx, name, 10*time.Second)
	if err != nil || !ok || first == nil {
		t.Fatalf("first AcquireLease: %v %v %v", first, ok, err)
	}
	diff(t, "name", name, first.Name())
	// Exclusive while held.
	for range 3 {
		l, ok, err := s.AcquireLease(ctx, name, 10*time.Second)
		if err != nil || ok || l != nil {
			t.Fatalf("AcquireLease while held: %v %v %v", l, ok, err)
		}
	}
	// Another name is independent.
	other, ok, err := s.AcquireLease(ctx, name+"-other", time.Second)
	if err != nil || !ok {
		t.Fatalf("another lease: %v %v", ok, err)
	}
	if err := other.Release(ctx); err != nil {
		t.Fatal(err)
	}

	// Renew extends to the full TTL.
	if err := s.Client().PExpire(ctx, key, time.Second).Err(); err != nil {
		t.Fatal(err)
	}
	if ok, err := first.Renew(ctx); err != nil || !ok {
		t.Fatalf("Renew while held: %v %v", ok, err)
	}
	ttl, err := s.Client().PTTL(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	if ttl <= 5*time.Second || ttl > 10*time.Second {
		t.Errorf("TTL after Renew = %v, want about 10s", ttl)
	}

	// The lease is lost (expiry, simulated) and taken by another runner: the
	// first holder can neither renew nor release it.
	if err := s.Client().Del(ctx, key).Err(); err != nil {
		t.Fatal(err)
	}
	if ok, err := first.Renew(ctx); err != nil || ok {
		t.Fatalf("Renew of an expired lease: %v %v", ok, err)
	}
	if n, err := s.Client().Exists(ctx, key).Result(); err != nil || n != 0 {
		t.Fatalf("Renew revived an expired lease: %d %v", n, err)
	}
	second, ok, err := s.AcquireLease(ctx, name, 10*time.Second)
	if err != nil || !ok {
		t.Fatalf("AcquireLease after expiry: %v %v", ok, err)
	}
	if ok, err := first.Renew(ctx); err != nil || ok {
		t.Fatalf("Renew of a lost lease: %v %v", ok, err)
	}
	if err := first.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if ok, err := second.Renew(ctx); err != nil || !ok {
		t.Fatalf("the new holder's lease after a stale Release: %v %v", ok, err)
	}
	if err := second.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if err := second.Release(ctx); err != nil { // twice is harmless
		t.Fatal(err)
	}
	if n, err := s.Client().Exists(ctx, key).Result(); err != nil || n != 0 {
		t.Fatalf("lease after Release: %d %v", n, err)
	}
	third, ok, err := s.AcquireLease(ctx, name, time.Second)
	if err != nil || !ok {
		t.Fatalf("AcquireLease after Release: %v %v", ok, err)
	}
	_ = third.Release(ctx)
	if _, _, err := s.AcquireLease(ctx, name, 0); err == nil {
		t.Error("AcquireLease with a zero TTL: no error")
	}

	// Concurrent acquirers: exactly one wins.
	var wins atomic.Int64
	var wg sync.WaitGroup
	race := name + "-race"
	for range 8 {
		wg.Go(func() {
			if _, ok, err := s.AcquireLease(ctx, race, 10*time.Second); err == nil && ok {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	diff(t, "winners", int64(1), wins.Load())
}

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func testRateLimit(t *testing.T, s *store.Redis) {
	ctx := t.Context()
	clock := &fakeClock{now: time.Now()}
	// The same keys as s (its cleanup deletes them), on a clock we move.
	s = store.New(s.Client(), store.Options{Prefix: s.Keys().Prefix(), DataKey: []byte("k"), Clock: clock})
	key := "chat:" + randomHex(3)
	type result struct {
		Allowed    bool
		RetryAfter time.Duration
	}
	allow := func(key string, rate float64, burst int) result {
		t.Helper()
		ok, wait, err := s.Allow(ctx, key, rate, burst)
		if err != nil {
			t.Fatal(err)
		}
		return result{ok, wait}
	}
	for i := range 3 {
		diff(t, fmt.Sprintf("request %d of the burst", i+1), result{true, 0}, allow(key, 1, 3))
	}
	diff(t, "request beyond the burst", result{false, time.Second}, allow(key, 1, 3))
	diff(t, "denied again", result{false, time.Second}, allow(key, 1, 3))
	ttl, err := s.Client().PTTL(ctx, s.Keys().Rate(key)).Result()
	if err != nil {
		t.Fatal(err)
	}
	if ttl <= 2*time.Second || ttl > 3*time.Second {
		t.Errorf("limiter TTL = %v, want about 3s (a full burst)", ttl)
	}
	clock.Add(400 * time.Millisecond)
	diff(t, "after 400ms", result{false, 600 * time.Millisecond}, allow(key, 1, 3))
	clock.Add(600 * time.Millisecond)
	diff(t, "after 1s", result{true, 0}, allow(key, 1, 3))
	diff(t, "and then", result{false, time.Second}, allow(key, 1, 3))
	clock.Add(10 * time.Second) // idle: the full burst is back, no more
	for i := range 3 {
		diff(t, fmt.Sprintf("request %d after a pause", i+1), result{true, 0}, allow(key, 1, 3))
	}
	diff(t, "beyond the burst after a pause", result{false, time.Second}, allow(key, 1, 3))

	// Limiters are independent; a fractional interval works.
	fast := "global:" + randomHex(3)
	diff(t, "30/s first", result{true, 0}, allow(fast, 30, 1))
	// The TAT is kept in whole µs: the wait may be 1µs short of 1/30 s.
	if got := allow(fast, 30, 1); got.Allowed || got.RetryAfter < 33333*time.Microsecond || got.RetryAfter > 33334*time.Microsecond {
		t.Errorf("30/s second = %+v, want denied for 1/30 s", got)
	}
	clock.Add(34 * time.Millisecond)
	diff(t, "30/s after 34ms", result{true, 0}, allow(fast, 30, 1))
	diff(t, "burst 0 counts as 1", result{true, 0}, allow("zero:"+randomHex(3), 1, 0))
	for _, bad := range []float64{0, -1} {
		if _, _, err := s.Allow(ctx, key, bad, 1); err == nil {
			t.Errorf("Allow with rate %v: no error", bad)
		}
	}

	// Replicas share the limit: concurrent callers get exactly the burst.
	shared := "shared:" + randomHex(3)
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if ok, _, err := s.Allow(ctx, shared, 1, 5); err == nil && ok {
				allowed.Add(1)
			}
		})
	}
	wg.Wait()
	diff(t, "allowed of 20 concurrent requests, burst 5", int64(5), allowed.Load())
}

// testSendClaim walks the send path of the Telegram channel: the claim takes
// the lock, reads the outbox and paces and marks the first reply; a later
// reply is paced and marked by Begin; the last Finish pops, records the
// keyboard message, releases the lock and leaves the outbox index; a
// conversation reply's markers go with it, an enqueued reply's stay.
func testSendClaim(t *testing.T, s *store.Redis) {
	ctx := t.Context()
	res := residentID()
	commitReplies(t, s, res, "tg:900", flows.Reply{ID: "tg:900#0", Text: "một"}, flows.Reply{ID: "tg:900#1", Text: "hai"})
	c, err := s.ClaimOutbox(ctx, res, delivery.Pace{Rate: 10, Burst: 5}, delivery.Limits{MaxText: 4096, OneMessage: 4096, MaxCaption: 1024})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(c.Replies()); got != 2 {
		t.Fatalf("claimed %d replies, want 2", got)
	}
	if _, err := s.ClaimOutbox(ctx, res, delivery.Pace{Rate: 10, Burst: 5}, delivery.Limits{MaxText: 4096, OneMessage: 4096, MaxCaption: 1024}); !errors.Is(err, flows.ErrLocked) {
		t.Fatalf("a second claim: %v, want ErrLocked", err)
	}
	st, wait, kb, err := c.Begin(ctx, "tg:900#0", delivery.Pace{Rate: 10, Burst: 5})
	if err != nil || st != delivery.StateNew || wait != 0 || kb != "" {
		t.Fatalf("first Begin = %v %v %q %v, want new, no wait, no keyboard", st, wait, kb, err)
	}
	// The claim marked it: a second look finds the attempt.
	if again, _ := s.BeginSend(ctx, res, "tg:900#0"); again != delivery.StateUncertain {
		t.Fatalf("the claim's mark: %v, want an attempt (uncertain)", again)
	}
	if err := c.Finish(ctx, "tg:900#0", true, "101", false); err != nil {
		t.Fatal(err)
	}
	st, _, kb, err = c.Begin(ctx, "tg:900#1", delivery.Pace{Rate: 10, Burst: 5})
	if err != nil || st != delivery.StateNew || kb != "101" {
		t.Fatalf("second Begin = %v keyboard %q %v, want new and keyboard 101", st, kb, err)
	}
	if err := c.Finish(ctx, "tg:900#1", true, "102", true); err != nil {
		t.Fatal(err)
	}
	if ids := outboxIDs(t, s, res); len(ids) != 0 {
		t.Fatalf("outbox after the last finish: %v", ids)
	}
	if indexed(t, s, res) {
		t.Error("resident still in the outbox index")
	}
	if n, _ := s.Client().Exists(ctx, s.Keys().Sent(res)).Result(); n != 0 {
		t.Error("a conversation reply's markers outlived it")
	}
	if v, _ := s.Client().Get(ctx, s.Keys().ButtonsMessage(res)).Result(); v != "102" {
		t.Errorf("keyboard message %q, want 102", v)
	}
	c2, err := s.ClaimOutbox(ctx, res, delivery.Pace{Rate: 10, Burst: 5}, delivery.Limits{MaxText: 4096, OneMessage: 4096, MaxCaption: 1024})
	if err != nil || len(c2.Replies()) != 0 {
		t.Fatalf("claim after release: %v, %d replies", err, len(c2.Replies()))
	}

	// An enqueued reply keeps its marker: enqueued again, it is not sent again.
	if err := s.Enqueue(ctx, res, flows.Reply{ID: "remind:1", Text: "nhắc"}); err != nil {
		t.Fatal(err)
	}
	c3, err := s.ClaimOutbox(ctx, res, delivery.Pace{Rate: 1000, Burst: 1000}, delivery.Limits{MaxText: 4096, OneMessage: 4096, MaxCaption: 1024})
	if err != nil {
		t.Fatal(err)
	}
	if st, _, _, _ := c3.Begin(ctx, "remind:1", delivery.Pace{Rate: 1000, Burst: 1000}); st != delivery.StateNew {
		t.Fatalf("enqueued reply: %v, want new", st)
	}
	if err := c3.Finish(ctx, "remind:1", true, "", true); err != nil {
		t.Fatal(err)
	}
	if err := s.Enqueue(ctx, res, flows.Reply{ID: "remind:1", Text: "nhắc"}); err != nil {
		t.Fatal(err)
	}
	c4, err := s.ClaimOutbox(ctx, res, delivery.Pace{Rate: 1000, Burst: 1000}, delivery.Limits{MaxText: 4096, OneMessage: 4096, MaxCaption: 1024})
	if err != nil {
		t.Fatal(err)
	}
	if st, _, _, _ := c4.Begin(ctx, "remind:1", delivery.Pace{Rate: 1000, Burst: 1000}); st != delivery.StateDone {
		t.Fatalf("an enqueued reply queued again: %v, want done (sent once)", st)
	}
	c4.Release(ctx)

	// The pace: a burst of one at one a second; the next claim must wait.
	other := residentID()
	commitReplies(t, s, other, "tg:901", flows.Reply{ID: "tg:901#0", Text: "a"})
	c5, _ := s.ClaimOutbox(ctx, other, delivery.Pace{Rate: 1, Burst: 1}, delivery.Limits{MaxText: 4096, OneMessage: 4096, MaxCaption: 1024})
	if st, wait, _, _ := c5.Begin(ctx, "tg:901#0", delivery.Pace{Rate: 1, Burst: 1}); st != delivery.StateNew || wait != 0 {
		t.Fatalf("first message: %v wait %v", st, wait)
	}
	_ = c5.Finish(ctx, "tg:901#0", true, "", true)
	commitReplies(t, s, other, "tg:902", flows.Reply{ID: "tg:902#0", Text: "b"})
	c6, _ := s.ClaimOutbox(ctx, other, delivery.Pace{Rate: 1, Burst: 1}, delivery.Limits{MaxText: 4096, OneMessage: 4096, MaxCaption: 1024})
	if _, wait, _, _ := c6.Begin(ctx, "tg:902#0", delivery.Pace{Rate: 1, Burst: 1}); wait <= 0 {
		t.Fatal("a second message within the second was not paced")
	}
	c6.Release(ctx)
	if ids := outboxIDs(t, s, other); len(ids) != 1 {
		t.Fatalf("a paced reply must stay queued: %v", ids)
	}
}

// testSendClaimNext checks that a Finish told of the next reply paces and
// marks it in the same round trip: the next Begin asks Redis nothing, and
// finds the message with buttons the Finish recorded.
func testSendClaimNext(t *testing.T, s *store.Redis) {
	ctx := t.Context()
	res := residentID()
	commitReplies(t, s, res, "tg:950", flows.Reply{ID: "tg:950#0", Text: "một"}, flows.Reply{ID: "tg:950#1", Text: "hai"},
		flows.Reply{ID: "tg:950#2", Text: "ba"})
	rt := &store.RoundTrips{}
	s.Client().AddHook(rt)
	c, err := s.ClaimOutbox(ctx, res, delivery.Pace{Rate: 10, Burst: 5}, delivery.Limits{MaxText: 4096, OneMessage: 4096, MaxCaption: 1024})
	if err != nil {
		t.Fatal(err)
	}
	if st, _, _, err := c.Begin(ctx, "tg:950#0", delivery.Pace{Rate: 10, Burst: 5}); err != nil || st != delivery.StateNew {
		t.Fatalf("first Begin = %v %v", st, err)
	}
	c.Next("tg:950#1", delivery.Pace{Rate: 10, Burst: 5})
	if err := c.Finish(ctx, "tg:950#0", true, "201", false); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.Client().HGet(ctx, s.Keys().Sent(res), "tg:950#1").Result(); v != "attempt" {
		t.Fatalf("the next reply's marker after the Finish: %q, want attempt", v)
	}
	before := rt.Total()
	st, wait, kb, err := c.Begin(ctx, "tg:950#1", delivery.Pace{Rate: 10, Burst: 5})
	if err != nil || st != delivery.StateNew || wait != 0 || kb != "201" {
		t.Fatalf("Begin of the next = %v %v keyboard %q %v, want new, no wait, keyboard 201", st, wait, kb, err)
	}
	if n := rt.Total() - before; n != 0 {
		t.Errorf("Begin of a reply the Finish marked took %d round trips, want 0", n)
	}
	// Without Next, Begin asks (and the last Finish releases the claim).
	if err := c.Finish(ctx, "tg:950#1", true, "", false); err != nil {
		t.Fatal(err)
	}
	before = rt.Total()
	if st, _, _, err := c.Begin(ctx, "tg:950#2", delivery.Pace{Rate: 10, Burst: 5}); err != nil || st != delivery.StateNew {
		t.Fatalf("Begin of the third = %v %v", st, err)
	}
	if n := rt.Total() - before; n < 1 {
		t.Errorf("Begin without Next asked Redis nothing (%d round trips)", n)
	}
	if err := c.Finish(ctx, "tg:950#2", true, "", true); err != nil {
		t.Fatal(err)
	}
	if ids := outboxIDs(t, s, res); len(ids) != 0 {
		t.Fatalf("outbox after the last finish: %v", ids)
	}
	if c2, err := s.ClaimOutbox(ctx, res, delivery.Pace{Rate: 10, Burst: 5}, delivery.Limits{MaxText: 4096, OneMessage: 4096, MaxCaption: 1024}); err != nil || len(c2.Replies()) != 0 {
		t.Fatalf("claim after release: %v", err)
	}
}

// testDeferFinishes checks DeferFinishes: a claim's last Finish costs no
// round trip and keeps the send lock; the resident's next claim writes it
// in its own round trip (the reply popped and marked, the keyboard message
// recorded), and the Finishes of several residents left alone go in one
// round trip after the delay; when DeferFinishes ends, nothing is left held.
func testDeferFinishes(t *testing.T, s *store.Redis) {
	ctx, cancel := context.WithCancel(t.Context())
	// As serve does at start: every node has the scripts, so that the
	// counts below are not those of a NOSCRIPT answer.
	if err := s.LoadScripts(ctx); err != nil {
		t.Fatal(err)
	}
	rt := &store.RoundTrips{}
	s.Client().AddHook(rt)

	// deliver claims the resident's outbox and sends (without sending) its
	// one reply, ending with the last Finish; it returns the round trips
	// the Finish took.
	deliver := func(res, id string, kb delivery.Handle) int64 {
		t.Helper()
		c, err := s.ClaimOutbox(ctx, res, delivery.Pace{Rate: 1000, Burst: 1000}, delivery.Limits{MaxText: 4096, OneMessage: 4096, MaxCaption: 1024})
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Replies()) != 1 || c.Replies()[0].ID != id {
			t.Fatalf("claimed %v, want %s alone", c.Replies(), id)
		}
		if st, _, _, err := c.Begin(ctx, id, delivery.Pace{Rate: 1000, Burst: 1000}); err != nil || st != delivery.StateNew {
			t.Fatalf("Begin %s = %v %v", id, st, err)
		}
		before := rt.Total()
		if err := c.Finish(ctx, id, true, kb, true); err != nil {
			t.Fatal(err)
		}
		return rt.Total() - before
	}
	// Before DeferFinishes, a Finish is written at once.
	res := residentID()
	commitReplies(t, s, res, "tg:1999", flows.Reply{ID: "tg:1999#0", Text: "không"})
	if n := deliver(res, "tg:1999#0", ""); n == 0 {
		t.Fatal("a Finish without DeferFinishes was held")
	}
	var stopped sync.WaitGroup
	stopped.Add(1)
	// A delay long enough for three Finishes held one after another on a
	// loaded CI machine to be written together.
	go func() { defer stopped.Done(); s.DeferFinishes(ctx, time.Second) }()
	t.Cleanup(func() { cancel(); stopped.Wait() })
	// Wait until DeferFinishes runs: a Finish held costs nothing.
	for i := 0; ; i++ {
		id := fmt.Sprintf("tg:%d#0", 2000+i)
		commitReplies(t, s, res, fmt.Sprintf("tg:%d", 2000+i), flows.Reply{ID: id, Text: "một"})
		if deliver(res, id, delivery.Handle(strconv.Itoa(301+i))) == 0 {
			break
		}
		if i == 50 {
			t.Fatal("every Finish took a round trip: DeferFinishes holds none")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Held: the reply is still queued and the lock still taken.
	if ids := outboxIDs(t, s, res); len(ids) != 1 {
		t.Fatalf("outbox with the Finish held: %v, want the reply still there", ids)
	}
	if n, _ := s.Client().Exists(ctx, s.Keys().SendLock(res)).Result(); n != 1 {
		t.Fatal("the send lock went before the held Finish was written")
	}
	// The next claim writes it, in one round trip with its own work.
	commitReplies(t, s, res, "tg:999", flows.Reply{ID: "tg:999#0", Text: "hai"})
	before := rt.Total()
	c, err := s.ClaimOutbox(ctx, res, delivery.Pace{Rate: 1000, Burst: 1000}, delivery.Limits{MaxText: 4096, OneMessage: 4096, MaxCaption: 1024})
	if err != nil {
		t.Fatalf("the claim after a held Finish: %v", err)
	}
	if n := rt.Total() - before; n != 1 {
		t.Errorf("the claim with a held Finish took %d round trips, want 1", n)
	}
	if got := c.Replies(); len(got) != 1 || got[0].ID != "tg:999#0" {
		t.Fatalf("claimed %v, want the new reply alone (the held one popped)", got)
	}
	st, _, kb, err := c.Begin(ctx, "tg:999#0", delivery.Pace{Rate: 1000, Burst: 1000})
	if err != nil || st != delivery.StateNew || kb == "" {
		t.Fatalf("Begin = %v keyboard %q %v, want new and the held Finish's keyboard", st, kb, err)
	}
	c.Release(ctx)

	// Residents left alone: their Finishes are written after the delay, a
	// first one alone (which also loads the script on every node), then
	// three together.
	written := func(rs []string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for _, r := range rs {
			for len(outboxIDs(t, s, r)) != 0 || indexed(t, s, r) {
				if time.Now().After(deadline) {
					t.Fatalf("resident %s: the held Finish was not written within 5 s", r)
				}
				time.Sleep(20 * time.Millisecond)
			}
			if c, err := s.ClaimOutbox(ctx, r, delivery.Pace{Rate: 1000, Burst: 1000}, delivery.Limits{MaxText: 4096, OneMessage: 4096, MaxCaption: 1024}); err != nil || len(c.Replies()) != 0 {
				t.Fatalf("claim after the delay: %v (want the lock free and nothing left)", err)
			}
		}
	}
	warm := residentID()
	commitReplies(t, s, warm, "tg:1099", flows.Reply{ID: "tg:1099#0", Text: "ba"})
	if n := deliver(warm, "tg:1099#0", ""); n != 0 {
		t.Fatalf("a held Finish took %d round trips", n)
	}
	written([]string{warm})
	var alone []string
	for i := range 3 {
		r := residentID()
		id := fmt.Sprintf("tg:%d#0", 1100+i)
		commitReplies(t, s, r, fmt.Sprintf("tg:%d", 1100+i), flows.Reply{ID: id, Text: "ba"})
		if n := deliver(r, id, ""); n != 0 {
			t.Fatalf("a held Finish took %d round trips", n)
		}
		alone = append(alone, r)
	}
	flushes := func() int64 { return rt.ByOp()["pipeline(script:finish)"] }
	before = flushes()
	written(alone)
	if n := flushes() - before; n != 1 {
		t.Errorf("three held Finishes written in %d round trips, want 1", n)
	}

	// Ended: what is held is written before DeferFinishes returns.
	last := residentID()
	commitReplies(t, s, last, "tg:1200", flows.Reply{ID: "tg:1200#0", Text: "bốn"})
	if n := deliver(last, "tg:1200#0", ""); n != 0 {
		t.Fatalf("a held Finish took %d round trips", n)
	}
	cancel()
	stopped.Wait()
	if ids := outboxIDs(t, s, last); len(ids) != 0 {
		t.Fatalf("outbox after DeferFinishes ended: %v", ids)
	}
	if n, _ := s.Client().Exists(context.Background(), s.Keys().SendLock(last)).Result(); n != 0 {
		t.Error("send lock left after DeferFinishes ended")
	}
}
