package store

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hangxomso/hangxom/flows"
)

// Pseudonym returns the name a resident has in hamlet keys: the first 8
// bytes of HMAC-SHA256(DataKey, resident) as a decimal number below 2⁶³.
//
// A number, because Redis keeps a set of numbers (up to
// set-max-intset-entries of them, 512 by default) as a sorted array of
// integers: a hamlet's started, done and residents sets then take 8 bytes
// a resident instead of about 88 for a 32-character string in a hash table,
// and a stream entry keeps it as an integer too. 63 bits: among 10 million
// residents two share a pseudonym with a chance of about 5 in a million
// (n²/2⁶⁴); they would then be counted as one.
func (r *Redis) Pseudonym(resident string) string {
	m := hmac.New(sha256.New, r.opts.DataKey)
	m.Write([]byte(resident))
	return strconv.FormatUint(binary.BigEndian.Uint64(m.Sum(nil))>>1, 10)
}

// Resident returns the resident behind a pseudonym, if the mapping is still
// kept.
func (r *Redis) Resident(ctx context.Context, pseudonym string) (string, bool, error) {
	id, err := r.c.Get(ctx, r.keys.Resident(pseudonym)).Result()
	if errors.Is(err, redis.Nil) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("store: resident of %s: %w", pseudonym, err)
	}
	return id, true, nil
}

// flows.Service finds Forget by type assertion: without this check a
// drifted signature would silently turn /forget into a no-op.
var _ flows.Forgetter = (*Redis)(nil)

// Forget deletes what is kept about a resident: the session, the delivery
// and reminder state, their help requests (with any contact in them), their
// team role, and the mapping from their pseudonym back to them. The hamlet
// counts and streams stay, holding only the pseudonym, which no longer leads
// to anyone. The outbox stays so the confirmation still reaches them.
func (r *Redis) Forget(ctx context.Context, resident string) error {
	helps, err := r.c.SMembers(ctx, r.keys.ResidentHelps(resident)).Result()
	if err != nil {
		return fmt.Errorf("store: forget %s: %w", resident, err)
	}
	for _, id := range helps {
		if h, ok, err := r.Help(ctx, id); err == nil && ok {
			r.c.ZRem(ctx, r.keys.HelpOpen(h.Hamlet), id)
			r.c.ZRem(ctx, r.keys.HelpQueue(), id)
		}
		if err := r.c.Del(ctx, r.keys.Help(id)).Err(); err != nil {
			return fmt.Errorf("store: forget %s: %w", resident, err)
		}
	}
	// One DEL: these keys share the resident's hash tag.
	if err := r.c.Del(ctx, r.keys.Session(resident), r.keys.Reminded(resident), r.keys.ResidentHelps(resident),
		r.keys.ButtonsMessage(resident), r.keys.Sent(resident), r.keys.Unreachable(resident), r.keys.KeptAlive(resident)).Err(); err != nil {
		return fmt.Errorf("store: forget %s: %w", resident, err)
	}
	if err := r.c.HDel(ctx, r.keys.Members(), resident).Err(); err != nil {
		return fmt.Errorf("store: forget %s: %w", resident, err)
	}
	if err := r.revokeDashboard(ctx, resident); err != nil {
		return err
	}
	if err := r.c.Del(ctx, r.keys.Resident(r.Pseudonym(resident))).Err(); err != nil {
		return fmt.Errorf("store: forget %s: %w", resident, err)
	}
	return nil
}

// ApplyEffects applies the resident's pending effects to the hamlet counters
// in order, each at most once, and removes them from the resident's list;
// when the list is empty the resident leaves the work index. A crash between
// applying an effect and removing it is harmless: applying the head effect
// again changes nothing (see effectScript).
//
// Call it with the resident's lock held (as the service and Sweep do):
// otherwise a concurrent Commit may leave effects outside the work index
// until the resident's next commit.
func (r *Redis) ApplyEffects(ctx context.Context, resident string) error {
	if _, err := r.applyEffects(ctx, resident); err != nil {
		return fmt.Errorf("store: apply effects %s: %w", resident, err)
	}
	return nil
}

