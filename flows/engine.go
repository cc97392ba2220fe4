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

// retentionMonths is Retention in whole months, as the first screen says it.
func (e *Engine) retentionMonths() int {
	r := e.Retention
	if r <= 0 {
		r = DefaultRetention
	}
	return max(1, int(math.Round(r.Hours()/24/30.44)))
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
}

// Handle processes one input. The session passed in is not modified; it
// may be a compacted one (Compact).
func (e *Engine) Handle(s Session, in Input, now time.Time) (Result, error) {
	t := &turn{e: e, s: e.Expand(s).Clone(), now: now}
	if err := t.handle(in); err != nil {
		return Result{}, err
	}
	t.res.Session = t.s
	t.res.Replies = t.pending
	t.res.Warnings = t.errs
	return t.res, nil
}

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
	// First contact: greet whatever was sent. A hamlet link files the
	// resident at once; any other command is answered after the greeting.
	if t.s.Stage == StageNew {
		switch {
		case in.Lang == "vi" || in.Lang == "en":
			t.s.Lang = in.Lang
		case t.s.Lang == "":
			t.s.Lang = "vi"
		}
		t.say("common.welcome", map[string]any{"Months": t.e.retentionMonths()})
		if in.Kind != InputCommand {
			return t.showCommunes()
		}
		cmd := strings.ToLower(in.Command)
		if cmd == "start" {
			if h, ok := t.linkHamlet(in.Text); ok {
				return t.setHamlet(h)
			}
			code, ok := strings.CutPrefix(in.Text, "j_")
			if !ok {
				return t.showCommunes()
			}
			cmd, in.Text = "join", code // an invite link: /join CODE
		}
		// The command is answered as it would be later (a coordinator's
		// /pending, a volunteer's /join CODE, a resident's /help or
		// /checkqr); a screen that needs the resident's hamlet falls back
		// to the commune picker, and the next message shows it after a
		// team command's answer (whose screen replaces the keyboard).
		t.s.Stage = StageCommune
		return t.command(cmd, in.Text)
	}

	// Content changed under the resident: the input was meant for a step
	// that no longer exists, so do not interpret it; start the flow again.
	if a := t.s.Active; a != nil && t.s.Stage == StageFlow && in.Kind != InputCommand {
		if f, ok := t.e.Library.Flow(a.Flow); !ok || !f.HasStep(a.Step) {
			return t.enterFlow()
		}
	}

	if in.Kind == InputMoved {
		h, ok := t.e.Areas.Area(in.Data)
		if !ok || h.Level != LevelHamlet {
			return fmt.Errorf("flows: move to unknown hamlet %q", in.Data)
		}
		t.movedByTeam = true
		return t.setHamlet(h)
	}

	// A pasted payment code must reach its checker before the safety filter.
	if in.Kind == InputCheck {
		if t.s.Stage == StagePayee {
			t.res.Staff = &StaffRequest{Action: actStaff + "payadd", Args: in.Data}
			return nil
		}
		if t.s.Stage == StageCheckQR {
			// The checker's answer is already said: offer another check.
			return t.checkQRScreen("common.checkqr_again")
		}
		return t.checked(in)
	}
	if t.s.Stage == StagePayee && (in.Kind == InputPhoto || (in.Kind == InputText && !strings.HasPrefix(strings.TrimSpace(in.Text), "/"))) {
		if a, ok := t.pick(in.Text); ok && in.Kind == InputText {
			return t.act(a)
		}
		t.res.Check = &CheckRequest{Checker: PayeeChecker, Input: in}
		return nil
	}
	if t.s.Stage == StageCheckQR && (in.Kind == InputPhoto || in.Kind == InputText) {
		// A pasted code or link is read first, whatever digits it holds;
		// the rest is a button, a command word, a secret or other text.
		if in.Kind == InputText && !CodeText(in.Text) {
			if a, ok := t.pick(in.Text); ok {
				return t.act(a)
			}
			if w := Intent(in.Text); strings.HasPrefix(w, "/") {
				return t.word(w, in)
			}
			if Sensitive(in.Text) {
				return t.sensitive()
			}
		}
		t.res.Check = &CheckRequest{Checker: QRChecker, Input: in}
		return nil
	}
	if step := t.waitingStep(); step != nil && step.Type == StepExternal && (in.Kind == InputText || in.Kind == InputPhoto) {
		// An external step checks a QR code: read a pasted one first, as /checkqr does.
		if in.Kind == InputText && !CodeText(in.Text) {
			if a, ok := t.pick(in.Text); ok {
				return t.act(a)
			}
			if w := Intent(in.Text); w != "" {
				return t.word(w, in)
			}
			if Sensitive(in.Text) {
				return t.sensitive()
			}
		}
		t.res.Check = &CheckRequest{Checker: step.Checker, Input: in}
		return nil
	}

	if t.s.Stage == StageNote && t.s.NoteFor != "" && in.Kind == InputText {
		// Where the resident lives, for the helper who comes.
		if Sensitive(in.Text) {
			return t.sensitive()
		}
		id := t.s.NoteFor
		t.s.NoteFor = ""
		t.s.Stage = StageMenu
		t.res.Staff = &StaffRequest{Action: actStaff + "note:" + id, Args: in.Text}
		return nil
	}
	if t.s.Stage == StageCompose && t.s.Compose != "" && in.Kind == InputText {
		// A team member's message to the resident they are helping.
		if Sensitive(in.Text) {
			return t.sensitive()
		}
		t.res.Staff = &StaffRequest{Action: actStaff + "send:" + t.s.Compose, Args: in.Text}
		return nil
	}

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
		t.say("common.photo_unexpected", nil)
		return t.redraw()
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
	return Result{Session: Session{Forgetting: true}, Effects: t.res.Effects, Forget: true}
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
	step := t.waitingStep()
	if step == nil {
		return t.tapButton()
	}
	switch step.Type {
	case StepCheckpoint:
		return t.act(map[string]string{"done": actDone, "stuck": actStuck, "skip": actSkip}[w])
	case StepQuestion:
		return t.answer(step, in.Text)
	}
	// At a choice, "không" or "lỗi" may answer the question asked rather
	// than ask for help: the 🙋 button is there for that.
	return t.tapButton()
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
			t.say("common.offer_human", nil)
			return t.redraw()
		}
	}
	t.say("common.tap_button", nil)
	return t.redraw()
}

