package flows

import (
	"context"
	"errors"
	"slices"
	"time"
)

// Role is what a person may do beyond being a resident.
type Role string

// The roles. Everyone is a resident; team members are bound to hamlets,
// coordinators to communes or the province.
const (
	RoleTeam        Role = "team"
	RoleCoordinator Role = "coordinator"
)

// Member is a team member or a coordinator.
type Member struct {
	ID    string   `json:"id"` // channel-qualified, like a resident id
	Role  Role     `json:"role"`
	Areas []string `json:"areas"` // hamlets (team) or communes / the province (coordinator)
	// Secretary marks a party-cell secretary, who may see party members'
	// progress in the party-handbook flow by name, in SecretaryAreas: a
	// secretary invite names one hamlet. A member stored before
	// SecretaryAreas (the flag alone) is one in all their areas.
	Secretary      bool      `json:"secretary,omitempty"`
	SecretaryAreas []string  `json:"secretary_areas,omitempty"`
	Name           string    `json:"name,omitempty"`
	Since          time.Time `json:"since"`
	AddedBy        string    `json:"added_by,omitempty"`
}

// SecretaryOf reports whether m is a party-cell secretary of hamlet.
func (m Member) SecretaryOf(hamlet string) bool {
	if len(m.SecretaryAreas) > 0 {
		return slices.Contains(m.SecretaryAreas, hamlet)
	}
	return m.Secretary
}

// Invite lets one or more people join as team members or coordinators of
// an area. Its code is unguessable, it expires and it is used up.
type Invite struct {
	Code      string `json:"code"`
	AreaID    string `json:"area_id"`
	AreaLevel string `json:"area_level"`
	Role      Role   `json:"role"`
	Uses      int    `json:"uses"` // left
	// Secretary: the people joining are party-cell secretaries, who may see
	// party members' progress by name.
	Secretary bool      `json:"secretary,omitempty"`
	ExpiresAt time.Time `json:"expires_at"`
	CreatedBy string    `json:"created_by,omitempty"`
}

// APIKey is what the store keeps of a key of the open feed (/api/v1, issue
// 20): never the key itself, only its hash, by which it is found. ID is
// the first 12 hex digits of that hash: what the command line lists and
// revokes by, and what logs name. A key reads the counts of Area (a
// hamlet, a commune or the province) and is no person: it may never see a
// resident's name.
type APIKey struct {
	ID      string    `json:"id"`
	Area    string    `json:"area"`
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
}

// ErrInviteInvalid means an invite code is unknown, expired or used up.
var ErrInviteInvalid = errors.New("invite code unknown, expired or used up")

// Button data and actions the engine and the team desk share.
const (
	// StaffAction starts the action of a button on a team member's or
	// coordinator's screen; the rest is the desk's own.
	StaffAction = "staff:"
	// HelpClaimPrefix starts the callback data of the "I will help" button
	// on a help notification. That message goes to another person's chat,
	// outside their session's keyboard, so the data names the request
	// itself; the desk checks the presser's role and area, so forged data
	// gains nothing.
	HelpClaimPrefix = "h:"
	// NotePrefix starts the data of the resident's "🏠 Write where I live"
	// button under the message saying who will come.
	NotePrefix = "n:"
	// ResumePrefix starts the callback data of a reminder's resume button
	// (a message outside the resident's session keyboard).
	ResumePrefix = "r:"
	// KeepAlivePrefix is the data of the one-tap message that keeps a team
	// member's messaging window open (a channel such as Zalo reaches a
	// person only within days of their last message): the tap is the
	// message, and the desk thanks them.
	KeepAlivePrefix = "k:"
)

// StaffRequest is a team or coordinator command, or the action of a button
// on one of their screens, handed by the engine to the Desk.
type StaffRequest struct {
	Command string // "join", "invite", "team", …
	Args    string
	Action  string // a staff button's action, "staff:…"
	// Turn names the turn that asked, the same on every attempt at it: the
	// update id (Input.UpdateID), set by the Service. The desk names the
	// messages it enqueues for others after it, so that the sent markers
	// let one copy through when the turn runs again (a stale write, or a
	// failed one and the update delivered again); an id made from the
	// clock differed on each attempt, and from the message (a shared phone
	// number) would keep personal data in the markers and the logs.
	Turn string
}

// OpenEntry is a resident with an unfinished flow in a hamlet, known by
// pseudonym, with their last activity.
type OpenEntry struct {
	Pseudonym string
	Last      time.Time
}

// Help request states.
const (
	HelpOpen    = "open"
	HelpClaimed = "claimed"
	HelpClosed  = "closed"
)

// HelpRequest is a resident's call for a human (❓ stuck or 🙋), routed to
// the hamlet's team members; the first to claim it helps.
type HelpRequest struct {
	ID       string    `json:"id"`
	Hamlet   string    `json:"hamlet"`
	Flow     string    `json:"flow,omitempty"`
	Step     string    `json:"step,omitempty"`
	Resident string    `json:"resident"` // to reach them; deleted with /forget
	Name     string    `json:"name,omitempty"`
	At       time.Time `json:"at"`
	Status   string    `json:"status"`

	ClaimedBy   string    `json:"claimed_by,omitempty"`
	ClaimerName string    `json:"claimer_name,omitempty"`
	ClaimedAt   time.Time `json:"claimed_at,omitempty"`
	Escalated   bool      `json:"escalated,omitempty"`
	// Urgent: filed by an urgent step (Step.Urgent); the team is told so.
	Urgent bool `json:"urgent,omitempty"`
	// Contact is a phone number the resident shared for this request; only
	// the claimer sees it, and /forget deletes it with the request.
	Contact string `json:"contact,omitempty"`
	// Note is where the resident lives, as they wrote it for the helper.
	Note string `json:"note,omitempty"`
}

// ErrNoHelp means a help request does not exist (any more).
var ErrNoHelp = errors.New("no such help request")

// Reminder is one reminder waiting to be sent to a resident.
type Reminder struct {
	ID       string    `json:"id"`
	Resident string    `json:"resident"`
	Flow     string    `json:"flow"`
	By       string    `json:"by"` // the team member who asked
	Due      time.Time `json:"due"`
}

// PayeeChecker names the checker that reads a payee's genuine QR code for
// /payee add: its outcome is "ok:<BIN>:<account>" or a failure.
const PayeeChecker = "vietqr-payee"

// Payee is a genuine account of an area's payee (a school, a health station,
// an electricity or water agent), registered by its team so residents'
// QR checks can say whether a code pays it.
type Payee struct {
	ID      string    `json:"id"`
	Area    string    `json:"area"` // a hamlet or a commune
	Name    string    `json:"name"`
	BIN     string    `json:"bin"`
	Account string    `json:"account"`
	AddedBy string    `json:"added_by"`
	AddedAt time.Time `json:"added_at"`
}

// PayeeStore keeps the registered payees; every change is logged with who
// made it.
type PayeeStore interface {
	PutPayee(ctx context.Context, p Payee) error
	RemovePayee(ctx context.Context, id, by string) error
	Payees(ctx context.Context) ([]Payee, error)
}
