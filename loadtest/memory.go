package loadtest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hangxomso/hangxom/content"
	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/store"
)

// memory: residents who each finish one flow; Redis memory per resident
// with the update-id keys, and after they are gone.
func (r *runner) memory(ctx context.Context, n int) error {
	prefix := r.memPrefix
	if r.ownRedis {
		// Redis 7 keeps a latency histogram (some 40 KB) for each command
		// name the first time it runs: not the residents' memory, and on a
		// fresh server about 500 B a resident of this phase. Off while it
		// runs, on again for the other phases.
		if err := r.client.ConfigSet(ctx, "latency-tracking", "no").Err(); err != nil {
			return err
		}
		defer r.client.ConfigSet(context.WithoutCancel(ctx), "latency-tracking", "yes")
	} else {
		fmt.Fprintf(r.out, "(on a Redis of REDIS_URL: keys under %s:v1, %d bytes longer than the default hx:v1, and the server's per-command latency histograms, if new, count too: the figure is high)\n", prefix, len(prefix)-2)
	}
	if err := r.store(r.prefix).Client().Ping(ctx).Err(); err != nil {
		return err
	}
	// The hamlets of this run's own prefix.
	var areas []flows.Area
	src, err := r.store(r.prefix).Areas(ctx)
	if err != nil {
		return err
	}
	for _, a := range src {
		if strings.HasPrefix(a.ID, "lt-") {
			areas = append(areas, a)
		}
	}
	st := r.store(prefix)
	if err := st.PutAreas(ctx, areas); err != nil {
		return err
	}
	// Every reading is taken with the bot stopped: its connections' state
	// (buffers, client structures) is not the residents'.
	before, err := r.settledMemory(ctx)
	if err != nil {
		return err
	}
	b, err := r.startBot(ctx, prefix)
	if err != nil {
		return err
	}
	defer b.stop()
	crowd := &Crowd{API: r.api, HTTP: r.hc, Wait: 20 * time.Second,
		// ewallet on a basic phone with Viettel: the shortest whole flow.
		Choose: Path("💳", "☎️", "📶 Viettel", "✅", "✅", "✅", "✅", "✅")}
	crowd.Record(true)
	// Residents live in a few hamlets, a couple of hundred each, as in a
	// commune: a hamlet's own keys are shared, not per resident.
	rs := r.newResidents(n)
	dense := max(1, n/200)
	for i, x := range rs {
		x.Hamlet = r.hamlets[i%dense]
	}
	start := time.Now()
	runCtx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	crowd.Run(runCtx, rs)
	cancel()
	if got := crowd.Finished.Load(); got != int64(n) {
		return fmt.Errorf("%d of %d residents finished their flow (%d errors, %d timeouts)", got, n, crowd.Errors.Load(), crowd.Timeouts.Load())
	}
	fmt.Fprintf(r.out, "%d residents in %d hamlets each finished ewallet through the webhook in %s (%d updates)\n", n, dense, time.Since(start).Round(time.Millisecond), crowd.Updates.Load())
	if err := r.waitIdle(ctx, prefix); err != nil {
		return err
	}
	done, err := completions(ctx, st, areas, "ewallet")
	if err != nil {
		return err
	}
	if done != int64(n) {
		return fmt.Errorf("the hamlet counters show %d ewallet completions, want %d", done, n)
	}
	fmt.Fprintf(r.out, "hamlet counters: %d completions of ewallet (checked)\n", done)
	per := map[string]int64{}
	for _, x := range rs {
		per[x.Hamlet]++
	}
	steps, err := funnelCheck(ctx, st, per, "ewallet")
	if err != nil {
		return err
	}
	fmt.Fprintf(r.out, "funnel: each of the %d steps on the path reached by every resident of their hamlet, once, none stalled (checked)\n", steps)
	b.stop()
	with, err := r.settledMemory(ctx)
	if err != nil {
		return err
	}
	upd := st.Keys().Processed("*", "*")
	nupd, err := countKeys(ctx, r.client, upd)
	if err != nil {
		return err
	}
	if err := deleteKeys(ctx, r.client, upd); err != nil {
		return err
	}
	without, err := r.settledMemory(ctx)
	if err != nil {
		return err
	}
	perWith := float64(with.Data()-before.Data()) / float64(n)
	perAfter := float64(without.Data()-before.Data()) / float64(n)
	fmt.Fprintf(r.out, "Redis used_memory per resident with one finished flow, bot stopped, connection buffers left out: %.0f B with the 24-hour update-id keys (%d of them), %.0f B after they expire (deleted here)  goal ≤ 1 KB: %s\n",
		perWith, nupd, perAfter, r.verdict(perAfter <= 1024, "memory per resident ≤ 1 KB"))
	fmt.Fprintf(r.out, "  (used_memory %d → %d → %d B; of it the connections' buffers %d → %d → %d B)\n",
		before.Used, with.Used, without.Used, before.Clients, with.Clients, without.Clients)
	return nil
}