func (t *turn) command(cmd, args string) error {
	switch strings.ToLower(cmd) {
	case "start":
		if t.s.NoReminders {
			t.s.NoReminders = false
			t.say("common.reminders_on", nil)
		}
		if code, ok := strings.CutPrefix(strings.TrimSpace(args), "j_"); ok {
			t.res.Staff = &StaffRequest{Command: "join", Args: code}
			return nil
		}
		if h, ok := t.linkHamlet(args); ok {
			if t.s.Hamlet == "" {
				return t.setHamlet(h)
			}
			if t.s.Hamlet != h.ID {
				return t.askMove(h)
			}
		}
		if t.s.Hamlet == "" {
			t.say("common.welcome", map[string]any{"Months": t.e.retentionMonths()})
			return t.showCommunes()
		}
		return t.menu("")
	case "menu":
		return t.menu("")
	case "back":
		return t.act(actBack)
	case "cancel":
		return t.cancel()
	case "help":
		t.say("common.help", nil)
		return t.redraw()
	case "lang":
		switch strings.ToLower(strings.TrimSpace(args)) {
		case "vi", "en":
			return t.act(actLang + strings.ToLower(strings.TrimSpace(args)))
		}
		t.s.Stage = StageLang
		t.keyboard("common.lang_choose", nil, []Choice{
			{Label: t.text1("common.btn.vietnamese"), Action: actLang + "vi"},
			{Label: t.text1("common.btn.english"), Action: actLang + "en"},
		})
		return nil
	case "progress":
		t.progress()
		return t.redraw()
	case "checkqr":
		return t.checkQRScreen("common.checkqr_ask")
	case "join", "invite", "team", "pending", "stats", "export", "log", "helpdesk", "remind", "poster", "addhamlet", "move", "payee": // the Desk's
		t.res.Staff = &StaffRequest{Command: strings.ToLower(cmd), Args: strings.TrimSpace(args)}
		return nil
	case "stop":
		t.s.Stage = StageStop
		t.keyboard("common.stop_ask", nil, []Choice{
			{Label: t.text1("common.btn.stop_yes"), Action: actStop},
			{Label: t.text1("common.btn.stop_no"), Action: actKeep},
		})
		return nil
	case "forget":
		t.s.Stage = StageForget
		t.keyboard("common.forget_ask", nil, []Choice{
			{Label: t.text1("common.btn.forget_yes"), Action: actForget},
			{Label: t.text1("common.btn.forget_no"), Action: actKeep},
		})
		return nil
	}
	t.say("common.unknown_command", nil)
	t.say("common.help", nil)
	return t.redraw()
}

