package desk_test

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"image/png"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hangxomso/hangxom/dashboard"
	"github.com/hangxomso/hangxom/dashboard/chart"
	"github.com/hangxomso/hangxom/desk"
	"github.com/hangxomso/hangxom/flows"
)

// charted is a stats world whose /stats draws its pictures with the real
// chart renderer, recording each chart it is asked for, and in which the
// private flow "other" has 3 residents in a-1 who started and finished it
// on their own, and "demo" 6: 3 is a count masked for a team member.
type charted struct {
	*staffWorld
	mu     sync.Mutex
	charts []flows.BarChart
}

// commitDone makes n residents of a-1 start and finish flow at at.
func (w *charted) commitDone(flow string, n int, at time.Time) {
	w.t.Helper()
	for range n {
		w.n++
		who := fmt.Sprintf("tg:%d", 1000+w.n)
		s := flows.Session{Lang: "vi", Hamlet: "a-1", Commune: "xa-a"}
		c := flows.Commit{Resident: who, Session: s, Effects: []flows.Effect{
			{Kind: flows.EffectFiled, Hamlet: "a-1", At: at},
			{Kind: flows.EffectStarted, Flow: flow, Hamlet: "a-1", At: at},
			{Kind: flows.EffectCompleted, Flow: flow, Hamlet: "a-1", At: at, Via: "self"}}}
		if err := w.st.Commit(w.t.Context(), c); err != nil {
			w.t.Fatal(err)
		}
		if err := w.st.ApplyEffects(w.t.Context(), who); err != nil {
			w.t.Fatal(err)
		}
	}
}

func newChartedWorld(t *testing.T) *charted {
	t.Helper()
	w := &charted{staffWorld: newStatsWorld(t)}
	w.desk.PrivateFlows = []string{"other"}
	r, err := chart.New()
	if err != nil {
		t.Fatal(err)
	}
	draw := dashboard.ChatChart(r)
	w.desk.Stats.Chart = func(c flows.BarChart) ([]byte, error) {
		w.mu.Lock()
		w.charts = append(w.charts, c)
		w.mu.Unlock()
		return draw(c)
	}
	w.commitDone("other", 3, w.now)
	w.commitDone("demo", 6, w.now)
	return w
}

// picture returns the one picture among the last replies, checked: a
// photo, before the screen's text, that decodes as a PNG 1200 px wide.
func (w *charted) picture() *flows.Document {
	w.t.Helper()
	var docs []int
	for i, r := range w.last {
		if r.Document != nil {
			docs = append(docs, i)
		}
	}
	if len(docs) != 1 || docs[0] != 0 || len(w.last) < 2 {
		w.t.Fatalf("want one picture, then the text; got %d replies with documents at %v", len(w.last), docs)
	}
	d := w.last[0].Document
	if !d.Photo || !strings.HasSuffix(d.Name, ".png") {
		w.t.Errorf("picture %q: Photo %v, want a .png sent as a photo", d.Name, d.Photo)
	}
	img, err := png.Decode(bytes.NewReader(d.Data))
	if err != nil {
		w.t.Fatalf("picture %q: %v", d.Name, err)
	}
	if x := img.Bounds().Dx(); x != chart.Width {
		w.t.Errorf("picture %q: %d px wide, want %d", d.Name, x, chart.Width)
	}
	return d
}

func (w *charted) noPicture(what string) {
	w.t.Helper()
	for _, r := range w.last {
		if r.Document != nil {
			w.t.Errorf("%s sent a picture %q: a page or back button sends none", what, r.Document.Name)
		}
	}
}

// lastChart is the chart the last picture was drawn from.
func (w *charted) lastChart() flows.BarChart {
	w.t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.charts) == 0 {
		w.t.Fatal("no chart drawn")
	}
	return w.charts[len(w.charts)-1]
}

