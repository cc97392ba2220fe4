package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hangxomso/hangxom/flows"
)

var _ flows.ReminderStore = (*Redis)(nil)

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

// TakeDueReminders removes and returns up to n reminders due by now. One
// script does both, so with several replicas each reminder is taken once.
func (r *Redis) TakeDueReminders(ctx context.Context, now time.Time, n int) ([]flows.Reminder, error) {
	raws, err := takeDueScript.Run(ctx, r.c, []string{r.keys.ReminderQueue()}, now.UnixMilli(), n).StringSlice()
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

// takeDueScript pops the due members of a ZSET.
//
//	KEYS[1] Keys.ReminderQueue
//	ARGV[1] now, unix ms
//	ARGV[2] how many at most
var takeDueScript = redis.NewScript(`
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
if #due > 0 then
  redis.call('ZREM', KEYS[1], unpack(due))
end
return due
`)

// MarkReminded records that resident was reminded; it reports false if they
// already were within ttl (the "reminded in the last 3 days" rule).
func (r *Redis) MarkReminded(ctx context.Context, resident string, ttl time.Duration) (bool, error) {
	ok, err := r.c.SetNX(ctx, r.keys.Reminded(resident), "1", ttl).Result()
	if err != nil {
		return false, fmt.Errorf("store: mark reminded %s: %w", resident, err)
	}
	return ok, nil
}

// Reminded reports whether resident was reminded recently.
func (r *Redis) Reminded(ctx context.Context, resident string) (bool, error) {
	n, err := r.c.Exists(ctx, r.keys.Reminded(resident)).Result()
	if err != nil {
		return false, fmt.Errorf("store: reminded %s: %w", resident, err)
	}
	return n == 1, nil
}
