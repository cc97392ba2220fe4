package desk_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/hangxomso/hangxom/desk"
	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/flows/flowstest"
	"github.com/hangxomso/hangxom/store"
)

// staffWorld is a service with a Desk on a real store (miniredis), where
// tg:1 is a province-wide coordinator from configuration.
type staffWorld struct {
	t    *testing.T
	svc  *flows.Service
	desk *desk.Desk // svc's
	st   *store.Redis
	n    int
	now  time.Time
	mini *miniredis.Miniredis
	// shown is the label each button was last shown with, by resident
	// and callback data, as their chat app shows it.
	shown map[string]map[string]string
	// last are the replies of the last input sent, documents and all.
	last []flows.Reply
}

var ict = time.FixedZone("ICT", 7*3600)

func newStaffWorld(t *testing.T) *staffWorld {
	t.Helper()
	m := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { _ = c.Close() })
	w := &staffWorld{t: t, now: flowstest.T0, mini: m, shown: map[string]map[string]string{}}
	clock := flows.ClockFunc(func() time.Time { return w.now })
	st := store.New(c, store.Options{Prefix: "desk:v1", DataKey: []byte("k"), Clock: clock})
	e := flowstest.NewEngine(t)
	d := &desk.Desk{Store: st, Areas: e.Areas, Loc: flowstest.Loc{}, Coordinators: []string{"tg:1"}, BotUsername: "hangxom_bot",
		Random: rand.NewChaCha8([32]byte{7}), FollowUp: st, Library: e.Library, WaitExpiry: 72 * time.Hour,
		PrivateFlows: []string{"other"}, Help: st, Reminders: st, Location: ict, Payees: st}
	w.svc, w.st, w.desk = &flows.Service{Engine: e, Store: st, Clock: clock, Desk: d}, st, d
	return w
}

// send handles one input for who and returns the texts sent back.
func (w *staffWorld) send(who string, in flows.Input) []string {
	w.t.Helper()
	w.n++
	in.UpdateID = "u" + strings.Repeat("x", w.n)
	if _, err := w.svc.Handle(w.t.Context(), who, in); err != nil {
		w.t.Fatal(err)
	}
	var texts []string
	w.last = flowstest.OutboxReplies(w.t, w.st, who)
	for _, r := range w.last {
		texts = append(texts, r.Text)
		for _, b := range r.Buttons {
			if w.shown[who] == nil {
				w.shown[who] = map[string]string{}
			}
			w.shown[who][b.Data] = b.Label
		}
	}
	return texts
}

func (w *staffWorld) cmd(who, name, args string) []string {
	return w.send(who, flows.Input{Kind: flows.InputCommand, Command: name, Text: args})
}

// keyboard is who's keyboard as the engine sees it: the stored session
// keeps a screen's own buttons only as a checksum.
func (w *staffWorld) keyboard(who string) []flows.Choice {
	w.t.Helper()
	s, err := w.st.Session(w.t.Context(), who)
	if err != nil {
		w.t.Fatal(err)
	}
	// A label the session does not keep (flows.Choice.Private) is the
	// one the button was shown with.
	kb := w.svc.Engine.Expand(s).Keyboard
	for i, c := range kb {
		if c.Label == "" {
			kb[i].Label = w.shown[who][c.Data]
		}
	}
	return kb
}

// tap taps the button whose label starts with label on who's keyboard.
func (w *staffWorld) tap(who, label string) []string {
	w.t.Helper()
	return w.tapFirst(who, "button "+strconv.Quote(label), func(l string) bool { return strings.HasPrefix(l, label) })
}

// askPerson asks the hamlet's team for a person the way a resident does:
// 🙋 where the screen has it (the menu), else ❓ and then 🙋 (a guide's
// step), else typed words (a choice with no room for ❓).
func (w *staffWorld) askPerson(who string) []string {
	w.t.Helper()
	has := func(label string) bool {
		return slices.ContainsFunc(w.keyboard(who), func(c flows.Choice) bool { return c.Label == label })
	}
	switch {
	case has("common.btn.human"):
		return w.tap(who, "common.btn.human")
	case has("common.btn.stuck"):
		w.tap(who, "common.btn.stuck")
		return w.tap(who, "common.btn.human")
	}
	return w.send(who, flows.Input{Kind: flows.InputText, Text: "giúp tôi"})
}

// tapFirst taps the first button on who's keyboard whose label matches.
func (w *staffWorld) tapFirst(who, what string, match func(label string) bool) []string {
	w.t.Helper()
	kb := w.keyboard(who)
	for _, c := range kb {
		if match(c.Label) {
			return w.send(who, flows.Input{Kind: flows.InputChoice, Data: c.Data})
		}
	}
	w.t.Fatalf("%s has no %s in %+v", who, what, kb)
	return nil
}

func codeIn(t *testing.T, texts []string) string {
	t.Helper()
	for _, s := range texts {
		if i := strings.Index(s, "Code="); i >= 0 {
			code := s[i+5:]
			if j := strings.IndexAny(code, ",}"); j >= 0 {
				code = code[:j]
			}
			return code
		}
	}
	t.Fatalf("no invite code in %v", texts)
	return ""
}

func TestInviteJoinTeamRemove(t *testing.T) {
	w := newStaffWorld(t)
	check(t, "first contact, then the answer", []string{"common.welcome{Period=common.retention_months{Count=12}}", "staff.not_a_member"}, w.cmd("tg:9", "team", ""))
	check(t, "a resident cannot invite", []string{"staff.only_coordinators"}, w.cmd("tg:9", "invite", ""))

	// The configured coordinator invites a team member to hamlet a-2 by buttons.
	w.send("tg:1", flows.Input{Kind: flows.InputText, Text: "chào"})
	check(t, "role question", []string{"staff.invite_role"}, w.cmd("tg:1", "invite", ""))
	check(t, "area question", []string{"staff.invite_area"}, w.tap("tg:1", "staff.btn.role_team"))
	made := w.tap("tg:1", "Xóm 2 (Xã A)")
	code := codeIn(t, made)
	if !strings.Contains(made[0], "Link=https://t.me/hangxom_bot?start=j_"+code) || len(code) != 16 {
		t.Errorf("invite reply %q", made[0])
	}

	// Someone joins with the link (first contact) and is a team member of a-2.
	got := w.send("tg:5", flows.Input{Kind: flows.InputCommand, Command: "start", Text: "j_" + code, Name: "Hoa"})
	check(t, "join on first contact", []string{"common.welcome{Period=common.retention_months{Count=12}}", "staff.joined_team{Area=Xóm 2}"}, got)
	m, ok, err := w.st.Member(t.Context(), "tg:5")
	if err != nil || !ok || m.Role != flows.RoleTeam || len(m.Areas) != 1 || m.Areas[0] != "a-2" || m.Name != "Hoa" {
		t.Fatalf("member = %+v %v %v", m, ok, err)
	}
	// The code was for one use.
	check(t, "used up", []string{"common.welcome{Period=common.retention_months{Count=12}}", "staff.join_invalid"}, w.cmd("tg:6", "join", code))
	check(t, "team member's view", []string{"staff.team_mine{Hamlets=Xóm 2}"}, w.cmd("tg:5", "team", ""))
	check(t, "team members cannot invite", []string{"staff.only_coordinators"}, w.cmd("tg:5", "invite", ""))

	// The coordinator sees and removes them, after a confirmation.
	list := w.cmd("tg:1", "team", "")
	if len(list) != 1 || !strings.Contains(list[0], "Name=Hoa") {
		t.Fatalf("team list %v", list)
	}
	check(t, "confirm", []string{"staff.remove_ask{Name=Hoa}"}, w.tap("tg:1", "staff.btn.remove{Name=Hoa}"))
	check(t, "removed", []string{"staff.removed{Name=Hoa}"}, w.tap("tg:1", "staff.btn.remove_yes"))
	if _, ok, _ := w.st.Member(t.Context(), "tg:5"); ok {
		t.Error("still a member")
	}
}

