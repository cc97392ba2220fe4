package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/hangxomso/hangxom/bot/telegram"
	"github.com/hangxomso/hangxom/delivery"
	"github.com/hangxomso/hangxom/qrcheck"
	"github.com/hangxomso/hangxom/store"
)

// shutdownGrace bounds the whole stop after SIGTERM: stop taking updates,
// finish the ones in hand, exit within 10 s.
const shutdownGrace = 9 * time.Second

// serveGCPercent is serve's collector target when GOGC is not set.
const serveGCPercent = 400

// setServeGC sets the collector's target to serveGCPercent unless GOGC is
// set in the environment. The bot's live heap is small (tens of MB: the
// caches of areas, renders and replies), so at Go's default of 100 it
// collects often: the collector was about a tenth of its CPU under load.
// 400 cut its CPU per update by 10–14% in hangxom loadtest, for some 50 MB
// more memory (RSS 56 → 104 MB at 1,700 updates/s). GOMEMLIMIT still
// bounds the heap as Go documents.
func setServeGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(serveGCPercent)
	}
}

// runServe runs the bot on Telegram (long polling, or a webhook when
// WEBHOOK_URL is set), on Zalo (the OA's webhook at ZALO_WEBHOOK_URL's
// path), or both, on one delivery core; plus /healthz on HTTP_LISTEN and
// /metrics on METRICS_LISTEN.
func runServe(ctx context.Context, e *environ, args []string) error {
	fs := newFlagSet("serve")
	cfg, err := e.settings(fs, args)
	if err != nil {
		return err
	}
	if cfg.TelegramToken == "" && !cfg.Zalo() {
		return usagef("TELEGRAM_BOT_TOKEN or ZALO_APP_ID: serve needs a channel (a Telegram bot from BotFather, a Zalo OA, or both)")
	}
	if cfg.Zalo() && (cfg.ZaloOASecretKey == "" || cfg.ZaloWebhookURL == "" || cfg.ZaloOAID == "") {
		return usagef("ZALO_OA_SECRET_KEY, ZALO_OA_ID and ZALO_WEBHOOK_URL: required by serve on Zalo (the webhook's key, the OA, and where Zalo posts)")
	}
	if cfg.WebhookURL != "" && cfg.WebhookSecret == "" {
		return usagef("WEBHOOK_SECRET: required in webhook mode (WEBHOOK_URL is set)")
	}
	if cfg.TelegramToken != "" && cfg.WebhookURL != "" && cfg.Zalo() && webhookPath(cfg.WebhookURL) == webhookPath(cfg.ZaloWebhookURL) {
		return usagef("ZALO_WEBHOOK_URL: its path must differ from WEBHOOK_URL's (both are served on HTTP_LISTEN)")
	}
	if cfg.DataKey == "" && !cfg.explicitMemory {
		return usagef("DATA_KEY: required by serve: residents' pseudonyms in the hamlet counts must use a secret key (16+ characters)")
	}
	if cfg.Memory && !cfg.explicitMemory && e.opts.client == nil {
		return usagef("serve needs Redis (REDIS_URL, REDIS_CLUSTER_ADDRS or REDIS_SENTINEL_ADDRS): residents' progress must survive a restart; set STORE=memory to run on the embedded store anyway")
	}
	setServeGC(e.getenv)
	routeRedisLog(cfg, e.stderr)
	a, err := openStore(ctx, cfg, e.opts, e.stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	logger := a.logger

	// The library logs through a package-level logger; make sure it can
	// never print the token.
	tgbotapi.SetLogger(redactingLogger{logger: logger, token: cfg.TelegramToken})

	hc := e.opts.httpClient
	if hc == nil {
		// Every call goes to one host (api.telegram.org): keep enough idle
		// connections for the sender's workers and the webhook handlers,
		// or each call past the default two opens a new TLS connection.
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConns, t.MaxIdleConnsPerHost = 128, 128
		hc = &http.Client{Timeout: 80 * time.Second, Transport: t}
	}
	// One delivery core for every channel; each brings its transport.
	sender := &delivery.Core{Store: a.store, Logger: logger, Clock: a.clock,
		Chat: delivery.Pace{Rate: cfg.ChatRate, Burst: cfg.ChatBurst}, BulkRate: cfg.BulkRate}
	var channels []string
	var client *telegram.Client
	username := ""
	if cfg.TelegramToken != "" {
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		client, err = telegram.NewClient(sctx, cfg.TelegramAPIURL, cfg.TelegramToken, hc)
		cancel()
		if err != nil {
			return fmt.Errorf("cannot reach Telegram at %s: %w", cfg.TelegramAPIURL, err)
		}
		username = client.Self().UserName
		logger.Info("telegram bot ready", "username", username, "mode", mode(cfg))
		if err := setCommands(ctx, client, a); err != nil {
			logger.Warn("set the command menus", "err", err)
		}
		sender.Transports = append(sender.Transports, &telegram.Transport{Client: client})
		channels = append(channels, "telegram")
	}
	var zl *zaloChannel
	if cfg.Zalo() {
		zl = newZaloChannel(cfg, a, hc, logger, sender.Notify)
		sender.Transports = append(sender.Transports, zl.transport)
		channels = append(channels, "zalo")
		logger.Info("zalo OA ready", "webhook", mustPath(cfg.ZaloWebhookURL))
	}
	sender.Metrics = delivery.NewMetrics(a.metrics, channels...)
	a.assemble(channel{username: username, notify: sender.Notify, notifyBulk: sender.NotifyBulk,
		download: func(ctx context.Context, ref string) ([]byte, error) {
			if zl != nil && strings.HasPrefix(ref, "https://") {
				return zl.download(ctx, ref) // a Zalo photo's URL
			}
			if client == nil {
				return nil, errors.New("no Telegram bot to download a file from")
			}
			return client.Download(ctx, ref, qrcheck.MaxPhotoBytes)
		}})
	var receiver *telegram.Receiver
	if client != nil {
		receiver = &telegram.Receiver{Service: a.service, Client: client, Sender: sender, Store: a.store,
			Loc: a.loc, Username: username, Logger: logger, Metrics: telegram.NewMetrics(a.metrics)}
	}

	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		hctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := a.client.Ping(hctx).Err(); err != nil {
			http.Error(w, "redis unavailable", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
		if zl != nil {
			// Said, not failed: a restart cannot link the OA again.
			fmt.Fprintln(w, zl.health(hctx))
		}
	})
	if receiver != nil && cfg.WebhookURL != "" {
		mux.Handle("POST "+webhookPath(cfg.WebhookURL), &telegram.Webhook{Receiver: receiver, Secret: cfg.WebhookSecret, Logger: logger})
	}
	if zl != nil {
		zl.webhook.Service, zl.webhook.Sender = a.service, sender
		mux.Handle("POST "+webhookPath(cfg.ZaloWebhookURL), zl.webhook)
	}
	dash, err := a.dashboardServer()
	if err != nil {
		return err
	}
	if dash != nil {
		// Under DASHBOARD_URL's path; /healthz and the webhooks' exact
		// patterns are more specific, so they keep their paths even
		// under it.
		mux.Handle(dash.Prefix(), dash.Handler())
		logger.Info("dashboard served", "path", dash.Prefix())
	}
	ln, err := net.Listen("tcp", cfg.HTTPListen)
	if err != nil {
		return &usageError{msg: fmt.Sprintf("HTTP_LISTEN: %v", err)}
	}
	srv := newHTTPServer(mux)

	if cfg.PprofListen != "" {
		pln, err := net.Listen("tcp", cfg.PprofListen)
		if err != nil {
			_ = ln.Close()
			return &usageError{msg: fmt.Sprintf("PPROF_LISTEN: %v", err)}
		}
		pm := http.NewServeMux()
		pm.HandleFunc("/debug/pprof/", pprof.Index)
		pm.HandleFunc("/debug/pprof/profile", pprof.Profile)
		pm.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		pm.HandleFunc("/debug/pprof/trace", pprof.Trace)
		psrv := &http.Server{Handler: pm, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = psrv.Serve(pln) }()
		defer psrv.Close()
		logger.Info("profiler listening", "addr", pln.Addr().String())
	}

	// /metrics has its own listener, loopback by default: it is no business
	// of the public webhook's. Replicas sharing a host cannot all have the
	// port: the one that misses it logs an error and serves residents on.
	var msrv *http.Server
	if mln, err := net.Listen("tcp", cfg.MetricsListen); err != nil {
		logger.Error("metrics not served: METRICS_LISTEN unusable (another replica on this host?); the bot runs on",
			"addr", cfg.MetricsListen, "err", err)
	} else {
		mm := http.NewServeMux()
		mm.Handle("/metrics", a.metrics.Handler())
		msrv = newHTTPServer(mm)
		if e.opts.metricsListening != nil {
			e.opts.metricsListening(mln.Addr().String())
		}
		go func() {
			if err := msrv.Serve(mln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				logger.Error("metrics server stopped", "err", err)
			}
		}()
		logger.Info("metrics listening", "addr", mln.Addr().String())
	}
	if e.opts.listening != nil {
		e.opts.listening(ln.Addr().String()) // after METRICS_LISTEN's, so a test knows both
	}

	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	var wg sync.WaitGroup
	errc := make(chan error, 4)
	run := func(name string, fn func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(); err != nil {
				errc <- fmt.Errorf("%s: %w", name, err)
				stop()
			}
		}()
	}
	run("http", func() error {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	run("sender", func() error { return sender.Run(runCtx) })
	run("sweep", func() error { a.sweepEvery(runCtx, cmp.Or(e.opts.sweepEvery, time.Minute)); return nil })
	switch {
	case client == nil:
	case cfg.WebhookURL != "":
		if err := client.SetWebhook(ctx, cfg.WebhookURL, cfg.WebhookSecret, telegram.AllowedUpdates(), 40); err != nil {
			stop()
			_ = srv.Close()
			if msrv != nil {
				_ = msrv.Close()
			}
			wg.Wait()
			return fmt.Errorf("set the webhook: %w", err)
		}
		logger.Info("webhook set", "path", mustPath(cfg.WebhookURL))
	default:
		poller := &telegram.Poller{Client: client, Receiver: receiver, Leases: leases(a.store), Logger: logger,
			Timeout: e.opts.pollTimeout, LeaseTTL: e.opts.leaseTTL,
			Healthy: func(ctx context.Context) error { return a.client.Ping(ctx).Err() }}
		run("poller", func() error { return poller.Run(runCtx) })
	}

	<-runCtx.Done()
	logger.Info("stopping")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	for _, hs := range []*http.Server{srv, msrv} {
		if hs == nil {
			continue
		}
		if err := hs.Shutdown(sctx); err != nil { // webhook calls in hand finish
			// The grace ran out with connections still open: cut them.
			_ = hs.Close()
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-sctx.Done():
		logger.Warn("stopped before every worker finished")
	}
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

// newHTTPServer serves h with every phase of a connection bounded, so that
// nobody can hold one open for free (a body never sent after the headers,
// an idle keep-alive): a body may take 30 s (1 MiB at most), a webhook
// handler runs up to 25 s (telegram.Webhook), an idle connection is closed
// after a minute.
func newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 40 * time.Second, IdleTimeout: 60 * time.Second}
}

func mode(cfg config) string {
	if cfg.WebhookURL != "" {
		return "webhook"
	}
	return "polling"
}

// webhookPath is the path a webhook URL is served at: its escaped path,
// "/" when it has none.
func webhookPath(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.EscapedPath() == "" {
		return "/"
	}
	return u.EscapedPath()
}

func mustPath(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Path
}

// commands are the bot's command menu, described in each language.
var commands = []string{"start", "menu", "checkqr", "back", "cancel", "help", "progress", "lang", "stop", "forget"}

// setCommands sets the command menu in Vietnamese, in English, and the
// default (Vietnamese) for everyone else.
func setCommands(ctx context.Context, client *telegram.Client, a *app) error {
	for _, lang := range []string{"vi", "en", ""} {
		l := lang
		if l == "" {
			l = "vi"
		}
		var cmds []telegram.BotCommand
		for _, c := range commands {
			d, err := a.loc.Localize(l, "common.cmd."+c, nil)
			if d == "" {
				return fmt.Errorf("command %s: %w", c, err)
			}
			cmds = append(cmds, telegram.BotCommand{Command: c, Description: d})
		}
		if err := client.SetCommands(ctx, lang, cmds); err != nil {
			return err
		}
	}
	return nil
}

// redactingLogger routes the library's log lines to slog at debug level,
// with the token removed.
type redactingLogger struct {
	logger *slog.Logger
	token  string
}

func (l redactingLogger) Println(v ...any) { l.out(fmt.Sprintln(v...)) }

func (l redactingLogger) Printf(format string, v ...any) { l.out(fmt.Sprintf(format, v...)) }

func (l redactingLogger) out(s string) {
	if l.token != "" {
		s = strings.ReplaceAll(s, l.token, "<token>")
	}
	l.logger.Debug("telegram library", "msg", strings.TrimSpace(s))
}

// leases hands the poller the store's leases. A lease not granted is a nil
// telegram.Lease, not an interface holding a nil *store.Lease.
func leases(st *store.Redis) telegram.LeasesFunc {
	return func(ctx context.Context, name string, ttl time.Duration) (telegram.Lease, bool, error) {
		l, ok, err := st.AcquireLease(ctx, name, ttl)
		if l == nil {
			return nil, ok, err
		}
		return l, ok, err
	}
}
