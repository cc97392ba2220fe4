package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hangxomso/hangxom/flows"
)

// The optional interfaces flows.Service finds by type assertion are checked
// here too: a signature that drifts fails the build instead of silently
// turning off the one-round-trip turn, Begin or the effects a turn applies.
var (
	_ flows.Store         = (*Redis)(nil)
	_ flows.Beginner      = (*Redis)(nil)
	_ flows.FastCommitter = (*Redis)(nil)
	_ flows.EffectsWaiter = (*Redis)(nil)
)

// Options configure a Redis store. The zero value of each field has a usable
// default except DataKey, which production must set.
type Options struct {
	// Prefix starts every key; default DefaultPrefix ("hx:v1").
	Prefix string
	// DataKey is the HMAC key that turns resident ids into the pseudonyms
	// stored in hamlet keys. It is never logged.
	DataKey []byte
	// Location is the bot's time zone (BOT_TZ): months are counted in it.
	// Default time.UTC.
	Location *time.Location
	// LockTTL is how long a resident lock (and a send lock) lives if never
	// released; default 10 s: what a crashed replica, or a turn whose
	// answer Redis lost, makes a resident wait. A turn outliving it is
	// still safe: the commit checks the session's version, and a reply's
	// attempt marker keeps a second sender from sending it again.
	LockTTL time.Duration
	// LockWait is how long Lock waits for a busy resident; default 5 s.
	LockWait time.Duration
	// Logger receives warnings; default discards them.
	Logger *slog.Logger
	// Clock stamps the work index; default the system clock.
	Clock flows.Clock
	// WaitReplicas, when above 0, makes every commit wait (Redis WAIT, on
	// the commit's own connection, in its pipeline) until that many
	// replicas acknowledge it, or WaitTimeout (default 250 ms) passes,
	// before the turn is done and the update acknowledged. It narrows the
	// writes a failover can lose; it does not close the window (a replica
	// that acknowledged may still lose the write, and a commit whose wait
	// timed out is kept all the same). Commits short of replicas are
	// counted (ShortWaits) and logged at most once a minute.
	WaitReplicas int
	WaitTimeout  time.Duration
}

// Redis is the store on Redis (a single node, Sentinel or a cluster). It is
// safe for concurrent use.
type Redis struct {
	// shortWaits and shortLogged: commits short of WaitReplicas, and when
	// that was last logged (unix ns).
	shortWaits, shortLogged atomic.Int64

	c    redis.UniversalClient
	keys Keys
	opts Options
	log  *slog.Logger
	// pairs: JSON [hamlet, flow] this process added to Keys.Pairs, and
	// when (see pairKnown).
	pairs sync.Map
	// migrated is set once Sweep found no counters of the old layout left
	// and rebuilt every hamlet's YearCounts from its months.
	migrated atomic.Bool
	held     sync.Map // resident → *heldLock, for locks taken by Begin or a fast commit
	// pushed: resident → the effects (JSON) a fast commit just wrote, when
	// they are the whole list under the lock it took: ApplyEffects starts
	// from them rather than reading the list.
	pushed sync.Map
	// waiting: residents whose Begin found effects of earlier turns still
	// to apply (EffectsWaiting), until their unlock.
	waiting sync.Map
	// fin holds claims' last Finishes while DeferFinishes runs.
	fin finishes
	// memo keeps the replies this process wrote to outboxes, by JSON.
	memo replyMemo
	// lost holds, by resident, the lock tokens of this process's claims
	// whose answer was lost (space-separated): they may have marked the
	// outbox's head "attempt:<token>" for a send that never began, and
	// the resident's next claim here takes such a marker back. Another
	// replica's claim does not know them: the reply is then uncertain, and
	// not sent again (at most once). If Redis forgot the lost claim's write,
	// there is no marker to take back and the tokens do nothing.
	lost sync.Map
}

// heldLock is a resident lock taken by Begin, which a Commit with Release
// may release in its write.
type heldLock struct {
	token    string
	released atomic.Bool
}

