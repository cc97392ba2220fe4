package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/loadtest"
	"github.com/hangxomso/hangxom/store"
)

// loadPhases are the parts of `hangxom loadtest`, in the order they run.
var loadPhases = []string{"memory", "throughput", "latency", "report", "reminders"}

const loadToken = "7000000002:AAHangXomSoLoadTestToken_0123456789abc"

// loadRun is one `hangxom loadtest`: a Redis, the fake Bot API, and the
// bot processes it starts.
type loadRun struct {
	out    io.Writer
	stderr io.Writer
	bin    string
	redis  string // REDIS_URL for the bot
	client redis.UniversalClient
	prefix string // KEY_PREFIX of the run; the keys are deleted at the end
	// memPrefix is the memory phase's KEY_PREFIX: "hx", as long as the
	// default one, when the run has a redis-server of its own (key names
	// are part of what a resident costs), else the run's own prefix + "m".
	memPrefix string
	ownRedis  bool // the run started its redis-server (no REDIS_URL)
	api       *loadtest.FakeAPI
	hc        *http.Client
	hamlets   []string
	areas     []flows.Area // the hamlets and their communes, as seeded
	nextTG    atomic.Int64 // chat ids handed out
	tz        string
	misses    []string
	// chatRate is SEND_RATE_CHAT for the throughput and latency runs.
	chatRate string
	pprof    string // PPROF_LISTEN for the bots, if any
}

