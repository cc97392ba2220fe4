package desk_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/alicebob/miniredis/v2"
	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/hangxomso/hangxom/desk"
	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/flows/flowstest"
	"github.com/hangxomso/hangxom/locales"
	"github.com/hangxomso/hangxom/store"
)

// statsTargets: demo is to reach half of the households of commune xa-a.
var statsTargets = []flows.Target{{Flow: "demo", Area: "xa-a", Pct: 50, Basis: flows.BasisHouseholds}}

// newStatsWorld is a staffWorld whose Desk has the stats wired, with
// members: tg:1 province coordinator (configuration), tg:2 coordinator of
// xa-a, tg:3 coordinator of xa-b, tg:5 team member of a-1, tg:6 team member
// of a-2; tg:9 is a resident.
func newStatsWorld(t *testing.T) *staffWorld {
	t.Helper()
	m := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { _ = c.Close() })
	w := &staffWorld{t: t, now: flowstest.T0, shown: map[string]map[string]string{}}
	clock := flows.ClockFunc(func() time.Time { return w.now })
	st := store.New(c, store.Options{Prefix: "stats:v1", DataKey: []byte("k"), Clock: clock})
	e := flowstest.NewEngine(t)
	d := &desk.Desk{Store: st, Areas: e.Areas, Loc: flowstest.AllLoc{}, Coordinators: []string{"tg:1"},
		FollowUp: st, Library: e.Library, WaitExpiry: 72 * time.Hour, PrivateFlows: []string{"loop"},
		Stats: desk.Stats{Counts: st, TeamLog: st, Targets: statsTargets, Since: "2026-10"}}
	w.svc, w.st, w.desk = &flows.Service{Engine: e, Store: st, Clock: clock, Desk: d}, st, d
	for id, x := range map[string]struct {
		role  flows.Role
		areas []string
	}{"tg:2": {flows.RoleCoordinator, []string{"xa-a"}}, "tg:3": {flows.RoleCoordinator, []string{"xa-b"}},
		"tg:5": {flows.RoleTeam, []string{"a-1"}}, "tg:6": {flows.RoleTeam, []string{"a-2"}}} {
		if err := st.PutMember(t.Context(), flows.Member{ID: id, Role: x.role, Areas: x.areas}); err != nil {
			t.Fatal(err)
		}
	}
	for _, who := range []string{"tg:1", "tg:2", "tg:3", "tg:5", "tg:6", "tg:9"} {
		w.send(who, flows.Input{Kind: flows.InputText, Text: "chào"})
	}
	return w
}

// forge makes who tap a button carrying action, as a forged callback would.
func (w *staffWorld) forge(who, action string) []string {
	w.t.Helper()
	s, err := w.st.Session(w.t.Context(), who)
	if err != nil {
		w.t.Fatal(err)
	}
	s.Keyboard = []flows.Choice{{Data: "99.1", Label: "x", Action: action}}
	if err := w.st.Commit(w.t.Context(), flows.Commit{Resident: who, Expect: s.Version, ExpectToken: s.Token, Session: s}); err != nil {
		w.t.Fatal(err)
	}
	return w.send(who, flows.Input{Kind: flows.InputChoice, Data: "99.1"})
}

// begin makes resident who, named name, join hamlet and start flow.
func (w *staffWorld) begin(who, name, hamlet, flow string) {
	w.t.Helper()
	w.send(who, flows.Input{Kind: flows.InputCommand, Command: "start", Text: "h_" + hamlet, Name: name})
	w.tap(who, flow+".title")
}

// tapWith taps the first button whose label contains part.
func (w *staffWorld) tapWith(who, part string) []string {
	w.t.Helper()
	return w.tapFirst(who, "button with "+strconv.Quote(part), func(l string) bool { return strings.Contains(l, part) })
}

func (w *staffWorld) counts(hamlet, flow string) flows.Counts {
	w.t.Helper()
	hf := flows.HamletFlow{Hamlet: hamlet, Flow: flow}
	n, err := w.st.Counts(w.t.Context(), []flows.HamletFlow{hf}, []string{"2026-10", "2026-11"}, w.now.Add(-72*time.Hour))
	if err != nil {
		w.t.Fatal(err)
	}
	return n[hf]
}

func has(texts []string, part string) bool {
	return strings.Contains(strings.Join(texts, "\n"), part)
}

