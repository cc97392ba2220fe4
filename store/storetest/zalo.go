package storetest

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hangxomso/hangxom/store"
)

// zaloPair is what ZaloTokens returns.
type zaloPair struct {
	Access, Refresh, Disconnected string
	Expires                       time.Time
}

func readZalo(t *testing.T, s *store.Redis) zaloPair {
	t.Helper()
	a, r, exp, disc, err := s.ZaloTokens(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return zaloPair{Access: a, Refresh: r, Disconnected: disc, Expires: exp}
}

func replaceZalo(t *testing.T, s *store.Redis, old, access, refresh string, exp time.Time) bool {
	t.Helper()
	ok, err := s.ReplaceZaloTokens(t.Context(), old, access, refresh, exp)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// testZaloTokens covers the Zalo OA's token pair: a first link, the
// compare-and-set a refresh writes with, the disconnected mark, and
// concurrent refreshers of which exactly one wins.
func testZaloTokens(t *testing.T, s *store.Redis) {
	ctx := t.Context()
	exp := t0.Add(25 * time.Hour)
	diff(t, "nothing stored", zaloPair{}, readZalo(t, s))
	st, err := s.ZaloStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "status of nothing", store.ZaloStatus{}, st)

	// A refresh cannot write over nothing: only a link ("") does.
	if replaceZalo(t, s, "r0", "a1", "r1", exp) {
		t.Fatal("a compare-and-set on an empty store wrote")
	}
	if !replaceZalo(t, s, "", "a1", "r1", exp) {
		t.Fatal("the first link did not write")
	}
	diff(t, "linked", zaloPair{Access: "a1", Refresh: "r1", Expires: exp}, readZalo(t, s))

	// A stale refresher loses; the current one wins.
	if replaceZalo(t, s, "r0", "aX", "rX", exp) {
		t.Error("a compare-and-set with a spent refresh token wrote")
	}
	exp2 := exp.Add(time.Hour)
	if !replaceZalo(t, s, "r1", "a2", "r2", exp2) {
		t.Fatal("the compare-and-set with the stored refresh token did not write")
	}
	diff(t, "refreshed", zaloPair{Access: "a2", Refresh: "r2", Expires: exp2}, readZalo(t, s))
	if _, err := s.ReplaceZaloTokens(ctx, "r2", "", "r3", exp2); err == nil {
		t.Error("an empty access token was stored")
	}

	// Disconnecting for a refused token that was already replaced does
	// nothing; for the stored one it marks.
	if ok, err := s.SetZaloDisconnected(ctx, "r1", "refresh refused: -14014"); err != nil || ok {
		t.Errorf("disconnect for a replaced token: %v %v", ok, err)
	}
	if ok, err := s.SetZaloDisconnected(ctx, "r2", "refresh refused: -14014"); err != nil || !ok {
		t.Fatalf("disconnect: %v %v", ok, err)
	}
	diff(t, "disconnected", zaloPair{Access: "a2", Refresh: "r2", Expires: exp2, Disconnected: "refresh refused: -14014"}, readZalo(t, s))
	st, err = s.ZaloStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Linked || st.Gen != 2 || !st.Expires.Equal(exp2) || st.Disconnected != "refresh refused: -14014" || st.DisconnectedAt.IsZero() {
		t.Errorf("status = %+v", st)
	}
	for _, f := range []string{"a2", "r2"} {
		if strings.Contains(st.Disconnected, f) {
			t.Errorf("status holds a token")
		}
	}

	// A relink clears the mark.
	if !replaceZalo(t, s, "", "a3", "r3", exp2) {
		t.Fatal("relink did not write")
	}
	st, _ = s.ZaloStatus(ctx)
	if st.Disconnected != "" || !st.DisconnectedAt.IsZero() || st.Gen != 3 {
		t.Errorf("status after relink = %+v", st)
	}

	// Ten refreshers with the same token: exactly one writes.
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for i := range 10 {
		wg.Go(func() {
			ok, err := s.ReplaceZaloTokens(ctx, "r3", "a4", "r4-"+string(rune('a'+i)), exp2)
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				won++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if won != 1 {
		t.Errorf("%d refreshers wrote, want 1", won)
	}
}
