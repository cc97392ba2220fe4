package store_test

import (
	"fmt"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/hangxomso/hangxom/delivery"
	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/store"
)

// TestAClaimsMarkStaysForAPagedReplysLastPart: a screen of seven choices
// has a short text, so the claim takes it for one message and marks the
// reply's id; on Zalo (five buttons a message) delivery.Plan sends it as
// two, the reply's id on the second. Each part must begin new: the second
// once found the claim's mark and was given up as uncertain, never sent.
func TestAClaimsMarkStaysForAPagedReplysLastPart(t *testing.T) {
	m := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { _ = c.Close() })
	s := store.New(c, store.Options{})
	ctx := t.Context()
	var cs []flows.Choice
	for i := range 7 {
		cs = append(cs, flows.Choice{Label: fmt.Sprint("choice ", i+1), Data: fmt.Sprint(i + 1)})
	}
	r := flows.Reply{ID: "zl:1#0", Text: "Which one?", Buttons: cs}
	if err := s.Commit(ctx, flows.Commit{Resident: "zl:1", UpdateID: "zl:1", Outbox: []flows.Reply{r}}); err != nil {
		t.Fatal(err)
	}
	l := delivery.Limits{MaxText: 2000, OneMessage: 2000, MaxCaption: -1, MaxButtons: 5, MaxTitle: 20}
	pace := delivery.Pace{Rate: 1000, Burst: 1000}
	parts := delivery.Plan(r, l)
	if len(parts) != 2 || parts[1].ID != r.ID {
		t.Fatalf("Plan: %+v, want two messages, the reply's id on the second", parts)
	}
	claim, err := s.ClaimOutbox(ctx, "zl:1", pace, l)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range parts {
		state, wait, _, err := claim.Begin(ctx, p.ID, pace)
		if err != nil || state != delivery.StateNew || wait != 0 {
			t.Fatalf("Begin of part %d (%s): %v, wait %v, %v; want StateNew", i, p.ID, state, wait, err)
		}
		last := i == len(parts)-1
		if !last {
			claim.Next(parts[i+1].ID, pace)
		}
		if err := claim.Finish(ctx, p.ID, true, "", last); err != nil {
			t.Fatal(err)
		}
	}
	if rs, err := s.Outbox(ctx, "zl:1"); err != nil || len(rs) != 0 {
		t.Errorf("outbox after both parts: %v %v, want empty", rs, err)
	}
}
