package store_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/hangxomso/hangxom/delivery"
	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/store"
)

// These tests make Redis forget its last writes, as it does when it crashes
// within appendfsync everysec's second or a Sentinel failover promotes a
// replica that had not got them: every key of the test goes back to a
// snapshot taken earlier (a prefix of the write stream), while the bot's
// process keeps its memory and the world keeps what the bot did (a message
// counted by the transport stays sent). Each checks that what came back
// leaves no resident, reminder, lock or lease stuck. See store/keys.go
// ("Lost second") and docs/operations.md.

// rollbackRedis is one Redis the tests run on, and how time passes on it
// for the keys' TTLs.
type rollbackRedis struct {
	c      *redis.Client
	prefix string
	pass   func(time.Duration)
}

// onRollbackRedis runs fn on miniredis and, when TEST_REDIS_URL is set, on
// that server (under a prefix of its own).
func onRollbackRedis(t *testing.T, fn func(t *testing.T, b rollbackRedis)) {
	t.Run("miniredis", func(t *testing.T) {
		m := miniredis.RunT(t)
		c := redis.NewClient(&redis.Options{Addr: m.Addr()})
		t.Cleanup(func() { _ = c.Close() })
		fn(t, rollbackRedis{c: c, prefix: "hxrb", pass: m.FastForward})
	})
	t.Run("real", func(t *testing.T) {
		url := requireEnv(t, "TEST_REDIS_URL")
		opts, err := redis.ParseURL(url)
		if err != nil {
			t.Fatal(err)
		}
		c := redis.NewClient(opts)
		t.Cleanup(func() { _ = c.Close() })
		b := make([]byte, 6)
		_, _ = rand.Read(b)
		prefix := "hxrb" + hex.EncodeToString(b)
		t.Cleanup(func() {
			ctx := context.WithoutCancel(t.Context())
			for _, pat := range []string{prefix + "*", "rollback:*" + prefix + "*"} {
				for _, k := range scanKeys(ctx, t, c, pat) {
					c.Del(ctx, k)
				}
			}
		})
		fn(t, rollbackRedis{c: c, prefix: prefix, pass: time.Sleep})
	})
}

func scanKeys(ctx context.Context, t *testing.T, c *redis.Client, pattern string) []string {
	t.Helper()
	var keys []string
	iter := c.Scan(ctx, 0, pattern, 100).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	return keys
}

var snapshots struct {
	mu sync.Mutex
	n  int
}

// snapshot is every key of a test as it was at one moment, copied (COPY,
// which keeps each key's expiry) under names of its own.
type snapshot struct {
	b      rollbackRedis
	shadow string
	keys   []string
}

// take copies every key under the test's prefix.
func (b rollbackRedis) take(t *testing.T) *snapshot {
	t.Helper()
	snapshots.mu.Lock()
	snapshots.n++
	n := snapshots.n
	snapshots.mu.Unlock()
	ctx := t.Context()
	s := &snapshot{b: b, shadow: "rollback:" + strconv.Itoa(n) + ":"}
	s.keys = scanKeys(ctx, t, b.c, b.prefix+"*")
	for _, k := range s.keys {
		if err := b.c.Copy(ctx, k, s.shadow+k, 0, true).Err(); err != nil {
			t.Fatalf("snapshot %s: %v", k, err)
		}
	}
	return s
}

