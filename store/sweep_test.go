package store_test

import (
	"bytes"
	"context"
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