// settledMemory reads Redis memory once it stopped moving: Redis frees
// unlinked keys in the background and resizes its key tables a little
// every 100 ms (a table shrunk after many keys expired is two tables until
// then), so a reading taken at once can be off by a few hundred KB. It
// waits for two equal readings 500 ms apart, at most 15 s.
func (r *runner) settledMemory(ctx context.Context) (Memory, error) {
	prev, err := UsedMemory(ctx, r.client)
	if err != nil {
		return prev, err
	}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return prev, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
		m, err := UsedMemory(ctx, r.client)
		if err != nil {
			return m, err
		}
		if m.Data() == prev.Data() {
			return m, nil
		}
		prev = m
	}
	return prev, nil
}

func countKeys(ctx context.Context, c redis.UniversalClient, pattern string) (int, error) {
	n := 0
	iter := c.Scan(ctx, 0, pattern, 1000).Iterator()
	for iter.Next(ctx) {
		n++
	}
	return n, iter.Err()
}

// waitIdle waits until no outbox is waiting (every reply sent) and no
// effect is left to apply.
func (r *runner) waitIdle(ctx context.Context, prefix string) error {
	k := r.store(prefix).Keys()
	deadline := time.Now().Add(60 * time.Second)
	for {
		a, err1 := r.client.ZCard(ctx, k.OutboxIndex()).Result()
		b, err2 := r.client.ZCard(ctx, k.Work()).Result()
		if err := errors.Join(err1, err2); err != nil {
			return err
		}
		if a == 0 && b == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after 60 s, %d outboxes and %d effect lists are still waiting", a, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func completions(ctx context.Context, st *store.Redis, hamlets []flows.Area, flow string) (int64, error) {
	var pairs []store.HamletFlow
	for _, h := range hamlets {
		if h.Level == flows.LevelHamlet {
			pairs = append(pairs, store.HamletFlow{Hamlet: h.ID, Flow: flow})
		}
	}
	month := time.Now().In(time.UTC).Format("2006-01")
	prev := time.Now().AddDate(0, -1, 0).Format("2006-01")
	counts, err := st.Counts(ctx, pairs, []string{prev, month}, time.Now().Add(-72*time.Hour))
	if err != nil {
		return 0, err
	}
	var n int64
	for _, c := range counts {
		n += c.CompletedSelf + c.CompletedTeam
	}
	return n, nil
}

// funnelCheck checks the funnel of flow in the hamlets of per (hamlet →
// residents who each walked one path of it to its end, this month or the
// last): every step with a count was reached by each of the hamlet's
// residents once, the steps counted are the same in every hamlet, and
// nobody is stalled. It returns how many steps the path has.
func funnelCheck(ctx context.Context, st *store.Redis, per map[string]int64, flow string) (int, error) {
	fs, err := content.LoadFlows(content.FS, "flows")
	if err != nil {
		return 0, err
	}
	i := slices.IndexFunc(fs, func(f *flows.Flow) bool { return f.ID == flow })
	if i < 0 {
		return 0, fmt.Errorf("funnel: no flow %s", flow)
	}
	hamlets := slices.Sorted(maps.Keys(per))
	month := time.Now().In(time.UTC).Format("2006-01")
	prev := time.Now().AddDate(0, -1, 0).Format("2006-01")
	got, err := st.Funnels(ctx, hamlets, fs[i], []string{prev, month}, time.Now().Add(-72*time.Hour))
	if err != nil {
		return 0, err
	}
	var path []string
	for j, h := range hamlets {
		var steps []string
		for _, row := range got[h] {
			if row.Stalled != 0 || row.Reached != 0 && row.Reached != per[h] {
				return 0, fmt.Errorf("funnel of %s in %s: step %q reached by %d, stalled %d; want %d and 0", flow, h, row.Step, row.Reached, row.Stalled, per[h])
			}
			if row.Reached != 0 {
				steps = append(steps, row.Step)
			}
		}
		if j == 0 {
			path = steps
		}
		if len(steps) == 0 || !slices.Equal(steps, path) {
			return 0, fmt.Errorf("funnel of %s in %s: steps %v, in %s %v", flow, h, steps, hamlets[0], path)
		}
	}
	return len(path), nil
}
