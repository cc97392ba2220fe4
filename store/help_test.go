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

func TestFinishedResidentIsNotFollowedUpAgain(t *testing.T) {
	m := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { _ = c.Close() })
	st := store.New(c, store.Options{Prefix: "done:v1", DataKey: []byte("k")})
	at := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	// The team logged her as done; then she takes one more step in the bot.
	if _, err := st.LogTeamCompletion(t.Context(), "a-1", "ewallet", "tg:20", at, "log-1"); err != nil {
		t.Fatal(err)
	}
	commit := func(update string, e flows.Effect) {
		s, _ := st.Session(t.Context(), "tg:20")
		if err := st.Commit(t.Context(), flows.Commit{Resident: "tg:20", Expect: s.Version, Session: s, UpdateID: update, Effects: []flows.Effect{e}}); err != nil {
			t.Fatal(err)
		}
		if err := st.ApplyEffects(t.Context(), "tg:20"); err != nil {
			t.Fatal(err)
		}
	}
	commit("u1", flows.Effect{Kind: flows.EffectStarted, Flow: "ewallet", Hamlet: "a-1", At: at.Add(time.Hour)})
	commit("u2", flows.Effect{Kind: flows.EffectActivity, Flow: "ewallet", Hamlet: "a-1", At: at.Add(2 * time.Hour)})
	open, err := st.Open(t.Context(), "a-1", "ewallet")
	if err != nil || len(open) != 0 {
		t.Errorf("a finished resident is back on the unfinished list: %v %v", open, err)
	}
}
