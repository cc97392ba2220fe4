package flows

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Engine turns one input and a session into the new session, the replies and
// the effects. It is pure: no I/O, no clock of its own, no randomness, so
// every conversation can be replayed in a test.
type Engine struct {
	Library *Library
	Areas   Directory
	Loc     Localizer
	// WaitExpiry is how long a flow waits for an answer before it counts as
	// stalled; the engine only reports it, the counts come from the store.
	WaitExpiry time.Duration
	// SessionExpiry is how long an unanswered flow keeps its position; after
	// it the position is dropped and the flow counts as abandoned.
	SessionExpiry time.Duration
	// Location is the time zone of dates shown to residents.
	Location *time.Location
	// Retention is how long what the bot keeps about a resident (session,
	// name, help requests) lives after their last message; the store's
	// sweep deletes it then (Service.Retire), and the first screen says so.
	// Zero means DefaultRetention.
	Retention time.Duration
	// MaxSteps bounds the steps one input may walk through, so a loop in
	// content cannot spin. Zero means DefaultMaxSteps.
	MaxSteps int
}

// DefaultRetention is Engine.Retention when it is not set: 12 months.
const DefaultRetention = 365 * 24 * time.Hour

// retentionPeriod is Retention as the first screen says it, a message id
// and its Count, never shorter than it is: in days under 60 days (45 days
// in whole months read "1 month"), otherwise in months rounded up, a month
// counted as 30.5 days so that 365 or 366 days read "12 months".
func (e *Engine) retentionPeriod() (id string, count int) {
	r := e.Retention
	if r <= 0 {
		r = DefaultRetention
	}
	days := r.Hours() / 24
	if days < 60 {
		return "common.retention_days", max(1, int(math.Ceil(days)))
	}
	return "common.retention_months", int(math.Ceil(days / 30.5))
}

// welcome says the first screen's words.
func (t *turn) welcome() {
	id, n := t.e.retentionPeriod()
	t.say("common.welcome", map[string]any{"Period": t.text(id, map[string]any{"Count": n})})
}

// DefaultMaxSteps is the step budget per input when Engine.MaxSteps is zero.
const DefaultMaxSteps = 50

// MaxFailures is how many unusable answers a step takes before the resident
// is offered a human.
const MaxFailures = 3

// Actions carried by buttons (Choice.Action).
const (
	actLang     = "lang:"    // + language
	actCommune  = "commune:" // + commune id
	actHamlet   = "hamlet:"  // + hamlet id
	actFlow     = "flow:"    // + flow id: start or resume
	actButton   = "btn:"     // + button id of the current choice step
	actMoveYes  = "move:yes"
	actMoveNo   = "move:no"
	actForget   = "forget:yes"
	actKeep     = "keep"
	actStop     = "stop:yes"
	actStaff    = StaffAction
	actDone     = "ck:done"
	actStuck    = "ck:stuck"
	actSkip     = "ck:skip"
	actMore     = "ck:more"  // ℹ️: the step's background
	actRetry    = "ck:retry" // after ❓: the step again
	actOther    = "ck:other" // after ❓: the step's other way (Step.Stuck)
	actBack     = "back"
	actHuman    = "human"
	actMenu     = "menu"
	actNotFound = "hamlet:-"
)

// turn is the state of handling one input.
type turn struct {
	e       *Engine
	s       Session
	now     time.Time
	res     Result
	pending []Reply // replies without their keyboard yet
	steps   int
	errs    []error
	// movedByTeam: the turn files the resident under a hamlet a team
	// member chose (/move), not one they picked.
	movedByTeam bool
	// lastSeen is the session's Seen before this turn; doubleTap is set
	// when the input was the second tap of a double tap (changes nothing).
	lastSeen  time.Time
	doubleTap bool
}

// DoubleTap is how soon after a turn a tap on the keyboard it replaced is
// taken for the second tap of a double tap, ignored, rather than for a tap
// on an old button: a person taps twice in well under a second, and a
// slow network may bring the two taps a little apart.
const DoubleTap = 3 * time.Second

// OldTapsWarn is how many taps on old buttons in a row mean the resident
// may be stuck (Result.OldTaps).
const OldTapsWarn = 3

