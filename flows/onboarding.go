package flows

import (
	"fmt"
	"strings"
	"time"
)

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
	if t.s.Hamlet != "" {
		// Changing hamlet (from the menu): a way back to it.
		cs = append(cs, Choice{Label: t.text1("common.btn.back"), Action: actMenu})
	}
	t.keyboard("common.choose_commune", nil, cs)
	return nil
}

func (t *turn) showHamlets(c Area) error {
	hs := t.hamlets(c.ID)
	if len(hs) == 0 {
		// Nothing to tap: the resident types the name (6 of 7 communes).
		return t.showHamletName(c)
	}
	t.s.Stage = StageHamlet
	t.s.Commune = c.ID
	var cs []Choice
	for _, h := range hs {
		cs = append(cs, Choice{Label: "🏠 " + h.Name, Action: actHamlet + h.ID})
	}
	cs = append(cs, Choice{Label: t.text1("common.btn.not_listed"), Action: actNotFound})
	cs = append(cs, Choice{Label: t.text1("common.btn.back"), Action: actBack})
	t.keyboard("common.choose_hamlet", map[string]any{"Commune": c.Name}, cs)
	return nil
}

// notListed files the resident under the commune's "not yet assigned"
// hamlet (the name screen's "skip").
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
			// The flow's start moves with the resident: it is counted in
			// the hamlet they finish it in (known-gaps, fixed by issue 19).
			t.effect(Effect{Kind: EffectLeft, Flow: r.Flow, Step: r.Step, Hamlet: old, Reason: "move", Started: r.Started})
			t.markLeft(r, old)
			t.effect(Effect{Kind: EffectStarted, Flow: r.Flow, Step: r.Step, Hamlet: h.ID, Reason: "move", Started: r.Started})
			// The new hamlet's funnel: the step they are at (and their
			// stalled line, if they stop there).
			if f, ok := t.e.Library.Flow(r.Flow); ok {
				if st, ok := f.Step(r.Step); ok {
					t.mark(f.ID, st)
				}
			}
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
		return t.reshowFlow()
	}
	return t.menu("")
}

func (t *turn) matchArea(folded string) (string, bool) {
	var candidates []Area
	switch t.s.Stage {
	case StageCommune:
		candidates = t.communes()
	case StageHamlet, StageHamletName:
		// Prefixes ("thôn", "xóm"…) tolerated; unknown names are
		// requests (typedHamlet).
		if h, ok := MatchHamlet(t.hamlets(t.s.Commune), folded); ok {
			return actHamlet + h.ID, true
		}
		return "", false
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
