package flows

import "time"

// Session is everything the bot remembers about one resident's conversation.
// It is stored as JSON under the resident's hash tag and written only by
// Store.Commit, which checks Version so that a stale writer loses.
type Session struct {
	// Version is the version loaded; Commit stores Version+1.
	Version int64 `json:"v"`
	// Token is drawn anew for every write (NewToken), and a write checks it
	// with Version (Commit.ExpectToken). A Redis that forgets its last
	// second (a failover, a crash inside appendfsync's second) makes the
	// next write reuse a forgotten write's version number, never its token:
	// a session kept in memory (Service.Cache) is then never taken for the
	// stored one. It must stay the second field: the write's script reads
	// both at the start of the JSON.
	Token string `json:"tok,omitempty"`

	Lang    string `json:"lang,omitempty"`    // "vi" or "en"; empty until first contact
	Name    string `json:"name,omitempty"`    // display name, for the team's lists
	Commune string `json:"commune,omitempty"` // area id
	Hamlet  string `json:"hamlet,omitempty"`  // area id; empty until chosen

	// Stage is where the resident is outside a flow: see the Stage constants.
	Stage Stage `json:"stage,omitempty"`
	// Forgetting marks the blank session /forget writes, until the store has
	// deleted the rest of the resident's data (Forgetter), which deletes
	// this session too: a turn that finds it finishes the forgetting first
	// (the first try failed after the write, or the process died there).
	Forgetting bool `json:"forgetting,omitempty"`
	// PendingHamlet is the hamlet a deep link proposed, awaiting confirmation.
	PendingHamlet string `json:"pending_hamlet,omitempty"`

	Active *Run  `json:"active,omitempty"` // the flow in progress, if any
	Paused []Run `json:"paused,omitempty"` // flows left for another, newest first

	// Done records the flows this resident finished, by flow id.
	Done map[string]time.Time `json:"done,omitempty"`

	// Keyboard is the buttons of the last message sent, in order, so that a
	// typed number or label can pick one; KeyboardSeq numbers keyboards so a
	// tap on an older message's button is recognised as stale.
	Keyboard    []Choice `json:"kb,omitempty"`
	KeyboardSeq int      `json:"kbseq,omitempty"`
	// KeyboardSum stands for Keyboard in a stored session when the keyboard
	// was the current screen's own: a checksum of its buttons, which
	// Engine.Expand builds again (see Engine.Compact).
	KeyboardSum string `json:"kbsum,omitempty"`
	// KeyboardPrev is the keyboard the last turn replaced (its KeyboardSeq;
	// 0 if that turn drew none): a tap on it within DoubleTap of that turn
	// (Seen) is the second tap of a double tap, and changes nothing.
	KeyboardPrev int `json:"kbprev,omitempty"`
	// OldTaps counts the taps on old buttons in a row (common.stale_button);
	// any other input sets it back to 0.
	OldTaps int `json:"oldtaps,omitempty"`

	// Seen is the time of the person's last input: their last message or
	// tap, never a message the bot sent nor a team member's /move. It
	// starts the retention period, and on a channel with a messaging
	// window (Zalo's 7 days) it is when the window opened.
	Seen time.Time `json:"seen,omitempty"`

	// HelpAt is when the resident last asked for a human (❓ or 🙋).
	HelpAt time.Time `json:"help_at,omitzero"`
	// Compose is the help request a team member is writing a message for
	// (after "✉️ Nhắn"): their next text goes to that resident.
	Compose string `json:"compose,omitempty"`
	// PayeeArea and PayeeName: a team member registering a payee, waiting
	// for its genuine QR code.
	PayeeArea string `json:"payee_area,omitempty"`
	PayeeName string `json:"payee_name,omitempty"`
	// NoteFor is the help request a resident is writing where they live for.
	NoteFor string `json:"note_for,omitempty"`
	// NoReminders: the resident asked (/stop) not to be reminded.
	NoReminders bool `json:"noremind,omitempty"`
}

// Stage is the resident's place outside a flow.
type Stage string

// The stages outside a flow.
const (
	StageNew     Stage = ""        // never talked to the bot
	StageCommune Stage = "commune" // choosing a commune (first screen)
	StageHamlet  Stage = "hamlet"  // choosing a hamlet in Session.Commune
	// StageHamletName: typing the name of a hamlet not in Session.Commune's list.
	StageHamletName Stage = "hamletname"
	StageMove       Stage = "move"    // confirming a move to PendingHamlet
	StageMenu       Stage = "menu"    // at the main menu
	StageLang       Stage = "lang"    // choosing a language
	StageFlow       Stage = "flow"    // inside Session.Active
	StageForget     Stage = "forget"  // confirming /forget
	StageStop       Stage = "stop"    // confirming /stop
	StageStaff      Stage = "staff"   // on a team or coordinator screen
	StageCompose    Stage = "compose" // a team member writing to a resident
	StageNote       Stage = "note"    // a resident writing where they live for a helper
	StageCheckQR    Stage = "checkqr" // /checkqr: the next photo or pasted code is checked
	StagePayee      Stage = "payee"   // /payee add: the next photo or text is the payee's QR
)

// Run is the position of a resident in one flow.
type Run struct {
	Flow     string            `json:"flow"`
	Step     string            `json:"step"`
	History  []string          `json:"hist,omitempty"` // waiting steps visited, for /back
	Started  time.Time         `json:"started"`
	Last     time.Time         `json:"last"` // last activity in this flow
	Failures int               `json:"fail,omitempty"`
	Vars     map[string]string `json:"vars,omitempty"`
}

// Choice is a button as the resident sees it: Data comes back when it is
// tapped (short ASCII, unique per keyboard), Label is the rendered text and
// Action is what the engine does when it is chosen; Action never leaves the
// session.
type Choice struct {
	Data   string `json:"d"`
	Label  string `json:"l"`
	Action string `json:"a,omitempty"`
	// Contact asks the channel for a button that shares the resident's
	// phone number (Telegram's request_contact); it has no data.
	Contact bool `json:"contact,omitempty"`
	// Private marks a label that names someone (a resident on a team
	// member's screen): it is shown, but the session keeps the button
	// without its label, so the name is not stored with the team member's
	// screen (a resident's /forget or retention cannot reach it there). A
	// tap or the button's number still picks it; its label typed out does
	// not.
	Private bool `json:"-"`
}

// Clone returns a deep copy, so the engine never changes its argument.
func (s Session) Clone() Session {
	c := s
	if s.Active != nil {
		a := s.Active.clone()
		c.Active = &a
	}
	if s.Paused != nil {
		c.Paused = make([]Run, len(s.Paused))
		for i, r := range s.Paused {
			c.Paused[i] = r.clone()
		}
	}
	if s.Done != nil {
		c.Done = make(map[string]time.Time, len(s.Done))
		for k, v := range s.Done {
			c.Done[k] = v
		}
	}
	c.Keyboard = append([]Choice(nil), s.Keyboard...)
	return c
}

func (r Run) clone() Run {
	c := r
	c.History = append([]string(nil), r.History...)
	if r.Vars != nil {
		c.Vars = make(map[string]string, len(r.Vars))
		for k, v := range r.Vars {
			c.Vars[k] = v
		}
	}
	return c
}
