package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// setting is one configuration value: an environment variable with a
// matching flag; the flag wins.
type setting struct {
	env, flag, def, help string
	secret               bool
}

// settings is the configuration table, in README order.
var settings = []setting{
	{env: "REDIS_URL", flag: "redis-url", help: "Redis server, redis://host:port/db or rediss:// for TLS"},
	{env: "REDIS_CLUSTER_ADDRS", flag: "redis-cluster-addrs", help: "Redis Cluster seed nodes, comma-separated host:port"},
	{env: "REDIS_SENTINEL_ADDRS", flag: "redis-sentinel-addrs", help: "Redis Sentinel nodes, comma-separated host:port (with REDIS_MASTER_NAME)"},
	{env: "REDIS_MASTER_NAME", flag: "redis-master-name", help: "the master name Sentinel watches"},
	{env: "REDIS_PASSWORD", flag: "redis-password", help: "Redis password (overrides one in REDIS_URL)", secret: true},
	{env: "REDIS_WAIT_REPLICAS", flag: "redis-wait-replicas", def: "0", help: "replicas a commit waits for (Redis WAIT) before the update is acknowledged: narrows what a failover can lose; 0 waits for none"},
	{env: "REDIS_WAIT_TIMEOUT", flag: "redis-wait-timeout", def: "250ms", help: "the longest a commit waits for REDIS_WAIT_REPLICAS; a commit short of them is kept all the same"},
	{env: "KEY_PREFIX", flag: "key-prefix", def: "hx", help: "first part of every Redis key, so several deployments can share one Redis"},
	{env: "STORE", flag: "store", help: "\"memory\" for the embedded in-process store (data lost at exit)"},
	{env: "DATA_KEY", flag: "data-key", help: "secret key for the residents' pseudonyms in counts and logs (at least 16 characters)", secret: true},
	{env: "WAIT_EXPIRY", flag: "wait-expiry", def: "72h", help: "unanswered this long, a flow counts as stalled"},
	{env: "SESSION_EXPIRY", flag: "session-expiry", def: "720h", help: "unanswered this long, a flow's position is dropped (abandoned)"},
	{env: "RETENTION", flag: "retention", def: "365d", help: "a resident silent this long is forgotten as by /forget (anonymous counts kept)"},
	{env: "BOT_TZ", flag: "bot-tz", def: "Asia/Ho_Chi_Minh", help: "time zone for dates and monthly counts"},
	{env: "LOG_LEVEL", flag: "log-level", def: "info", help: "debug, info, warn or error"},
	{env: "TELEGRAM_BOT_TOKEN", flag: "telegram-bot-token", help: "the bot's token from BotFather (serve)", secret: true},
	{env: "TELEGRAM_API_URL", flag: "telegram-api-url", def: "https://api.telegram.org", help: "Bot API base URL: <base>/bot<token>/<method>, files at <base>/file/bot<token>/<path>"},
	{env: "TELEGRAM_BOT_USERNAME", flag: "telegram-bot-username", help: "the bot's username for t.me links when no token is configured (else from getMe)"},
	{env: "WEBHOOK_URL", flag: "webhook-url", help: "set: webhook mode at this public https URL; unset: long polling (serve)"},
	{env: "WEBHOOK_SECRET", flag: "webhook-secret", help: "secret Telegram sends with every webhook call, 1–256 of A-Z a-z 0-9 _ - (required in webhook mode)", secret: true},
	{env: "HTTP_LISTEN", flag: "http-listen", def: ":8080", help: "address of the HTTP server: the webhook, /healthz and the dashboard (serve)"},
	{env: "DASHBOARD_URL", flag: "dashboard-url", help: "public base URL of the team's web dashboard, such as https://bot.example.org/bang/ (behind the webhook's TLS proxy; http only on a loopback host); set, serve mounts it on HTTP_LISTEN and /dashboard sends one-time links to it"},
	{env: "METRICS_LISTEN", flag: "metrics-listen", def: "127.0.0.1:9090", help: "address serving /metrics in the Prometheus format (serve); loopback by default, a port already taken is logged and skipped"},
	{env: "PPROF_LISTEN", flag: "pprof-listen", help: "if set, a loopback address (127.0.0.1:6060) serving Go's profiler at /debug/pprof/ (serve); never a public one"},
	{env: "COORDINATOR_IDS", flag: "coordinator-ids", help: "province-wide coordinators, comma-separated: tg:123 or a bare Telegram id"},
	{env: "PRIVATE_FLOWS", flag: "private-flows", def: "party-handbook", help: "flows whose residents only coordinators and party-cell secretaries see by name, comma-separated"},
	{env: "SEND_RATE_BULK", flag: "send-rate-bulk", def: "25", help: "messages per second for bulk sends (reminders), all replicas together; with Zalo at most 66 (the OA's app may make 4,000 requests a minute, and replies share them)"},
	{env: "SEND_RATE_CHAT", flag: "send-rate-chat", def: "1,3", help: "per-chat pacing: messages per second, and the burst allowed (rate,burst)"},
	{env: "ZALO_APP_ID", flag: "zalo-app-id", help: "the Zalo app's id; set, the Zalo OA channel is configured (with ZALO_APP_SECRET)"},
	{env: "ZALO_APP_SECRET", flag: "zalo-app-secret", help: "the Zalo app's secret key, sent when the OA's tokens are exchanged and refreshed", secret: true},
	{env: "ZALO_OA_SECRET_KEY", flag: "zalo-oa-secret-key", help: "the OA secret key of the app's webhook settings, which signs Zalo's webhook calls (serve)", secret: true},
	{env: "ZALO_OA_ID", flag: "zalo-oa-id", help: "the Official Account's id (zalo.me/<id>); if set, zalo connect refuses a link to another OA"},
	{env: "ZALO_WEBHOOK_URL", flag: "zalo-webhook-url", help: "the public https URL Zalo posts the OA's events to, as entered in the app's webhook settings (serve)"},
	{env: "ZALO_REDIRECT_URI", flag: "zalo-redirect-uri", help: "where Zalo sends the OA's admin after granting access (zalo connect), on the app's verified domain; default ZALO_WEBHOOK_URL's origin + /zalo/linked: that domain is already verified for the webhook, and the admin pastes the code from the address bar, so nothing need answer there"},
	{env: "ZALO_BILLED_MESSAGES", flag: "zalo-billed-messages", def: "no", help: "yes: reminders may reach Zalo residents who last wrote 48 h to 7 days ago, which Zalo bills the OA for; no: only within 48 h (free)"},
	{env: "ZALO_API_URL", flag: "zalo-api-url", def: "https://openapi.zalo.me", help: "Zalo OA API base URL"},
	{env: "ZALO_OAUTH_URL", flag: "zalo-oauth-url", def: "https://oauth.zaloapp.com", help: "Zalo OAuth v4 server: the permission page and /v4/oa/access_token"},
}