func TestStatsExportLogRoles(t *testing.T) {
	w := newStatsWorld(t)
	w.begin("tg:20", "Lan", "a-1", "other") // someone on a-1's list
	who := []struct{ name, id string }{
		{"resident", "tg:9"},
		{"team member of a-1", "tg:5"},
		{"team member of a-2", "tg:6"},
		{"coordinator of xa-b", "tg:3"},
		{"coordinator of xa-a", "tg:2"},
	}
	// Each request, and what each caller gets: a text the replies contain.
	for _, tc := range []struct {
		name string
		do   func(who string) []string
		want []string // by caller, in the order of who
	}{
		{"/stats", func(id string) []string { return w.cmd(id, "stats", "") }, []string{
			"staff.not_a_member", "stats.hamlet{Commune=Xã A,", "stats.hamlet{Commune=Xã A,", "stats.commune{Commune=Xã B,", "stats.commune{Commune=Xã A,"}},
		{"/stats, hamlet a-1", func(id string) []string { return w.forge(id, "staff:st:h:a-1") }, []string{
			"staff.not_a_member", "Hamlet=Xóm 1,", "staff.not_your_area", "staff.not_your_area", "Hamlet=Xóm 1,"}},
		{"/stats, flow of a-1", func(id string) []string { return w.forge(id, "staff:st:f:a-1:demo") }, []string{
			"staff.not_a_member", "stats.flow{", "staff.not_your_area", "staff.not_your_area", "stats.flow{"}},
		{"/stats, commune xa-a", func(id string) []string { return w.forge(id, "staff:st:c:xa-a:0") }, []string{
			"staff.not_a_member", "staff.not_your_area", "staff.not_your_area", "staff.not_your_area", "stats.commune{Commune=Xã A,"}},
		{"/export", func(id string) []string { return w.cmd(id, "export", "2026-10 2026-11") }, []string{
			"staff.not_a_member",
			"stats.export_ready{From=2026-10,Name=hangxom-a-1-2026-10_2026-11.csv,Rows=3,",
			"stats.export_ready{From=2026-10,Name=hangxom-a-2-2026-10_2026-11.csv,Rows=3,",
			"stats.export_ready{From=2026-10,Name=hangxom-xa-b-2026-10_2026-11.csv,Rows=6,",
			"stats.export_ready{From=2026-10,Name=hangxom-xa-a-2026-10_2026-11.csv,Rows=12,"}},
		{"/log", func(id string) []string { return w.cmd(id, "log", "") }, []string{
			"staff.not_a_member", "stats.log_flow{Hamlet=Xóm 1}", "stats.log_flow{Hamlet=Xóm 2}", "stats.log_hamlet", "stats.log_hamlet"}},
		{"/log, list of a-1", func(id string) []string { return w.forge(id, "staff:log:f:a-1:other:0") }, []string{
			"staff.not_a_member", "stats.log_pick{Flow=other.title,Hamlet=Xóm 1,", "staff.not_your_area", "staff.not_your_area", "stats.log_pick{Flow=other.title,Hamlet=Xóm 1,"}},
		{"/log, a household of a-1", func(id string) []string { return w.forge(id, "staff:log:l:a-1:demo:nhà "+id) }, []string{
			"staff.not_a_member", "stats.logged_household{", "staff.not_your_area", "staff.not_your_area", "stats.logged_household{"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for i, c := range who {
				if got := tc.do(c.id); !has(got, tc.want[i]) {
					t.Errorf("%s: got %q, want it to contain %q", c.name, got, tc.want[i])
				}
			}
		})
	}
	// Only the two allowed households were counted.
	if n := w.counts("a-1", "demo"); n.CompletedTeam != 2 {
		t.Errorf("a-1 demo counts = %+v, want 2 completions via the team", n)
	}
}

// truth is what the test did, counted by the test.
type truth struct {
	n    map[flows.HamletFlow]*flows.Counts
	open map[flows.HamletFlow]map[string]time.Time // who has the flow unfinished, since when
}

func (g *truth) at(h, f string) *flows.Counts {
	hf := flows.HamletFlow{Hamlet: h, Flow: f}
	if g.n[hf] == nil {
		g.n[hf] = &flows.Counts{}
		g.open[hf] = map[string]time.Time{}
	}
	return g.n[hf]
}

func (g *truth) stalled(now time.Time) {
	for hf, who := range g.open {
		for _, last := range who {
			if now.Sub(last) > 72*time.Hour {
				g.n[hf].Stalled++
			}
		}
	}
}

// nums are a line's numbers as a view shows them.
type nums struct {
	Started, Completed, Self, Team, Stalled, Help string
	Share, Target                                 string
}

