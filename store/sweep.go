package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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
	// StalledAfter is how long a resident may stay idle in an unfinished
	// flow before the stats call them stalled (WAIT_EXPIRY). When set, the
	// sweep counts them per hamlet and flow into Keys.Stalled, which Counts
	// reads instead of counting them itself; Hamlets and Flows should then
	// cover every pair a report reads (a pair the sweep did not look at
	// reads as none stalled while the counts are fresh).
	StalledAfter time.Duration
	// Hamlets and Flows choose the counters expiry looks at: every hamlet
	// × every flow when both are set, otherwise the pairs that have ever had
	// an effect, filtered by whichever of the two is set.
	Hamlets []string
	Flows   []string
	// Retention, with Retire, deletes what is kept about residents whose
	// last message (Session.Seen) is older than now−Retention: each Sweep
	// reads the next stretch of stored sessions (see retireScans) and calls
	// Retire for each such resident (the service's Retire, which forgets
	// them as /forget does and keeps the anonymous counts, and reports
	// whether it did). Zero Retention or a nil Retire skips the step.
	Retention time.Duration
	Retire    func(ctx context.Context, resident string, before time.Time) (bool, error)
	// MaxRetires bounds the residents one Sweep hands to Retire, all
	// nodes together; zero means DefaultMaxRetires.
	MaxRetires int
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
	// Retired counts residents forgotten after Retention without a message,
	// and RetireFailed those Retire returned an error for (logged; they are
	// tried again on the next pass over the sessions).
	Retired      int
	RetireFailed int
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
	if err := r.migrateCounters(ctx); err != nil {
		return rep, fmt.Errorf("store: sweep: counters of the old layout: %w", err)
	}
	if opts.SessionExpiry > 0 || opts.StalledAfter > 0 {
		if err := r.expire(ctx, now, opts, &rep); err != nil {
			return rep, fmt.Errorf("store: sweep: expire: %w", err)
		}
	}
	if opts.Retention > 0 && opts.Retire != nil {
		if err := r.retire(ctx, now, opts, &rep); err != nil {
			return rep, fmt.Errorf("store: sweep: retention: %w", err)
		}
	}
	return rep, nil
}

// retireScans is how many SCAN calls (COUNT 1000) the retention step makes
// per node and Sweep run. Redis SCAN walks the whole keyspace, about ten
// keys a resident (an estimate: session, markers, update ids, their share
// of the hamlet keys), so with a Sweep a minute a pass over a million
// residents on one node (10 million keys at 10,000 a minute) takes about
// 17 hours: well within a retention counted in months, for a few round
// trips a minute and no memory at all (an index of last messages cost
// about 110 bytes a resident, measured with hangxom loadtest --phases
// memory).
const retireScans = 10

// DefaultMaxRetires is SweepOptions.MaxRetires when it is not set. Retire
// takes about ten round trips and nothing renews the sweep lock
// (sweepLockTTL, 5 minutes): the first run against a year-old database
// would otherwise hand some 10,000 residents a node to Retire in one go.
const DefaultMaxRetires = 1000

// retireTally is what the retention step tells the SweepReport. On a
// cluster every master is scanned in its own goroutine, so the counts are
// kept per node and added under mu.
type retireTally struct {
	mu                    sync.Mutex
	busy, retired, failed int
	left                  atomic.Int64 // Retire calls left in this run
}

