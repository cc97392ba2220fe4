package store

import (
	"context"
	"net"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// RoundTrips is a go-redis hook that counts round trips to Redis: one per
// command, one per pipeline or transaction (a Lua script is one command).
// It counts by operation (the command's name, or "pipeline"), so /metrics
// and the load test can say where the round trips of an update go. Add it
// with client.AddHook; it is safe for concurrent use.
type RoundTrips struct {
	// Time, when set, observes each round trip's duration in seconds
	// (a Prometheus histogram in serve). Set it before adding the hook.
	Time interface{ Observe(float64) }

	total atomic.Int64
	ops   sync.Map // name → *atomic.Int64
}

// Total is the number of round trips counted so far.
func (r *RoundTrips) Total() int64 { return r.total.Load() }

// ByOp returns the round trips counted so far by operation.
func (r *RoundTrips) ByOp() map[string]int64 {
	out := map[string]int64{}
	r.ops.Range(func(k, v any) bool {
		out[k.(string)] = v.(*atomic.Int64).Load()
		return true
	})
	return out
}

// opName is the name a command is counted under.
func opName(cmd redis.Cmder) string {
	name := cmd.Name()
	if name == "evalsha" || name == "eval" {
		if args := cmd.Args(); len(args) > 1 {
			if sha, ok := args[1].(string); ok {
				if n, ok := scriptNames[sha]; ok {
					return n
				}
			}
		}
	}
	return name
}

func (r *RoundTrips) add(op string) {
	r.total.Add(1)
	c, ok := r.ops.Load(op)
	if !ok {
		c, _ = r.ops.LoadOrStore(op, new(atomic.Int64))
	}
	c.(*atomic.Int64).Add(1)
}

// DialHook implements redis.Hook.
func (r *RoundTrips) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) { return next(ctx, network, addr) }
}

// ProcessHook implements redis.Hook.
func (r *RoundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		r.add(opName(cmd))
		if r.Time == nil {
			return next(ctx, cmd)
		}
		start := time.Now()
		err := next(ctx, cmd)
		r.Time.Observe(time.Since(start).Seconds())
		return err
	}
}

// ProcessPipelineHook implements redis.Hook.
func (r *RoundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		r.add(pipelineName(cmds))
		if r.Time == nil {
			return next(ctx, cmds)
		}
		start := time.Now()
		err := next(ctx, cmds)
		r.Time.Observe(time.Since(start).Seconds())
		return err
	}
}

// pipelineName names a pipeline by its commands: "pipeline(get,script:effect)".
func pipelineName(cmds []redis.Cmder) string {
	seen := map[string]bool{}
	var names []string
	for _, c := range cmds {
		n := opName(c)
		if n == "multi" || n == "exec" || seen[n] {
			continue
		}
		seen[n] = true
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) > 4 {
		names = append(names[:4], "…")
	}
	return "pipeline(" + strings.Join(names, ",") + ")"
}