// choice handles a tapped button: its data must belong to the latest keyboard.
func (t *turn) choice(data string) error {
	if flow, ok := strings.CutPrefix(data, ResumePrefix); ok && flow != "" {
		// A reminder's button: start or resume that flow.
		return t.act(actFlow + flow)
	}
	if id, ok := strings.CutPrefix(data, NotePrefix); ok && id != "" {
		// "🏠 Write where I live", under the message saying who will come.
		t.s.Stage, t.s.NoteFor = StageNote, id
		t.say("common.write_place_ask", nil)
		return nil
	}
	if id, ok := strings.CutPrefix(data, HelpClaimPrefix); ok && id != "" {
		t.res.Staff = &StaffRequest{Action: actStaff + "claim:" + id}
		return nil
	}
	for _, c := range t.s.Keyboard {
		if c.Data == data {
			return t.act(c.Action)
		}
	}
	t.say("common.stale_button", nil)
	return t.redraw()
}

// act performs a button's action.
func (t *turn) act(a string) error {
	switch {
	case a == actBack:
		return t.back()
	case a == actHuman:
		return t.human()
	case a == actMenu:
		return t.menu("")
	case a == actMoveYes:
		h, ok := t.e.Areas.Area(t.s.PendingHamlet)
		t.s.PendingHamlet = ""
		if !ok {
			return t.menu("")
		}
		return t.setHamlet(h)
	case a == actMoveNo:
		t.s.PendingHamlet = ""
		return t.resumeScreen()
	case a == actForget:
		// Out of the hamlet's lists (open flows, residents) as it is: not
		// counted stalled or abandoned later, nor listed for the team.
		for _, r := range t.openRuns() {
			t.left(r, "forget")
		}
		t.effect(Effect{Kind: EffectUnfiled, Hamlet: t.s.Hamlet})
		t.res.Forget = true
		t.s = Session{Lang: t.s.Lang, Forgetting: true}
		t.say("common.forgotten", nil)
		return nil
	case a == actKeep:
		return t.resumeScreen()
	case a == actStop:
		t.s.NoReminders = true
		t.say("common.stopped", nil)
		return t.resumeScreen()
	case strings.HasPrefix(a, actStaff):
		t.res.Staff = &StaffRequest{Action: a}
		return nil
	case a == actDone || a == actStuck || a == actSkip:
		return t.checkpoint(a)
	case a == actNotFound:
		return t.notListed()
	case strings.HasPrefix(a, actLang):
		t.s.Lang = strings.TrimPrefix(a, actLang)
		if t.s.Stage == StageCommune || t.s.Hamlet == "" {
			return t.showCommunes()
		}
		t.say("common.lang_set", nil)
		return t.resumeScreen()
	case strings.HasPrefix(a, actCommune):
		c, ok := t.e.Areas.Area(strings.TrimPrefix(a, actCommune))
		if !ok {
			return t.showCommunes()
		}
		return t.showHamlets(c)
	case strings.HasPrefix(a, actHamlet):
		h, ok := t.e.Areas.Area(strings.TrimPrefix(a, actHamlet))
		if !ok {
			return t.showCommunes()
		}
		if t.s.Hamlet != "" && t.s.Hamlet != h.ID {
			return t.askMove(h)
		}
		return t.setHamlet(h)
	case strings.HasPrefix(a, actFlow):
		return t.startFlow(strings.TrimPrefix(a, actFlow))
	case strings.HasPrefix(a, actButton):
		return t.button(strings.TrimPrefix(a, actButton))
	}
	return t.tapButton()
}

// ---- areas -------------------------------------------------------------

func (t *turn) today() string {
	loc := t.e.Location
	if loc == nil {
		loc = time.UTC
	}
	return t.now.In(loc).Format("2006-01-02")
}

func (t *turn) communes() []Area {
	var out []Area
	for _, c := range t.e.Areas.Communes() {
		if c.ValidOn(t.today()) {
			out = append(out, c)
		}
	}
	return out
}

func (t *turn) hamlets(commune string) []Area {
	var out []Area
	for _, h := range t.e.Areas.Children(commune) {
		if h.Level == LevelHamlet && !h.Unassigned && h.ValidOn(t.today()) {
			out = append(out, h)
		}
	}
	return out
}