func TestCoordinatorsStayInTheirArea(t *testing.T) {
	w := newStaffWorld(t)
	// tg:1 makes tg:2 coordinator of commune xa-a.
	for _, who := range []string{"tg:1", "tg:2", "tg:7"} {
		w.send(who, flows.Input{Kind: flows.InputText, Text: "chào"})
	}
	code := codeIn(t, w.cmd("tg:1", "invite", "coordinator xa-a"))
	check(t, "joined", []string{"staff.joined_coordinator{Area=Xã A}"}, w.cmd("tg:2", "join", code))
	// tg:2 may invite to a hamlet of xa-a, not of xa-b, and not to the province.
	if got := w.cmd("tg:2", "invite", "team a-1"); !strings.HasPrefix(got[0], "staff.invite_made") {
		t.Errorf("own hamlet: %v", got)
	}
	check(t, "other commune", []string{"staff.not_your_area"}, w.cmd("tg:2", "invite", "team b-1"))
	check(t, "province", []string{"staff.not_your_area"}, w.cmd("tg:2", "invite", "coordinator prov"))
	check(t, "wrong level", []string{"staff.not_your_area"}, w.cmd("tg:2", "invite", "team xa-a"))
	// A team member of xa-b is not in tg:2's team list, and cannot be removed by tg:2.
	other := codeIn(t, w.cmd("tg:1", "invite", "team b-1"))
	w.cmd("tg:7", "join", other)
	for _, line := range w.cmd("tg:2", "team", "") {
		if strings.Contains(line, "tg:7") {
			t.Errorf("tg:2 sees a member of another commune: %q", line)
		}
	}
	// Even a forged action is refused.
	s, _ := w.st.Session(t.Context(), "tg:2")
	s.Keyboard = []flows.Choice{{Data: "99.1", Label: "x", Action: "staff:rmok:tg:7"}}
	if err := w.st.Commit(t.Context(), flows.Commit{Resident: "tg:2", Expect: s.Version, ExpectToken: s.Token, Session: s}); err != nil {
		t.Fatal(err)
	}
	check(t, "forged removal", []string{"staff.not_your_area"}, w.send("tg:2", flows.Input{Kind: flows.InputChoice, Data: "99.1"}))
	if _, ok, _ := w.st.Member(t.Context(), "tg:7"); !ok {
		t.Error("a coordinator removed a member outside their area")
	}
}

func TestJoinIsRateLimited(t *testing.T) {
	w := newStaffWorld(t)
	w.send("tg:8", flows.Input{Kind: flows.InputText, Text: "chào"})
	for i := 0; i < 5; i++ {
		check(t, "wrong code", []string{"staff.join_invalid"}, w.cmd("tg:8", "join", "aaaaaaaaaaaaaaaa"))
		check(t, "no code", []string{"staff.join_how"}, w.cmd("tg:8", "join", " "))
	}
	check(t, "sixth try", []string{"staff.join_slow_down"}, w.cmd("tg:8", "join", "aaaaaaaaaaaaaaaa"))
}

func TestPendingShowsOnlyMyHamletsOldestFirst(t *testing.T) {
	w := newStaffWorld(t)
	w.send("tg:1", flows.Input{Kind: flows.InputText, Text: "chào"})
	w.send("tg:5", flows.Input{Kind: flows.InputText, Text: "chào"})
	w.cmd("tg:5", "join", codeIn(t, w.cmd("tg:1", "invite", "team a-1")))
	// Residents: Lan (a-1, demo, then stalls), Minh (a-1, demo, asks for help),
	// Thu (a-1, the private flow), Nam (a-2, demo).
	start := func(who, name, hamlet, flow string) {
		w.send(who, flows.Input{Kind: flows.InputCommand, Command: "start", Text: "h_" + hamlet, Name: name})
		for _, c := range w.keyboard(who) {
			if c.Label == flow+".title" {
				w.send(who, flows.Input{Kind: flows.InputChoice, Data: c.Data})
			}
		}
		w.now = w.now.Add(time.Hour)
	}
	start("tg:20", "Lan", "a-1", "demo")
	start("tg:21", "Minh", "a-1", "demo")
	start("tg:22", "Thu", "a-1", "other")
	start("tg:23", "Nam", "a-2", "demo")
	w.send("tg:21", flows.Input{Kind: flows.InputText, Text: "1"}) // android: Minh moves on
	w.askPerson("tg:21")                                           // and is stuck
	w.now = w.now.Add(4 * 24 * time.Hour)                          // everyone is stalled now
	flowstest.OutboxTexts(t, w.st, "tg:5")                         // the help notification

	got := w.cmd("tg:5", "pending", "")
	if len(got) != 1 {
		t.Fatalf("pending = %v", got)
	}
	text := got[0]
	lan := strings.Index(text, "Name=Lan")
	minh := strings.Index(text, "Name=Minh")
	if lan < 0 || minh < 0 || lan > minh {
		t.Errorf("want Lan then Minh (oldest first): %s", text)
	}
	if strings.Contains(text, "Name=Nam") || strings.Contains(text, "Name=Thu") {
		t.Errorf("a team member of a-1 sees a-2, or a private flow by name: %s", text)
	}
	if !strings.Contains(text, "Flow=other.title,Total=1") {
		t.Errorf("the private flow is not counted: %s", text)
	}
	if !strings.Contains(text, "Name=Minh,Step=3,StepName=demo,Steps=7") || strings.Count(text, "staff.mark_help") != 1 || strings.Count(text, "staff.mark_stalled") != 2 {
		t.Errorf("step, help or stalled marks wrong: %s", text)
	}
	// The coordinator sees everyone, the private flow by name too.
	all := strings.Join(w.cmd("tg:1", "pending", ""), "\n")
	for _, name := range []string{"Lan", "Minh", "Thu", "Nam"} {
		if !strings.Contains(all, "Name="+name) {
			t.Errorf("the coordinator does not see %s: %s", name, all)
		}
	}
	// A resident sees nothing.
	check(t, "resident", []string{"staff.not_a_member"}, w.cmd("tg:20", "pending", ""))
}

