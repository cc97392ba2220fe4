// Package flowstest is the engine's test fixture, shared by the tests of
// flows and of the packages around it (desk): a localizer that shows which
// message was chosen, a small set of areas and flows, and an engine on them.
package flowstest

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hangxomso/hangxom/flows"
)

// Loc renders a message as "id" plus its data, so tests can assert on
// which message was chosen without depending on the real words.
type Loc struct{}

// Localize renders id and its data ("common." and "staff." messages; the
// others as their id alone).
func (Loc) Localize(lang, id string, data map[string]any) (string, error) {
	if !(strings.HasPrefix(id, "common.") || strings.HasPrefix(id, "staff.")) {
		return id, nil
	}
	return AllLoc{}.Localize(lang, id, data)
}

// AllLoc is Loc for every message: any id given data renders as
// id{Field=value,…} ("stats." and "dashboard." ones included).
type AllLoc struct{}

// Localize renders id and its data.
func (AllLoc) Localize(lang, id string, data map[string]any) (string, error) {
	if len(data) == 0 {
		return id, nil
	}
	var kv []string
	for k, v := range data {
		kv = append(kv, fmt.Sprintf("%s=%v", k, v))
	}
	sort.Strings(kv)
	return id + "{" + strings.Join(kv, ",") + "}", nil
}

func intp(n int) *int { return &n }

// Areas are a province with three communes (one merged into another) and
// their hamlets, an unassigned one in each current commune. Xóm 1 and Bản
// Một have hamlet codes, as the store gives them.
var Areas = []flows.Area{
	{ID: "prov", Level: flows.LevelProvince, Name: "Tỉnh"},
	{ID: "xa-a", Level: flows.LevelCommune, Name: "Xã A", ParentID: "prov", ValidFrom: "2025-07-01"},
	{ID: "xa-b", Level: flows.LevelCommune, Name: "Xã B", ParentID: "prov"},
	{ID: "xa-old", Level: flows.LevelCommune, Name: "Xã Cũ", ParentID: "prov", ValidTo: "2025-06-30", Successor: "xa-a"},
	{ID: "a-1", Level: flows.LevelHamlet, Name: "Xóm 1", ParentID: "xa-a", Households: intp(10), Code: "XAK7"},
	{ID: "a-10", Level: flows.LevelHamlet, Name: "Xóm 10", ParentID: "xa-a", Aliases: []string{"Nà Lưu"}},
	{ID: "a-2", Level: flows.LevelHamlet, Name: "Xóm 2", ParentID: "xa-a"},
	{ID: "a-none", Level: flows.LevelHamlet, Name: "Chưa xếp", ParentID: "xa-a", Unassigned: true},
	{ID: "b-1", Level: flows.LevelHamlet, Name: "Bản Một", ParentID: "xa-b", Code: "B2MN"},
	{ID: "b-none", Level: flows.LevelHamlet, Name: "Chưa xếp", ParentID: "xa-b", Unassigned: true},
}

// DemoFlows are three small flows: "demo" with a step of every type,
// "other" of two steps, and "loop", whose info steps never wait.
func DemoFlows() []*flows.Flow {
	return []*flows.Flow{
		{ID: "demo", Title: "demo.title", Order: 1, Start: "phone", Steps: []flows.Step{
			{ID: "phone", Type: flows.StepChoice, Say: "demo.phone", Buttons: []flows.Button{
				{ID: "android", Label: "demo.btn.android", Next: "why"},
				{ID: "iphone", Label: "demo.btn.iphone", Next: "why"},
				{ID: "notme", Label: "demo.btn.notme", Next: flows.LeaveTarget},
			}},
			{ID: "why", Type: flows.StepInfo, Say: "demo.why", Next: "install"},
			{ID: "install", Type: flows.StepCheckpoint, Say: "demo.install", Next: "ask", Skip: "scan", Stuck: "install_help"},
			{ID: "install_help", Type: flows.StepCheckpoint, Say: "demo.install_help", Next: "ask", More: "demo.install_more"},
			{ID: "ask", Type: flows.StepQuestion, Say: "demo.ask", Validate: "phone", Save: "phone", Next: "scan"},
			{ID: "scan", Type: flows.StepExternal, Say: "demo.scan", Checker: "qr", Outcomes: map[string]string{"ok": "end", "bad": "install", "default": "scan"},
				Buttons: []flows.Button{{ID: "skip", Label: "demo.btn.skip_check", Next: "end"}}},
			{ID: "end", Type: flows.StepEnd, Say: "demo.end"},
		}},
		{ID: "other", Title: "other.title", Order: 2, Start: "one", Steps: []flows.Step{
			{ID: "one", Type: flows.StepCheckpoint, Say: "other.one", Next: "fin"},
			{ID: "fin", Type: flows.StepEnd, Say: "other.fin"},
		}},
		{ID: "loop", Title: "loop.title", Order: 3, Start: "a", Steps: []flows.Step{
			{ID: "a", Type: flows.StepInfo, Say: "loop.a", Next: "b"},
			{ID: "b", Type: flows.StepInfo, Say: "loop.b", Next: "a"},
		}},
	}
}

// T0 is the tests' "now", 16:00 in Vietnam.
var T0 = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

// NewEngine is an engine on DemoFlows, Areas and Loc.
func NewEngine(t testing.TB) *flows.Engine {
	t.Helper()
	lib, err := flows.NewLibrary(DemoFlows()...)
	if err != nil {
		t.Fatal(err)
	}
	return &flows.Engine{
		Library: lib, Areas: flows.NewAreaIndex(Areas), Loc: Loc{},
		WaitExpiry: 72 * time.Hour, SessionExpiry: 720 * time.Hour, Location: time.UTC,
	}
}

// Stored is the session as the next turn finds it: compacted and through
// JSON, as the service stores it. Every conversation test goes through it,
// so a keyboard Compact leaves out must come back whole.
func Stored(t testing.TB, e *flows.Engine, s flows.Session) flows.Session {
	t.Helper()
	e.Compact(&s)
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var back flows.Session
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	return back
}

// Outboxes is the part of a store OutboxTexts reads.
type Outboxes interface {
	Outbox(ctx context.Context, resident string) ([]flows.Reply, error)
	AckOutbox(ctx context.Context, resident, replyID string) error
}

// OutboxTexts takes the texts waiting in resident's outbox, as if sent.
func OutboxTexts(t *testing.T, st Outboxes, resident string) []string {
	t.Helper()
	var out []string
	for _, r := range OutboxReplies(t, st, resident) {
		out = append(out, r.Text)
	}
	return out
}

// OutboxReplies takes the replies waiting in resident's outbox, as if sent.
func OutboxReplies(t testing.TB, st Outboxes, resident string) []flows.Reply {
	t.Helper()
	rs, err := st.Outbox(t.Context(), resident)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if err := st.AckOutbox(t.Context(), resident, r.ID); err != nil {
			t.Fatal(err)
		}
	}
	return rs
}
