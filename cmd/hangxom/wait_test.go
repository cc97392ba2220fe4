package main

import (
	"context"
	"io"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/loadtest"
	"github.com/hangxomso/hangxom/store"
)

// startReplica starts a redis-server replicating master and waits until
// the link is up.
func startReplica(t testing.TB, master *loadtest.RedisServer) (*loadtest.RedisServer, *redis.Client) {
	t.Helper()
	host, port, _ := strings.Cut(master.Addr, ":")
	srv, err := loadtest.StartRedis(t.Context(), t.TempDir(), "--replicaof", host, port, "--enable-debug-command", "yes")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	c := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { _ = c.Close() })
	deadline := time.Now().Add(15 * time.Second)
	for {
		info, _ := c.Info(t.Context(), "replication").Result()
		if strings.Contains(info, "master_link_status:up") {
			return srv, c
		}
		if time.Now().After(deadline) {
			t.Fatalf("the replica's link to the master is not up: %s", info)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// REDIS_WAIT_REPLICAS: a commit returns once the replica has it, in one
// round trip; with the replica not answering, it returns after the
// timeout, kept, and counted short.
func TestCommitWaitsForReplicas(t *testing.T) {
	master := startRedis(t)
	_, replica := startReplica(t, master)
	client := redis.NewClient(&redis.Options{Addr: master.Addr})
	t.Cleanup(func() { _ = client.Close() })
	trips := &store.RoundTrips{}
	client.AddHook(trips)
	st := store.New(client, store.Options{Prefix: "wait:v1", DataKey: []byte("k"), WaitReplicas: 1, WaitTimeout: 300 * time.Millisecond})
	ctx := t.Context()
	// The script cache filled first (a NOSCRIPT costs a round trip).
	if err := st.Commit(ctx, flows.Commit{Resident: "tg:0", Session: flows.Session{Token: "t0"}}); err != nil {
		t.Fatal(err)
	}
	for i, who := range []string{"tg:1", "tg:2", "tg:3"} {
		before := trips.Total()
		err := st.Commit(ctx, flows.Commit{Resident: who, Session: flows.Session{Token: "t1", Stage: flows.StageMenu},
			UpdateID: "u1", Outbox: []flows.Reply{{ID: "u1#0", Text: "x"}}})
		if err != nil {
			t.Fatal(err)
		}
		if n := trips.Total() - before; n != 1 {
			t.Errorf("commit %d took %d round trips, want 1", i, n)
		}
		// WAIT returned: the replica has the write now, not later.
		if raw, err := replica.Get(ctx, st.Keys().Session(who)).Result(); err != nil || !strings.Contains(raw, `"tok":"t1"`) {
			t.Errorf("commit %d: the replica has %q (%v) when the commit returns", i, raw, err)
		}
	}
	if n := st.ShortWaits(); n != 0 {
		t.Errorf("%d commits short of replicas with the replica up", n)
	}
	// A replica busy for a second cannot acknowledge: the commit waits the
	// timeout, is kept, and is counted.
	go func() { _ = replica.Do(ctx, "DEBUG", "SLEEP", "1").Err() }()
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	if err := st.Commit(ctx, flows.Commit{Resident: "tg:4", Session: flows.Session{Token: "t1"}}); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 250*time.Millisecond {
		t.Errorf("a commit the replica could not acknowledge returned after %v, want the 300 ms timeout", took)
	}
	if n := st.ShortWaits(); n != 1 {
		t.Errorf("%d commits short of replicas, want 1", n)
	}
	if s, err := st.Session(ctx, "tg:4"); err != nil || s.Version != 1 {
		t.Errorf("the commit short of replicas was not kept: %+v %v", s, err)
	}
}

// BenchmarkCommitWait times a turn's commit on a master with one replica,
// without REDIS_WAIT_REPLICAS and with 1: one commit at a time (its
// latency) and many at once (the throughput), with the round trips each
// commit takes.
func BenchmarkCommitWait(b *testing.B) {
	master, err := loadtest.StartRedis(b.Context(), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(master.Stop)
	startReplica(b, master)
	client := redis.NewClient(&redis.Options{Addr: master.Addr, PoolSize: 64})
	defer client.Close()
	trips := &store.RoundTrips{}
	client.AddHook(trips)
	reply := []flows.Reply{{ID: "u#0", Text: strings.Repeat("x", 300)}}
	var n atomic.Int64 // residents, new for every commit
	for _, waits := range []int{0, 1} {
		st := store.New(client, store.Options{Prefix: "bench:v1:" + strconv.Itoa(waits), DataKey: []byte("k"), WaitReplicas: waits})
		if err := st.LoadScripts(b.Context()); err != nil {
			b.Fatal(err)
		}
		for _, parallel := range []bool{false, true} {
			name := "wait=" + strconv.Itoa(waits) + map[bool]string{false: "/serial", true: "/parallel"}[parallel]
			b.Run(name, func(b *testing.B) {
				commit := func() {
					i := n.Add(1)
					who := "tg:" + strconv.FormatInt(i, 10)
					err := st.Commit(b.Context(), flows.Commit{Resident: who, Session: flows.Session{Token: "t", Stage: flows.StageMenu},
						UpdateID: "u" + strconv.FormatInt(i, 10), Outbox: reply})
					if err != nil {
						b.Error(err)
					}
				}
				before, first := trips.Total(), n.Load()
				b.ResetTimer()
				if parallel {
					b.SetParallelism(16)
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							commit()
						}
					})
				} else {
					for b.Loop() {
						commit()
					}
				}
				b.ReportMetric(float64(trips.Total()-before)/float64(n.Load()-first), "trips/commit")
				if short := st.ShortWaits(); short > 0 {
					b.ReportMetric(float64(short), "short-waits")
				}
			})
		}
	}
}

