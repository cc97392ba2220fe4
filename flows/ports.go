package flows

import (
	"context"
	"errors"
	"time"
)

// Localizer renders a message id in a language with template data. A missing
// message is an error; the text returned alongside, if any, may still be used.
type Localizer interface {
	Localize(lang, id string, data map[string]any) (string, error)
}

// Area is one administrative unit: a province, a commune or a hamlet.
type Area struct {
	ID         string   `json:"id" yaml:"id"`
	Level      string   `json:"level" yaml:"level"` // "province", "commune", "hamlet"
	Name       string   `json:"name" yaml:"name"`
	Aliases    []string `json:"aliases,omitempty" yaml:"aliases"`
	ParentID   string   `json:"parent_id,omitempty" yaml:"parent_id"`
	Households *int     `json:"households,omitempty" yaml:"households"`
	Population *int     `json:"population,omitempty" yaml:"population"`
	ValidFrom  string   `json:"valid_from,omitempty" yaml:"valid_from"` // YYYY-MM-DD, inclusive
	ValidTo    string   `json:"valid_to,omitempty" yaml:"valid_to"`     // YYYY-MM-DD, inclusive
	Successor  string   `json:"successor_id,omitempty" yaml:"successor_id"`
	// Unassigned marks a commune's "not yet assigned" hamlet.
	Unassigned bool `json:"unassigned,omitempty" yaml:"unassigned"`
	// Code is a hamlet's code ("XAK7", HamletCodeOf), which a resident
	// sends where there is no deep link. The store gives it and keeps it
	// apart from the area's JSON, so neither content nor an import sets
	// or changes it.
	Code string `json:"-" yaml:"-"`
}

// Area levels.
const (
	LevelProvince = "province"
	LevelCommune  = "commune"
	LevelHamlet   = "hamlet"
)

// ValidOn reports whether the area exists on the given day (YYYY-MM-DD).
func (a Area) ValidOn(day string) bool {
	return (a.ValidFrom == "" || a.ValidFrom <= day) && (a.ValidTo == "" || day <= a.ValidTo)
}

// Directory answers questions about areas from an in-memory snapshot, so the
// engine stays free of I/O.
type Directory interface {
	// Area returns the area with the given id.
	Area(id string) (Area, bool)
	// Children returns the areas whose parent is id, in display order.
	Children(id string) []Area
	// Communes returns every commune, in display order.
	Communes() []Area
	// HamletByCode returns the hamlet whose Code is code (upper case).
	HamletByCode(code string) (Area, bool)
}

// Commit is the one atomic per-chat write: the new session (if Expect still
// matches the stored version), the processed update id, the replies to send
// and the effects to apply.
type Commit struct {
	Resident string
	Expect   int64 // version loaded; the write fails with ErrStale if it moved
	// ExpectToken is the loaded session's Token: the write fails with
	// ErrStale if the stored one differs, even at the same version (a write
	// Redis forgot, see Session.Token).
	ExpectToken string
	Session     Session
	UpdateID    string
	Outbox      []Reply
	Effects     []Effect
	// Marks are the turn's funnel marks: the store counts them in the same
	// atomic write, once per resident, step and month.
	Marks []Mark
	// Release asks a Beginner store to release the resident's lock taken by
	// Begin in the same write, when nothing after the write needs it; the
	// unlock function Begin returned then costs nothing. Other stores
	// ignore it.
	Release bool
}

// Store is what the service needs from persistence. Every method is atomic
// for one resident; the Redis implementation keeps a resident's keys under
// one hash tag.
type Store interface {
	// Lock serialises processing of one resident; unlock releases it only if
	// still held. It waits up to the store's lock timeout.
	Lock(ctx context.Context, resident string) (unlock func(), err error)
	// Session returns the stored session, or a zero Session with Version 0.
	Session(ctx context.Context, resident string) (Session, error)
	// Processed reports whether an update id was already committed.
	Processed(ctx context.Context, resident, updateID string) (bool, error)
	// Commit writes c atomically; ErrStale if the session moved on.
	Commit(ctx context.Context, c Commit) error
	// ApplyEffects applies the resident's committed effects to the hamlet
	// counters, idempotently, and clears them.
	ApplyEffects(ctx context.Context, resident string) error
}

// Beginner is implemented by stores that can begin a turn in one round
// trip: take the resident's lock, tell whether updateID was processed, and
// load the session. Begin returns what Lock, Processed and Session would.
type Beginner interface {
	Begin(ctx context.Context, resident, updateID string) (unlock func(), seen bool, sess Session, err error)
}

// FastCommitter is implemented by stores that can commit a turn taken
// without the resident's lock, on the session this process wrote last
// (Service.Cache): one round trip instead of Begin's and Commit's two.
// CommitUnlocked writes c as Commit does, after checking in the same write
// that no one holds the resident's lock (ErrLocked), that the update id is
// new (ErrDuplicate) and that the session did not move (ErrStale); the turn
// then runs again the usual way. When effects wait to be applied after the
// write it takes the lock in the write and returns its unlock (else nil).
type FastCommitter interface {
	CommitUnlocked(ctx context.Context, c Commit) (unlock func(), err error)
}

// EffectsWaiter is implemented by Beginner stores that learn in Begin
// whether effects of earlier turns still wait to be applied (a failure
// after their write): the turn then applies them, rather than leaving them
// to the sweep.
type EffectsWaiter interface {
	EffectsWaiting(resident string) bool
}

// Checker is an external check: it takes an input (a photo, pasted text) and
// returns an outcome name, which the step's Outcomes map to the next step.
type Checker interface {
	Check(ctx context.Context, resident string, lang string, in Input) (CheckResult, error)
}

// CheckResult is what a checker found: the outcome the flow branches on,
// and what to tell the resident (already in their language), if anything.
type CheckResult struct {
	Outcome string
	Text    string
}

// TeamDesk answers the commands of team members and coordinators and routes
// residents' help requests to them. Unlike the engine it reads other
// people's data, with I/O, so the service calls it around the engine's turn;
// package desk implements it.
type TeamDesk interface {
	// Do answers a team command or a staff button (the engine's
	// Result.Staff) for resident, changing s (their screen) as it goes. A
	// refusal is a reply; an error is a failure of a store, and the turn is
	// then not committed.
	Do(ctx context.Context, resident string, s *Session, req StaffRequest, now time.Time) ([]Reply, error)
	// NotifyHelp turns a committed EffectHelp into a help request and tells
	// the hamlet's team.
	NotifyHelp(ctx context.Context, resident string, s Session, e Effect) error
	// IsMember reports whether resident is a team member or coordinator
	// (whom retention keeps).
	IsMember(ctx context.Context, resident string) (bool, error)
}

// Clock tells the time; tests use a fixed one.
type Clock interface{ Now() time.Time }

// ClockFunc adapts a function to Clock.
type ClockFunc func() time.Time

// Now returns f().
func (f ClockFunc) Now() time.Time { return f() }

// Errors the service and store use.
var (
	// ErrStale means another writer committed first; the input is retried.
	ErrStale = errors.New("session changed by another writer")
	// ErrLocked means the resident's lock could not be taken in time.
	ErrLocked = errors.New("resident is busy")
	// ErrDuplicate means the update was processed before (FastCommitter).
	ErrDuplicate = errors.New("update already processed")
	// ErrUnknownFlow means a flow id is not in the library.
	ErrUnknownFlow = errors.New("unknown flow")
	// ErrStepBudget means one input walked more steps than allowed: a loop in content.
	ErrStepBudget = errors.New("step budget exceeded")
)
