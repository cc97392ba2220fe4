package dashboard_test

import (
	"bytes"
	"image/png"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/flows/flowstest"
)

// stepCells returns the reached, stalled and help cells of step's row in
// the section of guide flow on a funnel page.
func stepCells(t *testing.T, page, flow, step string) [3]string {
	t.Helper()
	i := strings.Index(page, `data-flow="`+flow+`"`)
	if i < 0 {
		t.Fatalf("no section of %s", flow)
	}
	sec := page[i:]
	if j := strings.Index(sec, "</section>"); j >= 0 {
		sec = sec[:j]
	}
	re := regexp.MustCompile(`(?s)<tr data-step="` + regexp.QuoteMeta(step) + `"[^>]*>.*?<td class="reached">(.*?)</td><td class="stalled">(.*?)</td><td class="help">(.*?)</td>`)
	m := re.FindStringSubmatch(sec)
	if m == nil {
		t.Fatalf("no row of step %q in %s", step, flow)
	}
	return [3]string{m[1], m[2], m[3]}
}

func TestAHamletsPageShowsEachGuidesStepFunnel(t *testing.T) {
	w := newWorld(t, base)
	for i := range 4 {
		w.begin("tg:"+strconv.Itoa(30+i), "a-1", "demo")
	}
	// One goes on to the next screens; the other three stay at the first.
	w.send("tg:33", flows.Input{Kind: flows.InputChoice, Data: "x"}) // a stale tap: nothing moves
	w.begin("tg:40", "a-2", "demo")
	s := w.login(w.link("tg:5"))
	page := w.do("GET", "/d/h/a-1", nil, s).Body.String()
	if got := stepCells(t, page, "demo", "phone"); got != [3]string{"4", "0", "0"} {
		t.Errorf("phone: reached, stalled, help = %v, want 4 0 0 (the other hamlet's resident not counted)", got)
	}
	// Three days on, everyone who stopped is stalled at their step, and the
	// stalled column adds up to the overview's figure.
	w.now = w.now.Add(73 * time.Hour)
	s = w.login(w.link("tg:5")) // the session lasts 12 hours
	page = w.do("GET", "/d/h/a-1", nil, s).Body.String()
	if got := stepCells(t, page, "demo", "phone"); got != [3]string{"4", "4", "0"} {
		t.Errorf("phone after 3 days: %v, want 4 4 0", got)
	}
	over := w.do("GET", "/d/", nil, s).Body.String()
	if got := cells(t, over, "demo.title", "Xóm 1")[4]; got != "4" {
		t.Errorf("the overview's stalled = %s, want 4, as the funnel's column", got)
	}
	if !strings.Contains(over, `href="/d/h/a-1?`) {
		t.Error("the overview does not link the hamlet's page")
	}
	// A guide nobody used says so, with no chart.
	if !strings.Contains(page, "dashboard.guide_empty") {
		t.Error("the unused guide does not say it is empty")
	}
}

func TestAHamletsPageIsRefusedToOthers(t *testing.T) {
	w := newWorld(t, base)
	w.begin("tg:30", "a-1", "demo")
	other := w.login(w.link("tg:6")) // team member of a-2
	for _, path := range []string{"/d/h/a-1", "/d/h/a-1/chart/demo/funnel.svg", "/d/h/a-1/chart/demo/trend.png",
		"/d/h/xa-a", "/d/h/nowhere", "/d/c/xa-a/f/demo", "/d/c/xa-a/f/demo/chart/funnel.png"} {
		if rec := w.do("GET", path, nil, other); rec.Code != http.StatusForbidden {
			t.Errorf("%s for a member of another hamlet: %d, want 403", path, rec.Code)
		}
	}
	if rec := w.do("GET", "/d/h/a-1", nil); rec.Code != http.StatusUnauthorized {
		t.Errorf("no session: %d, want 401", rec.Code)
	}
	if rec := w.do("GET", "/d/h/a-2", nil, other); rec.Code != http.StatusOK {
		t.Errorf("their own hamlet: %d, want 200", rec.Code)
	}
}

