package zalo_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/hangxomso/hangxom/bot/zalo"
	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/flows/flowstest"
	"github.com/hangxomso/hangxom/store"
)

// TestZaloRetriesChangeNothingWithTheRealService feeds the webhook to the
// real conversation service on miniredis: Zalo's retry of a stored event
// (the same msg_id) is acknowledged and leaves no second answer, and a
// follow's greeting, retried, is not said twice.
func TestZaloRetriesChangeNothingWithTheRealService(t *testing.T) {
	m := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { _ = c.Close() })
	clock := flows.ClockFunc(func() time.Time { return hookT0 })
	st := store.New(c, store.Options{Prefix: "zl:v1", DataKey: []byte("k"), Clock: clock})
	svc := &flows.Service{Engine: flowstest.NewEngine(t), Store: st, Clock: clock}
	f := newHookFixture(t, func(h *zalo.Webhook) { h.Service, h.Store = svc, st })
	const user = "84933334444"
	resident := zalo.ResidentID(user)

	for _, body := range [][]byte{f.z.Event("follow", user, nil), f.z.Text(user, "xin chào")} {
		if got := f.deliver(t, body, 0); got != http.StatusOK {
			t.Fatalf("status %d, want 200", got)
		}
		first := flowstest.OutboxTexts(t, st, resident)
		if len(first) == 0 {
			t.Fatal("no answer")
		}
		for retry := 1; retry <= 2; retry++ {
			if got := f.deliver(t, body, retry); got != http.StatusOK {
				t.Fatalf("retry %d: status %d, want 200", retry, got)
			}
			if again := flowstest.OutboxTexts(t, st, resident); len(again) != 0 {
				t.Errorf("retry %d answered again: %q", retry, again)
			}
		}
	}
	if ok, err := st.Reachable(t.Context(), resident); err != nil || !ok {
		t.Errorf("after follow: reachable %v, %v", ok, err)
	}
	if got := f.deliver(t, f.z.Event("unfollow", user, nil), 0); got != http.StatusOK {
		t.Fatalf("unfollow: status %d", got)
	}
	if ok, err := st.Reachable(t.Context(), resident); err != nil || ok {
		t.Errorf("after unfollow: reachable %v, %v", ok, err)
	}
}