func bar(t *testing.T, c flows.BarChart, label string) flows.ChartBar {
	t.Helper()
	i := slices.IndexFunc(c.Bars, func(b flows.ChartBar) bool { return b.Label == label })
	if i < 0 {
		t.Fatalf("no bar %q in %+v", label, c.Bars)
	}
	return c.Bars[i]
}

// exportRows is the CSV the last /export sent, as records by hamlet/flow.
func (w *charted) exportRows() (*flows.Document, map[string][]string) {
	w.t.Helper()
	var doc *flows.Document
	for _, r := range w.last {
		if r.Document != nil {
			doc = r.Document
		}
	}
	if doc == nil {
		w.t.Fatalf("no export document in %+v", w.last)
	}
	recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(doc.Data, []byte("\ufeff")))).ReadAll()
	if err != nil {
		w.t.Fatal(err)
	}
	out := map[string][]string{}
	for _, r := range recs[1:] {
		out[r[2]+"/"+r[4]] = r[5:11] // started … help_requests
	}
	return doc, out
}

// A team member who may not name the private flow's residents sees its 3
// as "<5" in /stats' text and picture, and in /export, as the dashboard
// shows it; the coordinator sees 3 everywhere.
func TestStatsAndExportMaskAPrivateFlowsSmallCounts(t *testing.T) {
	w := newChartedWorld(t)

	// The team member of a-1: the hamlet's screen, with its picture.
	text := strings.Join(w.cmd("tg:5", "stats", ""), "\n")
	if d := w.picture(); d.Name != "hangxom-stats-a-1.png" {
		t.Errorf("picture named %q, want hangxom-stats-a-1.png", d.Name)
	}
	for _, want := range []string{
		"Completed=<5,Flow=other.title,Help=0,Self=<5,Share=,Stalled=0,Started=<5,Target=,Team=—}",
		"Completed=6,Flow=demo.title,Help=0,Self=6,Share=60,Stalled=0,Started=6,Target=50,Team=0}",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("team member's /stats lacks %s:\n%s", want, text)
		}
	}
	c := w.lastChart()
	if b := bar(t, c, "other.title"); !b.Masked || b.N != 0 || b.Display != flows.MaskText || b.Target != 0 {
		t.Errorf("the private flow's bar: %+v, want masked, written <5, no number", b)
	}
	if b := bar(t, c, "demo.title"); b.Masked || b.N != 60 || b.Target != 50 {
		t.Errorf("demo's bar: %+v, want its share 60 against 50", b)
	}
	for _, b := range c.Bars {
		if b.N == 3 || b.N == 30 || strings.Contains(b.Display, "3") {
			t.Errorf("a bar gives the private 3 (or its 30%% share) away: %+v", b)
		}
	}
	// The flow's own screen.
	flow := strings.Join(w.forge("tg:5", "staff:st:f:a-1:other"), "\n")
	if !strings.Contains(flow, "Completed=<5,") || !strings.Contains(flow, "Started=<5,") || !strings.Contains(flow, "Team=—,") ||
		strings.Contains(flow, "Share=30") {
		t.Errorf("team member's flow screen:\n%s", flow)
	}

	w.cmd("tg:5", "export", "")
	mine, rows := w.exportRows()
	if got, want := rows["a-1/other"], []string{"<5", "<5", "<5", "", "0", "0"}; !slices.Equal(got, want) {
		t.Errorf("team member's export, a-1/other: %q, want %q", got, want)
	}
	if got, want := rows["a-1/demo"], []string{"6", "6", "6", "0", "0", "0"}; !slices.Equal(got, want) {
		t.Errorf("team member's export, a-1/demo: %q, want %q", got, want)
	}
	// Desk.Export, for the dashboard's download: the very same file.
	m := flows.Member{ID: "tg:5", Role: flows.RoleTeam, Areas: []string{"a-1"}}
	doc, err := w.desk.Export(t.Context(), m, "", "", w.now)
	if err != nil {
		t.Fatal(err)
	}
	if doc.Name != mine.Name || !bytes.Equal(doc.Data, mine.Data) {
		t.Errorf("Desk.Export: %q\n%s\nwant /export's %q\n%s", doc.Name, doc.Data, mine.Name, mine.Data)
	}

	// The coordinator may name them: exact numbers.
	text = strings.Join(w.cmd("tg:2", "stats", ""), "\n")
	if d := w.picture(); d.Name != "hangxom-stats-xa-a.png" {
		t.Errorf("coordinator's picture named %q, want hangxom-stats-xa-a.png", d.Name)
	}
	if want := "Completed=3,Flow=other.title,Help=0,Self=3,Share=,Stalled=0,Started=3,"; !strings.Contains(text, want) {
		t.Errorf("coordinator's /stats lacks %s:\n%s", want, text)
	}
	if b := bar(t, w.lastChart(), "other.title"); b.Masked || b.N != 3 {
		t.Errorf("coordinator's bar of the private flow: %+v, want 3", b)
	}
	w.cmd("tg:2", "export", "")
	coord, rows := w.exportRows()
	if got, want := rows["a-1/other"], []string{"3", "3", "3", "0", "0", "0"}; !slices.Equal(got, want) {
		t.Errorf("coordinator's export, a-1/other: %q, want %q", got, want)
	}
	doc, err = w.desk.Export(t.Context(), flows.Member{ID: "tg:2", Role: flows.RoleCoordinator, Areas: []string{"xa-a"}}, "2026-10", "2026-11", w.now)
	if err != nil || doc.Name != coord.Name || !bytes.Equal(doc.Data, coord.Data) {
		t.Errorf("Desk.Export for the coordinator, %v: %q, want /export's %q", err, doc.Name, coord.Name)
	}
	for _, bad := range [][2]string{{"2026-13", ""}, {"2026-11", "2026-10"}, {"x", "y"}} {
		if _, err := w.desk.Export(t.Context(), m, bad[0], bad[1], w.now); !errors.Is(err, desk.ErrExportMonths) {
			t.Errorf("Desk.Export %q: %v, want ErrExportMonths", bad, err)
		}
	}
}