func TestAPrivateGuidesFunnelIsMaskedForThoseWhoMayNotName(t *testing.T) {
	w := newWorld(t, base)
	for i := range 3 {
		w.begin("tg:"+strconv.Itoa(30+i), "a-1", "other")
	}
	w.now = w.now.Add(73 * time.Hour)
	for who, want := range map[string][3]string{
		"tg:5": {"&lt;5", "&lt;5", "0"}, // a team member
		"tg:7": {"3", "3", "0"},         // the hamlet's party-cell secretary
	} {
		s := w.login(w.link(who))
		page := w.do("GET", "/d/h/a-1", nil, s).Body.String()
		if got := stepCells(t, page, "other", "one"); got != want {
			t.Errorf("%s sees %v, want %v", who, got, want)
		}
		svg := w.do("GET", "/d/h/a-1/chart/other/funnel.svg", nil, s).Body.String()
		trend := w.do("GET", "/d/h/a-1/chart/other/trend.svg", nil, s).Body.String()
		if who == "tg:5" && (strings.Contains(svg, ">3<") || strings.Contains(trend, ">3<") || strings.Contains(page, ">3<")) {
			t.Errorf("%s: the masked 3 is written in the page or a chart", who)
		}
		if who == "tg:7" && !strings.Contains(svg, ">3<") {
			t.Errorf("%s: the chart does not write 3", who)
		}
	}
}

func TestACommunesFunnelSumsItsHamletsAndMarksTheWorstSteps(t *testing.T) {
	w := newWorld(t, base)
	for i := range 3 {
		w.begin("tg:"+strconv.Itoa(30+i), "a-1", "demo")
	}
	for i := range 2 {
		w.begin("tg:"+strconv.Itoa(40+i), "a-2", "demo")
	}
	w.now = w.now.Add(73 * time.Hour)
	s := w.login(w.link("tg:2"))
	rec := w.do("GET", "/d/c/xa-a/f/demo", nil, s)
	if rec.Code != http.StatusOK {
		t.Fatalf("the commune's funnel: %d", rec.Code)
	}
	page := rec.Body.String()
	if got := stepCells(t, page, "demo", "phone"); got != [3]string{"5", "5", "0"} {
		t.Errorf("phone across the commune: %v, want 5 5 0", got)
	}
	if !regexp.MustCompile(`<tr data-step="phone" class="top">`).MatchString(page) {
		t.Error("the step where everyone stopped is not marked")
	}
	if n := strings.Count(page, `class="top"`); n != 1 {
		t.Errorf("%d steps marked, want 1 (only one step has anyone stopped)", n)
	}
	if !strings.Contains(page, `href="/d/h/a-1?`) || !strings.Contains(page, `href="/d/h/a-2?`) {
		t.Error("the per-hamlet table does not link the hamlets")
	}
	if rec := w.do("GET", "/d/c/xa-a/f/nosuch", nil, s); rec.Code != http.StatusNotFound {
		t.Errorf("an unknown guide: %d, want 404", rec.Code)
	}
	over := w.do("GET", "/d/", nil, s).Body.String()
	if !strings.Contains(over, `href="/d/c/xa-a/f/demo?`) {
		t.Error("the overview does not link the commune's funnel of the guide")
	}
}

func TestChartsDownloadAsSVGAndPNG(t *testing.T) {
	w := newWorld(t, base)
	for i := range 3 {
		w.begin("tg:"+strconv.Itoa(30+i), "a-1", "demo")
	}
	s := w.login(w.link("tg:5"))
	svg := w.do("GET", "/d/h/a-1/chart/demo/funnel.svg", nil, s)
	if ct := svg.Header().Get("Content-Type"); svg.Code != 200 || ct != "image/svg+xml" {
		t.Fatalf("funnel.svg: %d %s", svg.Code, ct)
	}
	if b := svg.Body.String(); !strings.HasPrefix(b, "<?xml") || !strings.Contains(b, ">3<") {
		t.Errorf("funnel.svg is not a standalone SVG with the number 3: %.200s", b)
	}
	if cd := svg.Header().Get("Content-Disposition"); !strings.Contains(cd, `filename="hangxom-a-1-demo-funnel-`) {
		t.Errorf("funnel.svg is named %q", cd)
	}
	for _, name := range []string{"funnel.png", "trend.png"} {
		rec := w.do("GET", "/d/h/a-1/chart/demo/"+name, nil, s)
		if rec.Code != 200 || rec.Header().Get("Content-Type") != "image/png" {
			t.Fatalf("%s: %d %s", name, rec.Code, rec.Header().Get("Content-Type"))
		}
		img, err := png.Decode(bytes.NewReader(rec.Body.Bytes()))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if img.Bounds().Dx() < 600 {
			t.Errorf("%s is %d px wide", name, img.Bounds().Dx())
		}
	}
	for _, name := range []string{"funnel.gif", "pie.svg", "funnel"} {
		if rec := w.do("GET", "/d/h/a-1/chart/demo/"+name, nil, s); rec.Code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", name, rec.Code)
		}
	}
}

