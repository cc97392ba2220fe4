package desk

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hangxomso/hangxom/flows"
)

// Window is a channel's messaging window: a message the bot sends on its
// own reaches a person of that channel only within Open of their last
// message (flows.Session.Seen), and costs the sender money after Free.
// Zalo's consultation messages: free for 48 h, possible for 7 days; a
// Telegram chat has no window. A reply to a message is always inside it.
type Window struct {
	// Prefix starts the resident ids of the channel ("zl:").
	Prefix string
	Free   time.Duration
	Open   time.Duration
}

// reach is where a message the bot sends on its own stands in its
// recipient's window.
type reach int

const (
	reachFree   reach = iota // no window, or in its free part
	reachBilled              // in the window, billed
	reachOut                 // out of the window: it cannot reach them
)

// keepAliveBefore is how long before a team member's window closes the
// keep-alive message goes out: a day, so that it finds them awake.
const keepAliveBefore = 24 * time.Hour

// window returns the messaging window of person id's channel, if it has one.
func (d *Desk) window(id string) (Window, bool) {
	for _, w := range d.Windows {
		if w.Prefix != "" && strings.HasPrefix(id, w.Prefix) {
			return w, true
		}
	}
	return Window{}, false
}

// reachOf says where a message to person id stands at now, their last
// message at seen (zero: they never wrote, so nothing reaches them).
func (d *Desk) reachOf(id string, seen, now time.Time) reach {
	w, ok := d.window(id)
	switch {
	case !ok:
		return reachFree
	case seen.IsZero() || now.Sub(seen) >= w.Open:
		return reachOut
	case now.Sub(seen) >= w.Free:
		return reachBilled
	}
	return reachFree
}

// until is the last moment a message the bot sends on its own may reach
// person id, their last message at seen: the end of the free part of their
// window, or of the whole window with BilledMessages; ok is false on a
// channel without a window.
func (d *Desk) until(id string, seen time.Time) (time.Time, bool) {
	w, ok := d.window(id)
	if !ok {
		return time.Time{}, false
	}
	if d.BilledMessages {
		return seen.Add(w.Open), true
	}
	return seen.Add(w.Free), true
}

// reachOfMember is reachOf for a team member or coordinator, whose session
// is read only on a channel with a window.
func (d *Desk) reachOfMember(ctx context.Context, id string, now time.Time) (reach, error) {
	if _, ok := d.window(id); !ok || d.FollowUp == nil {
		return reachFree, nil
	}
	s, err := d.FollowUp.Session(ctx, id)
	if err != nil {
		return reachOut, err
	}
	return d.reachOf(id, s.Seen, now), nil
}

// reachable keeps, in order, the people of ids a message can reach at now
// (anyone on a channel without a window; the others inside theirs).
func (d *Desk) reachable(ctx context.Context, ids []string, now time.Time) ([]string, error) {
	var out []string
	for _, id := range ids {
		r, err := d.reachOfMember(ctx, id, now)
		if err != nil {
			return nil, err
		}
		if r != reachOut {
			out = append(out, id)
		}
	}
	return out, nil
}

// KeepAlive sends the team members and coordinators on a channel with a
// window, a day before it closes, a message with one button: a tap is a
// message of theirs, which opens a new window, so help alerts keep reaching
// them. One per window, outside the quiet hours (a day holds fourteen
// hours of daytime); it returns how many it sent. The periodic loop calls
// it every minute on every replica: two replicas may enqueue the same
// message, whose reply id the sender sends once.
func (d *Desk) KeepAlive(ctx context.Context, now time.Time) (int, error) {
	if len(d.Windows) == 0 || d.KeptAlive == nil || d.Help == nil || d.FollowUp == nil {
		return 0, nil
	}
	if q, _ := quiet(now, d.Location); q {
		return 0, nil
	}
	all, err := d.Store.Members(ctx)
	if err != nil {
		return 0, err
	}
	var ids []string
	for _, m := range all {
		ids = append(ids, m.ID)
	}
	for _, c := range d.Coordinators {
		if !slices.Contains(ids, c) {
			ids = append(ids, c)
		}
	}
	n := 0
	for _, id := range ids {
		w, ok := d.window(id)
		if !ok {
			continue
		}
		s, err := d.FollowUp.Session(ctx, id)
		if err != nil {
			return n, err
		}
		closes := s.Seen.Add(w.Open)
		if s.Seen.IsZero() || now.Before(closes.Add(-keepAliveBefore)) || !now.Before(closes) {
			continue
		}
		win := strconv.FormatInt(s.Seen.UnixMilli(), 10)
		if sent, err := d.KeptAlive.KeptAlive(ctx, id); err != nil {
			return n, err
		} else if sent == win {
			continue
		}
		lang := flows.LangOrDefault(s.Lang)
		text, _ := d.Loc.Localize(lang, "staff.keepalive", map[string]any{"Days": int(w.Open.Hours() / 24)})
		label, _ := d.Loc.Localize(lang, "staff.btn.keepalive", nil)
		// Enqueued before it is marked: a crash between the two sends it
		// again next minute, under the same reply id, which the sender
		// sends once. If Redis forgets the mark, it forgets the reply's
		// sent marker written after it too: the message goes again (a
		// duplicate in the same window), never none.
		r := flows.Reply{ID: "keepalive:" + win, Text: text, NotAfter: closes.Unix(),
			Buttons: []flows.Choice{{Data: flows.KeepAlivePrefix + win, Label: label}}}
		if err := d.Help.Enqueue(ctx, id, r); err != nil {
			return n, err
		}
		if d.Notify != nil {
			d.Notify(id)
		}
		if err := d.KeptAlive.MarkKeptAlive(ctx, id, win, closes.Sub(now)); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// windowMessages are the words of this file and of the window's marks.
func windowMessages() map[string][]string {
	return map[string][]string{
		"staff.keepalive":            {"Days"},
		"staff.btn.keepalive":        nil,
		"staff.keepalive_ok":         nil,
		"staff.mark_out_of_window":   {"Days"},
		"staff.mark_out_of_reach":    {"Days"},
		"staff.remind_out_of_window": {"Count", "Days"},
		"staff.remind_billed":        {"Count"},
	}
}

// markOutOfReach adds to a /team line that member id is out of reach: on a
// channel with a window they have not written for its length, so no help
// alert reaches them until they write again.
func (k *desk) markOutOfReach(ctx context.Context, line, id string) (string, error) {
	r, err := k.d.reachOfMember(ctx, id, k.now)
	if err != nil || r != reachOut {
		return line, err
	}
	w, _ := k.d.window(id)
	return line + " " + k.text("staff.mark_out_of_reach", map[string]any{"Days": int(w.Open.Hours() / 24)}), nil
}

// windowDays is the length in days of the longest window, for the words
// that name it (7 on Zalo).
func (k *desk) windowDays() int {
	var longest time.Duration
	for _, w := range k.d.Windows {
		longest = max(longest, w.Open)
	}
	return int(longest.Hours() / 24)
}
