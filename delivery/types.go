package delivery

import (
	"context"
	"strconv"
	"time"

	"github.com/hangxomso/hangxom/flows"
)

// State is what the store knows of one message's delivery.
type State int

// The states of a message's delivery; the zero State is none of them.
const (
	// StateNew: no attempt was recorded; this one now is. Send it.
	StateNew State = iota + 1
	// StateDone: the message was sent; a Finish pops it if still queued.
	StateDone
	// StateUncertain: an earlier attempt began and never finished nor aborted,
	// so whether it reached the resident is unknown. It is not repeated.
	StateUncertain
)

// String returns the state's name.
func (s State) String() string {
	switch s {
	case StateNew:
		return "new"
	case StateDone:
		return "done"
	case StateUncertain:
		return "uncertain"
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// Pace is a rate shared by every replica on one store (GCRA): on average
// Rate messages a second, bursts of up to Burst. A Pace whose Rate is not
// positive does not pace (Unpaced).
type Pace struct {
	Rate  float64
	Burst int
}

// Unpaced is the Pace that never waits: for a channel with no platform
// limit (the console).
var Unpaced = Pace{Rate: -1}

// Off reports whether p does not pace.
func (p Pace) Off() bool { return !(p.Rate > 0) }

// Handle is a channel's own id of a message it sent ("" for none). The
// store keeps the handle of the message carrying the resident's live
// buttons and never reads it; only the channel that wrote it does.
type Handle string

// Store is what delivery needs from the store. Per resident, the store
// keeps the outbox written atomically with the session, a marker per
// message (attempt or sent), the send lock, the chat's pace and the handle
// of the message with live buttons; and, over all residents, an index of
// outboxes waiting.
type Store interface {
	// ClaimOutbox takes the resident's send lock and reads the outbox in
	// one round trip, without waiting (flows.ErrLocked, wrapped, when
	// another sender has it). When the head reply is surely one message on
	// the channel (not bulk; its text within l.OneMessage bytes, and within
	// l.CaptionBytes() if it has an image or a document; its buttons within
	// l.MaxButtons, each label within l.MaxTitle bytes), it also paces it by
	// p and marks it as Begin would (so its Plan is that one message).
	ClaimOutbox(ctx context.Context, resident string, p Pace, l Limits) (Claim, error)
	// BeginSend marks an attempt at message id unless one was marked
	// before, and says which.
	BeginSend(ctx context.Context, resident, id string) (State, error)
	// AbortSend forgets an attempt that surely did not happen.
	AbortSend(ctx context.Context, resident, id string) error
	// DropReply gives up on a reply: popped, its marker left as it is.
	DropReply(ctx context.Context, resident, id string) error
	// PendingOutboxes lists residents whose outbox waits since before
	// olderThan.
	PendingOutboxes(ctx context.Context, olderThan time.Time, limit int) ([]string, error)
	// SetReachable marks whether the resident can be sent to; reminders
	// skip the unreachable.
	SetReachable(ctx context.Context, resident string, ok bool) error
	// Allow takes one message from the rate named key (ratePerSec > 0, a
	// burst of at least 1), without waiting: when refused, it says how long
	// until the next would be allowed.
	Allow(ctx context.Context, key string, ratePerSec float64, burst int) (bool, time.Duration, error)
	// DeferFinishes holds, until ctx is done, the Finish that ends a claim:
	// it is written with the resident's next claim, or after delay with
	// every other one held, in one round trip.
	DeferFinishes(ctx context.Context, delay time.Duration)
}

// Claim is an outbox taken under the resident's send lock: its replies, and
// the calls that deliver them. Begin paces the chat and marks the attempt
// and tells which message carries the resident's buttons now; Finish marks
// the message sent, pops it, records the message with the new buttons and,
// on the last, releases the lock.
type Claim interface {
	Replies() []flows.Reply
	Begin(ctx context.Context, id string, p Pace) (st State, wait time.Duration, buttons Handle, err error)
	Finish(ctx context.Context, id string, sent bool, buttons Handle, release bool) error
	// Next makes the next Finish that keeps the claim also pace and mark
	// id, so that its Begin asks nothing (one round trip a message).
	Next(id string, p Pace)
	// Recheck makes the next Begin of id ask the store again.
	Recheck(id string)
	Release(ctx context.Context)
}

// Message is one platform message of a reply. A long text is cut into
// parts by the core (Limits.MaxText); earlier parts carry only text, the
// last carries the reply's buttons, image and document.
type Message struct {
	// ID is the delivery id: the reply's, or id~a, id~b … for earlier parts.
	ID       string
	Text     string
	Buttons  []flows.Choice
	Image    string // a URL, or a data: URL (see flows.Reply.Image)
	Document *flows.Document
	// Bulk marks a message the bot sends on its own (a reminder).
	Bulk bool
	// NoPreview: send with link previews turned off where the platform
	// allows (flows.Reply.NoPreview); every part of a reply has it.
	NoPreview bool
}

// Outcome is how a send ended, as the channel classifies its platform's
// answer.
type Outcome int

// The outcomes of a send.
const (
	// Sent: the platform took it. Result.Buttons is the message's handle
	// when it carries buttons.
	Sent Outcome = iota
	// RateLimited: the platform asked to wait Result.Wait. The message is
	// unmarked, waited for and tried again; no retry is used up.
	RateLimited
	// Transient: surely not shown (the request never left, or a server
	// error). Unmarked, tried again with backoff up to five times, then
	// left to the recovery scan.
	Transient
	// Rejected: the platform will never take it (bad markup, too long).
	// Dropped, so that it cannot block the chat.
	Rejected
	// Unreachable: the resident blocked the bot or is gone. They are marked
	// unreachable and the rest of their outbox is dropped.
	Unreachable
	// Uncertain: the request was written and the answer lost; the platform
	// may have shown it. Never repeated: the marker stays an attempt.
	Uncertain
	// Unavailable: the channel cannot send for a while (a Zalo OA waiting
	// to be linked again); surely not shown. The message is unmarked and
	// the resident's drain comes back after Result.Wait (a second at
	// least), holding no worker and using no retry.
	Unavailable
)

var outcomeNames = [...]string{"sent", "rate-limited", "transient", "rejected", "unreachable", "uncertain", "unavailable"}

// String returns the outcome's name.
func (o Outcome) String() string {
	if o >= 0 && int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return "Outcome(" + strconv.Itoa(int(o)) + ")"
}

// Result is a send's outcome, with what it carries.
type Result struct {
	Outcome Outcome
	Wait    time.Duration // RateLimited: how long the platform asked to wait
	Buttons Handle        // Sent: the handle of a message with buttons
	Err     error         // why, for the log (never a message body)
}

// Limits are a channel's sizes.
type Limits struct {
	// MaxText is the most characters (runes) of one message; longer texts
	// are cut into parts.
	MaxText int
	// OneMessage is the most bytes of text that is surely one message on
	// the channel (the store's claim marks such a head reply without a
	// second round trip).
	OneMessage int
	// MaxCaption is the most characters of text an image or a document may
	// carry; a longer text goes as a message of its own (Plan). 0: no
	// limit; negative: an image or document carries no text.
	MaxCaption int
	// MaxButtons is the most buttons one message may carry (Zalo: 5), and
	// MaxTitle the most characters of a button's label; 0: no limit. A
	// screen beyond either is numbered in the text (Plan).
	MaxButtons, MaxTitle int
}

// CaptionBytes is the most bytes of text a reply with an image or a
// document may have to be surely one message: negative when none is.
func (l Limits) CaptionBytes() int {
	switch {
	case l.MaxCaption == 0:
		return l.OneMessage
	case l.MaxCaption < 0:
		return -1
	}
	return min(l.MaxCaption, l.OneMessage) // a rune is at least a byte
}

// Transport is a channel's sending half.
type Transport interface {
	// Name is the channel's name in metrics and logs ("telegram").
	Name() string
	// Owns reports whether resident is this channel's ("tg:…").
	Owns(resident string) bool
	Limits() Limits
	// Send renders m for the platform, calls it and classifies the answer.
	Send(ctx context.Context, resident string, m Message) Result
	// TakeOffButtons makes an earlier message's buttons untappable; a
	// platform that cannot returns nil. The core calls it only when
	// Core.TakeOffOldButtons is set.
	TakeOffButtons(ctx context.Context, resident string, h Handle) error
}
