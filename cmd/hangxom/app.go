package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hangxomso/hangxom/content"
	"github.com/hangxomso/hangxom/dashboard"
	"github.com/hangxomso/hangxom/dashboard/chart"
	"github.com/hangxomso/hangxom/desk"
	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/locales"
	"github.com/hangxomso/hangxom/metrics"
	"github.com/hangxomso/hangxom/qrcheck"
	"github.com/hangxomso/hangxom/store"
)

// devDataKey is the pseudonym key used when DATA_KEY is unset. It is public,
// so it only suits the embedded store and trials; the program says so.
const devDataKey = "hangxom-development-key-not-secret"

// app is everything a command needs, built in order and closed in reverse.
type app struct {
	cfg     config
	logger  *slog.Logger
	client  redis.UniversalClient
	store   *store.Redis
	library *flows.Library
	areas   *flows.AreaIndex // the areas at start, for one-shot commands
	live    *flows.LiveAreas // the areas the bot answers with, reloaded as they change
	targets []content.Target
	loc     *locales.Localizer
	engine  *flows.Engine
	service *flows.Service
	desk    *desk.Desk
	qr      *qrcheck.Checker
	channel channel // what assemble was given: the username of posters' links
	clock   flows.Clock
	closers []func()
	// trips counts Redis round trips by operation (/metrics); nil when a
	// test supplied the client.
	trips *store.RoundTrips
	// metrics is what serve shows at /metrics, the round trips included.
	metrics *metrics.Metrics
	turns   *metrics.Turns // flows.Service.Watch
	// charts is the chart renderer of /stats' pictures and the dashboard,
	// made at its first use: it parses the fonts, which a one-shot command
	// need not pay for.
	charts func() (*chart.Renderer, error)
}

// appOptions lets tests replace the clock, the key prefix and the Redis
// client (several runs of the program sharing one in-process server).
type appOptions struct {
	clock  flows.Clock
	prefix string
	client redis.UniversalClient
	// serve only:
	httpClient  *http.Client      // to reach the fake Bot API
	pollTimeout time.Duration     // shorter long polls in tests
	leaseTTL    time.Duration     // a shorter polling lease in tests
	sweepEvery  time.Duration     // the periodic loop (sweep, areas, escalation, reminders); default 1 min
	listening   func(addr string) // told the HTTP server's address
	// metricsListening is told the metrics server's address.
	metricsListening func(addr string)
}

func newLogger(cfg config, stderr io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(cfg.LogLevel))
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl}))
}

// channel is what the resident's channel gives the desk and the QR checker.
// The console and the one-shot commands have the zero value but for the
// username; serve fills it from Telegram before the desk is built.
type channel struct {
	username string               // the bot's username, for t.me links; "" shows codes alone
	download qrcheck.DownloadFunc // fetches a photo by file id; nil where there are none
	// notify and notifyBulk wake the sender for a resident's outbox; nil
	// where the channel drains it in the turn (the console).
	notify, notifyBulk func(resident string)
}

// zaloWindow is Zalo's window for consultation messages: they reach a user
// (resident ids "zl:<user id>", bot/zalo/ids.go) who interacted within 7
// days, free for the first 48 h and billed after.
func zaloWindow() desk.Window {
	return desk.Window{Prefix: "zl:", Free: 48 * time.Hour, Open: 7 * 24 * time.Hour}
}

// openApp is openStore and assemble for a command with no channel of its
// own: the console, stats, the imports.
func openApp(ctx context.Context, cfg config, opts appOptions, stderr io.Writer) (*app, error) {
	a, err := openStore(ctx, cfg, opts, stderr)
	if err != nil {
		return nil, err
	}
	a.assemble(channel{username: cfg.TelegramUsername})
	return a, nil
}