func numsOf(c flows.Counts) nums {
	i := func(n int64) string { return strconv.FormatInt(n, 10) }
	return nums{Started: i(c.Started), Completed: i(c.CompletedSelf + c.CompletedTeam), Self: i(c.CompletedSelf),
		Team: i(c.CompletedTeam), Stalled: i(c.Stalled), Help: i(c.Help)}
}

var fieldsRE = regexp.MustCompile(`([A-Za-z]+)=([^,{}]*)`)

// lines parses every id{…} without nested braces in text, by Flow.
func lines(t *testing.T, text, id string) map[string]nums {
	t.Helper()
	out := map[string]nums{}
	for _, m := range regexp.MustCompile(regexp.QuoteMeta(id)+`\{([^{}]*)\}`).FindAllStringSubmatch(text, -1) {
		f := map[string]string{}
		for _, kv := range fieldsRE.FindAllStringSubmatch(m[1], -1) {
			f[kv[1]] = kv[2]
		}
		out[f["Flow"]] = nums{f["Started"], f["Completed"], f["Self"], f["Team"], f["Stalled"], f["Help"], f["Share"], f["Target"]}
	}
	if len(out) == 0 {
		t.Fatalf("no %s in %q", id, text)
	}
	return out
}

func TestStatsDrillDownMatchesWhatHappened(t *testing.T) {
	w := newStatsWorld(t)
	g := &truth{n: map[flows.HamletFlow]*flows.Counts{}, open: map[flows.HamletFlow]map[string]time.Time{}}
	start := func(who, name, hamlet, flow string) {
		w.begin(who, name, hamlet, flow)
		g.at(hamlet, flow).Started++
		g.open[flows.HamletFlow{Hamlet: hamlet, Flow: flow}][who] = w.now
		w.now = w.now.Add(time.Hour)
	}
	finish := func(who, hamlet, flow string) { // "other" has one checkpoint
		w.tap(who, "common.btn.done")
		g.at(hamlet, flow).CompletedSelf++
		delete(g.open[flows.HamletFlow{Hamlet: hamlet, Flow: flow}], who)
	}
	start("tg:20", "Lan", "a-1", "demo")
	start("tg:21", "Minh", "a-1", "demo")
	w.tap("tg:21", "demo.btn.android") // on to the install checkpoint
	g.open[flows.HamletFlow{Hamlet: "a-1", Flow: "demo"}]["tg:21"] = w.now
	w.askPerson("tg:21")
	g.at("a-1", "demo").Help++
	start("tg:22", "Thu", "a-1", "other")
	finish("tg:22", "a-1", "other")
	start("tg:23", "Nam", "a-2", "other")
	finish("tg:23", "a-2", "other")
	start("tg:24", "Hà", "a-1", "other") // and leaves it unfinished
	start("tg:25", "Bình", "b-1", "demo")

	// The team member of a-1 logs Lan from the list, and a household.
	w.cmd("tg:5", "log", "")
	w.tap("tg:5", "demo.title")
	if got := w.tapWith("tg:5", "Name=Lan}"); !has(got, "stats.logged{") {
		t.Fatalf("log Lan: %q", got)
	}
	g.at("a-1", "demo").CompletedTeam++
	delete(g.open[flows.HamletFlow{Hamlet: "a-1", Flow: "demo"}], "tg:20")
	w.cmd("tg:5", "log", "Nhà bác Tư")
	w.tap("tg:5", "demo.title")
	g.at("a-1", "demo").CompletedTeam++

	w.now = w.now.Add(4 * 24 * time.Hour) // the unfinished ones stall
	g.stalled(w.now)

	// Commune → hamlet → flow, as the coordinator of xa-a.
	sum := func(flow string, hamlets ...string) flows.Counts {
		var s flows.Counts
		for _, h := range hamlets {
			if c := g.n[flows.HamletFlow{Hamlet: h, Flow: flow}]; c != nil {
				s.Started += c.Started
				s.CompletedSelf += c.CompletedSelf
				s.CompletedTeam += c.CompletedTeam
				s.Stalled += c.Stalled
				s.Help += c.Help
			}
		}
		return s
	}
	xaA := []string{"a-1", "a-10", "a-2", "a-none"}
	// Shares: demo's target is on households; a-1 has 10, the other hamlets
	// of xa-a none, so only a-1 has a share, and xa-a none.
	withShare := func(n nums, share, target string) nums { n.Share, n.Target = share, target; return n }
	pct := func(c flows.Counts, base int64) string {
		return strconv.FormatFloat(float64(c.CompletedSelf+c.CompletedTeam)*100/float64(base), 'f', -1, 64)
	}
	commune := w.cmd("tg:2", "stats", "")
	want := map[string]nums{
		"demo.title":  withShare(numsOf(sum("demo", xaA...)), "", "50"),
		"other.title": withShare(numsOf(sum("other", xaA...)), pct(sum("other", xaA...), 10), ""),
		"loop.title":  withShare(numsOf(sum("loop", xaA...)), "0", ""),
	}
	// Without a target the share is on households where known: a-1's 10
	// alone would not do for the commune, whose other hamlets are unknown.
	want["other.title"] = withShare(want["other.title"], "", "")
	want["loop.title"] = withShare(want["loop.title"], "", "")
	if d := cmp.Diff(want, lines(t, strings.Join(commune, "\n"), "stats.line_flow")); d != "" {
		t.Errorf("commune xa-a (-want +got):\n%s", d)
	}
	if !has(commune, "Commune=Xã A") {
		t.Errorf("commune view: %q", commune)
	}

	hamlet := w.tapWith("tg:2", "Name=Xóm 1}")
	a1 := func(f string) flows.Counts { return sum(f, "a-1") }
	want = map[string]nums{
		"demo.title":  withShare(numsOf(a1("demo")), pct(a1("demo"), 10), "50"),
		"other.title": withShare(numsOf(a1("other")), pct(a1("other"), 10), ""),
		"loop.title":  withShare(numsOf(a1("loop")), "0", ""),
	}
	if d := cmp.Diff(want, lines(t, strings.Join(hamlet, "\n"), "stats.line_flow")); d != "" {
		t.Errorf("hamlet a-1 (-want +got):\n%s", d)
	}
	if !has(hamlet, "stats.share_note") {
		t.Errorf("the share is not labelled as reached through the bot: %q", hamlet)
	}

	flow := w.tap("tg:2", "stats.btn.flow{Flow=demo.title}")
	got := lines(t, strings.Join(flow, "\n"), "stats.flow")
	if d := cmp.Diff(map[string]nums{"demo.title": want["demo.title"]}, got); d != "" {
		t.Errorf("flow demo in a-1 (-want +got):\n%s", d)
	}
	if !has(flow, "Households=10,") || !has(flow, "Basis=stats.basis_households") {
		t.Errorf("flow view lacks the basis: %q", flow)
	}
	// Back up the tree.
	if got := w.tap("tg:2", "common.btn.back"); !has(got, "stats.hamlet{") {
		t.Errorf("back from the flow: %q", got)
	}

	// The province coordinator starts from the communes.
	communes := strings.Join(w.cmd("tg:1", "stats", ""), "\n")
	for name, hs := range map[string][]string{"Xã A": xaA, "Xã B": {"b-1", "b-none"}} {
		var tot flows.Counts
		for _, f := range []string{"demo", "other", "loop"} {
			c := sum(f, hs...)
			tot.Started += c.Started
			tot.CompletedSelf += c.CompletedSelf
			tot.CompletedTeam += c.CompletedTeam
			tot.Stalled += c.Stalled
			tot.Help += c.Help
		}
		n := numsOf(tot)
		line := fmt.Sprintf("stats.line_area{Completed=%s,Help=%s,Name=%s,Self=%s,Stalled=%s,Started=%s,Team=%s}",
			n.Completed, n.Help, name, n.Self, n.Stalled, n.Started, n.Team)
		if !strings.Contains(communes, line) {
			t.Errorf("communes view lacks %s:\n%s", line, communes)
		}
	}
}

