package main

import (
	"context"
	"errors"
	"io"
	"os"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hangxomso/hangxom/loadtest"
)

// runLoadtest measures the bot under load: see usage and README.
func runLoadtest(ctx context.Context, e *environ, args []string) error {
	fs := newFlagSet("loadtest")
	phases := fs.String("phases", strings.Join(loadtest.DefaultPhases, ","), "which parts to run, comma-separated: "+strings.Join(loadtest.Phases, ", ")+" (chaos is not run unless named: it starts a Redis Sentinel setup of its own)")
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
	channel := fs.String("channel", loadtest.Telegram, "where the throughput and latency runs' residents are: telegram, zalo (a fake Zalo OA; Zalo users tapping its buttons' payloads through the signed webhook), or both (each run once per channel, telegram then zalo, the same size; the throughput run then once more with half the residents on each channel at once; the figures side by side); the other phases run on Telegram")
	keep := fs.Bool("keep", false, "leave the run's keys in Redis for inspection (prefix printed)")
	cpuProfile := fs.String("cpuprofile", "", "write this process's CPU profile (the residents, the fake, the report phase) to a file")
	pprofAt := fs.String("bot-pprof", "", "a loopback address for the bot's profiler (PPROF_LISTEN), to profile it under load")
	bin := fs.String("bot-bin", "", "the hangxom binary to run as the bot (default: this one)")
	chaos := fs.String("chaos", strings.Join(loadtest.DefaultChaos, ","), "the chaos phase's events, comma-separated, run in this order whatever the order given: failover (SENTINEL FAILOVER), kill-master (SIGKILL of the master, its AOF cut back --chaos-aof-loss, restarted at once), kill-bot (SIGKILL of one serve replica, restarted 1 s later), double-tap (no fault: each resident taps their next button twice at once)")
	chaosResidents := fs.Int("chaos-residents", 15, "residents of the chaos phase, each walking one guide to its end")
	chaosFirst := fs.Duration("chaos-first", 5*time.Second, "the chaos phase's first event, after the residents start")
	chaosGap := fs.Duration("chaos-gap", 6*time.Second, "time between the chaos phase's events")
	chaosThink := fs.Duration("chaos-think", time.Second, "how long a chaos resident reads a screen before tapping")
	chaosTapAgain := fs.Duration("chaos-tap-again", 5*time.Second, "a chaos resident taps again when nothing came within this")
	chaosDeadline := fs.Duration("chaos-deadline", 30*time.Second, "a chaos resident not at the guide's end this long after the last event is stuck")
	chaosAOFLoss := fs.Duration("chaos-aof-loss", time.Second, "kill-master: the killed master's AOF is cut back this much before its restart, as a power cut under appendfsync everysec would leave it (0: a bare SIGKILL, which loses nothing written)")
	chaosLogLevel := fs.String("chaos-log-level", "warn", "the chaos phase's bots' LOG_LEVEL (their logs are kept with --keep)")
	cfg, err := e.settings(fs, args)
	if err != nil {
		return err
	}
	var want []string
	for _, p := range strings.Split(*phases, ",") {
		p = strings.TrimSpace(p)
		if !slices.Contains(loadtest.Phases, p) {
			return usagef("--phases: %q: use %s", p, strings.Join(loadtest.Phases, ", "))
		}
		want = append(want, p)
	}
	var events []string
	for _, ev := range strings.Split(*chaos, ",") {
		ev = strings.TrimSpace(ev)
		if !slices.Contains(loadtest.ChaosEvents, ev) {
			return usagef("--chaos: %q: use %s", ev, strings.Join(loadtest.ChaosEvents, ", "))
		}
	}
	for _, ev := range loadtest.ChaosEvents {
		if slices.Contains(strings.Split(strings.ReplaceAll(*chaos, " ", ""), ","), ev) {
			events = append(events, ev)
		}
	}
	if *chaosResidents < 1 || *chaosFirst < 0 || *chaosGap < 0 || *chaosThink < 0 || *chaosTapAgain <= 0 || *chaosDeadline <= 0 || *chaosAOFLoss < 0 {
		return usagef("loadtest: the chaos settings must be positive")
	}
	switch *channel {
	case loadtest.Telegram, loadtest.Zalo, loadtest.Both:
	default:
		return usagef("--channel: %q: use telegram, zalo or both", *channel)
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

	if e.getenv("GOGC") == "" {
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
	err = loadtest.Run(ctx, loadtest.Options{
		Phases: want, Residents: *residents, MemoryResidents: *memResidents, Hamlets: *hamlets,
		Warmup: *warmup, Duration: *duration, LatencyRate: *latencyRate, LatencyResidents: *latencyResidents,
		ReportResidents: counts, Reminders: *reminders, BulkLimit: *bulkLimit, ChatRate: *chatRate,
		Chaos: loadtest.ChaosOptions{Residents: *chaosResidents, Events: events, First: *chaosFirst, Gap: *chaosGap,
			Think: *chaosThink, TapAgain: *chaosTapAgain, Deadline: *chaosDeadline, AOFLoss: *chaosAOFLoss, LogLevel: *chaosLogLevel},
		Channel: *channel, Keep: *keep, BotPprof: *pprofAt, Bin: *bin, RedisURL: cfg.RedisURL, RedisPassword: cfg.RedisPassword,
		Version: buildVersion(),
		OpenReport: func(ctx context.Context, s loadtest.ReportStore) (loadtest.Report, error) {
			c := cfg
			c.KeyPrefix, c.DataKey, c.TZ = s.Prefix, s.DataKey, s.Location
			a, err := openApp(ctx, c, appOptions{client: s.Client}, io.Discard)
			if err != nil {
				return nil, err
			}
			return loadReport{a}, nil
		},
	}, e.stdout)
	var ue *loadtest.UsageError
	if errors.As(err, &ue) {
		return &usageError{msg: ue.Error()}
	}
	return err
}

// loadReport is the coordinator's report for the loadtest's report phase:
// the very code of `hangxom stats`, on the phase's keys.
type loadReport struct{ a *app }

func (r loadReport) FlowIDs() []string { return r.a.flowIDs() }

func (r loadReport) Sweep(ctx context.Context) error {
	_, err := r.a.sweep(ctx)
	return err
}

func (r loadReport) Rows(ctx context.Context, month string, now time.Time) (int, error) {
	rows, err := r.a.statsRows(ctx, []string{month}, now)
	return len(rows), err
}

func (r loadReport) Close() { r.a.Close() }
