package loadtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/store"
)

// Options are the settings of one run: the sizes of its phases, the bot to
// run, and the Redis to run it on.
type Options struct {
	// Phases are the parts to run, of Phases; the others are skipped.
	Phases []string
	// Residents are the simulated residents of the throughput run.
	Residents int
	// MemoryResidents each finish one flow, for the memory figure.
	MemoryResidents int
	// Hamlets are seeded in communes of 100.
	Hamlets int
	// Warmup comes before each measured run of Duration.
	Warmup, Duration time.Duration
	// LatencyRate is the latency run's updates per second, among
	// LatencyResidents.
	LatencyRate      float64
	LatencyResidents int
	// ReportResidents are the resident counts the coordinator report is
	// timed at, ascending.
	ReportResidents []int
	// Reminders are the residents a team member reminds, at BulkLimit
	// messages per second (the fake's limit and the bot's SEND_RATE_BULK).
	Reminders int
	BulkLimit float64
	// ChatRate is the bot's SEND_RATE_CHAT in the throughput and latency
	// runs.
	ChatRate string
	// Channel is where the throughput and latency runs' residents are:
	// Telegram (the default), Zalo, or Both (each run once per channel,
	// Telegram then Zalo, the same size; the throughput run then once more
	// with half the residents on each channel at once; the figures side by
	// side). The other phases run on Telegram.
	Channel string
	// Keep leaves the run's keys in Redis for inspection, and the chaos
	// phase's files.
	Keep bool
	// Chaos are the chaos phase's settings.
	Chaos ChaosOptions
	// BotPprof is the bots' PPROF_LISTEN, if any.
	BotPprof string
	// Bin is the hangxom binary run as the bot (`Bin serve`).
	Bin string
	// RedisURL and RedisPassword name a single Redis; with no URL, a
	// redis-server of the run's own is started.
	RedisURL, RedisPassword string
	// Version names the program in the header.
	Version string
	// OpenReport opens the coordinator's report over one ReportStore, for
	// the report phase.
	OpenReport func(ctx context.Context, s ReportStore) (Report, error)
}

