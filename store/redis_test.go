package store_test

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/hangxomso/hangxom/delivery"
	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/store"
	"github.com/hangxomso/hangxom/store/storetest"
)

func TestMiniredis(t *testing.T) {
	storetest.Run(t, func(t *testing.T) redis.UniversalClient {
		m := miniredis.RunT(t)
		return redis.NewClient(&redis.Options{Addr: m.Addr(), ContextTimeoutEnabled: true})
	})
}

func TestMiniredisWaiting(t *testing.T) {
	storetest.RunWaiting(t, func(t *testing.T) redis.UniversalClient {
		m := miniredis.RunT(t)
		return redis.NewClient(&redis.Options{Addr: m.Addr(), ContextTimeoutEnabled: true})
	})
}

func TestRealServerWaiting(t *testing.T) {
	url := requireEnv(t, "TEST_REDIS_URL")
	storetest.RunWaiting(t, func(t *testing.T) redis.UniversalClient {
		c, err := store.Connect(store.ConnectConfig{URL: url})
		if err != nil {
			t.Fatal(err)
		}
		return c
	})
}

func TestRealClusterWaiting(t *testing.T) {
	addrs := strings.Split(requireEnv(t, "TEST_REDIS_CLUSTER_ADDRS"), ",")
	storetest.RunWaiting(t, func(t *testing.T) redis.UniversalClient {
		c, err := store.Connect(store.ConnectConfig{ClusterAddrs: addrs})
		if err != nil {
			t.Fatal(err)
		}
		return c
	})
}

func TestEmbedded(t *testing.T) {
	storetest.Run(t, func(t *testing.T) redis.UniversalClient {
		c, closeFn, err := store.OpenEmbedded()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(closeFn)
		return c
	})
}

// requireEnv returns the variable, skipping the test when it is unset, except
// in CI, where the real servers must be there.
func requireEnv(t *testing.T, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v != "" {
		return v
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not set in CI: source .ci/redis.sh first", name)
	}
	t.Skipf("%s not set", name)
	return ""
}

func TestRealServer(t *testing.T) {
	url := requireEnv(t, "TEST_REDIS_URL")
	storetest.Run(t, func(t *testing.T) redis.UniversalClient {
		c, err := store.Connect(store.ConnectConfig{URL: url})
		if err != nil {
			t.Fatal(err)
		}
		return c
	})
}

func TestRealCluster(t *testing.T) {
	addrs := strings.Split(requireEnv(t, "TEST_REDIS_CLUSTER_ADDRS"), ",")
	storetest.Run(t, func(t *testing.T) redis.UniversalClient {
		c, err := store.Connect(store.ConnectConfig{ClusterAddrs: addrs})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := c.(*redis.ClusterClient); !ok {
			t.Fatalf("Connect gave a %T, want a cluster client", c)
		}
		return c
	})
}

func TestConnectConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  store.ConnectConfig
		ok   bool
	}{
		{"url", store.ConnectConfig{URL: "redis://:pw@127.0.0.1:6390/2"}, true},
		{"tls url", store.ConnectConfig{URL: "rediss://127.0.0.1:6390/0"}, true},
		{"cluster", store.ConnectConfig{ClusterAddrs: []string{"a:1", "b:2"}}, true},
		{"sentinel", store.ConnectConfig{SentinelAddrs: []string{"a:26379"}, MasterName: "mymaster"}, true},
		{"nothing", store.ConnectConfig{}, false},
		{"two", store.ConnectConfig{URL: "redis://a:1", ClusterAddrs: []string{"a:1"}}, false},
		{"sentinel without master", store.ConnectConfig{SentinelAddrs: []string{"a:26379"}}, false},
		{"bad url", store.ConnectConfig{URL: "http://secret@x"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := store.Connect(tt.cfg)
			if (err == nil) != tt.ok {
				t.Fatalf("Connect: err = %v, want ok=%v", err, tt.ok)
			}
			if err != nil {
				if strings.Contains(err.Error(), "secret") {
					t.Errorf("error repeats the URL: %v", err)
				}
				return
			}
			defer c.Close()
			// RESP2: no look for push notifications before each reply.
			proto := 0
			switch c := c.(type) {
			case *redis.Client:
				proto = c.Options().Protocol
			case *redis.ClusterClient:
				proto = c.Options().Protocol
			}
			if proto != 2 {
				t.Errorf("protocol %d, want RESP2", proto)
			}
		})
	}
}

