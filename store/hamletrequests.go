package store

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/hangxomso/hangxom/flows"
)

// Limits of the hamlet requests of one commune (issue 19).
const (
	// HamletRequestTTL is how long a request lives after it was last
	// asked for (and the commune's keys after the last request).
	HamletRequestTTL = 90 * 24 * time.Hour
	// MaxHamletRequests bounds a commune's requests: a commune has some
	// tens of hamlets, so more names are noise or abuse.
	MaxHamletRequests = 50
)

// hamletRequest is a request as askScript keeps it.
type hamletRequest struct {
	Name    string `json:"name"`
	Commune string `json:"commune"`
	N       int    `json:"n"`
	First   int64  `json:"first"`
	Last    int64  `json:"last"`
}

// applyAsk keeps an EffectAsked's name as a request of its commune.
func (r *Redis) applyAsk(ctx context.Context, pseud, id string, e flows.Effect) error {
	name, ok := flows.HamletName(e.Name)
	key := flows.HamletKey(name)
	if !ok || key == "" || e.Commune == "" {
		r.log.Warn("store: dropping a hamlet request without a name or commune", "id", id)
		return nil
	}
	at := e.At.UnixMilli()
	err := askScript.Run(ctx, r.c, r.keys.askKeys(e.Commune), pseud, key, name, e.Commune, at,
		at-HamletRequestTTL.Milliseconds(), MaxHamletRequests, HamletRequestTTL.Milliseconds()).Err()
	if err != nil {
		return fmt.Errorf("effect %s: %w", id, err)
	}
	return nil
}

// HamletRequests returns a commune's hamlet requests asked for within
// HamletRequestTTL, the most asked first, then the latest.
func (r *Redis) HamletRequests(ctx context.Context, commune string) ([]flows.HamletRequest, error) {
	all, err := r.c.HGetAll(ctx, r.keys.HamletRequests(commune)).Result()
	if err != nil {
		return nil, fmt.Errorf("store: hamlet requests of %s: %w", commune, err)
	}
	stale := r.opts.Clock.Now().Add(-HamletRequestTTL)
	var out []flows.HamletRequest
	for key, raw := range all {
		var h hamletRequest
		if err := json.Unmarshal([]byte(raw), &h); err != nil || h.N <= 0 {
			continue
		}
		last := time.UnixMilli(h.Last)
		if last.Before(stale) {
			continue
		}
		out = append(out, flows.HamletRequest{Commune: commune, Key: key, Name: h.Name, Count: h.N,
			First: time.UnixMilli(h.First), Last: last})
	}
	slices.SortFunc(out, func(a, b flows.HamletRequest) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		if c := b.Last.Compare(a.Last); c != 0 {
			return c
		}
		return cmp.Compare(a.Key, b.Key)
	})
	return out, nil
}

// DropHamletRequest deletes a commune's request for the name whose key is
// key (its hamlet now exists). The residents' entries in HamletAskers stay
// until they ask again or expire: they point at nothing.
func (r *Redis) DropHamletRequest(ctx context.Context, commune, key string) error {
	if err := r.c.HDel(ctx, r.keys.HamletRequests(commune), key).Err(); err != nil {
		return fmt.Errorf("store: drop hamlet request of %s: %w", commune, err)
	}
	return nil
}
