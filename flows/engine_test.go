package flows_test

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/flows/flowstest"
)

// conv drives an engine through inputs, keeping the session, as a resident would.
type conv struct {
	t   testing.TB
	e   *flows.Engine
	s   flows.Session
	now time.Time
	res flows.Result
}

func newConv(t *testing.T) *conv { return &conv{t: t, e: flowstest.NewEngine(t), now: flowstest.T0} }

func (c *conv) send(in flows.Input) flows.Result {
	c.t.Helper()
	res, err := c.e.Handle(c.s, in, c.now)
	if err != nil {
		c.t.Fatalf("handle %+v: %v", in, err)
	}
	c.s, c.res = flowstest.Stored(c.t, c.e, res.Session), res
	c.now = c.now.Add(time.Minute)
	return res
}

func (c *conv) text(s string) flows.Result {
	c.t.Helper()
	return c.send(flows.Input{Kind: flows.InputText, Text: s})
}

func (c *conv) cmd(name, args string) flows.Result {
	c.t.Helper()
	return c.send(flows.Input{Kind: flows.InputCommand, Command: name, Text: args})
}

// tap taps the button whose label starts with label.
func (c *conv) tap(label string) flows.Result {
	c.t.Helper()
	for _, b := range c.lastButtons() {
		if strings.HasPrefix(b.Label, label) {
			return c.send(flows.Input{Kind: flows.InputChoice, Data: b.Data})
		}
	}
	c.t.Fatalf("no button %q in %v", label, c.lastButtons())
	return flows.Result{}
}

func (c *conv) lastButtons() []flows.Choice {
	for i := len(c.res.Replies) - 1; i >= 0; i-- {
		if len(c.res.Replies[i].Buttons) > 0 {
			return c.res.Replies[i].Buttons
		}
	}
	return nil
}

func texts(res flows.Result) []string {
	var out []string
	for _, r := range res.Replies {
		out = append(out, r.Text)
	}
	return out
}

func labels(cs []flows.Choice) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Label)
	}
	return out
}

func kinds(res flows.Result) []string {
	var out []string
	for _, e := range res.Effects {
		s := string(e.Kind) + ":" + e.Flow + "@" + e.Hamlet
		if e.Reason != "" {
			s += "(" + e.Reason + ")"
		}
		out = append(out, s)
	}
	return out
}

func check(t *testing.T, what string, want, got any) {
	t.Helper()
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("%s (-want +got):\n%s", what, d)
	}
}

// onboard brings a new resident to the menu in hamlet a-1.
func onboard(c *conv) {
	c.t.Helper()
	c.text("chào")
	c.tap("🏡 Xã A")
	c.tap("🏠 Xóm 1")
}

func TestFirstContact(t *testing.T) {
	c := newConv(t)
	res := c.text("alo")
	check(t, "replies", []string{"common.welcome{Period=common.retention_months{Count=12}}", "common.choose_commune"}, texts(res))
	// Only communes valid today, in display order, then the language button.
	check(t, "buttons", []string{"🏡 Xã A", "🏡 Xã B", "common.btn.english"}, labels(c.lastButtons()))
	check(t, "lang", "vi", c.s.Lang)

	c.tap("common.btn.english")
	check(t, "lang after English", "en", c.s.Lang)
	c.tap("🏡 Xã A")
	// Hamlets in natural order, unassigned not listed by name, then "not listed" and back.
	check(t, "hamlets", []string{"🏠 Xóm 1", "🏠 Xóm 2", "🏠 Xóm 10", "common.btn.not_listed", "common.btn.back"}, labels(c.lastButtons()))
	res = c.tap("🏠 Xóm 2")
	check(t, "after hamlet", []string{"common.hamlet_set{Commune=Xã A,Hamlet=Xóm 2}", "common.menu"}, texts(res))
	check(t, "menu", []string{"demo.title", "other.title", "loop.title", "common.btn.human", "common.btn.change_hamlet"}, labels(c.lastButtons()))
	check(t, "hamlet", "a-2", c.s.Hamlet)
}

func TestFirstContactLangHint(t *testing.T) {
	c := newConv(t)
	c.send(flows.Input{Kind: flows.InputText, Text: "hi", Lang: "en", Name: "Lan"})
	check(t, "lang", "en", c.s.Lang)
	check(t, "name", "Lan", c.s.Name)
}

func TestNotListedFilesUnderUnassigned(t *testing.T) {
	c := newConv(t)
	c.text("hello")
	c.tap("🏡 Xã B")
	res := c.tap("common.btn.not_listed")
	// Asked to type the name first; "skip" files them as before.
	check(t, "asked the name", []string{"common.type_hamlet{Commune=Xã B}"}, texts(res))
	res = c.tap("common.btn.skip_name")
	check(t, "hamlet", "b-none", c.s.Hamlet)
	check(t, "first reply", "common.hamlet_unassigned{Commune=Xã B,Hamlet=Chưa xếp}", texts(res)[0])
}

func TestTypedAreaNames(t *testing.T) {
	c := newConv(t)
	c.text("xin chao")
	c.text("xa a") // without diacritics
	check(t, "stage", flows.StageHamlet, c.s.Stage)
	c.text("NÀ LƯU") // an alias, in capitals
	check(t, "hamlet", "a-10", c.s.Hamlet)
}