// Handle processes one input. The session passed in is not modified; it
// may be a compacted one (Compact).
func (e *Engine) Handle(s Session, in Input, now time.Time) (Result, error) {
	t := &turn{e: e, s: e.Expand(s).Clone(), now: now, lastSeen: s.Seen}
	seq := t.s.KeyboardSeq
	if err := t.handle(in); err != nil {
		return Result{}, err
	}
	switch {
	case t.doubleTap:
		// Nothing changes: KeyboardPrev stays, and Seen stays the first
		// tap's, so the window does not slide with more taps.
		t.s.Seen = t.lastSeen
	case t.s.KeyboardSeq != seq && in.Kind == InputChoice:
		t.s.KeyboardPrev = seq
	default:
		t.s.KeyboardPrev = 0
	}
	if t.res.Stale {
		t.s.OldTaps++
		t.res.OldTaps = t.s.OldTaps == OldTapsWarn
	} else if !t.doubleTap {
		t.s.OldTaps = 0
	}
	t.res.Session = t.s
	t.res.Replies = t.pending
	t.res.Warnings = t.errs
	return t.res, nil
}

// handle runs the turn's stages in order: the first that takes the input
// ends the turn, and an input none takes is handled by its kind.
func (t *turn) handle(in Input) error {
	t.expire()
	if in.Kind != InputMoved {
		// A message from the resident; a team member's /move is not one
		// (Seen starts the retention period).
		t.s.Seen = t.now
	}
	if in.Name != "" {
		t.s.Name = in.Name
	}
	in = t.typedCode(in)
	for _, stage := range [...]func(*turn, Input) (bool, error){
		(*turn).firstContact,
		(*turn).contentChanged,
		(*turn).movedByTeamMember,
		(*turn).pastedCode,
		(*turn).payeeCode,
		(*turn).checkQRCode,
		(*turn).externalStepCode,
		(*turn).placeNote,
		(*turn).composedMessage,
	} {
		if took, err := stage(t, in); took {
			return err
		}
	}
	return t.byKind(in)
}

// firstContact greets whatever was sent. A hamlet link files the resident
// at once; any other command is answered after the greeting.
func (t *turn) firstContact(in Input) (bool, error) {
	if t.s.Stage != StageNew {
		return false, nil
	}
	switch {
	case in.Lang == "vi" || in.Lang == "en":
		t.s.Lang = in.Lang
	case t.s.Lang == "":
		t.s.Lang = "vi"
	}
	t.welcome()
	if in.Kind != InputCommand {
		return true, t.showCommunes()
	}
	cmd := strings.ToLower(in.Command)
	if cmd == "start" {
		if h, ok := t.linkHamlet(in.Text); ok {
			return true, t.setHamlet(h)
		}
		code, ok := strings.CutPrefix(in.Text, "j_")
		if !ok {
			return true, t.showCommunes()
		}
		cmd, in.Text = "join", code // an invite link: /join CODE
	}
	// The command is answered as it would be later (a coordinator's
	// /pending, a volunteer's /join CODE, a resident's /help or
	// /checkqr); a screen that needs the resident's hamlet falls back
	// to the commune picker, and the next message shows it after a
	// team command's answer (whose screen replaces the keyboard).
	t.s.Stage = StageCommune
	return true, t.command(cmd, in.Text)
}

// contentChanged: content changed under the resident, so the input was
// meant for a step that no longer exists; it is not interpreted, and the
// flow starts again.
func (t *turn) contentChanged(in Input) (bool, error) {
	if a := t.s.Active; a != nil && t.s.Stage == StageFlow && in.Kind != InputCommand {
		if f, ok := t.e.Library.Flow(a.Flow); !ok || !f.HasStep(a.Step) {
			return true, t.enterFlow()
		}
	}
	return false, nil
}

// movedByTeamMember files the resident under the hamlet a team member
// chose (/move).
func (t *turn) movedByTeamMember(in Input) (bool, error) {
	if in.Kind != InputMoved {
		return false, nil
	}
	h, ok := t.e.Areas.Area(in.Data)
	if !ok || h.Level != LevelHamlet {
		return true, fmt.Errorf("flows: move to unknown hamlet %q", in.Data)
	}
	t.movedByTeam = true
	return true, t.setHamlet(h)
}

