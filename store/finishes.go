package store

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hangxomso/hangxom/delivery"
)

// finishes holds, while DeferFinishes runs, the last Finish of each claim
// whose reply was dealt with (sent, or given up): the write that marks it,
// pops it and releases the send lock. Nothing waits on that write but the
// resident's next claim, so it goes with that claim, in the same round trip,
// or, if none comes within the delay, in one pipeline with every other one
// held: one round trip for many residents (a group commit).
//
// A crash loses what is held, and that is safe: the reply's marker stays
// "attempt", so no sender repeats it (it was sent, or given up), and the send
// lock expires after LockTTL. So is Redis forgetting a Finish it wrote (a
// crash within appendfsync's second, a failover): the claim's marker, its
// lock and the outbox index come back with the reply, the lock expires, the
// recovery scan finds the outbox, and the reply is popped as uncertain, not
// sent again (TestRolledBackFinishIsNotSentAgainNorStuck). A Finish still
// held when Redis forgets is written after it: it marks and pops a reply
// that may be back, and releases only a lock that holds its token.
type finishes struct {
	mu   sync.Mutex
	on   bool                  // DeferFinishes is running
	held map[string]heldFinish // resident → its claim's last Finish
	wake chan struct{}         // something was held
}

// heldFinish is finishScript's arguments for one reply.
type heldFinish struct {
	reply, mark, kb, token string
}

// hold keeps f for resident, unless DeferFinishes is not running or a
// Finish is held for resident already (then the caller writes it now).
func (f *finishes) hold(resident string, h heldFinish) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.on {
		return false
	}
	if _, ok := f.held[resident]; ok {
		return false
	}
	f.held[resident] = h
	select {
	case f.wake <- struct{}{}:
	default:
	}
	return true
}

// take removes and returns the Finish held for resident.
func (f *finishes) take(resident string) (heldFinish, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return pop(f.held, resident)
}

// pop removes and returns m[k].
func pop[K comparable, V any](m map[K]V, k K) (V, bool) {
	v, ok := m[k]
	if ok {
		delete(m, k)
	}
	return v, ok
}

// putBack holds again a Finish whose write failed, unless another is held
// for the resident now (a later claim's: the failed write cannot have
// mattered to it, or its claim would not have had the lock).
func (f *finishes) putBack(resident string, h heldFinish) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.on {
		return // DeferFinishes has ended: as after a crash
	}
	if _, ok := f.held[resident]; !ok {
		f.held[resident] = h
	}
}

// takeAll removes and returns every held Finish.
func (f *finishes) takeAll() map[string]heldFinish {
	f.mu.Lock()
	defer f.mu.Unlock()
	all := f.held
	if len(all) == 0 {
		return nil
	}
	f.held = map[string]heldFinish{}
	return all
}

// DeferFinishes lets a claim's last Finish wait, until ctx is done: it is
// written with the resident's next ClaimOutbox (one round trip for both), or
// after delay in one pipeline with every other Finish held then. The send
// lock is held meanwhile, so another replica's claim of the same resident
// waits up to delay longer. It returns once ctx is done and what was held is
// written (or, Redis being away, given up: the markers stay "attempt" and the
// locks expire). Run it once per store, beside the sender.
func (r *Redis) DeferFinishes(ctx context.Context, delay time.Duration) {
	f := &r.fin
	f.mu.Lock()
	if f.on {
		f.mu.Unlock()
		return
	}
	f.on, f.held, f.wake = true, map[string]heldFinish{}, make(chan struct{}, 1)
	wake := f.wake
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.on = false
		f.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := r.flushFinishes(ctx); err != nil {
			r.log.Warn("store: held finishes not written; their markers stay and their locks expire", "err", err)
		}
	}()
	pause := delay
	for {
		select {
		case <-ctx.Done():
			return
		case <-wake:
		}
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if err := r.flushFinishes(ctx); err != nil {
			if ctx.Err() == nil {
				r.log.Warn("store: write held finishes; trying again", "err", err)
			}
			pause = min(2*pause+10*time.Millisecond, time.Second)
			select {
			case wake <- struct{}{}:
			default:
			}
			continue
		}
		pause = delay
	}
}

