package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hangxomso/hangxom/flows"
)

var (
	_ flows.CountReader = (*Redis)(nil)
	_ flows.TeamLogger  = (*Redis)(nil)
)

// HamletFlow names the counters of one flow in one hamlet: flows' type, so
// that the store's callers need not convert.
type HamletFlow = flows.HamletFlow

// Counts are a flow's numbers in one hamlet (flows.Counts).
type Counts = flows.Counts

// Counts returns the counts of each pair, summed over months (YYYY-MM in the
// bot's time zone), with Stalled counted now. It reads with one pipeline
// (one round trip on a single node; one per node on a cluster), whatever the
// number of pairs, months and residents.
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

// LogTeamCompletion counts flow completed "via team" in hamlet for subject,
// through the same effect script as a completion in the bot, so the done
// SET of the hamlet and flow decides who is counted: a subject counted once
// is never counted again, however it finishes. subject is a pseudonym (as
// Open lists them) or any other key, such as a resident id or
// flows.HouseholdSubject, which is turned into a pseudonym here. dedupeID
// makes a retry a no-op. counted reports whether the completion was new; it
// is read just before the script runs, so a completion racing with this
// call may be reported wrongly, never counted twice.
func (r *Redis) LogTeamCompletion(ctx context.Context, hamlet, flow, subject string, at time.Time, dedupeID string) (bool, error) {
	if hamlet == "" || flow == "" || subject == "" || dedupeID == "" {
		return false, fmt.Errorf("store: log team completion: hamlet %q, flow %q, subject and dedupe id are required", hamlet, flow)
	}
	pseud := subject
	if !isPseudonym(subject) {
		pseud = r.Pseudonym(subject)
	}
	if err := r.registerPair(ctx, hamlet, flow); err != nil {
		return false, fmt.Errorf("store: log team completion %s/%s: %w", hamlet, flow, err)
	}
	done, err := r.c.SIsMember(ctx, r.keys.Done(hamlet, flow), pseud).Result()
	if err != nil {
		return false, fmt.Errorf("store: log team completion %s/%s: %w", hamlet, flow, err)
	}
	local := at.In(r.opts.Location)
	keys := r.keys.effectKeys(hamlet, flow, local.Format("2006-01"), pseud, "team:"+dedupeID)
	applied, err := effectScript.Run(ctx, r.c, keys,
		string(flows.EffectCompleted), pseud, at.UnixMilli(), local.Format(time.RFC3339), flow, "",
		"team", "", int64(DedupeTTL/time.Second), streamMaxLen).Int()
	if err != nil {
		return false, fmt.Errorf("store: log team completion %s/%s: %w", hamlet, flow, err)
	}
	return applied == 1 && !done, nil
}

// isPseudonym reports whether s has the shape of a Pseudonym: 32 lower-case
// hex digits. Resident ids ("tg:123") and household keys contain a colon.
func isPseudonym(s string) bool {
	if len(s) != 32 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