// retire reads the next stretch of stored sessions on each node (a SCAN
// cursor kept in Keys.RetentionCursor) and hands the residents whose last
// message (Session.Seen) is older than now−Retention to opts.Retire, which
// checks again under their lock. A resident Retire fails on is logged and
// counted, and the stretch goes on: they are tried again on the next pass.
// After MaxRetires calls to Retire the run stops, keeping the cursor for
// the next.
func (r *Redis) retire(ctx context.Context, now time.Time, opts SweepOptions, rep *SweepReport) error {
	before := now.Add(-opts.Retention)
	head := r.keys.prefix + ":{r:"
	var tally retireTally
	if opts.MaxRetires > 0 {
		tally.left.Store(int64(opts.MaxRetires))
	} else {
		tally.left.Store(DefaultMaxRetires)
	}
	scan := func(ctx context.Context, c *redis.Client) error {
		node := c.Options().Addr
		cur, err := r.c.HGet(ctx, r.keys.RetentionCursor(), node).Uint64()
		if err != nil && !errors.Is(err, redis.Nil) {
			return err
		}
		var busy, retired, failed int
		defer func() {
			tally.mu.Lock()
			tally.busy += busy
			tally.retired += retired
			tally.failed += failed
			tally.mu.Unlock()
		}()
		for range retireScans {
			if tally.left.Load() <= 0 {
				break // the cap: the next run goes on from cur
			}
			keys, next, err := c.Scan(ctx, cur, head+"*}:session", 1000).Result()
			if err != nil {
				return err
			}
			silent, err := r.silent(ctx, c, keys, before)
			if err != nil {
				return err
			}
			for _, k := range silent {
				if tally.left.Add(-1) < 0 {
					// The cap, within a call: a cursor can only be kept
					// between calls, so the next run reads this one again
					// (those retired are gone from it). It would stay
					// stuck only on a call holding MaxRetires residents
					// Retire keeps or fails on.
					return r.c.HSet(ctx, r.keys.RetentionCursor(), node, cur).Err()
				}
				resident := strings.TrimSuffix(strings.TrimPrefix(k, head), "}:session")
				forgot, err := opts.Retire(ctx, resident, before)
				switch {
				case errors.Is(err, flows.ErrLocked):
					busy++ // busy, so not silent
				case err != nil && ctx.Err() != nil:
					return err
				case err != nil && c.Ping(ctx).Err() != nil:
					// Redis is away, not this resident's record: stop
					// without moving the cursor, so nobody is passed over
					// for the rest of the pass.
					return fmt.Errorf("store: retention stopped: %w", err)
				case err != nil:
					// Going on: one resident Retire always fails on (a
					// corrupt session, say) must not stop everyone after
					// them from being forgotten. The id stays out of the
					// log, as it is meant to be forgotten.
					failed++
					pseud, msg := r.Pseudonym(resident), err.Error()
					if resident != "" {
						msg = strings.ReplaceAll(msg, resident, "pseudonym "+pseud)
					}
					r.log.Warn("store: sweep could not retire a resident; they are tried again on the next pass",
						"pseudonym", pseud, "err", msg)
				case forgot:
					retired++
				}
			}
			if cur = next; cur == 0 {
				break // a pass ended: the next run starts another
			}
		}
		return r.c.HSet(ctx, r.keys.RetentionCursor(), node, cur).Err()
	}
	ok, err := r.forEachNode(ctx, scan)
	if !ok {
		return errors.New("a client that is neither a node nor a cluster: retention skipped")
	}
	rep.Busy += tally.busy
	rep.Retired += tally.retired
	rep.RetireFailed += tally.failed
	return err
}

// silent returns those of the session keys whose resident's last message
// is not after before.
func (r *Redis) silent(ctx context.Context, c *redis.Client, keys []string, before time.Time) ([]string, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	// A pipeline, not MGET: on a cluster node the keys span slots.
	gets := make([]*redis.StringCmd, len(keys))
	if _, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, k := range keys {
			gets[i] = p.Get(ctx, k)
		}
		return nil
	}); err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	var out []string
	for i, k := range keys {
		raw, err := gets[i].Result()
		if err != nil {
			continue // gone since the scan
		}
		var s struct {
			Seen time.Time `json:"seen"`
		}
		if json.Unmarshal([]byte(raw), &s) != nil || s.Seen.After(before) {
			continue
		}
		out = append(out, k)
	}
	return out, nil
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

// sweepBatch is how many pairs one pipeline of the expiry step carries.
const sweepBatch = 500

