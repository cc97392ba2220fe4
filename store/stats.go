package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
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
// (one round trip on a single node; one per node on a cluster): for each
// hamlet its months' counts (a year of which seven or more months are
// asked is read from its YearCounts: see countsPlan), and the sweep's
// stalled counts while they are fresh (within StalledSlack of
// stalledBefore), otherwise one ZCOUNT per pair. Until the sweep has
// rebuilt the year keys (Keys.YearCountsReady, read in the same pipeline),
// a report that reads a year reads its months in one more round trip.
//
// A province's overview of the whole year (1,000 hamlets) reads 1,000
// year keys rather than 12,000 months (issue 20: docs/performance.md).
//
// A province's report (1,000 hamlets × 5 flows) is what this is sized for:
// one key per hamlet and month, and stalled counted by the sweep that runs
// every minute anyway, took it from 10,000 reads (40–90 ms in the report
// phase of hangxom loadtest) to about a thousand.
func (r *Redis) Counts(ctx context.Context, pairs []HamletFlow, months []string, stalledBefore time.Time) (map[HamletFlow]Counts, error) {
	// Each hamlet's flows and their sums, filled in place: a report is
	// thousands of pairs, and a map lookup per field read cost more than
	// the reads.
	type hamletSums struct {
		id     string
		flows  []string
		counts []Counts
	}
	var hs []*hamletSums
	index := map[string]*hamletSums{}
	for _, hf := range pairs {
		h := index[hf.Hamlet]
		if h == nil {
			h = &hamletSums{id: hf.Hamlet}
			index[hf.Hamlet] = h
			hs = append(hs, h)
		}
		if !slices.Contains(h.flows, hf.Flow) {
			h.flows = append(h.flows, hf.Flow)
			h.counts = append(h.counts, Counts{})
		}
	}
	find := func(h *hamletSums, flow string) *Counts {
		for i, f := range h.flows {
			if flowName(f) == flow {
				return &h.counts[i]
			}
		}
		return nil
	}
	plan, usesYears := countsPlan(months)
	queue := func(p redis.Pipeliner, plan []countsRead) []*redis.MapStringStringCmd {
		reads := make([]*redis.MapStringStringCmd, 0, len(hs)*len(plan))
		for _, h := range hs {
			for _, rd := range plan {
				key := r.keys.MonthCounts(h.id, rd.name)
				if rd.year {
					key = r.keys.YearCounts(h.id, rd.name)
				}
				reads = append(reads, p.HGetAll(ctx, key))
			}
		}
		return reads
	}
	var reads []*redis.MapStringStringCmd
	var snapshot, ready *redis.StringCmd
	_, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		snapshot = p.Get(ctx, r.keys.Stalled())
		if usesYears {
			ready = p.Get(ctx, r.keys.YearCountsReady())
		}
		reads = queue(p, plan)
		return nil
	})
	if err != nil && !isNil(err) {
		return nil, fmt.Errorf("store: counts: %w", err)
	}
	if usesYears && ready.Val() == "" {
		// The year keys may lack what was counted before them (the sweep
		// has not rebuilt them yet): the months, in one more round trip.
		if err := ready.Err(); err != nil && !isNil(err) {
			return nil, fmt.Errorf("store: counts: %w", err)
		}
		plan = monthsPlan(months)
		_, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
			reads = queue(p, plan)
			return nil
		})
		if err != nil && !isNil(err) {
			return nil, fmt.Errorf("store: counts: %w", err)
		}
	}
	for i, rd := range reads {
		if err := rd.Err(); err != nil {
			// Pipelined reports the first error only, the stalled
			// snapshot's redis.Nil perhaps: a failed read must not count
			// as an empty one.
			return nil, fmt.Errorf("store: counts: %w", err)
		}
		h, sign := hs[i/len(plan)], plan[i%len(plan)].sign
		for field, v := range rd.Val() {
			f, name, _ := cutLast(field, ":")
			n := find(h, f)
			if n == nil {
				continue // a flow not asked for
			}
			var dst *int64
			switch name {
			case "started":
				dst = &n.Started
			case "completed_self":
				dst = &n.CompletedSelf
			case "completed_team":
				dst = &n.CompletedTeam
			case "help":
				dst = &n.Help
			case "abandoned":
				dst = &n.Abandoned
			default:
				continue
			}
			x, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("store: counts %s: %s: %w", h.id, field, err)
			}
			*dst += sign * x
		}
	}
	if !r.stalledFromSweep(snapshot.Val(), stalledBefore, func(hamlet, flow string, stalled int64) {
		if h := index[hamlet]; h != nil {
			if n := find(h, flowName(flow)); n != nil {
				n.Stalled = stalled
			}
		}
	}) {
		// No fresh count from the sweep: count now, one ZCOUNT per pair.
		upper := "(" + strconv.FormatInt(stalledBefore.UnixMilli(), 10)
		var zs []*redis.IntCmd
		_, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, h := range hs {
				for _, f := range h.flows {
					zs = append(zs, p.ZCount(ctx, r.keys.Open(h.id, f), "-inf", upper))
				}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("store: counts: stalled: %w", err)
		}
		for _, h := range hs {
			for i := range h.flows {
				h.counts[i].Stalled, zs = zs[0].Val(), zs[1:]
			}
		}
	}
	out := make(map[HamletFlow]Counts, len(pairs))
	for _, h := range hs {
		for i, f := range h.flows {
			out[HamletFlow{Hamlet: h.id, Flow: f}] = h.counts[i]
		}
	}
	return out, nil
}