// New returns a store using client with opts.
func New(client redis.UniversalClient, opts Options) *Redis {
	if opts.Location == nil {
		opts.Location = time.UTC
	}
	if opts.LockTTL <= 0 {
		opts.LockTTL = 10 * time.Second
	}
	if opts.LockWait <= 0 {
		opts.LockWait = 5 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Clock == nil {
		opts.Clock = flows.ClockFunc(time.Now)
	}
	if opts.WaitTimeout <= 0 {
		opts.WaitTimeout = 250 * time.Millisecond
	}
	if len(opts.DataKey) == 0 {
		opts.Logger.Warn("store: no data key set; pseudonyms are guessable")
	}
	r := &Redis{c: client, keys: NewKeys(opts.Prefix), opts: opts, log: opts.Logger}
	r.opts.Prefix = r.keys.Prefix()
	return r
}

// Keys returns the key builder of the store, for tests and tools that read
// raw state.
func (r *Redis) Keys() Keys { return r.keys }

// Client returns the client the store uses.
func (r *Redis) Client() redis.UniversalClient { return r.c }

// Lock takes the resident's lock: SET NX PX with a random token, retried
// with a growing pause until LockWait passes. It returns flows.ErrLocked
// (wrapped) if the resident stays busy. The unlock function releases the
// lock only while it still holds the token; calling it twice is harmless.
func (r *Redis) Lock(ctx context.Context, resident string) (func(), error) {
	unlock, err := r.lock(ctx, r.keys.Lock(resident), r.opts.LockTTL, r.opts.LockWait)
	if err != nil {
		return nil, fmt.Errorf("store: lock %s: %w", resident, err)
	}
	return unlock, nil
}

// lock takes key with SET NX PX ttl, waiting up to wait. The errors are not
// wrapped with the subject; the caller does that.
func (r *Redis) lock(ctx context.Context, key string, ttl, wait time.Duration) (func(), error) {
	token := randomHex(16)
	deadline := time.Now().Add(wait)
	pause := 2 * time.Millisecond
	for {
		ok, err := r.c.SetNX(ctx, key, token, ttl).Result()
		if err != nil {
			return nil, err
		}
		if ok {
			return r.unlocker(ctx, key, token), nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil, flows.ErrLocked
		}
		t := time.NewTimer(min(pause, left))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
		pause = min(2*pause, 100*time.Millisecond)
	}
}

// unlocker returns the function that releases key if it still holds token.
// It runs even if ctx was cancelled meanwhile, bounded by its own timeout,
// and tries again within it: a lock left by a turn that failed because
// Redis went away would otherwise keep the resident waiting for its whole
// TTL once Redis is back (found by TestRedisRestartUnderLoad).
func (r *Redis) unlocker(ctx context.Context, key, token string) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			pause := 50 * time.Millisecond
			for {
				err := compareDeleteScript.Run(ctx, r.c, []string{key}, token).Err()
				if err == nil {
					return
				}
				t := time.NewTimer(pause)
				select {
				case <-ctx.Done():
					t.Stop()
					r.log.Warn("store: unlock failed; the lock will expire", "key", key, "err", err)
					return
				case <-t.C:
				}
				pause = min(2*pause, time.Second)
			}
		})
	}
}

// Begin starts a resident's turn: it takes the resident's lock, tells whether
// updateID was already processed and loads the session, in one round trip
// when the resident is not busy (otherwise it waits for the lock as Lock
// does, then reads the rest).
func (r *Redis) Begin(ctx context.Context, resident, updateID string) (func(), bool, flows.Session, error) {
	fail := func(err error) (func(), bool, flows.Session, error) {
		return nil, false, flows.Session{}, fmt.Errorf("store: begin %s: %w", resident, err)
	}
	lockKey := r.keys.Lock(resident)
	keys := []string{lockKey, r.keys.Session(resident), r.keys.Effects(resident)}
	if updateID != "" {
		keys = append(keys, r.keys.Processed(resident, updateID))
	}
	token := randomHex(16)
	res, err := beginScript.Run(ctx, r.c, keys, token, r.opts.LockTTL.Milliseconds()).Slice()
	if err != nil {
		return fail(err)
	}
	if len(res) == 0 {
		return fail(errors.New("begin: empty answer"))
	}
	if got, _ := res[0].(int64); got != 1 {
		// Busy: wait for the lock, then read what the script would have.
		unlock, err := r.Lock(ctx, resident)
		if err != nil {
			return nil, false, flows.Session{}, err
		}
		seen, err := r.Processed(ctx, resident, updateID)
		if err != nil {
			unlock()
			return nil, false, flows.Session{}, err
		}
		sess, err := r.Session(ctx, resident)
		if err != nil {
			unlock()
			return nil, false, flows.Session{}, err
		}
		// Not known on this slow path: say effects wait, so the turn
		// applies any (an empty list costs a read).
		r.waiting.Store(resident, true)
		return func() { r.waiting.Delete(resident); unlock() }, seen, sess, nil
	}
	h := &heldLock{token: token}
	r.held.Store(resident, h)
	inner := r.unlocker(ctx, lockKey, token)
	unlock := func() {
		r.held.CompareAndDelete(resident, h)
		r.waiting.Delete(resident)
		if !h.released.Load() {
			inner()
		}
	}
	var sess flows.Session
	if len(res) < 4 {
		unlock()
		return fail(errors.New("begin: short answer"))
	}
	seen, _ := res[1].(int64)
	if n, _ := res[3].(int64); n > 0 {
		r.waiting.Store(resident, true)
	}
	if raw, ok := res[2].(string); ok {
		if err := json.Unmarshal([]byte(raw), &sess); err != nil {
			unlock()
			return fail(fmt.Errorf("decode session: %w", err))
		}
	}
	return unlock, seen == 1, sess, nil
}

