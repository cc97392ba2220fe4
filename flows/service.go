package flows

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"time"
)

// Forgetter is implemented by stores that can delete what they keep about a
// resident (the session and the pseudonym mapping).
type Forgetter interface {
	Forget(ctx context.Context, resident string) error
}

// Service runs the engine for one resident at a time: it locks the resident,
// loads the session, runs the engine (and any external checker), commits the
// session, the update id, the replies and the effects in one atomic write,
// and then applies the hamlet-level effects. Nothing is acted on before the
// write; the channel sends the replies by draining the outbox.
type Service struct {
	Engine   *Engine
	Store    Store
	Clock    Clock
	Checkers map[string]Checker
	// Desk answers team and coordinator commands; without it they are
	// unknown commands.
	Desk   TeamDesk
	Logger *slog.Logger
	// Cache, when set and the store is a FastCommitter, keeps the sessions
	// this process wrote last: a resident's next turn here runs on the
	// kept session without the lock and commits in one round trip (the
	// write checks the lock, the update id and the version; if any moved,
	// the turn runs again the usual way). A turn that needs the lock for
	// more than its write (a team command, a checker, /forget, a help
	// request) always runs the usual way.
	Cache *SessionCache
	// Watch, when set, is told of the turns an operator should know of.
	Watch Watcher
}

// Watcher is told of turns that show a resident in trouble or a store
// that lost writes (serve counts them in /metrics); it must be quick and
// safe for concurrent use. The service also logs them at WARN.
type Watcher interface {
	// OldTaps: a resident tapped old buttons OldTapsWarn times in a row.
	OldTaps()
	// LostWrite: a resident tapped a screen newer than their stored
	// session: the store forgot writes whose replies they saw.
	LostWrite()
}

// Handled says what became of an input, for channels that act on it.
type Handled struct {
	// Duplicate: the update was processed before; nothing changed.
	Duplicate bool
	// Sensitive: the text looked like a secret (OTP, PIN, card or ID
	// number); a channel that can should delete the resident's message.
	Sensitive bool
	// Stale: the tap was on buttons of an earlier screen (answered
	// common.stale_button, with the current screen); a channel that can
	// should take that message's buttons off. False on a duplicate.
	Stale bool
}

// maxStaleRetries bounds retries when another writer moved the session.
const maxStaleRetries = 3

// Handle processes one input for resident. A redelivered update (same
// UpdateID) is not processed again. The replies are in the outbox when
// Handle returns nil.
func (s *Service) Handle(ctx context.Context, resident string, in Input) (Handled, error) {
	if fc, ok := s.Store.(FastCommitter); ok && s.Cache != nil {
		if sess, ok := s.Cache.Get(resident); ok {
			h, done, err := s.fast(ctx, fc, resident, in, sess)
			if done {
				if err != nil {
					return Handled{}, fmt.Errorf("flows: handle %s: %w", resident, err)
				}
				return h, nil
			}
		}
	}
	unlock, seen, sess, err := s.begin(ctx, resident, in.UpdateID)
	if err != nil {
		return Handled{}, fmt.Errorf("flows: handle %s: %w", resident, err)
	}
	defer unlock()
	if sess.Forgetting {
		// A /forget whose deletion did not finish: finish it now, and run
		// this turn (if it is a new one) on what is left.
		if err := s.forget(ctx, resident); err != nil {
			return Handled{}, fmt.Errorf("flows: handle %s: %w", resident, err)
		}
		if sess, err = s.Store.Session(ctx, resident); err != nil {
			return Handled{}, fmt.Errorf("flows: handle %s: %w", resident, err)
		}
	}
	if seen {
		s.logger().Debug("duplicate update ignored", "resident", resident, "update", in.UpdateID)
		// The first delivery may have died before applying its effects.
		s.apply(ctx, resident)
		return Handled{Duplicate: true}, nil
	}
	var h Handled
	var effects bool
	// The turn's name for the desk (StaffRequest.Turn): the update id, or,
	// from a channel that gives none, one made now for all the attempts.
	turn := in.UpdateID
	if turn == "" {
		turn = "t" + strconv.FormatInt(s.Clock.Now().UnixNano(), 36)
	}
	for attempt := 0; ; attempt++ {
		h, effects, err = s.once(ctx, resident, in, sess, turn)
		if !errors.Is(err, ErrStale) || attempt >= maxStaleRetries {
			break
		}
		if sess, err = s.Store.Session(ctx, resident); err != nil {
			break
		}
	}
	if err != nil {
		return Handled{}, fmt.Errorf("flows: handle %s: %w", resident, err)
	}
	if effects {
		// Effects left pending by an earlier failure are applied here too
		// (the store's Begin tells of them), or by the sweep; a turn with
		// none spends no round trip on it.
		s.apply(ctx, resident)
	}
	return h, nil
}

