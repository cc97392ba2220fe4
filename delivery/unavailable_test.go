package delivery_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hangxomso/hangxom/delivery"
	"github.com/hangxomso/hangxom/flows"
)

// closedFor is a transport that answers Unavailable to its first n sends,
// then passes them on.
type closedFor struct {
	delivery.Transport
	n int
}

func (c *closedFor) Send(ctx context.Context, resident string, m delivery.Message) delivery.Result {
	if c.n > 0 {
		c.n--
		return delivery.Result{Outcome: delivery.Unavailable, Wait: time.Minute, Err: errors.New("closed")}
	}
	return c.Transport.Send(ctx, resident, m)
}

// A channel that cannot send for a while sends the drain back with a wait
// (no retry used, nothing slept through), the message unmarked: the next
// drain sends it, once.
func TestUnavailableComesBackLater(t *testing.T) {
	s, fake, st := newSender(t)
	s.Transports = []delivery.Transport{&closedFor{Transport: s.Transports[0], n: 1}}
	commit(t, st, "tg:88", flows.Reply{ID: "x#0", Text: "một"}, flows.Reply{ID: "x#1", Text: "hai"})
	err := s.Drain(t.Context(), "tg:88")
	var later *delivery.Later
	if !errors.As(err, &later) || later.After < time.Minute {
		t.Fatalf("drain = %v, want to come back in a minute", err)
	}
	if n := len(fake.Messages(88)); n != 0 {
		t.Fatalf("%d messages while the channel was closed", n)
	}
	if err := s.Drain(t.Context(), "tg:88"); err != nil {
		t.Fatal(err)
	}
	if ms := fake.Messages(88); len(ms) != 2 || ms[0].Text != "một" || ms[1].Text != "hai" {
		t.Errorf("after it opened: %+v", ms)
	}
}