// applyEffects is ApplyEffects returning the number of effects taken from the
// list.
func (r *Redis) applyEffects(ctx context.Context, resident string) (int, error) {
	list := r.keys.Effects(resident)
	pseud := r.Pseudonym(resident)
	done := 0
	for {
		var batch []string
		var err error
		if v, ok := r.pushed.LoadAndDelete(resident); ok {
			// A fast commit's effects, the whole list: no need to read it
			// (the pops below still check each head).
			batch = v.([]string)
		} else if batch, err = r.c.LRange(ctx, list, 0, 63).Result(); err != nil {
			return done, err
		}
		if len(batch) == 0 {
			if err := r.c.ZRem(ctx, r.keys.Work(), resident).Err(); err != nil {
				return done, fmt.Errorf("work index: %w", err)
			}
			return done, nil
		}
		for i, raw := range batch {
			if err := r.applyOne(ctx, pseud, raw); err != nil {
				return done, err
			}
			// The effect is applied: from here a crash at worst leaves it
			// in the list, and applying it again is a no-op.
			last := i == len(batch)-1 && len(batch) < 64
			left, err := r.popEffect(ctx, resident, list, raw, last)
			if err != nil {
				return done, err
			}
			if left < 0 {
				break // the list changed under us: read it again
			}
			done++
			if left == 0 {
				if !last {
					// Emptied early (the list changed): leave the index now.
					if err := r.c.ZRem(ctx, r.keys.Work(), resident).Err(); err != nil {
						return done, fmt.Errorf("work index: %w", err)
					}
				}
				return done, nil
			}
		}
	}
}

// popEffect removes raw from the head of the resident's effects list and
// returns the length left, or -1 if raw was not the head. When last says raw
// should be the list's last element, the resident leaves the work index in
// the same round trip; if the list turns out not to be empty, the resident
// is indexed again.
func (r *Redis) popEffect(ctx context.Context, resident, list, raw string, last bool) (int64, error) {
	if !last {
		left, err := popHeadScript.Run(ctx, r.c, []string{list}, raw).Int64()
		if err != nil {
			return 0, fmt.Errorf("pop effect: %w", err)
		}
		return left, nil
	}
	// The lock of the turn applying them (Begin's or a fast commit's) is
	// released by the same script once the list is empty: the turn has
	// nothing left to do under it.
	var held *heldLock
	token := ""
	if h, ok := r.held.Load(resident); ok {
		held = h.(*heldLock)
		token = held.token
	}
	var pop *redis.Cmd
	_, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		// Eval, not EvalSha: a pipeline cannot fall back on NOSCRIPT, and
		// the script is short.
		pop = popLastScript.Eval(ctx, p, []string{list, r.keys.Lock(resident)}, raw, token)
		p.ZRem(ctx, r.keys.Work(), resident)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("pop last effect: %w", err)
	}
	res, err := pop.Int64Slice()
	if err != nil || len(res) != 2 {
		return 0, fmt.Errorf("pop last effect: %v %w", res, err)
	}
	left := res[0]
	if res[1] == 1 && held != nil {
		held.released.Store(true)
	}
	if left != 0 {
		now := float64(r.opts.Clock.Now().UnixMilli())
		if err := r.c.ZAddNX(ctx, r.keys.Work(), redis.Z{Score: now, Member: resident}).Err(); err != nil {
			return 0, fmt.Errorf("work index: %w", err)
		}
	}
	return left, nil
}

