package flows_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/flows/flowstest"
	"github.com/hangxomso/hangxom/store"
)

// cachedReplicas returns n services on one store, each with a session cache
// of its own (replicas), and a round-trip counter of the store's client.
func cachedReplicas(t *testing.T, n int) ([]*flows.Service, *store.Redis, *roundTrips) {
	t.Helper()
	m := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { _ = c.Close() })
	rt := &roundTrips{}
	c.AddHook(rt)
	clock := flows.ClockFunc(func() time.Time { return flowstest.T0 })
	st := store.New(c, store.Options{Prefix: "cache:v1", DataKey: []byte("k"), Clock: clock})
	var out []*flows.Service
	for range n {
		out = append(out, &flows.Service{Engine: flowstest.NewEngine(t), Store: st, Clock: clock, Cache: &flows.SessionCache{}})
	}
	return out, st, rt
}

// walk is a resident's inputs through the demo flow and back to it.
var walk = []flows.Input{
	{Kind: flows.InputCommand, Command: "start", Text: "h_a-1"},
	{Kind: flows.InputText, Text: "1"}, // demo
	{Kind: flows.InputText, Text: "1"}, // android: info, then the checkpoint
	{Kind: flows.InputText, Text: "1"}, // done: the question
	{Kind: flows.InputText, Text: "0912345678"},
	{Kind: flows.InputCommand, Command: "menu"},
	{Kind: flows.InputText, Text: "1"}, // resume demo
}

func TestCachedTurnIsOneRoundTrip(t *testing.T) {
	svcs, st, rt := cachedReplicas(t, 1)
	plain, plainSt, _ := newService(t)
	ctx := t.Context()
	var trips []int64
	for i, in := range walk {
		in.UpdateID = fmt.Sprintf("tg:%d", i+1)
		before := rt.n.Load()
		if _, err := svcs[0].Handle(ctx, "tg:5", in); err != nil {
			t.Fatal(err)
		}
		trips = append(trips, rt.n.Load()-before)
		if _, err := plain.Handle(ctx, "tg:5", in); err != nil {
			t.Fatal(err)
		}
		check(t, fmt.Sprintf("replies to input %d", i+1), flowstest.OutboxTexts(t, plainSt, "tg:5"), flowstest.OutboxTexts(t, st, "tg:5"))
	}
	t.Logf("round trips per input: %v", trips)
	// The first turn reads the session (begin, commit); a turn with an
	// effect applies it (read, apply, pop, unlock); the others are the
	// write alone.
	for i, n := range trips {
		if i == 0 {
			continue
		}
		if in := walk[i]; in.Kind == flows.InputText && in.Text == "0912345678" && n != 1 {
			t.Errorf("input %d (an answer, no effect) took %d round trips, want 1", i+1, n)
		}
	}
	if trips[3] != 1 {
		t.Errorf("a checkpoint answered took %d round trips, want 1 (all: %v)", trips[3], trips)
	}
	a, _ := st.Session(ctx, "tg:5")
	b, _ := plainSt.Session(ctx, "tg:5")
	if a.Version != b.Version || a.Stage != b.Stage || a.Active == nil || b.Active == nil || a.Active.Step != b.Active.Step {
		t.Errorf("sessions differ: cached %+v, plain %+v", a, b)
	}
}

func TestCachedReplicasAgreeWithOne(t *testing.T) {
	svcs, st, _ := cachedReplicas(t, 2)
	plain, plainSt, _ := newService(t)
	ctx := t.Context()
	for i, in := range walk {
		in.UpdateID = fmt.Sprintf("tg:%d", i+1)
		// Alternate replicas: each one's kept session is stale every other
		// turn and must give way to the stored one.
		if _, err := svcs[i%2].Handle(ctx, "tg:6", in); err != nil {
			t.Fatal(err)
		}
		if _, err := plain.Handle(ctx, "tg:6", in); err != nil {
			t.Fatal(err)
		}
		check(t, fmt.Sprintf("replies to input %d", i+1), flowstest.OutboxTexts(t, plainSt, "tg:6"), flowstest.OutboxTexts(t, st, "tg:6"))
		// The same update delivered to the other replica too: nothing more.
		if h, err := svcs[(i+1)%2].Handle(ctx, "tg:6", in); err != nil || !h.Duplicate {
			t.Fatalf("input %d delivered again: %+v %v, want a duplicate", i+1, h, err)
		}
		if got := flowstest.OutboxTexts(t, st, "tg:6"); len(got) != 0 {
			t.Fatalf("input %d delivered again wrote %q", i+1, got)
		}
	}
	a, _ := st.Session(ctx, "tg:6")
	b, _ := plainSt.Session(ctx, "tg:6")
	if a.Version != b.Version || a.Active == nil || b.Active == nil || a.Active.Step != b.Active.Step {
		t.Errorf("sessions differ: replicas %+v, one %+v", a, b)
	}
	for _, h := range []string{"a-1"} {
		got, err := st.Counts(ctx, []store.HamletFlow{{Hamlet: h, Flow: "demo"}}, []string{flowstest.T0.Format("2006-01")}, flowstest.T0.Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		want, err := plainSt.Counts(ctx, []store.HamletFlow{{Hamlet: h, Flow: "demo"}}, []string{flowstest.T0.Format("2006-01")}, flowstest.T0.Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		check(t, "counts", want, got)
	}
}

func TestSessionCacheKeepsTheRecent(t *testing.T) {
	c := &flows.SessionCache{Size: 4}
	for i := range 10 {
		c.Put(fmt.Sprint(i), flows.Session{Hamlet: "h"}, int64(i+1))
	}
	if _, ok := c.Get("0"); ok {
		t.Error("the oldest session is still kept past the size")
	}
	s, ok := c.Get("9")
	if !ok || s.Version != 10 {
		t.Errorf("the newest: %+v %v, want version 10", s, ok)
	}
	s.Hamlet = "changed"
	if again, _ := c.Get("9"); again.Hamlet != "h" {
		t.Error("a session got from the cache changed the kept one")
	}
	c.Drop("9")
	if _, ok := c.Get("9"); ok {
		t.Error("a dropped session is still kept")
	}
	young := &flows.SessionCache{MaxAge: 300 * time.Millisecond}
	young.Put("y", flows.Session{}, 1)
	if _, ok := young.Get("y"); !ok {
		t.Fatal("a fresh session is not kept")
	}
	time.Sleep(350 * time.Millisecond)
	if _, ok := young.Get("y"); ok {
		t.Error("a session older than MaxAge is still given")
	}
	var none *flows.SessionCache
	none.Put("x", flows.Session{}, 1)
	if _, ok := none.Get("x"); ok {
		t.Error("a nil cache kept something")
	}
}
