package desk_test

import (
	"strings"
	"testing"
	"time"

	"github.com/hangxomso/hangxom/desk"
	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/flows/flowstest"
)

const day = 24 * time.Hour

// newWindowWorld is a staff world with Zalo's window: "zl:" residents are
// reached for 7 days after their last message, free for the first 48 h.
func newWindowWorld(t *testing.T) *staffWorld {
	t.Helper()
	w := newStaffWorld(t)
	w.desk.Windows = []desk.Window{{Prefix: "zl:", Free: 48 * time.Hour, Open: 7 * day}}
	w.desk.KeptAlive = w.st
	return w
}

// at moves the clock to flowstest.T0 + d.
func (w *staffWorld) at(d time.Duration) { w.now = flowstest.T0.Add(d) }

// startDemo has who, named name, start the demo flow in hamlet at the
// current time: their last message is now.
func (w *staffWorld) startDemo(who, name, hamlet string) {
	w.t.Helper()
	w.send(who, flows.Input{Kind: flows.InputCommand, Command: "start", Text: "h_" + hamlet, Name: name})
	w.tap(who, "demo.title")
	flowstest.OutboxTexts(w.t, w.st, who)
}

// join makes who, named name, a team member of hamlet, invited by the
// configured coordinator tg:1, at the current time.
func (w *staffWorld) join(who, name, hamlet string) {
	w.t.Helper()
	w.send("tg:1", flows.Input{Kind: flows.InputText, Text: "chào", Name: "Điều"})
	w.send(who, flows.Input{Kind: flows.InputText, Text: "chào", Name: name})
	w.cmd(who, "join", codeIn(w.t, w.cmd("tg:1", "invite", "team "+hamlet)))
}

// pendingLineOf is the line of /pending's answer that names name.
func pendingLineOf(t *testing.T, texts []string, name string) string {
	t.Helper()
	for _, line := range strings.Split(strings.Join(texts, "\n"), "\n") {
		if strings.Contains(line, "Name="+name+",") {
			return line
		}
	}
	t.Fatalf("/pending does not name %s: %v", name, texts)
	return ""
}

func TestRemindersStayInsideZalosWindow(t *testing.T) {
	w := newWindowWorld(t) // flowstest.T0 is 16:00 in Vietnam
	w.join("tg:5", "Hoa", "a-1")
	// Silent at /remind (T0+30d): Nam on Telegram 30 days, Lan on Zalo 8
	// days, Minh 3 days, Hà 1 day.
	w.at(0)
	w.startDemo("tg:23", "Nam", "a-1")
	w.at(22 * day)
	w.startDemo("zl:20", "Lan", "a-1")
	w.at(27 * day)
	w.startDemo("zl:21", "Minh", "a-1")
	w.at(29 * day)
	w.startDemo("zl:22", "Ha", "a-1")

	w.at(30 * day)
	check(t, "/remind", []string{
		"staff.remind_done{Later=0,Now=2,Skipped=0}",
		"staff.remind_out_of_window{Count=1,Days=7}",
		"staff.remind_billed{Count=1}",
	}, w.cmd("tg:5", "remind", ""))
	for who, want := range map[string]int{"tg:23": 1, "zl:22": 1, "zl:20": 0, "zl:21": 0} {
		if got := len(w.outboxOf(who)); got != want {
			t.Errorf("%s has %d reminders, want %d", who, got, want)
		}
	}
	// Hà's reminder is not sent once her free 48 h are over, nor after 21:00.
	ha := w.outboxOf("zl:22")[0]
	if evening := time.Date(2026, 12, 20, 21, 0, 0, 0, ict); ha.NotAfter != evening.Unix() {
		t.Errorf("Hà's reminder may go until %v, want %v", time.Unix(ha.NotAfter, 0).In(ict), evening)
	}

	// /pending marks Lan, whom only a visit or a call reaches.
	got := w.cmd("tg:5", "pending", "")
	if line := pendingLineOf(t, got, "Lan"); !strings.Contains(line, "staff.mark_out_of_window{Days=7}") {
		t.Errorf("Lan is not marked out of the window: %s", line)
	}
	for _, name := range []string{"Nam", "Minh", "Ha"} {
		if line := pendingLineOf(t, got, name); strings.Contains(line, "mark_out_of_window") {
			t.Errorf("%s is marked out of the window: %s", name, line)
		}
	}

	// With ZALO_BILLED_MESSAGES, Minh is reminded too (the others were
	// reminded just now).
	w.desk.BilledMessages = true
	check(t, "/remind with billed messages", []string{
		"staff.remind_done{Later=0,Now=1,Skipped=2}",
		"staff.remind_out_of_window{Count=1,Days=7}",
	}, w.cmd("tg:5", "remind", ""))
	if rs := w.outboxOf("zl:21"); len(rs) != 1 || rs[0].Text != "common.reminder{Flow=demo.title}" {
		t.Errorf("Minh's reminder: %+v", rs)
	}
	if len(w.outboxOf("zl:20")) != 0 {
		t.Error("Lan, 8 days silent, was reminded")
	}
}