func (t *turn) showCommunes() error {
	t.s.Stage = StageCommune
	var cs []Choice
	for _, c := range t.communes() {
		cs = append(cs, Choice{Label: "🏡 " + c.Name, Action: actCommune + c.ID})
	}
	if t.s.Lang == "vi" {
		cs = append(cs, Choice{Label: t.text1("common.btn.english"), Action: actLang + "en"})
	} else {
		cs = append(cs, Choice{Label: t.text1("common.btn.vietnamese"), Action: actLang + "vi"})
	}
	t.keyboard("common.choose_commune", nil, cs)
	return nil
}

func (t *turn) showHamlets(c Area) error {
	t.s.Stage = StageHamlet
	t.s.Commune = c.ID
	var cs []Choice
	for _, h := range t.hamlets(c.ID) {
		cs = append(cs, Choice{Label: "🏠 " + h.Name, Action: actHamlet + h.ID})
	}
	cs = append(cs, Choice{Label: t.text1("common.btn.not_listed"), Action: actNotFound})
	cs = append(cs, Choice{Label: t.text1("common.btn.back"), Action: actBack})
	t.keyboard("common.choose_hamlet", map[string]any{"Commune": c.Name}, cs)
	return nil
}

// notListed files the resident under the commune's "not yet assigned" hamlet.
func (t *turn) notListed() error {
	for _, h := range t.e.Areas.Children(t.s.Commune) {
		if h.Unassigned {
			return t.setHamlet(h)
		}
	}
	// A commune without one is a content error; keep the resident moving.
	t.errs = append(t.errs, fmt.Errorf("flows: commune %q has no unassigned hamlet", t.s.Commune))
	return t.showCommunes()
}

// linkHamlet reads a deep-link payload "h_<hamlet id>".
func (t *turn) linkHamlet(payload string) (Area, bool) {
	id, ok := strings.CutPrefix(strings.TrimSpace(payload), "h_")
	if !ok {
		return Area{}, false
	}
	h, ok := t.e.Areas.Area(id)
	if !ok || h.Level != LevelHamlet || !h.ValidOn(t.today()) {
		return Area{}, false
	}
	return h, true
}

func (t *turn) askMove(h Area) error {
	t.s.Stage = StageMove
	t.s.PendingHamlet = h.ID
	old, _ := t.e.Areas.Area(t.s.Hamlet)
	c, _ := t.e.Areas.Area(h.ParentID)
	t.keyboard("common.move_ask", map[string]any{"Hamlet": old.Name, "NewHamlet": h.Name, "NewCommune": c.Name}, []Choice{
		{Label: t.text1("common.btn.move_yes"), Action: actMoveYes},
		{Label: t.text1("common.btn.move_no"), Action: actMoveNo},
	})
	return nil
}

// setHamlet files the resident under h; open flows move with them.
func (t *turn) setHamlet(h Area) error {
	old := t.s.Hamlet
	t.s.Hamlet = h.ID
	t.s.Commune = h.ParentID
	t.s.PendingHamlet = ""
	if old != "" && old != h.ID {
		for _, r := range t.openRuns() {
			t.effect(Effect{Kind: EffectLeft, Flow: r.Flow, Step: r.Step, Hamlet: old, Reason: "move"})
			t.effect(Effect{Kind: EffectActivity, Flow: r.Flow, Step: r.Step, Hamlet: h.ID})
		}
	}
	if old != h.ID {
		if old != "" {
			t.effect(Effect{Kind: EffectUnfiled, Hamlet: old})
		}
		t.effect(Effect{Kind: EffectFiled, Hamlet: h.ID})
	}
	c, _ := t.e.Areas.Area(h.ParentID)
	data := map[string]any{"Hamlet": h.Name, "Commune": c.Name}
	if t.movedByTeam {
		t.say("common.moved_by_team", data)
		return t.resumeScreen()
	}
	if h.Unassigned {
		t.say("common.hamlet_unassigned", data)
	} else {
		t.say("common.hamlet_set", data)
	}
	if t.s.Active != nil {
		return t.enterFlow()
	}
	return t.menu("")
}

func (t *turn) matchArea(folded string) (string, bool) {
	var candidates []Area
	switch t.s.Stage {
	case StageCommune:
		candidates = t.communes()
	case StageHamlet:
		candidates = t.hamlets(t.s.Commune)
	default:
		return "", false
	}
	for _, a := range candidates {
		names := append([]string{a.Name}, a.Aliases...)
		for _, n := range names {
			if Fold(n) == folded {
				if a.Level == LevelCommune {
					return actCommune + a.ID, true
				}
				return actHamlet + a.ID, true
			}
		}
	}
	return "", false
}