func TestDeepLink(t *testing.T) {
	t.Run("new resident", func(t *testing.T) {
		c := newConv(t)
		res := c.cmd("start", "h_b-1")
		check(t, "replies", []string{"common.welcome{Period=common.retention_months{Count=12}}", "common.hamlet_set{Commune=Xã B,Hamlet=Bản Một}", "common.menu"}, texts(res))
		check(t, "hamlet", "b-1", c.s.Hamlet)
	})
	t.Run("unknown payload is a plain start", func(t *testing.T) {
		c := newConv(t)
		res := c.cmd("start", "ref_AbC-123_x")
		check(t, "replies", []string{"common.welcome{Period=common.retention_months{Count=12}}", "common.choose_commune"}, texts(res))
		c2 := newConv(t)
		c2.cmd("start", "h_nope")
		check(t, "stage", flows.StageCommune, c2.s.Stage)
	})
	t.Run("moving asks first", func(t *testing.T) {
		c := newConv(t)
		onboard(c)
		c.tap("demo.title")
		res := c.cmd("start", "h_b-1")
		check(t, "ask", []string{"common.move_ask{Hamlet=Xóm 1,NewCommune=Xã B,NewHamlet=Bản Một}"}, texts(res))
		check(t, "not moved yet", "a-1", c.s.Hamlet)
		res = c.tap("common.btn.move_yes")
		check(t, "moved", "b-1", c.s.Hamlet)
		// The open flow, and its start, leave the old hamlet for the new one.
		check(t, "effects", []string{"left:demo@a-1(move)", "started:demo@b-1(move)", "unfiled:@a-1", "filed:@b-1"}, kinds(res))
		check(t, "flow continues", flows.StageFlow, c.s.Stage)
	})
	t.Run("staying keeps the hamlet", func(t *testing.T) {
		c := newConv(t)
		onboard(c)
		c.cmd("start", "h_b-1")
		c.tap("common.btn.move_no")
		check(t, "hamlet", "a-1", c.s.Hamlet)
		check(t, "stage", flows.StageMenu, c.s.Stage)
	})
}

func TestWholeFlow(t *testing.T) {
	c := newConv(t)
	onboard(c)
	res := c.tap("demo.title")
	check(t, "start", []string{"started:demo@a-1"}, kinds(res))
	// Three choices and ↩ make four: no room for ❓ (flows.MaxButtons).
	check(t, "choice buttons + back", []string{"demo.btn.android", "demo.btn.iphone", "demo.btn.notme", "common.btn.back"}, labels(c.lastButtons()))
	res = c.text("2") // a number picks the n-th button
	check(t, "info then checkpoint", []string{"demo.why", "demo.install"}, texts(res))
	check(t, "checkpoint buttons", []string{"common.btn.done", "common.btn.stuck", "common.btn.skip", "common.btn.back"}, labels(c.lastButtons()))
	res = c.text("  Đã XONG rồi!! ")
	check(t, "question", []string{"demo.ask"}, texts(res))
	res = c.text("0912 345 678")
	check(t, "external", []string{"demo.scan"}, texts(res))
	check(t, "saved", "0912345678", c.s.Active.Vars["phone"])
	res = c.text("123456") // an OTP at the external step: warned, never sent to the checker
	if res.Check != nil || !res.Sensitive {
		t.Fatalf("an OTP went to the checker: %+v", res)
	}
	res = c.text("00020101021138570010A00000072701270006970416011312345678900208QRIBFTTA53037045802VN6304ABCD")
	if res.Check == nil || res.Check.Checker != "qr" {
		t.Fatalf("want a check request for qr, got %+v", res.Check)
	}
	res = c.send(flows.Input{Kind: flows.InputCheck, Data: "ok"})
	check(t, "end", []string{"demo.end", "common.menu_again"}, texts(res))
	check(t, "completed", []string{"completed:demo@a-1"}, kinds(res))
	if _, ok := c.s.Done["demo"]; !ok || c.s.Active != nil {
		t.Errorf("flow not finished: done=%v active=%v", c.s.Done, c.s.Active)
	}
}

func TestFreeTextAsVillagersTypeIt(t *testing.T) {
	for _, tc := range []struct {
		typed string
		want  string // step after
	}{
		{"xong", "ask"}, {"xong roi", "ask"}, {"Đã xong", "ask"}, {"ĐÃ XONG", "ask"},
		{"Đa\u0303 xong", "ask"}, // NFD
		{"ok", "ask"}, {"được rồi", "ask"}, {"xong\u200b", "ask"}, {"  xong   roi  ", "ask"},
		{"✅ Xong rồi", "ask"}, // the label typed (fake labels are ids, so this is the word)
		// "Stuck" words open ❓'s screen; the resident stays at the step.
		{"chưa", "install"}, {"chua duoc", "install"}, {"lỗi", "install"}, {"không được", "install"},
		{"bỏ qua", "scan"}, {"3", "scan"}, {"1", "ask"},
	} {
		t.Run(tc.typed, func(t *testing.T) {
			c := newConv(t)
			onboard(c)
			c.tap("demo.title")
			c.tap("demo.btn.android")
			c.text(tc.typed)
			check(t, "step", tc.want, c.s.Active.Step)
		})
	}
}

func TestLabelTypedPicksIt(t *testing.T) {
	c := newConv(t)
	onboard(c)
	c.tap("demo.title")
	c.text("Demo.Btn.Iphone") // any case
	check(t, "step", "install", c.s.Active.Step)
}

func TestAnythingElseAsksForAButton(t *testing.T) {
	c := newConv(t)
	onboard(c)
	c.tap("demo.title")
	res := c.text("con mèo")
	check(t, "replies", []string{"common.tap_button", "demo.phone"}, texts(res))
	res = c.text("9") // out of range
	check(t, "replies", []string{"common.tap_button", "demo.phone"}, texts(res))
	res = c.text("hmm")
	// The third failure offers a person instead of the same words again:
	// ❓'s screen, whose 🙋 is one tap away.
	check(t, "replies", []string{"common.offer_human"}, texts(res))
	check(t, "offer", []string{"common.btn.retry", "common.btn.human"}, labels(c.lastButtons()))
	check(t, "still there", "phone", c.s.Active.Step)
}