// forget puts every key under the test's prefix back as it was when the
// snapshot was taken: keys written since are deleted, keys changed since
// get their old value and expiry. A key that expired meanwhile stays gone,
// as it would after Redis read its append-only file back.
func (s *snapshot) forget(t *testing.T) {
	t.Helper()
	ctx := t.Context()
	for _, k := range scanKeys(ctx, t, s.b.c, s.b.prefix+"*") {
		if err := s.b.c.Del(ctx, k).Err(); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range s.keys {
		if err := s.b.c.Copy(ctx, s.shadow+k, k, 0, true).Err(); err != nil {
			t.Fatalf("roll back %s: %v", k, err)
		}
	}
}

// countingTransport is a channel that takes every message and counts
// them; snap, if set, runs at each send, before the platform's answer.
type countingTransport struct {
	mu   sync.Mutex
	sent []string
	snap func()
}

func (c *countingTransport) Name() string     { return "test" }
func (c *countingTransport) Owns(string) bool { return true }

func (c *countingTransport) Limits() delivery.Limits {
	return delivery.Limits{MaxText: 4096, OneMessage: 4096}
}

func (c *countingTransport) Send(_ context.Context, _ string, m delivery.Message) delivery.Result {
	c.mu.Lock()
	c.sent = append(c.sent, m.ID)
	snap := c.snap
	c.snap = nil
	c.mu.Unlock()
	if snap != nil {
		snap()
	}
	return delivery.Result{Outcome: delivery.Sent}
}

func (c *countingTransport) TakeOffButtons(context.Context, string, delivery.Handle) error {
	return nil
}

func (c *countingTransport) count() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.sent)
}

// A reply was sent and its finish written (marked sent, popped, the send
// lock released, the outbox index left), held a moment or not; Redis then
// forgets the finish. The reply comes back to the outbox under the claim's
// "attempt" marker, with the claim's lock: the lock frees by its TTL, the
// recovery scan lists the outbox, and the next drain pops the reply without
// sending it again. Forgetting the claim too sends it again (a duplicate):
// at most once holds only for what Redis remembers.
func TestRolledBackFinishIsNotSentAgainNorStuck(t *testing.T) {
	for _, held := range []bool{false, true} {
		name := "finish written at once"
		if held {
			name = "finish held, then written"
		}
		t.Run(name, func(t *testing.T) {
			onRollbackRedis(t, func(t *testing.T, b rollbackRedis) {
				testRolledBackFinish(t, b, held)
			})
		})
	}
}