// ---- menu, progress, help ----------------------------------------------

func (t *turn) menu(intro string) error {
	if t.s.Hamlet == "" {
		return t.showCommunes()
	}
	if a := t.s.Active; a != nil {
		t.pause()
	}
	t.s.Stage = StageMenu
	if intro == "" {
		intro = "common.menu"
	}
	t.keyboard(intro, nil, t.menuChoices())
	return nil
}

// menuChoices are the main menu's buttons: the paused flows to resume, every
// flow, and a human. They depend only on the session's language and paused
// flows and on the content, so a stored session need not keep them (see
// Engine.Compact).
func (t *turn) menuChoices() []Choice {
	var cs []Choice
	for _, r := range t.s.Paused {
		if f, ok := t.e.Library.Flow(r.Flow); ok {
			cs = append(cs, Choice{Label: t.text("common.btn.resume", map[string]any{"Flow": t.flowTitle(f)}), Action: actFlow + f.ID})
		}
	}
	for _, f := range t.e.Library.Flows() {
		cs = append(cs, Choice{Label: t.flowTitle(f), Action: actFlow + f.ID})
	}
	return append(cs, Choice{Label: t.text1("common.btn.human"), Action: actHuman})
}

// pause moves the active flow to the front of the paused list.
func (t *turn) pause() {
	a := *t.s.Active
	t.s.Active = nil
	t.dropPaused(a.Flow)
	t.s.Paused = append([]Run{a}, t.s.Paused...)
}

func (t *turn) dropPaused(flow string) (Run, bool) {
	for i, r := range t.s.Paused {
		if r.Flow == flow {
			t.s.Paused = append(t.s.Paused[:i:i], t.s.Paused[i+1:]...)
			return r, true
		}
	}
	return Run{}, false
}

func (t *turn) openRuns() []Run {
	var rs []Run
	if t.s.Active != nil {
		rs = append(rs, *t.s.Active)
	}
	return append(rs, t.s.Paused...)
}

func (t *turn) progress() {
	var lines []string
	for _, f := range t.e.Library.Flows() {
		if at, ok := t.s.Done[f.ID]; ok {
			lines = append(lines, t.text("common.progress_done", map[string]any{"Flow": t.flowTitle(f), "Date": t.date(at)}))
		}
	}
	for _, r := range t.openRuns() {
		if f, ok := t.e.Library.Flow(r.Flow); ok {
			lines = append(lines, t.text("common.progress_open", map[string]any{"Flow": t.flowTitle(f), "Date": t.date(r.Last)}))
		}
	}
	if len(lines) == 0 {
		t.say("common.progress_none", nil)
		return
	}
	t.say("common.progress", map[string]any{"List": strings.Join(lines, "\n")})
}

func (t *turn) date(at time.Time) string {
	loc := t.e.Location
	if loc == nil {
		loc = time.UTC
	}
	return at.In(loc).Format("02/01/2006")
}

func (t *turn) cancel() error {
	if t.s.Active == nil {
		t.say("common.nothing_to_cancel", nil)
		return t.resumeScreen()
	}
	a := *t.s.Active
	t.s.Active = nil
	t.left(a, "cancel")
	f, _ := t.e.Library.Flow(a.Flow)
	t.say("common.cancelled", map[string]any{"Flow": t.flowTitle(f)})
	return t.menu("")
}

// human records a help request and says honestly what happens next.
func (t *turn) human() error {
	if t.s.Hamlet == "" {
		t.say("common.human_no_hamlet", nil)
		return t.showCommunes()
	}
	t.s.HelpAt = t.now
	e := Effect{Kind: EffectHelp, Hamlet: t.s.Hamlet}
	if a := t.s.Active; a != nil {
		e.Flow, e.Step = a.Flow, a.Step
	}
	t.effect(e)
	t.say("common.human_recorded", nil)
	return t.redraw()
}

// resumeScreen returns to wherever the resident was before a side question.
func (t *turn) resumeScreen() error {
	switch {
	case t.s.Hamlet == "":
		return t.showCommunes()
	case t.s.Active != nil:
		return t.enterFlow()
	}
	return t.menu("")
}

