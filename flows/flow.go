package flows

import (
	"fmt"
	"regexp"
)

// StepType says how a step behaves when the engine reaches it.
type StepType string

// The step types. Each is documented with the YAML that declares it.
const (
	// StepInfo shows Say and moves on to Next at once, without waiting.
	//
	//	- id: why
	//	  type: info
	//	  say: ewallet.why
	//	  next: sim
	StepInfo StepType = "info"

	// StepChoice shows Say with Buttons and waits; each button names its Next.
	//
	//	- id: phone
	//	  type: choice
	//	  say: ewallet.phone
	//	  buttons:
	//	    - {id: android, label: common.btn.android, next: android_install}
	//	    - {id: iphone, label: common.btn.iphone, next: iphone_install}
	StepChoice StepType = "choice"

	// StepCheckpoint shows Say and asks "did it work?": ✅ done goes to Next;
	// ⏭ skip, shown only when Skip is set (an optional step), goes to Skip;
	// ❓ stuck offers to try again, the other way (Stuck, when set) or a
	// person, except that an urgent Stuck is gone to at once.
	StepCheckpoint StepType = "checkpoint"

	// StepQuestion asks for free text, validates it with Validate, stores it
	// under Save and goes to Next; bad input re-prompts with Invalid, and after
	// MaxFailures failures the resident is offered a human.
	StepQuestion StepType = "question"

	// StepExternal hands the input (text or photo) to the checker named by
	// Checker, outside the engine, and continues with the checker's outcome:
	// Outcomes maps each outcome to the next step ("default" catches the
	// rest). The service reports "unavailable" when no such checker is
	// installed and "error" when it failed. Optional Buttons offer ways on
	// without the input (for example, skip the check).
	//
	//	- id: qr_check
	//	  type: external
	//	  say: qr-pay.send_photo
	//	  checker: vietqr
	//	  outcomes: {valid: compare_name, invalid: fake_warning, unavailable: compare_name, default: compare_name}
	//	  buttons:
	//	    - {id: skip, label: qr-pay.btn.skip_check, next: compare_name}
	StepExternal StepType = "external"

	// StepEnd shows Say and marks the flow completed.
	StepEnd StepType = "end"
)

// Flow is one guided flow as declared in a content file.
type Flow struct {
	ID    string `yaml:"id"`
	Title string `yaml:"title"` // message id of the menu label
	Order int    `yaml:"order"` // position in the menu
	Start string `yaml:"start"` // id of the first step
	Steps []Step `yaml:"steps"`
	// Retired are the ids of steps taken out of the flow: an id is never
	// used again for another step, so counts kept under it (how many
	// residents reached a step) keep their meaning.
	Retired []string `yaml:"retired"`
	// Areas, when set, limits the flow to residents of these areas (or of
	// areas under them): a province's own app, say. Empty: everyone.
	Areas []string `yaml:"areas"`

	// File and Line locate the flow for error messages; filled by the loader.
	File string `yaml:"-"`
	Line int    `yaml:"-"`

	index map[string]int
}

// Step is one step of a flow. Which fields apply depends on Type.
type Step struct {
	ID       string            `yaml:"id"`
	Type     StepType          `yaml:"type"`
	Say      string            `yaml:"say"`     // message id shown on arrival
	Next     string            `yaml:"next"`    // info, checkpoint (done), question, end (unused)
	Skip     string            `yaml:"skip"`    // checkpoint: ⏭ target; no ⏭ without one (only optional steps)
	Stuck    string            `yaml:"stuck"`   // checkpoint: the other way ❓ offers (an urgent step: ❓ goes there at once)
	More     string            `yaml:"more"`    // message id behind "ℹ️ Tìm hiểu thêm": background, legal facts
	Buttons  []Button          `yaml:"buttons"` // choice
	Validate string            `yaml:"validate"`
	Invalid  string            `yaml:"invalid"` // question: message id on bad input
	Save     string            `yaml:"save"`    // question: variable name
	Checker  string            `yaml:"checker"` // external
	Outcomes map[string]string `yaml:"outcomes"`
	Image    string            `yaml:"image"` // optional image reference shown with Say
	// Secret marks a step whose screen asks the resident for a login
	// (a password, a PIN, a code): a password-like word typed here is taken
	// for one (PasswordLike), warned about and kept nowhere.
	Secret bool `yaml:"secret"`
	// Urgent marks a step for a resident who may just have been scammed
	// (gave an OTP away, paid into a pasted-over code): reaching it files
	// an urgent help request with the hamlet's team (no "không sao" on the
	// way), and a checkpoint here offers only "done" and back.
	Urgent bool `yaml:"urgent"`

	Line int `yaml:"-"` // source line, filled by the loader
}

// LeaveTarget, as a button's next, leaves the flow without completing it
// (like /cancel: no count, no reminder) and shows the menu. It is for
// branches such as "this guide is not for me".
const LeaveTarget = "@menu"

// Button is a choice offered under a message. ID is what comes back in a
// callback (short ASCII, at most 64 bytes with its prefix), Label a message id.
type Button struct {
	ID    string `yaml:"id"`
	Label string `yaml:"label"`
	Next  string `yaml:"next"`
}

// Step returns the step with the given id.
func (f *Flow) Step(id string) (*Step, bool) {
	if f.index == nil {
		f.reindex()
	}
	i, ok := f.index[id]
	if !ok {
		return nil, false
	}
	return &f.Steps[i], true
}

// HasStep reports whether the flow has a step with the given id.
func (f *Flow) HasStep(id string) bool {
	_, ok := f.Step(id)
	return ok
}

func (f *Flow) reindex() {
	f.index = make(map[string]int, len(f.Steps))
	for i, s := range f.Steps {
		f.index[s.ID] = i
	}
}

// idPattern is what flow, step and button ids may look like: they travel in
// callback data and Redis keys, so they stay short ASCII.
var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// ValidID reports whether s may be used as a flow, step or button id.
func ValidID(s string) bool { return idPattern.MatchString(s) }

// Targets returns every step id the step can lead to, with a label saying
// which field names it, for validation.
func (s *Step) Targets() map[string]string {
	t := map[string]string{}
	add := func(field, id string) {
		if id != "" {
			t[field] = id
		}
	}
	add("next", s.Next)
	add("skip", s.Skip)
	add("stuck", s.Stuck)
	for i, b := range s.Buttons {
		add(fmt.Sprintf("buttons[%d].next", i), b.Next)
	}
	for k, v := range s.Outcomes {
		add("outcomes."+k, v)
	}
	return t
}
