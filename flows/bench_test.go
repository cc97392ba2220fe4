package flows_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/flows/flowstest"
	"github.com/hangxomso/hangxom/store"
)

// BenchmarkEngine measures one pure engine turn (no I/O): a checkpoint
// answered with a typed word, on the demo flow.
func BenchmarkEngine(b *testing.B) {
	c := &conv{t: b, e: flowstest.NewEngine(b), now: flowstest.T0}
	c.text("chào")
	c.text("xa a")
	c.text("1")
	c.text("1")
	c.text("1")
	s := c.s
	in := flows.Input{Kind: flows.InputText, Text: "Đã xong rồi ạ"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.e.Handle(s, in, flowstest.T0); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkServiceTurn measures a whole turn through the service: lock,
// load, engine, the atomic commit, the hamlet effects, unlock. It runs on
// the Redis at BENCH_REDIS_URL (default: an in-process miniredis).
func BenchmarkServiceTurn(b *testing.B) {
	svc, _, _ := newService(b)
	if url := os.Getenv("BENCH_REDIS_URL"); url != "" {
		opt, err := redis.ParseURL(url)
		if err != nil {
			b.Fatal(err)
		}
		c := redis.NewClient(opt)
		b.Cleanup(func() { _ = c.Close() })
		svc.Store = store.New(c, store.Options{Prefix: "bench" + strconv.Itoa(os.Getpid()) + ":v1", DataKey: []byte("k")})
	}
	ctx := b.Context()
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		i++
		resident := "tg:" + strconv.Itoa(i%1000)
		if _, err := svc.Handle(ctx, resident, flows.Input{Kind: flows.InputCommand, Command: "start", Text: "h_a-1", UpdateID: strconv.Itoa(i)}); err != nil {
			b.Fatal(err)
		}
	}
}

// roundTrips counts Redis round trips: one per command, one per pipeline or
// transaction (a Lua script is one command).
type roundTrips struct{ n atomic.Int64 }

func (r *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }
func (r *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { r.n.Add(1); return next(ctx, cmd) }
}
func (r *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { r.n.Add(1); return next(ctx, cmds) }
}

// BenchmarkRoundTripsPerUpdate measures the Redis round trips of one
// resident update in the middle of a flow (a checkpoint answered), the
// baseline of the load issue's goal (≤ 3).
func BenchmarkRoundTripsPerUpdate(b *testing.B) {
	m := miniredis.RunT(b)
	c := redis.NewClient(&redis.Options{Addr: m.Addr()})
	b.Cleanup(func() { _ = c.Close() })
	rt := &roundTrips{}
	c.AddHook(rt)
	st := store.New(c, store.Options{Prefix: "rt:v1", DataKey: []byte("k")})
	// With a session cache, as serve runs it.
	svc := &flows.Service{Engine: flowstest.NewEngine(b), Store: st, Clock: flows.ClockFunc(func() time.Time { return flowstest.T0 }),
		Cache: &flows.SessionCache{}}
	ctx := b.Context()
	n := 0
	send := func(resident string, in flows.Input) {
		n++
		in.UpdateID = strconv.Itoa(n)
		if _, err := svc.Handle(ctx, resident, in); err != nil {
			b.Fatal(err)
		}
	}
	send("tg:1", flows.Input{Kind: flows.InputCommand, Command: "start", Text: "h_a-1"})
	var menuTrips, startTrips int64
	for b.Loop() {
		before := rt.n.Load()
		send("tg:1", flows.Input{Kind: flows.InputCommand, Command: "menu"}) // back to the menu
		menuTrips += rt.n.Load() - before
		s, _ := st.Session(ctx, "tg:1")
		s = svc.Engine.Expand(s)
		before = rt.n.Load()
		send("tg:1", flows.Input{Kind: flows.InputChoice, Data: s.Keyboard[0].Data}) // start the demo flow
		startTrips += rt.n.Load() - before
	}
	// A flow's start carries an effect (the hamlet's started count); the
	// menu command carries none.
	b.ReportMetric(float64(startTrips)/float64(b.N), "round_trips/start")
	b.ReportMetric(float64(menuTrips)/float64(b.N), "round_trips/menu")
}

// BenchmarkStatsRows builds a province's report rows: 1,000 hamlets with
// Vietnamese names in 10 communes × 5 flows, a target on the province.
func BenchmarkStatsRows(b *testing.B) {
	areas := []flows.Area{{ID: "prov", Level: flows.LevelProvince, Name: "Tỉnh Thái Nguyên"}}
	var hamlets []flows.Area
	for c := range 10 {
		cid := fmt.Sprintf("xa-%02d", c)
		areas = append(areas, flows.Area{ID: cid, Level: flows.LevelCommune, ParentID: "prov", Name: fmt.Sprintf("Xã Võ Nhai số %d", c)})
		for h := range 100 {
			hh := 100 + h
			a := flows.Area{ID: fmt.Sprintf("%s-h%03d", cid, h), Level: flows.LevelHamlet, ParentID: cid,
				Name: fmt.Sprintf("Xóm Đồng Kè số %d", 100-h), Households: &hh}
			areas = append(areas, a)
			hamlets = append(hamlets, a)
		}
	}
	ids := []string{"ewallet", "fee-qr", "party-handbook", "shop", "vneid"}
	counts := map[flows.HamletFlow]flows.Counts{}
	for i, h := range hamlets {
		for _, f := range ids {
			counts[flows.HamletFlow{Hamlet: h.ID, Flow: f}] = flows.Counts{Started: int64(i), CompletedSelf: int64(i / 2)}
		}
	}
	sc := flows.StatsScope{Areas: flows.NewAreaIndex(areas), Hamlets: hamlets, Flows: ids,
		Targets: []flows.Target{{Flow: "ewallet", Area: "prov", Pct: 80, Basis: flows.BasisHouseholds}}}
	for b.Loop() {
		if rows := flows.StatsRows(sc, counts); len(rows) != 5000 {
			b.Fatalf("%d rows", len(rows))
		}
	}
}