// TestActivityRefreshedHourly: a step refreshes the hamlet's record of the
// resident's activity when the last one is an hour old, not on every tap.
func TestActivityRefreshedHourly(t *testing.T) {
	c := newConv(t)
	onboard(c)
	res := c.tap("demo.title")
	check(t, "start", []string{"started:demo@a-1"}, kinds(res))
	c.now = c.now.Add(50 * time.Minute) // each turn adds a minute too
	res = c.tap("demo.btn.android")
	check(t, "within the hour", []string(nil), kinds(res))
	c.now = c.now.Add(61 * time.Minute)
	c.tap("common.btn.stuck")
	res = c.tap("common.btn.other_way")
	check(t, "an hour later", []string{"activity:demo@a-1"}, kinds(res))
}

// TestStuckOffersWaysOut: ❓ tells no one yet; it offers the step again,
// the step's other way, or a person, and only the person files a request.
func TestStuckOffersWaysOut(t *testing.T) {
	c := newConv(t)
	onboard(c)
	c.tap("demo.title")
	c.tap("demo.btn.android")
	res := c.tap("common.btn.stuck")
	check(t, "effects", []string(nil), kinds(res))
	check(t, "replies", []string{"common.stuck_ask"}, texts(res))
	check(t, "ways out", []string{"common.btn.retry", "common.btn.other_way", "common.btn.human"}, labels(c.lastButtons()))
	check(t, "still there", "install", c.s.Active.Step)

	res = c.tap("common.btn.retry")
	check(t, "again", []string{"demo.install"}, texts(res))
	check(t, "still there", "install", c.s.Active.Step)

	c.tap("common.btn.stuck")
	res = c.tap("common.btn.human")
	check(t, "human", []string{"help:demo@a-1"}, kinds(res))
	if e := res.Effects[0]; e.Step != "install" {
		t.Errorf("help step = %q, want install", e.Step)
	}
	check(t, "human replies", []string{"common.human_recorded", "demo.install"}, texts(res))

	c.tap("common.btn.stuck")
	res = c.tap("common.btn.other_way")
	check(t, "other way", []string{"demo.install_help"}, texts(res))
	check(t, "no request", []string(nil), kinds(res))
	// install_help has no other way: ❓ there offers again or a person.
	c.tap("common.btn.stuck")
	check(t, "no other way", []string{"common.btn.retry", "common.btn.human"}, labels(c.lastButtons()))
}

// TestMoreShowsTheBackground: ℹ️ shows the step's background with the
// step's other buttons, which still work.
func TestMoreShowsTheBackground(t *testing.T) {
	c := newConv(t)
	onboard(c)
	c.tap("demo.title")
	c.tap("demo.btn.android")
	c.tap("common.btn.stuck")
	c.tap("common.btn.other_way")
	check(t, "buttons", []string{"common.btn.done", "common.btn.stuck", "common.btn.more", "common.btn.back"}, labels(c.lastButtons()))
	res := c.tap("common.btn.more")
	check(t, "more", []string{"demo.install_more"}, texts(res))
	check(t, "its buttons", []string{"common.btn.done", "common.btn.stuck", "common.btn.back"}, labels(c.lastButtons()))
	res = c.tap("common.btn.done")
	check(t, "done from it", []string{"demo.ask"}, texts(res))
}

// TestNoSkipWithoutSkipTarget: ⏭ is shown, and "bỏ qua" understood, only
// on a step the content makes optional.
func TestNoSkipWithoutSkipTarget(t *testing.T) {
	c := newConv(t)
	onboard(c)
	c.tap("other.title")
	check(t, "buttons", []string{"common.btn.done", "common.btn.stuck", "common.btn.back"}, labels(c.lastButtons()))
	res := c.text("bỏ qua")
	check(t, "not skipped", "one", c.s.Active.Step)
	check(t, "asked for a button", "common.tap_button", texts(res)[0])
}

func TestQuestionValidation(t *testing.T) {
	c := newConv(t)
	onboard(c)
	c.tap("demo.title")
	c.tap("demo.btn.android")
	c.tap("common.btn.done")
	res := c.text("abc")
	check(t, "bad 1", []string{"common.invalid.phone{Commune=Xã A,Hamlet=Xóm 1}", "demo.ask"}, texts(res))
	c.text("12")
	res = c.text("xyz")
	check(t, "bad 3 offers a human", []string{"common.offer_human"}, texts(res))
	res = c.text("không biết")
	check(t, "a plea asks a person at once", []string{"common.human_recorded", "demo.ask"}, texts(res))
	c.text("+84 912 345 678")
	check(t, "saved", "0912345678", c.s.Active.Vars["phone"])
}

func TestMenuPausesAndResumes(t *testing.T) {
	c := newConv(t)
	onboard(c)
	c.tap("demo.title")
	c.tap("demo.btn.android")
	c.text("menu")
	check(t, "paused", 1, len(c.s.Paused))
	check(t, "menu", []string{"common.btn.resume{Flow=demo.title}", "other.title", "loop.title", "common.btn.human", "common.btn.change_hamlet"}, labels(c.lastButtons()))
	// Switching to another flow keeps the first paused.
	c.tap("other.title")
	check(t, "active", "other", c.s.Active.Flow)
	c.cmd("menu", "")
	check(t, "two paused, newest first", []string{"other", "demo"}, []string{c.s.Paused[0].Flow, c.s.Paused[1].Flow})
	res := c.tap("common.btn.resume{Flow=demo.title}")
	check(t, "resumed at the same step", []string{"demo.install"}, texts(res))
	check(t, "step", "install", c.s.Active.Step)
}