// begin takes the resident's lock, checks the update id and loads the
// session: in one call when the store is a Beginner.
func (s *Service) begin(ctx context.Context, resident, updateID string) (func(), bool, Session, error) {
	if b, ok := s.Store.(Beginner); ok {
		return b.Begin(ctx, resident, updateID)
	}
	unlock, err := s.Store.Lock(ctx, resident)
	if err != nil {
		return nil, false, Session{}, err
	}
	seen := false
	if updateID != "" {
		if seen, err = s.Store.Processed(ctx, resident, updateID); err != nil {
			unlock()
			return nil, false, Session{}, err
		}
	}
	sess, err := s.Store.Session(ctx, resident)
	if err != nil {
		unlock()
		return nil, false, Session{}, err
	}
	return unlock, seen, sess, nil
}

// forget deletes what the store keeps of resident beyond the counts, when
// it can (Forgetter).
func (s *Service) forget(ctx context.Context, resident string) error {
	if f, ok := s.Store.(Forgetter); ok {
		return f.Forget(ctx, resident)
	}
	return nil
}

func (s *Service) apply(ctx context.Context, resident string) {
	if err := s.Store.ApplyEffects(ctx, resident); err != nil {
		// The effects are committed; the sweep will apply them later.
		s.logger().Warn("apply effects deferred to sweep", "resident", resident, "err", err)
	}
}

// once runs one attempt of the turn named turn on the loaded session; it
// reports whether the commit carried effects.
func (s *Service) once(ctx context.Context, resident string, in Input, sess Session, turn string) (Handled, bool, error) {
	now := s.Clock.Now()
	res, err := s.Engine.Handle(sess, in, now)
	if err == nil && res.Check != nil {
		res, err = s.check(ctx, resident, res, now)
	}
	if err == nil && res.Staff != nil {
		var replies []Reply
		if s.Desk == nil {
			text, _ := s.Engine.Loc.Localize(LangOrDefault(res.Session.Lang), "common.unknown_command", nil)
			replies = []Reply{{Text: text}}
		} else {
			req := *res.Staff
			req.Turn = turn
			if replies, err = s.Desk.Do(ctx, resident, &res.Session, req, now); err != nil {
				return Handled{}, false, err // a store failure: nothing committed, the update comes again
			}
		}
		res.Replies = append(res.Replies, replies...)
	}
	if err != nil {
		// A broken flow must not wedge the resident: keep the session,
		// record the update, apologise.
		s.logger().Error("engine failed", "resident", resident, "kind", in.Kind, "err", err)
		text, _ := s.Engine.Loc.Localize(LangOrDefault(sess.Lang), "common.error", nil)
		res = Result{Session: sess, Replies: []Reply{{Text: text}}}
	}
	s.ready(resident, in, &res, now)
	waiting := false
	if w, ok := s.Store.(EffectsWaiter); ok {
		waiting = w.EffectsWaiting(resident)
	}
	c := turnCommit(resident, in, sess, &res)
	// Effects (this turn's, or an earlier one's still waiting) and
	// forgetting still need the lock after the write.
	c.Release = len(res.Effects) == 0 && !res.Forget && !waiting
	if err := s.Store.Commit(ctx, c); err != nil {
		s.Cache.Drop(resident)
		return Handled{}, false, err
	}
	if res.Forget {
		s.Cache.Drop(resident)
	} else {
		s.Cache.Put(resident, res.Session, sess.Version+1)
	}
	s.watch(resident, res)
	if s.Desk != nil {
		for _, e := range res.Effects {
			if e.Kind == EffectHelp {
				// After the write: a crash just before this loses the
				// routed request (the hamlet's help count is kept).
				if err := s.Desk.NotifyHelp(ctx, resident, res.Session, e); err != nil {
					s.logger().Warn("notify helpers", "resident", resident, "err", err)
				}
			}
		}
	}
	if res.Forget {
		if err := s.forget(ctx, resident); err != nil {
			return Handled{}, false, err
		}
	}
	s.logger().Debug("handled", "resident", resident, "kind", in.Kind, "stage", res.Session.Stage,
		"replies", len(res.Replies), "effects", len(res.Effects), "sensitive", res.Sensitive)
	return Handled{Sensitive: res.Sensitive, Stale: res.Stale}, len(res.Effects) > 0 || waiting, nil
}

