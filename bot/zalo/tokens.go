// Package zalo is the Zalo Official Account (OA API v3) channel. This file
// keeps the OA's OAuth v4 tokens: an access token that lives 25 h and a
// refresh token that lives 3 months, is single-use and is replaced at every
// refresh. The pair lives in a shared store (Redis, through TokenStore), so
// that every replica uses it and exactly one spends a refresh token.
package zalo

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrDisconnected means the OA has no usable refresh token: none was ever
// stored, or Zalo refused it. Nothing but a new link (`hangxom zalo
// connect`) repairs it.
var ErrDisconnected = errors.New("zalo: the OA is disconnected; link it again with \"hangxom zalo connect\"")

// RefreshLock is the name of the store lock a replica holds while it
// spends the refresh token.
const RefreshLock = "zalo-refresh"

const (
	// defaultEarlyBy: refresh this long before the access token expires.
	defaultEarlyBy = time.Hour
	// defaultWait bounds the wait for another replica's refresh.
	defaultWait = 10 * time.Second
	// lockTTL outlives one refresh request (requestTimeout) with room for
	// the store's read and write; a crashed holder frees it by expiry.
	lockTTL = 30 * time.Second
	// requestTimeout bounds one call of the token endpoint.
	requestTimeout = 10 * time.Second
	// retryAfter spaces early refreshes that failed for a passing reason
	// while the access token is still valid.
	retryAfter = time.Minute
	// pollEvery is how often a replica waiting for another's refresh
	// looks at the store.
	pollEvery = 100 * time.Millisecond
	// defaultLifetime is assumed when an answer's expires_in is missing:
	// Zalo's documented 25 h. A shorter real life only means an earlier
	// -216 and a refresh.
	defaultLifetime = 25 * time.Hour
)

// Pair is the OA's token pair.
type Pair struct {
	Access, Refresh string
	// Expires is when Access expires.
	Expires time.Time
}

// TokenStore keeps the pair for every replica; store.Redis implements it.
type TokenStore interface {
	// ZaloTokens reads the pair; access and refresh are "" when none is
	// stored, and disconnected is the reason the OA was marked
	// disconnected ("" while it is connected).
	ZaloTokens(ctx context.Context) (access, refresh string, expires time.Time, disconnected string, err error)
	// ReplaceZaloTokens writes a pair if the stored refresh token is still
	// oldRefresh ("" writes whatever is stored) and clears the
	// disconnected mark; it reports whether it wrote.
	ReplaceZaloTokens(ctx context.Context, oldRefresh, access, refresh string, expires time.Time) (bool, error)
	// SetZaloDisconnected marks the OA disconnected if the stored refresh
	// token is still refused ("" marks whatever is stored); it reports
	// whether it marked.
	SetZaloDisconnected(ctx context.Context, refused, reason string) (bool, error)
}

// Tokens hands out the OA's access token and refreshes it before it
// expires: one replica at a time (a store lock), one goroutine at a time
// in this process, and the new pair written to the store before it is
// used. Set the exported fields, then use it from any goroutine; do not
// copy it after first use.
type Tokens struct {
	Store TokenStore
	// Lock takes a store-wide lock for ttl without waiting: ok is false
	// while another holder has it. unlock releases it. Required.
	Lock func(ctx context.Context, name string, ttl time.Duration) (unlock func(), ok bool, err error)
	// OAuthURL is the OAuth server, https://oauth.zaloapp.com.
	OAuthURL, AppID, AppSecret string
	// HTTP calls the token endpoint; default http.DefaultClient (each
	// call is bounded by a 10 s timeout anyway).
	HTTP *http.Client
	// Clock gives the time an access token's life is measured by;
	// default time.Now.
	Clock  func() time.Time
	Logger *slog.Logger
	// EarlyBy: refresh this long before the access token expires; default
	// 1 h.
	EarlyBy time.Duration
	// Wait bounds how long a replica waits for another's refresh; default
	// 10 s.
	Wait time.Duration
	// OnDisconnect, if set, is called (on a goroutine of its own, with a
	// context that ends after 30 s) when this process finds Zalo refusing
	// the refresh token and marks the OA disconnected: serve tells the
	// coordinators. The reason holds no token.
	OnDisconnect func(ctx context.Context, reason string)

	once sync.Once
	sem  chan struct{} // one refresh (and store read) at a time here

	mu      sync.Mutex
	cur     Pair      // the last pair seen in the store
	retryAt time.Time // no early refresh before then (one failed)
	// refreshing is set while a Token call refreshes: the others use the
	// still valid token meanwhile.
	refreshing bool
	down       bool     // ErrDisconnected was logged; reset once connected
	unsaved    *unsaved // a refreshed pair the store has not taken yet
	// stored is the last pair this process refreshed and stored, with the
	// refresh token it spent. Redis may forget the write (a crash within
	// appendfsync's second, a failover to a replica that had not got it)
	// and give back the spent token, which Zalo refuses: finding it in the
	// store, load writes this pair again instead; and while the token in
	// memory is used, the store is looked at every storeCheckEvery for it.
	stored    *unsaved
	checkedAt time.Time // the store last looked at for stored
	checking  bool      // a Token call is looking
}