func testRolledBackFinish(t *testing.T, b rollbackRedis, held bool) {
	ctx := t.Context()
	const lockTTL = 300 * time.Millisecond
	s := store.New(b.c, store.Options{Prefix: b.prefix, LockTTL: lockTTL})
	const who = "tg:7"
	if err := s.Commit(ctx, flows.Commit{Resident: who, UpdateID: "u1", Session: flows.Session{Version: 1},
		Outbox: []flows.Reply{{ID: "u1#0", Text: "Chào bác"}}}); err != nil {
		t.Fatal(err)
	}
	tr := &countingTransport{}
	finishDelay := time.Duration(-1)
	if held {
		dctx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); s.DeferFinishes(dctx, 20*time.Millisecond) }()
		t.Cleanup(func() { stop(); <-done })
		time.Sleep(10 * time.Millisecond) // DeferFinishes is on
		finishDelay = 20 * time.Millisecond
	}
	core := &delivery.Core{Store: s, Transports: []delivery.Transport{tr}, Chat: delivery.Unpaced, FinishDelay: finishDelay}
	before := b.take(t)
	var claimed *snapshot
	tr.snap = func() { claimed = b.take(t) } // the claim and its marker are written; the finish is not
	if err := core.Drain(ctx, who); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the finish written", func() bool {
		n, err := b.c.LLen(ctx, s.Keys().Outbox(who)).Result()
		return err == nil && n == 0
	})
	if got := tr.count(); len(got) != 1 {
		t.Fatalf("sent %v, want the reply once", got)
	}

	claimed.forget(t)
	if n, _ := b.c.LLen(ctx, s.Keys().Outbox(who)).Result(); n != 1 {
		t.Fatalf("after the rollback the outbox holds %d replies, want the reply back", n)
	}
	var later *delivery.Later
	if err := core.Drain(ctx, who); !errors.As(err, &later) {
		t.Errorf("drain while the finished claim's lock is back: %v, want Later", err)
	}
	pending, err := s.PendingOutboxes(ctx, time.Now().Add(time.Hour), 0)
	if err != nil || !slices.Contains(pending, who) {
		t.Errorf("the recovery scan's list: %v, %v; want %s in it", pending, err, who)
	}
	b.pass(lockTTL + 50*time.Millisecond)
	if err := core.Drain(ctx, who); err != nil {
		t.Fatalf("drain once the lock expired: %v", err)
	}
	if got := tr.count(); len(got) != 1 {
		t.Errorf("sent %v after the rollback, want the reply still once (its attempt marker came back)", got)
	}
	waitFor(t, "the outbox drained", func() bool {
		n, err := b.c.LLen(ctx, s.Keys().Outbox(who)).Result()
		return err == nil && n == 0
	})
	if pending, err := s.PendingOutboxes(ctx, time.Now().Add(time.Hour), 0); err != nil || len(pending) != 0 {
		t.Errorf("the recovery scan still lists %v (%v)", pending, err)
	}
	if n, _ := b.c.Exists(ctx, s.Keys().SendLock(who)).Result(); n != 0 {
		t.Error("the send lock is still held after the drain")
	}

	// Redis forgets the claim as well: nothing marks the reply, so it is
	// sent again.
	before.forget(t)
	if err := core.Drain(ctx, who); err != nil {
		t.Fatal(err)
	}
	if got := tr.count(); len(got) != 2 {
		t.Errorf("sent %v after forgetting the claim, want the reply twice (a duplicate, not a loss)", got)
	}
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A turn's lock came back with a token whose turn is over (its release, in
// the commit, was forgotten): the resident's next turn waits, then runs
// once the lock's TTL ends. The update id is forgotten too: a redelivery
// would run again.
func TestRolledBackTurnLockFreesByItself(t *testing.T) {
	onRollbackRedis(t, func(t *testing.T, b rollbackRedis) {
		ctx := t.Context()
		const lockTTL = 300 * time.Millisecond
		s := store.New(b.c, store.Options{Prefix: b.prefix, LockTTL: lockTTL, LockWait: 50 * time.Millisecond})
		const who = "tg:8"
		unlock, seen, _, err := s.Begin(ctx, who, "u1")
		if err != nil || seen {
			t.Fatalf("Begin: %v, seen %v", err, seen)
		}
		locked := b.take(t)
		if err := s.Commit(ctx, flows.Commit{Resident: who, UpdateID: "u1", Session: flows.Session{Version: 1}, Release: true}); err != nil {
			t.Fatal(err)
		}
		unlock()
		locked.forget(t)
		if _, _, _, err := s.Begin(ctx, who, "u2"); !errors.Is(err, flows.ErrLocked) {
			t.Fatalf("Begin with the forgotten turn's lock back: %v, want ErrLocked", err)
		}
		b.pass(lockTTL + 50*time.Millisecond)
		unlock, seen, sess, err := s.Begin(ctx, who, "u2")
		if err != nil {
			t.Fatalf("Begin once the lock expired: %v", err)
		}
		defer unlock()
		if seen || sess.Version != 0 {
			t.Errorf("Begin: seen %v, version %d; want a new update on the session before the forgotten turn", seen, sess.Version)
		}
		if done, err := s.Processed(ctx, who, "u1"); err != nil || done {
			t.Errorf("u1 processed = %v, %v; want forgotten", done, err)
		}
	})
}

