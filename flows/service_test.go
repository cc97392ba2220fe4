package flows_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/flows/flowstest"
	"github.com/hangxomso/hangxom/store"
)

type qrChecker struct {
	mu    sync.Mutex
	seen  []string
	out   string
	err   error
	calls int
}

func (q *qrChecker) Check(_ context.Context, _, _ string, in flows.Input) (flows.CheckResult, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.calls++
	q.seen = append(q.seen, in.Text)
	return flows.CheckResult{Outcome: q.out, Text: "checked:" + q.out}, q.err
}

func newService(t testing.TB) (*flows.Service, *store.Redis, *qrChecker) {
	t.Helper()
	m := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { _ = c.Close() })
	clock := flows.ClockFunc(func() time.Time { return flowstest.T0 })
	st := store.New(c, store.Options{Prefix: "svc:v1", DataKey: []byte("k"), Clock: clock})
	qr := &qrChecker{out: "ok"}
	return &flows.Service{Engine: flowstest.NewEngine(t), Store: st, Clock: clock, Checkers: map[string]flows.Checker{"qr": qr}}, st, qr
}

func TestServiceIgnoresARedeliveredUpdate(t *testing.T) {
	svc, st, _ := newService(t)
	ctx := t.Context()
	in := flows.Input{Kind: flows.InputText, Text: "chào", UpdateID: "tg:1"}
	if _, err := svc.Handle(ctx, "tg:7", in); err != nil {
		t.Fatal(err)
	}
	check(t, "first", []string{"common.welcome{Period=common.retention_months{Count=12}}", "common.choose_commune"}, flowstest.OutboxTexts(t, st, "tg:7"))
	if h, err := svc.Handle(ctx, "tg:7", in); err != nil || !h.Duplicate {
		t.Fatalf("redelivery: %+v %v", h, err)
	}
	if h, err := svc.Handle(ctx, "tg:7", flows.Input{Kind: flows.InputText, Text: "OTP 654321", UpdateID: "tg:2"}); err != nil || !h.Sensitive || h.Duplicate {
		t.Fatalf("secret: %+v %v", h, err)
	}
	flowstest.OutboxTexts(t, st, "tg:7")
	check(t, "redelivered", []string(nil), flowstest.OutboxTexts(t, st, "tg:7"))
	s, _ := st.Session(ctx, "tg:7")
	if s.Version != 2 {
		t.Errorf("version = %d, want 2 (the redelivery committed nothing)", s.Version)
	}
}

func TestServiceRunsExternalCheckerInTheSameTurn(t *testing.T) {
	svc, st, qr := newService(t)
	ctx := t.Context()
	steps := []flows.Input{
		{Kind: flows.InputCommand, Command: "start", Text: "h_a-1"},
		{Kind: flows.InputText, Text: "1"},      // demo
		{Kind: flows.InputText, Text: "1"},      // android
		{Kind: flows.InputText, Text: "bo qua"}, // skip to the external scan step
	}
	for _, in := range steps {
		if _, err := svc.Handle(ctx, "tg:8", in); err != nil {
			t.Fatal(err)
		}
	}
	flowstest.OutboxTexts(t, st, "tg:8")
	// A pasted payment code reaches the checker, not the safety filter.
	if _, err := svc.Handle(ctx, "tg:8", flows.Input{Kind: flows.InputText, Text: "00020101021238570010A000000727"}); err != nil {
		t.Fatal(err)
	}
	check(t, "checker input", []string{"00020101021238570010A000000727"}, qr.seen)
	check(t, "finished", []string{"checked:ok", "demo.end", "common.menu_again"}, flowstest.OutboxTexts(t, st, "tg:8"))

	// A checker error is an outcome too ("error"); the step's default applies.
	qr.err = errors.New("boom")
	for _, in := range []flows.Input{{Kind: flows.InputText, Text: "1"}, {Kind: flows.InputText, Text: "1"}, {Kind: flows.InputText, Text: "bỏ qua"}} {
		if _, err := svc.Handle(ctx, "tg:8", in); err != nil {
			t.Fatal(err)
		}
	}
	flowstest.OutboxTexts(t, st, "tg:8")
	if _, err := svc.Handle(ctx, "tg:8", flows.Input{Kind: flows.InputText, Text: "not a code"}); err != nil {
		t.Fatal(err)
	}
	check(t, "default outcome", []string{"demo.scan"}, flowstest.OutboxTexts(t, st, "tg:8"))
}

func TestServiceSurvivesABrokenFlow(t *testing.T) {
	svc, st, _ := newService(t)
	ctx := t.Context()
	for _, in := range []flows.Input{{Kind: flows.InputCommand, Command: "start", Text: "h_a-1"}} {
		if _, err := svc.Handle(ctx, "tg:9", in); err != nil {
			t.Fatal(err)
		}
	}
	flowstest.OutboxTexts(t, st, "tg:9")
	before, _ := st.Session(ctx, "tg:9")
	// The third menu entry is a flow that loops forever.
	if _, err := svc.Handle(ctx, "tg:9", flows.Input{Kind: flows.InputText, Text: "3", UpdateID: "tg:99"}); err != nil {
		t.Fatal(err)
	}
	check(t, "apology", []string{"common.error"}, flowstest.OutboxTexts(t, st, "tg:9"))
	after, _ := st.Session(ctx, "tg:9")
	if after.Stage != before.Stage || after.Active != nil {
		t.Errorf("session changed by a failed turn: %+v", after)
	}
	if seen, _ := st.Processed(ctx, "tg:9", "tg:99"); !seen {
		t.Error("the failed update would be redelivered forever")
	}
}