// storeCheckEvery is how often a process that stored a refreshed pair looks
// whether the store still has it while it uses the token from memory (a
// store that forgot it makes the other replicas present the spent refresh
// token: the OA is disconnected for them until the pair is back).
const storeCheckEvery = time.Minute

// unsaved is a pair Zalo gave for old that the store could not write: its
// refresh token is the only valid one, so it is written first next time.
type unsaved struct {
	old  string
	pair Pair
}

// Token returns a valid access token: from memory while it is fresh, else
// from the store, refreshing it when it is within EarlyBy of its expiry.
// It returns ErrDisconnected (wrapped) when the OA must be linked again.
func (t *Tokens) Token(ctx context.Context) (string, error) {
	if tok, ok := t.usable(); ok {
		t.checkStored(ctx)
		return tok, nil
	}
	if err := t.acquire(ctx); err != nil {
		return "", err
	}
	defer t.release()
	if tok, ok := t.usable(); ok {
		return tok, nil
	}
	p, err := t.load(ctx)
	if err != nil {
		return "", err
	}
	if tok, ok := t.usable(); ok {
		return tok, nil
	}
	t.setRefreshing(true)
	np, err := t.refresh(ctx, p)
	t.setRefreshing(false)
	if err != nil {
		if !errors.Is(err, ErrDisconnected) && valid(p, t.now()) {
			t.mu.Lock()
			t.retryAt = t.now().Add(retryAfter)
			t.mu.Unlock()
			t.logger().Warn("zalo: refreshing the access token early failed; using it until it expires",
				"expires", p.Expires, "err", err)
			return p.Access, nil
		}
		return "", err
	}
	return np.Access, nil
}

// Invalid is called after Zalo refused token (-216, -220 or a 401-like
// answer): if the stored access token is still token, it refreshes; either
// way it returns the current token. So a client that retries once with the
// result refreshes once, however many requests failed with token.
func (t *Tokens) Invalid(ctx context.Context, token string) (string, error) {
	if err := t.acquire(ctx); err != nil {
		return "", err
	}
	defer t.release()
	if p := t.memory(); p.Access != "" && p.Access != token && valid(p, t.now()) {
		return p.Access, nil
	}
	p, err := t.load(ctx)
	if err != nil {
		return "", err
	}
	if p.Access != token && valid(p, t.now()) {
		return p.Access, nil
	}
	np, err := t.refresh(ctx, p)
	if err != nil {
		return "", err
	}
	return np.Access, nil
}