// countsRead is one counts key Counts reads for each hamlet: a month or a
// year, added (sign 1) or taken off (-1).
type countsRead struct {
	year bool   // Keys.YearCounts, else Keys.MonthCounts
	name string // YYYY or YYYY-MM
	sign int64
}

// countsPlan is what Counts reads for each hamlet to sum months: a year of
// which seven or more months are asked is read as its YearCounts less the
// months not asked (1 + 12 − k reads instead of k), other months as they
// are. Taking off the months not asked, rather than trusting that months
// after this one are empty, keeps the sum exact whatever the dates of the
// effects (an effect carries its own time, and replicas' clocks differ);
// those months cost a read of a key that is usually absent. usesYears
// reports whether the plan reads a year.
func countsPlan(months []string) (plan []countsRead, usesYears bool) {
	asked := map[string][]string{} // year → its months, in order
	var years []string
	for _, m := range months {
		if !isMonth(m) {
			continue
		}
		y := yearOf(m)
		if asked[y] == nil {
			years = append(years, y)
		}
		asked[y] = append(asked[y], m)
	}
	whole := map[string]bool{}
	for _, y := range years {
		ms := asked[y]
		if len(ms) >= 7 && len(ms) == len(uniq(ms)) {
			whole[y] = true
		}
	}
	done := map[string]bool{}
	for _, m := range months {
		if !isMonth(m) || !whole[yearOf(m)] {
			plan = append(plan, countsRead{name: m, sign: 1})
			continue
		}
		y := yearOf(m)
		if done[y] {
			continue
		}
		done[y] = true
		usesYears = true
		plan = append(plan, countsRead{year: true, name: y, sign: 1})
		for i := 1; i <= 12; i++ {
			if other := fmt.Sprintf("%s-%02d", y, i); !slices.Contains(asked[y], other) {
				plan = append(plan, countsRead{name: other, sign: -1})
			}
		}
	}
	return plan, usesYears
}

// monthsPlan reads every month asked, as Counts did before YearCounts.
func monthsPlan(months []string) []countsRead {
	plan := make([]countsRead, len(months))
	for i, m := range months {
		plan[i] = countsRead{name: m, sign: 1}
	}
	return plan
}

func uniq(ss []string) []string {
	out := slices.Clone(ss)
	slices.Sort(out)
	return slices.Compact(out)
}

// StalledSlack is how far the cutoff of the sweep's stalled counts may be
// from the one a report asks for: the sweep runs every minute, so a report
// reads counts at most about a minute old, and counts itself when there are
// none this fresh (no sweep running, or another WAIT_EXPIRY).
const StalledSlack = 2 * time.Minute

// stalledTTL keeps the sweep's stalled counts after their last write.
const stalledTTL = 10 * time.Minute

// stalledFromSweep reports whether raw, the sweep's stalled counts, are
// fresh for the cutoff stalledBefore, and if so gives each pair with any to
// set. Pairs it does not give have none stalled.
func (r *Redis) stalledFromSweep(raw string, stalledBefore time.Time, set func(hamlet, flow string, stalled int64)) bool {
	head, body, _ := strings.Cut(raw, "\n")
	cutoff, err := strconv.ParseInt(head, 10, 64)
	if err != nil {
		return false // none (or not ours to judge): count live
	}
	if d := time.Duration(stalledBefore.UnixMilli()-cutoff) * time.Millisecond; d < -StalledSlack || d > StalledSlack {
		return false
	}
	for line := range strings.Lines(body) {
		h, rest, _ := strings.Cut(strings.TrimSuffix(line, "\n"), "\t")
		f, n, _ := strings.Cut(rest, "\t")
		x, err := strconv.ParseInt(n, 10, 64)
		if err != nil {
			r.log.Warn("store: the sweep's stalled counts are unreadable; counting them now")
			return false
		}
		set(h, f, x)
	}
	return true
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

// isPseudonym reports whether s has the shape of a Pseudonym: a decimal
// number below 2⁶³ written without leading zeros. Resident ids ("tg:123")
// and household keys contain a colon.
func isPseudonym(s string) bool {
	n, err := strconv.ParseUint(s, 10, 63)
	return err == nil && strconv.FormatUint(n, 10) == s
}