// applyOne applies one raw pending effect. An effect that cannot be decoded
// or has an unknown kind is logged and skipped, so that it cannot block the
// effects behind it.
func (r *Redis) applyOne(ctx context.Context, pseud, raw string) error {
	var e pendingEffect
	if err := json.Unmarshal([]byte(raw), &e); err != nil || e.ID == "" {
		r.log.Warn("store: dropping undecodable effect", "err", err)
		return nil
	}
	switch e.Kind {
	case flows.EffectStarted, flows.EffectActivity, flows.EffectCompleted, flows.EffectHelp, flows.EffectLeft,
		flows.EffectFiled, flows.EffectUnfiled:
	case flows.EffectAsked:
		return r.applyAsk(ctx, pseud, e.ID, e.Effect)
	default:
		r.log.Warn("store: dropping effect of unknown kind", "kind", e.Kind, "id", e.ID)
		return nil
	}
	via := "self"
	if e.Via == "team" {
		via = "team"
	}
	at := e.At.In(r.opts.Location)
	month := at.Format("2006-01")
	moveStart := ""
	if e.Reason == "move" && !e.Started.IsZero() && (e.Kind == flows.EffectLeft || e.Kind == flows.EffectStarted) {
		// The flow's start moves: counted in the month it was started.
		month, moveStart = e.Started.In(r.opts.Location).Format("2006-01"), "1"
	}
	if countsPair(e.Kind) {
		if err := r.registerPair(ctx, e.Hamlet, e.Flow); err != nil {
			return err
		}
	}
	keys := r.keys.effectKeys(e.Hamlet, e.Flow, month, pseud, e.ID)
	err := effectScript.Run(ctx, r.c, keys,
		string(e.Kind), pseud, e.At.UnixMilli(), at.Format(time.RFC3339), e.Flow, e.Step,
		via, e.Reason, int64(DedupeTTL/time.Second), streamMaxLen, moveStart).Err()
	if err != nil {
		return fmt.Errorf("effect %s: %w", e.ID, err)
	}
	return nil
}

// countsPair reports whether an effect of kind counts for a (hamlet, flow)
// pair of Keys.Pairs.
func countsPair(kind flows.EffectKind) bool {
	return kind != flows.EffectFiled && kind != flows.EffectUnfiled && kind != flows.EffectAsked
}

// registerPair adds hamlet and flow to Keys.Pairs once per process.
func (r *Redis) registerPair(ctx context.Context, hamlet, flow string) error {
	m := pairMember(hamlet, flow)
	if r.pairKnown(m) {
		return nil
	}
	if err := r.c.SAdd(ctx, r.keys.Pairs(), m).Err(); err != nil {
		return fmt.Errorf("register pair: %w", err)
	}
	r.pairs.Store(m, r.opts.Clock.Now())
	return nil
}

// pairMember is a pair's member of Keys.Pairs: JSON [hamlet, flow].
func pairMember(hamlet, flow string) string {
	b, _ := json.Marshal([2]string{hamlet, flow}) // two strings always encode
	return string(b)
}

// pairKnownFor is how long a pair this process added to Keys.Pairs is
// taken to be there. A Redis that forgets its last second (a failover, a
// crash) may have lost the SADD: adding it again now and then, in a
// commit's own round trip, puts it back without a restart (the sweep and
// the help count read the set).
const pairKnownFor = 10 * time.Minute

// pairKnown reports whether this process added the member to Keys.Pairs
// within pairKnownFor.
func (r *Redis) pairKnown(m string) bool {
	at, ok := r.pairs.Load(m)
	return ok && r.opts.Clock.Now().Sub(at.(time.Time)) < pairKnownFor
}

// pairsKnown returns the pairs in Keys.Pairs.
func (r *Redis) pairsKnown(ctx context.Context) ([]HamletFlow, error) {
	members, err := r.c.SMembers(ctx, r.keys.Pairs()).Result()
	if err != nil {
		return nil, err
	}
	out := make([]HamletFlow, 0, len(members))
	for _, m := range members {
		var p [2]string
		if err := json.Unmarshal([]byte(m), &p); err != nil {
			r.log.Warn("store: skipping bad pair", "err", err)
			continue
		}
		out = append(out, HamletFlow{Hamlet: p[0], Flow: p[1]})
	}
	return out, nil
}
