package zalo_test

import (
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/hangxomso/hangxom/bot/zalo"
	"github.com/hangxomso/hangxom/bot/zalo/zalotest"
)

// TestZaloTokensOnTheFakePlatform links an OA and refreshes its token on
// zalotest's fake platform (written apart from this package's own fake):
// the wire forms agree, two replicas refresh once and never present a
// spent refresh token, and a refused one disconnects.
func TestZaloTokensOnTheFakePlatform(t *testing.T) {
	z := zalotest.NewServer(t)
	clk := &clock{now: time.Now()}
	z.Now = clk.Now
	hc := zalotest.LoopbackClient(10 * time.Second)
	v := zalo.NewVerifier()
	code := z.Authorize(zalo.Challenge(v))
	p, err := zalo.Exchange(t.Context(), hc, z.URL, z.AppID, z.AppSecret, code, v)
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if _, err := zalo.Exchange(t.Context(), hc, z.URL, z.AppID, z.AppSecret, code, v); err == nil {
		t.Error("a code was exchanged twice")
	}
	st, lock := &memStore{}, &memLock{}
	if _, err := st.ReplaceZaloTokens(t.Context(), "", p.Access, p.Refresh, p.Expires); err != nil {
		t.Fatal(err)
	}
	clk.Add(p.Expires.Sub(clk.Now()) - 30*time.Minute) // within the hour before expiry
	replica := func() *zalo.Tokens {
		return &zalo.Tokens{Store: st, Lock: lock.Lock, OAuthURL: z.URL, AppID: z.AppID, AppSecret: z.AppSecret,
			HTTP: hc, Clock: clk.Now, Logger: slog.New(slog.DiscardHandler)}
	}
	got := tokens(t, 20, replica(), replica())
	stored, _ := st.pair()
	oldOrNew(t, got, p.Access, stored.Access)
	if z.Refreshes() != 1 || z.RefusedRefreshes() != 0 {
		t.Errorf("%d refreshes, %d refused; want 1, 0", z.Refreshes(), z.RefusedRefreshes())
	}
	// A pair whose refresh token the platform does not know is refused.
	if _, err := st.ReplaceZaloTokens(t.Context(), "", "not-issued", "not-issued-either", clk.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := replica().Token(t.Context()); !errors.Is(err, zalo.ErrDisconnected) {
		t.Errorf("Token with an unknown refresh token = %v, want ErrDisconnected", err)
	}
}
