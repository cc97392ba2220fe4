package delivery

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/metrics"
)

var errBlocked = errors.New("delivery: resident unreachable")

// errTooLate is a bulk reply's NotAfter passed before it could be sent.
var errTooLate = errors.New("delivery: past the reply's last moment")

// errBulkLane is a bulk reply met by a drain of the chat lane: the bulk
// lane sends it (see chatLaneKey).
var errBulkLane = errors.New("delivery: a bulk reply, for the bulk lane")

// chatLaneKey marks the context of the chat lane's drains (its workers and
// the kicked ones). They never wait on the bulk pace: an outbox whose next
// reply is a reminder goes to the bulk lane, so that a reminder run (whose
// outboxes the recovery scan finds, and queues on the chat lane) does not
// hold up residents' replies.
type chatLaneKey struct{}

// bulkLaneKey marks the context of the bulk lane's workers.
type bulkLaneKey struct{}

// deliver sends one reply (as the messages Plan makes of it) at most once;
// the last message of the last reply (next is nil) releases the claim.
func (c *Core) deliver(ctx context.Context, t Transport, claim Claim, resident string, r flows.Reply, next *flows.Reply) error {
	limits := t.Limits()
	parts := Plan(r, limits)
	lastReply := next == nil
	for i, m := range parts {
		id := m.ID
		last := i == len(parts)-1
		release := last && lastReply
		if r.Bulk {
			if ctx.Value(chatLaneKey{}) != nil {
				return errBulkLane
			}
			if err := c.wait(ctx, "bulk", c.bulkPace()); err != nil {
				return err
			}
			if r.NotAfter != 0 && !c.Clock.Now().Before(time.Unix(r.NotAfter, 0)) {
				return errTooLate
			}
		}
		key := resident + "|" + id
		if _, ok := c.unsent.Load(key); ok {
			if err := c.Store.AbortSend(ctx, resident, id); err != nil {
				return err
			}
			c.unsent.Delete(key)
			claim.Recheck(id)
		}
		state, wait, prev, err := claim.Begin(ctx, id, c.Chat)
		if err != nil {
			// The marker may be set though the answer was lost; nothing
			// was sent.
			c.markUnsent(resident, id)
			return err
		}
		if wait > 0 {
			// The chat's pace: the worker moves on, the resident comes back.
			return &Later{After: wait}
		}
		switch state {
		case StateDone:
			if last {
				return claim.Finish(ctx, r.ID, true, "", release)
			}
			continue
		case StateUncertain:
			// An earlier attempt was written but its answer was lost: it
			// may have been shown. A missing message costs the resident a
			// tap ("menu"); a doubled one costs trust. Do not repeat.
			c.Logger.Warn("reply not repeated after an uncertain attempt", "channel", t.Name(), "resident", resident, "reply", id)
			c.Metrics.send(t.Name(), metrics.Uncertain, -1) // no call now: nothing to time
			if last {
				return claim.Finish(ctx, r.ID, false, "", release)
			}
			continue
		}
		buttons, err := c.send(ctx, t, resident, m)
		if err != nil {
			return err
		}
		finishID := id
		if last {
			finishID = r.ID
		}
		if c.TakeOffOldButtons && buttons != "" && prev != "" && prev != buttons {
			// The earlier step's buttons go (when asked: the engine refuses
			// a stale tap anyway); before the reply is marked sent, so a
			// reply counted sent has the old buttons gone.
			if err := t.TakeOffButtons(ctx, resident, prev); err != nil {
				c.Logger.Debug("take off old buttons", "channel", t.Name(), "resident", resident, "err", err)
			}
		}
		// The message that follows at once (a part, or the next reply's
		// first) is paced and marked by this Finish: unless it is a bulk
		// one (its own pace is waited for first) or one to unmark first.
		nextID := ""
		switch {
		case !last:
			nextID = parts[i+1].ID
		case next != nil && !next.Bulk:
			nextID = Plan(*next, limits)[0].ID
		}
		if nextID != "" && !r.Bulk {
			if _, unsent := c.unsent.Load(resident + "|" + nextID); !unsent {
				claim.Next(nextID, c.Chat)
			}
		}
		if err := claim.Finish(ctx, finishID, true, buttons, release); err != nil {
			c.sentOpen.Store(resident+"|"+id, true) // sent: never to be unmarked
			if nextID != "" {
				// The next may be marked though nothing was sent.
				c.markUnsent(resident, nextID)
			}
			return err
		}
		c.sentOpen.Delete(resident + "|" + id)
	}
	return nil
}

