package desk_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hangxomso/hangxom/delivery"
	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/store"
)

// failCommit is the store with its next Commits failing with fail, one
// error each, before they write anything.
type failCommit struct {
	*store.Redis
	fail []error
}

func (f *failCommit) Commit(ctx context.Context, c flows.Commit) error {
	if len(f.fail) > 0 {
		err := f.fail[0]
		f.fail = f.fail[1:]
		return err
	}
	return f.Redis.Commit(ctx, c)
}

// delivered drains who's outbox as a channel does, a marker guarding each
// send (store/doc.go), and returns the replies that went out.
func delivered(t *testing.T, st *store.Redis, who string) []flows.Reply {
	t.Helper()
	c, err := st.ClaimOutbox(t.Context(), who, delivery.Pace{Rate: 1000, Burst: 1000}, delivery.Limits{MaxText: 4096, OneMessage: 4096, MaxCaption: 1024})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Release(t.Context())
	var out []flows.Reply
	for i, r := range c.Replies() {
		state, _, _, err := c.Begin(t.Context(), r.ID, delivery.Pace{Rate: 1000, Burst: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if state == delivery.StateNew {
			out = append(out, r)
		}
		if err := c.Finish(t.Context(), r.ID, state != delivery.StateUncertain, "", i == len(c.Replies())-1); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// A message the desk passes to someone else in a turn (the phone number a
// resident shares, the helper's message, the resident's note) goes out once
// when the turn runs again: after a stale write (Service retries at once)
// or after a failed one (the update comes again). Its id named the attempt
// (its clock), so the sent markers let each attempt's copy through: a
// review found the resident's phone number sent to the helper twice.
func TestARetriedTurnPassesItsMessageOnOnce(t *testing.T) {
	const phone = "+84912345678"
	stale := fmt.Errorf("store: commit: %w", flows.ErrStale)
	for _, failure := range []struct {
		name, update string
		err          error
	}{
		{"stale once", "tg:7", stale},
		{"stale once, from a channel with no update ids", "", stale},
		{"redelivered after a failed write", "tg:7", errors.New("redis away")},
	} {
		for _, tc := range []struct {
			name, who, to, want string
			prepare             func(w *staffWorld, note string)
			in                  flows.Input
		}{
			{name: "a shared phone number", who: "tg:20", to: "tg:5", want: "staff.contact_shared",
				in: flows.Input{Kind: flows.InputContact, Text: phone}},
			{name: "the helper's message", who: "tg:5", to: "tg:20", want: "common.message_from_team",
				prepare: func(w *staffWorld, _ string) { w.tap("tg:5", "staff.btn.message") },
				in:      flows.Input{Kind: flows.InputText, Text: "Chiều nay 3 giờ cháu qua nhà bác nhé"}},
			{name: "the resident's note", who: "tg:20", to: "tg:5", want: "staff.note_from_resident",
				prepare: func(w *staffWorld, note string) {
					w.send("tg:20", flows.Input{Kind: flows.InputChoice, Data: note})
				},
				in: flows.Input{Kind: flows.InputText, Text: "Nhà cạnh trạm y tế"}},
		} {
			t.Run(failure.name+"/"+tc.name, func(t *testing.T) {
				w := newStaffWorld(t)
				joinHoa(t, w)
				w.send("tg:20", flows.Input{Kind: flows.InputCommand, Command: "start", Text: "h_a-1", Name: "Lan"})
				w.askPerson("tg:20")
				claim := w.outboxOf("tg:5")[0].Buttons[0].Data
				w.send("tg:5", flows.Input{Kind: flows.InputChoice, Data: claim})
				note := w.outboxOf("tg:20")[0].Buttons[0].Data // "where I live", offered with "help is coming"
				if tc.prepare != nil {
					tc.prepare(w, note)
				}
				delivered(t, w.st, "tg:5")
				delivered(t, w.st, "tg:20")

				st := &failCommit{Redis: w.st, fail: []error{failure.err}}
				w.svc.Store = st
				// Each attempt reads the clock, as in production, where it
				// has moved on by then.
				w.svc.Clock = flows.ClockFunc(func() time.Time { w.now = w.now.Add(time.Millisecond); return w.now })
				in := tc.in
				in.UpdateID = failure.update
				_, err := w.svc.Handle(t.Context(), tc.who, in)
				if errors.Is(failure.err, flows.ErrStale) != (err == nil) {
					t.Fatalf("handle: %v", err)
				}
				if err != nil { // the channel delivers the update again
					if _, err := w.svc.Handle(t.Context(), tc.who, in); err != nil {
						t.Fatal(err)
					}
				}

				var got []flows.Reply
				for _, r := range delivered(t, w.st, tc.to) {
					if strings.HasPrefix(r.Text, tc.want) {
						got = append(got, r)
					}
				}
				if len(got) != 1 {
					t.Fatalf("%s went out %d times, want once: %+v", tc.want, len(got), got)
				}
				// The id outlives the message (the sent markers, the log of a
				// failed send): no run of the number's digits may be in it.
				for i := 0; i+5 <= len(phone); i++ {
					if strings.Contains(got[0].ID, phone[i:i+5]) {
						t.Errorf("reply id %q holds %q of the number %s", got[0].ID, phone[i:i+5], phone)
					}
				}
			})
		}
	}
}
