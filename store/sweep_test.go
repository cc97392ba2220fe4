package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/store"
)

// A resident the retention step cannot retire is logged at warn under
// their pseudonym: the log does not keep the id of someone being
// forgotten, not even inside the error.
func TestRetireFailureIsLoggedUnderThePseudonym(t *testing.T) {
	m := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { _ = c.Close() })
	var log bytes.Buffer
	noTime := func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}
	s := store.New(c, store.Options{DataKey: []byte("k"), Logger: slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{ReplaceAttr: noTime}))})
	ctx := t.Context()
	const resident = "tg:4242"
	if err := s.Commit(ctx, flows.Commit{Resident: resident, Session: flows.Session{Seen: time.Unix(0, 0)}}); err != nil {
		t.Fatal(err)
	}
	retire := func(ctx context.Context, resident string, before time.Time) (bool, error) {
		return false, fmt.Errorf("flows: retire %s: a corrupt session", resident)
	}
	rep, err := s.Sweep(ctx, time.Now(), store.SweepOptions{Retention: time.Hour, Retire: retire})
	if err != nil || rep.RetireFailed != 1 {
		t.Fatalf("sweep: %+v, %v; want one failure and no error", rep, err)
	}
	out := log.String()
	if !strings.Contains(out, "level=WARN") || !strings.Contains(out, s.Pseudonym(resident)) || !strings.Contains(out, "a corrupt session") {
		t.Errorf("log without the warning, the pseudonym or the cause:\n%s", out)
	}
	if strings.Contains(out, "4242") {
		t.Errorf("the log names the resident:\n%s", out)
	}
}

// A Retire that fails because Redis went away stops the stretch: the
// residents after it are not handed over (and counted failed) one by one
// while the store is down, and the cursor stays where it was.
func TestRetentionStopsWhileRedisIsAway(t *testing.T) {
	m := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: m.Addr(), MaxRetries: -1})
	t.Cleanup(func() { _ = c.Close() })
	s := store.New(c, store.Options{DataKey: []byte("k")})
	ctx := t.Context()
	for _, who := range []string{"tg:1", "tg:2", "tg:3"} {
		if err := s.Commit(ctx, flows.Commit{Resident: who, Session: flows.Session{Seen: time.Unix(0, 0)}}); err != nil {
			t.Fatal(err)
		}
	}
	calls := 0
	retire := func(ctx context.Context, resident string, before time.Time) (bool, error) {
		calls++
		// Redis is away for half a second: long enough for the sweep's
		// look, short enough for its lock's release to get through after.
		m.SetError("LOADING Redis is loading the dataset in memory")
		time.AfterFunc(500*time.Millisecond, func() { m.SetError("") })
		return false, errors.New("store: begin: LOADING")
	}
	rep, err := s.Sweep(ctx, time.Now(), store.SweepOptions{Retention: time.Hour, Retire: retire})
	if err == nil || calls != 1 || rep.RetireFailed != 0 {
		t.Errorf("sweep with Redis away: %+v, %v after %d Retire calls; want an error after the first, none counted failed", rep, err, calls)
	}
	if n, _ := c.HLen(ctx, s.Keys().RetentionCursor()).Result(); n != 0 {
		t.Errorf("the cursor moved while Redis was away (%d nodes)", n)
	}
}
