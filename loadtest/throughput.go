package loadtest

import (
	"context"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// throughput: as many updates as the bot takes, residents pressing buttons
// as soon as they are answered; once per channel of the run (Telegram, then
// Zalo: a bot's CPU cannot be split between channels in one run), the same
// size each time, and with two, their figures side by side.
func (r *runner) throughput(ctx context.Context, n int, warmup, d time.Duration) error {
	var runs []channelRun
	for _, ch := range r.channels {
		r.channelHeader(ch)
		m, err := r.throughputOn(ctx, ch, n, warmup, d)
		if err != nil {
			return fmt.Errorf("on %s: %w", ch, err)
		}
		runs = append(runs, channelRun{channel: ch, m: m})
	}
	if len(runs) > 1 {
		mixed, err := r.throughputMixed(ctx, n, warmup, d)
		if err != nil {
			return fmt.Errorf("on both channels at once: %w", err)
		}
		runs = append(runs, mixed...)
		r.sideBySide(runs, n, d)
	}
	return nil
}

// channelRun is one channel's measured run, or its half of a mixed run.
type channelRun struct {
	channel string
	mixed   bool
	m       measured
}

// throughputMixed: half the residents on each channel, together on one bot
// serving both. Each channel's updates/s, latencies and API calls are its
// own; the bot's CPU and the round trips are per update of both together.
func (r *runner) throughputMixed(ctx context.Context, n int, warmup, d time.Duration) ([]channelRun, error) {
	fmt.Fprintf(r.out, "-- residents on both channels at once, one bot serving both\n")
	prefix, err := r.channelPrefix(ctx, Both)
	if err != nil {
		return nil, err
	}
	b, err := r.startBotOn(ctx, Both, prefix, "SEND_RATE_CHAT="+r.chatRate)
	if err != nil {
		return nil, err
	}
	defer b.stop()
	crowds := []*Crowd{r.crowdOn(Telegram, Wanderer(mrand.New(mrand.NewPCG(5, 6)))), r.crowdOn(Zalo, Wanderer(mrand.New(mrand.NewPCG(7, 8))))}
	half := max(1, n/2)
	ms, err := r.measureAll(ctx, b, crowds, half, warmup, d)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(r.out, "%d residents on each channel, closed loop, %s warm-up, %s measured, SEND_RATE_CHAT=%s\n", half, warmup, d, r.chatRate)
	for i, ch := range []string{Telegram, Zalo} {
		m := ms[i]
		fmt.Fprintf(r.out, "%s: %.0f updates/s; latency webhook request → the reply message p50 %s p99 %s; %s calls per update %.2f; errors: %d webhook failures, %d updates unanswered within 10 s\n",
			ch, m.rate, Ms(m.replyP50), Ms(m.replyP99), m.api, m.callsPer, m.errors, m.timeouts)
		if m.errors > 0 || m.timeouts > 0 {
			r.miss("errors under load (mixed run)")
		}
	}
	fmt.Fprintf(r.out, "together: %.0f updates/s; bot CPU per update %.3f ms, Redis round trips per update %.2f (the two channels' updates together: one bot's CPU cannot be split between them)\n",
		ms[0].rate+ms[1].rate, ms[0].cpuPer*1000, ms[0].tripsPer)
	if err := r.waitIdle(ctx, prefix); err == nil {
		if g, err := r.guidesFinished(ctx, prefix); err == nil {
			fmt.Fprintf(r.out, "guides finished by the residents: %d (both channels together, the warm-up included)\n", g)
		}
	}
	ms[0].guides, ms[1].guides = -1, -1
	return []channelRun{{channel: Telegram, mixed: true, m: ms[0]}, {channel: Zalo, mixed: true, m: ms[1]}}, nil
}

// channelHeader names the channel of the run that follows, unless the run
// is on Telegram alone (the figures as they always were).
func (r *runner) channelHeader(ch string) {
	if len(r.channels) > 1 || ch != Telegram {
		fmt.Fprintf(r.out, "-- residents on %s\n", channelTitle(ch))
	}
}

func channelTitle(ch string) string {
	if ch == Zalo {
		return "Zalo (a Zalo OA: signed webhook events in, the OA API out)"
	}
	return "Telegram"
}

// onChannel is the suffix of a goal's name measured on ch: none on
// Telegram, as the goals were written.
func onChannel(ch string) string {
	if ch == Zalo {
		return " on Zalo"
	}
	return ""
}

// channelPrefix is the key prefix of ch's runs: the run's own for
// Telegram, and for Zalo and Both a prefix of each's own (r.prefix + "z",
// + "zb") with the hamlets seeded, so that each one's guides are counted
// apart.
func (r *runner) channelPrefix(ctx context.Context, ch string) (string, error) {
	if ch == Telegram {
		return r.prefix, nil
	}
	p := r.prefix + "z"
	if ch == Both {
		p += "b"
	}
	if !r.seeded[p] {
		if err := r.store(p).PutAreas(ctx, r.areas); err != nil {
			return "", err
		}
		if r.seeded == nil {
			r.seeded = map[string]bool{}
		}
		r.seeded[p] = true
	}
	return p, nil
}

// crowdOn is a crowd of residents on ch.
func (r *runner) crowdOn(ch string, choose Chooser) *Crowd {
	c := &Crowd{API: r.api, HTTP: r.hc, Choose: choose}
	if ch == Zalo {
		c.Zalo = r.zalo
	}
	return c
}

func (r *runner) throughputOn(ctx context.Context, ch string, n int, warmup, d time.Duration) (measured, error) {
	prefix, err := r.channelPrefix(ctx, ch)
	if err != nil {
		return measured{}, err
	}
	b, err := r.startBotOn(ctx, ch, prefix, "SEND_RATE_CHAT="+r.chatRate)
	if err != nil {
		return measured{}, err
	}
	defer b.stop()
	crowd := r.crowdOn(ch, Wanderer(mrand.New(mrand.NewPCG(1, 2))))
	m, err := r.measure(ctx, b, crowd, n, warmup, d)
	if err != nil {
		return m, err
	}
	on := onChannel(ch)
	fmt.Fprintf(r.out, "%d residents, closed loop, %s warm-up, %s measured, SEND_RATE_CHAT=%s\n", n, warmup, d, r.chatRate)
	fmt.Fprintf(r.out, "sustained updates/s: %.0f  goal ≥ 5,000: %s\n", m.rate, r.verdict(m.rate >= 5000, "≥ 5,000 updates/s"+on))
	m.print(r)
	fmt.Fprintf(r.out, "bot CPU per update: %.3f ms (%.2f CPU s per 1,000 updates)  goal ≤ 0.5 ms: %s\n", m.cpuPer*1000, m.cpuPer*1000,
		r.verdict(m.cpuPer*1000 <= 0.5, "bot CPU ≤ 0.5 ms per update"+on))
	if m.redisCPUPer > 0 && m.selfCPUPer > 0 {
		// What the box spends on an update, all parts together, and the
		// rate its CPUs could carry at that cost.
		all := m.cpuPer + m.redisCPUPer + m.selfCPUPer
		fmt.Fprintf(r.out, "CPU per update on this box: bot %.3f ms + Redis %.3f ms + residents and fake %s (this process) %.3f ms = %.3f ms; %d CPUs carry at most %.0f updates/s at that cost\n",
			m.cpuPer*1000, m.redisCPUPer*1000, m.api, m.selfCPUPer*1000, all*1000, runtime.NumCPU(), float64(runtime.NumCPU())/all)
	}
	fmt.Fprintf(r.out, "Redis round trips per update: %.2f  goal ≤ 3: %s\n", m.tripsPer, r.verdict(m.tripsPer <= 3, "≤ 3 Redis round trips per update"+on))
	for _, line := range Top(m.trips, float64(m.updates), 12) {
		fmt.Fprintf(r.out, "    %s\n", line)
	}
	// The guides the residents finished: the hamlets' counters, once the
	// bot has applied every effect.
	m.guides = -1
	if err := r.waitIdle(ctx, prefix); err != nil {
		fmt.Fprintf(r.out, "guides finished: not counted (%v)\n", err)
	} else if m.guides, err = r.guidesFinished(ctx, prefix); err != nil {
		fmt.Fprintf(r.out, "guides finished: not counted (%v)\n", err)
	} else {
		fmt.Fprintf(r.out, "guides finished by the residents: %d (first completions in the hamlets' counters, the warm-up included)\n", m.guides)
	}
	return m, nil
}

// guidesFinished counts the first completions of a guide in every seeded
// hamlet under prefix (their completions streams).
func (r *runner) guidesFinished(ctx context.Context, prefix string) (int64, error) {
	k := r.store(prefix).Keys()
	var lens []*redis.IntCmd
	_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, h := range r.hamlets {
			lens = append(lens, p.XLen(ctx, k.Completions(h)))
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return 0, err
	}
	var n int64
	for _, l := range lens {
		n += l.Val()
	}
	return n, nil
}

// sideBySide prints the channels' figures in columns, and whether Zalo's
// bot CPU per update is within 10% of Telegram's.
func (r *runner) sideBySide(runs []channelRun, n int, d time.Duration) {
	fmt.Fprintf(r.out, "-- side by side: %d residents, %s measured, one channel after the other; then half on each at once (mixed)\n", n, d)
	row := func(name string, f func(m measured) string) {
		fmt.Fprintf(r.out, "%-34s", name)
		for _, x := range runs {
			fmt.Fprintf(r.out, " %15s", f(x.m))
		}
		fmt.Fprintln(r.out)
	}
	fmt.Fprintf(r.out, "%-34s", "")
	for _, x := range runs {
		name := x.channel
		if x.mixed {
			name = "mixed: " + name
		}
		fmt.Fprintf(r.out, " %15s", name)
	}
	fmt.Fprintln(r.out)
	row("sustained updates/s", func(m measured) string { return fmt.Sprintf("%.0f", m.rate) })
	row("p99 webhook → the reply message", func(m measured) string { return Ms(m.replyP99) })
	row("p99 webhook → first API call", func(m measured) string { return Ms(m.firstP99) })
	row("bot CPU per update", func(m measured) string { return fmt.Sprintf("%.3f ms", m.cpuPer*1000) })
	row("Redis round trips per update", func(m measured) string { return fmt.Sprintf("%.2f", m.tripsPer) })
	row("platform API calls per update", func(m measured) string { return fmt.Sprintf("%.2f", m.callsPer) })
	row("guides finished", func(m measured) string {
		if m.guides < 0 {
			return "–"
		}
		return strconv.FormatInt(m.guides, 10)
	})
	fmt.Fprintln(r.out, "(mixed: the bot's CPU and the round trips are per update of both channels together)")
	var tg, zl *measured
	for i := range runs {
		if runs[i].mixed {
			continue
		}
		switch runs[i].channel {
		case Telegram:
			tg = &runs[i].m
		case Zalo:
			zl = &runs[i].m
		}
	}
	if tg != nil && zl != nil && tg.cpuPer > 0 {
		q := zl.cpuPer / tg.cpuPer
		fmt.Fprintf(r.out, "Zalo's bot CPU per update: %.2f× Telegram's  goal within 10%%: %s\n", q,
			r.verdict(q <= 1.10, "Zalo's bot CPU per update within 10% of Telegram's"))
	}
}

// latency: a fixed pace of updates, the latency percentiles; once per
// channel of the run, as throughput.
func (r *runner) latency(ctx context.Context, n int, rate float64, warmup, d time.Duration) error {
	for _, ch := range r.channels {
		r.channelHeader(ch)
		if err := r.latencyOn(ctx, ch, n, rate, warmup, d); err != nil {
			return fmt.Errorf("on %s: %w", ch, err)
		}
	}
	return nil
}

func (r *runner) latencyOn(ctx context.Context, ch string, n int, rate float64, warmup, d time.Duration) error {
	prefix, err := r.channelPrefix(ctx, ch)
	if err != nil {
		return err
	}
	b, err := r.startBotOn(ctx, ch, prefix, "SEND_RATE_CHAT="+r.chatRate)
	if err != nil {
		return err
	}
	defer b.stop()
	crowd := r.crowdOn(ch, Wanderer(mrand.New(mrand.NewPCG(3, 4))))
	crowd.Rate = rate
	m, err := r.measure(ctx, b, crowd, n, warmup, d)
	if err != nil {
		return err
	}
	fmt.Fprintf(r.out, "%d residents paced to %.0f updates/s together (achieved %.0f/s), %s measured\n", n, rate, m.rate, d)
	m.print(r)
	verdict := "(the goal is set at 1,000 updates/s)"
	if rate >= 1000 {
		verdict = r.verdict(m.firstP99 <= 10*time.Millisecond && m.rate >= 0.95*rate, "p99 ≤ 10 ms at 1,000 updates/s"+onChannel(ch))
	}
	fmt.Fprintf(r.out, "p99 latency at %.0f updates/s (webhook → first API call): %s  goal ≤ 10 ms: %s\n", rate, Ms(m.firstP99), verdict)
	m.printSeconds(r, 10*time.Millisecond)
	fmt.Fprintf(r.out, "bot CPU per update at this pace: %.3f ms; Redis round trips per update: %.2f\n", m.cpuPer*1000, m.tripsPer)
	return nil
}

type measured struct {
	updates                            int64
	rate                               float64
	firstP50, firstP99, firstMax       time.Duration
	replyP50, replyP99, replyMax       time.Duration
	webhookP50, webhookP99, webhookMax time.Duration
	cpuPer                             float64 // seconds per update
	redisCPUPer, selfCPUPer            float64 // Redis's, and this process's (residents, fake Bot API); 0 if unknown
	trips                              map[string]int64
	tripsPer                           float64
	errors, timeouts                   int64
	callsPer, inResponsePer            float64                // platform API calls an update; of them in webhook answers
	byMethod                           map[string]MethodCount // platform API calls over the run, by method
	api                                string                 // the platform's API: "Bot API", "Zalo API"
	guides                             int64                  // guides finished over the run; -1 not counted
	seconds                            []Second
	busy, steal                        []float64 // the box's CPU busy, and stolen by the host, each second
}

func (m measured) print(r *runner) {
	fmt.Fprintf(r.out, "latency webhook request → first API call for the chat: p50 %s  p99 %s  max %s\n", Ms(m.firstP50), Ms(m.firstP99), Ms(m.firstMax))
	fmt.Fprintf(r.out, "latency webhook request → the reply message:           p50 %s  p99 %s  max %s\n", Ms(m.replyP50), Ms(m.replyP99), Ms(m.replyMax))
	fmt.Fprintf(r.out, "webhook answer (update stored):                        p50 %s  p99 %s  max %s\n", Ms(m.webhookP50), Ms(m.webhookP99), Ms(m.webhookMax))
	if m.api == "Bot API" {
		fmt.Fprintf(r.out, "Bot API calls per update: %.2f, of them %.2f given in the webhook's answer (no request of the bot's)\n", m.callsPer, m.inResponsePer)
	} else {
		fmt.Fprintf(r.out, "%s calls per update: %.2f\n", m.api, m.callsPer)
	}
	fmt.Fprintln(r.out, byMethodLine(m.api, m.byMethod, float64(m.updates)))
	fmt.Fprintf(r.out, "errors: %d webhook failures, %d updates unanswered within 10 s\n", m.errors, m.timeouts)
	if m.errors > 0 || m.timeouts > 0 {
		r.miss("errors under load")
	}
	if len(m.busy) > 0 {
		b := slices.Sorted(slices.Values(m.busy))
		st := slices.Sorted(slices.Values(m.steal))
		fmt.Fprintf(r.out, "the box's CPU busy, second by second (all processes, the host's steal included): min %.0f%%, median %.0f%%, max %.0f%%; stolen by the host: median %.0f%%, max %.0f%%\n",
			100*b[0], 100*b[len(b)/2], 100*b[len(b)-1], 100*st[len(st)/2], 100*st[len(st)-1])
	}
}

// printSeconds tells how many seconds of the run kept their p99 within
// goal, and the worst second with the box's CPU in it.
func (m measured) printSeconds(r *runner, goal time.Duration) {
	if len(m.seconds) == 0 {
		return
	}
	within, worst := 0, 0
	for i, s := range m.seconds {
		if s.P99 <= goal {
			within++
		}
		if s.P99 > m.seconds[worst].P99 {
			worst = i
		}
	}
	w := m.seconds[worst]
	box := ""
	if worst < len(m.busy) {
		box = fmt.Sprintf(", the box's CPU %.0f%% busy (%.0f%% stolen)", 100*m.busy[worst], 100*m.steal[worst])
	}
	fmt.Fprintf(r.out, "seconds with p99 ≤ %s: %d of %d; the worst, second %d: p99 %s over %d updates%s\n",
		Ms(goal), within, len(m.seconds), worst+1, Ms(w.P99), w.Updates, box)
}

// measure runs crowd with n residents: warm-up, then d recorded.
func (r *runner) measure(ctx context.Context, b *bot, crowd *Crowd, n int, warmup, d time.Duration) (measured, error) {
	ms, err := r.measureAll(ctx, b, []*Crowd{crowd}, n, warmup, d)
	if err != nil {
		return measured{}, err
	}
	return ms[0], nil
}

// measureAll runs crowds on one bot together, n residents each: warm-up,
// then d recorded. Each crowd's figures are its own, but for the bot's,
// Redis's and this process's CPU and the round trips, which cannot be told
// apart: those are per update of all the crowds together, the same in
// every one's.
func (r *runner) measureAll(ctx context.Context, b *bot, crowds []*Crowd, n int, warmup, d time.Duration) ([]measured, error) {
	runCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, crowd := range crowds {
		rs := r.newResidents(n)
		wg.Go(func() { crowd.Run(runCtx, rs) })
	}
	select {
	case <-time.After(warmup):
	case <-ctx.Done():
	}
	type counts struct {
		calls, inResp int64
		methods       map[string]MethodCount
	}
	before := make([]counts, len(crowds))
	for i, crowd := range crowds {
		crowd.ResetSamples()
		before[i].calls, before[i].inResp, before[i].methods = crowd.platform().counts()
	}
	trips0, cpu0 := b.trips(ctx, r.hc), b.cpu()
	redis0, redisErr0 := RedisCPU(ctx, r.client)
	self0, selfErr0 := ProcessCPU(os.Getpid())
	for _, crowd := range crowds {
		crowd.Record(true)
	}
	t0 := time.Now()
	// The box's CPU, second by second, to tell a slow box from a slow bot.
	boxCtx, stopBox := context.WithCancel(ctx)
	boxDone := make(chan struct{})
	var busy, steal []float64
	go func() { busy, steal = BoxBusy(boxCtx, time.Second); close(boxDone) }()
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
	for _, crowd := range crowds {
		crowd.Record(false)
	}
	elapsed := time.Since(t0)
	stopBox()
	<-boxDone
	trips1, cpu1 := b.trips(ctx, r.hc), b.cpu()
	redis1, redisErr1 := RedisCPU(ctx, r.client)
	self1, selfErr1 := ProcessCPU(os.Getpid())
	after := make([]counts, len(crowds))
	for i, crowd := range crowds {
		after[i].calls, after[i].inResp, after[i].methods = crowd.platform().counts()
	}
	cancel()
	wg.Wait()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	var all int64
	for _, crowd := range crowds {
		all += crowd.Updates.Load()
	}
	if all == 0 {
		return nil, fmt.Errorf("no update was answered; the bot said:\n%s", b.output())
	}
	trips := Delta(trips0, trips1)
	ms := make([]measured, len(crowds))
	for i, crowd := range crowds {
		m := &ms[i]
		m.api = crowd.platform().apiName()
		m.updates = crowd.Updates.Load()
		if m.updates == 0 {
			return nil, fmt.Errorf("no update on %s was answered; the bot said:\n%s", m.api, b.output())
		}
		m.rate = float64(m.updates) / elapsed.Seconds()
		samples := crowd.Samples()
		m.seconds = PerSecond(samples, t0, int(elapsed/time.Second))
		m.busy, m.steal = busy, steal
		var first, reply, wh []time.Duration
		for _, s := range samples {
			first = append(first, s.First)
			reply = append(reply, s.Reply)
			wh = append(wh, s.Webhook)
		}
		m.firstP50, m.firstP99, m.firstMax = Percentiles(first)
		m.replyP50, m.replyP99, m.replyMax = Percentiles(reply)
		m.webhookP50, m.webhookP99, m.webhookMax = Percentiles(wh)
		m.cpuPer = (cpu1 - cpu0).Seconds() / float64(all)
		if redisErr0 == nil && redisErr1 == nil {
			m.redisCPUPer = (redis1 - redis0).Seconds() / float64(all)
		}
		if selfErr0 == nil && selfErr1 == nil {
			m.selfCPUPer = (self1 - self0).Seconds() / float64(all)
		}
		m.trips = trips
		m.tripsPer = float64(Sum(trips)) / float64(all)
		m.errors, m.timeouts = crowd.Errors.Load(), crowd.Timeouts.Load()
		m.callsPer = float64(after[i].calls-before[i].calls) / float64(m.updates)
		m.inResponsePer = float64(after[i].inResp-before[i].inResp) / float64(m.updates)
		m.byMethod = DeltaByMethod(before[i].methods, after[i].methods)
	}
	return ms, nil
}
