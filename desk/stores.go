package desk

import (
	"context"
	"time"

	"github.com/hangxomso/hangxom/flows"
)

// The stores the desk alone reads and writes; package store implements
// them all.

// StaffStore keeps members and invites.
type StaffStore interface {
	Member(ctx context.Context, id string) (flows.Member, bool, error)
	PutMember(ctx context.Context, m flows.Member) error
	RemoveMember(ctx context.Context, id string) error
	Members(ctx context.Context) ([]flows.Member, error)
	CreateInvite(ctx context.Context, inv flows.Invite) error
	// RedeemInvite uses one use of a code atomically.
	RedeemInvite(ctx context.Context, code string) (flows.Invite, error)
	// Allow is a rate limiter shared by replicas (against guessing codes).
	Allow(ctx context.Context, key string, ratePerSec float64, burst int) (bool, time.Duration, error)
}

// FollowUpStore answers the team's questions about residents.
type FollowUpStore interface {
	// Open lists a hamlet's residents with an unfinished flow, oldest first.
	Open(ctx context.Context, hamlet, flow string) ([]flows.OpenEntry, error)
	// Resident maps a pseudonym back to the resident, unless forgotten.
	Resident(ctx context.Context, pseudonym string) (string, bool, error)
	Session(ctx context.Context, resident string) (flows.Session, error)
	// HamletResidents lists the pseudonyms of the residents filed under a
	// hamlet.
	HamletResidents(ctx context.Context, hamlet string) ([]string, error)
}

// HelpStore keeps help requests and reaches other people's outboxes.
type HelpStore interface {
	CreateHelp(ctx context.Context, h flows.HelpRequest) (bool, error)
	Help(ctx context.Context, id string) (flows.HelpRequest, bool, error)
	UpdateHelp(ctx context.Context, id string, change func(*flows.HelpRequest) bool) (flows.HelpRequest, bool, error)
	OpenHelps(ctx context.Context, hamlet string) ([]flows.HelpRequest, error)
	UnclaimedBefore(ctx context.Context, t time.Time) ([]flows.HelpRequest, error)
	Enqueue(ctx context.Context, resident string, replies ...flows.Reply) error
}

// ReminderStore keeps the reminder queue.
type ReminderStore interface {
	QueueReminders(ctx context.Context, rs []flows.Reminder) error
	// TakeDueReminders claims due reminders; each must be acknowledged,
	// or it comes back after a lease (a crashed sender).
	TakeDueReminders(ctx context.Context, now time.Time, n int) ([]flows.Reminder, error)
	AckReminder(ctx context.Context, r flows.Reminder) error
	// MarkReminded records reminder id for the resident, false if another
	// reminder did within ttl; the same id may mark again.
	MarkReminded(ctx context.Context, resident, id string, ttl time.Duration) (bool, error)
	Reminded(ctx context.Context, resident string) (bool, error)
	Reachable(ctx context.Context, resident string) (bool, error)
}

// WindowStore remembers the keep-alive message sent to a team member in
// each of their messaging windows (window.go).
type WindowStore interface {
	// KeptAlive returns the window whose keep-alive member was last sent,
	// "" if none.
	KeptAlive(ctx context.Context, member string) (string, error)
	MarkKeptAlive(ctx context.Context, member, window string, ttl time.Duration) error
}
