package dashboard

import (
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hangxomso/hangxom/dashboard/chart"
	"github.com/hangxomso/hangxom/flows"
)

// The overview: a coordinator's communes (or, with ?area=, one commune's
// hamlets), a team member's hamlets; per flow, completed against the target
// as bars, and the same numbers in a table; a month range as a GET form.

// overviewPage is what overview.html shows.
type overviewPage struct {
	Lang, Title, CSS, Base string
	Scope                  string // "Xã A" or the member's areas
	From, To               string
	Months                 []string // the months the form offers
	Area                   string   // ?area=, kept by the form
	Flows                  []flowView
	CSRF                   string
	Other                  langLink // the switch to the other language
	Up                     string   // back to the whole overview, when ?area= is set
	Generated              string
	Download               string // the CSV of /export for the months
}

type langLink struct{ Label, Href string }

// flowView is one flow: its chart and its table.
type flowView struct {
	Title string
	Chart template.HTML
	Rows  []rowView
	// Note says the numbers are the default range's, not the one asked
	// for: the flow's counts are masked for this viewer.
	Note string
}

// rowView is one area's numbers, as text ("<5" when masked).
type rowView struct {
	Area, Href, Steps                             string
	Started, Completed, Self, Team, Stalled, Help string
	Share, Target                                 string
	completedHidden                               bool
}

// total is one area's sums for one flow.
type total struct {
	id, name, href string
	steps          string // the link to the flow's step funnel
	t              flows.StatsTotal
	masked         bool
	share, target  *float64
}

func (s *Server) overview(w http.ResponseWriter, r *http.Request) {
	v, ok := s.who(w, r)
	if !ok {
		return
	}
	lang := langOf(r, v.s.Lang)
	q := r.URL.Query()
	area := q.Get("area")
	if area != "" && !s.Desk.MayArea(v.m, area) {
		s.say(w, http.StatusForbidden, lang, "dashboard.not_your_area")
		return
	}
	now := s.now()
	all, from, to := s.monthRange(now, q.Get("from"), q.Get("to"))
	months, err := flows.MonthsBetween(from, to)
	if err != nil {
		s.fail(w, lang, "overview", err)
		return
	}
	// With ?area=, only that area's hamlets are read.
	read := func(months []string) ([]flows.StatsRow, error) {
		if area != "" {
			return s.Desk.AreaRows(r.Context(), v.m, area, nil, months, now)
		}
		return s.Desk.Rows(r.Context(), v.m, months, now)
	}
	rows, err := read(months)
	if err != nil {
		s.fail(w, lang, "overview", err)
		return
	}
	// A row whose counts are masked for this viewer is always the default
	// range's: two ranges subtracted would undo the mask.
	defFrom, defTo := s.maskedRange(now)
	if from != defFrom || to != defTo {
		defMonths, err := flows.MonthsBetween(defFrom, defTo)
		if err != nil {
			s.fail(w, lang, "overview", err)
			return
		}
		defRows, err := read(defMonths)
		if err != nil {
			s.fail(w, lang, "overview", err)
			return
		}
		rows = slices.DeleteFunc(rows, func(x flows.StatsRow) bool { return !s.Desk.MayName(v.m, x.HamletID, x.Flow) })
		for _, x := range defRows {
			if !s.Desk.MayName(v.m, x.HamletID, x.Flow) {
				rows = append(rows, x)
			}
		}
	}
	p := overviewPage{Lang: lang, Title: s.text(lang, "dashboard.title", nil), CSS: s.base() + "static/dash.css",
		Base: s.base(), From: from, To: to, Months: all, Area: area, CSRF: v.s.CSRF,
		Generated: now.In(s.location()).Format("2006-01-02 15:04"), Download: s.exportHref(from, to)}
	other := "en"
	if lang == "en" {
		other = "vi"
	}
	p.Other = langLink{Label: s.text(lang, "dashboard.lang_"+other, nil), Href: s.href(other, from, to, area)}
	// A coordinator sees communes, and a commune's hamlets with ?area=;
	// a team member, hamlets.
	byCommune := v.m.Role == flows.RoleCoordinator && area == ""
	if area != "" {
		p.Up = s.href(lang, from, to, "")
	}
	order, sums := s.sum(v, rows, byCommune, area, lang, from, to)
	p.Scope = areaNames(sums, order)
	for i, f := range s.sortedFlows() {
		fv, err := s.flowView(lang, i, f, order, sums, from, to, defFrom, defTo)
		if err != nil {
			s.fail(w, lang, "overview", err)
			return
		}
		p.Flows = append(p.Flows, fv)
	}
	s.page(w, http.StatusOK, lang, "overview.html", p)
}