// loseAnswer is a connection whose next read after a write containing
// marker fails once: the command ran on the server and its answer is
// lost, so go-redis sends it again on a new connection.
type loseAnswer struct {
	net.Conn
	armed  *atomic.Bool
	marker string
	lose   bool
}

func (c *loseAnswer) Write(p []byte) (int, error) {
	if c.armed.Load() && strings.Contains(strings.ToLower(string(p)), c.marker) {
		c.lose = c.armed.CompareAndSwap(true, false)
	}
	return c.Conn.Write(p)
}

func (c *loseAnswer) Read(p []byte) (int, error) {
	if c.lose {
		time.Sleep(50 * time.Millisecond) // the server has run the commands
		_ = c.Conn.Close()
		return 0, io.EOF
	}
	return c.Conn.Read(p)
}

// A commit whose answer is lost is sent again by go-redis, with or
// without REDIS_WAIT_REPLICAS: the second send finds the first one's write
// and the commit succeeds, once (it was taken for another writer's and the
// turn ran twice).
func TestCommitSentAgainIsDoneOnce(t *testing.T) {
	srv := startRedis(t)
	for _, waits := range []int{0, 1} {
		var armed atomic.Bool
		client := redis.NewClient(&redis.Options{Addr: srv.Addr, Dialer: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &loseAnswer{Conn: c, armed: &armed, marker: "evalsha"}, nil
		}})
		trips := &store.RoundTrips{}
		client.AddHook(trips)
		st := store.New(client, store.Options{Prefix: "again:v1:" + strconv.Itoa(waits), DataKey: []byte("k"),
			WaitReplicas: waits, WaitTimeout: 5 * time.Millisecond})
		if err := st.LoadScripts(t.Context()); err != nil {
			t.Fatal(err)
		}
		armed.Store(true)
		err := st.Commit(t.Context(), flows.Commit{Resident: "tg:1", Session: flows.Session{Token: flows.NewToken()},
			UpdateID: "u1", Outbox: []flows.Reply{{ID: "u1#0", Text: "x"}}})
		if armed.Load() {
			t.Fatalf("waits=%d: the answer was not lost: the test proves nothing", waits)
		}
		// Without WAIT the commit is a MULTI/EXEC, which go-redis does not
		// send again: the lost answer is an error (the platform delivers
		// the update again, found processed). With WAIT it is sent again.
		if err != nil && waits > 0 {
			t.Errorf("waits=%d: a commit sent again: %v", waits, err)
		}
		if out, err := st.Outbox(t.Context(), "tg:1"); err != nil || len(out) != 1 {
			t.Errorf("waits=%d: %d replies in the outbox (%v), want 1", waits, len(out), err)
		}
		if s, err := st.Session(t.Context(), "tg:1"); err != nil || s.Version != 1 {
			t.Errorf("waits=%d: session %+v (%v), want version 1", waits, s, err)
		}
		_ = client.Close()
	}
}