func TestBack(t *testing.T) {
	c := newConv(t)
	onboard(c)
	c.tap("demo.title")
	c.tap("demo.btn.android")
	c.tap("common.btn.done")
	c.text("quay lại")
	check(t, "back to checkpoint", "install", c.s.Active.Step)
	c.cmd("back", "")
	check(t, "back to choice", "phone", c.s.Active.Step)
	c.cmd("back", "")
	check(t, "back at start goes to the menu", flows.StageMenu, c.s.Stage)
	check(t, "flow kept", 1, len(c.s.Paused))
}

func TestCancel(t *testing.T) {
	c := newConv(t)
	onboard(c)
	c.tap("demo.title")
	res := c.text("hủy")
	check(t, "effects", []string{"left:demo@a-1(cancel)"}, kinds(res))
	check(t, "replies", []string{"common.cancelled{Flow=demo.title}", "common.menu"}, texts(res))
	if c.s.Active != nil || len(c.s.Paused) != 0 {
		t.Errorf("flow still open: %+v %+v", c.s.Active, c.s.Paused)
	}
}

// convAtAScreen is a resident at the demo guide's first question, and the
// data of its first button.
func convAtAScreen(t *testing.T) (*conv, string) {
	t.Helper()
	c := newConv(t)
	onboard(c)
	c.tap("demo.title")
	return c, c.lastButtons()[0].Data
}

// convPastAScreen is convAtAScreen one screen later: old is then a button
// of an earlier screen.
func convPastAScreen(t *testing.T) (c *conv, old string) {
	t.Helper()
	c, old = convAtAScreen(t)
	c.tap("demo.btn.android")
	return c, old
}

func TestStaleButton(t *testing.T) {
	c, old := convPastAScreen(t)
	res := c.send(flows.Input{Kind: flows.InputChoice, Data: old})
	check(t, "replies", []string{"common.stale_button", "demo.install"}, texts(res))
	check(t, "step unchanged", "install", c.s.Active.Step)
	check(t, "stale", true, res.Stale)
	if res := c.send(flows.Input{Kind: flows.InputChoice, Data: c.lastButtons()[0].Data}); res.Stale {
		t.Error("a tap on the current screen is marked stale")
	}
}

// A second tap on the screen a tap has just replaced is a double tap:
// nothing changes and nothing is said. The window is counted from the
// first tap (more taps do not slide it), in whole seconds; later, it is a
// tap on an old button.
func TestDoubleTapIsIgnored(t *testing.T) {
	c := newConv(t)
	onboard(c)
	c.tap("demo.title")
	phone := c.lastButtons()
	first := flowstest.T0.Add(24*time.Hour + 900*time.Millisecond) // x.9 s
	c.now = first
	c.send(flows.Input{Kind: flows.InputChoice, Data: phone[0].Data}) // android
	step := c.s.Active.Step
	for _, after := range []time.Duration{2200 * time.Millisecond, 3 * time.Second} {
		c.now = first.Add(after)
		res := c.send(flows.Input{Kind: flows.InputChoice, Data: phone[0].Data})
		if len(res.Replies) != 0 || res.Stale || res.LostWrite || c.s.Active.Step != step || c.s.OldTaps != 0 {
			t.Fatalf("a tap on the screen just replaced, %v after the first: replies %v, stale %v, step %q (want none, false, %q)",
				after, texts(res), res.Stale, c.s.Active.Step, step)
		}
	}
	c.now = first.Add(4500 * time.Millisecond)
	res := c.send(flows.Input{Kind: flows.InputChoice, Data: phone[0].Data})
	check(t, "a tap on the replaced screen 4.5 s after the first", []string{"common.stale_button", "demo.install"}, texts(res))
}

// A tap on an old button draws the current screen again with the same
// buttons, data included: the copy the resident is looking at, and the
// one on its way, both stay current (numbered anew, the first would go old
// as the second arrives, and a resident tapping a second after each screen
// at Telegram's pace would tap old buttons for ever).
func TestOldTapKeepsTheCurrentButtons(t *testing.T) {
	c, old := convPastAScreen(t)
	current := c.lastButtons()
	res := c.send(flows.Input{Kind: flows.InputChoice, Data: old})
	check(t, "replies", []string{"common.stale_button", "demo.install"}, texts(res))
	check(t, "the screen drawn again", current, c.lastButtons())
	res = c.send(flows.Input{Kind: flows.InputChoice, Data: current[0].Data})
	if res.Stale {
		t.Error("a tap on the copy of the current screen sent before the old tap's answer is taken for an old one")
	}
}

// A resident forgotten (/forget, retention) and met again gets keyboards
// numbered past every one they were shown: a button of an old message is
// an old button, neither a new screen's nor a lost write.
func TestOldButtonsAfterForgetting(t *testing.T) {
	c, old := convAtAScreen(t)
	c.s = flows.Session{} // forgotten
	c.now = c.now.Add(time.Hour)
	onboard(c)
	res := c.send(flows.Input{Kind: flows.InputChoice, Data: old})
	if !res.Stale || res.LostWrite {
		t.Errorf("a button from before /forget: stale %v, lost write %v; want an old button", res.Stale, res.LostWrite)
	}
	// Forged data far ahead is an old button too, and leaves the numbers
	// (the screen drawn again keeps its own).
	seq := c.s.KeyboardSeq
	res = c.send(flows.Input{Kind: flows.InputChoice, Data: "9223372036854775000.1"})
	if !res.Stale || res.LostWrite || c.s.KeyboardSeq != seq {
		t.Errorf("forged data: stale %v, lost write %v, keyboards %d → %d", res.Stale, res.LostWrite, seq, c.s.KeyboardSeq)
	}
}