// EffectsWaiting reports whether the resident's Begin, whose lock is held,
// found effects of earlier turns still to apply (flows.EffectsWaiter).
func (r *Redis) EffectsWaiting(resident string) bool {
	_, ok := r.waiting.Load(resident)
	return ok
}

// Session returns the resident's stored session, or a zero Session (Version
// 0) if there is none.
func (r *Redis) Session(ctx context.Context, resident string) (flows.Session, error) {
	var s flows.Session
	raw, err := r.c.Get(ctx, r.keys.Session(resident)).Bytes()
	if errors.Is(err, redis.Nil) {
		return s, nil
	}
	if err != nil {
		return s, fmt.Errorf("store: load session %s: %w", resident, err)
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return s, fmt.Errorf("store: decode session %s: %w", resident, err)
	}
	return s, nil
}

// Processed reports whether updateID was committed for the resident within
// ProcessedTTL. An empty update id is never processed.
func (r *Redis) Processed(ctx context.Context, resident, updateID string) (bool, error) {
	if updateID == "" {
		return false, nil
	}
	n, err := r.c.Exists(ctx, r.keys.Processed(resident, updateID)).Result()
	if err != nil {
		return false, fmt.Errorf("store: processed %s %s: %w", resident, updateID, err)
	}
	return n == 1, nil
}

// pendingEffect is an effect waiting in a resident's list, with the id that
// makes applying it idempotent.
type pendingEffect struct {
	ID string `json:"id"`
	flows.Effect
}

// Commit writes the new session (as version c.Expect+1, whatever
// c.Session.Version says, with c.Session.Token), records c.UpdateID as processed (unless empty),
// appends c.Outbox to the outbox and c.Effects to the pending effects, in one
// script. It returns flows.ErrStale (wrapped) if the stored version is not
// c.Expect or its token not c.ExpectToken. A resident with effects is first added to the work index, so that
// Sweep applies them if ApplyEffects never runs, and mapped from their
// pseudonym; a resident with replies is first added to the outbox index, so
// that PendingOutboxes finds replies a crash left unsent.
func (r *Redis) Commit(ctx context.Context, c flows.Commit) error {
	_, _, err := r.commit(ctx, c, false)
	return err
}

// CommitUnlocked is Commit for a turn taken without the resident's lock,
// on a session this process kept from its last write (flows.FastCommitter).
// The same script first checks that no one holds the lock (flows.ErrLocked)
// and that the update id is new (flows.ErrDuplicate), then writes as Commit
// does (flows.ErrStale when the version moved). When effects wait in the
// resident's list afterwards, this turn's or an earlier one's, it takes the
// lock in the same write and returns its unlock, for ApplyEffects to run
// under; otherwise unlock is nil. c.Release is ignored.
func (r *Redis) CommitUnlocked(ctx context.Context, c flows.Commit) (unlock func(), err error) {
	token, _, err := r.commit(ctx, c, true)
	if err != nil || token == "" {
		return nil, err
	}
	// As a lock Begin took: ApplyEffects' last step may release it.
	h := &heldLock{token: token}
	r.held.Store(c.Resident, h)
	inner := r.unlocker(ctx, r.keys.Lock(c.Resident), token)
	return func() {
		r.held.CompareAndDelete(c.Resident, h)
		r.pushed.Delete(c.Resident)
		if !h.released.Load() {
			inner()
		}
	}, nil
}