func TestLogFromTheListThenFinishingInTheBotCountsOnce(t *testing.T) {
	w := newStatsWorld(t)
	w.begin("tg:20", "Lan", "a-1", "other")
	w.cmd("tg:5", "log", "")
	w.tap("tg:5", "other.title")
	if got := w.tap("tg:5", "stats.btn.resident{Days=0,Name=Lan}"); !has(got, "stats.logged{Flow=other.title,Hamlet=Xóm 1,Name=Lan}") {
		t.Fatalf("log: %q", got)
	}
	// Lan is no longer on the list, and finishes in the bot all the same.
	if got := w.forge("tg:5", "staff:log:f:a-1:other:0"); !has(got, "stats.log_none_open") {
		t.Errorf("Lan still listed: %q", got)
	}
	w.tap("tg:20", "common.btn.done")
	s, err := w.st.Session(t.Context(), "tg:20")
	if err != nil || s.Done["other"].IsZero() {
		t.Fatalf("Lan did not finish: %+v %v", s.Done, err)
	}
	check(t, "counts", flows.Counts{Started: 1, CompletedTeam: 1}, w.counts("a-1", "other"))
	// Logging her again, by a stale or forged button, counts nothing.
	if got := w.forge("tg:5", "staff:log:r:a-1:other:"+w.st.Pseudonym("tg:20")); !has(got, "stats.log_gone") {
		t.Errorf("second log: %q", got)
	}
	check(t, "counts after a second log", flows.Counts{Started: 1, CompletedTeam: 1}, w.counts("a-1", "other"))
}