// redraw shows the current screen again.
func (t *turn) redraw() error {
	switch t.s.Stage {
	case StageCommune, StageNew:
		return t.showCommunes()
	case StageHamlet:
		c, ok := t.e.Areas.Area(t.s.Commune)
		if !ok {
			return t.showCommunes()
		}
		return t.showHamlets(c)
	case StageMove:
		if h, ok := t.e.Areas.Area(t.s.PendingHamlet); ok {
			return t.askMove(h)
		}
	case StageCheckQR:
		return t.checkQRScreen("common.checkqr_ask")
	case StagePayee:
		return t.resumeScreen()
	case StageLang, StageForget, StageStop, StageStaff, StageCompose, StageNote:
		return t.resumeScreen()
	case StageFlow:
		if t.s.Active != nil {
			return t.enterFlow()
		}
	}
	return t.menu("")
}

// ---- flows ---------------------------------------------------------------

func (t *turn) flowTitle(f *Flow) string {
	if f == nil {
		return ""
	}
	return t.text1(f.Title)
}

func (t *turn) startFlow(id string) error {
	f, ok := t.e.Library.Flow(id)
	if !ok {
		t.say("common.flow_gone", nil)
		return t.menu("")
	}
	if t.s.Active != nil && t.s.Active.Flow == id {
		return t.enterFlow()
	}
	if t.s.Active != nil {
		t.pause()
	}
	if r, ok := t.dropPaused(id); ok {
		r.Last = t.now
		t.s.Active = &r
		t.s.Stage = StageFlow
		t.effect(Effect{Kind: EffectActivity, Flow: r.Flow, Step: r.Step, Hamlet: t.s.Hamlet})
		return t.enterFlow()
	}
	t.s.Active = &Run{Flow: f.ID, Step: f.Start, Started: t.now, Last: t.now}
	t.s.Stage = StageFlow
	t.effect(Effect{Kind: EffectStarted, Flow: f.ID, Step: f.Start, Hamlet: t.s.Hamlet})
	return t.enterFlow()
}

// enterFlow shows the active run's current step, walking info steps and
// finishing at an end step, within the step budget.
func (t *turn) enterFlow() error {
	a := t.s.Active
	t.s.Stage = StageFlow
	f, ok := t.e.Library.Flow(a.Flow)
	if !ok {
		t.left(*a, "gone")
		t.s.Active = nil
		t.say("common.flow_gone", nil)
		return t.menu("")
	}
	max := t.e.MaxSteps
	if max <= 0 {
		max = DefaultMaxSteps
	}
	for {
		t.steps++
		if t.steps > max {
			return fmt.Errorf("flows: flow %s at step %s: %w", f.ID, a.Step, ErrStepBudget)
		}
		step, ok := f.Step(a.Step)
		if !ok {
			// Content changed under the resident: start the flow again.
			t.say("common.content_changed", nil)
			a.Step, a.History = f.Start, nil
			if _, ok := f.Step(f.Start); !ok {
				return fmt.Errorf("flows: flow %s: start step %q missing", f.ID, f.Start)
			}
			continue
		}
		data := t.contentData()
		switch step.Type {
		case StepInfo:
			t.sayImage(step.Say, data, step.Image)
			a.Step = step.Next
			continue
		case StepEnd:
			t.sayImage(step.Say, data, step.Image)
			return t.complete(f, step)
		case StepChoice, StepExternal, StepCheckpoint, StepQuestion:
			t.keyboardImage(step.Say, data, step.Image, t.stepChoices(step))
		default:
			return fmt.Errorf("flows: flow %s step %s: unknown type %q", f.ID, step.ID, step.Type)
		}
		return nil
	}
}

// stepChoices are the buttons of a waiting step: its own, then back and a
// human. Like menuChoices they depend only on the language and the content.
func (t *turn) stepChoices(step *Step) []Choice {
	var cs []Choice
	switch step.Type {
	case StepChoice, StepExternal:
		for _, b := range step.Buttons {
			cs = append(cs, Choice{Label: t.text1(b.Label), Action: actButton + b.ID})
		}
	case StepCheckpoint:
		cs = []Choice{
			{Label: t.text1("common.btn.done"), Action: actDone},
			{Label: t.text1("common.btn.stuck"), Action: actStuck},
			{Label: t.text1("common.btn.skip"), Action: actSkip},
		}
	}
	return t.withGlobal(cs)
}

func (t *turn) withGlobal(cs []Choice) []Choice {
	return append(cs,
		Choice{Label: t.text1("common.btn.back"), Action: actBack},
		Choice{Label: t.text1("common.btn.human"), Action: actHuman})
}

