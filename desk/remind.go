package desk

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hangxomso/hangxom/flows"
)

// Reminder rules: nothing is sent between 21:00 and 07:00 (BOT_TZ), and a
// resident is reminded at most once in three days.
const (
	quietFrom = 21
	quietTo   = 7
	remindGap = 3 * 24 * time.Hour
)

// quiet reports whether t falls in the quiet hours, and when they end.
func quiet(t time.Time, loc *time.Location) (bool, time.Time) {
	if loc == nil {
		loc = time.UTC
	}
	l := t.In(loc)
	morning := time.Date(l.Year(), l.Month(), l.Day(), quietTo, 0, 0, 0, loc)
	switch {
	case l.Hour() < quietTo:
		return true, morning
	case l.Hour() >= quietFrom:
		return true, morning.AddDate(0, 0, 1)
	}
	return false, t
}

// quietStart is when the quiet hours begin next after t.
func quietStart(t time.Time, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	l := t.In(loc)
	evening := time.Date(l.Year(), l.Month(), l.Day(), quietFrom, 0, 0, 0, loc)
	if !l.Before(evening) {
		evening = evening.AddDate(0, 0, 1)
	}
	return evening
}

// remind queues a friendly reminder, with a button that resumes the flow,
// for the residents of the caller's hamlets who started but did not finish
// that flow (or any): not those who opted out (/stop), who blocked the bot,
// or who were reminded in the last three days; on a channel with a window
// (Zalo) not those out of it, nor, unless BilledMessages, those in its
// billed part: the answer counts both. In the quiet hours they wait in
// Redis until the morning.
func (k *desk) remind(ctx context.Context, args string) error {
	m, ok, err := k.staff(ctx)
	if err != nil || !ok {
		return err
	}
	if k.d.Reminders == nil || k.d.FollowUp == nil {
		k.say("staff.unknown", nil)
		return nil
	}
	var only *flows.Flow
	if args != "" {
		f, ok := k.d.Library.Flow(args)
		if !ok {
			k.say("staff.remind_unknown_flow", map[string]any{"Flow": args})
			return nil
		}
		only = f
	}
	isQuiet, due := quiet(k.now, k.d.Location)
	// Who to remind of what, in the order of hamlets and flows; each
	// resident once, for the first open flow found. The lookups are one
	// round trip each: a commune's thousands run on remindWorkers at once.
	type candidate struct {
		pseudonym, flow, resident string
		known                     bool
		verdict                   verdict
	}
	var cs []candidate
	for _, h := range k.hamletsOf(m) {
		for _, f := range k.d.Library.Flows() {
			if only != nil && f.ID != only.ID {
				continue
			}
			es, err := k.d.FollowUp.Open(ctx, h.ID, f.ID)
			if err != nil {
				return err
			}
			for _, e := range es {
				cs = append(cs, candidate{pseudonym: e.Pseudonym, flow: f.ID})
			}
		}
	}
	err = parallel(len(cs), remindWorkers, func(i int) error {
		id, ok, err := k.d.FollowUp.Resident(ctx, cs[i].pseudonym)
		cs[i].resident, cs[i].known = id, ok
		return err
	})
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	var first []int // candidates kept: known, and each resident's first
	for i, c := range cs {
		if c.known && !seen[c.resident] {
			seen[c.resident] = true
			first = append(first, i)
		}
	}
	err = parallel(len(first), remindWorkers, func(j int) error {
		c := &cs[first[j]]
		v, err := k.d.mayRemind(ctx, c.resident, c.flow, k.now)
		c.verdict = v
		return err
	})
	if err != nil {
		return err
	}
	var queue []flows.Reminder
	skipped, out, billed := 0, 0, 0
	for _, i := range first {
		c := cs[i]
		switch c.verdict {
		case remindNo:
			skipped++
			continue
		case remindOut:
			out++
			continue
		case remindBilled:
			billed++
			continue
		}
		sum := sha256.Sum256([]byte(k.me + "|" + c.resident + "|" + c.flow + "|" + strconv.FormatInt(k.now.UnixNano(), 10)))
		queue = append(queue, flows.Reminder{ID: hex.EncodeToString(sum[:8]), Resident: c.resident, Flow: c.flow, By: k.me, Due: due})
	}
	now, later := len(queue), 0
	if isQuiet {
		now, later = 0, len(queue)
	} else if k.d.BulkRate > 0 {
		// What the bulk pace cannot send before the quiet hours waits for
		// the morning: a reminder not sent by then is not sent at all.
		evening := quietStart(k.now, k.d.Location)
		if n := int(k.d.BulkRate * evening.Sub(k.now).Seconds() / 2); n < len(queue) {
			_, morning := quiet(evening, k.d.Location)
			for i := max(n, 0); i < len(queue); i++ {
				queue[i].Due = morning
			}
			now, later = max(n, 0), len(queue)-max(n, 0)
		}
	}
	if err := k.d.Reminders.QueueReminders(ctx, queue); err != nil {
		return err
	}
	if !isQuiet {
		if _, err := k.d.RunReminders(ctx, k.now); err != nil {
			return err
		}
	}
	k.say("staff.remind_done", map[string]any{"Now": now, "Later": later, "Skipped": skipped})
	if out > 0 {
		k.say("staff.remind_out_of_window", map[string]any{"Count": out, "Days": k.windowDays()})
	}
	if billed > 0 {
		k.say("staff.remind_billed", map[string]any{"Count": billed})
	}
	return nil
}

// verdict is whether a resident may be reminded, and if not, why.
type verdict int

const (
	remindNo     verdict = iota // finished, opted out, blocked the bot, or reminded lately
	remindYes                   // may be reminded
	remindOut                   // out of their channel's window: a team member should visit
	remindBilled                // in the billed part of the window, without BilledMessages
)