// expire drops idle residents from the open indexes and counts the stalled
// ones, a pipeline of expireScript calls per sweepBatch pairs.
func (r *Redis) expire(ctx context.Context, now time.Time, opts SweepOptions, rep *SweepReport) error {
	pairs, err := r.sweepPairs(ctx, opts)
	if err != nil {
		return err
	}
	month := now.In(r.opts.Location).Format("2006-01")
	expiry, stall := "", ""
	if opts.SessionExpiry > 0 {
		expiry = strconv.FormatInt(now.Add(-opts.SessionExpiry).UnixMilli(), 10)
	}
	var snap strings.Builder
	if opts.StalledAfter > 0 {
		stall = strconv.FormatInt(now.Add(-opts.StalledAfter).UnixMilli(), 10)
		snap.WriteString(stall + "\n")
	}
	for start := 0; start < len(pairs); start += sweepBatch {
		batch := pairs[start:min(start+sweepBatch, len(pairs))]
		cmds := make([]*redis.Cmd, len(batch))
		for try := 0; ; try++ {
			_, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
				for i, hf := range batch {
					cmds[i] = expireScript.EvalSha(ctx, p, r.keys.expireKeys(hf.Hamlet, hf.Flow, month),
						expiry, countField(hf.Flow, ""), stall)
				}
				return nil
			})
			if err != nil && try == 0 && redis.HasErrorPrefix(err, "NOSCRIPT") {
				// A restarted server lost its scripts. Running a pair's
				// script again changes nothing, so the whole batch is retried.
				if err := expireScript.Load(ctx, r.c).Err(); err != nil {
					return err
				}
				continue
			}
			if err != nil {
				return err
			}
			break
		}
		for i, c := range cmds {
			v, err := c.Int64Slice()
			if err != nil || len(v) != 2 {
				return fmt.Errorf("%s/%s: %v %w", batch[i].Hamlet, batch[i].Flow, v, err)
			}
			rep.Abandoned += v[0]
			if v[1] > 0 && !strings.ContainsAny(batch[i].Hamlet+batch[i].Flow, "\t\n") {
				fmt.Fprintf(&snap, "%s\t%s\t%d\n", batch[i].Hamlet, batch[i].Flow, v[1])
			}
		}
	}
	if stall == "" {
		return nil
	}
	if err := r.c.Set(ctx, r.keys.Stalled(), snap.String(), stalledTTL).Err(); err != nil {
		return fmt.Errorf("stalled counts: %w", err)
	}
	return nil
}

// migrateCounters moves counters of the layout before MonthCounts (one HASH
// per hamlet, flow and month) into MonthCounts, then rebuilds the YearCounts
// of every hamlet and year that has a month, and marks them ready
// (Keys.YearCountsReady): once per process, in one SCAN of the keyspace.
// Each old key is added to its hamlet's month and year and deleted in one
// script, so a crash or a second sweeper moves nothing twice. Each year is
// set to the sum of its months in one script (yearCountsScript), exact
// whenever it runs, so running it again in every process costs a moment
// and heals a year a lost write left short (see Keys.YearCountsReady).
func (r *Redis) migrateCounters(ctx context.Context) error {
	if r.migrated.Load() {
		return nil
	}
	var mu sync.Mutex
	years := map[[2]string]bool{} // hamlet, year
	scan := func(ctx context.Context, c *redis.Client) error {
		iter := c.Scan(ctx, 0, r.keys.countersPattern(), 1000).Iterator()
		for iter.Next(ctx) {
			key := iter.Val()
			if i := strings.LastIndex(key, "}:counts:"); i >= 0 {
				if month := key[i+len("}:counts:"):]; isMonth(month) {
					hamlet := key[len(r.keys.prefix)+len(":{h:") : i]
					mu.Lock()
					years[[2]string{hamlet, yearOf(month)}] = true
					mu.Unlock()
				}
				continue
			}
			i := strings.LastIndex(key, "}:count:")
			if i < 0 {
				continue
			}
			flow, month, ok := cutLast(key[i+len("}:count:"):], ":")
			if !ok {
				continue
			}
			hamlet := key[len(r.keys.prefix)+len(":{h:") : i]
			if err := migrateCounterScript.Run(ctx, c, r.keys.migrateCounterKeys(key, hamlet, month),
				flow+":").Err(); err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
			r.log.Info("store: moved counters to the new layout", "hamlet", hamlet, "flow", flow, "month", month)
		}
		return iter.Err()
	}
	ok, err := r.forEachNode(ctx, scan)
	if !ok {
		return nil // a ring or another client: nothing of the old layout to find
	}
	if err != nil {
		return err
	}
	if err := r.rebuildYears(ctx, years); err != nil {
		return fmt.Errorf("year counts: %w", err)
	}
	// Only now that every year is rebuilt may Counts read them.
	if err := r.c.Set(ctx, r.keys.YearCountsReady(), "v1", 0).Err(); err != nil {
		return fmt.Errorf("year counts: %w", err)
	}
	r.migrated.Store(true)
	return nil
}

