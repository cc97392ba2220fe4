package store_test

import (
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/hangxomso/hangxom/store"
)

func TestKeptAliveLastsUntilTheWindowCloses(t *testing.T) {
	m := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { _ = c.Close() })
	st := store.New(c, store.Options{Prefix: "alive:v1", DataKey: []byte("k")})
	if w, err := st.KeptAlive(t.Context(), "zl:1"); err != nil || w != "" {
		t.Fatalf("before any mark: %q, %v", w, err)
	}
	if err := st.MarkKeptAlive(t.Context(), "zl:1", "1700000000000", 20*time.Hour); err != nil {
		t.Fatal(err)
	}
	if w, err := st.KeptAlive(t.Context(), "zl:1"); err != nil || w != "1700000000000" {
		t.Fatalf("after the mark: %q, %v", w, err)
	}
	m.FastForward(21 * time.Hour)
	if w, _ := st.KeptAlive(t.Context(), "zl:1"); w != "" {
		t.Errorf("the mark outlived its window: %q", w)
	}
	_ = st.MarkKeptAlive(t.Context(), "zl:2", "1", time.Hour)
	if err := st.Forget(t.Context(), "zl:2"); err != nil {
		t.Fatal(err)
	}
	if w, _ := st.KeptAlive(t.Context(), "zl:2"); w != "" {
		t.Errorf("Forget left the mark: %q", w)
	}
}
