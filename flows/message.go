package flows

import "time"

// InputKind says what a resident sent.
type InputKind string

// The kinds of input a channel can deliver.
const (
	InputText    InputKind = "text"    // Text holds what was typed
	InputCommand InputKind = "command" // Command holds the name without "/", Text its arguments
	InputChoice  InputKind = "choice"  // Data holds the button's data
	InputContact InputKind = "contact" // Text holds the phone number shared
	InputPhoto   InputKind = "photo"   // Photo holds the channel's file reference
	InputOther   InputKind = "other"   // a voice note, a sticker, a video, a location…: nothing the bot can read
	InputCheck   InputKind = "check"   // internal: Data is an external checker's outcome
	InputMoved   InputKind = "moved"   // internal: a team member filed the resident under hamlet Data
)

// Input is one thing a resident sent, already turned from a platform update
// into the engine's terms by a channel.
type Input struct {
	Kind    InputKind
	Text    string
	Command string
	Data    string
	Photo   string
	// UpdateID identifies the platform update, qualified by channel
	// ("tg:800000001"); the store remembers it so a redelivery is ignored.
	UpdateID string
	// Lang is a language the resident chose outside the conversation (the
	// console's --lang); used at first contact only. Telegram's
	// language_code proves nothing and is not passed here.
	Lang string
	// Name is the resident's display name, for the team's follow-up lists.
	Name string
}

// Reply is one message the bot sends.
type Reply struct {
	ID      string   `json:"id"`   // unique in the outbox: update id + index
	Text    string   `json:"text"` // rendered, in the resident's language
	Buttons []Choice `json:"buttons,omitempty"`
	Image   string   `json:"image,omitempty"` // optional image reference
	// Bulk marks a message the bot sends on its own (a reminder): it is
	// paced at the bulk rate shared by all replicas.
	Bulk bool `json:"bulk,omitempty"`
	// NotAfter, unix seconds, when set: a bulk message not sent by then is
	// not sent at all. A reminder carries the start of that evening's
	// quiet hours: one held up (a long reminder run, Telegram away) must
	// not reach a resident at night.
	NotAfter int64 `json:"not_after,omitempty"`
	// Document, when set, is a file to send (a coordinator's export).
	Document *Document `json:"document,omitempty"`
	// NoPreview asks the channel to send the text with link previews
	// turned off where the platform allows (Telegram; Zalo and the console
	// have no previews to turn off). Set it on a reply carrying a link
	// that must not be fetched by the chat app (a one-time /dashboard
	// login): every part of a long text is sent so (delivery.Plan).
	NoPreview bool `json:"no_preview,omitempty"`
}

// EffectKind names a fact the hamlet counts care about.
type EffectKind string

// The effects the engine reports.
const (
	EffectStarted   EffectKind = "started"   // a flow was started by the resident
	EffectActivity  EffectKind = "activity"  // progress in an unfinished flow
	EffectCompleted EffectKind = "completed" // a flow reached its end step
	EffectHelp      EffectKind = "help"      // the resident asked for a human
	EffectLeft      EffectKind = "left"      // an unfinished flow was dropped (cancel, move, expiry)
	EffectFiled     EffectKind = "filed"     // the resident is filed under Hamlet
	EffectUnfiled   EffectKind = "unfiled"   // the resident left Hamlet for another
	// EffectAsked: the resident typed a hamlet name Commune does not list
	// (Name); they are filed under its unassigned hamlet (Hamlet).
	EffectAsked EffectKind = "hamlet_asked"
)

// Effect is one hamlet-level fact produced by an input. The store applies
// effects idempotently after the atomic per-chat write.
type Effect struct {
	Kind   EffectKind `json:"kind"`
	Flow   string     `json:"flow,omitempty"`
	Step   string     `json:"step,omitempty"`
	Hamlet string     `json:"hamlet"`
	At     time.Time  `json:"at"`
	// Via is "self" or "team" for EffectCompleted.
	Via string `json:"via,omitempty"`
	// Reason says why a flow was left: "cancel", "move", "expired". On
	// EffectStarted, "move" says the flow came with the resident from
	// another hamlet: its start is counted here from now on.
	Reason string `json:"reason,omitempty"`
	// Started is when the flow was started, on the EffectLeft and
	// EffectStarted of a move: its "started" count moves, in that month.
	Started time.Time `json:"started,omitzero"`
	// Commune and Name are EffectAsked's: the commune and the hamlet name
	// as the resident typed it.
	Commune string `json:"commune,omitempty"`
	Name    string `json:"name,omitempty"`
	// Urgent marks an EffectHelp filed by an urgent step (Step.Urgent).
	Urgent bool `json:"urgent,omitempty"`
}

// Mark says that a resident was shown a step of a flow (an info, waiting or
// end step; a redraw of the same screen is no mark): the funnel of a guide,
// counted by the store once per resident, step and month in the hamlet.
// Marks are kept apart from Effects: they are written with the turn's
// commit and never make the turn wait for ApplyEffects.
type Mark struct {
	Flow   string    `json:"flow"`
	Step   string    `json:"step"`
	Hamlet string    `json:"hamlet"`
	At     time.Time `json:"at"`
	// End is set for the flow's end step: the resident is no longer at a
	// step of it.
	End bool `json:"end,omitempty"`
	// Left is set when the run was left unfinished (cancel, expiry, a move,
	// /forget, retention) at Step: the resident is no longer at a step of
	// it, and nothing is counted.
	Left bool `json:"left,omitempty"`
}

// Result is what the engine returns for one input.
type Result struct {
	Session Session
	Replies []Reply
	Effects []Effect
	// Marks are the steps shown in this turn, in order, each once.
	Marks []Mark
	// Sensitive is set when the input looked like a secret (OTP, PIN, card or
	// ID number): it must not be stored or logged, and a channel that can
	// should delete the resident's message.
	Sensitive bool
	// Stale is set when the input was a tap on a button that is not on the
	// resident's current keyboard (an earlier screen's): it was answered
	// common.stale_button with the current screen, and a channel that can
	// should take the tapped message's buttons off.
	Stale bool
	// LostWrite is set when the tap was on a keyboard newer than the
	// session's (Session.KeyboardSeq): the resident saw replies of writes
	// the store no longer holds (Redis forgot its last second, or a
	// failover lost them). The tap is answered as Stale.
	LostWrite bool
	// OldTaps is set when this tap on an old button was the OldTapsWarn-th
	// in a row: the resident may be stuck, and an operator should know.
	OldTaps bool
	// Check, when set, asks the service to run an external checker and feed
	// its outcome back as an InputCheck.
	Check *CheckRequest
	// Staff, when set, is a team or coordinator command for the Desk.
	Staff *StaffRequest
	// Forget is set when the resident asked to be forgotten: the service
	// deletes what is stored about them.
	Forget bool
	// Warnings are problems that did not stop the turn (a message missing in
	// a language, for example); the service logs them.
	Warnings []error
}

// CheckRequest hands an input to a named checker outside the engine.
type CheckRequest struct {
	Checker string
	Input   Input
}