// commit is Commit, or CommitUnlocked when fast; it returns the token of a
// lock the fast commit took.
func (r *Redis) commit(ctx context.Context, c flows.Commit, fast bool) (lockToken string, waiting int64, err error) {
	if c.Resident == "" {
		return "", 0, errors.New("store: commit: empty resident")
	}
	fail := func(err error) (string, int64, error) {
		return "", 0, fmt.Errorf("store: commit %s: %w", c.Resident, err)
	}
	if strings.ContainsAny(c.Session.Token, "\"\\") || strings.ContainsAny(c.ExpectToken, "\"\\") {
		return fail(errors.New("a session token with a quote or a backslash"))
	}
	s := c.Session
	s.Version = c.Expect + 1
	session, err := json.Marshal(s)
	if err != nil {
		return fail(fmt.Errorf("encode session: %w", err))
	}
	var held *heldLock
	release := ""
	if c.Release && !fast {
		if h, ok := r.held.Load(c.Resident); ok {
			held = h.(*heldLock)
			release = held.token
		}
	}
	script := commitScript
	args := make([]any, 0, 7+len(c.Outbox)+len(c.Effects))
	args = append(args, strconv.FormatInt(c.Expect, 10)+":"+c.ExpectToken, session, ProcessedTTL.Milliseconds(), OutboxTTL.Milliseconds(), len(c.Outbox))
	if fast {
		script = fastCommitScript
		lockToken = randomHex(16)
		args = append(args, lockToken, r.opts.LockTTL.Milliseconds())
	} else {
		args = append(args, release)
	}
	for _, reply := range c.Outbox {
		b, err := json.Marshal(reply)
		if err != nil {
			return fail(fmt.Errorf("encode reply: %w", err))
		}
		raw := string(b)
		r.memo.put(raw, reply)
		args = append(args, raw)
	}
	base := c.UpdateID
	if base == "" {
		base = "internal:" + randomHex(8)
	}
	effects := make([]string, 0, len(c.Effects))
	for i, e := range c.Effects {
		b, err := json.Marshal(pendingEffect{ID: fmt.Sprintf("%s:%d", base, i), Effect: e})
		if err != nil {
			return fail(fmt.Errorf("encode effect: %w", err))
		}
		args = append(args, b)
		effects = append(effects, string(b))
	}
	var newPairs []string // the pairs this process has not added to Keys.Pairs yet
	for _, e := range c.Effects {
		if !countsPair(e.Kind) {
			continue
		}
		if p := pairMember(e.Hamlet, e.Flow); !r.pairKnown(p) {
			newPairs = append(newPairs, p)
		}
	}
	now := float64(r.opts.Clock.Now().UnixMilli())
	// The index commands, as raw arguments: the work index, the pseudonym's
	// way back and new pairs for effects; the outbox index (at outboxAt)
	// for replies.
	var indexCmds [][]any
	outboxAt := -1
	if len(c.Effects) > 0 {
		indexCmds = append(indexCmds, []any{"ZADD", r.keys.Work(), "NX", now, c.Resident},
			// The way back from the pseudonym the effects will carry (for
			// the team's lists and reminders); Forget deletes it.
			[]any{"SET", r.keys.Resident(r.Pseudonym(c.Resident)), c.Resident})
		for _, m := range newPairs {
			// What ApplyEffects would add (registerPair), in this trip.
			indexCmds = append(indexCmds, []any{"SADD", r.keys.Pairs(), m})
		}
	}
	if len(c.Outbox) > 0 {
		outboxAt = len(indexCmds)
		indexCmds = append(indexCmds, []any{"ZADD", r.keys.OutboxIndex(), "NX", now, c.Resident})
	}
	var indexed *redis.Cmd // the outbox index's ZADD, when sent
	index := func(p redis.Pipeliner) {
		for i, a := range indexCmds {
			cmd := p.Do(ctx, a...)
			if i == outboxAt {
				indexed = cmd
			}
		}
	}
	keys := r.keys.commitKeys(c.Resident, c.UpdateID)
	// The funnel's marks: on one node in the commit's MULTI/EXEC, after
	// its script and guarded by the session it writes; on a Cluster after
	// the commit answered (see funnelScript).
	marks := r.funnelCalls(c.Resident, c.Marks, sessionHead(session))
	guard := r.keys.Session(c.Resident)
	var run *redis.Cmd
	atomic := false
	if _, cluster := r.c.(*redis.ClusterClient); !cluster && r.opts.WaitReplicas > 0 {
		// One node, waiting for replicas: as below, and WAIT after the
		// EXEC in the same pipeline (WAIT inside MULTI would not block).
		atomic = true
		var at int64
		if run, at, err = r.commitTxWait(ctx, script, indexCmds, outboxAt, keys, args, marks, guard); err != nil {
			return fail(err)
		}
		if outboxAt >= 0 {
			indexed = redis.NewCmdResult(at, nil)
		}
	} else if r.opts.WaitReplicas > 0 {
		// A cluster, waiting for replicas: the indexes first, then the
		// script and WAIT on the slot master's connection.
		if run, err = r.commitClusterWait(ctx, script, index, keys, args, len(indexCmds) > 0); err != nil {
			return fail(err)
		}
	} else if _, cluster := r.c.(*redis.ClusterClient); !cluster {
		// One node: the indexes and the script in one MULTI/EXEC, one round
		// trip, and nothing can come between them (so the second ZADD below
		// is not needed).
		atomic = true
		if run, err = r.commitTx(ctx, script, index, keys, args, marks, guard); err != nil {
			return fail(err)
		}
	} else {
		if len(c.Effects) > 0 || len(c.Outbox) > 0 {
			// Both indexes before the script, so that a crash after it
			// leaves nothing unindexed. On a cluster the two global keys
			// are on different nodes: the pipeline sends to both at once,
			// and order does not matter.
			if _, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error { index(p); return nil }); err != nil {
				return fail(fmt.Errorf("index: %w", err))
			}
		}
		run = script.Run(ctx, r.c, keys, args...)
	}
	var res int64
	if fast {
		// {code, effects waiting}
		vals, err := run.Int64Slice()
		if err != nil {
			return fail(err)
		}
		if len(vals) != 2 {
			return fail(fmt.Errorf("unexpected answer %v", vals))
		}
		res, waiting = vals[0], vals[1]
	} else if res, err = run.Int64(); err != nil {
		return fail(err)
	}
	if res <= 0 {
		if indexed != nil && indexedOnce(indexed) {
			// This commit put the resident in the outbox index and wrote
			// nothing: take it out again unless the outbox holds replies.
			if err := r.unindexOutbox(ctx, c.Resident); err != nil {
				r.log.Warn("store: commit: outbox index left stale", "resident", c.Resident, "err", err)
			}
		}
		switch res {
		case -1:
			return fail(flows.ErrLocked)
		case -2:
			return fail(flows.ErrDuplicate)
		}
		return fail(flows.ErrStale)
	}
	if !atomic {
		// A Cluster: the marks' keys are in the hamlet's slot.
		r.applyMarks(ctx, c.Resident, marks)
	}
	if held != nil {
		// The write released the lock (or it was no longer ours): the
		// unlock function has nothing left to do.
		held.released.Store(true)
	}
	switch {
	case (res == 2 || res == 3 && len(c.Outbox) > 0) && !atomic:
		// (3: this write was sent again, and whether it filled the outbox
		// is not known.)
		// The replies went into an empty outbox: a sender that emptied it
		// may have removed the resident from the index since the ZADD above
		// (see unindexOutbox). Index it again now that the replies are there.
		if err := r.c.ZAddNX(ctx, r.keys.OutboxIndex(), redis.Z{Score: now, Member: c.Resident}).Err(); err != nil {
			// The commit is done: report it as such. The index most likely
			// still holds the resident from the first ZADD.
			r.log.Warn("store: commit: outbox index not confirmed", "resident", c.Resident, "err", err)
		}
	}
	for _, m := range newPairs {
		r.pairs.Store(m, r.opts.Clock.Now())
	}
	if fast && waiting == 0 {
		lockToken = ""
	}
	if fast && waiting > 0 && waiting == int64(len(effects)) {
		// The list is this write's effects alone, and the lock is ours.
		r.pushed.Store(c.Resident, effects)
	}
	return lockToken, waiting, nil
}