// A lease taken in the forgotten second is gone: its holder's next renewal
// says so (the poller stops) and another replica takes it. A lease released
// in it is back with its old holder's token: nobody gets it until it
// expires, then anyone does.
func TestRolledBackLeaseFreesByItself(t *testing.T) {
	onRollbackRedis(t, func(t *testing.T, b rollbackRedis) {
		ctx := t.Context()
		const ttl = 300 * time.Millisecond
		s := store.New(b.c, store.Options{Prefix: b.prefix})
		free := b.take(t)
		a, ok, err := s.AcquireLease(ctx, "telegram-poll", ttl)
		if err != nil || !ok {
			t.Fatalf("acquire: %v %v", ok, err)
		}
		free.forget(t)
		if ok, err := a.Renew(ctx); err != nil || ok {
			t.Errorf("renew of a forgotten lease: %v %v, want false (lost)", ok, err)
		}
		other, ok, err := s.AcquireLease(ctx, "telegram-poll", ttl)
		if err != nil || !ok {
			t.Fatalf("another replica's acquire: %v %v", ok, err)
		}
		held := b.take(t)
		if err := other.Release(ctx); err != nil {
			t.Fatal(err)
		}
		third, ok, err := s.AcquireLease(ctx, "telegram-poll", ttl)
		if err != nil || !ok {
			t.Fatalf("acquire after release: %v %v", ok, err)
		}
		held.forget(t)
		if ok, err := third.Renew(ctx); err != nil || ok {
			t.Errorf("renew of a lease whose taking was forgotten: %v %v, want false", ok, err)
		}
		if _, ok, err := s.AcquireLease(ctx, "telegram-poll", ttl); err != nil || ok {
			t.Errorf("acquire while the released lease is back: %v %v, want not taken", ok, err)
		}
		b.pass(ttl + 50*time.Millisecond)
		if _, ok, err := s.AcquireLease(ctx, "telegram-poll", ttl); err != nil || !ok {
			t.Errorf("acquire once it expired: %v %v, want taken", ok, err)
		}
	})
}

// A reminder's ack is forgotten: it is in flight again and goes back to the
// queue when its lease ends; its own "reminded" mark lets it through, and
// it is then acked for good. Forgetting the take as well puts it straight
// back in the queue (it is sent again: a duplicate).
func TestRolledBackReminderIsTakenAgain(t *testing.T) {
	onRollbackRedis(t, func(t *testing.T, b rollbackRedis) {
		ctx := t.Context()
		s := store.New(b.c, store.Options{Prefix: b.prefix})
		now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
		x := flows.Reminder{ID: "r1", Resident: "tg:9", Flow: "ewallet", By: "tg:1", Due: now}
		if err := s.QueueReminders(ctx, []flows.Reminder{x}); err != nil {
			t.Fatal(err)
		}
		queued := b.take(t)
		take := func(at time.Time) []flows.Reminder {
			t.Helper()
			rs, err := s.TakeDueReminders(ctx, at, 10)
			if err != nil {
				t.Fatal(err)
			}
			return rs
		}
		if rs := take(now); len(rs) != 1 {
			t.Fatalf("took %v, want the reminder", rs)
		}
		taken := b.take(t)
		if ok, err := s.MarkReminded(ctx, x.Resident, x.ID, 72*time.Hour); err != nil || !ok {
			t.Fatalf("mark: %v %v", ok, err)
		}
		if err := s.AckReminder(ctx, x); err != nil {
			t.Fatal(err)
		}

		taken.forget(t)
		if rs := take(now); len(rs) != 0 {
			t.Errorf("took %v while its lease runs, want nothing", rs)
		}
		rs := take(now.Add(5*time.Minute + time.Millisecond))
		if len(rs) != 1 || rs[0].ID != x.ID {
			t.Fatalf("took %v after the lease, want the reminder again", rs)
		}
		if ok, err := s.MarkReminded(ctx, x.Resident, x.ID, 72*time.Hour); err != nil || !ok {
			t.Errorf("its own mark again: %v %v, want allowed", ok, err)
		}
		if err := s.AckReminder(ctx, rs[0]); err != nil {
			t.Fatal(err)
		}
		for _, key := range []string{s.Keys().ReminderQueue(), s.Keys().ReminderInFlight()} {
			if n, _ := b.c.ZCard(ctx, key).Result(); n != 0 {
				t.Errorf("%s holds %d reminders after the ack, want none", key, n)
			}
		}

		queued.forget(t)
		if rs := take(now); len(rs) != 1 {
			t.Errorf("took %v after forgetting the take, want the reminder (sent again)", rs)
		}
	})
}

