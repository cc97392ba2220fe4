package flows_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/flows/flowstest"
)

// compactAt returns the session of the last turn before and after Compact.
func compactAt(c *conv) (whole, compact flows.Session) {
	whole = c.res.Session.Clone()
	compact = c.res.Session.Clone()
	c.e.Compact(&compact)
	return whole, compact
}

func TestCompactLeavesOutTheScreensOwnKeyboard(t *testing.T) {
	c := newConv(t)
	onboard(c)
	menu, menuC := compactAt(c)
	c.tap("demo.title")
	choice, choiceC := compactAt(c)
	c.tap("demo.btn.android") // info, then the checkpoint
	cp, cpC := compactAt(c)
	for _, x := range []struct {
		name           string
		whole, compact flows.Session
	}{{"menu", menu, menuC}, {"choice step", choice, choiceC}, {"checkpoint", cp, cpC}} {
		if len(x.whole.Keyboard) < 3 {
			t.Fatalf("%s: the turn left %d buttons, want a keyboard", x.name, len(x.whole.Keyboard))
		}
		if x.compact.Keyboard != nil || x.compact.KeyboardSum == "" {
			t.Errorf("%s: compacted keyboard %v, sum %q: want none and a sum", x.name, x.compact.Keyboard, x.compact.KeyboardSum)
		}
		wb, _ := json.Marshal(x.whole)
		cb, _ := json.Marshal(x.compact)
		if len(cb) >= len(wb) {
			t.Errorf("%s: compacted %d bytes, whole %d", x.name, len(cb), len(wb))
		}
		var back flows.Session
		if err := json.Unmarshal(cb, &back); err != nil {
			t.Fatal(err)
		}
		check(t, x.name+": keyboard built again", x.whole.Keyboard, c.e.Expand(back).Keyboard)
		if got := c.e.Expand(back).KeyboardSum; got != "" {
			t.Errorf("%s: expanded session keeps the sum %q", x.name, got)
		}
	}
}

func TestCompactKeepsOtherKeyboards(t *testing.T) {
	c := newConv(t)
	c.text("chào") // the communes: a list of areas, kept as it is
	whole, compact := compactAt(c)
	if len(whole.Keyboard) == 0 {
		t.Fatal("no keyboard at the communes")
	}
	check(t, "communes keyboard", whole.Keyboard, compact.Keyboard)
	if compact.KeyboardSum != "" {
		t.Errorf("sum %q for a kept keyboard", compact.KeyboardSum)
	}
	// A keyboard that is not the screen's own (forged here) is kept too.
	onboard(c)
	s := c.res.Session.Clone()
	s.Keyboard = []flows.Choice{{Data: "99.1", Label: "x", Action: "menu"}}
	c.e.Compact(&s)
	if len(s.Keyboard) != 1 || s.KeyboardSum != "" {
		t.Errorf("a foreign keyboard was compacted: %+v, sum %q", s.Keyboard, s.KeyboardSum)
	}
}

func TestCompactedKeyboardAfterTheContentChanged(t *testing.T) {
	c := newConv(t)
	onboard(c)
	_, s := compactAt(c)
	tap := c.res.Session.Keyboard[0].Data // "demo", the first flow
	// A release removes the first flow: the menu the resident sees is not
	// the one a rebuilt keyboard would be, so a tap on it must not start
	// whatever is first now.
	lib, err := flows.NewLibrary(flowstest.DemoFlows()[1:]...)
	if err != nil {
		t.Fatal(err)
	}
	e2 := *c.e
	e2.Library = lib
	if kb := e2.Expand(s).Keyboard; kb != nil {
		t.Fatalf("keyboard rebuilt over changed content: %+v", kb)
	}
	res, err := e2.Handle(s, flows.Input{Kind: flows.InputChoice, Data: tap}, c.now)
	if err != nil {
		t.Fatal(err)
	}
	check(t, "answer", "common.stale_button", texts(res)[0])
	if res.Session.Active != nil {
		t.Errorf("a stale tap started %s", res.Session.Active.Flow)
	}
}

func TestCompactKeepsWholeSeconds(t *testing.T) {
	c := newConv(t)
	c.now = flowstest.T0.Add(1234567891 * time.Nanosecond)
	onboard(c)
	c.tap("other.title")
	c.tap("common.btn.done")
	s := c.res.Session.Clone()
	c.e.Compact(&s)
	for name, at := range map[string]time.Time{"seen": s.Seen, "done": s.Done["other"]} {
		if at.IsZero() || at.Nanosecond() != 0 {
			t.Errorf("%s = %v, want whole seconds", name, at)
		}
	}
	if c.res.Session.Seen.Nanosecond() == 0 {
		t.Error("Compact changed the session it was given a copy of")
	}
}
