package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/hangxomso/hangxom/bot/zalo"
	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/store"
)

// The store keeps the Zalo OA's token pair for the channel, which does not
// import it.
var _ zalo.TokenStore = (*store.Redis)(nil)

// runZalo runs the zalo subcommands:
//
//	hangxom zalo connect    link the Zalo OA (OAuth v4 with PKCE) and store its tokens
func runZalo(ctx context.Context, e *environ, args []string) error {
	if len(args) == 0 || args[0] != "connect" {
		return usagef("zalo: the only subcommand is \"connect\"")
	}
	return runZaloConnect(ctx, e, args[1:])
}

// runZaloConnect links the OA: it prints the permission page's address
// (PKCE, a fresh verifier and state), reads back the code or the whole
// address Zalo redirected to, exchanges the code and stores the new pair
// over any old one. serve's replicas take it from Redis at their next
// token.
func runZaloConnect(ctx context.Context, e *environ, args []string) error {
	fs := newFlagSet("zalo connect")
	cfg, err := e.settings(fs, args)
	if err != nil {
		return err
	}
	if !cfg.Zalo() {
		return usagef("ZALO_APP_ID: required by zalo connect (the id of the Zalo app linked to the OA), with ZALO_APP_SECRET")
	}
	if cfg.ZaloRedirectURI == "" {
		return usagef("ZALO_REDIRECT_URI: required by zalo connect, or ZALO_WEBHOOK_URL to derive it (its origin + %s)", zaloLinkedPath)
	}
	// Even STORE=memory is refused: the pair is for serve, in another
	// process, and the embedded store loses it when this command exits.
	if cfg.Memory && e.opts.client == nil {
		return usagef("zalo connect: needs a Redis (REDIS_URL, REDIS_CLUSTER_ADDRS or REDIS_SENTINEL_ADDRS): the token pair is stored there for serve; the embedded store would lose it at exit")
	}
	a, err := openStore(ctx, cfg, e.opts, e.stderr)
	if err != nil {
		return err
	}
	defer a.Close()

	verifier := zalo.NewVerifier()
	state := make([]byte, 8)
	_, _ = rand.Read(state) // crypto/rand.Read never fails (Go 1.24+)
	stateText := hex.EncodeToString(state)
	link := zalo.PermissionURL(cfg.ZaloOAuthURL, cfg.ZaloAppID, cfg.ZaloRedirectURI, zalo.Challenge(verifier), stateText)
	fmt.Fprintf(e.stdout, "1. As an admin of the Official Account, open this address and allow access:\n\n   %s\n\n"+
		"2. Zalo then sends the browser to %s?code=…\n   Paste that whole address (or the code alone) here within 10 minutes, then press Enter:\n",
		link, cfg.ZaloRedirectURI)
	line, err := readLine(ctx, e.stdin)
	if err != nil {
		return err
	}
	r, err := zalo.ParseRedirect(line)
	if err != nil {
		return fmt.Errorf("zalo connect: %w", err)
	}
	if r.State != "" && r.State != stateText {
		return errors.New("zalo connect: the address comes from another run of zalo connect (its state differs); allow access again with the address above")
	}
	if cfg.ZaloOAID != "" && r.OAID != "" && r.OAID != cfg.ZaloOAID {
		return fmt.Errorf("zalo connect: Zalo granted access to OA %s, but ZALO_OA_ID is %s: allow access as an admin of that OA", r.OAID, cfg.ZaloOAID)
	}
	hc := e.opts.httpClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	p, err := zalo.Exchange(ctx, hc, cfg.ZaloOAuthURL, cfg.ZaloAppID, cfg.ZaloAppSecret, r.Code, verifier)
	var refused *zalo.OAuthError
	if errors.As(err, &refused) {
		return fmt.Errorf("zalo connect: Zalo refused the code (%v); a code works once and for 10 minutes: run zalo connect again", refused)
	}
	if err != nil {
		return fmt.Errorf("zalo connect: %w", err)
	}
	// The new link wins over whatever is stored ("" overwrites), and
	// clears a disconnected mark.
	if _, err := a.store.ReplaceZaloTokens(ctx, "", p.Access, p.Refresh, p.Expires); err != nil {
		return fmt.Errorf("zalo connect: %w", err)
	}
	oa := ""
	if r.OAID != "" {
		oa = " (OA " + r.OAID + ")"
	}
	fmt.Fprintf(e.stdout, "Zalo OA linked%s; the access token is valid until %s (%s). serve refreshes it before then.\n",
		oa, p.Expires.In(cfg.TZ).Format("2006-01-02 15:04 MST"), cfg.TZName)
	return nil
}

// readLine reads one line from r, giving up when ctx ends.
func readLine(ctx context.Context, r io.Reader) (string, error) {
	if r == nil {
		return "", errors.New("zalo connect: no standard input to read the code from")
	}
	type result struct {
		line string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		line, err := bufio.NewReader(r).ReadString('\n')
		if errors.Is(err, io.EOF) && strings.TrimSpace(line) != "" {
			err = nil
		}
		done <- result{line, err}
	}()
	select {
	case <-ctx.Done():
		return "", ctx.Err()
	case res := <-done:
		if res.err != nil {
			return "", fmt.Errorf("zalo connect: read the code from standard input: %w", res.err)
		}
		return res.line, nil
	}
}

// newZaloTokens is the OA's token source on the store: the refresh lock is
// a store lease (Keys.Lease("zalo-refresh")).
func newZaloTokens(cfg config, s *store.Redis, hc *http.Client, logger *slog.Logger, clock flows.Clock) *zalo.Tokens {
	t := &zalo.Tokens{Store: s, Lock: leaseLock(s), OAuthURL: cfg.ZaloOAuthURL, AppID: cfg.ZaloAppID,
		AppSecret: cfg.ZaloAppSecret, HTTP: hc, Logger: logger}
	if clock != nil {
		t.Clock = clock.Now
	}
	return t
}

// leaseLock is zalo.Tokens.Lock on the store's leases: one try, no wait;
// the unlock releases the lease with its own deadline, even after ctx
// ended.
func leaseLock(s *store.Redis) func(ctx context.Context, name string, ttl time.Duration) (func(), bool, error) {
	return func(ctx context.Context, name string, ttl time.Duration) (func(), bool, error) {
		l, ok, err := s.AcquireLease(ctx, name, ttl)
		if err != nil || !ok {
			return nil, false, err
		}
		return func() {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			_ = l.Release(ctx) // a lease not released expires
		}, true, nil
	}
}
