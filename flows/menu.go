package flows

import (
	"slices"
	"strings"
	"time"
)

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
// flow, a human, and changing hamlet. They depend only on the session's language and paused
// flows and on the content, so a stored session need not keep them (see
// Engine.Compact).
func (t *turn) menuChoices() []Choice {
	var cs []Choice
	paused := map[string]bool{}
	for _, r := range t.s.Paused {
		if f, ok := t.e.Library.Flow(r.Flow); ok {
			cs = append(cs, Choice{Label: t.text("common.btn.resume", map[string]any{"Flow": t.flowTitle(f)}), Action: actFlow + f.ID})
			paused[f.ID] = true
		}
	}
	for _, f := range t.e.Library.Flows() {
		if !paused[f.ID] && t.flowHere(f) { // one entry a guide: "▶️ Continue" stands for it
			cs = append(cs, Choice{Label: t.flowTitle(f), Action: actFlow + f.ID})
		}
	}
	return append(cs, Choice{Label: t.text1("common.btn.human"), Action: actHuman},
		Choice{Label: t.text1("common.btn.change_hamlet"), Action: actPlace})
}

// flowHere says whether f applies where the resident lives: a flow with
// Areas is for residents of those areas or of areas under them.
func (t *turn) flowHere(f *Flow) bool {
	if len(f.Areas) == 0 {
		return true
	}
	id := t.s.Hamlet
	for range 8 { // hamlet → commune → province, and a little to spare
		if id == "" {
			return false
		}
		if slices.Contains(f.Areas, id) {
			return true
		}
		a, ok := t.e.Areas.Area(id)
		if !ok {
			return false
		}
		id = a.ParentID
	}
	return false
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
		// Asked again from a scam step: urgent again.
		e.Urgent = t.urgentStep(a.Step)
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
		return t.reshowFlow()
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
	case StageHamletName:
		if c, ok := t.e.Areas.Area(t.s.Commune); ok {
			return t.showHamletName(c)
		}
		return t.showCommunes()
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
			return t.reshowFlow()
		}
	}
	return t.menu("")
}