func TestLogFinishedInTheBotFirstIsNotCountedAgain(t *testing.T) {
	w := newStatsWorld(t)
	w.begin("tg:20", "Lan", "a-1", "other")
	w.cmd("tg:5", "log", "")
	w.tap("tg:5", "other.title")
	w.tap("tg:20", "common.btn.done") // Lan finishes while the list is on screen
	if got := w.tap("tg:5", "stats.btn.resident{"); !has(got, "stats.log_gone") {
		t.Errorf("log after finishing: %q", got)
	}
	check(t, "counts", flows.Counts{Started: 1, CompletedSelf: 1}, w.counts("a-1", "other"))
}

func TestLogHouseholdTwiceCountsOnce(t *testing.T) {
	w := newStatsWorld(t)
	for i, tc := range []struct{ label, want string }{
		{"Nhà bác Tư đầu dốc", "stats.logged_household{Flow=demo.title,Hamlet=Xóm 1,Label=Nhà bác Tư đầu dốc}"},
		{"nhà  bác tu ĐẦU dốc", "stats.log_already_household{"},
		{"Nhà bác Tư cuối dốc", "stats.logged_household{"},
	} {
		w.cmd("tg:5", "log", tc.label)
		if got := w.tap("tg:5", "demo.title"); !has(got, tc.want) {
			t.Errorf("%d %q: got %q, want %q", i, tc.label, got, tc.want)
		}
	}
	check(t, "counts", flows.Counts{CompletedTeam: 2}, w.counts("a-1", "demo"))
	// The coordinator of the commune logging the same household does not
	// count it again either; a phone number is not a label.
	w.forge("tg:2", "staff:log:l:a-1:demo:Nhà bác Tư đầu dốc")
	check(t, "counts after the coordinator", flows.Counts{CompletedTeam: 2}, w.counts("a-1", "demo"))
	if got := w.cmd("tg:5", "log", "0912 345 678"); !has(got, "stats.log_bad_label") {
		t.Errorf("a phone number as a label: %q", got)
	}
	if got := w.cmd("tg:5", "log", strings.Repeat("nhà ", 11)); !has(got, "stats.log_bad_label") {
		t.Errorf("a long label: %q", got)
	}
}

func TestLogPrivateFlowListOnlyForCoordinators(t *testing.T) {
	w := newStatsWorld(t)
	w.desk.PrivateFlows = []string{"other"}
	w.begin("tg:20", "Lan", "a-1", "other")
	if got := w.forge("tg:5", "staff:log:f:a-1:other:0"); !has(got, "stats.log_private") {
		t.Errorf("team member sees a private list: %q", got)
	}
	if got := w.forge("tg:5", "staff:log:r:a-1:other:"+w.st.Pseudonym("tg:20")); !has(got, "staff.not_your_area") {
		t.Errorf("team member logs a private flow's resident: %q", got)
	}
	if got := w.forge("tg:2", "staff:log:f:a-1:other:0"); !has(got, "stats.log_pick{") {
		t.Errorf("coordinator does not see the private list: %q", got)
	}
	if got := w.tapWith("tg:2", "Name=Lan}"); !has(got, "stats.logged{Flow=other.title,Hamlet=Xóm 1,Name=Lan}") {
		t.Errorf("coordinator logs Lan: %q", got)
	}
}

// countingHook counts the round trips to Redis: one per command, one per
// pipeline, leaving out the set-up of a new connection.
type countingHook struct{ trips, cmds atomic.Int64 }

func (h *countingHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *countingHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if setUp(cmd) {
			return next(ctx, cmd)
		}
		h.trips.Add(1)
		h.cmds.Add(1)
		return next(ctx, cmd)
	}
}

func (h *countingHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if !slices.ContainsFunc(cmds, func(c redis.Cmder) bool { return !setUp(c) }) {
			return next(ctx, cmds)
		}
		h.trips.Add(1)
		h.cmds.Add(int64(len(cmds)))
		return next(ctx, cmds)
	}
}

// setUp reports whether cmd sets up a new connection (go-redis sends these
// through the hooks too): not part of any report.
func setUp(cmd redis.Cmder) bool {
	switch cmd.Name() {
	case "hello", "client", "auth", "select":
		return true
	}
	return false
}

