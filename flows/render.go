package flows

import "time"

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

// keyboardEpoch starts the clock keyboards are numbered by.
var keyboardEpoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// nextKeyboard is the number of s's next keyboard: one more than the last,
// and at least the seconds from keyboardEpoch to the resident's last input
// (Seen). Numbers from the clock never repeat across a lost session: a
// resident forgotten (/forget, retention) and met again, or one whose last
// writes Redis forgot, gets keyboards numbered past every one they were
// shown before, so an old message's button never acts as a new one's.
func nextKeyboard(s Session) int {
	n := s.KeyboardSeq + 1
	if !s.Seen.IsZero() {
		n = max(n, int(s.Seen.Sub(keyboardEpoch)/time.Second))
	}
	return n
}

// SetKeyboard makes cs the resident's current keyboard: each button gets a
// short token ("<keyboard number>.<position>") for its callback data, so a
// tap on an older keyboard is recognised. It returns the buttons to show.
// A Private label is shown but not kept in the session.
func SetKeyboard(s *Session, cs []Choice) []Choice {
	s.KeyboardSeq = nextKeyboard(*s)
	for i := range cs {
		cs[i].Data = choiceData(s.KeyboardSeq, i)
	}
	shown := publicChoices(cs)
	for i := range cs {
		if cs[i].Private {
			cs[i].Label, cs[i].Private = "", false
		}
	}
	s.Keyboard = cs
	s.KeyboardSum = ""
	return shown
}

func publicChoices(cs []Choice) []Choice {
	out := make([]Choice, len(cs))
	for i, c := range cs {
		out[i] = Choice{Data: c.Data, Label: c.Label}
	}
	return out
}