// rebuildYears runs yearCountsScript for each hamlet and year, a pipeline
// per sweepBatch of them.
func (r *Redis) rebuildYears(ctx context.Context, years map[[2]string]bool) error {
	list := make([][2]string, 0, len(years))
	for hy := range years {
		list = append(list, hy)
	}
	for start := 0; start < len(list); start += sweepBatch {
		batch := list[start:min(start+sweepBatch, len(list))]
		for try := 0; ; try++ {
			_, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
				for _, hy := range batch {
					yearCountsScript.EvalSha(ctx, p, r.keys.yearCountsKeys(hy[0], hy[1]))
				}
				return nil
			})
			if err != nil && try == 0 && redis.HasErrorPrefix(err, "NOSCRIPT") {
				// A server that lost its scripts: rebuilding a year again
				// gives the same sum, so the whole batch is run again.
				if err := yearCountsScript.Load(ctx, r.c).Err(); err != nil {
					return err
				}
				continue
			}
			if err != nil {
				return err
			}
			break
		}
	}
	if len(list) > 0 {
		r.log.Info("store: rebuilt the year counts from the months", "years", len(list))
	}
	return nil
}

// yearCountsScript sets a hamlet's year KEYS[1] to the sum of its twelve
// months KEYS[2..13] (Keys.yearCountsKeys). Being one script on the
// hamlet's slot, it is exact whatever runs beside it: an increment that
// comes before it is in a month, so in the sum; one after it is made to
// the month and the year alike (effectScript, expireScript,
// migrateCounterScript). It returns the fields of the year.
var yearCountsScript = newScript("yearcounts", `
redis.call('DEL', KEYS[1])
for i = 2, #KEYS do
  local kv = redis.call('HGETALL', KEYS[i])
  for j = 1, #kv, 2 do
    redis.call('HINCRBY', KEYS[1], kv[j], kv[j + 1])
  end
end
return redis.call('HLEN', KEYS[1])
`)

// isMonth reports whether s is a month as the counts keys spell it,
// YYYY-MM with MM from 01 to 12.
func isMonth(s string) bool {
	t, err := time.Parse("2006-01", s)
	return err == nil && t.Format("2006-01") == s
}

// cutLast cuts s around the last sep.
func cutLast(s, sep string) (before, after string, found bool) {
	if i := strings.LastIndex(s, sep); i >= 0 {
		return s[:i], s[i+len(sep):], true
	}
	return s, "", false
}

// migrateCounterScript adds the old counter KEYS[1] to its month KEYS[2]
// and that month's year KEYS[3] (Keys.migrateCounterKeys), each field
// prefixed with ARGV[1], and deletes KEYS[1].
var migrateCounterScript = newScript("migratecounter", `
local kv = redis.call('HGETALL', KEYS[1])
for i = 1, #kv, 2 do
  redis.call('HINCRBY', KEYS[2], ARGV[1] .. kv[i], kv[i + 1])
  redis.call('HINCRBY', KEYS[3], ARGV[1] .. kv[i], kv[i + 1])
end
redis.call('DEL', KEYS[1])
return #kv / 2
`)

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

// forEachNode runs fn on every master of a cluster (at once, as go-redis's
// ForEachMaster does) or on the one node, for work that reads every key
// (SCAN). It reports false for any other client, on which fn did not run.
func (r *Redis) forEachNode(ctx context.Context, fn func(context.Context, *redis.Client) error) (bool, error) {
	switch c := r.c.(type) {
	case *redis.ClusterClient:
		return true, c.ForEachMaster(ctx, fn)
	case *redis.Client:
		return true, fn(ctx, c)
	}
	return false, nil
}