// commitTx runs the index commands and a commit script in one MULTI/EXEC
// and returns the script's answer. A server that lost its script cache
// (NOSCRIPT: a restart) is given the script and asked again: the indexes
// are idempotent and the script did not run.
//
// The funnel's marks follow the script in the same MULTI/EXEC, each
// guarded by the resident's session (the key guard): a mark counts only if
// the commit wrote. A mark that fails is logged, not the commit's error:
// the commit is done.
func (r *Redis) commitTx(ctx context.Context, script *redis.Script, index func(redis.Pipeliner), keys []string, args []any, marks []funnelCall, guard string) (*redis.Cmd, error) {
	for try := 0; ; try++ {
		var run *redis.Cmd
		var counted []*redis.Cmd // the marks' scripts
		cmds, err := r.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
			index(p)
			run = script.EvalSha(ctx, p, keys, args...)
			for _, m := range marks {
				counted = append(counted, funnelScript.EvalSha(ctx, p, append(slices.Clip(m.keys), guard), m.args...))
			}
			return nil
		})
		if err != nil && try == 0 && redis.HasErrorPrefix(err, "NOSCRIPT") {
			// A restarted server: load what was missing and ask again (a
			// commit that ran answers 3, already written; a mark runs
			// once more, counting nothing twice).
			if err := script.Load(ctx, r.c).Err(); err != nil {
				return nil, err
			}
			if err := funnelScript.Load(ctx, r.c).Err(); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil && len(cmds) > 0 && !slices.ContainsFunc(cmds, func(c redis.Cmder) bool {
			cmd, ok := c.(*redis.Cmd)
			return c.Err() != nil && !(ok && slices.Contains(counted, cmd))
		}) {
			// The commit and its indexes ran; only a mark failed.
			r.log.Warn("store: commit: funnel marks not counted", "err", err)
			return run, nil
		}
		if err != nil {
			return nil, err
		}
		return run, nil
	}
}