// TestStatsRoundTripsFor1000Hamlets proves a report costs a fixed number of
// round trips, whatever the number of hamlets and residents, and that every
// message stays short enough for a phone in the real words.
func TestStatsRoundTripsFor1000Hamlets(t *testing.T) {
	const communes, perCommune = 20, 50
	areas := []flows.Area{{ID: "prov", Level: flows.LevelProvince, Name: "Tỉnh Thái Nguyên"}}
	for i := range communes {
		c := fmt.Sprintf("xa-%02d", i)
		areas = append(areas, flows.Area{ID: c, Level: flows.LevelCommune, ParentID: "prov", Name: fmt.Sprintf("Xã Nghinh Tường Thượng Nung số %02d", i)})
		for j := range perCommune {
			hh := 100 + j
			areas = append(areas, flows.Area{ID: fmt.Sprintf("%s-h%02d", c, j), Level: flows.LevelHamlet, ParentID: c,
				Name: fmt.Sprintf("Tổ dân phố số %d (Khu tái định cư Đình Cả)", j), Households: &hh})
		}
	}
	m := miniredis.RunT(t)
	hook := &countingHook{}
	c := redis.NewClient(&redis.Options{Addr: m.Addr()})
	c.AddHook(hook)
	t.Cleanup(func() { _ = c.Close() })
	st := store.New(c, store.Options{Prefix: "rt:v1", DataKey: []byte("k")})
	lib, err := flows.NewLibrary(flowstest.DemoFlows()...)
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := locales.NewBundle(locales.FS)
	if err != nil {
		t.Fatal(err)
	}
	dir := flows.NewAreaIndex(areas)
	d := &desk.Desk{Store: st, Areas: dir, Loc: locales.NewLocalizer(bundle), Coordinators: []string{"tg:1"},
		FollowUp: st, Library: lib, WaitExpiry: 72 * time.Hour,
		Stats: desk.Stats{Counts: st, TeamLog: st, Since: "2026-10",
			Targets: []flows.Target{{Flow: "demo", Area: "prov", Pct: 80, Basis: flows.BasisHouseholds}}}}
	// Residents: 3,000 households logged across the hamlets.
	for i := range 3000 {
		h := areas[1+(i%communes)*(perCommune+1)+1+i%perCommune].ID
		if _, err := st.LogTeamCompletion(t.Context(), h, "demo", fmt.Sprintf("household:%s:%d", h, i), flowstest.T0, "demo"); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.PutMember(t.Context(), flows.Member{ID: "tg:5", Role: flows.RoleTeam, Areas: []string{"xa-03-h07", "xa-04-h01"}}); err != nil {
		t.Fatal(err)
	}
	// The sweep serve runs every minute counts the stalled residents, so
	// that a report need not (without it a report takes one more trip).
	var hamletIDs []string
	for _, a := range areas {
		if a.Level == flows.LevelHamlet {
			hamletIDs = append(hamletIDs, a.ID)
		}
	}
	if _, err := st.Sweep(t.Context(), flowstest.T0, store.SweepOptions{StalledAfter: d.WaitExpiry, Hamlets: hamletIDs, Flows: []string{"demo"}}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, who string
		req       flows.StaffRequest
		maxTrips  int64
	}{
		{"communes", "tg:1", flows.StaffRequest{Command: "stats"}, 1},
		{"communes, page 2", "tg:1", flows.StaffRequest{Action: "staff:st:cs:1"}, 1},
		{"commune", "tg:1", flows.StaffRequest{Action: "staff:st:c:xa-03:0"}, 1},
		{"hamlet", "tg:1", flows.StaffRequest{Action: "staff:st:h:xa-03-h07"}, 1},
		{"flow", "tg:1", flows.StaffRequest{Action: "staff:st:f:xa-03-h07:demo"}, 1},
		{"export, 1,000 hamlets", "tg:1", flows.StaffRequest{Command: "export", Args: "2026-10 2026-11"}, 1},
		{"team member's hamlets", "tg:5", flows.StaffRequest{Command: "stats"}, 2},
		{"team member's export", "tg:5", flows.StaffRequest{Command: "export"}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &flows.Session{Lang: "vi"}
			hook.trips.Store(0)
			hook.cmds.Store(0)
			rs, err := d.Do(t.Context(), tc.who, s, tc.req, flowstest.T0)
			if err != nil {
				t.Fatal(err)
			}
			if n := hook.trips.Load(); n > tc.maxTrips {
				t.Errorf("%d round trips (%d commands), want at most %d", n, hook.cmds.Load(), tc.maxTrips)
			}
			if len(rs) == 0 {
				t.Fatal("no reply")
			}
			for _, r := range rs {
				if n := utf8.RuneCountInString(r.Text); n > 1000 {
					t.Errorf("a message of %d characters, want at most 1,000:\n%s", n, r.Text)
				}
				if strings.Contains(r.Text, "stats.") || strings.Contains(r.Text, "<no value>") {
					t.Errorf("a message not rendered: %s", r.Text)
				}
			}
		})
	}
	// The export covers every hamlet: 1,000 × 3 flows.
	sc := flows.StatsScope{Areas: dir, Hamlets: hamletsIn(areas), Flows: []string{"demo", "other", "loop"}}
	counts, err := st.Counts(t.Context(), sc.Pairs(), []string{"2026-10", "2026-11"}, flowstest.T0)
	if err != nil {
		t.Fatal(err)
	}
	rows := flows.StatsRows(sc, counts)
	var done int64
	for _, r := range rows {
		done += r.Completed
	}
	if len(rows) != 3000 || done != 3000 {
		t.Errorf("%d rows, %d completions; want 3000 and 3000", len(rows), done)
	}
}