// watch logs and tells Watch of a committed turn an operator should know of.
func (s *Service) watch(resident string, res Result) {
	if res.LostWrite {
		s.logger().Warn("redis lost writes: the resident tapped a screen newer than their stored session; they were shown their current screen",
			"resident", resident)
		if s.Watch != nil {
			s.Watch.LostWrite()
		}
	}
	if res.OldTaps {
		s.logger().Warn("a resident tapped old buttons "+strconv.Itoa(OldTapsWarn)+" times in a row; they may be stuck",
			"resident", resident, "stage", res.Session.Stage)
		if s.Watch != nil {
			s.Watch.OldTaps()
		}
	}
}

// ready readies a turn's result for its write: the engine's warnings
// logged, the replies given ids, the session compacted.
func (s *Service) ready(resident string, in Input, res *Result, now time.Time) {
	for _, w := range res.Warnings {
		s.logger().Warn("engine warning", "resident", resident, "err", w)
	}
	base := in.UpdateID
	if base == "" {
		base = "t" + strconv.FormatInt(now.UnixNano(), 36)
	}
	for i := range res.Replies {
		res.Replies[i].ID = base + "#" + strconv.Itoa(i)
	}
	s.Engine.Compact(&res.Session)
}

// turnCommit is the write of a turn taken on sess with the result res; it
// gives res.Session a new Token (the one the write stores).
func turnCommit(resident string, in Input, sess Session, res *Result) Commit {
	res.Session.Token = NewToken()
	return Commit{
		Resident:    resident,
		Expect:      sess.Version,
		ExpectToken: sess.Token,
		Session:     res.Session,
		UpdateID:    in.UpdateID,
		Outbox:      res.Replies,
		Effects:     res.Effects,
		Marks:       res.Marks,
	}
}

// NewToken returns a session token (Session.Token): 48 random bits, in 12
// hex digits. Only their uniqueness among one resident's writes matters,
// so a fast generator is enough.
func NewToken() string {
	const digits = "0123456789abcdef"
	var b [12]byte
	v := rand.Uint64()
	for i := range b {
		b[i] = digits[v&15]
		v >>= 4
	}
	return string(b[:])
}

// Retire forgets resident as /forget does, without a word to them, if
// their last message is older than before (their session's Seen): the
// retention the first screen announces (Engine.Retention). A team member
// or coordinator is kept: their role is the coordinators' to end (/team).
// It reports whether they were forgotten.
func (s *Service) Retire(ctx context.Context, resident string, before time.Time) (bool, error) {
	unlock, _, sess, err := s.begin(ctx, resident, "")
	if err != nil {
		return false, fmt.Errorf("flows: retire %s: %w", resident, err)
	}
	defer unlock()
	now := s.Clock.Now()
	if sess.Seen.After(before) {
		return false, nil // they came back
	}
	if s.Desk != nil {
		if member, err := s.Desk.IsMember(ctx, resident); err != nil {
			return false, fmt.Errorf("flows: retire %s: %w", resident, err)
		} else if member {
			return false, nil
		}
	}
	if sess.Version > 0 {
		res := s.Engine.Retire(sess, now)
		if err := s.Store.Commit(ctx, turnCommit(resident, Input{}, sess, &res)); err != nil {
			return false, fmt.Errorf("flows: retire %s: %w", resident, err)
		}
		s.Cache.Drop(resident)
		if len(res.Effects) > 0 {
			s.apply(ctx, resident)
		}
	}
	if err := s.forget(ctx, resident); err != nil {
		return false, fmt.Errorf("flows: retire %s: %w", resident, err)
	}
	return true, nil
}