// Taps on old buttons are counted in a row, and the OldTapsWarn-th says
// so once; a tap that is not stale starts the count again. A tap on a
// keyboard the session never drew tells of a lost write.
func TestOldTapsInARowAndLostWrites(t *testing.T) {
	c, old := convPastAScreen(t)
	for i := 1; i <= flows.OldTapsWarn+1; i++ {
		res := c.send(flows.Input{Kind: flows.InputChoice, Data: old})
		if !res.Stale || res.LostWrite || res.OldTaps != (i == flows.OldTapsWarn) {
			t.Errorf("old tap %d: stale %v, lost write %v, old taps %v", i, res.Stale, res.LostWrite, res.OldTaps)
		}
	}
	c.tap("common.btn.done")
	if c.s.OldTaps != 0 {
		t.Errorf("after a good tap, %d old taps in a row are kept", c.s.OldTaps)
	}
	newer := strconv.Itoa(c.s.KeyboardSeq+1) + ".1" // the next keyboard, drawn by a forgotten write
	res := c.send(flows.Input{Kind: flows.InputChoice, Data: newer})
	if !res.Stale || !res.LostWrite {
		t.Errorf("a tap on keyboard %s of a session at %d: stale %v, lost write %v", newer, c.s.KeyboardSeq, res.Stale, res.LostWrite)
	}
	// The screen drawn again is numbered past the forgotten ones: their
	// buttons stay old, never the new screen's.
	res = c.send(flows.Input{Kind: flows.InputChoice, Data: newer})
	if !res.Stale || res.LostWrite {
		t.Errorf("a second tap on the forgotten keyboard %s: stale %v, lost write %v; want an old button", newer, res.Stale, res.LostWrite)
	}
}

func TestSensitiveInputIsWarnedAndNotKept(t *testing.T) {
	c := newConv(t)
	onboard(c)
	c.tap("demo.title")
	c.tap("demo.btn.android")
	c.tap("common.btn.done") // now at a free-text question
	for _, secret := range []string{"123456", "mã OTP 8 8 1 2 3 4", "001234567890", "4111 1111 1111 1111", "mật khẩu là Abc@2024"} {
		res := c.text(secret)
		if !res.Sensitive {
			t.Errorf("%q: not flagged", secret)
		}
		check(t, secret, []string{"common.sensitive", "demo.ask"}, texts(res))
		if len(c.s.Active.Vars) != 0 {
			t.Errorf("%q: stored in vars %v", secret, c.s.Active.Vars)
		}
	}
}

func TestCommandsAnywhere(t *testing.T) {
	c := newConv(t)
	onboard(c)
	c.tap("demo.title")
	res := c.text("trợ giúp")
	check(t, "help", []string{"common.help", "demo.phone"}, texts(res))
	res = c.cmd("progress", "")
	check(t, "progress", "common.progress{List=common.progress_open{Date=20/11/2026,Flow=demo.title}}", texts(res)[0])
	c.cmd("lang", "")
	res = c.tap("common.btn.english")
	check(t, "lang", "en", c.s.Lang)
	check(t, "back in the flow", []string{"common.lang_set", "demo.phone"}, texts(res))
	res = c.cmd("nonsense", "")
	check(t, "unknown", []string{"common.unknown_command", "common.help", "demo.phone"}, texts(res))
}

func TestForget(t *testing.T) {
	c := newConv(t)
	onboard(c)
	c.cmd("forget", "")
	res := c.tap("common.btn.forget_yes")
	if !res.Forget {
		t.Fatal("forget not requested")
	}
	check(t, "session cleared", flows.Session{Lang: "vi", KeyboardSeq: 0}, flows.Session{Lang: c.s.Lang, KeyboardSeq: 0, Hamlet: c.s.Hamlet})
	res = c.text("hi")
	check(t, "greeted again", "common.welcome{Period=common.retention_months{Count=12}}", texts(res)[0])
}

func TestExpiry(t *testing.T) {
	c := newConv(t)
	onboard(c)
	c.tap("demo.title")
	c.tap("demo.btn.android")
	c.now = c.now.Add(31 * 24 * time.Hour)
	res := c.text("xong")
	check(t, "effects", []string{"left:demo@a-1(expired)"}, kinds(res))
	check(t, "first reply", "common.flow_expired", texts(res)[0])
	if c.s.Active != nil {
		t.Errorf("position kept: %+v", c.s.Active)
	}
	// Three weeks is within SESSION_EXPIRY: the resident continues.
	c2 := newConv(t)
	onboard(c2)
	c2.tap("demo.title")
	c2.tap("demo.btn.android")
	c2.now = c2.now.Add(21 * 24 * time.Hour)
	c2.text("xong")
	check(t, "continued", "ask", c2.s.Active.Step)
}

func TestContentChangedUnderResident(t *testing.T) {
	c := newConv(t)
	onboard(c)
	c.tap("demo.title")
	c.s.Active.Step = "removed-step"
	res := c.text("xong")
	check(t, "replies", []string{"common.content_changed", "demo.phone"}, texts(res))
	check(t, "restarted", "phone", c.s.Active.Step)
	// A flow removed altogether sends the resident to the menu.
	c.s.Active.Flow = "gone"
	res = c.text("1")
	check(t, "gone", "common.flow_gone", texts(res)[0])
	if c.s.Active != nil {
		t.Error("run kept for a missing flow")
	}
}

