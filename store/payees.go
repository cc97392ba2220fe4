package store

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/redis/go-redis/v9"

	"github.com/hangxomso/hangxom/flows"
)

var _ flows.PayeeStore = (*Redis)(nil)

// PutPayee registers (or replaces) a payee and logs who did it.
func (r *Redis) PutPayee(ctx context.Context, p flows.Payee) error {
	raw, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("store: put payee: %w", err)
	}
	_, err = r.c.TxPipelined(ctx, func(pl redis.Pipeliner) error {
		pl.HSet(ctx, r.keys.Payees(), p.ID, raw)
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: put payee: %w", err)
	}
	return r.logPayee(ctx, "add", p.AddedBy, p)
}

// RemovePayee deletes a payee and logs who did it.
func (r *Redis) RemovePayee(ctx context.Context, id, by string) error {
	p, ok, err := r.payee(ctx, id)
	if err != nil || !ok {
		return err
	}
	if err := r.c.HDel(ctx, r.keys.Payees(), id).Err(); err != nil {
		return fmt.Errorf("store: remove payee: %w", err)
	}
	return r.logPayee(ctx, "remove", by, p)
}

func (r *Redis) payee(ctx context.Context, id string) (flows.Payee, bool, error) {
	raw, err := r.c.HGet(ctx, r.keys.Payees(), id).Result()
	if isNil(err) {
		return flows.Payee{}, false, nil
	}
	if err != nil {
		return flows.Payee{}, false, fmt.Errorf("store: payee %s: %w", id, err)
	}
	var p flows.Payee
	if err := json.Unmarshal([]byte(raw), &p); err != nil {
		return flows.Payee{}, false, fmt.Errorf("store: payee %s: %w", id, err)
	}
	return p, true, nil
}

// Payees returns every registered payee, by area then name.
func (r *Redis) Payees(ctx context.Context) ([]flows.Payee, error) {
	all, err := r.c.HGetAll(ctx, r.keys.Payees()).Result()
	if err != nil {
		return nil, fmt.Errorf("store: payees: %w", err)
	}
	out := make([]flows.Payee, 0, len(all))
	for id, raw := range all {
		var p flows.Payee
		if err := json.Unmarshal([]byte(raw), &p); err != nil {
			return nil, fmt.Errorf("store: payee %s: %w", id, err)
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Area != out[j].Area {
			return out[i].Area < out[j].Area
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

func (r *Redis) logPayee(ctx context.Context, action, by string, p flows.Payee) error {
	err := r.c.XAdd(ctx, &redis.XAddArgs{Stream: r.keys.PayeeLog(), MaxLen: streamMaxLen, Approx: true,
		Values: map[string]any{"action": action, "by": by, "id": p.ID, "area": p.Area, "name": p.Name, "bin": p.BIN, "account": p.Account,
			"at": r.opts.Clock.Now().UTC().Format("2006-01-02T15:04:05Z")}}).Err()
	if err != nil {
		return fmt.Errorf("store: log payee: %w", err)
	}
	return nil
}
