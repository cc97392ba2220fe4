package flows

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Actions of the hamlet screens (issue 19): typing a hamlet's name, and
// changing hamlet from the menu.
const (
	actSkipName = "hamlet:skip"   // file under the commune's unassigned hamlet
	actCommunes = "communes"      // back to the commune list
	actPlace    = "hamlet:change" // the menu's "change hamlet"
)

// MaxHamletName is the longest hamlet name a resident may type, in runes
// (as /addhamlet takes).
const MaxHamletName = 60

// hamletPrefixes are the words villagers put before a hamlet's name,
// folded: "thôn 3", "xóm Đông", "ấp", "bản", "tổ (dân phố)", "số".
var hamletPrefixes = []string{"to dan pho ", "tdp ", "thon ", "xom ", "ap ", "ban ", "to ", "so "}

// HamletKey folds a hamlet's name for matching and for counting requests:
// Fold, then without the leading "thôn", "xóm", "ấp", "bản", "tổ" or
// "số", so "Thôn 3", "thon so 3" and "xom 3" share the key "3". A name
// that is only such words keeps them.
func HamletKey(name string) string {
	f := Fold(name)
	for {
		g := f
		for _, p := range hamletPrefixes {
			g = strings.TrimPrefix(g, p)
		}
		if g == f || g == "" {
			return f
		}
		f = g
	}
}

// HamletName cleans a typed hamlet name for keeping: control and invisible
// characters dropped, spaces collapsed. It is false for a name that is
// empty, has no letter or digit, or is longer than MaxHamletName.
func HamletName(text string) (string, bool) {
	clean := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || isInvisible(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(text, ""))
	name := strings.Join(strings.Fields(clean), " ")
	if name == "" || utf8.RuneCountInString(name) > MaxHamletName {
		return "", false
	}
	if !strings.ContainsFunc(name, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) {
		return "", false
	}
	return name, true
}

// MatchHamlet finds the hamlet among hs that a typed name means: the
// same name or alias folded, else the only one whose key (HamletKey)
// is the same.
func MatchHamlet(hs []Area, typed string) (Area, bool) {
	f, key := Fold(typed), HamletKey(typed)
	if f == "" {
		return Area{}, false
	}
	var byKey []Area
	for _, h := range hs {
		for _, n := range append([]string{h.Name}, h.Aliases...) {
			if Fold(n) == f {
				return h, true
			}
			if HamletKey(n) == key && !containsArea(byKey, h.ID) {
				byKey = append(byKey, h)
			}
		}
	}
	if len(byKey) == 1 {
		return byKey[0], true
	}
	return Area{}, false
}

func containsArea(as []Area, id string) bool {
	for _, a := range as {
		if a.ID == id {
			return true
		}
	}
	return false
}

// unassigned returns the commune's "not yet assigned" hamlet.
func (t *turn) unassigned(commune string) (Area, bool) {
	for _, h := range t.e.Areas.Children(commune) {
		if h.Unassigned {
			return h, true
		}
	}
	return Area{}, false
}

// showHamletName asks for the hamlet's name: the commune lists none, or
// the resident said theirs is not listed.
func (t *turn) showHamletName(c Area) error {
	t.s.Stage = StageHamletName
	t.s.Commune = c.ID
	back := actCommunes
	if len(t.hamlets(c.ID)) > 0 {
		back = actCommune + c.ID
	}
	t.keyboard("common.type_hamlet", map[string]any{"Commune": c.Name}, []Choice{
		{Label: t.text1("common.btn.skip_name"), Action: actSkipName},
		{Label: t.text1("common.btn.back"), Action: back},
	})
	return nil
}

// typedHamlet takes text typed at a hamlet screen as the hamlet's name: a
// hamlet of the commune files the resident there (asking first if they
// move); an unknown name is kept as a request for the commune's
// coordinators, and the resident waits in the commune's unassigned hamlet.
func (t *turn) typedHamlet(text string) error {
	c, ok := t.e.Areas.Area(t.s.Commune)
	if !ok {
		return t.showCommunes()
	}
	if h, ok := MatchHamlet(t.hamlets(c.ID), text); ok {
		return t.act(actHamlet + h.ID)
	}
	name, ok := HamletName(text)
	if !ok || HamletKey(name) == "" {
		t.say("common.type_hamlet_again", nil)
		return t.redraw()
	}
	u, ok := t.unassigned(c.ID)
	if !ok {
		return t.notListed() // says what is wrong
	}
	t.effect(Effect{Kind: EffectAsked, Hamlet: u.ID, Commune: c.ID, Name: name})
	t.say("common.hamlet_asked", map[string]any{"Name": name, "Commune": c.Name})
	if t.s.Hamlet != "" && t.s.Hamlet != u.ID {
		return t.askMove(u)
	}
	return t.setHamlet(u)
}

// changeHamlet is the menu's "change hamlet": the hamlets of the
// resident's commune, the other communes one tap back.
func (t *turn) changeHamlet() error {
	if c, ok := t.e.Areas.Area(t.s.Commune); ok && c.ValidOn(t.today()) {
		return t.showHamlets(c)
	}
	return t.showCommunes()
}

// hamletMessages are the words of this file and their fields.
func hamletMessages() map[string][]string {
	return map[string][]string{
		"common.type_hamlet":       {"Commune"},
		"common.type_hamlet_again": nil,
		"common.hamlet_asked":      {"Name", "Commune"},
		"common.btn.skip_name":     nil,
		"common.btn.change_hamlet": nil,
	}
}

// HamletRequest is a hamlet name that residents of a commune typed and
// the commune does not list, for its coordinators (/hamletrequests).
type HamletRequest struct {
	Commune string
	// Key is the name's HamletKey: requests are one per key.
	Key  string
	Name string // as the first resident typed it
	// Count is how many residents ask for it now.
	Count       int
	First, Last time.Time
}
