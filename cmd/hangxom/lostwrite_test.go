package main

import (
	"io"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/hangxomso/hangxom/bot/telegram"
	"github.com/hangxomso/hangxom/bot/telegram/telegramtest"
	"github.com/hangxomso/hangxom/delivery/deliverytest"
	"github.com/hangxomso/hangxom/flows"
)

// A Redis that forgets its last second (a failover, a crash inside
// appendfsync everysec) rolls every key back together to an earlier state,
// while the bot processes keep their memory and the resident keeps the
// messages they got. redisSnapshot is such an earlier state of a
// miniredis: every key, copied.
type redisSnapshot struct {
	str  map[string]string
	list map[string][]string
	hash map[string]map[string]string
	set  map[string][]string
	zset map[string]map[string]float64
}

func snapshotRedis(t *testing.T, m *miniredis.Miniredis) redisSnapshot {
	t.Helper()
	s := redisSnapshot{str: map[string]string{}, list: map[string][]string{}, hash: map[string]map[string]string{},
		set: map[string][]string{}, zset: map[string]map[string]float64{}}
	for _, k := range m.Keys() {
		var err error
		switch typ := m.Type(k); typ {
		case "string":
			s.str[k], err = m.Get(k)
		case "list":
			s.list[k], err = m.List(k)
		case "hash":
			h := map[string]string{}
			fs, ferr := m.HKeys(k)
			for _, f := range fs {
				h[f] = m.HGet(k, f)
			}
			s.hash[k], err = h, ferr
		case "set":
			s.set[k], err = m.Members(k)
		case "zset":
			s.zset[k], err = m.SortedSet(k)
		default:
			t.Fatalf("snapshot: key %s of type %s", k, typ)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// restore makes m hold the snapshot's keys and nothing else.
func (s redisSnapshot) restore(t *testing.T, m *miniredis.Miniredis) {
	t.Helper()
	m.FlushAll()
	for k, v := range s.str {
		if err := m.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	for k, v := range s.list {
		for _, e := range v {
			if _, err := m.Push(k, e); err != nil {
				t.Fatal(err)
			}
		}
	}
	for k, h := range s.hash {
		for f, v := range h {
			m.HSet(k, f, v)
		}
	}
	for k, v := range s.set {
		if _, err := m.SetAdd(k, v...); err != nil {
			t.Fatal(err)
		}
	}
	for k, z := range s.zset {
		for member, score := range z {
			if _, err := m.ZAdd(k, score, member); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// twoReplicaRig is a Telegram rig whose updates go to one of two serve
// replicas (each with its own session cache) on one Redis.
type twoReplicaRig struct {
	*telegramRig
	m         *miniredis.Miniredis
	receivers [2]*telegram.Receiver
}

func newTwoReplicaRig(t *testing.T) *twoReplicaRig {
	m := miniredis.RunT(t)
	rc := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { _ = rc.Close() })
	start := time.Now()
	clock := flows.ClockFunc(func() time.Time { return fixedNow.Add(time.Since(start)) })
	fake := telegramtest.NewServer(t, "")
	client, err := telegram.NewClient(t.Context(), fake.URL, fake.Token, telegramtest.LoopbackClient(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	r := &twoReplicaRig{m: m}
	for i := range r.receivers {
		a, err := openApp(t.Context(), mustConfig(t), appOptions{clock: clock, client: rc, prefix: "lost"}, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(a.Close)
		a.assemble(channel{username: client.Self().UserName})
		r.receivers[i] = &telegram.Receiver{Service: a.service, Client: client, Store: a.store, Loc: a.loc,
			Username: client.Self().UserName}
		if i == 0 {
			r.telegramRig = &telegramRig{t: t, a: a, clock: clock, fake: fake, client: client, raw: map[string][]byte{}}
			r.core = r.newCore()
		}
	}
	return r
}

// on sends the next updates to replica i.
func (r *twoReplicaRig) on(i int) *twoReplicaRig {
	r.receiver = r.receivers[i]
	return r
}

func lastScreen(t *testing.T, r deliverytest.Rig, who string) deliverytest.Screen {
	t.Helper()
	ss := r.Screens(who)
	if len(ss) == 0 {
		t.Fatal("no screen")
	}
	return ss[len(ss)-1]
}

// TestLostWriteDoesNotFoolAReplicasCache: replica 0 writes a turn that
// Redis then forgets; replica 1 writes the resident's next turns, reusing
// the forgotten write's version number. A tap that reaches replica 0 again
// must act on the screen the resident sees, not on the one replica 0 kept
// in its session cache.
func TestLostWriteDoesNotFoolAReplicasCache(t *testing.T) {
	for _, button := range []int{2, 3} {
		// What tapping button on the ewallet's first question does.
		ref := newTwoReplicaRig(t).on(0)
		who := ref.Resident(1)
		walkToEwallet(t, ref.telegramRig, who)
		ref.Tap(who, button)
		want := lastScreen(t, ref, who)

		r := newTwoReplicaRig(t).on(0)
		walkToEwallet(t, r.telegramRig, who)
		question := lastScreen(t, r, who)
		before := snapshotRedis(t, r.m)
		r.Tap(who, 1) // 📱: the SIM step, kept in replica 0's cache
		before.restore(t, r.m)
		// The resident taps the SIM step's first button on replica 1, which
		// finds the question in Redis: that button is old, and the question
		// is drawn again.
		r.on(1).Tap(who, 1)
		if got := lastScreen(t, r, who); got.Text != question.Text {
			t.Fatalf("after the lost write, replica 1 answered %q; want the question again %q", got.Text, question.Text)
		}
		r.on(0).Tap(who, button)
		if got := lastScreen(t, r, who); got.Text != want.Text {
			t.Errorf("button %d of the question redrawn after a lost write, tapped on the replica that wrote it:\n got %q\nwant %q",
				button, got.Text, want.Text)
		}
	}
}

// walkToEwallet takes who from /start to the ewallet guide's first question.
func walkToEwallet(t *testing.T, r *telegramRig, who string) {
	t.Helper()
	r.Say(who, "/start")
	for range 3 {
		r.Tap(who, 1)
	}
	if s := lastScreen(t, r, who); len(s.Choices) < 3 {
		t.Fatalf("not at the ewallet's first question: %q %v", s.Text, s.Choices)
	}
}
