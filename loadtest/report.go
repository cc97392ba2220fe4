package loadtest

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/store"
)

// ReportStore is where the report phase seeded one count of residents: the
// Redis, the key prefix (without its schema version), the pseudonym key and
// the time zone of the months.
type ReportStore struct {
	Client   redis.UniversalClient
	Prefix   string
	DataKey  string
	Location *time.Location
}

// Report is the coordinator's report as the bot builds it, over one
// ReportStore; the program gives it (Options.OpenReport) so that the
// phase times the very code `hangxom stats` and /stats run.
type Report interface {
	// FlowIDs returns the ids of the shipped flows.
	FlowIDs() []string
	// Sweep counts the stalled residents, as serve's periodic sweep does.
	Sweep(ctx context.Context) error
	// Rows builds the report for month and returns how many rows it has.
	Rows(ctx context.Context, month string, now time.Time) (int, error)
	// Close releases what the report holds.
	Close()
}

// report: the coordinator's report over every hamlet × flow, with residents
// seeded through the store at each count, each count under a key prefix of
// its own. The counts are timed in turns, round after round, so that they
// share the box's load of that minute: timed one after the other, with six
// minutes of seeding between them, two figures of 9–15 ms gave ratios from
// 0.90× to 1.63× on the same code.
func (r *runner) report(ctx context.Context, counts []int) error {
	tz, _ := time.LoadLocation(r.tz)
	type reportSet struct {
		n    int
		a    Report
		st   *store.Redis
		rows int
		// the report's times with the sweep's stalled counts, and
		// counting stalled residents itself
		swept, live []time.Duration
	}
	var sets []*reportSet
	for i, n := range counts {
		prefix := r.reportPrefix(i)
		st := r.store(prefix)
		if err := st.PutAreas(ctx, r.areas); err != nil {
			return err
		}
		a, err := r.openReport(ctx, ReportStore{Client: r.client, Prefix: prefix, DataKey: dataKey, Location: tz})
		if err != nil {
			return err
		}
		defer a.Close()
		ids := a.FlowIDs()
		t0 := time.Now()
		if err := r.seedResidents(ctx, st, 0, n, ids); err != nil {
			return err
		}
		fmt.Fprintf(r.out, "seeded %d residents through the store (each filed in a hamlet, one to three flows started, most finished) in %s\n",
			n, time.Since(t0).Round(time.Second))
		sets = append(sets, &reportSet{n: n, a: a, st: st})
	}
	// serve's sweep counts the stalled residents every minute, and the
	// report reads its count: run it as serve would have, for every count
	// at once (a count older than StalledSlack is not read).
	for _, s := range sets {
		if err := s.a.Sweep(ctx); err != nil {
			return err
		}
	}
	const rounds = 30
	now := time.Now()
	month := now.In(tz).Format("2006-01")
	timeRounds := func(into func(*reportSet) *[]time.Duration) error {
		for range rounds {
			for _, s := range sets {
				t := time.Now()
				rows, err := s.a.Rows(ctx, month, now)
				if err != nil {
					return err
				}
				*into(s) = append(*into(s), time.Since(t))
				s.rows = rows
			}
		}
		return nil
	}
	if err := timeRounds(func(s *reportSet) *[]time.Duration { return &s.swept }); err != nil {
		return err
	}
	// Without the sweep's count (serve's first minute, or the sweep
	// stopped) the report counts stalled residents itself.
	for _, s := range sets {
		if err := r.client.Del(ctx, s.st.Keys().Stalled()).Err(); err != nil {
			return err
		}
	}
	if err := timeRounds(func(s *reportSet) *[]time.Duration { return &s.live }); err != nil {
		return err
	}
	var first time.Duration
	for _, s := range sets {
		p50, _, mx := Percentiles(s.swept)
		verdict := r.verdict(p50 <= 20*time.Millisecond, "coordinator report ≤ 20 ms")
		ratio := ""
		if first == 0 {
			first = p50
		} else {
			q := float64(p50) / float64(first)
			ratio = fmt.Sprintf("  %.2f× the first count (goal ≤ 1.5×: %s)", q, r.verdict(q <= 1.5, "report time within 1.5× from 10k to 1M residents"))
		}
		fmt.Fprintf(r.out, "coordinator report at %d residents: %d rows (hamlets × %d flows, this month), p50 %s max %s over %d runs  goal ≤ 20 ms: %s%s\n",
			s.n, s.rows, len(s.a.FlowIDs()), Ms(p50), Ms(mx), rounds, verdict, ratio)
		p50, _, mx = Percentiles(s.live)
		fmt.Fprintf(r.out, "  the same without the sweep's stalled counts (one ZCOUNT per row): p50 %s max %s\n", Ms(p50), Ms(mx))
	}
	fmt.Fprintf(r.out, "  (the counts were timed in turns, %d rounds, each count seeded under a key prefix of its own)\n", rounds)
	return nil
}

// reportPrefix is the key prefix of the report phase's i-th resident count.
func (r *runner) reportPrefix(i int) string { return r.prefix + "r" + strconv.Itoa(i) }

// seedResidents writes residents from..to−1 through the store: filed in a
// hamlet, one to three flows started and most of them finished, with the
// hamlet effects applied as the bot applies them.
func (r *runner) seedResidents(ctx context.Context, st *store.Redis, from, to int, flowIDs []string) error {
	var next atomic.Int64
	next.Store(int64(from))
	workers := 64
	errc := make(chan error, workers)
	var wg sync.WaitGroup
	now := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= to || ctx.Err() != nil {
					return
				}
				if err := seedOne(ctx, st, i, r.hamlets[i%len(r.hamlets)], flowIDs, now); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	return <-errc
}

func seedOne(ctx context.Context, st *store.Redis, i int, hamlet string, flowIDs []string, now time.Time) error {
	resident := "tg:" + strconv.Itoa(500_000_000+i)
	commune := hamlet[:len("lt-xa-000")]
	s := flows.Session{Lang: "vi", Commune: commune, Hamlet: hamlet, Seen: now, Done: map[string]time.Time{}}
	effects := []flows.Effect{{Kind: flows.EffectFiled, Hamlet: hamlet, At: now}}
	for k := 0; k <= i%3; k++ {
		f := flowIDs[(i+k)%len(flowIDs)]
		effects = append(effects, flows.Effect{Kind: flows.EffectStarted, Flow: f, Hamlet: hamlet, At: now})
		if (i+k)%4 != 0 {
			effects = append(effects, flows.Effect{Kind: flows.EffectCompleted, Flow: f, Hamlet: hamlet, At: now, Via: "self"})
			s.Done[f] = now
		} else {
			s.Active = &flows.Run{Flow: f, Step: "intro", Started: now, Last: now}
		}
	}
	if err := st.Commit(ctx, flows.Commit{Resident: resident, Session: s, Effects: effects}); err != nil {
		return err
	}
	return st.ApplyEffects(ctx, resident)
}
