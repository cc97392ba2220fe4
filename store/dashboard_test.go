package store

import (
	"strconv"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/hangxomso/hangxom/flows"
)

func TestDashSessionsPerMemberStayFewAndAreAllRevoked(t *testing.T) {
	m := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { _ = c.Close() })
	now := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	r := New(c, Options{Prefix: "dash:v1", DataKey: []byte("k"), Clock: flows.ClockFunc(func() time.Time { return now })})
	ctx := t.Context()
	idx := r.keys.DashMemberSessions("tg:5")
	// Sessions made before the index was a ZSET, still listed in a SET.
	if err := c.SAdd(ctx, idx, "legacy").Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, r.keys.DashSession("legacy"), "{}", 12*time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	var hashes []string
	for i := range 30 {
		h := "h" + strconv.Itoa(i)
		hashes = append(hashes, h)
		if err := r.CreateDashSession(ctx, h, "tg:5", []byte("{}"), now.Add(12*time.Hour)); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Hour)
		m.FastForward(time.Hour)
	}
	if n := c.ZCard(ctx, idx).Val(); n > maxDashSessions {
		t.Errorf("after 30 logins over 30 h the index holds %d entries, want ≤ %d", n, maxDashSessions)
	}
	live := 0
	for _, h := range append(hashes, "legacy") {
		if c.Exists(ctx, r.keys.DashSession(h)).Val() == 1 {
			live++
		}
	}
	if live != maxDashSessions {
		t.Errorf("%d sessions live, want the newest %d", live, maxDashSessions)
	}
	if _, ok, _ := r.DashSession(ctx, "h29"); !ok {
		t.Errorf("the newest session was dropped")
	}
	if err := r.DeleteDashSession(ctx, "h29", "tg:5"); err != nil {
		t.Fatal(err)
	}
	if err := r.revokeDashboard(ctx, "tg:5"); err != nil {
		t.Fatal(err)
	}
	for _, h := range append(hashes, "legacy") {
		if c.Exists(ctx, r.keys.DashSession(h)).Val() == 1 {
			t.Errorf("session %s outlived the revocation", h)
		}
	}
	if c.Exists(ctx, idx).Val() == 1 {
		t.Errorf("the index outlived the revocation")
	}
}

func TestRevokingALegacySetIndex(t *testing.T) {
	m := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { _ = c.Close() })
	r := New(c, Options{Prefix: "dash:v1", DataKey: []byte("k")})
	ctx := t.Context()
	idx := r.keys.DashMemberSessions("tg:5")
	for _, h := range []string{"a", "b"} {
		c.SAdd(ctx, idx, h)
		c.Set(ctx, r.keys.DashSession(h), "{}", time.Hour)
	}
	if err := r.DeleteDashSession(ctx, "a", "tg:5"); err != nil {
		t.Fatal(err)
	}
	if err := r.revokeDashboard(ctx, "tg:5"); err != nil {
		t.Fatal(err)
	}
	if n := c.Exists(ctx, idx, r.keys.DashSession("a"), r.keys.DashSession("b")).Val(); n != 0 {
		t.Errorf("%d keys left", n)
	}
}