// flushFinishes writes every held Finish in one pipeline; those that failed
// are held again.
func (r *Redis) flushFinishes(ctx context.Context) error {
	all := r.fin.takeAll()
	if len(all) == 0 {
		return nil
	}
	calls := make([]*scriptCall, 0, len(all))
	residents := make([]string, 0, len(all))
	for resident, h := range all {
		calls = append(calls, r.finishCall(resident, h))
		residents = append(residents, resident)
	}
	err := r.evalAll(ctx, calls)
	var first error
	for i, c := range calls {
		if c.cmd.Err() != nil {
			r.fin.putBack(residents[i], all[residents[i]])
			if first == nil {
				first = c.cmd.Err()
			}
			continue
		}
		if err := r.afterFinish(ctx, residents[i], c.cmd); err != nil && first == nil {
			first = err
		}
	}
	if first == nil {
		first = err
	}
	if first != nil {
		return fmt.Errorf("store: write %d held finishes: %w", len(all), first)
	}
	return nil
}

// finishCall is finishScript's call for a Finish of resident's reply.
func (r *Redis) finishCall(resident string, h heldFinish) *scriptCall {
	k := r.keys
	keys := []string{k.Outbox(resident), k.Sent(resident), k.ButtonsMessage(resident), k.SendLock(resident)}
	args := []any{h.reply, h.mark, OutboxTTL.Milliseconds(), h.kb, h.token}
	if !r.cluster() {
		keys = append(keys, k.OutboxIndex())
		args = append(args, resident)
	}
	return &scriptCall{script: finishScript, keys: keys, args: args}
}

// afterFinish is what a finishScript call leaves to do: on a cluster the
// outbox index is on another node, so an outbox left empty leaves it here.
func (r *Redis) afterFinish(ctx context.Context, resident string, cmd *redis.Cmd) error {
	left, err := cmd.Int64()
	if err != nil {
		return err
	}
	if left == 0 && r.cluster() {
		return r.unindexOutbox(ctx, resident)
	}
	return nil
}

func (r *Redis) cluster() bool {
	_, ok := r.c.(*redis.ClusterClient)
	return ok
}

// LoadScripts loads every script of the store into the server's script
// cache (on a cluster, into every master's), so that none pays a NOSCRIPT
// answer on first use. A pipeline of scripts (evalAll) would otherwise
// need a second round trip on each node that lacks one. A server that
// restarts forgets them; each is then loaded again on first use.
func (r *Redis) LoadScripts(ctx context.Context) error {
	for name, sc := range storeScripts {
		if err := sc.Load(ctx, r.c).Err(); err != nil {
			return fmt.Errorf("store: load script %s: %w", name, err)
		}
	}
	return nil
}

// scriptCall is one script's call in evalAll's pipeline; cmd holds its
// answer afterwards.
type scriptCall struct {
	script *redis.Script
	keys   []string
	args   []any
	cmd    *redis.Cmd
}

// evalAll runs the calls in one pipeline (one round trip), in order. A
// call whose script the server lacks (NOSCRIPT: a restart flushed the
// cache) runs again once the script is loaded; the others are not repeated.
// It returns the pipeline's first error; each call's is in its cmd.
func (r *Redis) evalAll(ctx context.Context, calls []*scriptCall) error {
	run := func(calls []*scriptCall) error {
		_, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, c := range calls {
				c.cmd = c.script.EvalSha(ctx, p, c.keys, c.args...)
			}
			return nil
		})
		return err
	}
	err := run(calls)
	if err == nil {
		return nil
	}
	var again []*scriptCall
	loaded := map[*redis.Script]bool{}
	for _, c := range calls {
		if !redis.HasErrorPrefix(c.cmd.Err(), "NOSCRIPT") {
			continue
		}
		if !loaded[c.script] {
			if err := c.script.Load(ctx, r.c).Err(); err != nil {
				return err
			}
			loaded[c.script] = true
		}
		again = append(again, c)
	}
	if len(again) == 0 {
		return err
	}
	err = run(again)
	for _, c := range calls {
		if err == nil && c.cmd.Err() != nil {
			err = c.cmd.Err()
		}
	}
	return err
}

// heldFinishOf is the Finish of replyID as finishScript takes it.
func heldFinishOf(replyID string, sent bool, buttons delivery.Handle, token string) heldFinish {
	h := heldFinish{reply: replyID, token: token, kb: string(buttons)}
	if sent {
		h.mark = "sent"
	}
	return h
}
