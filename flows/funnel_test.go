package flows_test

import (
	"testing"

	"github.com/hangxomso/hangxom/flows"
)

// marked lists a result's funnel marks as "flow/step@hamlet", "!" after an
// end step.
func marked(res flows.Result) []string {
	var out []string
	for _, m := range res.Marks {
		s := m.Flow + "/" + m.Step + "@" + m.Hamlet
		if m.End {
			s += "!"
		}
		if m.Left {
			s += " left"
		}
		out = append(out, s)
	}
	return out
}

func TestMarksOncePerStepShownNeverOnARedraw(t *testing.T) {
	c := newConv(t)
	res := c.text("chào")
	check(t, "no flow, no mark", []string(nil), marked(res))
	onboard(c)
	res = c.tap("demo.title")
	check(t, "start", []string{"demo/phone@a-1"}, marked(res))
	if !res.Marks[0].At.Equal(c.now.Add(-1 * 60e9)) {
		t.Errorf("mark at %v, want the turn's time", res.Marks[0].At)
	}
	res = c.tap("demo.btn.android")
	check(t, "an info step and the checkpoint after it", []string{"demo/why@a-1", "demo/install@a-1"}, marked(res))
	// Redraws: a word that is no answer, ❓ and its "try again", ℹ️.
	for _, in := range []func() flows.Result{
		func() flows.Result { return c.text("con mèo") },
		func() flows.Result { return c.tap("common.btn.stuck") },
		func() flows.Result { return c.tap("common.btn.retry") },
		func() flows.Result { return c.cmd("help", "") },
	} {
		if res := in(); len(res.Marks) != 0 {
			t.Errorf("a redraw marked %v (replies %v)", marked(res), texts(res))
		}
	}
	check(t, "still at", "install", c.s.Active.Step)
	res = c.cmd("back", "")
	check(t, "back shows the step before again", []string{"demo/phone@a-1"}, marked(res))
	res = c.tap("demo.btn.android")
	check(t, "and on", []string{"demo/why@a-1", "demo/install@a-1"}, marked(res))
	// The menu and back into the guide: the step is shown anew.
	c.text("menu")
	res = c.tap("common.btn.resume{Flow=demo.title}")
	check(t, "resumed", []string{"demo/install@a-1"}, marked(res))
	res = c.tap("common.btn.done")
	check(t, "question", []string{"demo/ask@a-1"}, marked(res))
	res = c.text("0912 345 678")
	check(t, "external", []string{"demo/scan@a-1"}, marked(res))
	c.text("00020101021138570010A00000072701270006970416011312345678900208QRIBFTTA53037045802VN6304ABCD")
	res = c.send(flows.Input{Kind: flows.InputCheck, Data: "ok"})
	check(t, "end", []string{"demo/end@a-1!"}, marked(res))
	check(t, "the effects are not marks", []string{"completed:demo@a-1"}, kinds(res))
}

func TestContentChangedMarksTheRestart(t *testing.T) {
	c := newConv(t)
	onboard(c)
	c.tap("demo.title")
	c.s.Active.Step = "removed-step"
	res := c.text("xong")
	check(t, "restarted", []string{"demo/phone@a-1"}, marked(res))
}

func TestMovingMarksTheStepInTheNewHamlet(t *testing.T) {
	c := newConv(t)
	onboard(c)
	c.tap("demo.title")
	c.cmd("start", "h_b-1")
	res := c.tap("common.btn.move_yes")
	check(t, "marks", []string{"demo/phone@a-1 left", "demo/phone@b-1"}, marked(res))
}

func TestLeavingARunMarksItLeft(t *testing.T) {
	c := newConv(t)
	onboard(c)
	c.tap("demo.title")
	c.tap("demo.btn.android")
	res := c.text("hủy")
	check(t, "cancel", []string{"demo/install@a-1 left"}, marked(res))
	c.tap("demo.title")
	res = c.e.Retire(c.s, c.now)
	check(t, "retention", []string{"demo/phone@a-1 left"}, marked(res))
}