// indexedOnce reports whether an index ZADD NX added its member.
func indexedOnce(cmd *redis.Cmd) bool {
	n, err := cmd.Int64()
	return err == nil && n == 1
}

// commitTxWait is commitTx followed by WAIT for WaitReplicas, in one
// pipeline on one connection (so that WAIT counts the replicas that have
// this write): MULTI, the index commands, the script, EXEC, WAIT, one
// round trip. The commands are sent raw and EXEC's answer read by hand,
// because go-redis's transactions end at EXEC. It returns the script's
// answer and the outbox index's ZADD answer (when outboxAt >= 0).
func (r *Redis) commitTxWait(ctx context.Context, script *redis.Script, indexCmds [][]any, outboxAt int, keys []string, args []any, marks []funnelCall, guard string) (*redis.Cmd, int64, error) {
	evalSha := func(sc *redis.Script, keys []string, args []any) []any {
		cmd := make([]any, 0, 3+len(keys)+len(args))
		cmd = append(cmd, "EVALSHA", sc.Hash(), len(keys))
		for _, k := range keys {
			cmd = append(cmd, k)
		}
		return append(cmd, args...)
	}
	eval := evalSha(script, keys, args)
	var after [][]any // the funnel's marks, guarded (see commitTx)
	for _, m := range marks {
		after = append(after, evalSha(funnelScript, append(slices.Clip(m.keys), guard), m.args))
	}
	for try := 0; ; try++ {
		var exec, wait *redis.Cmd
		var queued []*redis.Cmd
		_, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
			queued = append(queued, p.Do(ctx, "MULTI"))
			for _, a := range indexCmds {
				queued = append(queued, p.Do(ctx, a...))
			}
			queued = append(queued, p.Do(ctx, eval...))
			for _, a := range after {
				queued = append(queued, p.Do(ctx, a...))
			}
			exec = p.Do(ctx, "EXEC")
			wait = p.Do(ctx, "WAIT", r.opts.WaitReplicas, r.opts.WaitTimeout.Milliseconds())
			return nil
		})
		if exec == nil {
			return nil, 0, err
		}
		answers, xerr := exec.Slice()
		if xerr != nil {
			// EXECABORT (a demoted master's READONLY, a full memory) and
			// the like: nothing ran. Its cause is a queued command's answer.
			for _, q := range queued {
				if q.Err() != nil {
					return nil, 0, fmt.Errorf("%w (%v)", xerr, q.Err())
				}
			}
			return nil, 0, xerr
		}
		if len(answers) != len(indexCmds)+1+len(after) {
			return nil, 0, fmt.Errorf("EXEC answered %d results for %d commands", len(answers), len(indexCmds)+1+len(after))
		}
		ran := answers[len(indexCmds)]
		for _, a := range answers[len(indexCmds)+1:] {
			if aerr, ok := a.(error); ok {
				if try == 0 && redis.HasErrorPrefix(aerr, "NOSCRIPT") {
					// Asked again below with the script loaded: the commit
					// answers 3 (already written) if it ran.
					if err := funnelScript.Load(ctx, r.c).Err(); err != nil {
						return nil, 0, err
					}
					if _, ok := ran.(error); !ok {
						ran = nil
					}
					break
				}
				r.log.Warn("store: commit: funnel marks failed", "err", aerr)
			}
		}
		if ran == nil {
			continue
		}
		if rerr, ok := ran.(error); ok {
			if try == 0 && redis.HasErrorPrefix(rerr, "NOSCRIPT") {
				// The indexes are idempotent and the script did not run.
				if err := script.Load(ctx, r.c).Err(); err != nil {
					return nil, 0, err
				}
				continue
			}
			return nil, 0, rerr
		}
		var at int64
		if outboxAt >= 0 {
			at, _ = answers[outboxAt].(int64)
		}
		r.waited(wait)
		return redis.NewCmdResult(ran, nil), at, nil
	}
}