func (t *turn) contentData() map[string]any {
	h, _ := t.e.Areas.Area(t.s.Hamlet)
	c, _ := t.e.Areas.Area(t.s.Commune)
	return map[string]any{"Hamlet": h.Name, "Commune": c.Name}
}

// advance leaves the current waiting step for next.
func (t *turn) advance(next string) error {
	a := t.s.Active
	a.History = append(a.History, a.Step)
	if len(a.History) > 50 {
		a.History = a.History[len(a.History)-50:]
	}
	a.Step = next
	a.Failures = 0
	prev := a.Last
	a.Last = t.now
	if err := t.enterFlow(); err != nil {
		return err
	}
	if t.s.Active != nil && (t.s.Active != a || t.now.Sub(prev) >= activityEvery) {
		t.effect(Effect{Kind: EffectActivity, Flow: t.s.Active.Flow, Step: t.s.Active.Step, Hamlet: t.s.Hamlet})
	}
	return nil
}

// activityEvery is how often steps taken in one flow refresh the hamlet's
// record of the resident's last activity (what "stalled" and the follow-up
// lists read). Refreshing on every step would make every tap write the
// hamlet's counters too (five more Redis round trips); an hour is nothing
// next to WAIT_EXPIRY (72 h) and SESSION_EXPIRY (30 days). The session's own
// Run.Last stays exact.
const activityEvery = time.Hour

func (t *turn) complete(f *Flow, step *Step) error {
	a := t.s.Active
	t.effect(Effect{Kind: EffectCompleted, Flow: f.ID, Step: step.ID, Hamlet: t.s.Hamlet, Via: "self"})
	if t.s.Done == nil {
		t.s.Done = map[string]time.Time{}
	}
	t.s.Done[a.Flow] = t.now
	t.s.Active = nil
	return t.menu("common.menu_again")
}

// waitingStep is the step the active flow waits on, if any.
func (t *turn) waitingStep() *Step {
	if t.s.Stage != StageFlow || t.s.Active == nil {
		return nil
	}
	f, ok := t.e.Library.Flow(t.s.Active.Flow)
	if !ok {
		return nil
	}
	s, ok := f.Step(t.s.Active.Step)
	if !ok {
		return nil
	}
	return s
}

func (t *turn) button(id string) error {
	step := t.waitingStep()
	if step == nil || (step.Type != StepChoice && step.Type != StepExternal) {
		return t.redraw()
	}
	for _, b := range step.Buttons {
		if b.ID == id {
			if b.Next == LeaveTarget {
				return t.leave()
			}
			return t.advance(b.Next)
		}
	}
	return t.redraw()
}

// leave ends the active flow without completing it and shows the menu.
func (t *turn) leave() error {
	a := *t.s.Active
	t.s.Active = nil
	t.left(a, "cancel")
	return t.menu("")
}

func (t *turn) checkpoint(a string) error {
	step := t.waitingStep()
	if step == nil || step.Type != StepCheckpoint {
		return t.redraw()
	}
	switch a {
	case actDone:
		return t.advance(step.Next)
	case actSkip:
		if step.Skip != "" {
			return t.advance(step.Skip)
		}
		return t.advance(step.Next)
	}
	t.s.HelpAt = t.now
	t.effect(Effect{Kind: EffectHelp, Flow: t.s.Active.Flow, Step: step.ID, Hamlet: t.s.Hamlet})
	t.say("common.stuck_recorded", nil)
	if step.Stuck != "" {
		return t.advance(step.Stuck)
	}
	return t.redraw()
}

func (t *turn) back() error {
	switch t.s.Stage {
	case StageHamlet:
		return t.showCommunes()
	case StageFlow:
		a := t.s.Active
		if a == nil {
			break
		}
		if n := len(a.History); n > 0 {
			a.Step = a.History[n-1]
			a.History = a.History[:n-1]
			a.Last = t.now
			a.Failures = 0
			return t.enterFlow()
		}
	}
	return t.menu("")
}

// answer validates free text for a question step.
func (t *turn) answer(step *Step, text string) error {
	v, ok := validate(step.Validate, text)
	if !ok {
		a := t.s.Active
		a.Failures++
		if a.Failures >= MaxFailures {
			a.Failures = 0
			t.say("common.offer_human", nil)
			return t.redraw()
		}
		msg := step.Invalid
		if msg == "" {
			msg = "common.invalid." + step.Validate
		}
		t.say(msg, t.contentData())
		return t.redraw()
	}
	if step.Save != "" {
		if t.s.Active.Vars == nil {
			t.s.Active.Vars = map[string]string{}
		}
		t.s.Active.Vars[step.Save] = v
	}
	return t.advance(step.Next)
}