// pastedCode: a checker's answer about a pasted payment code, which must
// reach its checker before the safety filter.
func (t *turn) pastedCode(in Input) (bool, error) {
	if in.Kind != InputCheck {
		return false, nil
	}
	if t.s.Stage == StagePayee {
		t.res.Staff = &StaffRequest{Action: actStaff + "payadd", Args: in.Data}
		return true, nil
	}
	if t.s.Stage == StageCheckQR {
		// The checker's answer is already said. A code that pays someone
		// still hides the payee's name, which only the bank app shows:
		// compare it. Then another check.
		// Not after "do not pay" (a broken code, a link, a payee that
		// does not match): only where paying is still on.
		switch in.Data {
		case "valid", "merchant", "other":
			t.say("qr.compare_name", nil)
		}
		return true, t.checkQRScreen("common.checkqr_again")
	}
	return true, t.checked(in)
}

// payeeCode sends a team member's photo or text of a payee's code to the
// payee checker (/payee add), unless the text is a button.
func (t *turn) payeeCode(in Input) (bool, error) {
	if t.s.Stage != StagePayee || !(in.Kind == InputPhoto || (in.Kind == InputText && !strings.HasPrefix(strings.TrimSpace(in.Text), "/"))) {
		return false, nil
	}
	if a, ok := t.pick(in.Text); ok && in.Kind == InputText {
		return true, t.act(a)
	}
	t.res.Check = &CheckRequest{Checker: PayeeChecker, Input: in}
	return true, nil
}

// checkQRCode sends a photo or a pasted code to the QR checker (/checkqr).
func (t *turn) checkQRCode(in Input) (bool, error) {
	if t.s.Stage != StageCheckQR || !(in.Kind == InputPhoto || in.Kind == InputText) {
		return false, nil
	}
	// A pasted code or link is read first, whatever digits it holds;
	// the rest is a button, a command word, a secret or other text.
	if in.Kind == InputText && !CodeText(in.Text) {
		if a, ok := t.pick(in.Text); ok {
			return true, t.act(a)
		}
		if w := Intent(in.Text); strings.HasPrefix(w, "/") {
			return true, t.word(w, in)
		}
		if Sensitive(in.Text) {
			return true, t.sensitive()
		}
	}
	t.res.Check = &CheckRequest{Checker: QRChecker, Input: in}
	return true, nil
}

// externalStepCode sends a photo or a pasted code to the checker of the
// external step the resident is at.
func (t *turn) externalStepCode(in Input) (bool, error) {
	step := t.waitingStep()
	if step == nil || step.Type != StepExternal || !(in.Kind == InputText || in.Kind == InputPhoto) {
		return false, nil
	}
	// An external step checks a QR code: read a pasted one first, as /checkqr does.
	if in.Kind == InputText && !CodeText(in.Text) {
		if a, ok := t.pick(in.Text); ok {
			return true, t.act(a)
		}
		if w := Intent(in.Text); w != "" {
			return true, t.word(w, in)
		}
		if Sensitive(in.Text) {
			return true, t.sensitive()
		}
	}
	t.res.Check = &CheckRequest{Checker: step.Checker, Input: in}
	return true, nil
}

// placeNote is where the resident lives, written for the helper who comes.
func (t *turn) placeNote(in Input) (bool, error) {
	if t.s.Stage != StageNote || t.s.NoteFor == "" || in.Kind != InputText {
		return false, nil
	}
	if Sensitive(in.Text) {
		return true, t.sensitive()
	}
	id := t.s.NoteFor
	t.s.NoteFor = ""
	t.s.Stage = StageMenu
	t.res.Staff = &StaffRequest{Action: actStaff + "note:" + id, Args: in.Text}
	return true, nil
}

// composedMessage is a team member's message to the resident they are
// helping.
func (t *turn) composedMessage(in Input) (bool, error) {
	if t.s.Stage != StageCompose || t.s.Compose == "" || in.Kind != InputText {
		return false, nil
	}
	if Sensitive(in.Text) {
		return true, t.sensitive()
	}
	t.res.Staff = &StaffRequest{Action: actStaff + "send:" + t.s.Compose, Args: in.Text}
	return true, nil
}

