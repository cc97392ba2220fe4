package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hangxomso/hangxom/bot/zalo"
	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/store"
)

// zaloOAuth is Zalo's token endpoint for the end-to-end tests: a code is
// accepted once with the verifier of its challenge; refresh tokens are
// single-use.
type zaloOAuth struct {
	t   *testing.T
	srv *httptest.Server

	mu        sync.Mutex
	codes     map[string]string // code → challenge
	valid     map[string]bool   // refresh tokens not yet spent
	issued    []string
	refreshes int
	refused   int
	n         int
}

func newZaloOAuth(t *testing.T) *zaloOAuth {
	f := &zaloOAuth{t: t, codes: map[string]string{}, valid: map[string]bool{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *zaloOAuth) serve(w http.ResponseWriter, r *http.Request) {
	answer := func(v any) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	}
	if r.Method != http.MethodPost || r.URL.Path != "/v4/oa/access_token" || r.ParseForm() != nil ||
		r.Header.Get("secret_key") != "zalo-app-secret" || r.PostForm.Get("app_id") != "4321" {
		f.t.Errorf("bad token request: %s %s %v", r.Method, r.URL.Path, r.PostForm)
		answer(map[string]any{"error": -14002, "error_name": "Invalid app"})
		return
	}
	time.Sleep(20 * time.Millisecond) // room for concurrent refreshers to collide
	f.mu.Lock()
	defer f.mu.Unlock()
	switch r.PostForm.Get("grant_type") {
	case "authorization_code":
		c, ok := f.codes[r.PostForm.Get("code")]
		if !ok || c != zalo.Challenge(r.PostForm.Get("code_verifier")) {
			answer(map[string]any{"error": -14019, "error_name": "Invalid code"})
			return
		}
		delete(f.codes, r.PostForm.Get("code"))
	case "refresh_token":
		if !f.valid[r.PostForm.Get("refresh_token")] {
			f.refused++
			answer(map[string]any{"error": -14014, "error_name": "Invalid refresh token"})
			return
		}
		delete(f.valid, r.PostForm.Get("refresh_token"))
		f.refreshes++
	}
	f.n++
	access, refresh := fmt.Sprintf("zalo-access-%d", f.n), fmt.Sprintf("zalo-refresh-%d", f.n)
	f.valid[refresh] = true
	f.issued = append(f.issued, access, refresh)
	answer(map[string]any{"access_token": access, "refresh_token": refresh, "expires_in": "90000"})
}

func zaloEnv(f *zaloOAuth, kv ...string) func(string) string {
	return env(append([]string{"ZALO_APP_ID", "4321", "ZALO_APP_SECRET", "zalo-app-secret", "ZALO_OA_ID", "5791",
		"ZALO_WEBHOOK_URL", "https://bot.example.vn/zalo/webhook", "ZALO_OAUTH_URL", f.srv.URL}, kv...)...)
}

// connect runs `hangxom zalo connect` and answers its prompt with what
// answer makes of the permission address it printed.
func (p *program) zaloConnect(f *zaloOAuth, answer func(permission *url.URL) string) (string, error) {
	t := p.t
	t.Helper()
	inR, inW := io.Pipe()
	out := &syncBuffer{}
	var errb bytes.Buffer
	done := make(chan error, 1)
	go func() {
		done <- runWith(t.Context(), []string{"zalo", "connect"}, zaloEnv(f), inR, out, &errb,
			appOptions{clock: p.clock, client: p.client, prefix: "test", httpClient: f.srv.Client()})
	}()
	link := regexp.MustCompile(`http://\S+/v4/oa/permission\?\S+`)
	deadline := time.Now().Add(10 * time.Second)
	for link.FindString(out.String()) == "" {
		if time.Now().After(deadline) {
			t.Fatalf("no permission address printed:\n%s\n%s", out.String(), errb.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	u, err := url.Parse(link.FindString(out.String()))
	if err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = io.WriteString(inW, answer(u)+"\n") }()
	err = <-done
	_ = inW.Close()
	return out.String() + errb.String(), err
}

func (p *program) zaloPair() (access, refresh string, expires time.Time, disconnected string) {
	p.t.Helper()
	s := store.New(p.client, store.Options{Prefix: "test"})
	access, refresh, expires, disconnected, err := s.ZaloTokens(p.t.Context())
	if err != nil {
		p.t.Fatal(err)
	}
	return access, refresh, expires, disconnected
}

func TestZaloConnectLinksTheOA(t *testing.T) {
	p := newProgram(t)
	f := newZaloOAuth(t)
	out, err := p.zaloConnect(f, func(u *url.URL) string {
		q := u.Query()
		if q.Get("app_id") != "4321" || q.Get("redirect_uri") != "https://bot.example.vn/zalo/linked" || q.Get("code_challenge") == "" {
			t.Errorf("permission address %s", u)
		}
		f.mu.Lock()
		f.codes["the-code"] = q.Get("code_challenge")
		f.mu.Unlock()
		return "https://bot.example.vn/zalo/linked?code=the-code&oa_id=5791&state=" + q.Get("state")
	})
	if err != nil {
		t.Fatalf("zalo connect: %v\n%s", err, out)
	}
	if !strings.Contains(out, "Zalo OA linked (OA 5791); the access token is valid until ") {
		t.Errorf("output:\n%s", out)
	}
	access, refresh, expires, disc := p.zaloPair()
	if access != "zalo-access-1" || refresh != "zalo-refresh-1" || disc != "" || time.Until(expires) < 24*time.Hour {
		t.Errorf("stored %q %q %v %q", access, refresh, expires, disc)
	}
	if strings.Contains(out, "zalo-access-1") || strings.Contains(out, "zalo-refresh-1") || strings.Contains(out, "zalo-app-secret") {
		t.Errorf("a token or the secret was printed:\n%s", out)
	}

	// A second link overwrites the pair, even a disconnected one; the bare
	// code is accepted too.
	s := store.New(p.client, store.Options{Prefix: "test"})
	if ok, err := s.SetZaloDisconnected(t.Context(), "", "refused"); err != nil || !ok {
		t.Fatal(ok, err)
	}
	out, err = p.zaloConnect(f, func(u *url.URL) string {
		f.mu.Lock()
		f.codes["code-2"] = u.Query().Get("code_challenge")
		f.mu.Unlock()
		return "code-2"
	})
	if err != nil {
		t.Fatalf("second zalo connect: %v\n%s", err, out)
	}
	if access, _, _, disc := p.zaloPair(); access != "zalo-access-2" || disc != "" {
		t.Errorf("after relinking: %q %q", access, disc)
	}
}

func TestZaloConnectRefusesAStrangeAnswer(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		answer     func(u *url.URL) string
	}{
		{"another run's state", "another run", func(u *url.URL) string { return "https://bot.example.vn/zalo/linked?code=c&state=0000" }},
		{"another OA", "ZALO_OA_ID is 5791", func(u *url.URL) string {
			return "https://bot.example.vn/zalo/linked?code=c&oa_id=1111&state=" + u.Query().Get("state")
		}},
		{"an unknown code", "refused the code", func(u *url.URL) string { return "nope" }},
		{"no code", "no code=", func(u *url.URL) string { return "https://bot.example.vn/zalo/linked?oa_id=5791" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newProgram(t)
			f := newZaloOAuth(t)
			out, err := p.zaloConnect(f, tc.answer)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one saying %q\n%s", err, tc.want, out)
			}
			if access, _, _, _ := p.zaloPair(); access != "" {
				t.Errorf("a pair was stored: %q", access)
			}
		})
	}
}

func TestZaloSettings(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"secret without app id", []string{"stats"}, []string{"ZALO_APP_SECRET", "s"}, "ZALO_APP_ID"},
		{"webhook without app id", []string{"stats"}, []string{"ZALO_WEBHOOK_URL", "https://x.example/z"}, "ZALO_APP_ID"},
		{"app id without secret", []string{"stats"}, []string{"ZALO_APP_ID", "1"}, "ZALO_APP_SECRET"},
		{"webhook over http", []string{"stats"}, []string{"ZALO_APP_ID", "1", "ZALO_APP_SECRET", "s", "ZALO_WEBHOOK_URL", "http://bot.example.vn/z"}, "ZALO_WEBHOOK_URL"},
		{"redirect not a URL", []string{"stats"}, []string{"ZALO_APP_ID", "1", "ZALO_APP_SECRET", "s", "ZALO_REDIRECT_URI", "bot.example.vn/linked"}, "ZALO_REDIRECT_URI"},
		{"api url", []string{"stats", "--zalo-api-url", "ftp://x"}, nil, "ZALO_API_URL"},
		{"oauth url", []string{"stats"}, []string{"ZALO_OAUTH_URL", "oauth.zaloapp.com"}, "ZALO_OAUTH_URL"},
		{"connect without zalo", []string{"zalo", "connect"}, []string{"REDIS_URL", "redis://127.0.0.1:1"}, "ZALO_APP_ID"},
		{"connect without a redirect", []string{"zalo", "connect"}, []string{"REDIS_URL", "redis://127.0.0.1:1", "ZALO_APP_ID", "1", "ZALO_APP_SECRET", "s"}, "ZALO_REDIRECT_URI"},
		{"connect on the embedded store", []string{"zalo", "connect"}, []string{"STORE", "memory", "ZALO_APP_ID", "1", "ZALO_APP_SECRET", "s", "ZALO_WEBHOOK_URL", "https://x.example/z"}, "needs a Redis"},
		{"zalo without connect", []string{"zalo", "link"}, nil, "connect"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			err := run(t.Context(), tc.args, env(tc.env...), strings.NewReader(""), &out, &errb)
			if code := exitCode(err, &errb); code != 2 || !strings.Contains(errb.String(), tc.want) ||
				strings.Count(strings.TrimSpace(errb.String()), "\n") != 0 {
				t.Errorf("exit %d, want 2 and one line naming %s: %q", code, tc.want, errb.String())
			}
		})
	}
	// Loopback may use http; the redirect defaults to the webhook's origin.
	raw := map[string]string{}
	for _, s := range settings {
		raw[s.env] = s.def
	}
	raw["ZALO_APP_ID"], raw["ZALO_APP_SECRET"], raw["ZALO_WEBHOOK_URL"] = "1", "s", "http://127.0.0.1:8080/zalo/webhook?x=1"
	cfg, err := parseConfig(raw)
	if err != nil || !cfg.Zalo() || cfg.ZaloRedirectURI != "http://127.0.0.1:8080/zalo/linked" ||
		cfg.ZaloAPIURL != "https://openapi.zalo.me" || cfg.ZaloOAuthURL != "https://oauth.zaloapp.com" {
		t.Errorf("config %+v, %v", cfg, err)
	}
	if cfg := mustConfig(t); cfg.Zalo() || cfg.ZaloRedirectURI != "" {
		t.Errorf("Zalo configured by default: %+v", cfg)
	}
}

