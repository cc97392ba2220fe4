package loadtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// SentinelMaster is the master name the Sentinel setup watches.
const SentinelMaster = "hx"

// Sentinel is a Redis Sentinel setup this program started on loopback, each
// process in a directory of its own under one: two data nodes, at first a
// master and its replica, both with appendonly yes and appendfsync everysec,
// and one sentinel (quorum 1) watching them. Its methods are not safe for
// concurrent use.
type Sentinel struct {
	Nodes    []*RedisServer // the data nodes; which is the master changes
	Sentinel *RedisServer
	// DownAfter is the sentinel's down-after-milliseconds: a master silent
	// this long is failed over.
	DownAfter time.Duration

	client *redis.Client // to the sentinel
	aof    []*aofWatch   // per node: its AOF files' recent sizes
	stop   context.CancelFunc
	wg     sync.WaitGroup
}

// StartSentinel starts the setup in dir: the master, its replica (caught
// up before the sentinel starts) and the sentinel, which must see both.
func StartSentinel(ctx context.Context, dir string) (*Sentinel, error) {
	s := &Sentinel{DownAfter: time.Second}
	ok := false
	defer func() {
		if !ok {
			s.Stop()
		}
	}()
	var master *RedisServer
	for i := range 2 {
		d := filepath.Join(dir, "node"+strconv.Itoa(i+1))
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
		// No delay before a full sync (Redis waits 5 s for more replicas
		// by default): a restarted master's replica syncs at once.
		extra := []string{"--appendonly", "yes", "--appendfsync", "everysec", "--repl-diskless-sync-delay", "0"}
		if master != nil {
			host, port, _ := strings.Cut(master.Addr, ":")
			extra = append(extra, "--replicaof", host, port)
		}
		n, err := StartRedis(ctx, d, extra...)
		if err != nil {
			return nil, err
		}
		s.Nodes = append(s.Nodes, n)
		if master == nil {
			master = n
		}
	}
	if err := waitRole(ctx, s.Nodes[1], "slave", 15*time.Second); err != nil {
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	sdir := filepath.Join(dir, "sentinel")
	if err := os.MkdirAll(sdir, 0o755); err != nil {
		return nil, err
	}
	host, mport, _ := strings.Cut(master.Addr, ":")
	// The sentinel rewrites its file (what it learns of the nodes): it
	// must be a file of its own, writable.
	conf := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nlogfile %s\n"+
		"sentinel monitor %s %s %s 1\n"+
		"sentinel down-after-milliseconds %s %d\n"+
		"sentinel failover-timeout %s 5000\n"+
		"sentinel parallel-syncs %s 1\n",
		port, sdir, filepath.Join(sdir, "redis.log"), SentinelMaster, host, mport,
		SentinelMaster, s.DownAfter.Milliseconds(), SentinelMaster, SentinelMaster)
	file := filepath.Join(sdir, "sentinel.conf")
	if err := os.WriteFile(file, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	s.Sentinel = &RedisServer{Addr: "127.0.0.1:" + strconv.Itoa(port), Dir: sdir, args: []string{file, "--sentinel"}}
	if err := s.Sentinel.Start(ctx); err != nil {
		return nil, err
	}
	s.client = redis.NewClient(&redis.Options{Addr: s.Sentinel.Addr, MaxRetries: -1})
	// The sentinel finds the replica through the master's INFO: until it
	// has, a failover would find no one to promote.
	deadline := time.Now().Add(20 * time.Second)
	for {
		if ok, err := s.replicaGood(ctx); err == nil && ok {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, fmt.Errorf("the sentinel did not find the replica within 20 s (log: %s)", filepath.Join(sdir, "redis.log"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.stop = cancel
	for _, n := range s.Nodes {
		w := &aofWatch{dir: filepath.Join(n.Dir, "appendonlydir")}
		s.aof = append(s.aof, w)
		s.wg.Add(1)
		go func() { defer s.wg.Done(); w.run(wctx) }()
	}
	ok = true
	return s, nil
}

// replicaGood says whether the sentinel knows a replica it is connected to,
// whose link to the master is up: one SENTINEL FAILOVER can promote.
func (s *Sentinel) replicaGood(ctx context.Context) (bool, error) {
	rs, err := s.client.Do(ctx, "SENTINEL", "REPLICAS", SentinelMaster).Slice()
	if err != nil {
		return false, err
	}
	for _, r := range rs {
		fields := map[string]string{}
		switch r := r.(type) {
		case map[any]any: // RESP3
			for k, v := range r {
				fields[fmt.Sprint(k)] = fmt.Sprint(v)
			}
		case []any: // RESP2: name, value, name, value…
			for i := 0; i+1 < len(r); i += 2 {
				fields[fmt.Sprint(r[i])] = fmt.Sprint(r[i+1])
			}
		}
		if fields["flags"] == "slave" && fields["master-link-status"] == "ok" {
			return true, nil
		}
	}
	return false, nil
}

// Addrs are the sentinel's addresses, for REDIS_SENTINEL_ADDRS.
func (s *Sentinel) Addrs() []string { return []string{s.Sentinel.Addr} }

// MasterAddr is the master's address as the sentinel reports it.
func (s *Sentinel) MasterAddr(ctx context.Context) (string, error) {
	a, err := s.client.Do(ctx, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", SentinelMaster).StringSlice()
	if err != nil {
		return "", err
	}
	if len(a) != 2 {
		return "", fmt.Errorf("the sentinel answered %q for the master's address", a)
	}
	return a[0] + ":" + a[1], nil
}

// Master is the data node the sentinel reports as the master.
func (s *Sentinel) Master(ctx context.Context) (*RedisServer, error) {
	addr, err := s.MasterAddr(ctx)
	if err != nil {
		return nil, err
	}
	for _, n := range s.Nodes {
		if n.Addr == addr {
			return n, nil
		}
	}
	return nil, fmt.Errorf("the sentinel names %s as the master, not one of ours", addr)
}

// Failover asks the sentinel to fail over (SENTINEL FAILOVER) and waits
// until it reports the other node as the master and that node says it is
// one (ROLE). It returns the old master and the new.
func (s *Sentinel) Failover(ctx context.Context) (from, to *RedisServer, err error) {
	if from, err = s.Master(ctx); err != nil {
		return nil, nil, err
	}
	// The sentinel promotes only a replica it has talked to lately (it
	// connects to a replica some time after finding it in the master's
	// INFO): until then it answers NOGOODSLAVE, and asking again is right.
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := s.client.Do(ctx, "SENTINEL", "FAILOVER", SentinelMaster).Err()
		if err == nil {
			break
		}
		if !strings.HasPrefix(err.Error(), "NOGOODSLAVE") || time.Now().After(deadline) || ctx.Err() != nil {
			return nil, nil, fmt.Errorf("SENTINEL FAILOVER: %w", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	deadline = time.Now().Add(30 * time.Second)
	for {
		to, err = s.Master(ctx)
		if err == nil && to != from {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, nil, fmt.Errorf("the sentinel named no new master within 30 s (%v)", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return from, to, waitRole(ctx, to, "master", 30*time.Second)
}

// KillMaster kills the master with SIGKILL. With lose > 0 its AOF is then
// cut back to the size it had lose ago, as a crash of the machine would
// leave it under appendfsync everysec (the kernel keeps what a killed
// process wrote; a power cut loses what was not yet fsynced). It returns
// the node killed and how many AOF bytes were cut.
func (s *Sentinel) KillMaster(ctx context.Context, lose time.Duration) (*RedisServer, int64, error) {
	m, err := s.Master(ctx)
	if err != nil {
		return nil, 0, err
	}
	// Started again, it must come back as a master, as it was.
	m.setReplicaOf("")
	at := time.Now()
	m.Kill()
	var cut int64
	if lose > 0 {
		cut, err = s.aof[slices.Index(s.Nodes, m)].cutTo(at.Add(-lose))
	}
	return m, cut, err
}

// RestartNode starts a killed node again: the same directory, port and
// AOF.
func (s *Sentinel) RestartNode(ctx context.Context, n *RedisServer) error {
	return n.Start(ctx)
}

// Stop stops every process of the setup.
func (s *Sentinel) Stop() {
	if s.stop != nil {
		s.stop()
		s.wg.Wait()
	}
	if s.client != nil {
		_ = s.client.Close()
	}
	if s.Sentinel != nil {
		s.Sentinel.Stop()
	}
	for _, n := range s.Nodes {
		n.Stop()
	}
}

// Role is what ROLE says n is: master, slave (a replica), or an error.
func Role(ctx context.Context, n *RedisServer) (string, error) {
	c := redis.NewClient(&redis.Options{Addr: n.Addr, MaxRetries: -1})
	defer c.Close()
	v, err := c.Do(ctx, "ROLE").Slice()
	if err != nil {
		return "", err
	}
	if len(v) == 0 {
		return "", errors.New("empty ROLE answer")
	}
	role, _ := v[0].(string)
	return role, nil
}

func waitRole(ctx context.Context, n *RedisServer, want string, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		role, err := Role(ctx, n)
		if err == nil && role == want {
			if want == "slave" {
				// And caught up: the link to the master is up.
				if up, _ := replicaLinkUp(ctx, n); up {
					return nil
				}
			} else {
				return nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("%s is not %s after %s (role %q, %v)", n.Addr, want, wait, role, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func replicaLinkUp(ctx context.Context, n *RedisServer) (bool, error) {
	c := redis.NewClient(&redis.Options{Addr: n.Addr, MaxRetries: -1})
	defer c.Close()
	info, err := c.Info(ctx, "replication").Result()
	if err != nil {
		return false, err
	}
	return strings.Contains(info, "master_link_status:up"), nil
}

// setReplicaOf sets the node's --replicaof for its next start: addr, or
// none.
func (s *RedisServer) setReplicaOf(addr string) {
	if i := slices.Index(s.args, "--replicaof"); i >= 0 {
		s.args = slices.Delete(s.args, i, min(i+3, len(s.args)))
	}
	if addr != "" {
		host, port, _ := strings.Cut(addr, ":")
		s.args = append(s.args, "--replicaof", host, port)
	}
}

// aofWatch keeps, every 50 ms, the sizes of a node's AOF files over the
// last few seconds, so a crash can be played as one that lost the data not
// yet fsynced.
type aofWatch struct {
	dir     string
	mu      sync.Mutex
	samples []aofSample
}

type aofSample struct {
	at    time.Time
	sizes map[string]int64
}

func (w *aofWatch) run(ctx context.Context) {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			sizes := map[string]int64{}
			es, _ := os.ReadDir(w.dir)
			for _, e := range es {
				if strings.HasSuffix(e.Name(), ".aof") {
					if fi, err := e.Info(); err == nil {
						sizes[e.Name()] = fi.Size()
					}
				}
			}
			w.mu.Lock()
			w.samples = append(w.samples, aofSample{at: now, sizes: sizes})
			// About 10 s kept.
			if len(w.samples) > 200 {
				w.samples = slices.Delete(w.samples, 0, len(w.samples)-200)
			}
			w.mu.Unlock()
		}
	}
}

// cutTo truncates each AOF file to its size at the last sample taken at
// or before t, and returns the bytes cut. A file that did not exist then is
// left alone (an AOF rewrite since; none happens at the chaos run's size).
func (w *aofWatch) cutTo(t time.Time) (int64, error) {
	w.mu.Lock()
	var at *aofSample
	for i := len(w.samples) - 1; i >= 0; i-- {
		if !w.samples[i].at.After(t) {
			at = &w.samples[i]
			break
		}
	}
	w.mu.Unlock()
	if at == nil {
		return 0, fmt.Errorf("no size of %s's AOF from %s", w.dir, t.Format(time.TimeOnly))
	}
	var cut int64
	for name, size := range at.sizes {
		p := filepath.Join(w.dir, name)
		fi, err := os.Stat(p)
		if err != nil || fi.Size() <= size {
			continue
		}
		if err := os.Truncate(p, size); err != nil {
			return cut, err
		}
		cut += fi.Size() - size
	}
	return cut, nil
}
