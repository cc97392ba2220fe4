package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/hangxomso/hangxom/flows"
	"github.com/redis/go-redis/v9"
)

var _ flows.HamletViewReader = (*Redis)(nil)

// HamletView reads a hamlet's dashboard page in two round trips: first its
// funnels of fs, its counts of each month and the ids of its open help
// requests, all in one pipeline (the hamlet's keys: one node); then the
// requests themselves (their keys are not the hamlet's: on a cluster the
// pipeline goes to each node at once). A hamlet with fifty open requests
// costs no more round trips than one with none.
func (r *Redis) HamletView(ctx context.Context, hamlet string, fs []*flows.Flow, months []string, stalledBefore time.Time) (flows.HamletView, error) {
	span, err := r.funnelSpan(months, stalledBefore)
	if err != nil {
		return flows.HamletView{}, fmt.Errorf("store: hamlet view %s: %w", hamlet, err)
	}
	funnels := make([]*funnelReads, len(fs))
	counts := make([]*redis.MapStringStringCmd, len(months))
	var open *redis.StringSliceCmd
	_, err = r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, f := range fs {
			funnels[i] = r.queueFunnel(ctx, p, hamlet, f, months, span)
		}
		for i, m := range months {
			counts[i] = p.HGetAll(ctx, r.keys.MonthCounts(hamlet, m))
		}
		open = p.ZRange(ctx, r.keys.HelpOpen(hamlet), 0, -1)
		return nil
	})
	if err != nil && !isNil(err) {
		return flows.HamletView{}, fmt.Errorf("store: hamlet view %s: %w", hamlet, err)
	}
	v := flows.HamletView{Funnels: make(map[string][]flows.FunnelRow, len(fs)), Months: make(map[string]map[string]flows.Counts, len(months))}
	for _, rd := range funnels {
		rows, err := rd.decode(span)
		if err != nil {
			return flows.HamletView{}, err
		}
		v.Funnels[rd.f.ID] = rows
	}
	wanted := map[string]bool{}
	for _, f := range fs {
		wanted[f.ID] = true
	}
	for i, m := range months {
		byFlow := map[string]flows.Counts{}
		for field, raw := range counts[i].Val() {
			f, name, _ := cutLast(field, ":")
			if !wanted[f] {
				continue
			}
			n, err := strconv.ParseInt(raw, 10, 64)
			if err != nil {
				return flows.HamletView{}, fmt.Errorf("store: hamlet view %s: %s: %w", hamlet, field, err)
			}
			c := byFlow[f]
			switch name {
			case "started":
				c.Started += n
			case "completed_self":
				c.CompletedSelf += n
			case "completed_team":
				c.CompletedTeam += n
			case "help":
				c.Help += n
			case "abandoned":
				c.Abandoned += n
			default:
				continue
			}
			byFlow[f] = c
		}
		v.Months[m] = byFlow
	}
	ids := open.Val()
	if len(ids) == 0 {
		return v, nil
	}
	gets := make([]*redis.StringCmd, len(ids))
	_, err = r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			gets[i] = p.Get(ctx, r.keys.Help(id))
		}
		return nil
	})
	if err != nil && !isNil(err) {
		return flows.HamletView{}, fmt.Errorf("store: hamlet view %s: helps: %w", hamlet, err)
	}
	for i, g := range gets {
		raw, err := g.Result()
		if err != nil {
			continue // closed and gone since the index was read
		}
		var h flows.HelpRequest
		if err := json.Unmarshal([]byte(raw), &h); err != nil {
			return flows.HamletView{}, fmt.Errorf("store: help %s: %w", ids[i], err)
		}
		v.Open = append(v.Open, h)
	}
	return v, nil
}
