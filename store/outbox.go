package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/hangxomso/hangxom/flows"
)

// Outbox returns the resident's replies not yet acknowledged, oldest first.
func (r *Redis) Outbox(ctx context.Context, resident string) ([]flows.Reply, error) {
	raws, err := r.c.LRange(ctx, r.keys.Outbox(resident), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("store: outbox %s: %w", resident, err)
	}
	out := make([]flows.Reply, 0, len(raws))
	for _, raw := range raws {
		var reply flows.Reply
		if err := json.Unmarshal([]byte(raw), &reply); err != nil {
			return nil, fmt.Errorf("store: outbox %s: decode reply: %w", resident, err)
		}
		out = append(out, reply)
	}
	return out, nil
}

// AckOutbox removes the reply with replyID if it is the oldest in the
// resident's outbox: a channel acknowledges each reply once sent, in order.
// Acknowledging a reply that is not at the head (already acknowledged, or
// never there) does nothing.
func (r *Redis) AckOutbox(ctx context.Context, resident, replyID string) error {
	key := r.keys.Outbox(resident)
	head, err := r.c.LIndex(ctx, key, 0).Result()
	if errors.Is(err, redis.Nil) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: ack outbox %s: %w", resident, err)
	}
	var reply flows.Reply
	if err := json.Unmarshal([]byte(head), &reply); err != nil {
		return fmt.Errorf("store: ack outbox %s: decode reply: %w", resident, err)
	}
	if reply.ID != replyID {
		return nil
	}
	if err := popHeadScript.Run(ctx, r.c, []string{key}, head).Err(); err != nil {
		return fmt.Errorf("store: ack outbox %s: %w", resident, err)
	}
	return nil
}