// runLoadtest measures the bot under load: see usage and README.
func runLoadtest(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, opts appOptions) error {
	fs := newFlagSet("loadtest")
	phases := fs.String("phases", strings.Join(loadPhases, ","), "which parts to run, comma-separated: "+strings.Join(loadPhases, ", "))
	residents := fs.Int("residents", 6000, "simulated residents in the throughput run")
	memResidents := fs.Int("memory-residents", 2000, "residents who each finish one flow, for the memory figure")
	hamlets := fs.Int("hamlets", 1000, "hamlets seeded (in communes of 100)")
	warmup := fs.Duration("warmup", 5*time.Second, "warm-up before each measured run")
	duration := fs.Duration("duration", 20*time.Second, "length of each measured run")
	latencyRate := fs.Float64("latency-rate", 1000, "updates per second of the latency run")
	latencyResidents := fs.Int("latency-residents", 3000, "residents in the latency run")
	reportResidents := fs.String("report-residents", "10000,1000000", "resident counts the coordinator report is timed at, comma-separated, ascending")
	reminders := fs.Int("reminders", 10000, "residents a team member reminds")
	bulkLimit := fs.Float64("bulk-limit", 100, "L: the fake's limit on messages per second to all chats, and the bot's SEND_RATE_BULK, in the reminders run")
	chatRate := fs.String("chat-rate", "50,50", "the bot's SEND_RATE_CHAT in the throughput and latency runs: simulated residents tap the instant they are answered, so Telegram's pace of one message a second per chat (the bot's default) would measure the pace, not the bot")
	keep := fs.Bool("keep", false, "leave the run's keys in Redis for inspection (prefix printed)")
	cpuProfile := fs.String("cpuprofile", "", "write this process's CPU profile (the residents, the fake, the report phase) to a file")
	pprofAt := fs.String("bot-pprof", "", "a loopback address for the bot's profiler (PPROF_LISTEN), to profile it under load")
	bin := fs.String("bot-bin", "", "the hangxom binary to run as the bot (default: this one)")
	resolve := addSettings(fs, getenv)
	cfg, err := parseSettings(fs, args, resolve, stderr)
	if err != nil {
		return err
	}
	want := map[string]bool{}
	for _, p := range strings.Split(*phases, ",") {
		p = strings.TrimSpace(p)
		if !slices.Contains(loadPhases, p) {
			return usagef("--phases: %q: use %s", p, strings.Join(loadPhases, ", "))
		}
		want[p] = true
	}
	var counts []int
	for _, s := range strings.Split(*reportResidents, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 || (len(counts) > 0 && n <= counts[len(counts)-1]) {
			return usagef("--report-residents: %q: give ascending positive counts", *reportResidents)
		}
		counts = append(counts, n)
	}
	if *residents < 1 || *memResidents < 1 || *hamlets < 1 || *reminders < 1 || *bulkLimit <= 0 || *latencyRate <= 0 || *latencyResidents < 1 {
		return usagef("loadtest: counts and rates must be positive")
	}
	if len(cfg.ClusterAddrs) > 0 || len(cfg.SentinelAddrs) > 0 {
		return usagef("loadtest: give a single Redis (REDIS_URL) or none (a redis-server is started)")
	}
	if *bin == "" {
		if *bin, err = os.Executable(); err != nil {
			return err
		}
	}

	if getenv("GOGC") == "" {
		// This process is the measuring apparatus on the bot's box: at the
		// default GOGC its collector took about a tenth of its CPU, partly
		// in idle-time mark workers that soak up the idle CPU the bot and
		// Redis would get. The bot has its own setting (GOGC from the
		// environment, else serve's default, serveGCPercent).
		debug.SetGCPercent(400)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	r := &loadRun{out: stdout, stderr: stderr, bin: *bin, hc: loadtest.NewHTTPClient(4096), chatRate: *chatRate, pprof: *pprofAt}
	ownRedis := cfg.RedisURL == ""
	if ownRedis {
		dir, err := os.MkdirTemp("", "hangxom-loadtest-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		srv, err := loadtest.StartRedis(ctx, dir)
		if err != nil {
			return err
		}
		defer srv.Stop()
		cfg.RedisURL = srv.URL()
	}
	r.redis = cfg.RedisURL
	c, err := store.Connect(store.ConnectConfig{URL: cfg.RedisURL, Password: cfg.RedisPassword})
	if err != nil {
		return &usageError{msg: err.Error()}
	}
	defer c.Close()
	if err := c.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("cannot reach Redis at REDIS_URL: %w", err)
	}
	r.client = c
	var b [4]byte
	_, _ = rand.Read(b[:])
	r.prefix = "lt" + hex.EncodeToString(b[:])
	r.memPrefix = r.prefix + "m"
	if ownRedis {
		r.memPrefix, r.ownRedis = "hx", true
	}
	if *keep {
		defer fmt.Fprintf(stdout, "keys kept under %s* (the memory phase's under %s:)\n", r.prefix, r.memPrefix)
	} else {
		defer r.cleanup(context.WithoutCancel(ctx))
	}
	r.api, err = loadtest.NewFakeAPI(loadToken)
	if err != nil {
		return err
	}
	defer r.api.Close()
	r.tz = daytimeZone(time.Now())
	r.nextTG.Store(100_000_000)

	r.header(cfg)
	if err := r.seedHamlets(ctx, *hamlets); err != nil {
		return err
	}
	type phase struct {
		name string
		run  func() error
	}
	for _, p := range []phase{
		{"memory", func() error { return r.memory(ctx, *memResidents) }},
		{"throughput", func() error { return r.throughput(ctx, *residents, *warmup, *duration) }},
		{"latency", func() error { return r.latency(ctx, *latencyResidents, *latencyRate, *warmup, *duration) }},
		{"report", func() error { return r.report(ctx, cfg, counts) }},
		{"reminders", func() error { return r.reminders(ctx, *reminders, *bulkLimit) }},
	} {
		if !want[p.name] {
			continue
		}
		fmt.Fprintf(r.out, "\n== %s\n", p.name)
		if err := p.run(); err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
	}
	fmt.Fprintln(r.out)
	if len(r.misses) > 0 {
		fmt.Fprintf(r.out, "goals missed: %s\n", strings.Join(r.misses, "; "))
	} else {
		fmt.Fprintln(r.out, "every goal measured was met")
	}
	return nil
}

func (r *loadRun) header(cfg config) {
	host, _ := os.Hostname()
	model := cpuModel()
	fmt.Fprintf(r.out, "hangxom loadtest %s — %s, %d CPUs (%s), %s/%s, Redis %s, bot %s\n",
		buildVersion(), time.Now().UTC().Format(time.RFC3339), runtime.NumCPU(), model, runtime.GOOS, runtime.GOARCH,
		redisVersion(r.client), host)
	fmt.Fprintln(r.out, "everything on this one machine: the bot process, Redis, the fake Bot API and the simulated residents (this process)")
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

func redisVersion(c redis.UniversalClient) string {
	info, err := c.Info(context.Background(), "server").Result()
	if err != nil {
		return "?"
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "redis_version:"); ok {
			return v
		}
	}
	return "?"
}

// daytimeZone returns a fixed-offset zone where it is now between 09:00 and
// 17:00, so the reminders run is outside the quiet hours whatever the hour.
func daytimeZone(now time.Time) string {
	off := 12 - now.UTC().Hour() // hours east of UTC that make it about noon
	if off > 14 {
		off -= 24
	}
	if off < -12 {
		off += 24
	}
	switch {
	case off == 0:
		return "UTC"
	case off > 0:
		return "Etc/GMT-" + strconv.Itoa(off) // POSIX signs: GMT-7 is UTC+7
	}
	return "Etc/GMT+" + strconv.Itoa(-off)
}

func (r *loadRun) miss(goal string) { r.misses = append(r.misses, goal) }

func (r *loadRun) verdict(ok bool, goal string) string {
	if ok {
		return "met"
	}
	r.miss(goal)
	return "MISSED"
}

func (r *loadRun) store(prefix string) *store.Redis {
	return store.New(r.client, store.Options{Prefix: prefix + ":v1", DataKey: []byte(loadDataKey)})
}

const loadDataKey = "loadtest-data-key-0123456789"

// seedHamlets writes communes of 100 hamlets through the store, as
// `hangxom areas import` would.
func (r *loadRun) seedHamlets(ctx context.Context, n int) error {
	pop := 1000
	var areas []flows.Area
	for i := 0; i*100 < n; i++ {
		commune := fmt.Sprintf("lt-xa-%03d", i+1)
		areas = append(areas, flows.Area{ID: commune, Level: flows.LevelCommune, Name: fmt.Sprintf("Xã Thử %d", i+1), ParentID: "thai-nguyen"})
		for j := 0; j < 100 && i*100+j < n; j++ {
			id := fmt.Sprintf("%s-x%03d", commune, j+1)
			areas = append(areas, flows.Area{ID: id, Level: flows.LevelHamlet, Name: fmt.Sprintf("Xóm %d", j+1), ParentID: commune, Population: &pop})
			r.hamlets = append(r.hamlets, id)
		}
	}
	if err := r.store(r.prefix).PutAreas(ctx, areas); err != nil {
		return err
	}
	r.areas = areas
	fmt.Fprintf(r.out, "seeded %d hamlets in %d communes through the store\n", len(r.hamlets), (n+99)/100)
	return nil
}

// cleanup deletes every key of the run.
func (r *loadRun) cleanup(ctx context.Context) {
	// r.prefix + "r*": the report phase's prefixes, one per count
	for _, p := range []string{r.prefix, r.prefix + "r*", r.memPrefix, r.prefix + "n"} {
		_ = deleteKeys(ctx, r.client, p+":*")
	}
}

func deleteKeys(ctx context.Context, c redis.UniversalClient, pattern string) error {
	iter := c.Scan(ctx, 0, pattern, 1000).Iterator()
	var batch []string
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := c.Unlink(ctx, batch...).Err()
		batch = batch[:0]
		return err
	}
	for iter.Next(ctx) {
		batch = append(batch, iter.Val())
		if len(batch) == 500 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := iter.Err(); err != nil {
		return err
	}
	return flush()
}

// bot is one `hangxom serve` process in webhook mode.
type bot struct {
	cmd     *exec.Cmd
	http    string // host:port of /healthz (HTTP_LISTEN)
	metrics string // host:port of /metrics (METRICS_LISTEN)
	log     *bytes.Buffer
	mu      *sync.Mutex
	stopped chan struct{}
}

// startBot runs the bot binary in webhook mode against the fake and waits
// until it has set its webhook and answers /healthz.
func (r *loadRun) startBot(ctx context.Context, prefix string, extra ...string) (*bot, error) {
	port, err := loadtest.FreePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	mport, err := loadtest.FreePort()
	if err != nil {
		return nil, err
	}
	maddr := "127.0.0.1:" + strconv.Itoa(mport)
	var secret [16]byte
	_, _ = rand.Read(secret[:])
	env := append(os.Environ(),
		"TELEGRAM_BOT_TOKEN="+loadToken, "TELEGRAM_API_URL="+r.api.URL,
		"WEBHOOK_URL=http://"+addr+"/telegram", "WEBHOOK_SECRET="+hex.EncodeToString(secret[:]),
		"HTTP_LISTEN="+addr, "METRICS_LISTEN="+maddr, "REDIS_URL="+r.redis, "KEY_PREFIX="+prefix, "DATA_KEY="+loadDataKey,
		"LOG_LEVEL=warn", "BOT_TZ="+r.tz)
	if r.pprof != "" {
		env = append(env, "PPROF_LISTEN="+r.pprof)
	}
	env = append(env, extra...)
	cmd := exec.Command(r.bin, "serve")
	cmd.Env = env
	b := &bot{cmd: cmd, http: addr, metrics: maddr, log: new(bytes.Buffer), mu: new(sync.Mutex), stopped: make(chan struct{})}
	w := lockedWriter{b.mu, b.log}
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the bot (%s): %w", r.bin, err)
	}
	go func() { _ = cmd.Wait(); close(b.stopped) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		url, _ := r.api.Webhook()
		if url == "http://"+addr+"/telegram" && b.healthy(ctx, r.hc) {
			// The round trips per update come from /metrics: a bot whose
			// metrics cannot be read would report none.
			if _, err := loadtest.RoundTrips(ctx, r.hc, "http://"+maddr+"/metrics"); err != nil {
				b.kill()
				return nil, fmt.Errorf("the bot's /metrics: %w\n%s", err, b.output())
			}
			return b, nil
		}
		select {
		case <-b.stopped:
			return nil, fmt.Errorf("the bot exited at start:\n%s", b.output())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			b.kill()
			return nil, fmt.Errorf("the bot did not start within 30 s:\n%s", b.output())
		}
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (b *bot) output() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.log.String()
	if len(s) > 4000 {
		s = "…" + s[len(s)-4000:]
	}
	return s
}

func (b *bot) healthy(ctx context.Context, hc *http.Client) bool {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+b.http+"/healthz", nil)
	resp, err := hc.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func (b *bot) cpu() time.Duration {
	d, _ := loadtest.ProcessCPU(b.cmd.Process.Pid)
	return d
}

func (b *bot) trips(ctx context.Context, hc *http.Client) map[string]int64 {
	m, _ := loadtest.RoundTrips(ctx, hc, "http://"+b.metrics+"/metrics")
	return m
}

// stop sends SIGTERM and waits for the bot to exit.
func (b *bot) stop() {
	_ = b.cmd.Process.Signal(os.Interrupt)
	select {
	case <-b.stopped:
	case <-time.After(15 * time.Second):
		b.kill()
	}
}

func (b *bot) kill() {
	_ = b.cmd.Process.Kill()
	<-b.stopped
}

// newResidents hands out n residents with fresh chat ids, spread over the
// seeded hamlets.
func (r *loadRun) newResidents(n int) []*loadtest.Resident {
	out := make([]*loadtest.Resident, n)
	for i := range out {
		chat := r.nextTG.Add(1)
		out[i] = &loadtest.Resident{Chat: chat, Hamlet: r.hamlets[int(chat)%len(r.hamlets)]}
	}
	return out
}

// memory: residents who each finish one flow; Redis memory per resident
// with the update-id keys, and after they are gone.
func (r *loadRun) memory(ctx context.Context, n int) error {
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
	crowd := &loadtest.Crowd{API: r.api, HTTP: r.hc, Wait: 20 * time.Second,
		// ewallet on a basic phone with Viettel: the shortest whole flow.
		Choose: loadtest.Path("💳", "☎️", "📶 Viettel", "✅", "✅", "✅", "✅", "✅")}
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
	per := float64(with.Data()-before.Data()) / float64(n)
	perAfter := float64(without.Data()-before.Data()) / float64(n)
	fmt.Fprintf(r.out, "Redis used_memory per resident with one finished flow, bot stopped, connection buffers left out: %.0f B with the 24-hour update-id keys (%d of them), %.0f B after they expire (deleted here)  goal ≤ 1 KB: %s\n",
		per, nupd, perAfter, r.verdict(perAfter <= 1024, "memory per resident ≤ 1 KB"))
	fmt.Fprintf(r.out, "  (used_memory %d → %d → %d B; of it the connections' buffers %d → %d → %d B)\n",
		before.Used, with.Used, without.Used, before.Clients, with.Clients, without.Clients)
	return nil
}

// settledMemory reads Redis memory once it stopped moving: Redis frees
// unlinked keys in the background and resizes its key tables a little
// every 100 ms (a table shrunk after many keys expired is two tables until
// then), so a reading taken at once can be off by a few hundred KB. It
// waits for two equal readings 500 ms apart, at most 15 s.
func (r *loadRun) settledMemory(ctx context.Context) (loadtest.Memory, error) {
	prev, err := loadtest.UsedMemory(ctx, r.client)
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
		m, err := loadtest.UsedMemory(ctx, r.client)
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
func (r *loadRun) waitIdle(ctx context.Context, prefix string) error {
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

// throughput: as many updates as the bot takes, residents pressing buttons
// as soon as they are answered.
func (r *loadRun) throughput(ctx context.Context, n int, warmup, d time.Duration) error {
	b, err := r.startBot(ctx, r.prefix, "SEND_RATE_CHAT="+r.chatRate)
	if err != nil {
		return err
	}
	defer b.stop()
	crowd := &loadtest.Crowd{API: r.api, HTTP: r.hc, Choose: loadtest.Wanderer(mrand.New(mrand.NewPCG(1, 2)))}
	m, err := r.measure(ctx, b, crowd, n, warmup, d)
	if err != nil {
		return err
	}
	fmt.Fprintf(r.out, "%d residents, closed loop, %s warm-up, %s measured, SEND_RATE_CHAT=%s\n", n, warmup, d, r.chatRate)
	fmt.Fprintf(r.out, "sustained updates/s: %.0f  goal ≥ 5,000: %s\n", m.rate, r.verdict(m.rate >= 5000, "≥ 5,000 updates/s"))
	m.print(r)
	fmt.Fprintf(r.out, "bot CPU per update: %.3f ms (%.2f CPU s per 1,000 updates)  goal ≤ 0.5 ms: %s\n", m.cpuPer*1000, m.cpuPer*1000,
		r.verdict(m.cpuPer*1000 <= 0.5, "bot CPU ≤ 0.5 ms per update"))
	if m.redisCPUPer > 0 && m.selfCPUPer > 0 {
		// What the box spends on an update, all parts together, and the
		// rate its CPUs could carry at that cost.
		all := m.cpuPer + m.redisCPUPer + m.selfCPUPer
		fmt.Fprintf(r.out, "CPU per update on this box: bot %.3f ms + Redis %.3f ms + residents and fake Bot API (this process) %.3f ms = %.3f ms; %d CPUs carry at most %.0f updates/s at that cost\n",
			m.cpuPer*1000, m.redisCPUPer*1000, m.selfCPUPer*1000, all*1000, runtime.NumCPU(), float64(runtime.NumCPU())/all)
	}
	fmt.Fprintf(r.out, "Redis round trips per update: %.2f  goal ≤ 3: %s\n", m.tripsPer, r.verdict(m.tripsPer <= 3, "≤ 3 Redis round trips per update"))
	for _, line := range loadtest.Top(m.trips, float64(m.updates), 12) {
		fmt.Fprintf(r.out, "    %s\n", line)
	}
	return nil
}

// latency: a fixed pace of updates, the latency percentiles.
func (r *loadRun) latency(ctx context.Context, n int, rate float64, warmup, d time.Duration) error {
	b, err := r.startBot(ctx, r.prefix, "SEND_RATE_CHAT="+r.chatRate)
	if err != nil {
		return err
	}
	defer b.stop()
	crowd := &loadtest.Crowd{API: r.api, HTTP: r.hc, Rate: rate, Choose: loadtest.Wanderer(mrand.New(mrand.NewPCG(3, 4)))}
	m, err := r.measure(ctx, b, crowd, n, warmup, d)
	if err != nil {
		return err
	}
	fmt.Fprintf(r.out, "%d residents paced to %.0f updates/s together (achieved %.0f/s), %s measured\n", n, rate, m.rate, d)
	m.print(r)
	verdict := "(the goal is set at 1,000 updates/s)"
	if rate >= 1000 {
		verdict = r.verdict(m.firstP99 <= 10*time.Millisecond && m.rate >= 0.95*rate, "p99 ≤ 10 ms at 1,000 updates/s")
	}
	fmt.Fprintf(r.out, "p99 latency at %.0f updates/s (webhook → first API call): %s  goal ≤ 10 ms: %s\n", rate, loadtest.Ms(m.firstP99), verdict)
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
	callsPer, inResponsePer            float64 // Bot API calls an update; of them in webhook answers
	seconds                            []loadtest.Second
	busy, steal                        []float64 // the box's CPU busy, and stolen by the host, each second
}

func (m measured) print(r *loadRun) {
	fmt.Fprintf(r.out, "latency webhook request → first API call for the chat: p50 %s  p99 %s  max %s\n", loadtest.Ms(m.firstP50), loadtest.Ms(m.firstP99), loadtest.Ms(m.firstMax))
	fmt.Fprintf(r.out, "latency webhook request → the reply message:           p50 %s  p99 %s  max %s\n", loadtest.Ms(m.replyP50), loadtest.Ms(m.replyP99), loadtest.Ms(m.replyMax))
	fmt.Fprintf(r.out, "webhook answer (update stored):                        p50 %s  p99 %s  max %s\n", loadtest.Ms(m.webhookP50), loadtest.Ms(m.webhookP99), loadtest.Ms(m.webhookMax))
	fmt.Fprintf(r.out, "Bot API calls per update: %.2f, of them %.2f given in the webhook's answer (no request of the bot's)\n", m.callsPer, m.inResponsePer)
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
func (m measured) printSeconds(r *loadRun, goal time.Duration) {
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
		loadtest.Ms(goal), within, len(m.seconds), worst+1, loadtest.Ms(w.P99), w.Updates, box)
}

// measure runs crowd with n residents: warm-up, then d recorded.
func (r *loadRun) measure(ctx context.Context, b *bot, crowd *loadtest.Crowd, n int, warmup, d time.Duration) (measured, error) {
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { crowd.Run(runCtx, r.newResidents(n)); close(done) }()
	select {
	case <-time.After(warmup):
	case <-ctx.Done():
	}
	crowd.ResetSamples()
	trips0, cpu0 := b.trips(ctx, r.hc), b.cpu()
	redis0, redisErr0 := loadtest.RedisCPU(ctx, r.client)
	self0, selfErr0 := loadtest.ProcessCPU(os.Getpid())
	calls0, inResp0 := r.api.Calls.Load(), r.api.InResponse.Load()
	crowd.Record(true)
	t0 := time.Now()
	// The box's CPU, second by second, to tell a slow box from a slow bot.
	boxCtx, stopBox := context.WithCancel(ctx)
	boxDone := make(chan struct{})
	var busy, steal []float64
	go func() { busy, steal = loadtest.BoxBusy(boxCtx, time.Second); close(boxDone) }()
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
	crowd.Record(false)
	elapsed := time.Since(t0)
	stopBox()
	<-boxDone
	trips1, cpu1 := b.trips(ctx, r.hc), b.cpu()
	redis1, redisErr1 := loadtest.RedisCPU(ctx, r.client)
	self1, selfErr1 := loadtest.ProcessCPU(os.Getpid())
	calls1, inResp1 := r.api.Calls.Load(), r.api.InResponse.Load()
	cancel()
	<-done
	if ctx.Err() != nil {
		return measured{}, ctx.Err()
	}
	var m measured
	m.updates = crowd.Updates.Load()
	if m.updates == 0 {
		return m, fmt.Errorf("no update was answered; the bot said:\n%s", b.output())
	}
	m.rate = float64(m.updates) / elapsed.Seconds()
	samples := crowd.Samples()
	m.seconds = loadtest.PerSecond(samples, t0, int(elapsed/time.Second))
	m.busy, m.steal = busy, steal
	var first, reply, wh []time.Duration
	for _, s := range samples {
		first = append(first, s.First)
		reply = append(reply, s.Reply)
		wh = append(wh, s.Webhook)
	}
	m.firstP50, m.firstP99, m.firstMax = loadtest.Percentiles(first)
	m.replyP50, m.replyP99, m.replyMax = loadtest.Percentiles(reply)
	m.webhookP50, m.webhookP99, m.webhookMax = loadtest.Percentiles(wh)
	m.cpuPer = (cpu1 - cpu0).Seconds() / float64(m.updates)
	if redisErr0 == nil && redisErr1 == nil {
		m.redisCPUPer = (redis1 - redis0).Seconds() / float64(m.updates)
	}
	if selfErr0 == nil && selfErr1 == nil {
		m.selfCPUPer = (self1 - self0).Seconds() / float64(m.updates)
	}
	m.trips = loadtest.Delta(trips0, trips1)
	m.tripsPer = float64(loadtest.Sum(m.trips)) / float64(m.updates)
	m.errors, m.timeouts = crowd.Errors.Load(), crowd.Timeouts.Load()
	m.callsPer = float64(calls1-calls0) / float64(m.updates)
	m.inResponsePer = float64(inResp1-inResp0) / float64(m.updates)
	return m, nil
}

// report: the coordinator's report over every hamlet × flow, with residents
// seeded through the store at each count, each count under a key prefix of
// its own. The counts are timed in turns, round after round, so that they
// share the box's load of that minute: timed one after the other, with six
// minutes of seeding between them, two figures of 9–15 ms gave ratios from
// 0.90× to 1.63× on the same code.
func (r *loadRun) report(ctx context.Context, cfg config, counts []int) error {
	cfg.DataKey = loadDataKey
	cfg.TZ, _ = time.LoadLocation(r.tz)
	type reportSet struct {
		n    int
		a    *app
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
		c := cfg
		c.KeyPrefix = prefix
		a, err := openApp(ctx, c, appOptions{client: r.client}, io.Discard)
		if err != nil {
			return err
		}
		defer a.Close()
		ids := a.flowIDs()
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
		if _, err := s.a.sweep(ctx); err != nil {
			return err
		}
	}
	const rounds = 30
	now := time.Now()
	month := now.In(cfg.TZ).Format("2006-01")
	timeRounds := func(into func(*reportSet) *[]time.Duration) error {
		for range rounds {
			for _, s := range sets {
				t := time.Now()
				out, err := s.a.statsRows(ctx, []string{month}, now)
				if err != nil {
					return err
				}
				*into(s) = append(*into(s), time.Since(t))
				s.rows = len(out)
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
		p50, _, mx := loadtest.Percentiles(s.swept)
		verdict := r.verdict(p50 <= 20*time.Millisecond, "coordinator report ≤ 20 ms")
		ratio := ""
		if first == 0 {
			first = p50
		} else {
			q := float64(p50) / float64(first)
			ratio = fmt.Sprintf("  %.2f× the first count (goal ≤ 1.5×: %s)", q, r.verdict(q <= 1.5, "report time within 1.5× from 10k to 1M residents"))
		}
		fmt.Fprintf(r.out, "coordinator report at %d residents: %d rows (hamlets × %d flows, this month), p50 %s max %s over %d runs  goal ≤ 20 ms: %s%s\n",
			s.n, s.rows, len(s.a.flowIDs()), loadtest.Ms(p50), loadtest.Ms(mx), rounds, verdict, ratio)
		p50, _, mx = loadtest.Percentiles(s.live)
		fmt.Fprintf(r.out, "  the same without the sweep's stalled counts (one ZCOUNT per row): p50 %s max %s\n", loadtest.Ms(p50), loadtest.Ms(mx))
	}
	fmt.Fprintf(r.out, "  (the counts were timed in turns, %d rounds, each count seeded under a key prefix of its own)\n", rounds)
	return nil
}

// reportPrefix is the key prefix of the report phase's i-th resident count.
func (r *loadRun) reportPrefix(i int) string { return r.prefix + "r" + strconv.Itoa(i) }

// seedResidents writes residents from..to−1 through the store: filed in a
// hamlet, one to three flows started and most of them finished, with the
// hamlet effects applied as the bot applies them.
func (r *loadRun) seedResidents(ctx context.Context, st *store.Redis, from, to int, flowIDs []string) error {
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

// reminders: a team member reminds n residents; the fake enforces a global
// limit L and the bot is configured to L.
func (r *loadRun) reminders(ctx context.Context, n int, limit float64) error {
	prefix := r.prefix + "n"
	st := r.store(prefix)
	hamlet := r.hamlets[0]
	if err := st.PutAreas(ctx, r.areasFor(hamlet)); err != nil {
		return err
	}
	t0 := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, 32)
	base := r.nextTG.Add(int64(n)) - int64(n)
	now := time.Now().Add(-time.Hour)
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) || ctx.Err() != nil {
					return
				}
				resident := "tg:" + strconv.FormatInt(base+i+1, 10)
				s := flows.Session{Lang: "vi", Commune: hamlet[:len("lt-xa-000")], Hamlet: hamlet, Seen: now,
					Active: &flows.Run{Flow: "ewallet", Step: "intro", Started: now, Last: now}}
				err := st.Commit(ctx, flows.Commit{Resident: resident, Session: s, Effects: []flows.Effect{
					{Kind: flows.EffectFiled, Hamlet: hamlet, At: now},
					{Kind: flows.EffectStarted, Flow: "ewallet", Hamlet: hamlet, At: now}}})
				if err == nil {
					err = st.ApplyEffects(ctx, resident)
				}
				if err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return err
	}
	member := r.nextTG.Add(1)
	if err := st.PutMember(ctx, flows.Member{ID: "tg:" + strconv.FormatInt(member, 10), Role: flows.RoleTeam, Areas: []string{hamlet}, Name: "Tổ", Since: now}); err != nil {
		return err
	}
	fmt.Fprintf(r.out, "seeded %d residents with ewallet unfinished in %s, and a team member, through the store in %s\n", n, hamlet, time.Since(t0).Round(time.Millisecond))

	b, err := r.startBot(ctx, prefix, "SEND_RATE_BULK="+strconv.FormatFloat(limit, 'f', -1, 64))
	if err != nil {
		return err
	}
	defer b.stop()
	r.api.SetLimits(loadtest.Limits{GlobalRate: limit})
	defer r.api.SetLimits(loadtest.Limits{})
	r.api.ResetBulk()
	team := &loadtest.Resident{Chat: member}
	start := time.Now()
	status, err := r.api.Deliver(ctx, r.hc, team.TextUpdate("/remind"))
	if err != nil || status != http.StatusOK {
		return fmt.Errorf("/remind: status %d, %v\n%s", status, err, b.output())
	}
	fmt.Fprintf(r.out, "/remind answered by the webhook in %s\n", time.Since(start).Round(time.Millisecond))
	lastCount := int64(0)
	stall := time.Now()
	for {
		sent := r.api.BulkSent.Load()
		if sent != lastCount {
			lastCount, stall = sent, time.Now()
		}
		if sent >= int64(n) || time.Since(stall) > 30*time.Second {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	firstAt, lastAt := r.api.BulkSpan()
	thr := r.api.BulkThrottled.Load()
	lost, twice := 0, 0
	for i := 0; i < n; i++ {
		sent, texts := r.api.SentTo(base + int64(i) + 1)
		if sent == 0 {
			lost++
		}
		for _, c := range texts {
			if c > 1 {
				twice++
			}
		}
	}
	span := lastAt.Sub(firstAt).Seconds()
	rate := 0.0
	if span > 0 {
		rate = float64(lastCount-1) / span
	}
	share := float64(thr) / math.Max(1, float64(lastCount+thr))
	fmt.Fprintf(r.out, "reminders: %d of %d sent in %.1f s at %.1f/s with L = %.0f/s (%.1f%% of L)  goal ≥ 95%%: %s\n",
		lastCount, n, span, rate, limit, 100*rate/limit, r.verdict(rate >= 0.95*limit, "reminders at ≥ 95% of L"))
	fmt.Fprintf(r.out, "reminders lost: %d, sent twice: %d  goal 0: %s\n", lost, twice, r.verdict(lost == 0 && twice == 0, "no reminder lost or doubled"))
	fmt.Fprintf(r.out, "answered 429: %d (%.2f%% of attempts)  goal ≤ 1%%: %s\n", thr, 100*share, r.verdict(share <= 0.01, "≤ 1% of reminder sends answered 429"))
	return nil
}

// areasFor returns the province, the commune and the hamlet h, for a
// prefix of its own.
func (r *loadRun) areasFor(h string) []flows.Area {
	pop := 1000
	commune := h[:len("lt-xa-000")]
	return []flows.Area{
		{ID: commune, Level: flows.LevelCommune, Name: "Xã Thử", ParentID: "thai-nguyen"},
		{ID: h, Level: flows.LevelHamlet, Name: "Xóm 1", ParentID: commune, Population: &pop},
	}
}