// A reminder asked for at night waits for the morning; by then the free
// part of a Zalo resident's window may be over, and it is not sent.
func TestAReminderWaitingForTheMorningChecksTheWindowAgain(t *testing.T) {
	w := newWindowWorld(t)
	w.join("tg:5", "Hoa", "a-1")
	w.startDemo("zl:20", "Lan", "a-1") // 16:00
	w.startDemo("tg:21", "Minh", "a-1")
	w.at(day + 6*time.Hour + 30*time.Minute) // 22:30 the next day: Lan silent 30.5 h
	check(t, "/remind at night", []string{"staff.remind_done{Later=2,Now=0,Skipped=0}"}, w.cmd("tg:5", "remind", ""))
	morning := flowstest.T0.Add(2*day + 15*time.Hour + time.Minute) // 07:01, Lan silent 63 h
	if n, err := w.desk.RunReminders(t.Context(), morning); err != nil || n != 1 {
		t.Fatalf("sent %d in the morning (%v), want 1: Minh's", n, err)
	}
	if len(w.outboxOf("zl:20")) != 0 || len(w.outboxOf("tg:21")) != 1 {
		t.Errorf("Lan %d, Minh %d reminders; want 0 and 1", len(w.outboxOf("zl:20")), len(w.outboxOf("tg:21")))
	}
}

func TestHelpGoesFirstToTheMembersItReaches(t *testing.T) {
	w := newWindowWorld(t)
	// a-1's team: Bình on Zalo, silent 8 days at the request; Cường on
	// Zalo, 2 days; Dũng on Telegram, 8 days. b-1's only member, Em, is on
	// Zalo and silent 8 days.
	w.join("zl:5", "Bình", "a-1")
	w.join("tg:7", "Dũng", "a-1")
	w.join("zl:8", "Em", "b-1")
	w.at(6 * day)
	w.join("zl:6", "Cường", "a-1")
	for _, who := range []string{"tg:1", "zl:5", "zl:6", "tg:7", "zl:8"} {
		flowstest.OutboxTexts(t, w.st, who)
	}

	w.at(8 * day)
	w.send("tg:20", flows.Input{Kind: flows.InputCommand, Command: "start", Text: "h_a-1", Name: "Lan"})
	w.askPerson("tg:20")
	for who, want := range map[string]int{"zl:6": 1, "tg:7": 1, "zl:5": 0, "tg:1": 0} {
		if got := len(w.outboxOf(who)); got != want {
			t.Errorf("a-1's request: %s was told %d times, want %d", who, got, want)
		}
	}
	// b-1's team cannot be reached: its coordinators are told at once.
	w.send("tg:30", flows.Input{Kind: flows.InputCommand, Command: "start", Text: "h_b-1", Name: "Nam"})
	w.askPerson("tg:30")
	if len(w.outboxOf("zl:8")) != 0 {
		t.Error("Em, out of reach, was told")
	}
	if rs := w.outboxOf("tg:1"); len(rs) != 1 || !strings.HasPrefix(rs[0].Text, "staff.help_new{") {
		t.Errorf("the coordinator was not told of b-1's request: %+v", rs)
	}
	hs, err := w.st.OpenHelps(t.Context(), "b-1")
	if err != nil || len(hs) != 1 || !hs[0].Escalated {
		t.Errorf("b-1's request is not escalated: %+v, %v", hs, err)
	}

	// /team shows who is out of reach.
	team := strings.Join(w.cmd("tg:1", "team", ""), "\n")
	for _, line := range strings.Split(team, "\n") {
		out := strings.Contains(line, "staff.mark_out_of_reach{Days=7}")
		switch {
		case strings.Contains(line, "Name=Bình") || strings.Contains(line, "Name=Em"):
			if !out {
				t.Errorf("not marked out of reach: %s", line)
			}
		case out:
			t.Errorf("marked out of reach: %s", line)
		}
	}
	if strings.Count(team, "mark_out_of_reach") != 2 {
		t.Errorf("want Bình and Em out of reach: %s", team)
	}
}