// Validators returns the validations a question step may name.
func Validators() []string { return []string{"text", "number", "phone", "yesno"} }

func validate(kind, text string) (string, bool) {
	f := Fold(text)
	switch kind {
	case "number":
		d := strings.NewReplacer(".", "", ",", "", " ", "").Replace(f)
		if _, err := strconv.ParseUint(d, 10, 64); err != nil {
			return "", false
		}
		return d, true
	case "phone":
		d := strings.NewReplacer(" ", "", ".", "", "-", "").Replace(f)
		d = strings.TrimPrefix(d, "+84")
		if len(d) == 9 {
			d = "0" + d
		}
		if len(d) != 10 || d[0] != '0' {
			return "", false
		}
		if _, err := strconv.ParseUint(d, 10, 64); err != nil {
			return "", false
		}
		return d, true
	case "yesno":
		switch f {
		case "co", "yes", "vang", "da", "u", "uh", "ok", "dung":
			return "yes", true
		case "khong", "no", "ko", "k", "chua":
			return "no", true
		}
		return "", false
	default: // text
		s := strings.TrimSpace(text)
		if s == "" || len([]rune(s)) > 200 {
			return "", false
		}
		return s, true
	}
}

// checked continues an external step with its checker's outcome.
func (t *turn) checked(in Input) error {
	step := t.waitingStep()
	if step == nil || step.Type != StepExternal {
		return t.redraw()
	}
	if in.Text != "" && !CodeText(in.Text) && Sensitive(in.Text) {
		return t.sensitive()
	}
	next, ok := step.Outcomes[in.Data]
	if !ok {
		if next, ok = step.Outcomes["default"]; !ok {
			return t.tapButton()
		}
	}
	return t.advance(next)
}

// left reports that an unfinished flow was dropped.
func (t *turn) left(r Run, reason string) {
	if t.s.Hamlet == "" {
		return
	}
	t.effect(Effect{Kind: EffectLeft, Flow: r.Flow, Step: r.Step, Hamlet: t.s.Hamlet, Reason: reason})
}

func (t *turn) effect(e Effect) {
	if e.Hamlet == "" {
		return
	}
	e.At = t.now
	// One activity per flow per input is enough.
	if e.Kind == EffectActivity {
		for i, x := range t.res.Effects {
			if x.Kind == EffectActivity && x.Flow == e.Flow && x.Hamlet == e.Hamlet {
				t.res.Effects[i] = e
				return
			}
		}
	}
	t.res.Effects = append(t.res.Effects, e)
}

// ---- rendering -------------------------------------------------------------

func (t *turn) text(id string, data map[string]any) string {
	s, err := t.e.Loc.Localize(t.s.Lang, id, data)
	if err != nil {
		t.errs = append(t.errs, err)
		if s == "" {
			return id
		}
	}
	return s
}

func (t *turn) text1(id string) string { return t.text(id, nil) }

func (t *turn) say(id string, data map[string]any) { t.sayImage(id, data, "") }

func (t *turn) sayImage(id string, data map[string]any, image string) {
	t.pending = append(t.pending, Reply{Text: t.text(id, data), Image: image})
	t.s.Keyboard, t.s.KeyboardSum = nil, ""
}

func (t *turn) keyboard(id string, data map[string]any, cs []Choice) {
	t.keyboardImage(id, data, "", cs)
}

// keyboardImage sends a message with buttons; it becomes the keyboard a
// typed number or label refers to.
func (t *turn) keyboardImage(id string, data map[string]any, image string, cs []Choice) {
	t.pending = append(t.pending, Reply{Text: t.text(id, data), Image: image, Buttons: SetKeyboard(&t.s, cs)})
}

// SetKeyboard makes cs the resident's current keyboard: each button gets a
// short token ("<keyboard number>.<position>") for its callback data, so a
// tap on an older keyboard is recognised. It returns the buttons to show.
func SetKeyboard(s *Session, cs []Choice) []Choice {
	s.KeyboardSeq++
	for i := range cs {
		cs[i].Data = choiceData(s.KeyboardSeq, i)
	}
	s.Keyboard = cs
	s.KeyboardSum = ""
	return publicChoices(cs)
}

func publicChoices(cs []Choice) []Choice {
	out := make([]Choice, len(cs))
	for i, c := range cs {
		out[i] = Choice{Data: c.Data, Label: c.Label}
	}
	return out
}
