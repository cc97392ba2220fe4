package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/hangxomso/hangxom/flows"
)

// SeedAreas writes the areas whose ids are not stored yet and returns how
// many it added. Stored areas are left alone, so a coordinator's edits
// survive a restart with the seed file.
func (r *Redis) SeedAreas(ctx context.Context, areas []flows.Area) (int, error) {
	if len(areas) == 0 {
		return 0, nil
	}
	key := r.keys.Areas()
	cmds := make([]*redis.BoolCmd, len(areas))
	_, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, a := range areas {
			b, err := json.Marshal(a)
			if err != nil {
				return fmt.Errorf("encode area %s: %w", a.ID, err)
			}
			cmds[i] = p.HSetNX(ctx, key, a.ID, b)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: seed areas: %w", err)
	}
	added := 0
	for _, c := range cmds {
		if c.Val() {
			added++
		}
	}
	return added, nil
}

// Areas returns every stored area, ordered by id.
func (r *Redis) Areas(ctx context.Context) ([]flows.Area, error) {
	m, err := r.c.HGetAll(ctx, r.keys.Areas()).Result()
	if err != nil {
		return nil, fmt.Errorf("store: areas: %w", err)
	}
	out := make([]flows.Area, 0, len(m))
	for id, raw := range m {
		var a flows.Area
		if err := json.Unmarshal([]byte(raw), &a); err != nil {
			return nil, fmt.Errorf("store: areas: decode %s: %w", id, err)
		}
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b flows.Area) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// PutArea stores an area, replacing the one with the same id.
func (r *Redis) PutArea(ctx context.Context, a flows.Area) error {
	if a.ID == "" {
		return errors.New("store: put area: empty id")
	}
	b, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("store: put area %s: %w", a.ID, err)
	}
	if err := r.c.HSet(ctx, r.keys.Areas(), a.ID, b).Err(); err != nil {
		return fmt.Errorf("store: put area %s: %w", a.ID, err)
	}
	return nil
}