// TestMiniredisTTL checks the lifetimes, which only miniredis can fast-forward.
func TestMiniredisTTL(t *testing.T) {
	m := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { _ = c.Close() })
	s := store.New(c, store.Options{LockTTL: 2 * time.Second, LockWait: 50 * time.Millisecond})
	ctx := t.Context()

	if _, err := s.Lock(ctx, "tg:1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Lock(ctx, "tg:1"); !errors.Is(err, flows.ErrLocked) {
		t.Fatalf("second Lock: got %v, want ErrLocked", err)
	}
	m.FastForward(2 * time.Second)
	unlock, err := s.Lock(ctx, "tg:1")
	if err != nil {
		t.Fatalf("Lock after the holder's TTL: %v", err)
	}
	unlock()

	if err := s.Commit(ctx, flows.Commit{Resident: "tg:1", UpdateID: "tg:9",
		Outbox: []flows.Reply{{ID: "tg:9:0", Text: "x"}}}); err != nil {
		t.Fatal(err)
	}
	m.FastForward(store.ProcessedTTL - time.Second)
	if p, err := s.Processed(ctx, "tg:1", "tg:9"); err != nil || !p {
		t.Fatalf("processed just before its TTL: %v %v", p, err)
	}
	m.FastForward(time.Second)
	if p, err := s.Processed(ctx, "tg:1", "tg:9"); err != nil || p {
		t.Fatalf("processed after its TTL: %v %v", p, err)
	}
	m.FastForward(store.OutboxTTL)
	if out, err := s.Outbox(ctx, "tg:1"); err != nil || len(out) != 0 {
		t.Fatalf("outbox after its TTL: %v %v", out, err)
	}
	sess, err := s.Session(ctx, "tg:1")
	if err != nil || sess.Version != 1 {
		t.Fatalf("session must not expire: %+v %v", sess, err)
	}
}

