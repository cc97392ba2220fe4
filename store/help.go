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

var _ desk.HelpStore = (*Redis)(nil)

// Enqueue appends replies to someone else's outbox (a team member told of a
// help request, a resident told who will come). The sender drains it like
// any outbox; replies keep their ids, so enqueueing the same reply twice
// sends it once.
func (r *Redis) Enqueue(ctx context.Context, resident string, replies ...flows.Reply) error {
	if len(replies) == 0 {
		return nil
	}
	now := float64(r.opts.Clock.Now().UnixMilli())
	vals := make([]any, 0, len(replies))
	for _, rep := range replies {
		raw, err := json.Marshal(rep)
		if err != nil {
			return fmt.Errorf("store: enqueue for %s: %w", resident, err)
		}
		vals = append(vals, raw)
	}
	z := redis.Z{Score: now, Member: resident}
	if _, cluster := r.c.(*redis.ClusterClient); !cluster {
		// One node: the index and the push in one MULTI/EXEC, as Commit
		// does, so no sender can empty the outbox and drop the resident
		// from the index between them.
		_, err := r.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.ZAddNX(ctx, r.keys.OutboxIndex(), z)
			p.RPush(ctx, r.keys.Outbox(resident), vals...)
			p.PExpire(ctx, r.keys.Outbox(resident), OutboxTTL)
			return nil
		})
		if err != nil {
			return fmt.Errorf("store: enqueue for %s: %w", resident, err)
		}
		return nil
	}
	// A cluster (the index and the outbox on different nodes): index
	// first, as Commit does, so that a crash after it leaves a harmless
	// entry; and again when the push filled an empty outbox, since a
	// sender that emptied it may have dropped the resident in between.
	if err := r.c.ZAddNX(ctx, r.keys.OutboxIndex(), z).Err(); err != nil {
		return fmt.Errorf("store: enqueue for %s: %w", resident, err)
	}
	var pushed *redis.IntCmd
	_, err := r.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		pushed = p.RPush(ctx, r.keys.Outbox(resident), vals...)
		p.PExpire(ctx, r.keys.Outbox(resident), OutboxTTL)
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: enqueue for %s: %w", resident, err)
	}
	if pushed.Val() == int64(len(vals)) {
		if err := r.c.ZAddNX(ctx, r.keys.OutboxIndex(), z).Err(); err != nil {
			return fmt.Errorf("store: enqueue for %s: index: %w", resident, err)
		}
	}
	return nil
}

// CreateHelp stores a new help request, once: a second call with the same
// id changes nothing and reports false.
func (r *Redis) CreateHelp(ctx context.Context, h flows.HelpRequest) (bool, error) {
	raw, err := json.Marshal(h)
	if err != nil {
		return false, fmt.Errorf("store: create help %s: %w", h.ID, err)
	}
	ok, err := r.c.SetNX(ctx, r.keys.Help(h.ID), raw, helpTTL).Result()
	if err != nil {
		return false, fmt.Errorf("store: create help %s: %w", h.ID, err)
	}
	if !ok {
		return false, nil
	}
	z := redis.Z{Score: float64(h.At.UnixMilli()), Member: h.ID}
	if err := r.c.ZAdd(ctx, r.keys.HelpOpen(h.Hamlet), z).Err(); err != nil {
		return true, fmt.Errorf("store: index help %s: %w", h.ID, err)
	}
	if err := r.c.ZAdd(ctx, r.keys.HelpQueue(), z).Err(); err != nil {
		return true, fmt.Errorf("store: index help %s: %w", h.ID, err)
	}
	// So that /forget finds every request of the resident.
	if err := r.c.SAdd(ctx, r.keys.ResidentHelps(h.Resident), h.ID).Err(); err != nil {
		return true, fmt.Errorf("store: index help %s: %w", h.ID, err)
	}
	return true, nil
}

// helpTTL keeps a help request; long after it is closed nobody needs it.
const helpTTL = 90 * 24 * time.Hour

// Help returns a help request.
func (r *Redis) Help(ctx context.Context, id string) (flows.HelpRequest, bool, error) {
	raw, err := r.c.Get(ctx, r.keys.Help(id)).Result()
	if errors.Is(err, redis.Nil) {
		return flows.HelpRequest{}, false, nil
	}
	if err != nil {
		return flows.HelpRequest{}, false, fmt.Errorf("store: help %s: %w", id, err)
	}
	var h flows.HelpRequest
	if err := json.Unmarshal([]byte(raw), &h); err != nil {
		return flows.HelpRequest{}, false, fmt.Errorf("store: help %s: %w", id, err)
	}
	return h, true, nil
}

// UpdateHelp changes a help request atomically: change gets the current
// request and says whether to write it back. It retries when another writer
// got there first (WATCH), so two team members pressing "I will help" at
// once cannot both win.
func (r *Redis) UpdateHelp(ctx context.Context, id string, change func(*flows.HelpRequest) bool) (flows.HelpRequest, bool, error) {
	key := r.keys.Help(id)
	var out flows.HelpRequest
	var wrote bool
	for attempt := 0; attempt < 10; attempt++ {
		err := r.c.Watch(ctx, func(tx *redis.Tx) error {
			raw, err := tx.Get(ctx, key).Result()
			if err != nil {
				return err
			}
			var h flows.HelpRequest
			if err := json.Unmarshal([]byte(raw), &h); err != nil {
				return err
			}
			wrote = change(&h)
			out = h
			if !wrote {
				return nil
			}
			b, err := json.Marshal(h)
			if err != nil {
				return err
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Set(ctx, key, b, redis.KeepTTL)
				return nil
			})
			return err
		}, key)
		if errors.Is(err, redis.TxFailedErr) {
			continue
		}
		if errors.Is(err, redis.Nil) {
			return flows.HelpRequest{}, false, flows.ErrNoHelp
		}
		if err != nil {
			return flows.HelpRequest{}, false, fmt.Errorf("store: update help %s: %w", id, err)
		}
		if wrote && out.Status == flows.HelpClosed {
			r.c.ZRem(ctx, r.keys.HelpOpen(out.Hamlet), id)
			r.c.ZRem(ctx, r.keys.HelpQueue(), id)
		}
		return out, wrote, nil
	}
	return flows.HelpRequest{}, false, fmt.Errorf("store: update help %s: too much contention", id)
}

// OpenHelps lists a hamlet's open and claimed help requests, oldest first.
func (r *Redis) OpenHelps(ctx context.Context, hamlet string) ([]flows.HelpRequest, error) {
	ids, err := r.c.ZRange(ctx, r.keys.HelpOpen(hamlet), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("store: open helps %s: %w", hamlet, err)
	}
	var out []flows.HelpRequest
	for _, id := range ids {
		h, ok, err := r.Help(ctx, id)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, h)
		}
	}
	return out, nil
}

// UnclaimedBefore lists open requests made before t (for escalation).
func (r *Redis) UnclaimedBefore(ctx context.Context, t time.Time) ([]flows.HelpRequest, error) {
	ids, err := r.c.ZRangeByScore(ctx, r.keys.HelpQueue(), &redis.ZRangeBy{Min: "-inf", Max: fmt.Sprint(t.UnixMilli())}).Result()
	if err != nil {
		return nil, fmt.Errorf("store: unclaimed helps: %w", err)
	}
	var out []flows.HelpRequest
	for _, id := range ids {
		h, ok, err := r.Help(ctx, id)
		if err != nil {
			return nil, err
		}
		if ok && h.Status == flows.HelpOpen && !h.Escalated {
			out = append(out, h)
		}
	}
	return out, nil
}