// A team member of several hamlets: the list's totals, all guides
// together, leave the private flow out (the hamlet's screen shows the
// other flows, and the total less them would be its count), and say so.
func TestStatsListLeavesOutAMaskedFlow(t *testing.T) {
	w := newChartedWorld(t)
	if err := w.st.PutMember(t.Context(), flows.Member{ID: "tg:5", Role: flows.RoleTeam, Areas: []string{"a-1", "a-2"}}); err != nil {
		t.Fatal(err)
	}
	text := strings.Join(w.cmd("tg:5", "stats", ""), "\n")
	if d := w.picture(); d.Name != "hangxom-stats-hamlets.png" {
		t.Errorf("picture named %q", d.Name)
	}
	if !strings.Contains(text, "stats.line_area{Completed=6,Help=0,Name=Xóm 1,Self=6,Stalled=0,Started=6,Team=0}") ||
		!strings.Contains(text, "stats.left_out{Flows=other.title}") {
		t.Errorf("team member's list:\n%s", text)
	}
	if b := bar(t, w.lastChart(), "Xóm 1"); b.N != 6 {
		t.Errorf("Xóm 1's bar: %+v, want 6 (demo alone)", b)
	}
	// Going down to a hamlet sends its picture.
	w.tapWith("tg:5", "Name=Xóm 1}")
	if d := w.picture(); d.Name != "hangxom-stats-a-1.png" {
		t.Errorf("picture named %q", d.Name)
	}
	// The coordinator's list counts everything: no note.
	text = strings.Join(w.cmd("tg:1", "stats", ""), "\n")
	w.picture()
	if !strings.Contains(text, "Name=Xã A,Self=9,") || strings.Contains(text, "stats.left_out") {
		t.Errorf("province coordinator's list:\n%s", text)
	}
}

