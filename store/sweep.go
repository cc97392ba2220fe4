package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hangxomso/hangxom/flows"
)

// SweepOptions say what a Sweep does.
type SweepOptions struct {
	// Grace is how long committed effects may wait for ApplyEffects
	// before Sweep applies them itself; default 30 s.
	Grace time.Duration
	// SessionExpiry is how long a resident may stay idle in an unfinished
	// flow before the flow counts as abandoned; zero skips expiry.
	SessionExpiry time.Duration
	// Hamlets and Flows choose the counters expiry looks at: every hamlet
	// × every flow when both are set, otherwise the pairs that have ever had
	// an effect, filtered by whichever of the two is set.
	Hamlets []string
	Flows   []string
}

// SweepReport says what a Sweep did.
type SweepReport struct {
	// Skipped is set when another sweeper held the sweep lock: nothing ran.
	Skipped bool
	// Repaired counts residents whose forgotten effects were applied, and
	// Effects the effects applied for them.
	Repaired int
	Effects  int
	// Busy counts residents left for the next sweep because their lock was
	// held.
	Busy int
	// Abandoned counts residents dropped from open indexes as idle.
	Abandoned int64
}

// maxRepairs bounds the residents one Sweep repairs.
const maxRepairs = 1000

// Sweep repairs and expires, at most one sweeper at a time across processes.
// It applies the effects of residents in the work index since before
// now−Grace (taking each resident's lock), then, for each hamlet ×
// flow, drops from the open index the residents idle since before
// now−SessionExpiry and counts them abandoned in now's month. Both steps are
// idempotent.
func (r *Redis) Sweep(ctx context.Context, now time.Time, opts SweepOptions) (SweepReport, error) {
	var rep SweepReport
	unlock, err := r.lock(ctx, r.keys.SweepLock(), sweepLockTTL, 0)
	if errors.Is(err, flows.ErrLocked) {
		rep.Skipped = true
		return rep, nil
	}
	if err != nil {
		return rep, fmt.Errorf("store: sweep: lock: %w", err)
	}
	defer unlock()

	if opts.Grace <= 0 {
		opts.Grace = 30 * time.Second
	}
	if err := r.repair(ctx, now.Add(-opts.Grace), &rep); err != nil {
		return rep, fmt.Errorf("store: sweep: repair: %w", err)
	}
	if opts.SessionExpiry > 0 {
		if err := r.expire(ctx, now, opts, &rep); err != nil {
			return rep, fmt.Errorf("store: sweep: expire: %w", err)
		}
	}
	return rep, nil
}

// repair applies the effects of residents waiting in the work index since
// before cutoff.
func (r *Redis) repair(ctx context.Context, cutoff time.Time, rep *SweepReport) error {
	residents, err := r.c.ZRangeByScore(ctx, r.keys.Work(), &redis.ZRangeBy{
		Min:   "-inf",
		Max:   "(" + strconv.FormatInt(cutoff.UnixMilli(), 10),
		Count: maxRepairs,
	}).Result()
	if err != nil {
		return err
	}
	for _, res := range residents {
		unlock, err := r.Lock(ctx, res)
		if errors.Is(err, flows.ErrLocked) {
			rep.Busy++
			continue
		}
		if err != nil {
			return err
		}
		n, err := r.applyEffects(ctx, res)
		unlock()
		if err != nil {
			return fmt.Errorf("%s: %w", res, err)
		}
		if n > 0 {
			rep.Repaired++
			rep.Effects += n
			r.log.Info("store: sweep applied forgotten effects", "resident", res, "effects", n)
		}
	}
	return nil
}

// expire drops idle residents from the open indexes.
func (r *Redis) expire(ctx context.Context, now time.Time, opts SweepOptions, rep *SweepReport) error {
	pairs, err := r.sweepPairs(ctx, opts)
	if err != nil {
		return err
	}
	month := now.In(r.opts.Location).Format("2006-01")
	cutoff := now.Add(-opts.SessionExpiry).UnixMilli()
	for _, p := range pairs {
		n, err := expireScript.Run(ctx, r.c, r.keys.expireKeys(p.Hamlet, p.Flow, month), cutoff).Int64()
		if err != nil {
			return fmt.Errorf("%s/%s: %w", p.Hamlet, p.Flow, err)
		}
		rep.Abandoned += n
	}
	return nil
}

// sweepPairs returns the hamlet × flow pairs opts ask for.
func (r *Redis) sweepPairs(ctx context.Context, opts SweepOptions) ([]HamletFlow, error) {
	if len(opts.Hamlets) > 0 && len(opts.Flows) > 0 {
		out := make([]HamletFlow, 0, len(opts.Hamlets)*len(opts.Flows))
		for _, h := range opts.Hamlets {
			for _, f := range opts.Flows {
				out = append(out, HamletFlow{Hamlet: h, Flow: f})
			}
		}
		return out, nil
	}
	known, err := r.pairsKnown(ctx)
	if err != nil {
		return nil, err
	}
	in := func(list []string, s string) bool {
		if len(list) == 0 {
			return true
		}
		for _, x := range list {
			if x == s {
				return true
			}
		}
		return false
	}
	out := known[:0]
	for _, p := range known {
		if in(opts.Hamlets, p.Hamlet) && in(opts.Flows, p.Flow) {
			out = append(out, p)
		}
	}
	return out, nil
}
