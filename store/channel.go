package store

import (
	"context"
	"fmt"
)

// SetReachable records whether the resident can be messaged: false when the
// resident blocked the bot, true when they came back.
func (r *Redis) SetReachable(ctx context.Context, resident string, ok bool) error {
	key := r.keys.Unreachable(resident)
	var err error
	if ok {
		err = r.c.Del(ctx, key).Err()
	} else {
		err = r.c.Set(ctx, key, "1", 0).Err()
	}
	if err != nil {
		return fmt.Errorf("store: set reachable %s: %w", resident, err)
	}
	return nil
}

// Reachable reports whether the resident can be messaged: true unless
// SetReachable(false) was the last word.
func (r *Redis) Reachable(ctx context.Context, resident string) (bool, error) {
	n, err := r.c.Exists(ctx, r.keys.Unreachable(resident)).Result()
	if err != nil {
		return false, fmt.Errorf("store: reachable %s: %w", resident, err)
	}
	return n == 0, nil
}
