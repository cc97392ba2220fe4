package loadtest

import (
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestSentinelFailoverKillRestart runs the chaos phase's Sentinel setup
// through its events: a failover moves the master, and a master killed
// with its AOF cut back a second comes back without the writes of that
// second, still the master.
func TestSentinelFailoverKillRestart(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-server must be installed when CI=true (see .ci/run)")
		}
		t.Skip("redis-server is not installed")
	}
	ctx := t.Context()
	s, err := StartSentinel(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	c := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: SentinelMaster, SentinelAddrs: s.Addrs()})
	defer c.Close()
	if err := c.Set(ctx, "before", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	// Replication is asynchronous: a failover may lose a write the
	// replica has not yet had (it did, on a busy machine). This one must be
	// on the replica before the failover, so that only the cut loses keys.
	if n, err := c.Do(ctx, "WAIT", 1, 5000).Int(); err != nil || n != 1 {
		t.Fatalf("WAIT: %d replicas (%v), want 1", n, err)
	}
	from, to, err := s.Failover(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if from == to || from != s.Nodes[0] {
		t.Fatalf("failover from %s to %s", from.Addr, to.Addr)
	}
	if m, _ := s.Master(ctx); m != to {
		t.Fatalf("the sentinel names %v, want %s", m, to.Addr)
	}
	// Written to the new master (the failover client may still be on the
	// old one for a moment, whose writes are then lost), then a second and
	// more of quiet (the AOF's size is kept every 50 ms), then written
	// again: the cut loses only the second.
	direct := redis.NewClient(&redis.Options{Addr: to.Addr})
	defer direct.Close()
	if err := direct.Set(ctx, "kept", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	if err := direct.Set(ctx, "lost", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	killed, cut, err := s.KillMaster(ctx, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if killed != to || cut == 0 {
		t.Fatalf("killed %s (master %s), %d AOF bytes cut", killed.Addr, to.Addr, cut)
	}
	if err := s.RestartNode(ctx, killed); err != nil {
		t.Fatal(err)
	}
	if role, err := Role(ctx, killed); err != nil || role != "master" {
		t.Fatalf("restarted as %q (%v), want master", role, err)
	}
	for k, want := range map[string]int64{"before": 1, "kept": 1, "lost": 0} {
		if n, err := direct.Exists(ctx, k).Result(); err != nil || n != want {
			t.Errorf("key %q: exists %d (%v), want %d", k, n, err, want)
		}
	}
}