// outboxOf returns who's waiting replies without draining them.
func (w *staffWorld) outboxOf(who string) []flows.Reply {
	w.t.Helper()
	rs, err := w.st.Outbox(w.t.Context(), who)
	if err != nil {
		w.t.Fatal(err)
	}
	return rs
}

func TestHelpRequestsReachTheTeam(t *testing.T) {
	w := newStaffWorld(t)
	for _, who := range []string{"tg:1", "tg:5", "tg:6", "tg:7"} {
		w.send(who, flows.Input{Kind: flows.InputText, Text: "chào", Name: map[string]string{"tg:1": "Điều", "tg:5": "Nguyễn Thị Hoa", "tg:6": "Bình", "tg:7": "Cường"}[who]})
	}
	w.cmd("tg:5", "join", codeIn(t, w.cmd("tg:1", "invite", "team a-1")))
	w.cmd("tg:6", "join", codeIn(t, w.cmd("tg:1", "invite", "team a-1")))
	w.cmd("tg:7", "join", codeIn(t, w.cmd("tg:1", "invite", "team b-1")))

	// Lan in a-1 is stuck.
	w.send("tg:20", flows.Input{Kind: flows.InputCommand, Command: "start", Text: "h_a-1", Name: "Lan"})
	w.tap("tg:20", "demo.title")
	w.tap("tg:20", "demo.btn.android")
	w.askPerson("tg:20")
	var data string
	for _, who := range []string{"tg:5", "tg:6"} {
		rs := w.outboxOf(who)
		if len(rs) != 1 || !strings.HasPrefix(rs[0].Text, "staff.help_new{Flow=demo.title,Hamlet=Xóm 1,Name=Lan,Step=3,StepName=demo}") || len(rs[0].Buttons) != 1 {
			t.Fatalf("%s was told %+v", who, rs)
		}
		data = rs[0].Buttons[0].Data
		flowstest.OutboxTexts(t, w.st, who)
	}
	if len(w.outboxOf("tg:7")) != 0 || len(w.outboxOf("tg:1")) != 0 {
		t.Error("someone outside the hamlet's team was told")
	}
	// Cường (another hamlet) cannot take it; Hoa takes it; Bình is too late.
	check(t, "other hamlet", []string{"staff.not_your_area"}, w.send("tg:7", flows.Input{Kind: flows.InputChoice, Data: data}))
	got := w.send("tg:5", flows.Input{Kind: flows.InputChoice, Data: data})
	if len(got) != 1 || !strings.HasPrefix(got[0], "staff.help_claimed_you") {
		t.Fatalf("claim: %v", got)
	}
	check(t, "the resident is told who comes", []string{"common.help_coming{Name=Hoa}", "common.share_phone_hint"}, flowstest.OutboxTexts(t, w.st, "tg:20"))
	check(t, "too late", []string{"staff.help_taken{Claimer=Nguyễn Thị Hoa,Flow=demo.title,Hamlet=Xóm 1,Name=Lan,Step=3,StepName=demo}"}, w.send("tg:6", flows.Input{Kind: flows.InputChoice, Data: data}))

	// The helpdesk shows it as Hoa's; she closes it.
	helpdesk := w.cmd("tg:5", "helpdesk", "")
	if len(helpdesk) != 1 || !strings.Contains(helpdesk[0], "Status=staff.help_status_claimed{Claimer=Nguyễn Thị Hoa}") {
		t.Fatalf("helpdesk: %v", helpdesk)
	}
	w.tap("tg:5", "staff.btn.close_name")
	check(t, "after closing", []string{"staff.helpdesk_none"}, w.cmd("tg:5", "helpdesk", ""))

	// A hamlet without a team: the coordinators are told at once.
	w.send("tg:30", flows.Input{Kind: flows.InputCommand, Command: "start", Text: "h_a-2", Name: "Nam"})
	w.askPerson("tg:30")
	if rs := w.outboxOf("tg:1"); len(rs) != 1 || !strings.HasPrefix(rs[0].Text, "staff.help_new{Flow=") {
		t.Fatalf("the coordinator was not told: %+v", rs)
	}
	flowstest.OutboxTexts(t, w.st, "tg:1")

	// Unclaimed for a day: escalated to the coordinators, once.
	w.send("tg:21", flows.Input{Kind: flows.InputCommand, Command: "start", Text: "h_a-1", Name: "Minh"})
	w.askPerson("tg:21")
	flowstest.OutboxTexts(t, w.st, "tg:5")
	flowstest.OutboxTexts(t, w.st, "tg:6")
	n, err := w.desk.Escalate(t.Context(), w.now.Add(25*time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("escalated %d, %v; want 1 (Nam's went to coordinators already)", n, err)
	}
	if rs := w.outboxOf("tg:1"); len(rs) != 1 || !strings.HasPrefix(rs[0].Text, "staff.help_escalated") {
		t.Errorf("coordinator: %+v", rs)
	}
	if n, _ := w.desk.Escalate(t.Context(), w.now.Add(26*time.Hour)); n != 0 {
		t.Errorf("escalated again: %d", n)
	}
}

func TestRemindersFollowTheRules(t *testing.T) {
	w := newStaffWorld(t) // flowstest.T0 is 16:00 in Vietnam
	for _, who := range []string{"tg:1", "tg:5"} {
		w.send(who, flows.Input{Kind: flows.InputText, Text: "chào"})
	}
	w.cmd("tg:5", "join", codeIn(t, w.cmd("tg:1", "invite", "team a-1")))
	start := func(who, name, hamlet string) {
		w.send(who, flows.Input{Kind: flows.InputCommand, Command: "start", Text: "h_" + hamlet, Name: name})
		w.tap(who, "demo.title")
		flowstest.OutboxTexts(t, w.st, who)
	}
	start("tg:20", "Lan", "a-1")
	start("tg:21", "Minh", "a-1")
	start("tg:22", "Nam", "a-2")
	w.cmd("tg:21", "stop", "")
	w.tap("tg:21", "common.btn.stop_yes")

	check(t, "first", []string{"staff.remind_done{Later=0,Now=1,Skipped=1}"}, w.cmd("tg:5", "remind", ""))
	rs := w.outboxOf("tg:20")
	if len(rs) != 1 || rs[0].Text != "common.reminder{Flow=demo.title}" || !rs[0].Bulk || rs[0].Buttons[0].Data != "r:demo" {
		t.Fatalf("Lan's reminder: %+v", rs)
	}
	if evening := time.Date(w.now.In(ict).Year(), w.now.In(ict).Month(), w.now.In(ict).Day(), 21, 0, 0, 0, ict); rs[0].NotAfter != evening.Unix() {
		t.Errorf("the reminder's last moment: %v, want %v (the quiet hours)", time.Unix(rs[0].NotAfter, 0).In(ict), evening)
	}
	if len(w.outboxOf("tg:21")) != 0 || len(w.outboxOf("tg:22")) != 0 {
		t.Error("an opted-out resident or another hamlet's was reminded")
	}
	flowstest.OutboxTexts(t, w.st, "tg:20")
	check(t, "again at once", []string{"staff.remind_done{Later=0,Now=0,Skipped=2}"}, w.cmd("tg:5", "remind", ""))
	check(t, "unknown flow", []string{"staff.remind_unknown_flow{Flow=nope}"}, w.cmd("tg:5", "remind", "nope"))

	// Four days later, at 22:30: queued for the morning, and sent once.
	w.now = time.Date(2026, 11, 24, 22, 30, 0, 0, ict)
	w.mini.FastForward(w.now.Sub(flowstest.T0)) // Redis TTLs follow (the 3-day rule)
	check(t, "quiet hours", []string{"staff.remind_done{Later=1,Now=0,Skipped=1}"}, w.cmd("tg:5", "remind", "demo"))
	if n, err := w.desk.RunReminders(t.Context(), w.now.Add(time.Hour)); err != nil || n != 0 {
		t.Fatalf("sent %d at night (%v)", n, err)
	}
	if len(w.outboxOf("tg:20")) != 0 {
		t.Fatal("a reminder went out at night")
	}
	morning := time.Date(2026, 11, 25, 7, 1, 0, 0, ict)
	if n, err := w.desk.RunReminders(t.Context(), morning); err != nil || n != 1 {
		t.Fatalf("sent %d in the morning (%v), want 1", n, err)
	}
	if n, _ := w.desk.RunReminders(t.Context(), morning); n != 0 {
		t.Errorf("the same reminder sent twice")
	}
	// The reminder's button resumes the flow.
	w.now = morning
	data := w.outboxOf("tg:20")[0].Buttons[0].Data
	flowstest.OutboxTexts(t, w.st, "tg:20")
	check(t, "resume", []string{"demo.phone"}, w.send("tg:20", flows.Input{Kind: flows.InputChoice, Data: data}))
	check(t, "a resident cannot remind", []string{"staff.not_a_member"}, w.cmd("tg:20", "remind", ""))
}

func TestForgetDeletesWhatIsKept(t *testing.T) {
	w := newStaffWorld(t)
	w.send("tg:1", flows.Input{Kind: flows.InputText, Text: "chào"})
	w.send("tg:20", flows.Input{Kind: flows.InputCommand, Command: "start", Text: "h_a-1", Name: "Lan"})
	w.cmd("tg:20", "join", codeIn(t, w.cmd("tg:1", "invite", "team a-2")))
	w.cmd("tg:20", "menu", "")
	w.askPerson("tg:20") // a help request with her name in it
	pseud := w.st.Pseudonym("tg:20")
	if _, ok, _ := w.st.Resident(t.Context(), pseud); !ok {
		t.Fatal("no pseudonym mapping to begin with")
	}
	hs, _ := w.st.OpenHelps(t.Context(), "a-1")
	if len(hs) != 1 {
		t.Fatalf("help requests: %d", len(hs))
	}
	w.cmd("tg:20", "forget", "")
	check(t, "forgotten", []string{"common.forgotten"}, w.tap("tg:20", "common.btn.forget_yes"))
	if _, ok, _ := w.st.Resident(t.Context(), pseud); ok {
		t.Error("the pseudonym still leads to the resident")
	}
	if _, ok, _ := w.st.Help(t.Context(), hs[0].ID); ok {
		t.Error("the help request (with her name) is kept")
	}
	if hs, _ := w.st.OpenHelps(t.Context(), "a-1"); len(hs) != 0 {
		t.Error("the help request is still listed")
	}
	if _, ok, _ := w.st.Member(t.Context(), "tg:20"); ok {
		t.Error("her team role is kept")
	}
	if s, _ := w.st.Session(t.Context(), "tg:20"); s.Version != 0 || s.Name != "" || s.Hamlet != "" {
		t.Errorf("session kept: %+v", s)
	}
}

func TestAddHamletAndPoster(t *testing.T) {
	w := newStaffWorld(t)
	var added []flows.Area
	w.desk.AddArea = func(_ context.Context, a flows.Area) error { added = append(added, a); return nil }
	w.desk.Poster = func(_ context.Context, channel string, h, c flows.Area) (flows.Document, string, error) {
		if channel == desk.ChannelZalo {
			return flows.Document{Name: "poster-zalo-" + h.ID + ".png", Data: []byte("PNG " + h.Code)}, "https://zalo.me/5791", nil
		}
		return flows.Document{Name: "poster-" + h.ID + ".png", Data: []byte("PNG " + h.Name + " " + c.Name)}, "https://t.me/hangxom_bot?start=h_" + h.ID, nil
	}
	for _, who := range []string{"tg:1", "tg:2", "tg:5", "tg:9"} {
		w.send(who, flows.Input{Kind: flows.InputText, Text: "chào"})
	}
	w.cmd("tg:2", "join", codeIn(t, w.cmd("tg:1", "invite", "coordinator xa-a")))
	w.cmd("tg:5", "join", codeIn(t, w.cmd("tg:1", "invite", "team a-1")))

	check(t, "team member", []string{"staff.only_coordinators_add"}, w.cmd("tg:5", "addhamlet", "Xóm Mới"))
	check(t, "no name", []string{"staff.addhamlet_usage"}, w.cmd("tg:2", "addhamlet", ""))
	check(t, "exists", []string{"staff.addhamlet_exists{Commune=Xã A,Name=Xóm 1}"}, w.cmd("tg:2", "addhamlet", "xom 1"))
	check(t, "added", []string{"staff.addhamlet_done{Commune=Xã A,ID=xa-a-xom-moi-na-ri,Name=Xóm Mới Nà Rì}"}, w.cmd("tg:2", "addhamlet", "  Xóm Mới   Nà Rì "))
	if len(added) != 1 || added[0].ParentID != "xa-a" || added[0].Level != flows.LevelHamlet || added[0].ValidFrom != "2026-11-20" {
		t.Errorf("added %+v", added)
	}
	// The province-wide coordinator picks the commune by button.
	check(t, "which commune", []string{"staff.addhamlet_which{Name=Bản Hai}"}, w.cmd("tg:1", "addhamlet", "Bản Hai"))
	w.tap("tg:1", "Xã B")
	if len(added) != 2 || added[1].ParentID != "xa-b" || added[1].ID != "xa-b-ban-hai" {
		t.Errorf("added %+v", added)
	}

	// /poster: a resident is refused; a team member of one hamlet gets its file.
	check(t, "resident", []string{"staff.not_a_member"}, w.cmd("tg:9", "poster", ""))
	if _, err := w.svc.Handle(t.Context(), "tg:5", flows.Input{Kind: flows.InputCommand, Command: "poster", UpdateID: "p1"}); err != nil {
		t.Fatal(err)
	}
	rs, _ := w.st.Outbox(t.Context(), "tg:5")
	if len(rs) != 1 || rs[0].Document == nil || rs[0].Document.Name != "poster-a-1.png" || string(rs[0].Document.Data) != "PNG Xóm 1 Xã A" ||
		!strings.Contains(rs[0].Text, "Link=https://t.me/hangxom_bot?start=h_a-1") {
		t.Fatalf("poster reply: %+v", rs)
	}
	_ = flowstest.OutboxTexts(t, w.st, "tg:5")

	// A team member on Zalo gets the Zalo poster, and the words name the
	// code to send.
	w.send("zl:77", flows.Input{Kind: flows.InputText, Text: "chào"})
	w.cmd("zl:77", "join", codeIn(t, w.cmd("tg:1", "invite", "team a-1")))
	if _, err := w.svc.Handle(t.Context(), "zl:77", flows.Input{Kind: flows.InputCommand, Command: "poster", UpdateID: "p2"}); err != nil {
		t.Fatal(err)
	}
	rs, _ = w.st.Outbox(t.Context(), "zl:77")
	if len(rs) != 1 || rs[0].Document == nil || string(rs[0].Document.Data) != "PNG XAK7" ||
		rs[0].Text != "staff.poster_ready_zalo{Code=XAK7,Hamlet=Xóm 1,Link=https://zalo.me/5791}" {
		t.Fatalf("Zalo poster reply: %+v", rs)
	}
}

// TestInviteCodesCanBeTypedAlone: every invite code is one the engine
// reads typed alone (flows.InviteCodeOf), so none is a secret, and a Zalo
// member who types it joins.
func TestInviteCodesCanBeTypedAlone(t *testing.T) {
	r := rand.NewChaCha8([32]byte{9})
	for range 20000 {
		code, err := desk.InviteCode(r)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := flows.InviteCodeOf(code); !ok || got != code || flows.Sensitive(code) {
			t.Fatalf("invite code %q cannot be typed alone, or is a secret", code)
		}
	}
	w := newStaffWorld(t)
	w.send("tg:1", flows.Input{Kind: flows.InputText, Text: "chào"})
	code := codeIn(t, w.cmd("tg:1", "invite", "team a-1"))
	w.send("zl:78", flows.Input{Kind: flows.InputText, Text: "chào"})
	check(t, "joined", []string{"staff.joined_team{Area=Xóm 1}"}, w.send("zl:78", flows.Input{Kind: flows.InputText, Text: " " + strings.ToUpper(code) + " "}))
}

func TestMoveFromNotYetAssigned(t *testing.T) {
	w := newStaffWorld(t)
	var moveIDs []string
	w.desk.Move = func(ctx context.Context, resident, hamlet, updateID string) error {
		moveIDs = append(moveIDs, updateID)
		_, err := w.svc.Handle(ctx, resident, flows.Input{Kind: flows.InputMoved, Data: hamlet, UpdateID: updateID})
		return err
	}
	for _, who := range []string{"tg:1", "tg:5"} {
		w.send(who, flows.Input{Kind: flows.InputText, Text: "chào"})
	}
	w.cmd("tg:5", "join", codeIn(t, w.cmd("tg:1", "invite", "team a-1")))
	// Thu's hamlet is not listed: she is filed under Xã A's "not yet assigned".
	w.send("tg:40", flows.Input{Kind: flows.InputText, Text: "chào", Name: "Thu"})
	w.tap("tg:40", "🏡 Xã A")
	w.tap("tg:40", "common.btn.not_listed")
	w.tap("tg:40", "common.btn.skip_name")
	w.tap("tg:40", "demo.title") // she starts a guide meanwhile
	flowstest.OutboxTexts(t, w.st, "tg:40")
	w.send("tg:41", flows.Input{Kind: flows.InputCommand, Command: "start", Text: "h_b-1", Name: "Nam"}) // another commune

	check(t, "resident", []string{"staff.not_a_member"}, w.send("tg:40", flows.Input{Kind: flows.InputCommand, Command: "move"}))
	list := w.cmd("tg:5", "move", "")
	check(t, "list", []string{"staff.move_who"}, list)
	check(t, "where", []string{"staff.move_where{Name=Thu}"}, w.tap("tg:5", "staff.btn.move_who{Commune=Xã A,Name=Thu}"))
	check(t, "moved", []string{"staff.moved{Hamlet=Xóm 1,Name=Thu}"}, w.tap("tg:5", "Xóm 1"))
	// The move is named after the team member's turn (its update id), not
	// the clock, so a turn that runs again tells Thu once.
	if turn := "u" + strings.Repeat("x", w.n); len(moveIDs) != 1 || !strings.HasSuffix(moveIDs[0], ":"+turn) {
		t.Errorf("the move's update ids %q, want one named after the turn %q", moveIDs, turn)
	}
	s, _ := w.st.Session(t.Context(), "tg:40")
	if s.Hamlet != "a-1" || s.Active == nil || s.Active.Flow != "demo" {
		t.Errorf("Thu's session after the move: hamlet %q active %+v", s.Hamlet, s.Active)
	}
	if got := flowstest.OutboxTexts(t, w.st, "tg:40"); len(got) == 0 || got[0] != "common.moved_by_team{Commune=Xã A,Hamlet=Xóm 1}" {
		t.Errorf("Thu was told %v", got)
	}
	if ps, _ := w.st.HamletResidents(t.Context(), "a-none"); len(ps) != 0 {
		t.Errorf("still filed under not yet assigned: %v", ps)
	}
	if ps, _ := w.st.HamletResidents(t.Context(), "a-1"); len(ps) != 1 {
		t.Errorf("a-1 residents: %v", ps)
	}
	// Her open guide moved with her: she is now on a-1's pending list.
	if got := strings.Join(w.cmd("tg:5", "pending", ""), ""); !strings.Contains(got, "Name=Thu") {
		t.Errorf("pending after the move: %s", got)
	}
	// And so did its start: counted in a-1, no longer in a-none.
	from, to := store.HamletFlow{Hamlet: "a-none", Flow: "demo"}, store.HamletFlow{Hamlet: "a-1", Flow: "demo"}
	counts, err := w.st.Counts(t.Context(), []store.HamletFlow{from, to}, []string{"2026-11"}, w.now.Add(-72*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	check(t, "started, by hamlet", map[string]int64{"a-none": 0, "a-1": 1},
		map[string]int64{"a-none": counts[from].Started, "a-1": counts[to].Started})
	// Nam (another commune) cannot be moved by tg:5, even by a forged action.
	s5, _ := w.st.Session(t.Context(), "tg:5")
	s5.Keyboard = []flows.Choice{{Data: "98.1", Label: "x", Action: "staff:mv:" + w.st.Pseudonym("tg:41") + ":a-1"}}
	if err := w.st.Commit(t.Context(), flows.Commit{Resident: "tg:5", Expect: s5.Version, ExpectToken: s5.Token, Session: s5}); err != nil {
		t.Fatal(err)
	}
	check(t, "forged", []string{"staff.not_your_area"}, w.send("tg:5", flows.Input{Kind: flows.InputChoice, Data: "98.1"}))
	check(t, "nobody left", []string{"staff.move_none"}, w.cmd("tg:5", "move", ""))
}

func TestHelperAndResidentTalk(t *testing.T) {
	w := newStaffWorld(t)
	for _, who := range []string{"tg:1", "tg:5"} {
		w.send(who, flows.Input{Kind: flows.InputText, Text: "chào", Name: map[string]string{"tg:1": "Điều", "tg:5": "Nguyễn Thị Hoa"}[who]})
	}
	w.cmd("tg:5", "join", codeIn(t, w.cmd("tg:1", "invite", "team a-1")))
	w.send("tg:20", flows.Input{Kind: flows.InputCommand, Command: "start", Text: "h_a-1", Name: "Lan"})
	w.askPerson("tg:20")
	flowstest.OutboxTexts(t, w.st, "tg:20")
	// Lan shares her phone number: kept with the request, for the claimer only.
	check(t, "saved", []string{"common.contact_saved"}, w.send("tg:20", flows.Input{Kind: flows.InputContact, Text: "0912345678"}))
	data := w.outboxOf("tg:5")[0].Buttons[0].Data
	flowstest.OutboxTexts(t, w.st, "tg:5")
	got := w.send("tg:5", flows.Input{Kind: flows.InputChoice, Data: data})
	if len(got) != 2 || !strings.Contains(got[1], "Phone=0912345678") {
		t.Fatalf("claim with contact: %v", got)
	}
	flowstest.OutboxTexts(t, w.st, "tg:20")
	// Hoa writes to Lan through the bot.
	check(t, "compose", []string{"staff.compose{Flow=staff.no_flow,Hamlet=Xóm 1,Name=Lan,Step=0,StepName=}"}, w.tap("tg:5", "staff.btn.message"))
	check(t, "sent", []string{"staff.message_sent{Flow=staff.no_flow,Hamlet=Xóm 1,Name=Lan,Step=0,StepName=}"}, w.send("tg:5", flows.Input{Kind: flows.InputText, Text: "Chiều nay 3 giờ cháu qua nhà bác nhé"}))
	check(t, "Lan reads it", []string{"common.message_from_team{Name=Hoa,Text=Chiều nay 3 giờ cháu qua nhà bác nhé}"}, flowstest.OutboxTexts(t, w.st, "tg:20"))
	// The next text is not sent again: the compose state ended.
	if got := w.send("tg:5", flows.Input{Kind: flows.InputText, Text: "xong"}); len(flowstest.OutboxTexts(t, w.st, "tg:20")) != 0 {
		t.Errorf("a second text went to Lan: %v", got)
	}
	// Someone else cannot write to Lan through Hoa's request.
	s1, _ := w.st.Session(t.Context(), "tg:1")
	id := strings.TrimPrefix(data, "h:")
	s1.Stage, s1.Compose = flows.StageCompose, id
	if err := w.st.Commit(t.Context(), flows.Commit{Resident: "tg:1", Expect: s1.Version, ExpectToken: s1.Token, Session: s1}); err != nil {
		t.Fatal(err)
	}
	check(t, "not the claimer", []string{"staff.not_your_area"}, w.send("tg:1", flows.Input{Kind: flows.InputText, Text: "hello"}))
	if len(flowstest.OutboxTexts(t, w.st, "tg:20")) != 0 {
		t.Error("a non-claimer's message reached Lan")
	}
}

func TestResidentWritesWhereTheyLive(t *testing.T) {
	w := newStaffWorld(t)
	for _, who := range []string{"tg:1", "tg:5"} {
		w.send(who, flows.Input{Kind: flows.InputText, Text: "chào", Name: "Hoa"})
	}
	w.cmd("tg:5", "join", codeIn(t, w.cmd("tg:1", "invite", "team a-1")))
	w.send("tg:20", flows.Input{Kind: flows.InputCommand, Command: "start", Text: "h_a-1", Name: "Lan"})
	w.askPerson("tg:20")
	flowstest.OutboxTexts(t, w.st, "tg:20")
	data := w.outboxOf("tg:5")[0].Buttons[0].Data
	flowstest.OutboxTexts(t, w.st, "tg:5")
	w.send("tg:5", flows.Input{Kind: flows.InputChoice, Data: data})
	rs := w.outboxOf("tg:20")
	if len(rs) != 2 || rs[0].Buttons[0].Data == "" || !rs[1].Buttons[0].Contact {
		t.Fatalf("Lan was offered %+v", rs)
	}
	note := rs[0].Buttons[0].Data
	flowstest.OutboxTexts(t, w.st, "tg:20")
	check(t, "ask", []string{"common.write_place_ask"}, w.send("tg:20", flows.Input{Kind: flows.InputChoice, Data: note}))
	check(t, "secret refused", "common.sensitive", w.send("tg:20", flows.Input{Kind: flows.InputText, Text: "mật khẩu là abc12345"})[0])
	w.send("tg:20", flows.Input{Kind: flows.InputChoice, Data: note})
	check(t, "sent", []string{"common.note_sent"}, w.send("tg:20", flows.Input{Kind: flows.InputText, Text: "Nhà cạnh trạm y tế"}))
	check(t, "helper reads it", []string{"staff.note_from_resident{Name=Lan,Note=Nhà cạnh trạm y tế}"}, flowstest.OutboxTexts(t, w.st, "tg:5"))
}

func TestAReminderTakenByACrashedReplicaComesBack(t *testing.T) {
	w := newStaffWorld(t)
	w.send("tg:20", flows.Input{Kind: flows.InputCommand, Command: "start", Text: "h_a-1", Name: "Lan"})
	w.tap("tg:20", "demo.title")
	flowstest.OutboxTexts(t, w.st, "tg:20")
	r := flows.Reminder{ID: "r1", Resident: "tg:20", Flow: "demo", By: "tg:5", Due: w.now}
	if err := w.st.QueueReminders(t.Context(), []flows.Reminder{r}); err != nil {
		t.Fatal(err)
	}
	// A replica takes it, marks the resident, and dies before enqueueing.
	taken, err := w.st.TakeDueReminders(t.Context(), w.now, 10)
	if err != nil || len(taken) != 1 {
		t.Fatalf("taken %v %v", taken, err)
	}
	if ok, _ := w.st.MarkReminded(t.Context(), "tg:20", "r1", 72*time.Hour); !ok {
		t.Fatal("mark")
	}
	if n, _ := w.desk.RunReminders(t.Context(), w.now.Add(time.Minute)); n != 0 {
		t.Fatalf("another replica sent it while it was in flight (%d)", n)
	}
	n, err := w.desk.RunReminders(t.Context(), w.now.Add(6*time.Minute)) // the lease ran out
	if err != nil || n != 1 {
		t.Fatalf("after the lease: sent %d (%v), want 1", n, err)
	}
	if n, _ := w.desk.RunReminders(t.Context(), w.now.Add(20*time.Minute)); n != 0 {
		t.Errorf("sent again: %d", n)
	}
	if got := flowstest.OutboxTexts(t, w.st, "tg:20"); len(got) != 1 {
		t.Errorf("Lan got %v", got)
	}
}

func TestPayeesAreRegisteredByTheTeam(t *testing.T) {
	w := newStaffWorld(t)
	for _, who := range []string{"tg:1", "tg:5", "tg:7"} {
		w.send(who, flows.Input{Kind: flows.InputText, Text: "chào"})
	}
	w.cmd("tg:5", "join", codeIn(t, w.cmd("tg:1", "invite", "team a-1")))
	w.cmd("tg:7", "join", codeIn(t, w.cmd("tg:1", "invite", "team b-1")))
	check(t, "resident", []string{"common.welcome{Period=common.retention_months{Count=12}}", "staff.not_a_member"}, w.cmd("tg:9", "payee", "add Trường"))
	check(t, "ask for the code", []string{"staff.payee_send_qr{Name=Trường Tiểu học Xóm 1}"}, w.cmd("tg:5", "payee", "add Trường Tiểu học Xóm 1"))
	// The photo or text goes to the payee checker.
	res, err := w.svc.Engine.Handle(mustSession(t, w, "tg:5"), flows.Input{Kind: flows.InputText, Text: "000201..."}, w.now)
	if err != nil || res.Check == nil || res.Check.Checker != flows.PayeeChecker {
		t.Fatalf("no payee check: %+v %v", res.Check, err)
	}
	check(t, "unreadable", []string{"staff.payee_bad_qr"}, w.send("tg:5", flows.Input{Kind: flows.InputCheck, Data: "unreadable"}))
	check(t, "added", []string{"staff.payee_added{Account=0123456789,Area=Xóm 1,Name=Trường Tiểu học Xóm 1}"}, w.send("tg:5", flows.Input{Kind: flows.InputCheck, Data: "ok:970416:0123456789"}))
	ps, _ := w.st.Payees(t.Context())
	if len(ps) != 1 || ps[0].Area != "a-1" || ps[0].BIN != "970416" || ps[0].AddedBy != "tg:5" {
		t.Fatalf("payees %+v", ps)
	}
	log, _ := w.st.Client().XRange(t.Context(), w.st.Keys().PayeeLog(), "-", "+").Result()
	if len(log) != 1 || log[0].Values["by"] != "tg:5" || log[0].Values["action"] != "add" {
		t.Errorf("change log %+v", log)
	}
	// Another hamlet's team member neither sees nor removes it.
	check(t, "other hamlet", []string{"staff.payee_none"}, w.cmd("tg:7", "payee", ""))
	list := w.cmd("tg:5", "payee", "list")
	if len(list) != 1 || !strings.Contains(list[0], "Trường Tiểu học Xóm 1") {
		t.Fatalf("list %v", list)
	}
	check(t, "removed", []string{"staff.removed{Name=Trường Tiểu học Xóm 1}"}, w.tap("tg:5", "staff.btn.remove"))
	if ps, _ := w.st.Payees(t.Context()); len(ps) != 0 {
		t.Error("not removed")
	}
}

func mustSession(t *testing.T, w *staffWorld, who string) flows.Session {
	t.Helper()
	s, err := w.st.Session(t.Context(), who)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A new user's first command other than /start is answered, after the
// greeting (it carries the notice of what is kept), not replaced by the
// commune picker; the picker follows where the answer leaves the resident
// with no screen of their own, and its buttons work after a team command.
func TestAFirstCommandIsAnswered(t *testing.T) {
	w := newStaffWorld(t)
	check(t, "/help first", []string{"common.welcome{Period=common.retention_months{Count=12}}", "common.help", "common.choose_commune"}, w.cmd("tg:20", "help", ""))
	check(t, "then a commune", []string{"common.choose_hamlet{Commune=Xã A}"}, w.tap("tg:20", "🏡 Xã A"))
	check(t, "/lang first", []string{"common.welcome{Period=common.retention_months{Count=12}}", "common.lang_choose"}, w.cmd("tg:21", "lang", ""))
	check(t, "/checkqr first", []string{"common.welcome{Period=common.retention_months{Count=12}}", "common.checkqr_ask"}, w.cmd("tg:22", "checkqr", ""))

	// The coordinator's first message is /pending: answered, with no dead
	// picker above the answer; the next message offers the picker.
	got := w.cmd("tg:1", "pending", "")
	if len(got) != 2 || got[0] != "common.welcome{Period=common.retention_months{Count=12}}" || !strings.HasPrefix(got[1], "staff.") {
		t.Errorf("coordinator's first /pending = %q, want the welcome and the answer", got)
	}
	check(t, "the next message, a greeting", []string{"common.hello", "common.choose_commune"}, w.send("tg:1", flows.Input{Kind: flows.InputText, Text: "chào"}))
	check(t, "a commune tapped", []string{"common.choose_hamlet{Commune=Xã A}"}, w.tap("tg:1", "🏡 Xã A"))
}

// /move lists one screen's worth of waiting residents, across every
// commune a coordinator covers, not a screen's worth per commune.
func TestMoveListsAScreensWorth(t *testing.T) {
	w := newStaffWorld(t)
	w.desk.Move = func(ctx context.Context, resident, hamlet, updateID string) error { return nil }
	w.send("tg:1", flows.Input{Kind: flows.InputText, Text: "chào"})
	for i := range 30 {
		who := fmt.Sprintf("tg:%d", 100+i)
		w.send(who, flows.Input{Kind: flows.InputText, Text: "chào", Name: "Thu"})
		w.tap(who, map[bool]string{true: "🏡 Xã A", false: "🏡 Xã B"}[i%6 != 5]) // 25 in A, 5 in B
		w.tap(who, "common.btn.not_listed")
		w.tap(who, "common.btn.skip_name")
	}
	check(t, "list", []string{"staff.move_who"}, w.cmd("tg:1", "move", ""))
	if n := len(w.keyboard("tg:1")); n != 20 {
		t.Errorf("/move listed %d residents, want a screen's worth (20)", n)
	}
}

// A resident on Zalo is told who comes, without the hint to tap a
// "share my phone number" button Zalo cannot show.
func TestAHelpedZaloResidentGetsNoPhoneButtonHint(t *testing.T) {
	w := newStaffWorld(t)
	w.send("tg:1", flows.Input{Kind: flows.InputText, Text: "chào", Name: "Điều"})
	w.send("tg:5", flows.Input{Kind: flows.InputText, Text: "chào", Name: "Nguyễn Thị Hoa"})
	w.cmd("tg:5", "join", codeIn(t, w.cmd("tg:1", "invite", "team a-1")))
	w.send("zl:20", flows.Input{Kind: flows.InputCommand, Command: "start", Text: "h_a-1", Name: "Lan"})
	w.tap("zl:20", "demo.title")
	w.tap("zl:20", "demo.btn.android")
	w.askPerson("zl:20")
	rs := w.outboxOf("tg:5")
	if len(rs) != 1 || len(rs[0].Buttons) != 1 {
		t.Fatalf("the team member was told %+v", rs)
	}
	flowstest.OutboxTexts(t, w.st, "tg:5")
	w.send("tg:5", flows.Input{Kind: flows.InputChoice, Data: rs[0].Buttons[0].Data})
	check(t, "the Zalo resident is told who comes", []string{"common.help_coming{Name=Hoa}"}, flowstest.OutboxTexts(t, w.st, "zl:20"))
}

// An urgent help request (a resident who may just have been scammed,
// flows.Step.Urgent) reaches the hamlet's team as urgent.
func TestUrgentHelpReachesTheTeamAsUrgent(t *testing.T) {
	w := newStaffWorld(t)
	w.cmd("tg:5", "join", codeIn(t, w.cmd("tg:1", "invite", "team a-1")))
	w.send("tg:20", flows.Input{Kind: flows.InputCommand, Command: "start", Text: "h_a-1", Name: "Lan"})
	sess, err := w.st.Session(t.Context(), "tg:20")
	if err != nil {
		t.Fatal(err)
	}
	err = w.desk.NotifyHelp(t.Context(), "tg:20", sess, flows.Effect{Kind: flows.EffectHelp, Hamlet: "a-1", Flow: "demo",
		Step: "install", At: w.now, Urgent: true})
	if err != nil {
		t.Fatal(err)
	}
	if rs := w.outboxOf("tg:5"); len(rs) != 1 || !strings.HasPrefix(rs[0].Text, "staff.help_urgent{") || len(rs[0].Buttons) != 1 {
		t.Fatalf("the team member was told %+v, want staff.help_urgent with the claim button", rs)
	}
}

// TestUrgentHelpEscalatesWithinHalfAnHour: a resident who may just have
// been scammed is not left a day: unclaimed for UrgentEscalation, the
// request goes to the coordinators; an ordinary one still waits a day.
func TestUrgentHelpEscalatesWithinHalfAnHour(t *testing.T) {
	w := newStaffWorld(t)
	joinHoa(t, w)
	for _, r := range []struct {
		who    string
		urgent bool
	}{{"tg:20", true}, {"tg:21", false}} {
		s := flows.Session{Name: r.who, Hamlet: "a-1"}
		e := flows.Effect{Kind: flows.EffectHelp, Flow: "demo", Step: "install", Hamlet: "a-1", At: w.now, Urgent: r.urgent}
		if err := w.desk.NotifyHelp(t.Context(), r.who, s, e); err != nil {
			t.Fatal(err)
		}
	}
	flowstest.OutboxTexts(t, w.st, "tg:1")
	if n, err := w.desk.Escalate(t.Context(), w.now.Add(desk.UrgentEscalation-time.Minute)); err != nil || n != 0 {
		t.Fatalf("escalated %d (%v) before the half hour", n, err)
	}
	n, err := w.desk.Escalate(t.Context(), w.now.Add(desk.UrgentEscalation+time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("escalated %d (%v) after the half hour; want the urgent one", n, err)
	}
	if rs := w.outboxOf("tg:1"); len(rs) != 1 || !strings.Contains(rs[0].Text, "Name=tg:20") {
		t.Errorf("coordinator: %+v", rs)
	}
	if n, _ := w.desk.Escalate(t.Context(), w.now.Add(desk.Escalation+time.Minute)); n != 1 {
		t.Errorf("the ordinary request: escalated %d after a day, want 1", n)
	}
}

// A dashboard session opened is told to the member through their outbox,
// the time in BOT_TZ, and the sender is woken for them; without an outbox
// it is an error for the dashboard to log.
func TestSessionOpenedGoesToTheMembersOutbox(t *testing.T) {
	w := newStaffWorld(t)
	w.desk.Loc = flowstest.AllLoc{}
	var woken []string
	w.desk.Notify = func(id string) { woken = append(woken, id) }
	at := time.Date(2026, 11, 20, 9, 5, 0, 0, time.UTC)
	if err := w.desk.SessionOpened(t.Context(), flows.Member{ID: "tg:5", Role: flows.RoleTeam}, "en", at); err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, r := range flowstest.OutboxReplies(t, w.st, "tg:5") {
		texts = append(texts, r.Text)
	}
	check(t, "tg:5's outbox", []string{"dashboard.session_opened{Time=16:05}"}, texts)
	check(t, "woken", []string{"tg:5"}, woken)
	w.desk.Help = nil
	if err := w.desk.SessionOpened(t.Context(), flows.Member{ID: "tg:5"}, "vi", at); err == nil {
		t.Error("no outbox: no error")
	}
}