func hamletsIn(areas []flows.Area) []flows.Area {
	var out []flows.Area
	for _, a := range areas {
		if a.Level == flows.LevelHamlet {
			out = append(out, a)
		}
	}
	return out
}

func TestStatsRowsAndCSV(t *testing.T) {
	hh, pop, cPop := 40, 150, 1000
	dir := flows.NewAreaIndex([]flows.Area{
		{ID: "p", Level: flows.LevelProvince, Name: "P"},
		{ID: "c", Level: flows.LevelCommune, Name: "Xã C, \"mới\"", ParentID: "p", Population: &cPop},
		{ID: "h2", Level: flows.LevelHamlet, Name: "Xóm 2", ParentID: "c", Households: &hh, Population: &pop},
		{ID: "h10", Level: flows.LevelHamlet, Name: "Xóm 10", ParentID: "c", Population: &pop},
		{ID: "hx", Level: flows.LevelHamlet, Name: "Chưa xếp", ParentID: "c", Unassigned: true},
	})
	sc := flows.StatsScope{Areas: dir, Flows: []string{"b", "a"},
		Hamlets: []flows.Area{mustArea(t, dir, "hx"), mustArea(t, dir, "h10"), mustArea(t, dir, "h2")},
		Targets: []flows.Target{{Flow: "a", Area: "p", Pct: 80, Basis: "population"}, {Flow: "a", Area: "h2", Pct: 60, Basis: "households"}}}
	counts := map[flows.HamletFlow]flows.Counts{
		{Hamlet: "h2", Flow: "a"}:  {Started: 9, CompletedSelf: 3, CompletedTeam: 2, Help: 1, Stalled: 4},
		{Hamlet: "h10", Flow: "a"}: {Started: 1, CompletedSelf: 1},
		{Hamlet: "h2", Flow: "b"}:  {CompletedTeam: 1},
	}
	f := func(x float64) *float64 { return &x }
	i := func(x int) *int { return &x }
	base := flows.StatsRow{CommuneID: "c", Commune: "Xã C, \"mới\""}
	row := func(h, name, flow string, mod func(*flows.StatsRow)) flows.StatsRow {
		r := base
		r.HamletID, r.Hamlet, r.Flow = h, name, flow
		mod(&r)
		return r
	}
	want := []flows.StatsRow{
		row("hx", "Chưa xếp", "b", func(*flows.StatsRow) {}),
		row("hx", "Chưa xếp", "a", func(r *flows.StatsRow) { r.TargetPct = f(80) }), // unknown base: no share
		row("h2", "Xóm 2", "b", func(r *flows.StatsRow) {
			r.CompletedTeam, r.Completed, r.Households, r.Population = 1, 1, i(40), i(150)
			r.SharePct, r.Basis = f(2.5), "households" // no target: households where known
		}),
		row("h2", "Xóm 2", "a", func(r *flows.StatsRow) {
			r.Started, r.CompletedSelf, r.CompletedTeam, r.Completed, r.HelpRequests, r.Stalled = 9, 3, 2, 5, 1, 4
			r.Households, r.Population = i(40), i(150)
			r.SharePct, r.TargetPct, r.Basis = f(12.5), f(60), "households" // the nearest target
		}),
		row("h10", "Xóm 10", "b", func(r *flows.StatsRow) {
			r.Population, r.SharePct, r.Basis = i(150), f(0), "population"
		}),
		row("h10", "Xóm 10", "a", func(r *flows.StatsRow) {
			r.Started, r.CompletedSelf, r.Completed, r.Population = 1, 1, 1, i(150)
			r.SharePct, r.TargetPct, r.Basis = f(0.7), f(80), "population"
		}),
	}
	got := flows.StatsRows(sc, counts)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("rows (-want +got):\n%s", d)
	}

	// The commune's share: its own population, else its hamlets' sum.
	c := mustArea(t, dir, "c")
	for _, tc := range []struct {
		name      string
		area      flows.Area
		basis     string
		wantBasis string
		want      *float64
	}{
		{"own population", c, "population", "population", f(0.6)},
		{"households, one hamlet unknown", c, "households", "", nil},
		{"no target: households unknown, own population", c, "", "population", f(0.6)},
		{"population summed", flows.Area{ID: "c"}, "population", "population", f(2)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, s := flows.AreaShare(tc.area, sc.Hamlets, 6, tc.basis)
			if b != tc.wantBasis || !cmp.Equal(s, tc.want) {
				t.Errorf("AreaShare = %q %v, want %q %v", b, ptr(s), tc.wantBasis, ptr(tc.want))
			}
		})
	}

	data := flows.ExportCSV(got)
	if !bytes.HasPrefix(data, []byte("\ufeffcommune_id,commune,hamlet_id,hamlet,flow,started,completed,completed_self,completed_team,stalled,help_requests,households,population,share_pct,target_pct\n")) {
		t.Errorf("CSV header: %q", strings.SplitN(string(data), "\n", 2)[0])
	}
	recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\ufeff")))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	check(t, "h2/a", []string{"c", "Xã C, \"mới\"", "h2", "Xóm 2", "a", "9", "5", "3", "2", "4", "1", "40", "150", "12.5", "60"}, recs[4])
	check(t, "hx/a", []string{"c", "Xã C, \"mới\"", "hx", "Chưa xếp", "a", "0", "0", "0", "0", "0", "0", "", "", "", "80"}, recs[2])
	if len(recs) != 7 {
		t.Errorf("%d records, want a header and 6 rows", len(recs))
	}
}

