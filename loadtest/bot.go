package loadtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"time"
)

// bot is one `hangxom serve` process in webhook mode.
type bot struct {
	cmd     *exec.Cmd
	http    string // host:port of /healthz (HTTP_LISTEN)
	metrics string // host:port of /metrics (METRICS_LISTEN)
	log     *bytes.Buffer
	mu      *sync.Mutex
	stopped chan struct{}
	// lastMetrics are the chaos phase's counters, read before a kill.
	lastMetrics [2]float64
}

// The channels a run's residents can be on (Options.Channel).
const (
	Telegram = "telegram"
	Zalo     = "zalo"
	Both     = "both"
)

// zaloSettings are the ZALO_* settings, blanked for a bot on Telegram only
// (the environment's, if any, are not the fakes').
var zaloSettings = []string{"ZALO_APP_ID", "ZALO_APP_SECRET", "ZALO_OA_SECRET_KEY", "ZALO_OA_ID", "ZALO_WEBHOOK_URL", "ZALO_REDIRECT_URI"}

// startBot runs the bot binary in webhook mode against the fake Bot API
// and waits until it has set its webhook and answers /healthz.
func (r *runner) startBot(ctx context.Context, prefix string, extra ...string) (*bot, error) {
	return r.startBotOn(ctx, Telegram, prefix, extra...)
}

// startBotOn runs the bot on channel: Telegram against the fake Bot API,
// as startBot; Zalo alone against the fake OA API (FakeZalo), with the
// fake's token pair stored under prefix first, as `hangxom zalo connect`
// would, and its webhook given to the fake once /healthz answers; or Both.
func (r *runner) startBotOn(ctx context.Context, channel, prefix string, extra ...string) (*bot, error) {
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	mport, err := FreePort()
	if err != nil {
		return nil, err
	}
	maddr := "127.0.0.1:" + strconv.Itoa(mport)
	var secret [16]byte
	_, _ = rand.Read(secret[:])
	env := os.Environ()
	switch channel {
	case Telegram, Zalo, Both:
	default:
		return nil, fmt.Errorf("loadtest: no channel %q", channel)
	}
	if channel == Zalo {
		env = append(env, "TELEGRAM_BOT_TOKEN=", "WEBHOOK_URL=", "WEBHOOK_SECRET=")
	} else {
		env = append(env, "TELEGRAM_BOT_TOKEN="+botToken, "TELEGRAM_API_URL="+r.api.URL,
			"WEBHOOK_URL=http://"+addr+"/telegram", "WEBHOOK_SECRET="+hex.EncodeToString(secret[:]))
	}
	if channel == Telegram {
		for _, k := range zaloSettings {
			env = append(env, k+"=")
		}
	} else {
		z := r.zalo
		access, refresh, expires := z.Pair()
		if _, err := r.store(prefix).ReplaceZaloTokens(ctx, "", access, refresh, expires); err != nil {
			return nil, err
		}
		env = append(env, "ZALO_APP_ID="+z.AppID, "ZALO_APP_SECRET="+z.AppSecret, "ZALO_OA_SECRET_KEY="+z.OASecretKey,
			"ZALO_OA_ID="+z.OAID, "ZALO_WEBHOOK_URL=http://"+addr+"/zalo", "ZALO_REDIRECT_URI=",
			"ZALO_API_URL="+z.URL, "ZALO_OAUTH_URL="+z.URL)
	}
	env = append(env,
		"HTTP_LISTEN="+addr, "METRICS_LISTEN="+maddr, "REDIS_URL="+r.redis, "KEY_PREFIX="+prefix, "DATA_KEY="+dataKey,
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
		var ready bool
		if channel == Zalo {
			ready = b.healthy(ctx, r.hc)
		} else {
			url, _ := r.api.Webhook()
			ready = url == "http://"+addr+"/telegram" && b.healthy(ctx, r.hc)
		}
		if ready {
			// The round trips per update come from /metrics: a bot whose
			// metrics cannot be read would report none.
			if _, err := RoundTrips(ctx, r.hc, "http://"+maddr+"/metrics"); err != nil {
				b.kill()
				return nil, fmt.Errorf("the bot's /metrics: %w\n%s", err, b.output())
			}
			if channel != Telegram {
				r.zalo.SetWebhook("http://" + addr + "/zalo")
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

// fullLog is everything the bot wrote.
func (b *bot) fullLog() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.log.String()
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
	d, _ := ProcessCPU(b.cmd.Process.Pid)
	return d
}

func (b *bot) trips(ctx context.Context, hc *http.Client) map[string]int64 {
	m, _ := RoundTrips(ctx, hc, "http://"+b.metrics+"/metrics")
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
