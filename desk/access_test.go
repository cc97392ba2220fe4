package desk_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/hangxomso/hangxom/delivery"
	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/flows/flowstest"
	"github.com/hangxomso/hangxom/store"
)

// Access to residents' help requests, payees and private flows, found by
// an audit: each test failed before its fix.

// joinHoa makes tg:1 a coordinator (by the world's configuration) and tg:5,
// Hoa, a team member of a-1 (and of more hamlets, with an invite each).
func joinHoa(t *testing.T, w *staffWorld, invites ...string) {
	t.Helper()
	w.send("tg:1", flows.Input{Kind: flows.InputText, Text: "chào"})
	w.send("tg:5", flows.Input{Kind: flows.InputText, Text: "chào", Name: "Hoa"})
	for _, inv := range append([]string{"team a-1"}, invites...) {
		w.cmd("tg:5", "join", codeIn(t, w.cmd("tg:1", "invite", inv)))
	}
}

func joined(texts []string) string { return strings.Join(texts, "\n") }

// A help request in a private flow ("other" in this world) names its
// resident only to who may see that flow by name: not to a team member
// who is not the hamlet's party-cell secretary, in the notification or
// in /helpdesk; it goes to the coordinators instead.
func TestHelpInAPrivateFlowIsNotNamedToTheTeam(t *testing.T) {
	w := newStaffWorld(t)
	joinHoa(t, w)
	flowstest.OutboxTexts(t, w.st, "tg:1")
	w.begin("tg:22", "Thu", "a-1", "other")
	w.askPerson("tg:22")
	if got := joined(flowstest.OutboxTexts(t, w.st, "tg:5")); strings.Contains(got, "Name=Thu") {
		t.Errorf("team member notified by name of a private flow's help request:\n%s", got)
	}
	if got := joined(w.cmd("tg:5", "helpdesk", "")); strings.Contains(got, "Name=Thu") {
		t.Errorf("team member's /helpdesk names a private flow's resident:\n%s", got)
	}
	if got := joined(flowstest.OutboxTexts(t, w.st, "tg:1")); !strings.Contains(got, "staff.help_new") || !strings.Contains(got, "Name=Thu") {
		t.Errorf("the coordinator was not told of the request:\n%s", got)
	}
}

// A party-cell secretary invite names one hamlet: the member sees the
// private flow's residents by name there, and only there.
func TestSecretaryOfOneHamletOnly(t *testing.T) {
	w := newStaffWorld(t)
	joinHoa(t, w, "team a-2 secretary")
	w.begin("tg:22", "Thu", "a-1", "other")
	w.begin("tg:23", "Mai", "a-2", "other")
	got := joined(w.cmd("tg:5", "pending", ""))
	if strings.Contains(got, "Name=Thu") {
		t.Errorf("the secretary of a-2 sees a-1's private flow by name:\n%s", got)
	}
	if !strings.Contains(got, "Name=Mai") {
		t.Errorf("the secretary of a-2 does not see a-2's private flow by name:\n%s", got)
	}
}