func TestAHamletsPageListsItsOpenHelpRequestsWithTheirAge(t *testing.T) {
	w := newWorld(t, base)
	for i, at := range []time.Time{w.now.Add(-3 * time.Hour), w.now.Add(-50 * time.Hour)} {
		h := flows.HelpRequest{ID: "r" + strconv.Itoa(i), Hamlet: "a-1", Flow: "demo", Step: "install", Resident: "tg:30",
			Name: "Bà Tư", At: at, Status: flows.HelpOpen, Urgent: i == 1}
		if _, err := w.st.CreateHelp(t.Context(), h); err != nil {
			t.Fatal(err)
		}
	}
	page := w.do("GET", "/d/h/a-1", nil, w.login(w.link("tg:5"))).Body.String()
	for _, want := range []string{"dashboard.age_hours{N=3}", "dashboard.age_days{N=2}", "🚨 dashboard.help_open", "demo.install"} {
		if !strings.Contains(page, want) {
			t.Errorf("the open requests do not show %q", want)
		}
	}
	if strings.Contains(page, "Bà Tư") {
		t.Error("the page names the resident who asked")
	}
	if strings.Index(page, "age_days") > strings.Index(page, "age_hours") {
		t.Error("the older request is not listed first")
	}
}

func TestAPrivateGuidesOpenRequestsAreListedOnlyToThoseWhoMayName(t *testing.T) {
	w := newWorld(t, base)
	h := flows.HelpRequest{ID: "p1", Hamlet: "a-1", Flow: "other", Step: "one", Resident: "tg:30", At: w.now.Add(-time.Hour), Status: flows.HelpOpen}
	if _, err := w.st.CreateHelp(t.Context(), h); err != nil {
		t.Fatal(err)
	}
	for who, want := range map[string]bool{"tg:5": false, "tg:7": true} {
		page := w.do("GET", "/d/h/a-1", nil, w.login(w.link(who))).Body.String()
		if got := strings.Contains(page, "other.one"); got != want {
			t.Errorf("%s sees the private guide's request: %v, want %v", who, got, want)
		}
	}
}

// The CSV download is the file /export sends in the chat, byte for byte,
// for a coordinator and for a team member (whose private guide is masked
// alike), and bad months are refused.
func TestTheCSVDownloadIsTheChatsExport(t *testing.T) {
	w := newWorld(t, base)
	for i := range 3 {
		w.begin("tg:"+strconv.Itoa(30+i), "a-1", "other")
	}
	w.begin("tg:40", "a-1", "demo")
	for _, who := range []string{"tg:2", "tg:5"} {
		s := w.login(w.link(who))
		rs := w.send(who, flows.Input{Kind: flows.InputCommand, Command: "export", Text: "2026-10 2026-11"})
		var doc *flows.Document
		for _, r := range rs {
			if r.Document != nil {
				doc = r.Document
			}
		}
		if doc == nil {
			t.Fatalf("%s: /export sent no file: %+v", who, rs)
		}
		rec := w.do("GET", "/d/export.csv?from=2026-10&to=2026-11", nil, s)
		if rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), doc.Data) {
			t.Errorf("%s: the download (%d, %d bytes) is not /export's file (%d bytes):\n%s\n---\n%s", who, rec.Code, rec.Body.Len(), len(doc.Data), rec.Body, doc.Data)
		}
		if cd := rec.Header().Get("Content-Disposition"); !strings.Contains(cd, `filename="`+doc.Name+`"`) {
			t.Errorf("%s: the download is named %q, /export's %q", who, cd, doc.Name)
		}
		if who == "tg:5" && !strings.Contains(rec.Body.String(), "<5") {
			t.Errorf("the team member's download does not mask the private guide:\n%s", rec.Body)
		}
		for _, bad := range []string{"from=2026-11&to=2026-10", "from=nope"} {
			if rec := w.do("GET", "/d/export.csv?"+bad, nil, s); rec.Code != http.StatusBadRequest {
				t.Errorf("%s: export.csv?%s: %d, want 400", who, bad, rec.Code)
			}
		}
	}
	if rec := w.do("GET", "/d/export.csv", nil); rec.Code != http.StatusUnauthorized {
		t.Errorf("no session: %d, want 401", rec.Code)
	}
}

