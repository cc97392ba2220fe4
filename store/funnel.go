package store

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hangxomso/hangxom/flows"
)

var _ flows.FunnelReader = (*Redis)(nil)

// funnelScript counts a turn's marks of one flow in a hamlet: each step
// whose code the resident has not reached this month is counted once, and
// the step the resident is at is recorded. Running it twice counts nothing
// twice (the codes decide), so a commit sent again, or a mark of a step
// seen earlier in the month, changes no count.
//
// On one node it runs in the commit's MULTI/EXEC, after the commit script,
// guarded by the resident's session: it counts only when the session
// stored is the one this commit writes (committed now, or by this very
// write sent before), so a refused turn (stale, locked, a duplicate
// update) counts nothing. On a Cluster the session is in another slot:
// the store runs it after the commit answered, unguarded.
//
//	KEYS[1] Keys.Funnel(hamlet, flow, month)
//	KEYS[2] Keys.FunnelSeen(hamlet, flow, month, bucket)
//	KEYS[3] Keys.FunnelAt(hamlet, flow)
//	KEYS[4] Keys.Session(resident): the guard, one node only (another slot)
//	ARGV[1] the pseudonym
//	ARGV[2] KEYS[2]'s EXPIREAT, unix s
//	ARGV[3] the step the resident is at after the turn, '' after the end
//	        step or a run left
//	ARGV[4] the start of the session this commit writes (its version and
//	        token), the guard's expectation
//	ARGV[5 ..] pairs: a step's code (flows.StepCode), its id
//
// It returns the steps counted, or -1 when the guard found another session.
var funnelScript = newScript("funnel", `
if KEYS[4] and string.sub(redis.call('GET', KEYS[4]) or '', 1, #ARGV[4]) ~= ARGV[4] then
  return -1
end
local seen = redis.call('HGET', KEYS[2], ARGV[1]) or ''
local n = 0
for i = 5, #ARGV - 1, 2 do
  local code, found = ARGV[i], false
  for j = 1, #seen, 3 do
    if string.sub(seen, j, j + 2) == code then
      found = true
      break
    end
  end
  if not found then
    seen = seen .. code
    redis.call('HINCRBY', KEYS[1], ARGV[i + 1], 1)
    n = n + 1
  end
end
if n > 0 then
  redis.call('HSET', KEYS[2], ARGV[1], seen)
  redis.call('EXPIREAT', KEYS[2], ARGV[2])
end
if ARGV[3] == '' then
  redis.call('HDEL', KEYS[3], ARGV[1])
else
  redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
end
return n
`)

// funnelSeenFor is the least a Keys.FunnelSeen key lives after a write.
const funnelSeenFor = 32 * 24 * time.Hour

// funnelCall is one funnelScript run: its KEYS (without the guard) and
// ARGV (ARGV[4], the guard's expectation, included).
type funnelCall struct {
	keys []string
	args []any
}

// funnelCalls groups a commit's marks by hamlet and flow, in order, into
// funnelScript runs. head is the start of the session the commit writes
// (sessionHead).
func (r *Redis) funnelCalls(resident string, marks []flows.Mark, head string) []funnelCall {
	if len(marks) == 0 {
		return nil
	}
	pseud := r.Pseudonym(resident)
	n, _ := strconv.ParseUint(pseud, 10, 64)
	bucket := strconv.FormatUint(n%funnelBuckets, 10)
	type group struct{ hamlet, flow string }
	var order []group
	byGroup := map[group][]flows.Mark{}
	for _, m := range marks {
		if m.Hamlet == "" || m.Flow == "" || m.Step == "" {
			continue
		}
		g := group{m.Hamlet, m.Flow}
		if _, ok := byGroup[g]; !ok {
			order = append(order, g)
		}
		byGroup[g] = append(byGroup[g], m)
	}
	calls := make([]funnelCall, 0, len(order))
	for _, g := range order {
		ms := byGroup[g]
		last := ms[len(ms)-1]
		at := last.At.In(r.opts.Location)
		month := at.Format("2006-01")
		// Kept through the next month (a resident counted in this one is
		// not counted again in it), and at least funnelSeenFor from now:
		// a mark of a month long past (a wrong clock, a test) is not
		// deleted at once.
		expire := max(time.Date(at.Year(), at.Month()+2, 1, 0, 0, 0, 0, r.opts.Location).Unix(),
			r.opts.Clock.Now().Add(funnelSeenFor).Unix())
		step := last.Step
		if last.End || last.Left {
			step = ""
		}
		args := make([]any, 0, 4+2*len(ms))
		args = append(args, pseud, expire, step, head)
		for _, m := range ms {
			if !m.Left {
				args = append(args, flows.StepCode(m.Flow, m.Step), m.Step)
			}
		}
		calls = append(calls, funnelCall{keys: r.keys.funnelKeys(g.hamlet, g.flow, month, bucket), args: args})
	}
	return calls
}

