package zalo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hangxomso/hangxom/bot/zalo"
)

const (
	appID     = "app-1"
	appSecret = "app-secret-do-not-log"
)

// fakeOAuth is Zalo's token endpoint as far as the token source needs it:
// refresh tokens are single-use (a spent one is refused with -14014), codes
// are checked against their PKCE challenge.
type fakeOAuth struct {
	t *testing.T

	mu        sync.Mutex
	valid     map[string]bool   // refresh tokens not yet spent
	codes     map[string]string // code → challenge
	issued    []string          // every token handed out
	refreshes int               // successful refreshes
	refused   int               // refresh tokens refused
	delay     time.Duration     // before answering a refresh
	status    int               // if set, every call answers this HTTP status
	errCode   int               // if set, every call answers this Zalo error
	n         int
}

func newFakeOAuth(t *testing.T) (*fakeOAuth, *httptest.Server) {
	f := &fakeOAuth{t: t, valid: map[string]bool{}, codes: map[string]string{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

// issue makes a new pair, valid at the fake.
func (f *fakeOAuth) issue() zalo.Pair {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.issueLocked()
}

func (f *fakeOAuth) issueLocked() zalo.Pair {
	f.n++
	p := zalo.Pair{Access: fmt.Sprintf("ACCESS-%d-x7", f.n), Refresh: fmt.Sprintf("REFRESH-%d-y8", f.n)}
	f.valid[p.Refresh] = true
	f.issued = append(f.issued, p.Access, p.Refresh)
	return p
}

func (f *fakeOAuth) counts() (refreshes, refused int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.refreshes, f.refused
}

func (f *fakeOAuth) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v4/oa/access_token" {
		http.NotFound(w, r)
		return
	}
	if err := r.ParseForm(); err != nil || r.Header.Get("secret_key") != appSecret || r.PostForm.Get("app_id") != appID {
		f.t.Errorf("token request without the app's id or secret: %v %v", r.Header, r.PostForm)
		writeJSON(w, map[string]any{"error": -14002, "error_name": "Invalid app"})
		return
	}
	f.mu.Lock()
	delay, status, errCode := f.delay, f.status, f.errCode
	f.mu.Unlock()
	if status != 0 {
		w.WriteHeader(status)
		return
	}
	if errCode != 0 {
		writeJSON(w, map[string]any{"error": errCode, "error_name": "Passing trouble"})
		return
	}
	time.Sleep(delay)
	f.mu.Lock()
	defer f.mu.Unlock()
	switch r.PostForm.Get("grant_type") {
	case "refresh_token":
		rt := r.PostForm.Get("refresh_token")
		if !f.valid[rt] {
			f.refused++
			writeJSON(w, map[string]any{"error": -14014, "error_name": "Invalid refresh token",
				"error_description": "refresh token " + rt + " is invalid"})
			return
		}
		delete(f.valid, rt)
		f.refreshes++
	case "authorization_code":
		code := r.PostForm.Get("code")
		challenge, ok := f.codes[code]
		if !ok || zalo.Challenge(r.PostForm.Get("code_verifier")) != challenge {
			writeJSON(w, map[string]any{"error": -14019, "error_name": "Invalid code"})
			return
		}
		delete(f.codes, code)
	default:
		writeJSON(w, map[string]any{"error": -14003, "error_name": "Invalid grant_type"})
		return
	}
	p := f.issueLocked()
	writeJSON(w, map[string]any{"access_token": p.Access, "refresh_token": p.Refresh, "expires_in": "90000"})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// memStore is a TokenStore in memory with the store's compare-and-set.
type memStore struct {
	mu           sync.Mutex
	p            zalo.Pair
	disconnected string
	failWrites   int // the next writes fail
	writes       int
}

func (s *memStore) ZaloTokens(context.Context) (string, string, time.Time, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.p.Access, s.p.Refresh, s.p.Expires, s.disconnected, nil
}

func (s *memStore) ReplaceZaloTokens(_ context.Context, old, access, refresh string, exp time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failWrites > 0 {
		s.failWrites--
		return false, errors.New("redis: connection refused")
	}
	if old != "" && s.p.Refresh != old {
		return false, nil
	}
	s.p, s.disconnected = zalo.Pair{Access: access, Refresh: refresh, Expires: exp}, ""
	s.writes++
	return true, nil
}

func (s *memStore) SetZaloDisconnected(_ context.Context, refused, reason string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if refused != "" && s.p.Refresh != refused {
		return false, nil
	}
	s.disconnected = reason
	return true, nil
}

func (s *memStore) pair() (zalo.Pair, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.p, s.disconnected
}

// memLock is the store lock shared by the replicas of a test.
type memLock struct {
	mu   sync.Mutex
	held map[string]bool
}

func (l *memLock) Lock(_ context.Context, name string, _ time.Duration) (func(), bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.held == nil {
		l.held = map[string]bool{}
	}
	if l.held[name] {
		return nil, false, nil
	}
	l.held[name] = true
	var once sync.Once
	return func() {
		once.Do(func() {
			l.mu.Lock()
			delete(l.held, name)
			l.mu.Unlock()
		})
	}, true, nil
}

// clock is a settable test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

var t0 = time.Date(2026, 12, 7, 18, 0, 0, 0, time.UTC)

// fixture is one shared store and OAuth server, and the log every replica
// writes to, checked for tokens when the test ends.
type fixture struct {
	t     *testing.T
	oauth *fakeOAuth
	srv   *httptest.Server
	store *memStore
	lock  *memLock
	clock *clock
	logMu sync.Mutex
	log   bytes.Buffer
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{t: t, store: &memStore{}, lock: &memLock{}, clock: &clock{now: t0}}
	f.oauth, f.srv = newFakeOAuth(t)
	t.Cleanup(f.checkLog)
	return f
}

func (f *fixture) Write(b []byte) (int, error) {
	f.logMu.Lock()
	defer f.logMu.Unlock()
	return f.log.Write(b)
}

func (f *fixture) logText() string {
	f.logMu.Lock()
	defer f.logMu.Unlock()
	return f.log.String()
}

// checkLog fails the test if a token or the app secret was logged.
func (f *fixture) checkLog() {
	text := f.logText()
	f.oauth.mu.Lock()
	secrets := append([]string{appSecret}, f.oauth.issued...)
	f.oauth.mu.Unlock()
	for _, s := range secrets {
		if strings.Contains(text, s) {
			f.t.Errorf("%q is in the log:\n%s", s, text)
		}
	}
}

// link stores a pair the fake knows, expiring in life.
func (f *fixture) link(life time.Duration) zalo.Pair {
	p := f.oauth.issue()
	p.Expires = f.clock.Now().Add(life)
	if _, err := f.store.ReplaceZaloTokens(f.t.Context(), "", p.Access, p.Refresh, p.Expires); err != nil {
		f.t.Fatal(err)
	}
	return p
}

// replica is one process's token source.
func (f *fixture) replica() *zalo.Tokens {
	return &zalo.Tokens{Store: f.store, Lock: f.lock.Lock, OAuthURL: f.srv.URL, AppID: appID, AppSecret: appSecret,
		HTTP: f.srv.Client(), Clock: f.clock.Now, Wait: 5 * time.Second,
		Logger: slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: slog.LevelDebug}))}
}