func TestZaloHelp(t *testing.T) {
	var out bytes.Buffer
	if err := run(t.Context(), []string{"help"}, env(), nil, &out, &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"hangxom zalo connect", "ZALO_REDIRECT_URI", "/zalo/linked", "ZALO_OAUTH_URL", "https://oauth.zaloapp.com"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help does not mention %s", want)
		}
	}
	var errb bytes.Buffer
	err := run(t.Context(), []string{"zalo", "connect", "--help"}, env(), nil, &out, &errb)
	if code := exitCode(err, &errb); code != 0 || !strings.Contains(errb.String(), "ZALO_REDIRECT_URI") ||
		!strings.Contains(errb.String(), "REDIS_URL") || strings.Contains(errb.String(), "TELEGRAM") {
		t.Errorf("zalo connect --help: exit %d:\n%s", code, errb.String())
	}
}

// TestZaloTwoReplicasOnTheStore runs two token sources on the store (as two
// serve replicas would) after a link: a token about to expire is refreshed
// exactly once, with the store's lease as the lock, and no spent refresh
// token is ever presented.
func TestZaloTwoReplicasOnTheStore(t *testing.T) {
	p := newProgram(t)
	f := newZaloOAuth(t)
	if out, err := p.zaloConnect(f, func(u *url.URL) string {
		f.mu.Lock()
		f.codes["c"] = u.Query().Get("code_challenge")
		f.mu.Unlock()
		return "c"
	}); err != nil {
		t.Fatalf("zalo connect: %v\n%s", err, out)
	}
	linked, _, expires, _ := p.zaloPair()
	later := flows.ClockFunc(func() time.Time { return expires.Add(-10 * time.Minute) }) // within the hour before expiry
	cfg := mustConfig(t)
	cfg.ZaloAppID, cfg.ZaloAppSecret, cfg.ZaloOAuthURL = "4321", "zalo-app-secret", f.srv.URL
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var replicas []*zalo.Tokens
	for range 2 {
		s := store.New(p.client, store.Options{Prefix: "test", Clock: later})
		replicas = append(replicas, newZaloTokens(cfg, s, f.srv.Client(), logger, later))
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	got := map[string]int{}
	for _, r := range replicas {
		for range 20 {
			wg.Go(func() {
				tok, err := r.Token(t.Context())
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				got[tok]++
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	access, _, _, disc := p.zaloPair()
	f.mu.Lock()
	refreshes, refused, issued := f.refreshes, f.refused, f.issued
	f.mu.Unlock()
	if refreshes != 1 || refused != 0 || disc != "" {
		t.Errorf("%d refreshes, %d spent tokens presented, disconnected %q; want 1, 0, \"\"", refreshes, refused, disc)
	}
	// While one replica refreshes early, the still valid token may be
	// handed out; nothing else.
	if got[access]+got[linked] != 40 || got[access] == 0 {
		t.Errorf("tokens handed out %v, want the stored %q (or, meanwhile, %q)", got, access, linked)
	}
	for _, r := range replicas {
		if tok, err := r.Token(t.Context()); err != nil || tok != access {
			t.Errorf("Token after the refresh = %q %v, want %q", tok, err, access)
		}
	}
	// A refused refresh disconnects the OA: ErrDisconnected, the mark.
	f.mu.Lock()
	f.valid = map[string]bool{}
	f.mu.Unlock()
	_, err := replicas[0].Invalid(t.Context(), access)
	if !errors.Is(err, zalo.ErrDisconnected) {
		t.Errorf("Invalid after a refusal = %v, want ErrDisconnected", err)
	}
	if _, _, _, disc := p.zaloPair(); !strings.Contains(disc, "-14014") {
		t.Errorf("disconnected = %q", disc)
	}
	for _, s := range append(issued, "zalo-app-secret") {
		if strings.Contains(logs.String(), s) {
			t.Errorf("%q is in the log:\n%s", s, logs.String())
		}
	}
}