// zaloMaxBulkRate bounds SEND_RATE_BULK with Zalo: the app may make 4,000
// requests a minute (66.7 a second, error -32 above), and the residents'
// replies need some of them.
const zaloMaxBulkRate = 66

// zaloLinkedPath is the path of ZALO_REDIRECT_URI's default, on
// ZALO_WEBHOOK_URL's origin.
const zaloLinkedPath = "/zalo/linked"

var (
	keyPrefixPattern   = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)
	usernamePattern    = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{3,31}$`)
	secretPattern      = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)
	coordinatorPattern = regexp.MustCompile(`^[a-z]+:[A-Za-z0-9_.-]{1,64}$`)
)

// config is the parsed configuration.
type config struct {
	RedisURL      string
	ClusterAddrs  []string
	SentinelAddrs []string
	MasterName    string
	RedisPassword string
	Memory        bool
	DataKey       string
	WaitExpiry    time.Duration
	// WaitReplicas and WaitTimeout: REDIS_WAIT_REPLICAS, REDIS_WAIT_TIMEOUT.
	WaitReplicas   int
	WaitTimeout    time.Duration
	SessionExpiry  time.Duration
	Retention      time.Duration
	TZ             *time.Location
	TZName         string
	LogLevel       string
	KeyPrefix      string
	explicitMemory bool

	TelegramToken    string
	TelegramAPIURL   string
	TelegramUsername string
	WebhookURL       string
	WebhookSecret    string
	HTTPListen       string
	// DashboardURL is DASHBOARD_URL, parsed, its path ending in "/"; nil
	// when unset.
	DashboardURL  *url.URL
	PprofListen   string
	MetricsListen string
	Coordinators  []string
	PrivateFlows  []string
	BulkRate      float64
	ChatRate      float64
	ChatBurst     int

	// Zalo OA channel; configured when ZaloAppID is set (see Zalo).
	ZaloAppID       string
	ZaloAppSecret   string
	ZaloOASecretKey string
	ZaloOAID        string
	ZaloWebhookURL  string
	// ZaloRedirectURI is ZALO_REDIRECT_URI, or its default from
	// ZaloWebhookURL; "" when neither is set.
	ZaloRedirectURI string
	// ZaloBilled is ZALO_BILLED_MESSAGES: reminders in the billed part of
	// Zalo's window (48 h to 7 days after a resident's last message).
	ZaloBilled   bool
	ZaloAPIURL   string
	ZaloOAuthURL string
}

// Zalo reports whether the Zalo OA channel is configured (ZALO_APP_ID).
func (c config) Zalo() bool { return c.ZaloAppID != "" }

// usageError is a bad command line or setting: one line, exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{msg: fmt.Sprintf(format, a...)} }

// addSettings registers the configuration flags on fs and returns a function
// that resolves them against the environment once fs is parsed.
func addSettings(fs *flag.FlagSet, getenv func(string) string) func() (config, error) {
	vals := make(map[string]*string, len(settings))
	for _, s := range settings {
		vals[s.env] = fs.String(s.flag, "", fmt.Sprintf("%s (env %s%s)", s.help, s.env, defText(s.def)))
	}
	return func() (config, error) {
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		get := func(s setting) string {
			if set[s.flag] {
				return strings.TrimSpace(*vals[s.env])
			}
			if v := strings.TrimSpace(getenv(s.env)); v != "" {
				return v
			}
			return s.def
		}
		raw := map[string]string{}
		for _, s := range settings {
			raw[s.env] = get(s)
		}
		return parseConfig(raw)
	}
}

func defText(def string) string {
	if def == "" {
		return ""
	}
	return ", default " + def
}

func parseConfig(raw map[string]string) (config, error) {
	var c config
	c.RedisURL = raw["REDIS_URL"]
	c.ClusterAddrs = splitList(raw["REDIS_CLUSTER_ADDRS"])
	c.SentinelAddrs = splitList(raw["REDIS_SENTINEL_ADDRS"])
	c.MasterName = raw["REDIS_MASTER_NAME"]
	c.RedisPassword = raw["REDIS_PASSWORD"]
	var err error
	c.WaitReplicas, err = strconv.Atoi(strings.TrimSpace(raw["REDIS_WAIT_REPLICAS"]))
	if err != nil || c.WaitReplicas < 0 || c.WaitReplicas > 16 {
		return c, usagef("REDIS_WAIT_REPLICAS: %q: give how many replicas a commit waits for, 0 to 16", raw["REDIS_WAIT_REPLICAS"])
	}
	c.WaitTimeout, err = time.ParseDuration(strings.TrimSpace(raw["REDIS_WAIT_TIMEOUT"]))
	// Under the client's 3 s read timeout, with room for the write itself:
	// a longer WAIT would read as a lost answer.
	if err != nil || c.WaitTimeout < time.Millisecond || c.WaitTimeout > 2*time.Second {
		return c, usagef("REDIS_WAIT_TIMEOUT: %q: give a duration from 1ms to 2s, such as 250ms", raw["REDIS_WAIT_TIMEOUT"])
	}
	c.DataKey = raw["DATA_KEY"]
	c.LogLevel = strings.ToLower(raw["LOG_LEVEL"])
	c.KeyPrefix = raw["KEY_PREFIX"]
	c.TelegramToken = raw["TELEGRAM_BOT_TOKEN"]
	c.TelegramAPIURL = strings.TrimRight(raw["TELEGRAM_API_URL"], "/")
	c.TelegramUsername = strings.TrimPrefix(raw["TELEGRAM_BOT_USERNAME"], "@")
	c.WebhookURL = raw["WEBHOOK_URL"]
	c.WebhookSecret = raw["WEBHOOK_SECRET"]
	c.HTTPListen = raw["HTTP_LISTEN"]
	c.PprofListen = raw["PPROF_LISTEN"]
	c.MetricsListen = raw["METRICS_LISTEN"]
	if _, _, err := net.SplitHostPort(c.MetricsListen); err != nil {
		return c, usagef("METRICS_LISTEN: %q: give host:port, such as 127.0.0.1:9090", c.MetricsListen)
	}
	if c.PprofListen != "" {
		host, _, err := net.SplitHostPort(c.PprofListen)
		if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
			return c, usagef("PPROF_LISTEN: %q: give a loopback address such as 127.0.0.1:6060 (the profiler must not be public)", c.PprofListen)
		}
	}
	if u, err := url.Parse(c.TelegramAPIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c, usagef("TELEGRAM_API_URL: %q is not an http(s) URL", c.TelegramAPIURL)
	}
	if c.TelegramUsername != "" && !usernamePattern.MatchString(c.TelegramUsername) {
		return c, usagef("TELEGRAM_BOT_USERNAME: %q is not a Telegram username", c.TelegramUsername)
	}
	if c.WebhookURL != "" {
		u, err := url.Parse(c.WebhookURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return c, usagef("WEBHOOK_URL: %q is not an absolute URL", c.WebhookURL)
		}
	}
	if raw["DASHBOARD_URL"] != "" {
		u, err := dashboardURL(raw["DASHBOARD_URL"])
		if err != nil {
			return c, err
		}
		c.DashboardURL = u
	}
	if c.WebhookSecret != "" && !secretPattern.MatchString(c.WebhookSecret) {
		return c, usagef("WEBHOOK_SECRET: use 1–256 characters of A-Z a-z 0-9 _ -")
	}
	for _, id := range splitList(raw["COORDINATOR_IDS"]) {
		if _, err := strconv.ParseInt(id, 10, 64); err == nil {
			id = "tg:" + id
		}
		if !coordinatorPattern.MatchString(id) {
			return c, usagef("COORDINATOR_IDS: %q: use tg:123 or a bare Telegram id", id)
		}
		c.Coordinators = append(c.Coordinators, id)
	}
	c.PrivateFlows = splitList(raw["PRIVATE_FLOWS"])
	if c.PrivateFlows == nil {
		c.PrivateFlows = []string{} // none private: everyone's names are shown
	}
	if c.BulkRate, err = strconv.ParseFloat(raw["SEND_RATE_BULK"], 64); err != nil || !(c.BulkRate > 0 && c.BulkRate <= 1000) { // NaN fails too
		return c, usagef("SEND_RATE_BULK: %q: a number of messages per second, above 0", raw["SEND_RATE_BULK"])
	}
	rate, burst, _ := strings.Cut(raw["SEND_RATE_CHAT"], ",")
	if burst == "" {
		burst = "1"
	}
	c.ChatRate, err = strconv.ParseFloat(strings.TrimSpace(rate), 64)
	if err == nil {
		c.ChatBurst, err = strconv.Atoi(strings.TrimSpace(burst))
	}
	if err != nil || !(c.ChatRate > 0 && c.ChatRate <= 1000) || c.ChatBurst < 1 { // NaN and Inf fail too
		return c, usagef("SEND_RATE_CHAT: %q: use rate,burst such as 1,3", raw["SEND_RATE_CHAT"])
	}
	if err := parseZalo(&c, raw); err != nil {
		return c, err
	}
	if !keyPrefixPattern.MatchString(c.KeyPrefix) {
		return c, usagef("KEY_PREFIX: %q: use 1–32 letters, digits, '-' or '_'", c.KeyPrefix)
	}

	switch strings.ToLower(raw["STORE"]) {
	case "":
	case "memory":
		c.explicitMemory = true
	default:
		return c, usagef("STORE: %q is not a store; the only value is \"memory\"", raw["STORE"])
	}
	var chosen []string
	if c.RedisURL != "" {
		chosen = append(chosen, "REDIS_URL")
	}
	if len(c.ClusterAddrs) > 0 {
		chosen = append(chosen, "REDIS_CLUSTER_ADDRS")
	}
	if len(c.SentinelAddrs) > 0 {
		chosen = append(chosen, "REDIS_SENTINEL_ADDRS")
	}
	if c.explicitMemory {
		chosen = append(chosen, "STORE=memory")
	}
	if len(chosen) > 1 {
		return c, usagef("%s: choose one store, not %d", strings.Join(chosen, " and "), len(chosen))
	}
	if len(c.SentinelAddrs) > 0 && c.MasterName == "" {
		return c, usagef("REDIS_SENTINEL_ADDRS: needs REDIS_MASTER_NAME")
	}
	if c.MasterName != "" && len(c.SentinelAddrs) == 0 {
		return c, usagef("REDIS_MASTER_NAME: needs REDIS_SENTINEL_ADDRS")
	}
	if c.RedisURL != "" && !strings.HasPrefix(c.RedisURL, "redis://") && !strings.HasPrefix(c.RedisURL, "rediss://") {
		return c, usagef("REDIS_URL: must start with redis:// or rediss://")
	}
	for _, a := range append(append([]string{}, c.ClusterAddrs...), c.SentinelAddrs...) {
		if _, port, ok := strings.Cut(a, ":"); !ok || port == "" {
			return c, usagef("Redis address %q: want host:port", a)
		}
	}
	c.Memory = len(chosen) == 0 || c.explicitMemory
	if c.DataKey != "" && len(c.DataKey) < 16 {
		return c, usagef("DATA_KEY: too short; use at least 16 characters")
	}
	if c.WaitExpiry, err = parseDuration(raw["WAIT_EXPIRY"]); err != nil {
		return c, usagef("WAIT_EXPIRY: %v", err)
	}
	if c.SessionExpiry, err = parseDuration(raw["SESSION_EXPIRY"]); err != nil {
		return c, usagef("SESSION_EXPIRY: %v", err)
	}
	if c.SessionExpiry <= c.WaitExpiry {
		return c, usagef("SESSION_EXPIRY: must be longer than WAIT_EXPIRY (%s)", c.WaitExpiry)
	}
	if c.Retention, err = parseDuration(raw["RETENTION"]); err != nil {
		return c, usagef("RETENTION: %v", err)
	}
	if c.Retention < 2*24*time.Hour {
		// The first screen tells residents the period in whole days.
		return c, usagef("RETENTION: must be at least 2 days")
	}
	if c.Retention <= c.SessionExpiry {
		return c, usagef("RETENTION: must be longer than SESSION_EXPIRY (%s)", c.SessionExpiry)
	}
	c.TZName = raw["BOT_TZ"]
	if c.TZ, err = time.LoadLocation(c.TZName); err != nil {
		return c, usagef("BOT_TZ: unknown time zone %q", c.TZName)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return c, usagef("LOG_LEVEL: %q is not one of debug, info, warn, error", c.LogLevel)
	}
	if err := checkDashboardPath(c); err != nil {
		return c, err
	}
	return c, nil
}

// checkDashboardPath refuses a webhook or a redirect served under the
// dashboard's path on HTTP_LISTEN: its requests (Telegram's updates, Zalo's
// events) would meet the dashboard's routes, or serve would not start.
func checkDashboardPath(c config) error {
	if c.DashboardURL == nil {
		return nil
	}
	for _, s := range []struct{ env, v string }{{"WEBHOOK_URL", c.WebhookURL}, {"ZALO_WEBHOOK_URL", c.ZaloWebhookURL},
		{"ZALO_REDIRECT_URI", c.ZaloRedirectURI}} {
		if s.v == "" {
			continue
		}
		u, err := url.Parse(s.v)
		if err != nil {
			continue // reported where it is parsed
		}
		if p := path.Clean("/" + u.Path); strings.HasPrefix(p+"/", c.DashboardURL.Path) {
			return usagef("DASHBOARD_URL: its path %s also holds %s (%s): give the dashboard a path of its own", c.DashboardURL.Path, s.env, p)
		}
	}
	return nil
}

// parseZalo reads the ZALO_* settings. The app's id and secret go together;
// the other settings mean nothing without them. Zalo wants its webhook on
// https (a domain, not host:port); http is allowed only on a loopback host,
// for a local proxy or a test.
func parseZalo(c *config, raw map[string]string) error {
	c.ZaloAppID = raw["ZALO_APP_ID"]
	c.ZaloAppSecret = raw["ZALO_APP_SECRET"]
	c.ZaloOASecretKey = raw["ZALO_OA_SECRET_KEY"]
	c.ZaloOAID = raw["ZALO_OA_ID"]
	c.ZaloWebhookURL = raw["ZALO_WEBHOOK_URL"]
	c.ZaloRedirectURI = raw["ZALO_REDIRECT_URI"]
	c.ZaloAPIURL = strings.TrimRight(raw["ZALO_API_URL"], "/")
	c.ZaloOAuthURL = strings.TrimRight(raw["ZALO_OAUTH_URL"], "/")
	switch strings.ToLower(raw["ZALO_BILLED_MESSAGES"]) {
	case "yes":
		c.ZaloBilled = true
	case "no", "":
	default:
		return usagef("ZALO_BILLED_MESSAGES: %q: yes or no", raw["ZALO_BILLED_MESSAGES"])
	}
	for _, s := range []struct{ env, v string }{{"ZALO_API_URL", c.ZaloAPIURL}, {"ZALO_OAUTH_URL", c.ZaloOAuthURL}} {
		if _, err := httpURL(s.v, false); err != nil {
			return usagef("%s: %q %v", s.env, s.v, err)
		}
	}
	for _, s := range []struct{ env, v string }{{"ZALO_WEBHOOK_URL", c.ZaloWebhookURL}, {"ZALO_REDIRECT_URI", c.ZaloRedirectURI}} {
		if s.v == "" {
			continue
		}
		if _, err := httpURL(s.v, true); err != nil {
			return usagef("%s: %q %v", s.env, s.v, err)
		}
	}
	if c.ZaloAppID == "" {
		for _, env := range []string{"ZALO_APP_SECRET", "ZALO_OA_SECRET_KEY", "ZALO_OA_ID", "ZALO_WEBHOOK_URL", "ZALO_REDIRECT_URI"} {
			if raw[env] != "" {
				return usagef("ZALO_APP_ID: required with %s (the Zalo channel is configured by the app's id)", env)
			}
		}
		return nil
	}
	if c.ZaloAppSecret == "" {
		return usagef("ZALO_APP_SECRET: required with ZALO_APP_ID (the app's secret key)")
	}
	if c.BulkRate > zaloMaxBulkRate {
		return usagef("SEND_RATE_BULK: %v: at most %d with Zalo (the OA's app may make 4,000 requests a minute)", c.BulkRate, zaloMaxBulkRate)
	}
	if c.ZaloRedirectURI == "" && c.ZaloWebhookURL != "" {
		u, _ := url.Parse(c.ZaloWebhookURL)
		c.ZaloRedirectURI = u.Scheme + "://" + u.Host + zaloLinkedPath
	}
	return nil
}

// httpURL parses an absolute http(s) URL; with public, http is allowed on a
// loopback host only.
func httpURL(s string, public bool) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("is not an absolute http(s) URL")
	}
	if public && u.Scheme == "http" {
		host := u.Hostname()
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return nil, errors.New("must be https (http only on a loopback host)")
		}
	}
	return u, nil
}

// parseDuration accepts Go durations ("168h", "90m") and whole days ("7d").
func parseDuration(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("%q is not a duration like 7d or 168h", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	v, err := time.ParseDuration(s)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("%q is not a duration like 7d or 168h", s)
	}
	return v, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// newFlagSet returns a flag set that reports errors as usage errors (one
// line, exit 2) rather than exiting, and prints its flags on -h.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {} // errors are one line; -h is handled in parseFlags
	return fs
}

// parseSettings parses args with fs and resolves the settings registered on it.
func parseSettings(fs *flag.FlagSet, args []string, resolve func() (config, error), stderr io.Writer) (config, error) {
	if err := parseFlags(fs, args, stderr); err != nil {
		return config{}, err
	}
	return resolve()
}

// parseFlags parses args, turning flag errors into usage errors.
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printHelp(fs, stderr)
			return err
		}
		return &usageError{msg: fs.Name() + ": " + err.Error()}
	}
	if fs.NArg() > 0 {
		return usagef("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return nil
}

// dashboardURL parses DASHBOARD_URL: an absolute https URL (http only on a
// loopback host, for trials), no query, user or fragment; its path gets a
// final "/".
func dashboardURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, usagef("DASHBOARD_URL: %q is not an absolute http(s) URL", raw)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, usagef("DASHBOARD_URL: %q: give a base URL without user, query or fragment", raw)
	}
	if u.Scheme == "http" {
		host := u.Hostname()
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return nil, usagef("DASHBOARD_URL: %q: use https (http only on a loopback host, for trials): the links and cookies are secrets", raw)
		}
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	u.RawPath = ""
	return u, nil
}