func areaNames(sums map[string][]*total, order []string) string {
	var names []string
	for _, id := range order {
		names = append(names, sums[id][0].name)
	}
	return strings.Join(names, ", ")
}

// sortedFlows are the library's flows by id, the order of `hangxom stats`.
func (s *Server) sortedFlows() []*flows.Flow {
	out := slices.Clone(s.Library.Flows())
	slices.SortFunc(out, func(a, b *flows.Flow) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// sum adds the rows up by area (commune or hamlet), per flow: sums[area]
// has one total per flow in sortedFlows' order; order lists the areas as
// the rows do.
func (s *Server) sum(v viewer, rows []flows.StatsRow, byCommune bool, area, lang, from, to string) ([]string, map[string][]*total) {
	fs := s.sortedFlows()
	index := map[string]int{}
	for i, f := range fs {
		index[f.ID] = i
	}
	var order []string
	sums := map[string][]*total{}
	q := url.Values{"lang": {lang}, "from": {from}, "to": {to}}.Encode()
	for _, r := range rows {
		if area != "" && r.HamletID != area && r.CommuneID != area {
			continue
		}
		i, ok := index[r.Flow]
		if !ok {
			continue
		}
		id, name := r.HamletID, r.Hamlet
		if byCommune {
			id, name = r.CommuneID, r.Commune
		}
		if sums[id] == nil {
			// Links are made once per area, not per row: a province's
			// thousands of rows made them a sixth of the page's time.
			href := s.base() + "h/" + url.PathEscape(id) + "?" + q
			if byCommune {
				href = s.href(lang, from, to, id)
			}
			order = append(order, id)
			sums[id] = make([]*total, len(fs))
			for j, f := range fs {
				// Each row links to the guide's steps: a commune's funnel
				// of the guide, or the guide on the hamlet's page.
				steps := s.base() + "h/" + url.PathEscape(id) + "?" + q + "#g-" + f.ID
				if byCommune {
					steps = s.base() + "c/" + url.PathEscape(id) + "/f/" + url.PathEscape(f.ID) + "?" + q
				}
				sums[id][j] = &total{id: id, name: name, href: href, steps: steps}
			}
		}
		t := sums[id][i]
		t.t.Add(r)
		if !s.Desk.MayName(v.m, r.HamletID, r.Flow) {
			t.masked = true
		}
		if !byCommune {
			t.share, t.target = r.SharePct, r.TargetPct
		}
	}
	if byCommune {
		for _, id := range order {
			for i, f := range fs {
				t := sums[id][i]
				t.share, t.target = s.Desk.CommuneShare(id, f.ID, t.t.Completed)
			}
		}
	}
	return order, sums
}

// href is the overview's URL with these parameters.
func (s *Server) href(lang, from, to, area string) string {
	q := url.Values{}
	q.Set("lang", lang)
	q.Set("from", from)
	q.Set("to", to)
	if area != "" {
		q.Set("area", area)
	}
	return s.base() + "?" + q.Encode()
}

// row writes one area's numbers for one flow, masked by flows.MaskTotal,
// the one rule of the dashboard, /stats and /export: Started, Stalled and
// Help each alone; Completed, Self and Team together (one of them hidden
// hides all three, or the other two would give it away), and the share
// with them.
func (s *Server) row(lang string, t *total) rowView {
	shown := flows.MaskTotal(t.t, t.masked)
	row := rowView{Area: t.name, Href: t.href, Steps: t.steps,
		Started: shown.Started, Completed: shown.Completed, Self: shown.Self, Team: shown.Team,
		Stalled: shown.Stalled, Help: shown.Help,
		Share: pct(lang, t.share), Target: pct(lang, t.target), completedHidden: shown.GroupHidden}
	if shown.GroupHidden {
		row.Share = "—"
	}
	return row
}

// hidden reports whether masking hides n: 1 to flows.MaskBelow-1 of a
// masked flow.
func hidden(n int64, masked bool) bool { return masked && n > 0 && n < flows.MaskBelow }

// pct writes a percentage the way the reader writes numbers.
func pct(lang string, p *float64) string {
	if p == nil {
		return "—"
	}
	t := strconv.FormatFloat(*p, 'f', -1, 64)
	if lang == "vi" {
		t = strings.Replace(t, ".", ",", 1)
	}
	return t + "%"
}

// flowView draws one flow's chart and table. Bars show the share of
// households (or population) against the target when every area's share
// is known, otherwise the completed counts.
func (s *Server) flowView(lang string, i int, f *flows.Flow, order []string, sums map[string][]*total, from, to, defFrom, defTo string) (flowView, error) {
	fv := flowView{Title: s.text(lang, f.Title, nil)}
	shares := len(order) > 0
	masked := false
	for _, id := range order {
		t := sums[id][i]
		if t.share == nil {
			shares = false
		}
		masked = masked || t.masked
	}
	if masked && (from != defFrom || to != defTo) {
		from, to = defFrom, defTo
		fv.Note = s.text(lang, "dashboard.since_only", map[string]any{"Flow": fv.Title, "From": from})
	}
	b := chart.Bars{Heading: chart.Heading{ID: "f-" + f.ID, Title: fv.Title,
		Caption: s.text(lang, "dashboard.caption", map[string]any{"From": from, "To": to}),
		Desc:    s.text(lang, "dashboard.chart_desc", map[string]any{"Flow": fv.Title})},
		Words: chart.BarsWords{Value: s.text(lang, "dashboard.completed", nil)}}
	if shares {
		b.Max = 100
		for _, id := range order {
			if sums[id][i].target != nil {
				b.Words.Target = s.text(lang, "dashboard.target", nil) // the tick's legend, only when one is drawn
			}
		}
	}
	for _, id := range order {
		t := sums[id][i]
		row := s.row(lang, t)
		masked := row.completedHidden
		fv.Rows = append(fv.Rows, row)
		bar := chart.Bar{Label: t.name}
		switch {
		case masked:
			// Written as the table writes it: "<5", or "—" for a count
			// hidden with a small one of its group.
			bar.Value = chart.Mask(row.Completed)
		case shares:
			bar.Value = chart.Count{N: *t.share, Display: pct(lang, t.share) + " (" + row.Completed + ")"}
			if t.target != nil {
				bar.Target = *t.target
			}
		default:
			bar.Value = chart.N(t.t.Completed)
		}
		b.Bars = append(b.Bars, bar)
	}
	if len(b.Bars) == 0 {
		return fv, nil
	}
	svg, err := s.Charts.SVG(b)
	if err != nil {
		return fv, err
	}
	fv.Chart = svg
	return fv, nil
}

func (s *Server) location() *time.Location {
	if s.Location != nil {
		return s.Location
	}
	return time.UTC
}

// maskedRange is the only range over which a viewer who may not name a
// private flow's residents sees its counts: the whole of /stats' period
// (its first month to this month), the period /stats and /export in the
// chat use for them too. One period everywhere: two different ones
// subtracted would give a small count away.
func (s *Server) maskedRange(now time.Time) (from, to string) {
	from, to = s.Desk.StatsSince(), now.In(s.location()).Format("2006-01")
	if to < from {
		to = from
	}
	return from, to
}

// maxRangeMonths caps the months one page sums: a longer range asked for
// is cut to its last maxRangeMonths.
const maxRangeMonths = 24

// monthRange is the months the form offers (the stats' first month to this
// month) and the range asked for: by default, or when a bad one is asked,
// January of this year (or the stats' first month, if later) to this month;
// at most maxRangeMonths, cut from the start.
func (s *Server) monthRange(now time.Time, from, to string) (all []string, f, t string) {
	first, last := s.Desk.StatsSince(), now.In(s.location()).Format("2006-01")
	if last < first {
		last = first
	}
	all, _ = flows.MonthsBetween(first, last)
	ok := func(m string) bool {
		_, err := time.Parse("2006-01", m)
		return err == nil && len(m) == 7 && m >= first && m <= last
	}
	def := max(first, last[:4]+"-01")
	f, t = def, last
	if ok(from) {
		f = from
	}
	if ok(to) {
		t = to
	}
	if t < f {
		f, t = def, last
	}
	if end, err := time.Parse("2006-01", t); err == nil {
		if start := end.AddDate(0, -(maxRangeMonths - 1), 0).Format("2006-01"); f < start {
			f = start
		}
	}
	return all, f, t
}