func ptr(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

func mustArea(t *testing.T, dir flows.Directory, id string) flows.Area {
	t.Helper()
	a, ok := dir.Area(id)
	if !ok {
		t.Fatalf("no area %s", id)
	}
	return a
}

func TestMonthsBetween(t *testing.T) {
	for _, tc := range []struct {
		from, to string
		want     []string
		err      bool
	}{
		{"2025-11", "2026-02", []string{"2025-11", "2025-12", "2026-01", "2026-02"}, false},
		{"2026-03", "2026-03", []string{"2026-03"}, false},
		{"2026-03", "2026-02", nil, true},
		{"2026-3", "2026-04", nil, true},
		{"2026-01", "tháng 4", nil, true},
	} {
		t.Run(tc.from+"_"+tc.to, func(t *testing.T) {
			got, err := flows.MonthsBetween(tc.from, tc.to)
			if (err != nil) != tc.err {
				t.Fatalf("err = %v, want an error: %v", err, tc.err)
			}
			check(t, "months", tc.want, got)
		})
	}
}

func TestExportUsage(t *testing.T) {
	w := newStatsWorld(t)
	for _, args := range []string{"2026-13", "2026-11 2026-10", "a b c"} {
		if got := w.cmd("tg:2", "export", args); !has(got, "stats.export_usage") {
			t.Errorf("/export %s: %q", args, got)
		}
	}
	if got := w.cmd("tg:2", "export", ""); !has(got, "From=2026-10,") || !has(got, "To=2026-11,") {
		t.Errorf("/export: %q", got)
	}
}

// /export from a coordinator on Zalo says where to get the table rather
// than sending a file Zalo may not take.
func TestExportOnZaloSaysWhereToGetTheFile(t *testing.T) {
	w := newStatsWorld(t)
	if err := w.st.PutMember(t.Context(), flows.Member{ID: "zl:77", Role: flows.RoleCoordinator, Areas: []string{"xa-a"}}); err != nil {
		t.Fatal(err)
	}
	w.send("zl:77", flows.Input{Kind: flows.InputText, Text: "chào"})
	got := w.cmd("zl:77", "export", "")
	if !has(got, "stats.export_zalo") || has(got, "stats.export_ready") {
		t.Errorf("/export on Zalo: %q", got)
	}
	if got := w.cmd("tg:2", "export", ""); !has(got, "stats.export_ready") {
		t.Errorf("/export on Telegram: %q", got)
	}
}