// A private guide's masked counts cover /stats' whole period on every page
// and in the feed, as in the chat: this year's alone, subtracted from the
// chat's, would give last year's small count away.
func TestMaskedCountsCoverTheChatsWholePeriod(t *testing.T) {
	w := newWorld(t, base)
	w.desk.Stats.Since = "2025-01"
	t0 := w.now
	w.now = time.Date(2025, 8, 10, 9, 0, 0, 0, time.UTC)
	for i := range 3 {
		w.begin("tg:"+strconv.Itoa(30+i), "a-1", "other")
	}
	w.now = t0
	for i := range 5 {
		w.begin("tg:"+strconv.Itoa(40+i), "a-1", "other")
	}
	page := w.do("GET", "/d/", nil, w.login(w.link("tg:5"))).Body.String()
	if got := cells(t, page, "other.title", "Xóm 1")[0]; got != "8" {
		t.Errorf("a team member's overview: other started = %s, want 8 (2025-01 to now, as /stats)", got)
	}
	if !strings.Contains(page, "dashboard.since_only{Flow=other.title,From=2025-01}") {
		t.Error("the overview does not say the private guide covers the whole period")
	}
	if got := cells(t, page, "demo.title", "Xóm 1")[0]; got != "0" {
		t.Errorf("demo started = %s, want 0", got)
	}
	hamlet := w.do("GET", "/d/h/a-1", nil, w.login(w.link("tg:5"))).Body.String()
	if !strings.Contains(hamlet, "dashboard.since_only{Flow=other.title,From=2025-01}") {
		t.Error("the hamlet's page does not say the private guide covers the whole period")
	}
	// Reached bounds the stalled below it: with the 3 stalled of 2025
	// hidden, reached is hidden too.
	if got := stepCells(t, hamlet, "other", "one"); got != [3]string{"—", "&lt;5", "0"} {
		t.Errorf("a team member's funnel: other one = %v, want — &lt;5 0", got)
	}
	// The secretary may name: this year's range applies.
	page = w.do("GET", "/d/", nil, w.login(w.link("tg:7"))).Body.String()
	if got := cells(t, page, "other.title", "Xóm 1")[0]; got != "5" {
		t.Errorf("the secretary's overview: other started = %s, want 5 (this year)", got)
	}
}

// Reached is shown in a masked funnel when no stalled or help cell is
// hidden, and hidden with them when one is (it bounds them).
func TestReachedIsHiddenWithAHiddenStalledCell(t *testing.T) {
	w := newWorld(t, base)
	for i := range 5 {
		w.begin("tg:"+strconv.Itoa(30+i), "a-1", "other")
	}
	page := w.do("GET", "/d/h/a-1", nil, w.login(w.link("tg:5"))).Body.String()
	if got := stepCells(t, page, "other", "one"); got != [3]string{"5", "0", "0"} {
		t.Errorf("nobody stalled: %v, want 5 0 0", got)
	}
	w.now = w.now.Add(73 * time.Hour)
	w.begin("tg:40", "a-1", "other") // reached, not stalled: 6 reached, 5 stalled
	for i := range 4 {
		w.begin("tg:"+strconv.Itoa(41+i), "a-2", "other")
	}
	page = w.do("GET", "/d/h/a-1", nil, w.login(w.link("tg:5"))).Body.String()
	if got := stepCells(t, page, "other", "one"); got != [3]string{"6", "5", "0"} {
		t.Errorf("5 stalled, shown: %v, want 6 5 0", got)
	}
	page = w.do("GET", "/d/h/a-2", nil, w.login(w.link("tg:6"))).Body.String()
	if got := stepCells(t, page, "other", "one"); got != [3]string{"&lt;5", "0", "0"} {
		t.Errorf("a-2: %v, want &lt;5 0 0", got)
	}
}

// A hamlet merged into another counts in it on the hamlet's page as in
// the overview's row (RollUp): the trend adds up to the row, and the
// funnel has its residents.
func TestAMergedHamletCountsInItsSuccessorsPage(t *testing.T) {
	w := newWorld(t, base)
	areas := append(slices.Clone(flowstest.Areas), flows.Area{ID: "a-old", Level: flows.LevelHamlet, Name: "Xóm Cũ",
		ParentID: "xa-a", ValidTo: "2026-01-31", Successor: "a-1"})
	w.desk.Areas = flows.NewAreaIndex(areas)
	for i := range 3 {
		w.begin("tg:"+strconv.Itoa(30+i), "a-1", "demo")
	}
	k := w.st.Keys()
	month := w.now.Format("2006-01")
	if err := w.st.Client().HSet(t.Context(), k.MonthCounts("a-old", month), "demo:started", 2).Err(); err != nil {
		t.Fatal(err)
	}
	if err := w.st.Client().HSet(t.Context(), k.Funnel("a-old", "demo", month), "phone", 2).Err(); err != nil {
		t.Fatal(err)
	}
	s := w.login(w.link("tg:5"))
	over := w.do("GET", "/d/", nil, s).Body.String()
	if got := cells(t, over, "demo.title", "Xóm 1")[0]; got != "5" {
		t.Fatalf("the overview's started = %s, want 5 (3 + the merged hamlet's 2)", got)
	}
	page := w.do("GET", "/d/h/a-1", nil, s).Body.String()
	if got := stepCells(t, page, "demo", "phone"); got[0] != "5" {
		t.Errorf("the funnel's phone reached = %s, want 5", got[0])
	}
	if !strings.Contains(page, "<td>5</td>") {
		t.Error("the trend's month does not read 5 started")
	}
}