func TestKeepAliveOnceADayBeforeTheWindowCloses(t *testing.T) {
	w := newWindowWorld(t)
	w.join("zl:5", "Bình", "a-1") // 16:00: the window closes at 16:00 seven days on
	w.join("tg:7", "Dũng", "a-1") // Telegram: no window
	for _, who := range []string{"tg:1", "zl:5", "tg:7"} {
		flowstest.OutboxTexts(t, w.st, who)
	}
	keepAlive := func(at time.Duration) int {
		t.Helper()
		n, err := w.desk.KeepAlive(t.Context(), flowstest.T0.Add(at))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, tc := range []struct {
		name string
		at   time.Duration
		want int
	}{
		{"two days before", 5 * day, 0},
		{"an hour before the last day", 6*day - time.Hour, 0},
		{"the last day, after 21:00", 6*day + 5*time.Hour + 30*time.Minute, 0},
		{"the last morning", 6*day + 15*time.Hour + 30*time.Minute, 1},
		{"a minute later", 6*day + 15*time.Hour + 31*time.Minute, 0},
		{"the last afternoon", 6*day + 23*time.Hour, 0},
		{"closed", 7 * day, 0},
	} {
		if got := keepAlive(tc.at); got != tc.want {
			t.Errorf("%s: %d sent, want %d", tc.name, got, tc.want)
		}
	}
	rs := w.outboxOf("zl:5")
	if len(rs) != 1 || rs[0].Text != "staff.keepalive{Days=7}" || len(rs[0].Buttons) != 1 ||
		rs[0].Buttons[0].Label != "staff.btn.keepalive" || rs[0].NotAfter != flowstest.T0.Add(7*day).Unix() {
		t.Fatalf("the keep-alive message: %+v", rs)
	}
	if len(w.outboxOf("tg:7")) != 0 || len(w.outboxOf("tg:1")) != 0 {
		t.Error("a Telegram member was sent a keep-alive")
	}
	// The tap opens a new window, whose last day gets its own message.
	data := rs[0].Buttons[0].Data
	flowstest.OutboxTexts(t, w.st, "zl:5")
	w.at(6*day + 15*time.Hour + 40*time.Minute)
	check(t, "the tap", []string{"staff.keepalive_ok"}, w.send("zl:5", flows.Input{Kind: flows.InputChoice, Data: data}))
	if got := keepAlive(6*day + 16*time.Hour); got != 0 {
		t.Errorf("sent %d right after the tap", got)
	}
	if got := keepAlive(12*day + 16*time.Hour); got != 1 {
		t.Errorf("sent %d on the new window's last day, want 1", got)
	}
}