func TestStepBudget(t *testing.T) {
	c := newConv(t)
	onboard(c)
	_, err := c.e.Handle(c.s, flows.Input{Kind: flows.InputChoice, Data: c.lastButtons()[2].Data}, c.now)
	if !errors.Is(err, flows.ErrStepBudget) {
		t.Fatalf("err = %v, want ErrStepBudget", err)
	}
}

func TestEngineDoesNotModifyItsInput(t *testing.T) {
	c := newConv(t)
	onboard(c)
	c.tap("demo.title")
	before := c.s.Clone()
	if _, err := c.e.Handle(c.s, flows.Input{Kind: flows.InputText, Text: "1"}, c.now); err != nil {
		t.Fatal(err)
	}
	check(t, "session", before, c.s)
}

func TestPhotoAndContact(t *testing.T) {
	c := newConv(t)
	onboard(c)
	res := c.send(flows.Input{Kind: flows.InputContact, Text: "0912345678"})
	check(t, "contact", "common.contact_ignored", texts(res)[0])
	res = c.send(flows.Input{Kind: flows.InputPhoto, Photo: "file-1"})
	check(t, "photo", "common.photo_unexpected", texts(res)[0])
	// In a guide, at a step that asks for none: the way to a person.
	c.tap("demo.title")
	c.tap("demo.btn.android")
	res = c.send(flows.Input{Kind: flows.InputPhoto, Photo: "file-2"})
	check(t, "photo in a guide", []string{"common.photo_unexpected"}, texts(res))
	check(t, "ways out", []string{"common.btn.retry", "common.btn.other_way", "common.btn.human"}, labels(c.lastButtons()))
}

func TestExternalStepButtons(t *testing.T) {
	c := newConv(t)
	onboard(c)
	c.tap("demo.title")
	c.tap("demo.btn.android")
	res := c.tap("common.btn.skip")
	check(t, "external keyboard", []string{"demo.btn.skip_check", "common.btn.stuck", "common.btn.back"}, labels(c.lastButtons()))
	check(t, "at scan", []string{"demo.scan"}, texts(res))
	// Tapping a button is not an input for the checker.
	res = c.tap("demo.btn.skip_check")
	if res.Check != nil {
		t.Fatal("a button tap was sent to the checker")
	}
	check(t, "skipped to the end", []string{"demo.end", "common.menu_again"}, texts(res))
	// Typing the button's number picks it too.
	c.tap("demo.title")
	c.tap("demo.btn.android")
	c.tap("common.btn.skip")
	res = c.text("1")
	if res.Check != nil {
		t.Error("a typed button number was sent to the checker")
	}
}

// wordsLoc renders a few ids as real words, the rest as their ids.
type wordsLoc map[string]string

func (w wordsLoc) Localize(lang, id string, data map[string]any) (string, error) {
	if s, ok := w[id]; ok {
		return s, nil
	}
	return flowstest.Loc{}.Localize(lang, id, data)
}

func TestTypedWordsAtAChoice(t *testing.T) {
	for _, tc := range []struct {
		typed, step string
		help        bool
	}{
		{"không", "phone", false},      // no button starts with it: asked to tap, no help request
		{"lỗi", "phone", false},        // likewise
		{"iphone", "install", false},   // the first word of one label
		{"Điện", "phone", false},       // starts two labels: ambiguous
		{"điện thoại", "phone", false}, // still two
		{"điện thoại android", "install", false},
	} {
		t.Run(tc.typed, func(t *testing.T) {
			c := newConv(t)
			c.e.Loc = wordsLoc{"demo.btn.android": "🤖 Điện thoại Android", "demo.btn.iphone": "🍎 iPhone của Apple", "demo.btn.notme": "👤 Điện thoại khác"}
			onboard(c)
			c.tap("demo.title")
			res := c.text(tc.typed)
			check(t, "step", tc.step, c.s.Active.Step)
			for _, e := range res.Effects {
				if e.Kind == flows.EffectHelp {
					t.Errorf("%q filed a help request", tc.typed)
				}
			}
		})
	}
}

func TestLeaveTarget(t *testing.T) {
	c := newConv(t)
	onboard(c)
	c.tap("demo.title")
	res := c.tap("demo.btn.notme")
	check(t, "effects", []string{"left:demo@a-1(cancel)"}, kinds(res))
	check(t, "menu", []string{"common.menu"}, texts(res))
	if c.s.Active != nil || len(c.s.Paused) != 0 || len(c.s.Done) != 0 {
		t.Errorf("flow not left cleanly: %+v", c.s)
	}
}

func TestCheckQRCommand(t *testing.T) {
	c := newConv(t)
	onboard(c)
	res := c.cmd("checkqr", "")
	check(t, "ask", []string{"common.checkqr_ask"}, texts(res))
	res = c.text("00020101021138570010A00000072701270006970416011312345678900208QRIBFTTA53037045802VN6304ABCD")
	if res.Check == nil || res.Check.Checker != flows.QRChecker {
		t.Fatalf("no check request: %+v", res.Check)
	}
	res = c.text("482913") // an OTP is not sent to the checker
	if res.Check != nil || !res.Sensitive {
		t.Fatal("an OTP was sent to the QR checker")
	}
	res = c.send(flows.Input{Kind: flows.InputPhoto, Photo: "file-1"})
	if res.Check == nil || res.Check.Input.Photo != "file-1" {
		t.Fatal("a photo was not sent to the checker")
	}
	res = c.send(flows.Input{Kind: flows.InputCheck, Data: "valid"})
	check(t, "compare, again", []string{"qr.compare_name", "common.checkqr_again"}, texts(res))
	c.send(flows.Input{Kind: flows.InputPhoto, Photo: "file-2"})
	res = c.send(flows.Input{Kind: flows.InputCheck, Data: "not_payment"})
	check(t, "no payee, nothing to compare", []string{"common.checkqr_again"}, texts(res))
	c.send(flows.Input{Kind: flows.InputPhoto, Photo: "file-3"})
	res = c.send(flows.Input{Kind: flows.InputCheck, Data: "invalid"})
	check(t, "'do not pay': nothing to compare", []string{"common.checkqr_again"}, texts(res))
	res = c.text("menu")
	check(t, "back to the menu", "common.menu", texts(res)[len(texts(res))-1])
}

