package flows_test

import (
	"os"
	"strconv"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/store"
)

// BenchmarkEngine measures one pure engine turn (no I/O): a checkpoint
// answered with a typed word, on the demo flow.
func BenchmarkEngine(b *testing.B) {
	c := &conv{t: b, e: newEngine(b), now: t0}
	c.text("chào")
	c.text("xa a")
	c.text("1")
	c.text("1")
	c.text("1")
	s := c.s
	in := flows.Input{Kind: flows.InputText, Text: "Đã xong rồi ạ"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.e.Handle(s, in, t0); err != nil {
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