// Effects applied in the forgotten second come back to the resident's list
// and the work index, and the counters they changed roll back with them:
// the sweep applies them again, once.
func TestRolledBackEffectsAreAppliedAgainOnce(t *testing.T) {
	onRollbackRedis(t, func(t *testing.T, b rollbackRedis) {
		ctx := t.Context()
		s := store.New(b.c, store.Options{Prefix: b.prefix, DataKey: []byte("a test data key")})
		const who = "tg:10"
		at := time.Now().Add(-time.Hour)
		if err := s.Commit(ctx, flows.Commit{Resident: who, Session: flows.Session{Version: 1}, Effects: []flows.Effect{
			{Kind: flows.EffectStarted, Flow: "ewallet", Hamlet: "h1", At: at},
			{Kind: flows.EffectHelp, Flow: "ewallet", Hamlet: "h1", At: at},
		}}); err != nil {
			t.Fatal(err)
		}
		committed := b.take(t)
		if err := s.ApplyEffects(ctx, who); err != nil {
			t.Fatal(err)
		}
		k := s.Keys()
		counted := func(when string) {
			t.Helper()
			if n, _ := b.c.Get(ctx, k.HelpTotal("h1")).Int(); n != 1 {
				t.Errorf("%s: help total %d, want 1", when, n)
			}
			if n, _ := b.c.SCard(ctx, k.Started("h1", "ewallet")).Result(); n != 1 {
				t.Errorf("%s: started %d, want 1", when, n)
			}
			if n, _ := b.c.LLen(ctx, k.Effects(who)).Result(); n != 0 {
				t.Errorf("%s: %d effects left", when, n)
			}
			if n, _ := b.c.ZCard(ctx, k.Work()).Result(); n != 0 {
				t.Errorf("%s: %d residents in the work index", when, n)
			}
		}
		counted("applied")

		committed.forget(t)
		if n, _ := b.c.LLen(ctx, k.Effects(who)).Result(); n != 2 {
			t.Fatalf("after the rollback %d effects wait, want both back", n)
		}
		if n, _ := b.c.Exists(ctx, k.HelpTotal("h1")).Result(); n != 0 {
			t.Fatal("the help total survived the rollback")
		}
		if _, err := s.Sweep(ctx, time.Now().Add(time.Minute), store.SweepOptions{}); err != nil {
			t.Fatal(err)
		}
		counted("swept after the rollback")
	})
}

// A resident who unblocked the bot is marked reachable again; Redis forgets
// that. Their next message (Session.Seen after the mark) makes them
// reachable anyway, so reminders do not leave them out for good.
func TestLostUnblockDoesNotStopRemindersForGood(t *testing.T) {
	onRollbackRedis(t, func(t *testing.T, b rollbackRedis) {
		ctx := t.Context()
		now := time.Now()
		clock := flows.ClockFunc(func() time.Time { return now })
		s := store.New(b.c, store.Options{Prefix: b.prefix, Clock: clock})
		const who = "tg:11"
		if err := s.Commit(ctx, flows.Commit{Resident: who, Session: flows.Session{Version: 1, Seen: now.Add(-time.Hour)}}); err != nil {
			t.Fatal(err)
		}
		if err := s.SetReachable(ctx, who, false); err != nil { // blocked
			t.Fatal(err)
		}
		blocked := b.take(t)
		if err := s.SetReachable(ctx, who, true); err != nil { // unblocked
			t.Fatal(err)
		}
		blocked.forget(t)
		if ok, err := s.Reachable(ctx, who); err != nil || ok {
			t.Fatalf("reachable with the unblock forgotten and nothing since: %v %v, want false", ok, err)
		}
		// They write: the turn stores Seen.
		if err := s.Commit(ctx, flows.Commit{Resident: who, Expect: 1, Session: flows.Session{Version: 2, Seen: now.Add(time.Second)}}); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.Reachable(ctx, who); err != nil || !ok {
			t.Errorf("reachable after they wrote: %v %v, want true", ok, err)
		}
		// Blocked again later: the new mark is the last word.
		now = now.Add(time.Minute)
		if err := s.SetReachable(ctx, who, false); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.Reachable(ctx, who); err != nil || ok {
			t.Errorf("reachable after blocking again: %v %v, want false", ok, err)
		}
	})
}