// byKind handles an input no stage took, by its kind.
func (t *turn) byKind(in Input) error {
	switch in.Kind {
	case InputCommand:
		return t.command(in.Command, in.Text)
	case InputChoice:
		return t.choice(in.Data)
	case InputContact:
		if !t.s.HelpAt.IsZero() && t.now.Sub(t.s.HelpAt) < 7*24*time.Hour && t.s.Hamlet != "" {
			// Shared for the helper who comes: kept with the help request.
			t.res.Staff = &StaffRequest{Action: actStaff + "contact", Args: in.Text}
			return nil
		}
		t.say("common.contact_ignored", nil)
		return t.redraw()
	case InputPhoto:
		// A photo where none is asked for: said so, with the way to a
		// person (a resident may be showing what their screen says).
		return t.offerHuman("common.photo_unexpected")
	case InputOther:
		// A voice note or a sticker: said plainly that it cannot be read,
		// with the way to a person, never only "tap a button".
		return t.offerHuman("common.other_unexpected")
	case InputText:
		return t.typed(in)
	}
	return fmt.Errorf("flows: unknown input kind %q", in.Kind)
}

// Retire is what the engine does for a resident silent for longer than
// Retention: what /forget does, without a word to them. Their unfinished
// flows leave the hamlet's lists and they leave its residents; the result
// asks the service to forget them (Result.Forget). s is not modified.
func (e *Engine) Retire(s Session, now time.Time) Result {
	t := &turn{e: e, s: e.Expand(s).Clone(), now: now}
	for _, r := range t.openRuns() {
		t.left(r, "retention")
	}
	t.effect(Effect{Kind: EffectUnfiled, Hamlet: t.s.Hamlet})
	return Result{Session: Session{Forgetting: true}, Effects: t.res.Effects, Marks: t.res.Marks, Forget: true}
}

// expire drops flow positions older than SessionExpiry.
func (t *turn) expire() {
	if t.e.SessionExpiry <= 0 {
		return
	}
	dropped := false
	if a := t.s.Active; a != nil && t.now.Sub(a.Last) > t.e.SessionExpiry {
		t.left(*a, "expired")
		t.s.Active = nil
		dropped = true
		if t.s.Stage == StageFlow {
			t.s.Stage = StageMenu
		}
	}
	kept := t.s.Paused[:0]
	for _, r := range t.s.Paused {
		if t.now.Sub(r.Last) > t.e.SessionExpiry {
			t.left(r, "expired")
			dropped = true
			continue
		}
		kept = append(kept, r)
	}
	t.s.Paused = kept
	if dropped {
		t.say("common.flow_expired", nil)
	}
}

func (t *turn) typed(in Input) error {
	if Sensitive(in.Text) {
		return t.sensitive()
	}
	f := Fold(in.Text)
	if f == "" {
		return t.tapButton()
	}
	if a, ok := t.pick(in.Text); ok {
		return t.act(a)
	}
	if _, err := strconv.Atoi(f); err == nil {
		return t.tapButton() // a number with no such button
	}
	if strings.HasPrefix(f, "/") {
		cmd, args, _ := strings.Cut(strings.TrimPrefix(f, "/"), " ")
		return t.command(cmd, args)
	}
	if w := Intent(in.Text); w != "" {
		return t.word(w, in)
	}
	if step := t.waitingStep(); step != nil && step.Secret && PasswordLike(in.Text) {
		// At a login screen a lone word may be the password itself.
		return t.sensitive()
	}
	// Area names typed instead of tapped, aliases included.
	if a, ok := t.matchArea(f); ok {
		return t.act(a)
	}
	if t.s.Stage == StageHamlet || t.s.Stage == StageHamletName {
		return t.typedHamlet(in.Text)
	}
	if step := t.waitingStep(); step != nil && step.Type == StepQuestion {
		return t.answer(step, in.Text)
	}
	return t.tapButton()
}

