package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"
)

// LockSend takes the resident's send lock, which serialises the senders of
// one outbox and is apart from Lock, so that sending never delays
// processing. It behaves as Lock: SET NX PX LockTTL with a random token,
// retried until LockWait passes, flows.ErrLocked (wrapped) if the resident
// stays busy; the unlock function releases the lock only while it still
// holds the token, and calling it twice is harmless.
func (r *Redis) LockSend(ctx context.Context, resident string) (func(), error) {
	unlock, err := r.lock(ctx, r.keys.SendLock(resident), r.opts.LockTTL, r.opts.LockWait)
	if err != nil {
		return nil, fmt.Errorf("store: send lock %s: %w", resident, err)
	}
	return unlock, nil
}

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

// SwapKeyboardMessage records messageID as the resident's last message with
// buttons and returns the one it replaces (0 when none), so that the channel
// can remove the old keyboard. A messageID ≤ 0 clears the record. The record
// lives OutboxTTL from the last swap.
func (r *Redis) SwapKeyboardMessage(ctx context.Context, resident string, messageID int) (int, error) {
	key := r.keys.KeyboardMessage(resident)
	var prev string
	var err error
	if messageID <= 0 {
		prev, err = r.c.GetDel(ctx, key).Result()
	} else {
		prev, err = r.c.SetArgs(ctx, key, messageID, redis.SetArgs{TTL: OutboxTTL, Get: true}).Result()
	}
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: swap keyboard message %s: %w", resident, err)
	}
	id, err := strconv.Atoi(prev)
	if err != nil {
		return 0, fmt.Errorf("store: swap keyboard message %s: stored %q: %w", resident, prev, err)
	}
	return id, nil
}

// ClearKeyboardMessage forgets the resident's last message with buttons if it
// is still messageID (once its keyboard was removed); a newer one stays.
func (r *Redis) ClearKeyboardMessage(ctx context.Context, resident string, messageID int) error {
	err := compareDeleteScript.Run(ctx, r.c, []string{r.keys.KeyboardMessage(resident)},
		strconv.Itoa(messageID)).Err()
	if err != nil {
		return fmt.Errorf("store: clear keyboard message %s: %w", resident, err)
	}
	return nil
}
