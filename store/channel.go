package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// SetReachable records whether the resident can be messaged: false when the
// resident blocked the bot (the mark holds the time, unix ms), true when
// they came back.
func (r *Redis) SetReachable(ctx context.Context, resident string, ok bool) error {
	key := r.keys.Unreachable(resident)
	var err error
	if ok {
		err = r.c.Del(ctx, key).Err()
	} else {
		err = r.c.Set(ctx, key, r.opts.Clock.Now().UnixMilli(), 0).Err()
	}
	if err != nil {
		return fmt.Errorf("store: set reachable %s: %w", resident, err)
	}
	return nil
}

// Reachable reports whether the resident can be messaged: true unless
// SetReachable(false) was the last word, or unless they wrote to the bot
// (Session.Seen) after it was. A resident who writes can be answered; and
// the "came back" event that clears the mark may be lost when Redis
// forgets its last second, which would otherwise leave them out of every
// reminder for good. A mark without a time (written before marks had one)
// is taken as the last word.
func (r *Redis) Reachable(ctx context.Context, resident string) (bool, error) {
	var mark, sess *redis.StringCmd
	_, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		mark = p.Get(ctx, r.keys.Unreachable(resident))
		sess = p.Get(ctx, r.keys.Session(resident))
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return false, fmt.Errorf("store: reachable %s: %w", resident, err)
	}
	v, err := mark.Result()
	if errors.Is(err, redis.Nil) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: reachable %s: %w", resident, err)
	}
	at, err := strconv.ParseInt(v, 10, 64)
	if err != nil || at <= 1 {
		return false, nil // "1": a mark of the earlier layout, without its time
	}
	raw, err := sess.Bytes()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: reachable %s: %w", resident, err)
	}
	var s struct {
		Seen time.Time `json:"seen"` // flows.Session.Seen, the only field read
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return false, nil // unreadable here: the mark stands
	}
	return s.Seen.UnixMilli() > at, nil
}