// UsageError is a setting the run cannot use, such as a malformed
// RedisURL: the caller's mistake, not the bot's.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// Run runs the phases o names against bots it starts, writing the figures
// and whether each goal was met to out.
func Run(ctx context.Context, o Options, out io.Writer) error {
	want := map[string]bool{}
	for _, p := range o.Phases {
		want[p] = true
	}
	r := &runner{out: out, bin: o.Bin, hc: NewHTTPClient(4096), chatRate: o.ChatRate, pprof: o.BotPprof, openReport: o.OpenReport, keep: o.Keep}
	redisURL := o.RedisURL
	ownRedis := redisURL == ""
	if ownRedis {
		dir, err := os.MkdirTemp("", "hangxom-loadtest-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		srv, err := StartRedis(ctx, dir)
		if err != nil {
			return err
		}
		defer srv.Stop()
		redisURL = srv.URL()
	}
	r.redis = redisURL
	c, err := store.Connect(store.ConnectConfig{URL: redisURL, Password: o.RedisPassword})
	if err != nil {
		return &UsageError{Err: err}
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
	if o.Keep {
		defer fmt.Fprintf(out, "keys kept under %s* (the memory phase's under %s:)\n", r.prefix, r.memPrefix)
	} else {
		defer r.cleanup(context.WithoutCancel(ctx))
	}
	r.api, err = NewFakeAPI(botToken)
	if err != nil {
		return err
	}
	defer r.api.Close()
	switch o.Channel {
	case "", Telegram:
		r.channels = []string{Telegram}
	case Zalo:
		r.channels = []string{Zalo}
	case Both:
		r.channels = []string{Telegram, Zalo}
	default:
		return &UsageError{Err: fmt.Errorf("channel %q: use %s, %s or %s", o.Channel, Telegram, Zalo, Both)}
	}
	if slices.Contains(r.channels, Zalo) {
		if r.zalo, err = NewFakeZalo(); err != nil {
			return err
		}
		defer r.zalo.Close()
	}
	r.tz = daytimeZone(time.Now())
	r.nextTG.Store(100_000_000)

	r.header(o.Version)
	if err := r.seedHamlets(ctx, o.Hamlets); err != nil {
		return err
	}
	type phase struct {
		name string
		run  func() error
	}
	for _, p := range []phase{
		{"memory", func() error { return r.memory(ctx, o.MemoryResidents) }},
		{"throughput", func() error { return r.throughput(ctx, o.Residents, o.Warmup, o.Duration) }},
		{"latency", func() error { return r.latency(ctx, o.LatencyResidents, o.LatencyRate, o.Warmup, o.Duration) }},
		{"report", func() error { return r.report(ctx, o.ReportResidents) }},
		{"reminders", func() error { return r.reminders(ctx, o.Reminders, o.BulkLimit) }},
		{"chaos", func() error { return r.chaos(ctx, o.Chaos) }},
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

// Phases are the parts of a run, in the order they run.
var Phases = []string{"memory", "throughput", "latency", "report", "reminders", "chaos"}

// DefaultPhases are the phases run unless others are named: all but chaos,
// which starts a Sentinel setup of its own (redis-server even with
// REDIS_URL given) and measures faults, not speed.
var DefaultPhases = Phases[:5]

// botToken is the token the bots are started with; the fake accepts it.
const botToken = "7000000002:AAHangXomSoLoadTestToken_0123456789abc"

// runner is one run (Run): a Redis, the fake Bot API, and the
// bot processes it starts.
type runner struct {
	out    io.Writer
	bin    string
	redis  string // REDIS_URL for the bot
	client redis.UniversalClient
	prefix string // KEY_PREFIX of the run; the keys are deleted at the end
	// memPrefix is the memory phase's KEY_PREFIX: "hx", as long as the
	// default one, when the run has a redis-server of its own (key names
	// are part of what a resident costs), else the run's own prefix + "m".
	memPrefix string
	ownRedis  bool // the run started its redis-server (no REDIS_URL)
	keep      bool // Options.Keep
	api       *FakeAPI
	zalo      *FakeZalo // nil unless a run is on Zalo
	// channels are the throughput and latency runs' channels, in order.
	channels []string
	// seeded are the prefixes of channelPrefix with the hamlets seeded.
	seeded  map[string]bool
	hc      *http.Client
	hamlets []string
	areas   []flows.Area // the hamlets and their communes, as seeded
	nextTG  atomic.Int64 // chat ids handed out
	tz      string
	misses  []string
	// chatRate is SEND_RATE_CHAT for the throughput and latency runs.
	chatRate string
	pprof    string // PPROF_LISTEN for the bots, if any
	// openReport opens the coordinator's report (Options.OpenReport).
	openReport func(ctx context.Context, s ReportStore) (Report, error)
}

func (r *runner) header(version string) {
	host, _ := os.Hostname()
	model := cpuModel()
	fmt.Fprintf(r.out, "hangxom loadtest %s — %s, %d CPUs (%s), %s/%s, Redis %s, bot %s\n",
		version, time.Now().UTC().Format(time.RFC3339), runtime.NumCPU(), model, runtime.GOOS, runtime.GOARCH,
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

func (r *runner) miss(goal string) { r.misses = append(r.misses, goal) }

func (r *runner) verdict(ok bool, goal string) string {
	if ok {
		return "met"
	}
	r.miss(goal)
	return "MISSED"
}

func (r *runner) store(prefix string) *store.Redis {
	return store.New(r.client, store.Options{Prefix: prefix + ":v1", DataKey: []byte(dataKey)})
}

const dataKey = "loadtest-data-key-0123456789"

// seedHamlets writes communes of 100 hamlets through the store, as
// `hangxom areas import` would.
func (r *runner) seedHamlets(ctx context.Context, n int) error {
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
func (r *runner) cleanup(ctx context.Context) {
	// r.prefix + "r*": the report phase's prefixes, one per count
	// r.prefix + "z", + "zb": the runs on Zalo, and on both at once
	for _, p := range []string{r.prefix, r.prefix + "r*", r.memPrefix, r.prefix + "n", r.prefix + "z", r.prefix + "zb"} {
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

// newResidents hands out n residents with fresh chat ids, spread over the
// seeded hamlets.
func (r *runner) newResidents(n int) []*Resident {
	out := make([]*Resident, n)
	for i := range out {
		chat := r.nextTG.Add(1)
		out[i] = &Resident{Chat: chat, Hamlet: r.hamlets[int(chat)%len(r.hamlets)]}
	}
	return out
}