// sessionHead is the start of a session's JSON that names the write: its
// version and token ({"v":N,"tok":"T"), or its version and the character
// after it when it has no token. The commit script reads the same two.
func sessionHead(session []byte) string {
	s := string(session)
	const tok = `,"tok":"`
	i := strings.IndexFunc(s[min(len(s), 5):], func(r rune) bool { return r < '0' || r > '9' })
	if !strings.HasPrefix(s, `{"v":`) || i < 0 {
		return s
	}
	end := 5 + i // the character after the version
	if strings.HasPrefix(s[end:], tok) {
		if j := strings.IndexByte(s[end+len(tok):], '"'); j >= 0 {
			return s[:end+len(tok)+j+1]
		}
	}
	return s[:end+1]
}

// applyMarks runs the calls unguarded, in one pipeline: a Cluster's
// commit, after the commit answered that it wrote. A failure is logged:
// the commit is done, and a mark lost is one resident missing from a
// step's count.
func (r *Redis) applyMarks(ctx context.Context, resident string, calls []funnelCall) {
	if len(calls) == 0 {
		return
	}
	_, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, c := range calls {
			// Eval, not EvalSha: a pipeline cannot fall back on NOSCRIPT.
			funnelScript.Eval(ctx, p, c.keys, c.args...)
		}
		return nil
	})
	if err != nil {
		r.log.Warn("store: funnel marks not counted", "resident", resident, "err", err)
	}
}

// Funnel returns a hamlet's funnel of f over months (see Funnels).
func (r *Redis) Funnel(ctx context.Context, hamlet string, f *flows.Flow, months []string, stalledBefore time.Time) ([]flows.FunnelRow, error) {
	m, err := r.Funnels(ctx, []string{hamlet}, f, months, stalledBefore)
	if err != nil {
		return nil, err
	}
	return m[hamlet], nil
}

// funnelHelpsMax bounds the help requests one hamlet's funnel reads
// from its stream (Keys.Helps): at most this many of the months asked for,
// the oldest first.
const funnelHelpsMax = 10000

// Funnels returns, per hamlet, the funnel of f over months (YYYY-MM, the
// bot's time zone): one row per step of f in file order, then the retired
// ids and any other ids with counts, then (Step "") the stalled residents
// whose step is not known. Reached sums Keys.Funnel over the months (a
// resident reaching a step in two months counts in each); Stalled counts
// the residents in the flow's Open index idle since before stalledBefore by
// the step Keys.FunnelAt gives them (all rows together are Counts'
// Stalled); Help counts the help requests at the step whose time (their
// "at") falls in the months. It reads with one pipeline: one round trip
// on a single node, one per node (at once) on a cluster.
func (r *Redis) Funnels(ctx context.Context, hamlets []string, f *flows.Flow, months []string, stalledBefore time.Time) (map[string][]flows.FunnelRow, error) {
	span, err := r.funnelSpan(months, stalledBefore)
	if err != nil {
		return nil, fmt.Errorf("store: funnel %s: %w", f.ID, err)
	}
	rd := make([]*funnelReads, len(hamlets))
	_, err = r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, h := range hamlets {
			rd[i] = r.queueFunnel(ctx, p, h, f, months, span)
		}
		return nil
	})
	if err != nil && !isNil(err) {
		return nil, fmt.Errorf("store: funnel %s: %w", f.ID, err)
	}
	out := make(map[string][]flows.FunnelRow, len(hamlets))
	for i, h := range hamlets {
		rows, err := rd[i].decode(span)
		if err != nil {
			return nil, err
		}
		out[h] = rows
	}
	return out, nil
}

// funnelSpan is what every funnel read of one request shares: the
// stream range of the months, the months as a set, and the stalled cutoff.
type funnelSpan struct {
	lo, hi, upper string
	months        map[string]bool
	any           bool // months were asked for
}

func (r *Redis) funnelSpan(months []string, stalledBefore time.Time) (funnelSpan, error) {
	lo, hi, set, err := r.monthSpan(months)
	if err != nil {
		return funnelSpan{}, err
	}
	return funnelSpan{lo: lo, hi: hi, months: set, any: len(months) > 0,
		upper: "(" + strconv.FormatInt(stalledBefore.UnixMilli(), 10)}, nil
}

// funnelReads are the queued reads of one hamlet's funnel of one flow.
type funnelReads struct {
	hamlet string
	f      *flows.Flow
	counts []*redis.MapStringStringCmd
	open   *redis.StringSliceCmd
	at     *redis.MapStringStringCmd
	helps  *redis.XMessageSliceCmd
}