// tokens asks n goroutines per replica for a token and returns what each got.
func tokens(t *testing.T, n int, replicas ...*zalo.Tokens) []string {
	t.Helper()
	var mu sync.Mutex
	var got []string
	var wg sync.WaitGroup
	for _, r := range replicas {
		for range n {
			wg.Go(func() {
				tok, err := r.Token(t.Context())
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				got = append(got, tok)
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	return got
}

func allEqual(t *testing.T, got []string, want string) {
	t.Helper()
	for _, g := range got {
		if g != want {
			t.Fatalf("a caller got %q, want %q", g, want)
		}
	}
}

// oldOrNew checks that every caller got the new token or, while it was
// refreshed early, the old one (still valid), and that the last got the new.
func oldOrNew(t *testing.T, got []string, old, new string) {
	t.Helper()
	for _, g := range got {
		if g != old && g != new {
			t.Fatalf("a caller got %q, want %q or %q", g, new, old)
		}
	}
}

func TestZaloTokenFromMemoryWhileFresh(t *testing.T) {
	f := newFixture(t)
	p := f.link(25 * time.Hour)
	r := f.replica()
	allEqual(t, tokens(t, 5, r), p.Access)
	// Another pair in the store is not read while the one in memory is fresh.
	f.link(25 * time.Hour)
	allEqual(t, tokens(t, 5, r), p.Access)
	if n, _ := f.oauth.counts(); n != 0 {
		t.Errorf("%d refreshes of a fresh token", n)
	}
}

func TestZaloFiftyGoroutinesRefreshOnce(t *testing.T) {
	f := newFixture(t)
	old := f.link(10 * time.Minute) // within the hour before expiry
	f.oauth.delay = 20 * time.Millisecond
	got := tokens(t, 50, f.replica())
	stored, _ := f.store.pair()
	if n, refused := f.oauth.counts(); n != 1 || refused != 0 {
		t.Fatalf("%d refreshes, %d refused; want exactly 1, 0", n, refused)
	}
	if stored.Access == old.Access || stored.Refresh == old.Refresh {
		t.Fatal("the store still holds the old pair")
	}
	oldOrNew(t, got, old.Access, stored.Access)
	if want := t0.Add(90000 * time.Second); !stored.Expires.Equal(want) {
		t.Errorf("expires %v, want %v (expires_in is a string of seconds)", stored.Expires, want)
	}
}

func TestZaloTwoReplicasRefreshOnce(t *testing.T) {
	for _, expiring := range []time.Duration{10 * time.Minute, -time.Minute} {
		t.Run(fmt.Sprint("expires in ", expiring), func(t *testing.T) {
			f := newFixture(t)
			old := f.link(expiring)
			f.oauth.delay = 50 * time.Millisecond
			a, b := f.replica(), f.replica()
			got := tokens(t, 25, a, b)
			if n, refused := f.oauth.counts(); n != 1 || refused != 0 {
				t.Fatalf("%d refreshes, %d spent tokens presented; want 1, 0", n, refused)
			}
			stored, disc := f.store.pair()
			if expiring < 0 {
				allEqual(t, got, stored.Access) // nobody may use an expired token
			} else {
				oldOrNew(t, got, old.Access, stored.Access)
			}
			// Afterwards, both replicas hand out the new one.
			allEqual(t, tokens(t, 2, a, b), stored.Access)
			if disc != "" {
				t.Errorf("disconnected: %s", disc)
			}
		})
	}
}

func TestZaloRefusedRefreshDisconnects(t *testing.T) {
	f := newFixture(t)
	p := f.link(10 * time.Minute)
	f.oauth.mu.Lock()
	delete(f.oauth.valid, p.Refresh) // spent elsewhere, or revoked
	f.oauth.mu.Unlock()
	r := f.replica()
	told := make(chan string, 10)
	r.OnDisconnect = func(_ context.Context, reason string) { told <- reason }
	for range 3 {
		_, err := r.Token(t.Context())
		if !errors.Is(err, zalo.ErrDisconnected) {
			t.Fatalf("Token = %v, want ErrDisconnected", err)
		}
	}
	select {
	case reason := <-told:
		if !strings.Contains(reason, "-14014") {
			t.Errorf("told %q", reason)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("OnDisconnect not called")
	}
	select {
	case again := <-told:
		t.Errorf("told twice: %q", again)
	case <-time.After(100 * time.Millisecond):
	}
	if _, refused := f.oauth.counts(); refused != 1 {
		t.Errorf("the refused token was presented %d times, want 1", refused)
	}
	if _, disc := f.store.pair(); !strings.Contains(disc, "-14014") {
		t.Errorf("disconnected mark = %q, want the refusal", disc)
	}
	// Another replica reads the mark and does not try.
	if _, err := f.replica().Token(t.Context()); !errors.Is(err, zalo.ErrDisconnected) {
		t.Errorf("second replica: %v", err)
	}
	if _, refused := f.oauth.counts(); refused != 1 {
		t.Errorf("refused %d times after the mark, want 1", refused)
	}
	if got := strings.Count(f.logText(), "level=ERROR"); got != 2 {
		t.Errorf("%d ERROR lines, want one per replica:\n%s", got, f.logText())
	}
	// A new link (hangxom zalo connect) clears it.
	np := f.link(25 * time.Hour)
	tok, err := r.Token(t.Context())
	if err != nil || tok != np.Access {
		t.Errorf("after relinking: %q %v", tok, err)
	}
}

func TestZaloNothingStoredIsDisconnected(t *testing.T) {
	f := newFixture(t)
	if _, err := f.replica().Token(t.Context()); !errors.Is(err, zalo.ErrDisconnected) {
		t.Errorf("Token = %v, want ErrDisconnected", err)
	}
}

func TestZaloInvalidRefreshesOnce(t *testing.T) {
	f := newFixture(t)
	old := f.link(25 * time.Hour) // fresh, but Zalo says -216
	a, b := f.replica(), f.replica()
	var wg sync.WaitGroup
	var mu sync.Mutex
	got := map[string]bool{}
	for _, r := range []*zalo.Tokens{a, b} {
		for range 10 {
			wg.Go(func() {
				tok, err := r.Invalid(t.Context(), old.Access)
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				got[tok] = true
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	stored, _ := f.store.pair()
	if n, refused := f.oauth.counts(); n != 1 || refused != 0 {
		t.Fatalf("%d refreshes, %d refused; want 1, 0", n, refused)
	}
	if len(got) != 1 || !got[stored.Access] {
		t.Errorf("Invalid gave %v, want only %q", got, stored.Access)
	}
	// A late caller with the stale token gets the current one, no refresh.
	tok, err := a.Invalid(t.Context(), old.Access)
	if err != nil || tok != stored.Access {
		t.Errorf("late Invalid = %q %v", tok, err)
	}
	if n, _ := f.oauth.counts(); n != 1 {
		t.Errorf("%d refreshes after a stale Invalid, want 1", n)
	}
}

func TestZaloPassingFailureKeepsTheValidToken(t *testing.T) {
	for _, tc := range []struct {
		name            string
		status, errCode int
	}{
		{"HTTP 502", http.StatusBadGateway, 0},
		{"HTTP 429", http.StatusTooManyRequests, 0},
		{"rate limited, -32", 0, -32},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			p := f.link(10 * time.Minute)
			f.oauth.status, f.oauth.errCode = tc.status, tc.errCode
			r := f.replica()
			tok, err := r.Token(t.Context())
			if err != nil || tok != p.Access {
				t.Fatalf("Token = %q %v, want the still valid token", tok, err)
			}
			if _, disc := f.store.pair(); disc != "" {
				t.Errorf("a passing failure disconnected the OA: %s", disc)
			}
			// Expired and still failing: an error, but not a disconnection.
			f.clock.Add(11 * time.Minute)
			if _, err := r.Token(t.Context()); err == nil || errors.Is(err, zalo.ErrDisconnected) {
				t.Errorf("Token after expiry = %v, want a passing error", err)
			}
			f.oauth.mu.Lock()
			f.oauth.status, f.oauth.errCode = 0, 0
			f.oauth.mu.Unlock()
			tok, err = r.Token(t.Context())
			if stored, _ := f.store.pair(); err != nil || tok != stored.Access || tok == p.Access {
				t.Errorf("Token once Zalo is back = %q %v", tok, err)
			}
		})
	}
}

func TestZaloRefreshedPairIsStoredBeforeUse(t *testing.T) {
	f := newFixture(t)
	old := f.link(-time.Minute)
	f.store.mu.Lock()
	f.store.failWrites = 3 // the store is down for the three attempts
	f.store.mu.Unlock()
	r := f.replica()
	if tok, err := r.Token(t.Context()); err == nil {
		t.Fatalf("Token = %q with the new pair unstored", tok)
	}
	if s, _ := f.store.pair(); s.Refresh != old.Refresh {
		t.Fatal("the store changed while it failed")
	}
	// The store is back: the kept pair is written first, and used.
	tok, err := r.Token(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := f.store.pair()
	if tok != stored.Access || stored.Refresh == old.Refresh {
		t.Errorf("Token = %q, stored %q", tok, stored.Access)
	}
	if n, refused := f.oauth.counts(); n != 1 || refused != 0 {
		t.Errorf("%d refreshes, %d refused; want 1, 0", n, refused)
	}
}

func TestZaloWaitsForAnotherReplicasLockBounded(t *testing.T) {
	f := newFixture(t)
	f.link(-time.Minute)
	unlock, _, _ := f.lock.Lock(t.Context(), zalo.RefreshLock, time.Minute) // a stuck replica
	r := f.replica()
	r.Wait = 300 * time.Millisecond
	start := time.Now()
	if _, err := r.Token(t.Context()); err == nil || errors.Is(err, zalo.ErrDisconnected) {
		t.Errorf("Token = %v, want a passing error", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("waited %v", d)
	}
	unlock()
	if _, err := r.Token(t.Context()); err != nil {
		t.Errorf("Token once the lock is free: %v", err)
	}
}

func TestZaloPKCE(t *testing.T) {
	// RFC 7636, appendix B.
	if got := zalo.Challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"); got != "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" {
		t.Errorf("Challenge = %q", got)
	}
	seen := map[string]bool{}
	for range 20 {
		v := zalo.NewVerifier()
		if len(v) < 43 || len(v) > 128 || strings.Trim(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~") != "" {
			t.Errorf("verifier %q is not 43–128 unreserved characters", v)
		}
		if seen[v] {
			t.Errorf("verifier %q twice", v)
		}
		seen[v] = true
	}
	got := zalo.PermissionURL("https://oauth.zaloapp.com/", "123", "https://bot.example.vn/zalo/linked", "E9M", "s t")
	want := "https://oauth.zaloapp.com/v4/oa/permission?app_id=123&redirect_uri=https%3A%2F%2Fbot.example.vn%2Fzalo%2Flinked&code_challenge=E9M&state=s+t"
	if got != want {
		t.Errorf("PermissionURL =\n %s, want\n %s", got, want)
	}
	u, err := url.Parse(got)
	if err != nil || u.Query().Get("redirect_uri") != "https://bot.example.vn/zalo/linked" {
		t.Errorf("the URL does not round-trip: %v %v", u, err)
	}
}

func TestZaloParseRedirect(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    zalo.Redirect
		wantErr string
	}{
		{in: "abcDEF-123_x\n", want: zalo.Redirect{Code: "abcDEF-123_x"}},
		{in: "https://bot.example.vn/zalo/linked?code=C0de-1&oa_id=5791&state=st", want: zalo.Redirect{Code: "C0de-1", OAID: "5791", State: "st"}},
		{in: "  https://bot.example.vn/zalo/linked?oa_id=5791&code=a%2Bb#frag ", want: zalo.Redirect{Code: "a+b", OAID: "5791"}},
		{in: "?code=xyz&oa_id=1", want: zalo.Redirect{Code: "xyz", OAID: "1"}},
		{in: "code=xyz", want: zalo.Redirect{Code: "xyz"}},
		{in: "", wantErr: "nothing pasted"},
		{in: "two words", wantErr: "spaces"},
		{in: "https://bot.example.vn/zalo/linked", wantErr: "no ?code"},
		{in: "https://bot.example.vn/zalo/linked?oa_id=1", wantErr: "no code="},
		{in: "https://bot.example.vn/zalo/linked?error=-14003&error_description=Invalid+redirect+uri", wantErr: "-14003"},
	} {
		got, err := zalo.ParseRedirect(tc.in)
		switch {
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("ParseRedirect(%q) error = %v, want one saying %q", tc.in, err, tc.wantErr)
		case tc.wantErr == "" && (err != nil || got != tc.want):
			t.Errorf("ParseRedirect(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
		if code, err2 := zalo.CodeFrom(tc.in); code != got.Code || (err == nil) != (err2 == nil) {
			t.Errorf("CodeFrom(%q) = %q %v, unlike ParseRedirect", tc.in, code, err2)
		}
	}
}

func TestZaloExchange(t *testing.T) {
	f := newFixture(t)
	v := zalo.NewVerifier()
	f.oauth.codes["code-1"] = zalo.Challenge(v)
	p, err := zalo.Exchange(t.Context(), f.srv.Client(), f.srv.URL, appID, appSecret, "code-1", v)
	if err != nil || p.Access == "" || p.Refresh == "" || time.Until(p.Expires) < 24*time.Hour {
		t.Fatalf("Exchange = %+v %v", p, err)
	}
	// A code is single-use; a wrong verifier is refused.
	_, err = zalo.Exchange(t.Context(), f.srv.Client(), f.srv.URL, appID, appSecret, "code-1", v)
	var oe *zalo.OAuthError
	if !errors.As(err, &oe) || oe.Code != -14019 {
		t.Errorf("second Exchange = %v, want OAuthError -14019", err)
	}
	for _, s := range []string{p.Access, p.Refresh, appSecret} {
		if err != nil && strings.Contains(err.Error(), s) {
			t.Errorf("the error holds a secret: %v", err)
		}
	}
}

// forget puts the store back to p, as Redis does when it forgets its last
// second of writes (a crash under appendfsync everysec, or a failover to a
// replica that had not got them): the pair this process refreshed is gone,
// and the refresh token it spent, which Zalo now refuses, is back.
func (s *memStore) forget(p zalo.Pair) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.p, s.disconnected = p, ""
}

// Redis forgets the pair a replica refreshed and stored. That replica
// still has it and writes it back when it next reads the store, instead of
// presenting the spent refresh token (which would disconnect the OA until
// someone linked it again).
func TestZaloStoreThatForgotTheRefreshedPair(t *testing.T) {
	const storeCheckEvery = time.Minute // zalo's
	setup := func(t *testing.T) (*fixture, *zalo.Tokens, zalo.Pair, zalo.Pair) {
		f := newFixture(t)
		old := f.link(10 * time.Minute) // within EarlyBy: the first Token refreshes
		r := f.replica()
		tok, err := r.Token(t.Context())
		if err != nil || tok == old.Access {
			t.Fatalf("first Token = %q, %v; want a refreshed token", tok, err)
		}
		refreshed, _ := f.store.pair()
		f.store.forget(old)
		return f, r, old, refreshed
	}

	t.Run("the replica that refreshed reads first", func(t *testing.T) {
		f, r, old, refreshed := setup(t)
		// Near the refreshed token's expiry it reads the store: it finds
		// the token it spent, writes its pair back, and refreshes with it.
		f.clock.Add(refreshed.Expires.Sub(f.clock.Now()) - 30*time.Minute)
		tok, err := r.Token(t.Context())
		if err != nil {
			t.Fatalf("Token after the store forgot: %v", err)
		}
		if tok == old.Access || tok == refreshed.Access {
			t.Errorf("Token = %q, want a token refreshed from the kept pair", tok)
		}
		if n, refused := f.oauth.counts(); n != 2 || refused != 0 {
			t.Errorf("%d refreshes, %d refused; want 2, 0 (the spent token never presented)", n, refused)
		}
		if p, disc := f.store.pair(); p.Access != tok || disc != "" {
			t.Errorf("store holds %q (disconnected %q), want %q", p.Access, disc, tok)
		}
		if !strings.Contains(f.logText(), "level=WARN msg=\"zalo: the store had lost the refreshed token pair") {
			t.Errorf("no warning logged:\n%s", f.logText())
		}
	})

	t.Run("another replica presents the spent token first", func(t *testing.T) {
		f, r, _, refreshed := setup(t)
		q := f.replica()
		told := make(chan string, 10)
		q.OnDisconnect = func(_ context.Context, reason string) { told <- reason }
		if _, err := q.Token(t.Context()); !errors.Is(err, zalo.ErrDisconnected) {
			t.Fatalf("other replica's Token = %v, want ErrDisconnected (Zalo refused the spent token)", err)
		}
		select {
		case <-told:
		case <-time.After(5 * time.Second):
			t.Fatal("the coordinators were not told of the disconnection")
		}
		// The replica that refreshed still uses its token from memory; within
		// a minute it looks at the store, finds the spent token and writes
		// its pair back, which clears the mark.
		f.clock.Add(storeCheckEvery)
		tok, err := r.Token(t.Context())
		if err != nil || tok != refreshed.Access {
			t.Fatalf("Token of the replica that refreshed: %q, %v; want its token from memory", tok, err)
		}
		if p, disc := f.store.pair(); disc != "" || p.Refresh != refreshed.Refresh {
			t.Errorf("store after the look: disconnected %q, refreshed pair back %v", disc, p.Refresh == refreshed.Refresh)
		}
		// The other replica reads the repaired store.
		if got, err := q.Token(t.Context()); err != nil || got != tok {
			t.Errorf("other replica's Token = %q, %v; want %q", got, err, tok)
		}
		if n, refused := f.oauth.counts(); n != 1 || refused != 1 {
			t.Errorf("%d refreshes, %d refused; want 1, 1 (the other replica's try of the spent token)", n, refused)
		}
	})
}