// fast runs a turn on a session this process wrote last, without the
// lock, and commits it in one round trip. done is false when the turn must
// run the usual way instead: it needs more than its write, or the write
// found the resident busy, the update processed or the session moved (the
// kept session is then dropped).
func (s *Service) fast(ctx context.Context, fc FastCommitter, resident string, in Input, sess Session) (h Handled, done bool, err error) {
	now := s.Clock.Now()
	res, err := s.Engine.Handle(sess, in, now)
	if err != nil || res.Check != nil || res.Staff != nil || res.Forget {
		return Handled{}, false, nil
	}
	for _, e := range res.Effects {
		if e.Kind == EffectHelp {
			return Handled{}, false, nil // the helpers are told after the write, under the lock
		}
	}
	s.ready(resident, in, &res, now)
	unlock, err := fc.CommitUnlocked(ctx, turnCommit(resident, in, sess, &res))
	if err != nil {
		s.Cache.Drop(resident)
		if errors.Is(err, ErrStale) || errors.Is(err, ErrLocked) || errors.Is(err, ErrDuplicate) {
			return Handled{}, false, nil
		}
		return Handled{}, true, err
	}
	s.Cache.Put(resident, res.Session, sess.Version+1)
	s.watch(resident, res)
	if unlock != nil {
		// Effects wait (this turn's or an earlier one's): the write took
		// the lock for them.
		s.apply(ctx, resident)
		unlock()
	}
	s.logger().Debug("handled without the lock", "resident", resident, "kind", in.Kind, "stage", res.Session.Stage,
		"replies", len(res.Replies), "effects", len(res.Effects), "sensitive", res.Sensitive)
	return Handled{Sensitive: res.Sensitive, Stale: res.Stale}, true, nil
}

// check runs an external checker and feeds its outcome back to the engine
// as an InputCheck, in the same turn and the same atomic write.
func (s *Service) check(ctx context.Context, resident string, res Result, now time.Time) (Result, error) {
	req := res.Check
	outcome, said := "unavailable", ""
	if c, ok := s.Checkers[req.Checker]; ok {
		r, err := c.Check(ctx, resident, LangOrDefault(res.Session.Lang), req.Input)
		if err != nil {
			s.logger().Warn("checker failed", "checker", req.Checker, "resident", resident, "err", err)
			r = CheckResult{Outcome: "error"}
		}
		outcome, said = r.Outcome, r.Text
	} else {
		// Expected until the checker is installed; the flow's
		// "unavailable" outcome tells the resident honestly.
		s.logger().Debug("no such checker", "checker", req.Checker)
	}
	next, err := s.Engine.Handle(res.Session, Input{Kind: InputCheck, Data: outcome, Text: req.Input.Text}, now)
	if err != nil {
		return Result{}, err
	}
	if said != "" {
		res.Replies = append(res.Replies, Reply{Text: said})
	}
	next.Replies = append(res.Replies, next.Replies...)
	next.Effects = append(res.Effects, next.Effects...)
	next.Marks = append(res.Marks, next.Marks...)
	next.Warnings = append(res.Warnings, next.Warnings...)
	next.Sensitive = next.Sensitive || res.Sensitive
	next.Stale = next.Stale || res.Stale
	return next, nil
}

func (s *Service) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

// LangOrDefault is the language l, or Vietnamese (the default) when the
// resident has not chosen one.
func LangOrDefault(l string) string {
	if l == "" {
		return "vi"
	}
	return l
}