func (t *Tokens) acquire(ctx context.Context) error {
	t.once.Do(func() { t.sem = make(chan struct{}, 1) })
	select {
	case t.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (t *Tokens) release() { <-t.sem }

// usable returns the access token in memory if it may be used without
// going to the store: it is fresh; or it is still valid while this
// process refreshes it early (the other goroutines need not wait) or
// waits to try again after an early refresh failed.
func (t *Tokens) usable() (string, bool) {
	t.mu.Lock()
	p, refreshing, retryAt := t.cur, t.refreshing, t.retryAt
	t.mu.Unlock()
	now := t.now()
	if t.fresh(p) || (valid(p, now) && (refreshing || now.Before(retryAt))) {
		return p.Access, true
	}
	return "", false
}

func (t *Tokens) setRefreshing(on bool) {
	t.mu.Lock()
	t.refreshing = on
	t.mu.Unlock()
}

func (t *Tokens) memory() Pair {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.cur
}

func (t *Tokens) now() time.Time {
	if t.Clock != nil {
		return t.Clock()
	}
	return time.Now()
}

func (t *Tokens) logger() *slog.Logger {
	if t.Logger != nil {
		return t.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (t *Tokens) httpClient() *http.Client {
	if t.HTTP != nil {
		return t.HTTP
	}
	return http.DefaultClient
}

// fresh: the access token is not within EarlyBy of its expiry.
func (t *Tokens) fresh(p Pair) bool {
	early := t.EarlyBy
	if early <= 0 {
		early = defaultEarlyBy
	}
	return p.Access != "" && t.now().Before(p.Expires.Add(-early))
}

// valid: the access token has not expired.
func valid(p Pair, now time.Time) bool { return p.Access != "" && now.Before(p.Expires) }

// load reads the stored pair (after writing an unsaved one) and keeps it
// in memory. A disconnected OA or no pair at all is ErrDisconnected.
func (t *Tokens) load(ctx context.Context) (Pair, error) {
	t.mu.Lock()
	u := t.unsaved
	t.mu.Unlock()
	if u != nil {
		if _, err := t.Store.ReplaceZaloTokens(ctx, u.old, u.pair.Access, u.pair.Refresh, u.pair.Expires); err != nil {
			return Pair{}, fmt.Errorf("zalo: store the refreshed token pair: %w", err)
		}
		// Written, or a relink overwrote it: either way the store is right.
		t.mu.Lock()
		t.unsaved, t.stored, t.checkedAt = nil, u, t.now()
		t.mu.Unlock()
		t.logger().Info("zalo: the refreshed token pair is stored at last")
	}
	access, refresh, expires, disconnected, err := t.Store.ZaloTokens(ctx)
	if err != nil {
		return Pair{}, fmt.Errorf("zalo: read the token pair: %w", err)
	}
	if again, err := t.restore(ctx, refresh, disconnected); err != nil {
		return Pair{}, err
	} else if again {
		if access, refresh, expires, disconnected, err = t.Store.ZaloTokens(ctx); err != nil {
			return Pair{}, fmt.Errorf("zalo: read the token pair: %w", err)
		}
	}
	switch {
	case refresh == "":
		return Pair{}, t.disconnected("no token pair is stored")
	case disconnected != "":
		return Pair{}, t.disconnected(disconnected)
	}
	p := Pair{Access: access, Refresh: refresh, Expires: expires}
	t.mu.Lock()
	t.cur = p
	if t.down {
		t.down = false
		t.logger().Info("zalo: the OA is connected again", "expires", expires)
	}
	t.mu.Unlock()
	return p, nil
}

// restore writes again the pair this process refreshed and stored, when the
// store holds the refresh token it spent for it (refresh): Redis forgot the
// write (a crash within appendfsync's second, a failover), and Zalo would
// refuse that token. A disconnected mark another replica set after Zalo
// refused it is cleared by the write. It reports whether it tried (the
// store is then to be read again).
func (t *Tokens) restore(ctx context.Context, refresh, disconnected string) (bool, error) {
	t.mu.Lock()
	s := t.stored
	t.mu.Unlock()
	if s == nil || refresh == "" || refresh != s.old {
		return false, nil
	}
	wrote, err := t.Store.ReplaceZaloTokens(ctx, s.old, s.pair.Access, s.pair.Refresh, s.pair.Expires)
	if err != nil {
		return true, fmt.Errorf("zalo: store again the token pair the store forgot: %w", err)
	}
	if wrote {
		t.logger().Warn("zalo: the store had lost the refreshed token pair (Redis forgot its last writes); stored it again",
			"expires", s.pair.Expires, "was_marked_disconnected", disconnected != "")
	}
	return true, nil
}

// checkStored looks, at most every storeCheckEvery and by one caller at a
// time, whether the store went back to the refresh token this process spent,
// and writes the pair again if so (restore).
func (t *Tokens) checkStored(ctx context.Context) {
	now := t.now()
	t.mu.Lock()
	due := t.stored != nil && !t.checking && !now.Before(t.checkedAt.Add(storeCheckEvery))
	if due {
		t.checking, t.checkedAt = true, now
	}
	t.mu.Unlock()
	if !due {
		return
	}
	defer func() {
		t.mu.Lock()
		t.checking = false
		t.mu.Unlock()
	}()
	_, refresh, _, disconnected, err := t.Store.ZaloTokens(ctx)
	if err == nil {
		_, err = t.restore(ctx, refresh, disconnected)
	}
	if err != nil {
		t.logger().Debug("zalo: look whether the store kept the refreshed pair", "err", err)
	}
}

// disconnected forgets the pair, logs the news once (ERROR) and returns
// ErrDisconnected with the reason, which never holds a token.
func (t *Tokens) disconnected(reason string) error {
	t.mu.Lock()
	t.cur = Pair{}
	first := !t.down
	t.down = true
	t.mu.Unlock()
	if first {
		t.logger().Error("zalo: the OA is disconnected: residents on Zalo get no replies until it is linked again with \"hangxom zalo connect\"",
			"reason", reason)
	}
	return fmt.Errorf("%w (%s)", ErrDisconnected, reason)
}

// refresh replaces seen, the pair this process last read: under the store
// lock it spends the refresh token; while another replica holds the lock
// it waits (up to Wait) for the stored pair to change.
func (t *Tokens) refresh(ctx context.Context, seen Pair) (Pair, error) {
	wait := t.Wait
	if wait <= 0 {
		wait = defaultWait
	}
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	if t.Lock == nil {
		return Pair{}, errors.New("zalo: refresh: Tokens.Lock is not set")
	}
	for {
		unlock, ok, err := t.Lock(ctx, RefreshLock, lockTTL)
		if err != nil {
			return Pair{}, fmt.Errorf("zalo: take the refresh lock: %w", err)
		}
		if ok {
			defer unlock()
			return t.refreshLocked(ctx, seen)
		}
		p, err := t.load(ctx)
		if err != nil {
			return Pair{}, err
		}
		if p.Refresh != seen.Refresh {
			return p, nil // another replica refreshed (or the OA was relinked)
		}
		pause := time.NewTimer(pollEvery)
		select {
		case <-ctx.Done():
			pause.Stop()
			return Pair{}, ctx.Err()
		case <-deadline.C:
			pause.Stop()
			return Pair{}, fmt.Errorf("zalo: another replica's token refresh did not finish within %v", wait)
		case <-pause.C:
		}
	}
}

// refreshLocked spends the refresh token; the caller holds the store lock.
func (t *Tokens) refreshLocked(ctx context.Context, seen Pair) (Pair, error) {
	cur, err := t.load(ctx)
	if err != nil {
		return Pair{}, err
	}
	if cur.Refresh != seen.Refresh {
		return cur, nil // refreshed by another replica before we took the lock
	}
	form := url.Values{"refresh_token": {cur.Refresh}, "app_id": {t.AppID}, "grant_type": {"refresh_token"}}
	// From here the refresh token may be spent: neither the call nor the
	// write of the new pair may be cut short by the caller going away (a
	// SIGTERM ends the core's context), or the only valid refresh token is
	// lost with the process.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	np, err := postToken(ctx, t.httpClient(), t.OAuthURL, t.AppSecret, form, t.now())
	var refused *OAuthError
	if errors.As(err, &refused) {
		reason := "Zalo refused the refresh token: " + refused.Error()
		marked, merr := t.Store.SetZaloDisconnected(ctx, cur.Refresh, reason)
		if merr != nil {
			return Pair{}, fmt.Errorf("zalo: refresh refused (%v) and the mark not stored: %w", refused, merr)
		}
		if !marked {
			return t.load(ctx) // a new pair arrived meanwhile: use it
		}
		if t.OnDisconnect != nil {
			go func() {
				ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
				defer cancel()
				t.OnDisconnect(ctx, reason)
			}()
		}
		return Pair{}, t.disconnected(reason)
	}
	if err != nil {
		return Pair{}, err
	}
	// The old refresh token is spent: the new pair must reach the store
	// before anything uses it, or a restart would lose the OA.
	var wrote bool
	for attempt := range 3 {
		if wrote, err = t.Store.ReplaceZaloTokens(ctx, cur.Refresh, np.Access, np.Refresh, np.Expires); err == nil {
			break
		}
		if attempt < 2 {
			pause := time.NewTimer(time.Duration(attempt+1) * 200 * time.Millisecond)
			select {
			case <-ctx.Done():
				pause.Stop()
			case <-pause.C:
			}
		}
	}
	if err != nil {
		t.mu.Lock()
		t.unsaved = &unsaved{old: cur.Refresh, pair: np}
		t.mu.Unlock()
		t.logger().Error("zalo: the refreshed token pair could not be stored; this process keeps it and stores it at the next use (if it exits first, the OA must be linked again)",
			"err", err)
		return Pair{}, fmt.Errorf("zalo: store the refreshed token pair: %w", err)
	}
	if !wrote {
		return t.load(ctx) // relinked meanwhile: the stored pair wins
	}
	t.mu.Lock()
	t.cur = np
	t.retryAt = time.Time{}
	t.stored, t.checkedAt = &unsaved{old: cur.Refresh, pair: np}, t.now()
	t.mu.Unlock()
	t.logger().Info("zalo: access token refreshed", "expires", np.Expires)
	return np, nil
}

// OAuthError is an error answer of Zalo's token endpoint: a refused code
// or refresh token (-14014, -14020 and others). It holds no token.
type OAuthError struct {
	Status int    // the HTTP status
	Code   int    // Zalo's error number, 0 if the answer had none
	Name   string // error_name
}

func (e *OAuthError) Error() string {
	s := fmt.Sprintf("error %d", e.Code)
	if e.Name != "" {
		s += " (" + e.Name + ")"
	}
	if e.Status != http.StatusOK {
		s += fmt.Sprintf(", HTTP %d", e.Status)
	}
	return s
}

// tokenAnswer is the token endpoint's JSON. expires_in is a string in the
// documented answers; a number is accepted too, as is a string error.
type tokenAnswer struct {
	AccessToken  string          `json:"access_token"`
	RefreshToken string          `json:"refresh_token"`
	ExpiresIn    json.RawMessage `json:"expires_in"`
	Error        json.RawMessage `json:"error"`
	ErrorName    string          `json:"error_name"`
}

// number reads a JSON number or a string holding one.
func number(raw json.RawMessage) (int64, bool) {
	s := strings.Trim(strings.TrimSpace(string(raw)), `"`)
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// rateLimited is Zalo's error for an app over its 4,000 requests a minute:
// it says nothing about the token, so it does not disconnect the OA.
const rateLimited = -32

// postToken calls POST <oauthURL>/v4/oa/access_token with form and the app
// secret in the secret_key header. now is when the request starts, from
// which the access token's life counts. An error answer is an *OAuthError;
// a transport failure, a 5xx or 429, or a body that is not the endpoint's
// JSON is a passing error (the token may still be good).
func postToken(ctx context.Context, hc *http.Client, oauthURL, secret string, form url.Values, now time.Time) (Pair, error) {
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	endpoint := strings.TrimRight(oauthURL, "/") + "/v4/oa/access_token"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return Pair{}, fmt.Errorf("zalo: token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("secret_key", secret)
	resp, err := hc.Do(req)
	if err != nil {
		// *url.Error names the URL, which holds no secret (they are in
		// the body and a header).
		return Pair{}, fmt.Errorf("zalo: token request: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return Pair{}, fmt.Errorf("zalo: token request: read the answer: %w", err)
	}
	if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
		return Pair{}, fmt.Errorf("zalo: token request: HTTP %d", resp.StatusCode)
	}
	var a tokenAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return Pair{}, fmt.Errorf("zalo: token request: HTTP %d, an answer that is not JSON", resp.StatusCode)
	}
	code, _ := number(a.Error)
	if code == rateLimited {
		return Pair{}, fmt.Errorf("zalo: token request: rate limited (error %d)", code)
	}
	if code != 0 || a.AccessToken == "" || a.RefreshToken == "" || resp.StatusCode != http.StatusOK {
		return Pair{}, &OAuthError{Status: resp.StatusCode, Code: int(code), Name: a.ErrorName}
	}
	life := defaultLifetime
	if s, ok := number(a.ExpiresIn); ok && s > 0 {
		life = time.Duration(s) * time.Second
	}
	return Pair{Access: a.AccessToken, Refresh: a.RefreshToken, Expires: now.Add(life)}, nil
}

// Exchange trades an authorization code (from the permission page's
// redirect) and the PKCE verifier it was asked with for a new pair. The
// access token's life counts from the wall clock at the request.
func Exchange(ctx context.Context, hc *http.Client, oauthURL, appID, appSecret, code, verifier string) (Pair, error) {
	if hc == nil {
		hc = http.DefaultClient
	}
	form := url.Values{"code": {code}, "app_id": {appID}, "grant_type": {"authorization_code"}, "code_verifier": {verifier}}
	p, err := postToken(ctx, hc, oauthURL, appSecret, form, time.Now())
	if err != nil {
		return Pair{}, fmt.Errorf("zalo: exchange the code: %w", err)
	}
	return p, nil
}

// NewVerifier returns a PKCE code verifier: 64 characters (RFC 7636 asks
// 43 to 128 of its unreserved alphabet), base64url of 48 bytes from
// crypto/rand.
func NewVerifier() string {
	b := make([]byte, 48)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Challenge is the S256 code challenge of a verifier: base64url of its
// SHA-256, without padding.
func Challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// PermissionURL is the page where the OA's admin grants the app access:
// <oauthURL>/v4/oa/permission?app_id=…&redirect_uri=…&code_challenge=…&state=…
// (state left out when empty).
func PermissionURL(oauthURL, appID, redirect, challenge, state string) string {
	q := "app_id=" + url.QueryEscape(appID) + "&redirect_uri=" + url.QueryEscape(redirect) +
		"&code_challenge=" + url.QueryEscape(challenge)
	if state != "" {
		q += "&state=" + url.QueryEscape(state)
	}
	return strings.TrimRight(oauthURL, "/") + "/v4/oa/permission?" + q
}

// Redirect is what the permission page's redirect carries.
type Redirect struct {
	Code, OAID, State string
}

// ParseRedirect reads what an admin pastes after granting access: the whole
// redirect URL (…?code=…&oa_id=…&state=…), its query alone, or the bare
// code.
func ParseRedirect(input string) (Redirect, error) {
	s := strings.TrimSpace(input)
	if s == "" {
		return Redirect{}, errors.New("zalo: nothing pasted: give the code, or the whole address the browser went to")
	}
	if !strings.ContainsAny(s, "?&=/") {
		if strings.ContainsAny(s, " \t") {
			return Redirect{}, errors.New("zalo: the code has spaces in it: paste it alone, or the whole address")
		}
		code, err := url.QueryUnescape(s)
		if err != nil {
			return Redirect{}, fmt.Errorf("zalo: %q is not a code: %w", s, err)
		}
		return Redirect{Code: code}, nil
	}
	query := s
	if i := strings.IndexByte(s, '?'); i >= 0 {
		query = s[i+1:]
	} else if strings.Contains(s, "://") {
		return Redirect{}, errors.New("zalo: the address has no ?code=…: paste the address the browser went to after you allowed access")
	}
	query, _, _ = strings.Cut(query, "#")
	v, err := url.ParseQuery(query)
	if err != nil {
		return Redirect{}, fmt.Errorf("zalo: cannot read the address's query: %w", err)
	}
	r := Redirect{Code: v.Get("code"), OAID: v.Get("oa_id"), State: v.Get("state")}
	if r.Code == "" {
		if e := v.Get("error"); e != "" {
			return Redirect{}, fmt.Errorf("zalo: Zalo answered with error %s %s instead of a code", e, v.Get("error_description"))
		}
		return Redirect{}, errors.New("zalo: the address has no code=…: paste the address the browser went to after you allowed access")
	}
	return r, nil
}

// CodeFrom returns the authorization code in a bare code or a whole
// redirect URL (see ParseRedirect).
func CodeFrom(input string) (string, error) {
	r, err := ParseRedirect(input)
	return r.Code, err
}
