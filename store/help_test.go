package store_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/store"
)

func TestHelpClaimOnlyOnce(t *testing.T) {
	m := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { _ = c.Close() })
	st := store.New(c, store.Options{Prefix: "help:v1", DataKey: []byte("k")})
	at := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	h := flows.HelpRequest{ID: "abc", Hamlet: "a-1", Resident: "tg:20", At: at, Status: flows.HelpOpen}
	if ok, err := st.CreateHelp(t.Context(), h); err != nil || !ok {
		t.Fatalf("create: %v %v", ok, err)
	}
	if ok, _ := st.CreateHelp(t.Context(), h); ok {
		t.Error("created twice")
	}
	var wins sync.Map
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, wrote, err := st.UpdateHelp(t.Context(), "abc", func(x *flows.HelpRequest) bool {
				if x.Status != flows.HelpOpen {
					return false
				}
				x.Status, x.ClaimedBy = flows.HelpClaimed, "tg:"+string(rune('a'+i))
				return true
			})
			if err != nil {
				t.Error(err)
			}
			if wrote {
				wins.Store(i, true)
			}
		}()
	}
	wg.Wait()
	n := 0
	wins.Range(func(any, any) bool { n++; return true })
	if n != 1 {
		t.Fatalf("%d claimers won, want 1", n)
	}
	if hs, _ := st.OpenHelps(t.Context(), "a-1"); len(hs) != 1 {
		t.Errorf("open helps = %d", len(hs))
	}
	if _, _, err := st.UpdateHelp(t.Context(), "abc", func(x *flows.HelpRequest) bool { x.Status = flows.HelpClosed; return true }); err != nil {
		t.Fatal(err)
	}
	if hs, _ := st.OpenHelps(t.Context(), "a-1"); len(hs) != 0 {
		t.Errorf("a closed request is still listed")
	}
	if _, _, err := st.UpdateHelp(t.Context(), "nope", func(*flows.HelpRequest) bool { return true }); !errors.Is(err, flows.ErrNoHelp) {
		t.Errorf("missing request: %v", err)
	}
}
