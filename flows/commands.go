package flows

import (
	"strings"
	"time"
)

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
			t.welcome()
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
	case "join", "invite", "team", "pending", "stats", "export", "log", "helpdesk", "remind", "poster", "addhamlet", "hamletrequests", "move", "payee", "dashboard": // the Desk's
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

// maxAhead bounds how far past the clock a keyboard's number can run:
// keyboards drawn within one second take the numbers after it.
const maxAhead = 1000

// doubleTap reports whether a tap at now, on the keyboard the tap at last
// replaced, is the second tap of a double tap: within DoubleTap of it,
// counted in whole seconds (a stored Seen keeps whole seconds), so the
// window is DoubleTap to DoubleTap plus one second.
func doubleTap(last, now time.Time) bool {
	return now.Truncate(time.Second).Sub(last.Truncate(time.Second)) <= DoubleTap
}

// lostKeyboards is how many keyboards after the one tapped a resident
// may have seen from writes the store forgot (Result.LostWrite): about a
// second of writes, a few turns at most.
const lostKeyboards = 16

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
	if strings.HasPrefix(data, KeepAlivePrefix) {
		// The keep-alive message's button: the tap itself (Session.Seen)
		// was the point.
		t.res.Staff = &StaffRequest{Action: actStaff + "alive"}
		return nil
	}
	for _, c := range t.s.Keyboard {
		if c.Data == data {
			return t.act(c.Action)
		}
	}
	if seq, ok := choiceSeq(data); ok {
		if seq != 0 && seq == t.s.KeyboardPrev && doubleTap(t.lastSeen, t.now) {
			// The second tap of a double tap on the screen the first one
			// replaced: it was acted on once, and nothing more is said.
			t.doubleTap = true
			return nil
		}
		// A keyboard numbered past the session's, but no further than a
		// keyboard drawn now could be (forged data is a plain old tap).
		if seq > t.s.KeyboardSeq && seq <= max(t.s.KeyboardSeq, nextKeyboard(t.s))+maxAhead {
			// A keyboard this session never drew: the store forgot writes
			// whose replies the resident saw. The keyboards drawn from now
			// on are numbered past it (and past a few more it may have
			// forgotten), so no button of a forgotten message ever means
			// a button of a new one.
			t.res.LostWrite = true
			t.s.KeyboardSeq = seq + lostKeyboards
		}
	}
	// A button of an earlier screen: refused, and the current screen drawn
	// again; the channel may take the tapped message's buttons off.
	t.res.Stale = true
	kb, seq := t.s.Keyboard, t.s.KeyboardSeq
	t.say("common.stale_button", nil)
	if err := t.redraw(); err != nil {
		return err
	}
	t.keepKeyboard(kb, seq)
	return nil
}

// keepKeyboard gives the keyboard just drawn the number seq when it is kb
// again, button for button: every copy of the current screen the resident
// may be looking at stays current. (Numbered anew, the copy they see goes
// old as the copy drawn again is still on its way: at Telegram's pace of a
// message a second, a resident who taps a second after each screen would
// tap old buttons for ever.)
func (t *turn) keepKeyboard(kb []Choice, seq int) {
	cur := t.s.Keyboard
	if len(kb) == 0 || len(cur) != len(kb) || len(t.pending) == 0 {
		return
	}
	for i := range kb {
		if kb[i].Label != cur[i].Label || kb[i].Action != cur[i].Action || kb[i].Contact != cur[i].Contact {
			return
		}
	}
	last := &t.pending[len(t.pending)-1]
	if len(last.Buttons) != len(cur) {
		return
	}
	t.s.KeyboardSeq = seq
	for i := range cur {
		cur[i].Data = choiceData(seq, i)
		last.Buttons[i].Data = cur[i].Data
	}
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
	case a == actDone || a == actStuck || a == actSkip || a == actMore || a == actRetry || a == actOther:
		return t.checkpoint(a)
	case a == actNotFound:
		if c, ok := t.e.Areas.Area(t.s.Commune); ok {
			return t.showHamletName(c)
		}
		return t.notListed()
	case a == actSkipName:
		return t.notListed()
	case a == actCommunes:
		return t.showCommunes()
	case a == actPlace:
		return t.changeHamlet()
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