// Pictures come with the first screen and with going down to a commune or
// a hamlet; page and back buttons send none, nor does the flow's screen.
func TestStatsPicturesOnlyGoingDown(t *testing.T) {
	w := newChartedWorld(t)
	w.cmd("tg:1", "stats", "")
	if d := w.picture(); d.Name != "hangxom-stats-communes.png" {
		t.Errorf("communes' picture named %q", d.Name)
	}
	if c := w.lastChart(); len(c.Bars) != 2 || c.Bars[0].Label != "Xã A" || c.Bars[0].N != 9 {
		t.Errorf("communes' chart: %+v, want a bar per commune, Xã A's 9", c.Bars)
	}
	w.tapWith("tg:1", "Name=Xã A}")
	if d := w.picture(); d.Name != "hangxom-stats-xa-a.png" {
		t.Errorf("commune's picture named %q", d.Name)
	}
	w.tapWith("tg:1", "Name=Xóm 1}")
	if d := w.picture(); d.Name != "hangxom-stats-a-1.png" {
		t.Errorf("hamlet's picture named %q", d.Name)
	}
	w.tap("tg:1", "stats.btn.flow{Flow=demo.title}")
	w.noPicture("the flow's screen")
	w.tap("tg:1", "common.btn.back")
	w.noPicture("back to the hamlet")
	w.tap("tg:1", "common.btn.back")
	w.noPicture("back to the commune")
	w.forge("tg:1", "staff:st:c:xa-a:1")
	w.noPicture("a page of the commune")
	w.forge("tg:1", "staff:st:cs:0")
	w.noPicture("back to the communes")
}

// A picture that cannot be drawn costs the picture, not the numbers.
func TestStatsTextGoesWhenThePictureFails(t *testing.T) {
	w := newChartedWorld(t)
	w.desk.Stats.Chart = func(flows.BarChart) ([]byte, error) { return nil, errors.New("no font") }
	var log bytes.Buffer
	w.desk.Logger = slog.New(slog.NewTextHandler(&log, nil))
	got := w.cmd("tg:5", "stats", "")
	if !has(got, "stats.hamlet{") {
		t.Errorf("/stats: %q", got)
	}
	w.noPicture("a picture that failed")
	if l := log.String(); !strings.Contains(l, "level=WARN") || !strings.Contains(l, "no font") || strings.Contains(l, "tg:5") {
		t.Errorf("log: %q, want a warning with the error and without who asked", l)
	}
}

// A masked flow's rows in /export count /stats' months whatever months are
// asked: November's 5 less the whole 7 would give October's 2 away.
func TestExportOfAMaskedFlowCountsTheWholeRange(t *testing.T) {
	w := &charted{staffWorld: newStatsWorld(t)}
	w.desk.PrivateFlows = []string{"other"}
	w.commitDone("other", 2, w.now.AddDate(0, -1, 0))
	w.commitDone("other", 5, w.now)
	w.commitDone("demo", 2, w.now.AddDate(0, -1, 0))
	w.commitDone("demo", 5, w.now)

	got := w.cmd("tg:5", "export", "2026-11 2026-11")
	_, rows := w.exportRows()
	if r := rows["a-1/other"]; r[0] != "7" {
		t.Errorf("team member's November export, a-1/other: %q, want the whole range's 7", r)
	}
	if r := rows["a-1/demo"]; r[0] != "5" {
		t.Errorf("team member's November export, a-1/demo: %q, want November's 5", r)
	}
	if !has(got, "Whole=stats.export_whole{Flows=other.title,From=2026-10,To=2026-11}") {
		t.Errorf("the message does not say so: %q", got)
	}
	// The coordinator's file is the months asked.
	got = w.cmd("tg:2", "export", "2026-11 2026-11")
	if _, rows := w.exportRows(); rows["a-1/other"][0] != "5" || !has(got, "Whole=}") {
		t.Errorf("coordinator's November export, a-1/other: %q; %q", rows["a-1/other"], got)
	}
}