// At a step whose screen asks for a login (Secret), a lone word that may be
// the password is warned about and kept nowhere; elsewhere it is only a
// word the bot does not understand. The resident's "xong" still works.
func TestPasswordAtALoginStep(t *testing.T) {
	for _, secret := range []bool{true, false} {
		fs := flowstest.DemoFlows()
		fs[1].Steps[0].Secret = secret // other.one: "log in to the app"
		lib, err := flows.NewLibrary(fs...)
		if err != nil {
			t.Fatal(err)
		}
		c := newConv(t)
		c.e.Library = lib
		onboard(c)
		c.tap("other.title")
		for _, typed := range []string{"hoamai99", "matkhau123", "Hoamai"} {
			if res := c.text(typed); res.Sensitive != (secret || flows.Sensitive(typed)) {
				t.Errorf("secret step %v: %q flagged %v", secret, typed, res.Sensitive)
			}
		}
		check(t, "done still works", []string{"other.fin", "common.menu_again"}, texts(c.text("xong")))
	}
}

// A pasted web link is not a secret: at /checkqr it goes to the checker
// (which warns about links), even with a year or an id in it.
func TestPastedLinkIsCheckedNotHidden(t *testing.T) {
	c := newConv(t)
	onboard(c)
	c.cmd("checkqr", "")
	res := c.text("https://tracuu-hocphi.example.vn/2025/hoa-don?id=48392017")
	if res.Sensitive || res.Check == nil || res.Check.Checker != flows.QRChecker {
		t.Fatalf("a pasted link: sensitive %v, check %+v", res.Sensitive, res.Check)
	}
}

// Where the resident lives, written for their helper, goes through the
// same filter: a password in it is warned about and not passed on.
func TestNoteWithASecretIsNotPassedOn(t *testing.T) {
	c := newConv(t)
	onboard(c)
	c.s.Stage, c.s.NoteFor = flows.StageNote, "h1"
	res := c.text("Xóm 3, mk: hoamai99")
	if !res.Sensitive || res.Staff != nil {
		t.Fatalf("a note with a password: sensitive %v, staff %+v", res.Sensitive, res.Staff)
	}
	c.s.Stage, c.s.NoteFor = flows.StageNote, "h1"
	res = c.text("Nhà 12, xóm 3, gần trường; số em 0912345678")
	if res.Sensitive || res.Staff == nil {
		t.Fatalf("a plain note: sensitive %v, staff %+v", res.Sensitive, res.Staff)
	}
}

func TestStopReminders(t *testing.T) {
	c := newConv(t)
	onboard(c)
	c.text("dừng")
	res := c.tap("common.btn.stop_yes")
	check(t, "stopped", "common.stopped", texts(res)[0])
	if !c.s.NoReminders {
		t.Fatal("reminders not stopped")
	}
	res = c.cmd("start", "")
	check(t, "back on", "common.reminders_on", texts(res)[0])
	if c.s.NoReminders {
		t.Error("reminders still stopped after /start")
	}
}

// A private label (a resident's name on a team member's button) is shown,
// but the session keeps the button without it; the button still works by
// its data and its number.
func TestPrivateLabelIsShownNotKept(t *testing.T) {
	var s flows.Session
	shown := flows.SetKeyboard(&s, []flows.Choice{
		{Label: "✉️ Nhắn cho Lan", Action: "staff:msg:1", Private: true},
		{Label: "↩ Quay lại", Action: "menu"},
	})
	check(t, "shown", []string{"✉️ Nhắn cho Lan", "↩ Quay lại"}, []string{shown[0].Label, shown[1].Label})
	check(t, "kept", []string{"", "↩ Quay lại"}, []string{s.Keyboard[0].Label, s.Keyboard[1].Label})
	check(t, "kept action and data", []string{"staff:msg:1", shown[0].Data}, []string{s.Keyboard[0].Action, s.Keyboard[0].Data})
}

// /menu always works: the old-button answer says so (common.stale_button),
// so no stage may take it for something else.
func TestMenuCommandWorksFromEveryStage(t *testing.T) {
	for _, st := range []flows.Stage{flows.StageHamlet, flows.StageMove, flows.StageMenu, flows.StageLang, flows.StageFlow,
		flows.StageForget, flows.StageStop, flows.StageStaff, flows.StageCompose, flows.StageNote, flows.StageCheckQR, flows.StagePayee} {
		c := newConv(t)
		onboard(c)
		c.tap("demo.title")
		c.s.Stage = st
		if st != flows.StageFlow {
			c.s.Active = nil
		}
		c.s.Compose, c.s.NoteFor, c.s.PendingHamlet, c.s.PayeeArea = "r1", "r1", "x-2", "x-1"
		res := c.cmd("menu", "")
		got := texts(res)
		if len(got) == 0 || !strings.HasPrefix(got[len(got)-1], "common.menu") || c.s.Stage != flows.StageMenu {
			t.Errorf("/menu at stage %q: %v, stage %q", st, got, c.s.Stage)
		}
	}
}