func TestServiceSerialisesOneResident(t *testing.T) {
	svc, st, _ := newService(t)
	ctx := t.Context()
	if _, err := svc.Handle(ctx, "tg:10", flows.Input{Kind: flows.InputCommand, Command: "start", Text: "h_a-1"}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := svc.Handle(ctx, "tg:10", flows.Input{Kind: flows.InputCommand, Command: "help"})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	s, _ := st.Session(ctx, "tg:10")
	if s.Version != 21 {
		t.Errorf("version = %d, want 21: a write was lost", s.Version)
	}
}

// A tap on a button of an earlier screen is answered common.stale_button
// with the current screen, and Handled.Stale says so, for the channel to
// take that message's buttons off: on the usual path and on the cached one
// (one round trip). A tap on the current screen is not stale, nor is the
// stale tap delivered again (a duplicate: nothing done).
func TestServiceTellsAStaleTap(t *testing.T) {
	for _, cached := range []bool{false, true} {
		t.Run(map[bool]string{false: "locked", true: "cached"}[cached], func(t *testing.T) {
			var svc *flows.Service
			var st *store.Redis
			var rt *roundTrips
			if cached {
				var svcs []*flows.Service
				svcs, st, rt = cachedReplicas(t, 1)
				svc = svcs[0]
			} else {
				svc, st, _ = newService(t)
			}
			// Ten seconds between inputs: a tap again at once would be a
			// double tap (TestServiceIgnoresADoubleTap).
			now := flowstest.T0
			svc.Clock = flows.ClockFunc(func() time.Time { now = now.Add(10 * time.Second); return now })
			ctx := t.Context()
			handle := func(in flows.Input) flows.Handled {
				t.Helper()
				h, err := svc.Handle(ctx, "tg:11", in)
				if err != nil {
					t.Fatal(err)
				}
				return h
			}
			buttons := func() []flows.Choice {
				t.Helper()
				rs := flowstest.OutboxReplies(t, st, "tg:11")
				for i := len(rs) - 1; i >= 0; i-- {
					if len(rs[i].Buttons) > 0 {
						return rs[i].Buttons
					}
				}
				t.Fatal("no reply with buttons")
				return nil
			}
			handle(flows.Input{Kind: flows.InputCommand, Command: "start", Text: "h_a-1", UpdateID: "tg:1"})
			menu := buttons()
			tap := flows.Input{Kind: flows.InputChoice, Data: menu[0].Data, UpdateID: "tg:2"}
			if h := handle(tap); h.Stale || h.Duplicate {
				t.Errorf("a tap on the current screen: %+v", h)
			}
			buttons()
			tap.UpdateID = "tg:3" // the same menu button, now on an earlier screen
			var before int64
			if rt != nil {
				before = rt.n.Load()
			}
			if h := handle(tap); !h.Stale || h.Duplicate {
				t.Errorf("a tap on an earlier screen: %+v, want Stale", h)
			}
			if rt != nil {
				if n := rt.n.Load() - before; n != 1 {
					t.Errorf("the stale tap took %d round trips, want 1 (the cached path)", n)
				}
			}
			if got := flowstest.OutboxTexts(t, st, "tg:11"); len(got) == 0 || got[0] != "common.stale_button" {
				t.Errorf("replies to the stale tap: %q", got)
			}
			if h := handle(tap); h.Stale || !h.Duplicate {
				t.Errorf("the stale tap delivered again: %+v, want only Duplicate", h)
			}
		})
	}
}

type countingWatcher struct{ oldTaps, lostWrites atomic.Int64 }

func (w *countingWatcher) OldTaps()   { w.oldTaps.Add(1) }
func (w *countingWatcher) LostWrite() { w.lostWrites.Add(1) }

// The service tells its Watcher (serve's metrics) of the third old tap in
// a row and of a tap on a keyboard the session never drew, on the usual
// path and on the cached one, once each; a double tap is neither.
func TestServiceWatchesOldTapsAndLostWrites(t *testing.T) {
	for _, cached := range []bool{false, true} {
		var svc *flows.Service
		var st *store.Redis
		if cached {
			var svcs []*flows.Service
			svcs, st, _ = cachedReplicas(t, 1)
			svc = svcs[0]
		} else {
			svc, st, _ = newService(t)
		}
		w := &countingWatcher{}
		svc.Watch = w
		now := flowstest.T0
		svc.Clock = flows.ClockFunc(func() time.Time { now = now.Add(10 * time.Second); return now })
		n := 0
		handle := func(in flows.Input) {
			t.Helper()
			n++
			in.UpdateID = "tg:" + strconv.Itoa(n)
			if _, err := svc.Handle(t.Context(), "tg:12", in); err != nil {
				t.Fatal(err)
			}
		}
		handle(flows.Input{Kind: flows.InputCommand, Command: "start", Text: "h_a-1"})
		rs := flowstest.OutboxReplies(t, st, "tg:12")
		menu := rs[len(rs)-1].Buttons
		handle(flows.Input{Kind: flows.InputChoice, Data: menu[0].Data})
		handle(flows.Input{Kind: flows.InputText, Text: "1"}) // a typed number: the keyboard moves on again
		for range flows.OldTapsWarn + 2 {
			handle(flows.Input{Kind: flows.InputChoice, Data: menu[0].Data})
		}
		sess, err := st.Session(t.Context(), "tg:12")
		if err != nil {
			t.Fatal(err)
		}
		// The next keyboard, as a write Redis forgot would have drawn it.
		handle(flows.Input{Kind: flows.InputChoice, Data: strconv.Itoa(sess.KeyboardSeq+1) + ".1"})
		if o, l := w.oldTaps.Load(), w.lostWrites.Load(); o != 1 || l != 1 {
			t.Errorf("cached %v: the watcher was told of %d old-tap streaks and %d lost writes, want 1 and 1", cached, o, l)
		}
	}
}
