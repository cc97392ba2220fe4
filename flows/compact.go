package flows

import (
	"hash/fnv"
	"strconv"
	"strings"
	"time"
)

// A resident at rest sits at the main menu or at a waiting step of a flow,
// and the buttons of those screens are the larger part of a stored session
// (a menu's six labels are some 450 of its 700 bytes). Both keyboards are a
// function of the language, the session's place and the content, so a
// stored session keeps only a checksum of them, and Expand builds them
// again when the resident's next input comes. If the content changed
// meanwhile the checksum differs, and the keyboard counts as gone: a tap on
// it is answered as a stale button, with the current screen.

// Compact readies a session for storing: a keyboard that is its screen's
// own is replaced by its checksum, and times keep whole seconds.
func (e *Engine) Compact(s *Session) {
	s.Seen = s.Seen.Truncate(time.Second)
	s.HelpAt = s.HelpAt.Truncate(time.Second)
	if len(s.Done) > 0 {
		done := make(map[string]time.Time, len(s.Done))
		for f, at := range s.Done {
			done[f] = at.Truncate(time.Second)
		}
		s.Done = done
	}
	if s.Active != nil {
		a := s.Active.clone()
		a.truncate()
		s.Active = &a
	}
	if len(s.Paused) > 0 {
		paused := make([]Run, len(s.Paused))
		for i, r := range s.Paused {
			paused[i] = r.clone()
			paused[i].truncate()
		}
		s.Paused = paused
	}
	if len(s.Keyboard) == 0 || s.KeyboardSum != "" {
		return
	}
	cs, ok := e.screenChoices(*s)
	if !ok || len(cs) != len(s.Keyboard) {
		return
	}
	for i, c := range cs {
		k := s.Keyboard[i]
		if k.Label != c.Label || k.Action != c.Action || k.Contact != c.Contact || k.Data != choiceData(s.KeyboardSeq, i) {
			return
		}
	}
	s.KeyboardSum = choicesSum(cs)
	s.Keyboard = nil
}

// Expand undoes Compact: it returns the session with the keyboard its
// checksum stands for, or with no keyboard if the screen's buttons are no
// longer those (the content changed).
func (e *Engine) Expand(s Session) Session {
	if s.KeyboardSum == "" {
		return s
	}
	cs, ok := e.screenChoices(s)
	if ok && choicesSum(cs) == s.KeyboardSum {
		for i := range cs {
			cs[i].Data = choiceData(s.KeyboardSeq, i)
		}
		s.Keyboard = cs
	} else {
		s.Keyboard = nil
	}
	s.KeyboardSum = ""
	return s
}

// screenChoices are the buttons of the session's current screen when they
// follow from the session and the content alone: the menu's, or a waiting
// step's.
func (e *Engine) screenChoices(s Session) ([]Choice, bool) {
	t := &turn{e: e, s: s}
	var cs []Choice
	switch s.Stage {
	case StageMenu:
		if s.Hamlet == "" {
			return nil, false
		}
		cs = t.menuChoices()
	case StageFlow:
		step := t.waitingStep()
		if step == nil {
			return nil, false
		}
		switch step.Type {
		case StepChoice, StepExternal, StepCheckpoint, StepQuestion:
			cs = t.stepChoices(step)
		default:
			return nil, false
		}
	default:
		return nil, false
	}
	// A label that did not render is not one to rebuild from.
	return cs, len(t.errs) == 0
}

// choiceData is the callback token of a keyboard's i-th button (from 0).
func choiceData(seq, i int) string {
	return strconv.Itoa(seq) + "." + strconv.Itoa(i+1)
}

// choiceSeq reads the keyboard number out of a button's callback token
// (choiceData).
func choiceSeq(data string) (int, bool) {
	seq, _, ok := strings.Cut(data, ".")
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(seq)
	return n, err == nil && n >= 0
}

// choicesSum is a short checksum of buttons as shown and acted on.
func choicesSum(cs []Choice) string {
	h := fnv.New32a()
	for _, c := range cs {
		h.Write([]byte(c.Label))
		h.Write([]byte{0})
		h.Write([]byte(c.Action))
		if c.Contact {
			h.Write([]byte{1})
		}
		h.Write([]byte{0x1e})
	}
	return strconv.FormatUint(uint64(h.Sum32()), 36)
}

func (r *Run) truncate() {
	r.Started = r.Started.Truncate(time.Second)
	r.Last = r.Last.Truncate(time.Second)
}
