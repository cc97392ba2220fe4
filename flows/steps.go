package flows

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

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
		return t.reshowFlow()
	}
	if !t.flowHere(f) && !slices.ContainsFunc(t.s.Paused, func(r Run) bool { return r.Flow == id }) {
		// A link or an old reminder to a guide for another province: the
		// guide under way stays where it is.
		t.say("common.flow_not_here", map[string]any{"Flow": t.flowTitle(f)})
		return t.redraw()
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
// finishing at an end step, within the step budget, and marks each step it
// shows as reached (the funnel: Mark).
func (t *turn) enterFlow() error { return t.showFlow(true) }

// reshowFlow shows the active run's current step again (a redraw, a return
// from a side question): the step was reached when first shown, so it is
// not marked again, but the info and end steps after it (content changed
// under the resident) are.
func (t *turn) reshowFlow() error { return t.showFlow(false) }

func (t *turn) showFlow(mark bool) error {
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
			mark = true
			continue
		}
		if mark {
			t.mark(f.ID, step)
		}
		mark = true // every step after the first is newly shown
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

// stepChoices are the buttons of a waiting step. Issue 19: at most four on
// a screen, three on a typical step (✅ done, ❓ stuck, ↩ back); ⏭ only where
// the content gives the step a skip target, ℹ️ only where it has more to
// tell. ❓ leads to a short screen offering to try again or ask a person
// (stuckChoices). Like menuChoices they depend only on the language and the
// content.
func (t *turn) stepChoices(step *Step) []Choice {
	var cs []Choice
	more := func() {
		if step.More != "" {
			cs = append(cs, Choice{Label: t.text1("common.btn.more"), Action: actMore})
		}
	}
	switch step.Type {
	case StepChoice, StepExternal:
		for _, b := range step.Buttons {
			cs = append(cs, Choice{Label: t.text1(b.Label), Action: actButton + b.ID})
		}
		more()
		if len(cs) < MaxButtons-1 {
			cs = append(cs, Choice{Label: t.text1("common.btn.stuck"), Action: actStuck})
		}
	case StepCheckpoint:
		if step.Urgent {
			// No "stuck" (the team is already told, urgently), no skip:
			// what to do now, done, or back.
			cs = []Choice{{Label: t.text1("common.btn.urgent_done"), Action: actDone}}
			more()
			break
		}
		cs = []Choice{
			{Label: t.text1("common.btn.done"), Action: actDone},
			{Label: t.text1("common.btn.stuck"), Action: actStuck},
		}
		if step.Skip != "" {
			cs = append(cs, Choice{Label: t.text1("common.btn.skip"), Action: actSkip})
		}
		more()
	case StepQuestion:
		more()
		cs = append(cs, Choice{Label: t.text1("common.btn.stuck"), Action: actStuck})
	}
	return append(cs, Choice{Label: t.text1("common.btn.back"), Action: actBack})
}

// MaxButtons is the most buttons a screen inside a guide may have (issue
// 19: an elderly resident on a small phone); content check holds the
// guides to it.
const MaxButtons = 4

// StepButtons is how many buttons the step's screen shows.
func StepButtons(step *Step) int {
	n := 1 // back
	if step.More != "" {
		n++
	}
	switch step.Type {
	case StepChoice, StepExternal:
		n += len(step.Buttons)
		if n < MaxButtons {
			n++ // stuck
		}
	case StepCheckpoint:
		if !step.Urgent {
			n += 2 // done, stuck
			if step.Skip != "" {
				n++
			}
		} else {
			n++
		}
	case StepQuestion:
		n++
	default:
		return 0
	}
	return n
}

// withoutMore is cs less the ℹ️ button: the screen that shows the step's
// background keeps the step's other buttons.
func withoutMore(cs []Choice) []Choice {
	out := cs[:0:0]
	for _, c := range cs {
		if c.Action != actMore {
			out = append(out, c)
		}
	}
	return out
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
	if f, ok := t.e.Library.Flow(a.Flow); ok {
		if s, ok := f.Step(next); ok && s.Urgent {
			// Someone may just have been scammed: the team is told at once,
			// urgently; the step says what to do now, in order.
			t.s.HelpAt = t.now
			t.effect(Effect{Kind: EffectHelp, Flow: a.Flow, Step: next, Hamlet: t.s.Hamlet, Urgent: true})
		}
	}
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
	if step == nil {
		return t.redraw()
	}
	switch a {
	case actStuck:
		return t.stuck(step)
	case actMore:
		if step.More == "" {
			return t.redraw()
		}
		t.keyboard(step.More, t.contentData(), withoutMore(t.stepChoices(step)))
		return nil
	case actRetry:
		return t.redraw()
	case actOther:
		if step.Stuck == "" {
			return t.redraw()
		}
		return t.advance(step.Stuck)
	}
	if step.Type != StepCheckpoint {
		return t.redraw()
	}
	switch a {
	case actDone:
		return t.advance(step.Next)
	case actSkip:
		if step.Skip != "" {
			return t.advance(step.Skip)
		}
	}
	return t.redraw()
}

// stuck answers ❓: a resident who may have been scammed goes straight to
// what to do now (the urgent step files its own request); anyone else is
// offered to try again, the step's other way if it has one (the bank
// counter…), or a person, who is told only when asked for.
func (t *turn) stuck(step *Step) error {
	if step.Urgent {
		// What to do now is on the screen and the team is told, urgently:
		// never "không sao ạ… thử lại" here.
		return t.redraw()
	}
	if t.urgentStep(step.Stuck) {
		return t.advance(step.Stuck)
	}
	return t.stuckScreen("common.stuck_ask", step)
}

// urgentStep says whether id names an urgent step of the active flow.
func (t *turn) urgentStep(id string) bool {
	if id == "" || t.s.Active == nil {
		return false
	}
	f, ok := t.e.Library.Flow(t.s.Active.Flow)
	if !ok {
		return false
	}
	s, ok := f.Step(id)
	return ok && s.Urgent
}

// stuckScreen says msg with the ways out of a step: again, the step's
// other way, a person.
func (t *turn) stuckScreen(msg string, step *Step) error {
	cs := []Choice{{Label: t.text1("common.btn.retry"), Action: actRetry}}
	if step.Stuck != "" && step.Type == StepCheckpoint && !t.urgentStep(step.Stuck) {
		// An urgent target is what ❓ itself leads to ("I gave my code
		// away"), never a vague "other way" that raises the alarm.
		cs = append(cs, Choice{Label: t.text1("common.btn.other_way"), Action: actOther})
	}
	cs = append(cs, Choice{Label: t.text1("common.btn.human"), Action: actHuman})
	t.keyboard(msg, nil, cs)
	return nil
}

// offerHuman says msg with the way to a person: inside a guide the ❓
// screen's ways out (its steps show no 🙋), elsewhere the screen again
// (the menu has 🙋).
func (t *turn) offerHuman(msg string) error {
	if step := t.waitingStep(); step != nil && !step.Urgent {
		return t.stuckScreen(msg, step)
	}
	t.say(msg, nil)
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

// answers says whether text is a valid answer to the question step.
func (t *turn) answers(step *Step, text string) bool {
	_, ok := validate(step.Validate, text)
	return ok
}

// answer validates free text for a question step.
func (t *turn) answer(step *Step, text string) error {
	v, ok := validate(step.Validate, text)
	if !ok {
		a := t.s.Active
		a.Failures++
		if a.Failures >= MaxFailures {
			a.Failures = 0
			return t.offerHuman("common.offer_human")
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
	t.markLeft(r, t.s.Hamlet)
}

// mark records that the resident was shown step of flow: once per step in a
// turn; nothing when they have no hamlet (as effect).
func (t *turn) mark(flow string, step *Step) {
	if t.s.Hamlet == "" {
		return
	}
	for _, m := range t.res.Marks {
		if m.Flow == flow && m.Step == step.ID && m.Hamlet == t.s.Hamlet && !m.Left {
			return
		}
	}
	t.res.Marks = append(t.res.Marks, Mark{Flow: flow, Step: step.ID, Hamlet: t.s.Hamlet, At: t.now, End: step.Type == StepEnd})
}

// markLeft records that the resident left their run of a flow in hamlet
// unfinished: the funnel no longer has them at its step.
func (t *turn) markLeft(r Run, hamlet string) {
	if hamlet == "" {
		return
	}
	t.res.Marks = append(t.res.Marks, Mark{Flow: r.Flow, Step: r.Step, Hamlet: hamlet, At: t.now, Left: true})
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