// openStore loads and checks the content, connects the store (or starts the
// embedded one), writes the area seed in, and reads the areas and targets.
func openStore(ctx context.Context, cfg config, opts appOptions, stderr io.Writer) (*app, error) {
	a := &app{cfg: cfg, logger: newLogger(cfg, stderr), clock: opts.clock, charts: sync.OnceValues(chart.New)}
	if a.clock == nil {
		a.clock = flows.ClockFunc(time.Now)
	}
	lib, areas, targets, err := content.Load(content.FS, locales.FS)
	if err != nil {
		return nil, fmt.Errorf("invalid content (run \"hangxom content check\"): %w", err)
	}
	a.library, a.targets = lib, targets
	for _, f := range cfg.PrivateFlows {
		if _, ok := lib.Flow(f); !ok {
			return nil, usagef("PRIVATE_FLOWS: no flow %q", f)
		}
	}
	bundle, err := locales.NewBundle(locales.FS)
	if err != nil {
		return nil, err
	}
	a.loc = locales.NewLocalizer(bundle)

	a.metrics = metrics.New()
	a.turns = metrics.NewTurns(a.metrics)
	switch {
	case opts.client != nil:
		a.client = opts.client
	case cfg.Memory:
		client, closeFn, err := store.OpenEmbedded()
		if err != nil {
			return nil, err
		}
		a.client = client
		a.closers = append(a.closers, closeFn)
		fmt.Fprintln(stderr, "hangxom: using the embedded in-memory store: data lives in memory only and is lost at exit (set REDIS_URL to keep it).")
	default:
		client, err := store.Connect(store.ConnectConfig{
			URL: cfg.RedisURL, ClusterAddrs: cfg.ClusterAddrs,
			SentinelAddrs: cfg.SentinelAddrs, MasterName: cfg.MasterName, Password: cfg.RedisPassword,
		})
		if err != nil {
			return nil, &usageError{msg: err.Error()}
		}
		a.client = client
		a.closers = append(a.closers, func() { _ = client.Close() })
		a.trips = &store.RoundTrips{Time: a.metrics.RedisTime()}
		client.AddHook(a.trips)
		a.metrics.Register(metrics.NewCounts("hangxom_redis_round_trips_total",
			"Redis round trips (a pipeline or a script is one), by operation.", "op", a.trips.ByOp))
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err = client.Ping(pctx).Err()
		cancel()
		if err != nil {
			a.Close()
			return nil, fmt.Errorf("cannot reach Redis (%s): %w", describeStore(cfg), err)
		}
	}
	key := cfg.DataKey
	if key == "" {
		key = devDataKey
		if !cfg.Memory {
			fmt.Fprintln(stderr, "hangxom: DATA_KEY is not set: residents' pseudonyms use a public development key; set DATA_KEY before real use.")
		}
	}
	prefix := opts.prefix
	if prefix == "" {
		// The schema version is part of every key, so a changed schema can
		// live beside the old data.
		prefix = cfg.KeyPrefix + ":v1"
	}
	a.store = store.New(a.client, store.Options{
		Prefix: prefix, DataKey: []byte(key), Location: cfg.TZ, Logger: a.logger, Clock: a.clock,
		WaitReplicas: cfg.WaitReplicas, WaitTimeout: cfg.WaitTimeout,
	})
	a.metrics.Register(metrics.NewCounterFunc("hangxom_redis_wait_short_total",
		"Commits fewer replicas than REDIS_WAIT_REPLICAS acknowledged within REDIS_WAIT_TIMEOUT (kept all the same).",
		a.store.ShortWaits))
	if _, err := a.store.SeedAreas(ctx, areas); err != nil {
		a.Close()
		return nil, err
	}
	if err := a.store.LoadScripts(ctx); err != nil {
		a.Close()
		return nil, err
	}
	stored, err := a.store.Areas(ctx)
	if err != nil {
		a.Close()
		return nil, err
	}
	a.areas = flows.NewAreaIndex(stored)
	a.live = flows.NewLiveAreas(stored)
	if err := a.useStoredTargets(ctx); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

// assemble builds the engine, the desk, the QR checkers and the service,
// each once and complete, with what ch gives.
func (a *app) assemble(ch channel) {
	cfg := a.cfg
	a.channel = ch
	a.engine = &flows.Engine{
		Library: a.library, Areas: a.live, Loc: a.loc,
		WaitExpiry: cfg.WaitExpiry, SessionExpiry: cfg.SessionExpiry, Location: cfg.TZ, Retention: cfg.Retention,
	}
	a.desk = &desk.Desk{Store: a.store, Areas: a.live, Loc: a.loc, Coordinators: cfg.Coordinators,
		BotUsername: ch.username, FollowUp: a.store, Library: a.library, WaitExpiry: cfg.WaitExpiry,
		Help: a.store, Reminders: a.store, Location: cfg.TZ, BulkRate: cfg.BulkRate, PrivateFlows: cfg.PrivateFlows,
		Windows: []desk.Window{zaloWindow()}, BilledMessages: cfg.ZaloBilled, KeptAlive: a.store,
		Notify: ch.notify, NotifyBulk: ch.notifyBulk, AddArea: a.addArea, Poster: a.renderPoster, Move: a.move, Payees: a.store, Requests: a.store,
		Stats: desk.Stats{Counts: a.store, TeamLog: a.store, Targets: content.StatsTargets(a.targets), Funnels: a.store, Views: a.store,
			Chart: a.statsChart},
		Dashboard: a.dashboardLinks(), Logger: a.logger}
	a.qr = qrcheck.New(a.loc, a.store, a.store, a.live, ch.download)
	a.service = &flows.Service{Engine: a.engine, Store: a.store, Clock: a.clock, Desk: a.desk, Logger: a.logger,
		Checkers: map[string]flows.Checker{flows.QRChecker: a.qr, flows.PayeeChecker: qrcheck.PayeeChecker{QR: a.qr}},
		// A resident's next turn on this process skips reading the
		// session: one round trip fewer (see flows.Service.Cache).
		Cache: &flows.SessionCache{}, Watch: a.turns}
}

// statsChart draws a /stats picture with the dashboard's renderer.
func (a *app) statsChart(c flows.BarChart) ([]byte, error) {
	r, err := a.charts()
	if err != nil {
		return nil, err
	}
	return dashboard.ChatChart(r)(c)
}

// addArea stores an area a coordinator adds (/addhamlet) and answers with
// it on this replica at once; others take it at their next reload.
func (a *app) addArea(ctx context.Context, x flows.Area) error {
	if err := a.store.PutArea(ctx, x); err != nil {
		return err
	}
	stored, err := a.store.Areas(ctx)
	if err != nil {
		return err
	}
	a.live.Set(stored)
	return nil
}

// move files a resident under a hamlet for the desk's /move, as a turn of
// the resident's own so that the session and the counts move together.
func (a *app) move(ctx context.Context, resident, hamlet, updateID string) error {
	_, err := a.service.Handle(ctx, resident, flows.Input{Kind: flows.InputMoved, Data: hamlet, UpdateID: updateID})
	return err
}

// sweep repairs effects left unapplied by a crash, expires old flows,
// counts the stalled residents for the reports and forgets the residents
// silent for RETENTION.
func (a *app) sweep(ctx context.Context) (store.SweepReport, error) {
	return a.store.Sweep(ctx, a.clock.Now(), store.SweepOptions{
		SessionExpiry: a.cfg.SessionExpiry, StalledAfter: a.cfg.WaitExpiry,
		Hamlets: a.hamletIDs(), Flows: a.flowIDs(),
		Retention: a.cfg.Retention, Retire: a.service.Retire,
	})
}

// sweepEvery runs the sweep until ctx is done.
func (a *app) sweepEvery(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := a.sweep(ctx); err != nil && ctx.Err() == nil {
				a.logger.Warn("sweep failed", "err", err)
			}
			// A coordinator's /addhamlet or an import on another replica.
			if stored, err := a.store.Areas(ctx); err == nil {
				a.live.Set(stored)
			} else if ctx.Err() == nil {
				a.logger.Warn("reload areas", "err", err)
			}
			if _, err := a.desk.Escalate(ctx, a.clock.Now()); err != nil && ctx.Err() == nil {
				a.logger.Warn("escalate help requests", "err", err)
			}
			if _, err := a.desk.RunReminders(ctx, a.clock.Now()); err != nil && ctx.Err() == nil {
				a.logger.Warn("send reminders", "err", err)
			}
			if _, err := a.desk.KeepAlive(ctx, a.clock.Now()); err != nil && ctx.Err() == nil {
				a.logger.Warn("keep team members' windows open", "err", err)
			}
		}
	}
}

func (a *app) hamletIDs() []string {
	var ids []string
	for _, x := range a.live.All() {
		if x.Level == flows.LevelHamlet {
			ids = append(ids, x.ID)
		}
	}
	return ids
}

func (a *app) flowIDs() []string {
	var ids []string
	for _, f := range a.library.Flows() {
		ids = append(ids, f.ID)
	}
	return ids
}

// Close releases what openApp acquired, in reverse order.
func (a *app) Close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
	a.closers = nil
}

// describeStore names the configured store without any secret.
func describeStore(cfg config) string {
	switch {
	case cfg.RedisURL != "":
		u := cfg.RedisURL
		if at := strings.LastIndex(u, "@"); at >= 0 {
			scheme, _, _ := strings.Cut(u, "://")
			u = scheme + "://…@" + u[at+1:]
		}
		return u
	case len(cfg.ClusterAddrs) > 0:
		return "cluster " + strings.Join(cfg.ClusterAddrs, ",")
	case len(cfg.SentinelAddrs) > 0:
		return "sentinel " + cfg.MasterName + "@" + strings.Join(cfg.SentinelAddrs, ",")
	}
	return "embedded"
}