// TestMiniredisLeaseExpiry lets a lease and a send lock expire for real.
func TestMiniredisLeaseExpiry(t *testing.T) {
	m := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { _ = c.Close() })
	s := store.New(c, store.Options{LockTTL: 2 * time.Second, LockWait: 50 * time.Millisecond})
	ctx := t.Context()

	l, ok, err := s.AcquireLease(ctx, "poll", 3*time.Second)
	if err != nil || !ok {
		t.Fatalf("AcquireLease: %v %v", ok, err)
	}
	m.FastForward(2 * time.Second)
	if ok, err := l.Renew(ctx); err != nil || !ok {
		t.Fatalf("Renew before expiry: %v %v", ok, err)
	}
	m.FastForward(2 * time.Second) // 4 s after acquiring, 2 s after renewing
	if _, ok, _ := s.AcquireLease(ctx, "poll", time.Second); ok {
		t.Fatal("lease taken while renewed")
	}
	m.FastForward(time.Second)
	if ok, err := l.Renew(ctx); err != nil || ok {
		t.Fatalf("Renew after expiry: %v %v", ok, err)
	}
	if _, ok, err := s.AcquireLease(ctx, "poll", time.Second); err != nil || !ok {
		t.Fatalf("AcquireLease after expiry: %v %v", ok, err)
	}

	// The send lock a claim takes (an outbox with a reply keeps it).
	if err := s.Commit(ctx, flows.Commit{Resident: "tg:1", UpdateID: "tg:1",
		Outbox: []flows.Reply{{ID: "tg:1#0", Text: "x"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClaimOutbox(ctx, "tg:1", delivery.Pace{Rate: 10, Burst: 5}, delivery.Limits{MaxText: 4096, OneMessage: 4096, MaxCaption: 1024}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClaimOutbox(ctx, "tg:1", delivery.Pace{Rate: 10, Burst: 5}, delivery.Limits{MaxText: 4096, OneMessage: 4096, MaxCaption: 1024}); !errors.Is(err, flows.ErrLocked) {
		t.Fatalf("second ClaimOutbox: got %v, want ErrLocked", err)
	}
	m.FastForward(2 * time.Second)
	if _, err := s.ClaimOutbox(ctx, "tg:1", delivery.Pace{Rate: 10, Burst: 5}, delivery.Limits{MaxText: 4096, OneMessage: 4096, MaxCaption: 1024}); err != nil {
		t.Fatalf("ClaimOutbox after the holder's TTL: %v", err)
	}
}

// TestHamletSetsAreArraysOfIntegers checks on a real server what the
// pseudonyms are numbers for: a hamlet's sets of a few hundred residents are
// kept as intsets (8 bytes a member), not hash tables of strings.
func TestHamletSetsAreArraysOfIntegers(t *testing.T) {
	url := requireEnv(t, "TEST_REDIS_URL")
	c, err := store.Connect(store.ConnectConfig{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	prefix := "intset" + strconv.FormatInt(time.Now().UnixNano(), 36) + ":v1"
	st := store.New(c, store.Options{Prefix: prefix, DataKey: []byte("k")})
	ctx := t.Context()
	t.Cleanup(func() {
		keys, _ := c.Keys(ctx, prefix+":*").Result()
		for _, k := range keys {
			c.Del(ctx, k)
		}
	})
	const n = 300
	for i := range n {
		res := "tg:" + strconv.Itoa(5000+i)
		unlock, err := st.Lock(ctx, res)
		if err != nil {
			t.Fatal(err)
		}
		err = st.Commit(ctx, flows.Commit{Resident: res, Session: flows.Session{Hamlet: "h-1"},
			Effects: []flows.Effect{{Kind: flows.EffectStarted, Flow: "ewallet", Hamlet: "h-1", At: time.Now()}}})
		unlock()
		if err != nil {
			t.Fatal(err)
		}
		if err := st.ApplyEffects(ctx, res); err != nil {
			t.Fatal(err)
		}
	}
	key := st.Keys().Started("h-1", "ewallet")
	if got, err := c.SCard(ctx, key).Result(); err != nil || got != n {
		t.Fatalf("started set has %d members (%v), want %d", got, err, n)
	}
	enc, err := c.ObjectEncoding(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	if enc != "intset" {
		t.Errorf("a hamlet's set of %d pseudonyms is encoded %q, want intset", n, enc)
	}
}

// TestFunnelSeenStaysCompact: 600 residents of a hamlet each reaching 15
// steps of a guide in a month keep the funnel's records (Keys.FunnelSeen)
// as compact listpacks, about 12 bytes a resident and field, not a table's
// ~70 (a real server only: miniredis has no OBJECT ENCODING).
func TestFunnelSeenStaysCompact(t *testing.T) {
	url := requireEnv(t, "TEST_REDIS_URL")
	c, err := store.Connect(store.ConnectConfig{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	prefix := "seen" + strconv.FormatInt(time.Now().UnixNano(), 36) + ":v1"
	st := store.New(c, store.Options{Prefix: prefix, DataKey: []byte("k")})
	ctx := t.Context()
	t.Cleanup(func() {
		keys, _ := c.Keys(context.Background(), prefix+":*").Result()
		for _, k := range keys {
			c.Del(context.Background(), k)
		}
	})
	now := time.Now()
	var marks []flows.Mark
	for i := range 15 {
		marks = append(marks, flows.Mark{Flow: "ewallet", Step: "step" + strconv.Itoa(i), Hamlet: "h-1", At: now})
	}
	const n = 600
	for i := range n {
		res := "tg:" + strconv.Itoa(5000+i)
		err := st.Commit(ctx, flows.Commit{Resident: res, Session: flows.Session{Hamlet: "h-1", Token: flows.NewToken()}, Marks: marks})
		if err != nil {
			t.Fatal(err)
		}
	}
	keys, err := c.Keys(ctx, prefix+":{h:h-1}:seen:*").Result()
	if err != nil || len(keys) == 0 {
		t.Fatalf("seen keys: %v, %v", keys, err)
	}
	for _, k := range keys {
		if enc, err := c.ObjectEncoding(ctx, k).Result(); err != nil || enc != "listpack" {
			t.Errorf("%s is encoded %q (%v), want listpack", k, enc, err)
		}
	}
	rows, err := st.Funnel(ctx, "h-1", &flows.Flow{ID: "ewallet", Steps: []flows.Step{{ID: "step0"}}}, []string{now.UTC().Format("2006-01")}, now)
	if err != nil || len(rows) != 15 || rows[0].Reached != n || rows[14].Reached != n {
		t.Errorf("funnel %+v, %v: want %d residents at each of 15 steps", rows, err, n)
	}
}