// send makes one platform call for a message, with pacing and retries, and
// returns the handle of the message when it carries buttons. The attempt
// marker is already set; it is removed when the call surely did not happen,
// so a later drain may try again.
func (c *Core) send(ctx context.Context, t Transport, resident string, m Message) (Handle, error) {
	for attempt := 0; ; attempt++ {
		if attempt > 0 { // the first attempt was paced by deliver
			if err := c.pace(ctx, resident, m.Bulk); err != nil {
				c.abort(context.WithoutCancel(ctx), resident, m.ID)
				return "", err
			}
		}
		start := time.Now()
		res := t.Send(ctx, resident, m)
		took := time.Since(start).Seconds()
		switch res.Outcome {
		case Sent:
			c.Metrics.send(t.Name(), metrics.Sent, took)
			if len(m.Buttons) == 0 {
				return "", nil
			}
			return res.Buttons, nil
		case Uncertain:
			c.Metrics.send(t.Name(), metrics.Uncertain, took)
			c.Logger.Warn("send outcome unknown; not repeated", "channel", t.Name(), "resident", resident, "reply", m.ID, "err", res.Err)
			return "", nil // treated as sent: the marker stays an attempt
		case RateLimited:
			c.Metrics.send(t.Name(), metrics.Throttled, took)
			c.abort(ctx, resident, m.ID)
			if err := Sleep(ctx, res.Wait+time.Duration(rand.N(250))*time.Millisecond); err != nil {
				return "", err
			}
			if _, err := c.Store.BeginSend(ctx, resident, m.ID); err != nil {
				c.markUnsent(resident, m.ID) // marked or not, not sent
				return "", err
			}
			attempt-- // a rate limit is not a failure: it uses up no retry
			continue
		case Unavailable:
			c.Metrics.send(t.Name(), metrics.Retry, took)
			c.abort(ctx, resident, m.ID)
			return "", &Later{After: max(res.Wait, time.Second)}
		case Unreachable:
			c.Metrics.send(t.Name(), metrics.Blocked, took)
			c.abort(ctx, resident, m.ID)
			if err := c.Store.SetReachable(ctx, resident, false); err != nil {
				return "", err
			}
			c.Logger.Info("resident unreachable", "channel", t.Name(), "resident", resident, "reason", res.Err)
			return "", errBlocked
		case Rejected:
			// A message the platform will never take: dropped so it cannot
			// block the chat.
			c.Metrics.send(t.Name(), metrics.Rejected, took)
			c.Logger.Error("reply rejected by the platform; dropped", "channel", t.Name(), "resident", resident, "reply", m.ID, "err", res.Err)
			return "", nil
		}
		// Transient, or an outcome this core does not know: surely not
		// shown, tried again.
		c.Metrics.send(t.Name(), metrics.Retry, took)
		c.abort(ctx, resident, m.ID)
		err := res.Err
		if err == nil {
			err = errors.New("delivery: send failed (" + res.Outcome.String() + ")")
		}
		if attempt+1 >= maxRetries {
			return "", err // left in the outbox for the recovery scan
		}
		if err := Sleep(ctx, Backoff(attempt)); err != nil {
			return "", err
		}
		if _, err := c.Store.BeginSend(ctx, resident, m.ID); err != nil {
			c.markUnsent(resident, m.ID) // marked or not, not sent
			return "", err
		}
	}
}

// markUnsent records that the attempt at message id may be marked but was
// surely not sent by this process (unless it was sent and only its finish
// failed: see sentOpen).
func (c *Core) markUnsent(resident, id string) {
	key := resident + "|" + id
	if _, sent := c.sentOpen.Load(key); !sent {
		c.unsent.Store(key, true)
	}
}

// abort removes the attempt marker of a send that surely did not happen;
// if the store cannot be told now, the next drain does it (see unsent).
func (c *Core) abort(ctx context.Context, resident, id string) {
	if err := c.Store.AbortSend(ctx, resident, id); err != nil {
		c.markUnsent(resident, id)
	}
}

// bulkPace is the pace of every bulk message together: BulkRate, with a
// burst of a tenth of a second's worth. Platforms count messages a second;
// sending at the rate with little burst leaves their bucket slack for the
// jitter between our clock and theirs (hangxom loadtest's reminders run on
// Telegram: a burst of a whole second had 1.7% of sends answered 429).
func (c *Core) bulkPace() Pace {
	return Pace{Rate: c.BulkRate, Burst: max(1, int(c.BulkRate/10))}
}

// pace waits until the chat's pace, and for a bulk message the bulk pace,
// allows one more message.
func (c *Core) pace(ctx context.Context, resident string, bulk bool) error {
	if bulk {
		if err := c.wait(ctx, "bulk", c.bulkPace()); err != nil {
			return err
		}
	}
	if c.Chat.Off() {
		return nil
	}
	return c.wait(ctx, "chat:"+resident, c.Chat)
}

func (c *Core) wait(ctx context.Context, key string, p Pace) error {
	for {
		ok, wait, err := c.Store.Allow(ctx, key, p.Rate, p.Burst)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if err := Sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// Backoff is the wait before retry attempt+1 of a failed call: doubling
// from 0.5 s up to 30 s, half of it random (so replicas spread out).
func Backoff(attempt int) time.Duration {
	d := 500 * time.Millisecond << attempt
	if d > 30*time.Second {
		d = 30 * time.Second
	}
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// Sleep waits d, or until ctx is done (its error).
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
