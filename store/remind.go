package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hangxomso/hangxom/desk"
	"github.com/hangxomso/hangxom/flows"
)

var _ desk.ReminderStore = (*Redis)(nil)

// QueueReminders puts reminders in the queue, each due at its time; they
// survive restarts and wait there through the quiet hours.
func (r *Redis) QueueReminders(ctx context.Context, rs []flows.Reminder) error {
	if len(rs) == 0 {
		return nil
	}
	zs := make([]redis.Z, 0, len(rs))
	for _, x := range rs {
		raw, err := json.Marshal(x)
		if err != nil {
			return fmt.Errorf("store: queue reminders: %w", err)
		}
		zs = append(zs, redis.Z{Score: float64(x.Due.UnixMilli()), Member: raw})
	}
	if err := r.c.ZAdd(ctx, r.keys.ReminderQueue(), zs...).Err(); err != nil {
		return fmt.Errorf("store: queue reminders: %w", err)
	}
	return nil
}

// TakeDueReminders claims up to n reminders due by now: one script moves
// them from the queue to an in-flight set (so with several replicas each is
// taken once), and puts back first those whose taker did not acknowledge
// them within reminderLease (it crashed). AckReminder ends a reminder.
func (r *Redis) TakeDueReminders(ctx context.Context, now time.Time, n int) ([]flows.Reminder, error) {
	raws, err := takeDueScript.Run(ctx, r.c, []string{r.keys.ReminderQueue(), r.keys.ReminderInFlight()},
		now.UnixMilli(), n, now.Add(reminderLease).UnixMilli()).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("store: take reminders: %w", err)
	}
	out := make([]flows.Reminder, 0, len(raws))
	for _, raw := range raws {
		var x flows.Reminder
		if err := json.Unmarshal([]byte(raw), &x); err != nil {
			r.log.Warn("store: unreadable reminder dropped", "err", err)
			continue
		}
		out = append(out, x)
	}
	return out, nil
}

// reminderLease is how long a taken reminder may wait for its ack before
// another taker gets it again.
const reminderLease = 5 * time.Minute

// AckReminder ends a taken reminder (sent, or found ineligible).
func (r *Redis) AckReminder(ctx context.Context, x flows.Reminder) error {
	raw, err := json.Marshal(x)
	if err != nil {
		return fmt.Errorf("store: ack reminder: %w", err)
	}
	if err := r.c.ZRem(ctx, r.keys.ReminderInFlight(), raw).Err(); err != nil {
		return fmt.Errorf("store: ack reminder: %w", err)
	}
	return nil
}

// takeDueScript requeues expired in-flight reminders, then moves the due
// ones of the queue in flight.
//
//	KEYS[1] Keys.ReminderQueue     ZSET member → due (ms)
//	KEYS[2] Keys.ReminderInFlight  ZSET member → lease end (ms)
//	ARGV[1] now, unix ms
//	ARGV[2] how many at most
//	ARGV[3] lease end for the ones taken now, unix ms
var takeDueScript = newScript("takedue", `
local lost = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1])
for _, m in ipairs(lost) do
  redis.call('ZREM', KEYS[2], m)
  redis.call('ZADD', KEYS[1], ARGV[1], m)
end
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, m in ipairs(due) do
  redis.call('ZREM', KEYS[1], m)
  redis.call('ZADD', KEYS[2], ARGV[3], m)
end
return due
`)

// MarkReminded records that resident is reminded by reminder id; it
// reports false if another reminder already did within ttl (the "reminded
// in the last 3 days" rule). The same id may mark again: a retry after a
// crash.
func (r *Redis) MarkReminded(ctx context.Context, resident, id string, ttl time.Duration) (bool, error) {
	ok, err := r.c.SetNX(ctx, r.keys.Reminded(resident), id, ttl).Result()
	if err != nil {
		return false, fmt.Errorf("store: mark reminded %s: %w", resident, err)
	}
	if ok {
		return true, nil
	}
	cur, err := r.c.Get(ctx, r.keys.Reminded(resident)).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return false, fmt.Errorf("store: mark reminded %s: %w", resident, err)
	}
	return cur == id, nil
}

// Reminded reports whether resident was reminded recently.
func (r *Redis) Reminded(ctx context.Context, resident string) (bool, error) {
	n, err := r.c.Exists(ctx, r.keys.Reminded(resident)).Result()
	if err != nil {
		return false, fmt.Errorf("store: reminded %s: %w", resident, err)
	}
	return n == 1, nil
}

var _ desk.WindowStore = (*Redis)(nil)

// KeptAlive returns the window whose keep-alive message member was last
// sent, "" if none is remembered.
func (r *Redis) KeptAlive(ctx context.Context, member string) (string, error) {
	v, err := r.c.Get(ctx, r.keys.KeptAlive(member)).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: kept alive %s: %w", member, err)
	}
	return v, nil
}

// MarkKeptAlive records that member was sent the keep-alive message of
// window, for ttl (until the window closes).
func (r *Redis) MarkKeptAlive(ctx context.Context, member, window string, ttl time.Duration) error {
	if err := r.c.Set(ctx, r.keys.KeptAlive(member), window, ttl).Err(); err != nil {
		return fmt.Errorf("store: mark kept alive %s: %w", member, err)
	}
	return nil
}