// A team member removed by the coordinator loses the requests they had
// claimed: they can no longer message the resident, the resident's phone
// number no longer reaches them, and the request is open again and offered
// to the hamlet's helpers. Closing a request forgets the phone number.
func TestRemovedMemberLosesTheirClaims(t *testing.T) {
	w := newStaffWorld(t)
	joinHoa(t, w)
	w.send("tg:20", flows.Input{Kind: flows.InputCommand, Command: "start", Text: "h_a-1", Name: "Lan"})
	w.askPerson("tg:20")
	flowstest.OutboxTexts(t, w.st, "tg:20")
	data := w.outboxOf("tg:5")[0].Buttons[0].Data
	flowstest.OutboxTexts(t, w.st, "tg:5")
	w.send("tg:5", flows.Input{Kind: flows.InputChoice, Data: data}) // claim
	flowstest.OutboxTexts(t, w.st, "tg:20")
	flowstest.OutboxTexts(t, w.st, "tg:1")

	w.cmd("tg:1", "team", "")
	w.tap("tg:1", "staff.btn.remove{Name=Hoa}")
	got := w.tap("tg:1", "staff.btn.remove_yes")
	if got := joined(append(got, flowstest.OutboxTexts(t, w.st, "tg:1")...)); !strings.Contains(got, "staff.help_new") || !strings.Contains(got, "Name=Lan") {
		t.Errorf("the released request was not offered again (to the coordinator, the hamlet having no team left):\n%s", got)
	}
	hs, err := w.st.OpenHelps(t.Context(), "a-1")
	if err != nil || len(hs) != 1 || hs[0].Status != flows.HelpOpen || hs[0].ClaimedBy != "" {
		t.Fatalf("the request is not open again: %+v, %v", hs, err)
	}
	id := hs[0].ID
	// The message button kept on Hoa's old claim screen.
	check(t, "ex-member taps message", []string{"staff.not_your_area"}, w.tap("tg:5", "staff.btn.message"))
	w.send("tg:5", flows.Input{Kind: flows.InputText, Text: "hello from an ex-member"})
	if got := flowstest.OutboxTexts(t, w.st, "tg:20"); len(got) > 0 {
		t.Errorf("a removed member's message reached the resident: %q", got)
	}
	w.send("tg:20", flows.Input{Kind: flows.InputContact, Text: "0912345678"})
	if got := joined(flowstest.OutboxTexts(t, w.st, "tg:5")); strings.Contains(got, "0912345678") {
		t.Errorf("a removed member received the resident's phone number:\n%s", got)
	}

	// The coordinator takes it over and closes it: the number is forgotten.
	w.send("tg:1", flows.Input{Kind: flows.InputChoice, Data: "h:" + id})
	if h, _, _ := w.st.Help(t.Context(), id); h.Contact != "0912345678" {
		t.Fatalf("the claimer does not have the shared number: %+v", h)
	}
	w.tap("tg:1", "staff.btn.close")
	h, _, err := w.st.Help(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if h.Status != flows.HelpClosed || h.Contact != "" || h.Note != "" {
		t.Errorf("closed request keeps the resident's contact: %+v", h)
	}
}

// A member removed between "/payee add" and sending the payee's QR code
// registers nothing: a removed member cannot make a scammer's account
// "genuine" for the residents' /checkqr.
func TestRemovedMemberCannotAddAPayee(t *testing.T) {
	w := newStaffWorld(t)
	joinHoa(t, w)
	w.cmd("tg:5", "payee", "add Trường Tiểu học Xóm 1")
	w.cmd("tg:1", "team", "")
	w.tap("tg:1", "staff.btn.remove{Name=Hoa}")
	w.tap("tg:1", "staff.btn.remove_yes")
	check(t, "ex-member sends the code", []string{"staff.not_your_area"},
		w.send("tg:5", flows.Input{Kind: flows.InputCheck, Data: "ok:970416:9999999999"}))
	if ps, err := w.st.Payees(t.Context()); err != nil || len(ps) != 0 {
		t.Errorf("payees after the removed member's code: %+v, %v", ps, err)
	}
}

func TestSecretaryOf(t *testing.T) {
	legacy := flows.Member{Role: flows.RoleTeam, Areas: []string{"a-1", "a-2"}, Secretary: true}
	if !legacy.SecretaryOf("a-1") || !legacy.SecretaryOf("a-2") {
		t.Errorf("a member stored before secretary_areas is no longer a secretary of their areas")
	}
	m := flows.Member{Role: flows.RoleTeam, Areas: []string{"a-1", "a-2"}, Secretary: true, SecretaryAreas: []string{"a-2"}}
	if m.SecretaryOf("a-1") || !m.SecretaryOf("a-2") {
		t.Errorf("secretary of a-2 only: a-1 %v, a-2 %v", m.SecretaryOf("a-1"), m.SecretaryOf("a-2"))
	}
	if (flows.Member{Areas: []string{"a-1"}}).SecretaryOf("a-1") {
		t.Errorf("a member without an invite as secretary is one")
	}
}

// A member stored before secretary_areas (a secretary of all their
// hamlets) who joins another hamlet stays a secretary of the ones they had,
// and is not one of the new hamlet.
func TestLegacySecretaryJoiningAnotherHamlet(t *testing.T) {
	w := newStaffWorld(t)
	joinHoa(t, w)
	m, _, err := w.st.Member(t.Context(), "tg:5")
	if err != nil {
		t.Fatal(err)
	}
	m.Secretary = true // as stored before secretary_areas
	if err := w.st.PutMember(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	w.cmd("tg:5", "join", codeIn(t, w.cmd("tg:1", "invite", "team a-2")))
	m, _, err = w.st.Member(t.Context(), "tg:5")
	if err != nil {
		t.Fatal(err)
	}
	if !m.SecretaryOf("a-1") || m.SecretaryOf("a-2") {
		t.Errorf("after joining a-2: %+v", m)
	}
}

// A resident who asks to be forgotten leaves the hamlet's lists: not
// listed for the team, not counted stalled later (a review found them left
// in the open index).
func TestForgetLeavesTheHamletsLists(t *testing.T) {
	w := newStaffWorld(t)
	joinHoa(t, w)
	w.begin("tg:20", "Lan", "a-1", "demo")
	if es, err := w.st.Open(t.Context(), "a-1", "demo"); err != nil || len(es) != 1 {
		t.Fatalf("open before /forget: %+v, %v", es, err)
	}
	w.cmd("tg:20", "forget", "")
	w.tap("tg:20", "common.btn.forget_yes")
	if es, err := w.st.Open(t.Context(), "a-1", "demo"); err != nil || len(es) != 0 {
		t.Errorf("open after /forget: %+v, %v", es, err)
	}
	if got := joined(w.cmd("tg:5", "pending", "")); !strings.Contains(got, "staff.pending_none") {
		t.Errorf("the team's /pending after the resident's /forget:\n%s", got)
	}
	if c := w.counts("a-1", "demo"); c.Started != 1 || c.Stalled != 0 {
		t.Errorf("counts after /forget: %+v (started kept, anonymous; nothing stalled)", c)
	}
}

// A hamlet merged into another (valid_to passed, a successor named) has no
// row in /export (nor /stats): its counts are in its successor's, as in
// `hangxom stats` (a review found the chat's reports without the roll-up).
func TestExportRollsUpAMergedHamlet(t *testing.T) {
	w := newStatsWorld(t)
	areas := append(slices.Clone(flowstest.Areas),
		flows.Area{ID: "a-old", Level: flows.LevelHamlet, Name: "Xóm Cũ", ParentID: "xa-a", ValidTo: "2026-01-31", Successor: "a-1"})
	w.desk.Areas = flows.NewAreaIndex(areas)
	for _, r := range []struct{ who, hamlet string }{{"tg:30", "a-old"}, {"tg:31", "a-1"}} {
		s := flows.Session{Lang: "vi", Hamlet: r.hamlet, Commune: "xa-a"}
		c := flows.Commit{Resident: r.who, Session: s, Effects: []flows.Effect{
			{Kind: flows.EffectFiled, Hamlet: r.hamlet, At: w.now},
			{Kind: flows.EffectStarted, Flow: "demo", Hamlet: r.hamlet, At: w.now}}}
		if err := w.st.Commit(t.Context(), c); err != nil {
			t.Fatal(err)
		}
		if err := w.st.ApplyEffects(t.Context(), r.who); err != nil {
			t.Fatal(err)
		}
	}
	// Handled here, not with w.cmd, which empties the outbox.
	if _, err := w.svc.Handle(t.Context(), "tg:2", flows.Input{Kind: flows.InputCommand, Command: "export", UpdateID: "export"}); err != nil {
		t.Fatal(err)
	}
	var doc *flows.Document
	for _, r := range w.outboxOf("tg:2") {
		if r.Document != nil {
			doc = r.Document
		}
	}
	if doc == nil {
		t.Fatalf("no export document: %+v", w.outboxOf("tg:2"))
	}
	recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(doc.Data, []byte("\ufeff")))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := func(name string) int { return slices.Index(recs[0], name) }
	hamlet, flow, started := col("hamlet_id"), col("flow"), col("started")
	if hamlet < 0 || flow < 0 || started < 0 {
		t.Fatalf("columns %q", recs[0])
	}
	for _, r := range recs[1:] {
		if r[hamlet] == "a-old" {
			t.Errorf("a row for the merged hamlet: %q", r)
		}
		if r[hamlet] == "a-1" && r[flow] == "demo" && r[started] != "2" {
			t.Errorf("a-1's demo row: started %s, want 2 (its own and the merged hamlet's)", r[started])
		}
	}
}

// failForget is the store with Forget failing while fail is set.
type failForget struct {
	*store.Redis
	fail bool
}

func (f *failForget) Forget(ctx context.Context, resident string) error {
	if f.fail {
		return errors.New("redis away")
	}
	return f.Redis.Forget(ctx, resident)
}

// A /forget whose deletion fails after its turn was written (told
// "forgotten") is finished by the redelivered update: a review found the
// redelivery taken for a duplicate and the data left.
func TestForgetFinishedByTheRedelivery(t *testing.T) {
	w := newStaffWorld(t)
	joinHoa(t, w)
	w.send("tg:20", flows.Input{Kind: flows.InputCommand, Command: "start", Text: "h_a-1", Name: "Lan"})
	w.askPerson("tg:20") // a help request, with the resident's name
	w.cmd("tg:20", "forget", "")
	ff := &failForget{Redis: w.st, fail: true}
	w.svc.Store = ff
	var yes string
	for _, b := range w.keyboard("tg:20") {
		if b.Label == "common.btn.forget_yes" {
			yes = b.Data
		}
	}
	in := flows.Input{Kind: flows.InputChoice, Data: yes, UpdateID: "forget-1"}
	if _, err := w.svc.Handle(t.Context(), "tg:20", in); err == nil {
		t.Fatal("the failed forget was not reported")
	}
	ff.fail = false
	if _, err := w.svc.Handle(t.Context(), "tg:20", in); err != nil {
		t.Fatal(err)
	}
	if helps, err := w.st.OpenHelps(t.Context(), "a-1"); err != nil || len(helps) != 0 {
		t.Errorf("help requests after the redelivered /forget: %+v, %v", helps, err)
	}
	if s, err := w.st.Session(t.Context(), "tg:20"); err != nil || s.Forgetting || s.Name != "" {
		t.Errorf("session after the redelivered /forget: %+v, %v", s, err)
	}
}

// /remind just before the quiet hours hands the sender only what the bulk
// pace can send before 21:00 (half of it), and queues the rest for the
// morning rather than let them be dropped at 21:00.
func TestRemindJustBeforeTheQuietHours(t *testing.T) {
	w := newStaffWorld(t)
	w.desk.BulkRate = 1 // a message a second
	joinHoa(t, w)
	residents := []string{"tg:20", "tg:21", "tg:22"}
	for _, who := range residents {
		w.begin(who, "Lan", "a-1", "demo")
	}
	w.now = time.Date(2026, 11, 20, 20, 59, 58, 0, ict) // 2 s left: one reminder now
	check(t, "at 20:59:58", []string{"staff.remind_done{Later=2,Now=1,Skipped=0}"}, w.cmd("tg:5", "remind", ""))
	reminded := func() int {
		n := 0
		for _, who := range residents {
			for _, r := range w.outboxOf(who) {
				if r.Bulk {
					n++
				}
			}
		}
		return n
	}
	if n := reminded(); n != 1 {
		t.Errorf("%d reminders handed to the sender before 21:00, want 1", n)
	}
	w.now = time.Date(2026, 11, 21, 7, 0, 30, 0, ict)
	if n, err := w.desk.RunReminders(t.Context(), w.now); err != nil || n != 2 {
		t.Errorf("the morning run sent %d, %v; want the 2 kept for it", n, err)
	}
	if n := reminded(); n != 3 {
		t.Errorf("%d reminders after the morning run, want 3", n)
	}
}

// A phone number a resident shares for the helper who comes is personal
// data: once the request is closed and the resident has run /forget, it is
// in no Redis key or value, and it was never in a reply id (the sender logs
// ids when a send fails) nor in the log.
func TestSharedPhoneNumberLeavesNoTrace(t *testing.T) {
	w := newStaffWorld(t)
	var logs bytes.Buffer
	w.svc.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	joinHoa(t, w)
	w.send("tg:20", flows.Input{Kind: flows.InputCommand, Command: "start", Text: "h_a-1", Name: "Lan"})
	w.askPerson("tg:20")
	data := w.outboxOf("tg:5")[0].Buttons[0].Data
	w.send("tg:5", flows.Input{Kind: flows.InputChoice, Data: data}) // claim, then the number reaches Hoa
	w.send("tg:20", flows.Input{Kind: flows.InputContact, Text: "+84912345678"})
	const number = "912345678"
	var ids []string
	for _, who := range []string{"tg:1", "tg:5", "tg:20"} {
		// Sent as a channel sends: each reply marked in the sent hash.
		c, err := w.st.ClaimOutbox(t.Context(), who, delivery.Pace{Rate: 1000, Burst: 1000}, delivery.Limits{MaxText: 4096, OneMessage: 4096, MaxCaption: 1024})
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range c.Replies() {
			ids = append(ids, r.ID)
			if _, _, _, err := c.Begin(t.Context(), r.ID, delivery.Pace{Rate: 1000, Burst: 1000}); err != nil {
				t.Fatal(err)
			}
			if err := c.Finish(t.Context(), r.ID, true, "", i == len(c.Replies())-1); err != nil {
				t.Fatal(err)
			}
		}
	}
	if !strings.Contains(strings.Join(ids, " "), "contact") {
		t.Fatalf("the number was not passed on to Hoa: reply ids %q", ids)
	}
	for _, id := range ids {
		if strings.Contains(id, number) {
			t.Errorf("reply id %q carries the resident's phone number", id)
		}
	}
	w.tap("tg:5", "staff.btn.close")
	w.cmd("tg:20", "forget", "")
	w.tap("tg:20", "common.btn.forget_yes")
	for _, key := range w.mini.Keys() {
		if v := redisValue(t, w.mini, key); strings.Contains(key+"\n"+v, number) {
			t.Errorf("the phone number is still in Redis after close and /forget: %s\n%s", key, v)
		}
	}
	if strings.Contains(logs.String(), number) {
		t.Errorf("the phone number is in the log:\n%s", logs.String())
	}
}

// redisValue renders whatever key holds, whatever its type.
func redisValue(t *testing.T, m *miniredis.Miniredis, key string) string {
	t.Helper()
	var out []string
	var err error
	switch m.Type(key) {
	case "string":
		var v string
		v, err = m.Get(key)
		out = []string{v}
	case "list":
		out, err = m.List(key)
	case "set":
		out, err = m.Members(key)
	case "hash":
		var fs []string
		fs, err = m.HKeys(key)
		for _, f := range fs {
			out = append(out, f+"="+m.HGet(key, f))
		}
	case "zset":
		var z map[string]float64
		z, err = m.SortedSet(key)
		for k := range z {
			out = append(out, k)
		}
	case "stream":
		var es []miniredis.StreamEntry
		es, err = m.Stream(key)
		for _, e := range es {
			out = append(out, e.Values...)
		}
	default:
		t.Fatalf("%s: type %q not rendered", key, m.Type(key))
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(out, "\n")
}
