package store

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/hangxomso/hangxom/flows"
)

func keyHash(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:])
}

func TestAPIKeysAreStoredHashedListedAndRevokedByID(t *testing.T) {
	m := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { _ = c.Close() })
	now := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	r := New(c, Options{Prefix: "api:v1", DataKey: []byte("k"), Clock: flows.ClockFunc(func() time.Time { return now })})
	ctx := t.Context()

	a, b := keyHash("hxk_first"), keyHash("hxk_second")
	ka, err := r.CreateAPIKey(ctx, a, "xa-a", "Sở TT&TT", now)
	if err != nil {
		t.Fatal(err)
	}
	if ka.ID != a[:12] || ka.Area != "xa-a" || ka.Name != "Sở TT&TT" || !ka.Created.Equal(now) {
		t.Errorf("created %+v", ka)
	}
	if _, err := r.CreateAPIKey(ctx, a, "tinh", "", now); err == nil {
		t.Error("the same hash stored twice")
	}
	if _, err := r.CreateAPIKey(ctx, "hxk_first", "tinh", "", now); err == nil {
		t.Error("a key stored unhashed")
	}
	if _, err := r.CreateAPIKey(ctx, b, "a-1", "", now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	// Nothing of the key itself is in Redis: only its hash.
	for _, k := range m.Keys() {
		if m.Type(k) != "hash" {
			continue
		}
		fs, _ := m.HKeys(k)
		for _, f := range fs {
			if v := m.HGet(k, f); strings.Contains(f+v, "hxk_") {
				t.Errorf("%s holds a key: %s %s", k, f, v)
			}
		}
	}

	got, found, allowed, _, err := r.APIKey(ctx, a, 5, 20)
	if err != nil || !found || !allowed || got != ka {
		t.Fatalf("APIKey(a) = %+v, %v, %v, %v", got, found, allowed, err)
	}
	if _, found, _, _, err := r.APIKey(ctx, keyHash("hxk_never"), 5, 20); err != nil || found {
		t.Errorf("an unknown key: found %v, %v", found, err)
	}

	list, err := r.APIKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != a[:12] || list[1].ID != b[:12] || list[1].Area != "a-1" {
		t.Errorf("list %+v", list)
	}

	for _, id := range []string{"", "nope", b[:11], strings.ToUpper(b[:12]) + "x"} {
		if ok, err := r.RevokeAPIKey(ctx, id); err != nil || ok {
			t.Errorf("revoke %q: %v %v", id, ok, err)
		}
	}
	if ok, err := r.RevokeAPIKey(ctx, b[:12]); err != nil || !ok {
		t.Fatalf("revoke b: %v %v", ok, err)
	}
	if ok, _ := r.RevokeAPIKey(ctx, b[:12]); ok {
		t.Error("revoked twice")
	}
	if _, found, _, _, _ := r.APIKey(ctx, b, 5, 20); found {
		t.Error("a revoked key is still found")
	}
	if _, found, _, _, _ := r.APIKey(ctx, a, 5, 20); !found {
		t.Error("revoking b revoked a")
	}
}

func TestAnAPIKeyIsLimitedTo5ASecondInBurstsOf20(t *testing.T) {
	m := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { _ = c.Close() })
	now := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	r := New(c, Options{Prefix: "api:v1", DataKey: []byte("k"), Clock: flows.ClockFunc(func() time.Time { return now })})
	ctx := t.Context()
	a, b := keyHash("hxk_a"), keyHash("hxk_b")
	for _, h := range []string{a, b} {
		if _, err := r.CreateAPIKey(ctx, h, "xa-a", "", now); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 20 {
		if _, _, allowed, _, err := r.APIKey(ctx, a, 5, 20); err != nil || !allowed {
			t.Fatalf("request %d of the burst: allowed %v, %v", i+1, allowed, err)
		}
	}
	_, found, allowed, wait, err := r.APIKey(ctx, a, 5, 20)
	if err != nil || !found || allowed || wait != 200*time.Millisecond {
		t.Fatalf("the 21st: found %v allowed %v wait %v, %v; want refused for 200ms", found, allowed, wait, err)
	}
	// Another key has its own limit.
	if _, _, allowed, _, _ := r.APIKey(ctx, b, 5, 20); !allowed {
		t.Error("key b is limited by key a's requests")
	}
	now = now.Add(200 * time.Millisecond)
	if _, _, allowed, _, _ := r.APIKey(ctx, a, 5, 20); !allowed {
		t.Error("refused after the wait")
	}
}
