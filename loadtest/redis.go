package loadtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisServer is a redis-server process this program started, on
// loopback, in a directory of its own.
type RedisServer struct {
	Addr string
	Dir  string
	args []string
	cmd  *exec.Cmd
}

// StartRedis starts redis-server (from PATH) on a free loopback port in
// dir, with extra arguments (for example "--appendonly", "yes"), and waits
// until it answers PING.
func StartRedis(ctx context.Context, dir string, extra ...string) (*RedisServer, error) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		return nil, errors.New("redis-server is not installed (Debian: apt-get install redis-server), and no REDIS_URL was given")
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	s := &RedisServer{Addr: "127.0.0.1:" + strconv.Itoa(port), Dir: dir}
	s.args = append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--save", "", "--appendonly", "no", "--logfile", filepath.Join(dir, "redis.log")}, extra...)
	return s, s.Start(ctx)
}

// Start starts the server again (after Kill or Stop) on the same port,
// with the same files.
func (s *RedisServer) Start(ctx context.Context) error {
	s.cmd = exec.Command("redis-server", s.args...)
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		return err
	}
	c := redis.NewClient(&redis.Options{Addr: s.Addr, MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(15 * time.Second)
	for {
		if err := c.Ping(ctx).Err(); err == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			s.Kill()
			return fmt.Errorf("redis-server on %s did not answer within 15 s (log: %s)", s.Addr, filepath.Join(s.Dir, "redis.log"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Kill stops the server with SIGKILL and waits for it.
func (s *RedisServer) Kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// Stop shuts the server down without saving and waits for it.
func (s *RedisServer) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
	s.cmd = nil
}

// URL is the server's redis:// URL.
func (s *RedisServer) URL() string { return "redis://" + s.Addr + "/0" }

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Memory is what INFO memory says of the server behind a client (summed
// over the masters of a cluster).
type Memory struct {
	Used    int64 // used_memory: everything the allocator gave Redis
	Clients int64 // mem_clients_normal: the connections' buffers
}

// Data is the memory that is not the connections' buffers: what keys,
// their tables and scripts take. A client's buffers grow with the commands
// in flight on its connection, so a figure per resident leaves them out.
func (m Memory) Data() int64 { return m.Used - m.Clients }

// UsedMemory reads INFO memory of the server behind c (the sum over the
// masters of a cluster).
func UsedMemory(ctx context.Context, c redis.UniversalClient) (Memory, error) {
	read := func(cl *redis.Client) (Memory, error) {
		v, err := infoFields(ctx, cl, "memory", "used_memory", "mem_clients_normal")
		if err != nil {
			return Memory{}, err
		}
		return Memory{Used: int64(v[0]), Clients: int64(v[1])}, nil
	}
	if cc, ok := c.(*redis.ClusterClient); ok {
		var total Memory
		var mu sync.Mutex
		err := cc.ForEachMaster(ctx, func(ctx context.Context, cl *redis.Client) error {
			m, err := read(cl)
			mu.Lock()
			total.Used += m.Used
			total.Clients += m.Clients
			mu.Unlock()
			return err
		})
		return total, err
	}
	if cl, ok := c.(*redis.Client); ok {
		return read(cl)
	}
	return Memory{}, errors.New("UsedMemory: unsupported client")
}

// RedisCPU returns the CPU time the server behind c has used so far
// (INFO cpu: used_cpu_user + used_cpu_sys; a single server).
func RedisCPU(ctx context.Context, c redis.UniversalClient) (time.Duration, error) {
	v, err := infoFields(ctx, c, "cpu", "used_cpu_user", "used_cpu_sys")
	if err != nil {
		return 0, err
	}
	return time.Duration((v[0] + v[1]) * float64(time.Second)), nil
}

// infoFields reads the named numeric fields of one INFO section, in the
// order asked; each must be there.
func infoFields(ctx context.Context, c redis.UniversalClient, section string, names ...string) ([]float64, error) {
	info, err := c.Info(ctx, section).Result()
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(names))
	found := 0
	sc := bufio.NewScanner(strings.NewReader(info))
	for sc.Scan() {
		name, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":")
		i := slices.Index(names, name)
		if !ok || i < 0 {
			continue
		}
		if out[i], err = strconv.ParseFloat(v, 64); err != nil {
			return nil, fmt.Errorf("INFO %s %s: %w", section, name, err)
		}
		found++
	}
	if found != len(names) {
		return nil, fmt.Errorf("INFO %s lacks one of %s", section, strings.Join(names, ", "))
	}
	return out, nil
}

// ProcessCPU returns the user+system CPU time process pid has used so far,
// from /proc (Linux; clock ticks of 1/100 s).
func ProcessCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces: fields count from ")".
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("unreadable /proc stat")
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, errors.New("short /proc stat")
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}