// A returning resident who greets the bot is told where they stopped and
// shown that screen; a voice note or a sticker is answered plainly, with
// the way to a person (❓'s screen), not "tap a button".
func TestGreetingAndUnreadableMessages(t *testing.T) {
	c := newConv(t)
	onboard(c)
	res := c.text("xin chào")
	check(t, "a greeting at the menu", "common.hello", texts(res)[0])
	c.tap("demo.title")
	c.tap("demo.btn.android")
	step := texts(c.res)[len(c.res.Replies)-1]
	res = c.text("Xin chao bác")
	check(t, "a greeting in a guide", []string{"common.hello_again{Flow=demo.title}", step}, texts(res))
	res = c.send(flows.Input{Kind: flows.InputOther})
	check(t, "a voice note", []string{"common.other_unexpected"}, texts(res))
	if !slices.ContainsFunc(c.lastButtons(), func(b flows.Choice) bool { return b.Label == "common.btn.human" }) {
		t.Errorf("no way to a person after a voice note: %v", labels(c.lastButtons()))
	}
}

// TestFlowLimitedToAreas: a flow with areas is listed, and started, only
// for residents living under one of them.
func TestFlowLimitedToAreas(t *testing.T) {
	fl := flowstest.DemoFlows()
	fl[1].Areas = []string{"xa-b"} // "other": Xã B only
	lib, err := flows.NewLibrary(fl...)
	if err != nil {
		t.Fatal(err)
	}
	c := newConv(t)
	c.e.Library = lib
	onboard(c) // Xóm 1, Xã A
	if slices.Contains(labels(c.lastButtons()), "other.title") {
		t.Errorf("Xã A's menu lists Xã B's guide: %v", labels(c.lastButtons()))
	}
	res := c.send(flows.Input{Kind: flows.InputChoice, Data: flows.ResumePrefix + "other"})
	check(t, "refused", "common.flow_not_here{Flow=other.title}", texts(res)[0])
	if c.s.Active != nil {
		t.Errorf("started: %+v", c.s.Active)
	}

	b := newConv(t)
	b.e.Library = lib
	b.text("chào")
	b.tap("🏡 Xã B")
	b.tap("🏠 Bản Một")
	if !slices.Contains(labels(b.lastButtons()), "other.title") {
		t.Fatalf("Xã B's menu lacks its guide: %v", labels(b.lastButtons()))
	}
	b.tap("other.title")
	check(t, "started", "one", b.s.Active.Step)
}

// TestUrgentStepNeverSaysNoProblem: at a step for a resident who may just
// have been scammed, nothing answers "không sao ạ… thử lại": not typed
// words, not a photo, not a plea, which files an urgent request again.
func TestUrgentStepNeverSaysNoProblem(t *testing.T) {
	fl := flowstest.DemoFlows()
	fl[1].Steps = []flows.Step{
		{ID: "one", Type: flows.StepCheckpoint, Say: "other.one", Next: "fin", Stuck: "alarm"},
		{ID: "alarm", Type: flows.StepCheckpoint, Say: "other.alarm", Next: "fin", Urgent: true},
		{ID: "fin", Type: flows.StepEnd, Say: "other.fin"},
	}
	lib, err := flows.NewLibrary(fl...)
	if err != nil {
		t.Fatal(err)
	}
	c := newConv(t)
	c.e.Library = lib
	onboard(c)
	c.tap("other.title")
	// A photo at the warning: the ways out, but no "other way" that would
	// raise the alarm without the resident asking for it.
	c.send(flows.Input{Kind: flows.InputPhoto, Photo: "f"})
	check(t, "ways out at the warning", []string{"common.btn.retry", "common.btn.human"}, labels(c.lastButtons()))
	c.tap("common.btn.retry")
	res := c.tap("common.btn.stuck")
	check(t, "❓ at the warning", []string{"other.alarm"}, texts(res))
	if len(res.Effects) != 1 || !res.Effects[0].Urgent {
		t.Fatalf("no urgent request: %+v", res.Effects)
	}
	for _, in := range []flows.Input{
		{Kind: flows.InputText, Text: "chưa được"},
		{Kind: flows.InputText, Text: "❓"},
		{Kind: flows.InputPhoto, Photo: "f"},
		{Kind: flows.InputOther},
	} {
		res := c.send(in)
		for _, r := range texts(res) {
			if r == "common.stuck_ask" || r == "common.offer_human" {
				t.Errorf("%+v at the urgent step: %v", in, texts(res))
			}
		}
		if got := texts(res); got[len(got)-1] != "other.alarm" {
			t.Errorf("%+v: the urgent step is not shown again: %v", in, got)
		}
		check(t, "still there", "alarm", c.s.Active.Step)
	}
	res = c.text("giúp tôi")
	if len(res.Effects) != 1 || res.Effects[0].Kind != flows.EffectHelp || !res.Effects[0].Urgent {
		t.Errorf("a plea at the urgent step: %+v, want an urgent request", res.Effects)
	}
}

// TestStuckWordsAtAChoice: "bị vướng" typed at a choice is ❓, even where
// the screen has no room for the button.
func TestStuckWordsAtAChoice(t *testing.T) {
	c := newConv(t)
	onboard(c)
	c.tap("demo.title") // three choices and ↩: no ❓ button
	res := c.text("bị vướng")
	check(t, "❓'s screen", []string{"common.stuck_ask"}, texts(res))
	check(t, "ways out", []string{"common.btn.retry", "common.btn.human"}, labels(c.lastButtons()))
}
