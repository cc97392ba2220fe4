package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// HamletFlow names the counters of one flow in one hamlet.
type HamletFlow struct {
	Hamlet string
	Flow   string
}

// Counts are a flow's numbers in one hamlet.
type Counts struct {
	Started       int64 // residents who started it for the first time
	CompletedSelf int64 // first completions on their own
	CompletedTeam int64 // first completions helped by the team
	Help          int64 // help requests
	Abandoned     int64 // unfinished runs that expired
	Stalled       int64 // residents in the flow, idle since before stalledBefore
}

// Counts returns the counts of each pair, summed over months (YYYY-MM in the
// bot's time zone), with Stalled counted now. It reads with one pipeline.
func (r *Redis) Counts(ctx context.Context, pairs []HamletFlow, months []string, stalledBefore time.Time) (map[HamletFlow]Counts, error) {
	type pending struct {
		months  []*redis.MapStringStringCmd
		stalled *redis.IntCmd
	}
	cmds := make(map[HamletFlow]*pending, len(pairs))
	_, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, hf := range pairs {
			if _, ok := cmds[hf]; ok {
				continue
			}
			c := &pending{}
			for _, m := range months {
				c.months = append(c.months, p.HGetAll(ctx, r.keys.Counter(hf.Hamlet, hf.Flow, m)))
			}
			upper := "(" + strconv.FormatInt(stalledBefore.UnixMilli(), 10)
			c.stalled = p.ZCount(ctx, r.keys.Open(hf.Hamlet, hf.Flow), "-inf", upper)
			cmds[hf] = c
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: counts: %w", err)
	}
	out := make(map[HamletFlow]Counts, len(cmds))
	for hf, c := range cmds {
		var n Counts
		for _, m := range c.months {
			for field, v := range m.Val() {
				i, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					return nil, fmt.Errorf("store: counts %s/%s: field %s: %w", hf.Hamlet, hf.Flow, field, err)
				}
				switch field {
				case "started":
					n.Started += i
				case "completed_self":
					n.CompletedSelf += i
				case "completed_team":
					n.CompletedTeam += i
				case "help":
					n.Help += i
				case "abandoned":
					n.Abandoned += i
				}
			}
		}
		n.Stalled = c.stalled.Val()
		out[hf] = n
	}
	return out, nil
}

// HelpRequests returns the number of help requests ever recorded, summed over
// the hamlets that have counters. Nothing marks a request as answered yet, so
// this is also the number waiting.
func (r *Redis) HelpRequests(ctx context.Context) (int64, error) {
	pairs, err := r.pairsKnown(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: help requests: %w", err)
	}
	var hamlets []string
	for _, p := range pairs {
		if !slices.Contains(hamlets, p.Hamlet) {
			hamlets = append(hamlets, p.Hamlet)
		}
	}
	cmds := make([]*redis.StringCmd, len(hamlets))
	_, err = r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, h := range hamlets {
			cmds[i] = p.Get(ctx, r.keys.HelpTotal(h))
		}
		return nil
	})
	if err != nil && !isNil(err) {
		return 0, fmt.Errorf("store: help requests: %w", err)
	}
	var total int64
	for i, c := range cmds {
		n, err := c.Int64()
		if isNil(err) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("store: help requests %s: %w", hamlets[i], err)
		}
		total += n
	}
	return total, nil
}

// isNil reports whether err is redis.Nil: a missing key.
func isNil(err error) bool { return errors.Is(err, redis.Nil) }
