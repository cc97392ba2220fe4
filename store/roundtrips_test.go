package store_test

import (
	"sync/atomic"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/hangxomso/hangxom/store"
)

// observations counts what a histogram would be given.
type observations struct{ n atomic.Int64 }

func (o *observations) Observe(float64) { o.n.Add(1) }

// Every round trip counted is also timed (a command and a pipeline are one
// each), for /metrics's hangxom_redis_round_trip_seconds.
func TestRoundTripsTimesEachRoundTrip(t *testing.T) {
	m := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { _ = c.Close() })
	timed := &observations{}
	trips := &store.RoundTrips{Time: timed}
	c.AddHook(trips)
	if err := c.Set(t.Context(), "a", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	pipe := c.Pipeline()
	pipe.Get(t.Context(), "a")
	pipe.Incr(t.Context(), "b")
	if _, err := pipe.Exec(t.Context()); err != nil {
		t.Fatal(err)
	}
	// The connection's own handshake (hello, client) counts too.
	by := trips.ByOp()
	if by["set"] != 1 || by["pipeline(get,incr)"] != 1 || timed.n.Load() != trips.Total() {
		t.Errorf("%d round trips counted, %d timed, by operation %v; want each timed, set and the pipeline once", trips.Total(), timed.n.Load(), by)
	}
}