// mayRemind checks the rules for one resident and flow when a reminder is
// asked for at now: the flow unfinished, not opted out, reachable, inside
// their channel's window (its free part unless BilledMessages), and not
// reminded in the last three days.
func (d *Desk) mayRemind(ctx context.Context, resident, flow string, now time.Time) (verdict, error) {
	v, _, err := d.mayRemindTaken(ctx, flows.Reminder{Resident: resident, Flow: flow}, now)
	if err != nil || v != remindYes {
		return v, err
	}
	if recent, err := d.Reminders.Reminded(ctx, resident); err != nil || recent {
		return remindNo, err
	}
	return remindYes, nil
}

// RunReminders sends the reminders that are due (outside the quiet hours).
// Each is taken from the queue atomically, so replicas running this at the
// same time send each once. It returns how many were sent.
//
// If Redis forgets its last second, a reminder taken and sent in it is
// back in the queue (the take forgotten) or in flight (the ack forgotten:
// back in the queue when its lease ends). Taken again, its own "reminded"
// mark lets it through, and it is sent again unless its reply's sent
// marker was kept (then the sender pops it unsent): a duplicate at worst,
// never stuck (store's TestRolledBackReminderIsTakenAgain).
func (d *Desk) RunReminders(ctx context.Context, now time.Time) (int, error) {
	if d.Reminders == nil || d.Help == nil {
		return 0, nil
	}
	if q, _ := quiet(now, d.Location); q {
		return 0, nil
	}
	var sent atomic.Int64
	for {
		rs, err := d.Reminders.TakeDueReminders(ctx, now, 100)
		if err != nil || len(rs) == 0 {
			return int(sent.Load()), err
		}
		// Each reminder is on its own (its own resident, marker and reply
		// id): the batch runs on remindWorkers at once.
		err = parallel(len(rs), remindWorkers, func(i int) error {
			done, err := d.remindOne(ctx, rs[i], now)
			if err != nil {
				return err // the reminder comes back after its lease
			}
			if err := d.Reminders.AckReminder(ctx, rs[i]); err != nil {
				return err
			}
			if done {
				sent.Add(1)
			}
			return nil
		})
		if err != nil {
			return int(sent.Load()), err
		}
	}
}

// remindWorkers bounds the reminders looked up or sent at once: each step
// is a Redis round trip or two, and a commune's /remind reaches thousands.
const remindWorkers = 16

// parallel runs fn(0) … fn(n-1) on up to workers goroutines and returns
// the first error; the calls already started still finish.
func parallel(n, workers int, fn func(i int) error) error {
	if n == 0 {
		return nil
	}
	next := make(chan int)
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(i); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		}()
	}
	for i := range n {
		select {
		case err := <-errs:
			close(next)
			wg.Wait()
			return err
		case next <- i:
		}
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

// remindOne sends one taken reminder if the rules still allow it. A retry
// after a crash sends it at most once: the reply id is the reminder's, and
// the sender sends a reply id once.
func (d *Desk) remindOne(ctx context.Context, r flows.Reminder, now time.Time) (bool, error) {
	v, s, err := d.mayRemindTaken(ctx, r, now)
	if err != nil || v != remindYes {
		return false, err
	}
	if fresh, err := d.Reminders.MarkReminded(ctx, r.Resident, r.ID, remindGap); err != nil || !fresh {
		return false, err
	}
	f, ok := d.Library.Flow(r.Flow)
	if !ok {
		return false, nil
	}
	lang := flows.LangOrDefault(s.Lang)
	title, _ := d.Loc.Localize(lang, f.Title, nil)
	text, _ := d.Loc.Localize(lang, "common.reminder", map[string]any{"Flow": title})
	label, _ := d.Loc.Localize(lang, "common.btn.resume", map[string]any{"Flow": title})
	last := quietStart(now, d.Location)
	if end, ok := d.until(r.Resident, s.Seen); ok && end.Before(last) {
		last = end // not sent once out of the window (or its free part)
	}
	reply := flows.Reply{ID: "remind:" + r.ID, Text: text, Bulk: true, NotAfter: last.Unix(),
		Buttons: []flows.Choice{{Data: flows.ResumePrefix + f.ID, Label: label}}}
	if err := d.Help.Enqueue(ctx, r.Resident, reply); err != nil {
		return false, err
	}
	switch {
	case d.NotifyBulk != nil:
		d.NotifyBulk(r.Resident)
	case d.Notify != nil:
		d.Notify(r.Resident)
	}
	return true, nil
}

// mayRemindTaken is mayRemind for a reminder already marked by an earlier
// attempt of its own (a retry): the "recently reminded" rule is its own mark.
// Run again when the reminder is sent (the morning after the quiet hours,
// say), the window may have moved on since it was asked for. It returns the
// resident's session too.
func (d *Desk) mayRemindTaken(ctx context.Context, r flows.Reminder, now time.Time) (verdict, flows.Session, error) {
	s, err := d.FollowUp.Session(ctx, r.Resident)
	if err != nil {
		return remindNo, s, err
	}
	if s.NoReminders {
		return remindNo, s, nil
	}
	open := s.Active != nil && s.Active.Flow == r.Flow
	for _, x := range s.Paused {
		open = open || x.Flow == r.Flow
	}
	if !open {
		return remindNo, s, nil
	}
	if ok, err := d.Reminders.Reachable(ctx, r.Resident); err != nil || !ok {
		return remindNo, s, err
	}
	switch d.reachOf(r.Resident, s.Seen, now) {
	case reachOut:
		return remindOut, s, nil
	case reachBilled:
		if !d.BilledMessages {
			return remindBilled, s, nil
		}
	}
	return remindYes, s, nil
}