// commitClusterWait is the cluster's commit with WAIT: the indexes first
// in their own pipeline (as without WAIT), then the script and WAIT in one
// pipeline on the connection of the master of the resident's slot. A
// master that lost its script cache is given the script and asked again.
func (r *Redis) commitClusterWait(ctx context.Context, script *redis.Script, index func(redis.Pipeliner), keys []string, args []any, indexed bool) (*redis.Cmd, error) {
	if indexed {
		if _, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error { index(p); return nil }); err != nil {
			return nil, fmt.Errorf("index: %w", err)
		}
	}
	cc := r.c.(*redis.ClusterClient)
	master, err := cc.MasterForKey(ctx, keys[0])
	if err != nil {
		return nil, err
	}
	for try := 0; ; try++ {
		var run, wait *redis.Cmd
		_, err := master.Pipelined(ctx, func(p redis.Pipeliner) error {
			run = script.EvalSha(ctx, p, keys, args...)
			wait = p.Do(ctx, "WAIT", r.opts.WaitReplicas, r.opts.WaitTimeout.Milliseconds())
			return nil
		})
		if run == nil {
			return nil, err
		}
		if try == 0 && redis.HasErrorPrefix(run.Err(), "NOSCRIPT") {
			if err := script.Load(ctx, master).Err(); err != nil {
				return nil, err
			}
			continue
		}
		if moved := redis.HasErrorPrefix(run.Err(), "MOVED") || redis.HasErrorPrefix(run.Err(), "ASK"); moved {
			// The slot moved (a resharding, a failover the client has not
			// seen yet): the cluster client follows it, without the wait
			// for this commit (nothing ran on this node).
			cc.ReloadState(ctx)
			if run = script.Run(ctx, cc, keys, args...); run.Err() != nil {
				return nil, run.Err()
			}
			r.shortWait(0, errors.New("slot moved"))
			return run, nil
		}
		if run.Err() != nil {
			return nil, run.Err()
		}
		r.waited(wait)
		return run, nil
	}
}

// waited counts and logs a WAIT that fewer replicas than WaitReplicas
// answered in time; the commit before it is done either way.
func (r *Redis) waited(wait *redis.Cmd) {
	if n, err := wait.Int64(); err != nil || n < int64(r.opts.WaitReplicas) {
		r.shortWait(n, err)
	}
}

// shortWait counts a commit that fewer replicas than WaitReplicas
// acknowledged in time, and logs it at most once a minute.
func (r *Redis) shortWait(acked int64, err error) {
	r.shortWaits.Add(1)
	now := time.Now().UnixNano()
	last := r.shortLogged.Load()
	if now-last < int64(time.Minute) || !r.shortLogged.CompareAndSwap(last, now) {
		return
	}
	r.log.Warn("store: commits are not reaching the replicas REDIS_WAIT_REPLICAS asks for in time; kept all the same",
		"want", r.opts.WaitReplicas, "acked", acked, "timeout", r.opts.WaitTimeout, "short_so_far", r.shortWaits.Load(), "err", err)
}

// ShortWaits is how many commits fewer replicas than WaitReplicas
// acknowledged within WaitTimeout.
func (r *Redis) ShortWaits() int64 { return r.shortWaits.Load() }

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b)
}