// queueFunnel queues on p the reads of hamlet's funnel of f; decode reads
// them once the pipeline has run. Every key is the hamlet's ({h:…}), so on
// a cluster they go to one node.
func (r *Redis) queueFunnel(ctx context.Context, p redis.Pipeliner, hamlet string, f *flows.Flow, months []string, span funnelSpan) *funnelReads {
	rd := &funnelReads{hamlet: hamlet, f: f}
	for _, m := range months {
		rd.counts = append(rd.counts, p.HGetAll(ctx, r.keys.Funnel(hamlet, f.ID, m)))
	}
	rd.open = p.ZRangeByScore(ctx, r.keys.Open(hamlet, f.ID), &redis.ZRangeBy{Min: "-inf", Max: span.upper})
	rd.at = p.HGetAll(ctx, r.keys.FunnelAt(hamlet, f.ID))
	if span.any {
		rd.helps = p.XRangeN(ctx, r.keys.Helps(hamlet), span.lo, span.hi, funnelHelpsMax)
	}
	return rd
}

// decode turns the reads into the funnel's rows (see Funnels).
func (rd *funnelReads) decode(span funnelSpan) ([]flows.FunnelRow, error) {
	f, h := rd.f, rd.hamlet
	rows := make([]flows.FunnelRow, 0, len(f.Steps))
	index := map[string]int{}
	row := func(step string) *flows.FunnelRow {
		if j, ok := index[step]; ok {
			return &rows[j]
		}
		index[step] = len(rows)
		rows = append(rows, flows.FunnelRow{Step: step, Retired: step != "" && !f.HasStep(step)})
		return &rows[len(rows)-1]
	}
	for _, s := range f.Steps {
		row(s.ID)
	}
	var extra []string // retired and unknown ids met, for their order
	note := func(step string) {
		if _, ok := index[step]; !ok && !slices.Contains(extra, step) {
			extra = append(extra, step)
		}
	}
	reached := map[string]int64{}
	for _, c := range rd.counts {
		for step, v := range c.Val() {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("store: funnel %s %s: step %s: %w", h, f.ID, step, err)
			}
			reached[step] += n
			note(step)
		}
	}
	stalled := map[string]int64{}
	at := rd.at.Val()
	for _, p := range rd.open.Val() {
		step := at[p] // "" when not known
		stalled[step]++
		if step != "" {
			note(step)
		}
	}
	help := map[string]int64{}
	if rd.helps != nil {
		for _, m := range rd.helps.Val() {
			fl, _ := m.Values["flow"].(string)
			step, _ := m.Values["step"].(string)
			when, _ := m.Values["at"].(string)
			if fl != f.ID || step == "" || len(when) < 7 || !span.months[when[:7]] {
				continue
			}
			help[step]++
			note(step)
		}
	}
	// Retired ids in the flow's own order, then the others by name.
	slices.SortStableFunc(extra, func(a, b string) int {
		ia, ib := slices.Index(f.Retired, a), slices.Index(f.Retired, b)
		switch {
		case ia >= 0 && ib >= 0:
			return ia - ib
		case ia >= 0:
			return -1
		case ib >= 0:
			return 1
		}
		return strings.Compare(a, b)
	})
	for _, step := range extra {
		row(step)
	}
	if stalled[""] > 0 {
		row("")
	}
	for j := range rows {
		rows[j].Reached = reached[rows[j].Step]
		rows[j].Stalled = stalled[rows[j].Step]
		rows[j].Help = help[rows[j].Step]
	}
	return rows, nil
}

// monthSpan returns the stream ids to read for months (YYYY-MM in the bot's
// zone): from a day before the first (a stream id is the time the effect
// was applied, never before it was made) to the end of the stream (it may
// be applied later: after a failure, by the sweep), the entries in order,
// so those of the months come before any later ones (funnelHelpsMax). It
// returns the months as a set too, for the exact test on an entry's own
// time.
func (r *Redis) monthSpan(months []string) (lo, hi string, set map[string]bool, err error) {
	set = map[string]bool{}
	var first time.Time
	for _, m := range months {
		t, err := time.ParseInLocation("2006-01", m, r.opts.Location)
		if err != nil {
			return "", "", nil, fmt.Errorf("month %q: %w", m, err)
		}
		set[m] = true
		if first.IsZero() || t.Before(first) {
			first = t
		}
	}
	if len(months) == 0 {
		return "-", "+", set, nil
	}
	return strconv.FormatInt(first.AddDate(0, 0, -1).UnixMilli(), 10), "+", set, nil
}