// pick finds the button a typed text means: a number picks the n-th button
// of the latest keyboard, and a button's label typed as text picks it.
func (t *turn) pick(text string) (action string, ok bool) {
	if n, err := strconv.Atoi(Fold(text)); err == nil {
		if n >= 1 && n <= len(t.s.Keyboard) {
			return t.s.Keyboard[n-1].Action, true
		}
		return "", false
	}
	label := FoldLabel(text)
	if label == "" {
		return "", false
	}
	for _, c := range t.s.Keyboard {
		if FoldLabel(c.Label) == label {
			return c.Action, true
		}
	}
	// The first word or words of one button's label: "không" picks
	// "👤 Không phải đảng viên" when no other button starts so.
	if len([]rune(label)) < 2 {
		return "", false
	}
	found := ""
	for _, c := range t.s.Keyboard {
		if strings.HasPrefix(FoldLabel(c.Label)+" ", label+" ") {
			if found != "" {
				return "", false
			}
			found = c.Action
		}
	}
	return found, found != ""
}

// word handles a typed word with a meaning at any step.
func (t *turn) word(w string, in Input) error {
	if strings.HasPrefix(w, "/") {
		return t.command(w[1:], "")
	}
	switch w {
	case "human":
		// "Giúp tôi", "bác ơi tôi không biết làm": a person, at once, as
		// the 🙋 button does, wherever the resident is.
		return t.act(actHuman)
	case "hello":
		return t.hello()
	}
	step := t.waitingStep()
	if step == nil {
		return t.tapButton()
	}
	switch step.Type {
	case StepCheckpoint:
		if w == "skip" && step.Skip == "" {
			return t.tapButton()
		}
		return t.act(map[string]string{"done": actDone, "stuck": actStuck, "skip": actSkip}[w])
	case StepQuestion:
		if w == "stuck" && !t.answers(step, in.Text) {
			return t.stuck(step)
		}
		return t.answer(step, in.Text)
	}
	// At a choice, a word that begins a button's label was picked already
	// ("không" for "🚫 Không…"); "bị vướng", "không được" or ❓ typed is
	// the ❓ button, even where the screen has no room for it.
	if w == "stuck" {
		return t.stuck(step)
	}
	return t.tapButton()
}

// hello answers a greeting: a returning resident is told where they
// stopped and shown that screen (a flow under way) or the menu, whose
// first button continues a flow left for another.
func (t *turn) hello() error {
	var r *Run
	switch {
	case t.s.Active != nil:
		r = t.s.Active
	case len(t.s.Paused) > 0:
		r = &t.s.Paused[0]
	}
	if f, ok := t.e.Library.Flow(runFlow(r)); ok && t.s.Hamlet != "" {
		t.say("common.hello_again", map[string]any{"Flow": t.flowTitle(f)})
	} else {
		t.say("common.hello", nil)
	}
	return t.resumeScreen()
}

func runFlow(r *Run) string {
	if r == nil {
		return ""
	}
	return r.Flow
}

// QRChecker names the checker of payment QR codes (photos or pasted text).
const QRChecker = "vietqr"

// checkQRScreen waits for a photo or a pasted code to check (/checkqr).
func (t *turn) checkQRScreen(msg string) error {
	t.s.Stage = StageCheckQR
	t.keyboard(msg, nil, []Choice{{Label: t.text1("common.btn.back"), Action: actMenu}})
	return nil
}

// sensitive warns about a secret the resident typed; the text is kept nowhere.
func (t *turn) sensitive() error {
	t.res.Sensitive = true
	t.say("common.sensitive", nil)
	return t.redraw()
}

func (t *turn) tapButton() error {
	if t.s.Active != nil && t.s.Stage == StageFlow {
		t.s.Active.Failures++
		if t.s.Active.Failures >= MaxFailures {
			t.s.Active.Failures = 0
			return t.offerHuman("common.offer_human")
		}
	}
	// With no buttons on the last message (a team command's answer was a
	// new user's first screen), "tap a button below" would point at
	// nothing: the screen is shown again, whose buttons come with it.
	if len(t.s.Keyboard) > 0 {
		t.say("common.tap_button", nil)
	}
	return t.redraw()
}
