package store_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/hangxomso/hangxom/store"
)

// BenchmarkCounts reads the counts of a province's report: 1,000 hamlets ×
// 5 flows over one month and over twelve, every pair with a counter and an
// open set, with the sweep's stalled counts (as serve keeps them) and
// without (counted by the report). It runs on TEST_REDIS_URL when set (a
// real server: the figure that matters), otherwise on miniredis.
func BenchmarkCounts(b *testing.B) {
	var c redis.UniversalClient
	if url := os.Getenv("TEST_REDIS_URL"); url != "" {
		var err error
		if c, err = store.Connect(store.ConnectConfig{URL: url}); err != nil {
			b.Fatal(err)
		}
	} else {
		c = redis.NewClient(&redis.Options{Addr: miniredis.RunT(b).Addr()})
	}
	defer c.Close()
	prefix := fmt.Sprintf("bench%d", time.Now().UnixNano())
	s := store.New(c, store.Options{Prefix: prefix, DataKey: []byte("0123456789abcdef")})
	keys := store.NewKeys(prefix)
	ctx := b.Context()
	flowIDs := []string{"ewallet", "fee-qr", "party-handbook", "shop", "vneid"}
	now := time.Date(2026, 11, 15, 12, 0, 0, 0, time.UTC)
	var pairs []store.HamletFlow
	var hamlets []string
	p := c.Pipeline()
	for h := range 1000 {
		hamlet := fmt.Sprintf("lt-xa-%03d-%03d", h/100, h%100)
		hamlets = append(hamlets, hamlet)
		for _, f := range flowIDs {
			pairs = append(pairs, store.HamletFlow{Hamlet: hamlet, Flow: f})
			p.HSet(ctx, keys.MonthCounts(hamlet, "2026-11"), f+":started", h+1, f+":completed_self", h, f+":help", 1)
			p.ZAdd(ctx, keys.Open(hamlet, f), redis.Z{Score: float64(now.Add(-100 * time.Hour).UnixMilli()), Member: "a"},
				redis.Z{Score: float64(now.UnixMilli()), Member: "b"})
		}
	}
	if _, err := p.Exec(ctx); err != nil {
		b.Fatal(err)
	}
	defer func() {
		iter := c.Scan(ctx, 0, prefix+":*", 1000).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
	}()
	run := func(name string, months []string) {
		b.Run(fmt.Sprintf("%s/months=%d", name, len(months)), func(b *testing.B) {
			for b.Loop() {
				got, err := s.Counts(ctx, pairs, months, now.Add(-72*time.Hour))
				if err != nil {
					b.Fatal(err)
				}
				if n := got[pairs[999]]; n.Started != 200 || n.Stalled != 1 {
					b.Fatalf("counts of %v: %+v", pairs[999], n)
				}
			}
		})
	}
	run("stalled-counted", []string{"2026-11"})
	if _, err := s.Sweep(ctx, now, store.SweepOptions{StalledAfter: 72 * time.Hour, Hamlets: hamlets, Flows: flowIDs}); err != nil {
		b.Fatal(err)
	}
	run("stalled-from-sweep", []string{"2026-11"})
	run("stalled-from-sweep", monthsUpTo(12, 2026, 11))
}

func monthsUpTo(n, year, month int) []string {
	var out []string
	t := time.Date(year, time.Month(month), 1, 0, 0, 0, 0, time.UTC)
	for i := n - 1; i >= 0; i-- {
		out = append(out, t.AddDate(0, -i, 0).Format("2006-01"))
	}
	return out
}
