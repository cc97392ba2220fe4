package dashboard

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hangxomso/hangxom/dashboard/chart"
	"github.com/hangxomso/hangxom/desk"
	"github.com/hangxomso/hangxom/flows"
)

// A hamlet's page (h/{hamlet}) and a flow across a commune (c/{commune}/f/
// {flow}): per guide, the step funnel — how many residents reached each
// step, how many stopped there, how many asked for help there — and, for a
// hamlet, the monthly trend and the open help requests. Each chart can be
// downloaded as SVG or PNG (chart/…), from the same model as the page's.

// funnelPage is what funnel.html shows.
type funnelPage struct {
	Lang, Title, CSS, Base string
	Heading, Scope         string
	From, To               string
	Months                 []string
	Action                 string // the range form's target
	CSRF                   string
	Other                  langLink
	Up                     string
	Generated              string
	Guides                 []guideView
	// Open are the hamlet's open help requests (a hamlet's page only).
	Open     []openView
	HasOpen  bool // the hamlet page: show the open requests' section
	Posters  []langLink
	Hamlets  []rowView // the commune page: the flow's numbers per hamlet
	TopNote  string
	Download string // the CSV of /export for the page's months
}

// guideView is one guide: its funnel and trend, as charts and tables.
type guideView struct {
	ID, Title  string
	Note       string // the numbers are the default range's (masked), or none
	Empty      bool   // nobody reached any step in the range
	Funnel     template.HTML
	Steps      []stepView
	Trend      template.HTML
	Months     []monthView
	Downloads  []langLink
	TrendShown bool
}

type stepView struct {
	ID, No, Label            string
	Reached, Stalled, Help   string
	Top, Retired, Unassigned bool
}

type monthView struct{ Month, Started, Completed string }

type openView struct{ Guide, Step, Age, Status string }

// funnelChart builds a guide's funnel chart and its table rows from rows,
// masking a private guide's small counts when masked, and marking the (at
// most) three live steps where most residents stopped — only when nothing
// is masked, since the order of masked counts would tell them apart.
func (s *Server) funnelChart(lang string, f *flows.Flow, rows []flows.FunnelRow, masked bool, title, caption string) (chart.Funnel, []stepView) {
	c := chart.Funnel{Heading: chart.Heading{ID: "fn-" + f.ID, Title: title, Caption: caption,
		Desc: s.text(lang, "dashboard.funnel_desc", map[string]any{"Flow": s.text(lang, f.Title, nil)})},
		Words: chart.FunnelWords{Reached: s.text(lang, "dashboard.reached", nil), Stalled: s.text(lang, "dashboard.stalled", nil),
			Help: s.text(lang, "dashboard.help", nil), Top: s.text(lang, "dashboard.top", nil)}}
	reached := make([]int64, len(rows))
	stalled := make([]int64, len(rows))
	help := make([]int64, len(rows))
	for i, r := range rows {
		reached[i], stalled[i], help[i] = r.Reached, r.Stalled, r.Help
	}
	// Stalled and help add up to the hamlet's /stats figures, shown on the
	// overview: one column's masked cell could be had from the others, so
	// a column with any hidden cell is hidden whole. Reached has no such
	// sum.
	sc, hc := columnCounts(stalled, masked, true), columnCounts(help, masked, true)
	// Reached has no sum, but it bounds what stalled between two steps
	// (reached 10 then 9: a "<5" stalled at the first is 1): with any
	// stalled or help cell hidden, every non-zero reached cell is too.
	hideReached := false
	for i := range rows {
		hideReached = hideReached || sc[i].Masked || hc[i].Masked
	}
	rc := columnCounts(reached, masked, hideReached)
	if hideReached {
		for i, n := range reached {
			if n > 0 && !rc[i].Masked {
				rc[i] = chart.Mask("—")
			}
		}
	}
	top := map[int]bool{}
	if !masked {
		top = topStops(rows)
	}
	var views []stepView
	no := 0
	for i, r := range rows {
		v := stepView{ID: r.Step, Retired: r.Retired, Unassigned: r.Step == "", Top: top[i]}
		switch {
		case r.Step == "":
			v.Label = s.text(lang, "dashboard.step_unknown", nil)
		case r.Retired:
			v.Label = s.text(lang, "dashboard.step_retired", map[string]any{"Step": r.Step})
		default:
			no++
			v.No = strconv.Itoa(no)
			v.Label = s.stepLabel(lang, f, r.Step)
		}
		v.Reached, v.Stalled, v.Help = rc[i].Text(), sc[i].Text(), hc[i].Text()
		views = append(views, v)
		label := v.Label
		if v.No != "" {
			label = v.No + ". " + label
		}
		c.Rows = append(c.Rows, chart.FunnelRow{Step: r.Step, Label: label, Reached: rc[i], Stalled: sc[i], Help: hc[i], Top: v.Top})
	}
	return c, views
}

// columnCounts writes a column of counts. Unmasked, as they are. Masked,
// each 1–4 is "<5"; and when group is set and any cell is hidden, every
// other non-zero cell is "—" too, drawn as a stub (see funnelChart).
func columnCounts(ns []int64, masked, group bool) []chart.Count {
	out := make([]chart.Count, len(ns))
	any := false
	for _, n := range ns {
		any = any || hidden(n, masked)
	}
	for i, n := range ns {
		switch {
		case hidden(n, masked):
			out[i] = chart.Mask("")
		case group && any && n > 0:
			out[i] = chart.Mask("—")
		default:
			out[i] = chart.N(n)
		}
	}
	return out
}

// topStops are the indexes of the (at most) chart.MaxTop live steps with the
// most residents stalled, more than none; a tie goes to the earlier step.
func topStops(rows []flows.FunnelRow) map[int]bool {
	var idx []int
	for i, r := range rows {
		if r.Step != "" && !r.Retired && r.Stalled > 0 {
			idx = append(idx, i)
		}
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case rows[a].Stalled > rows[b].Stalled:
			return -1
		case rows[a].Stalled < rows[b].Stalled:
			return 1
		}
		return 0
	})
	top := map[int]bool{}
	for _, i := range idx[:min(len(idx), chart.MaxTop)] {
		top[i] = true
	}
	return top
}

// stepLabel is how the pages name a step: the first line of what it says
// to the resident, without markup, cut to about 60 characters. A team
// member recognises the screen; the id would mean nothing to them.
func (s *Server) stepLabel(lang string, f *flows.Flow, id string) string {
	st, ok := f.Step(id)
	if !ok || st.Say == "" {
		return id
	}
	t, _ := s.Loc.Localize(lang, st.Say, nil)
	if t == "" {
		return id
	}
	t, _, _ = strings.Cut(strings.TrimSpace(t), "\n")
	t = strings.NewReplacer("*", "", "_", "", "`", "").Replace(t)
	// Emoji go (the charts drop them too: see chart.clean), so the table
	// and the chart write the same label.
	t = strings.Map(func(r rune) rune {
		if chart.IsEmoji(r) {
			return -1
		}
		return r
	}, t)
	t = strings.Join(strings.Fields(t), " ")
	const maxLabel = 60
	if utf8.RuneCountInString(t) > maxLabel {
		r := []rune(t)[:maxLabel]
		cut := string(r)
		if i := strings.LastIndex(cut, " "); i > maxLabel/2 {
			cut = cut[:i]
		}
		t = strings.TrimRight(cut, " ,.;:") + "…"
	}
	if t == "" {
		return id
	}
	return t
}

// trendChart builds a guide's monthly trend, masked like the funnel's
// columns: started and completed each add up to the overview's figures.
func (s *Server) trendChart(lang string, f *flows.Flow, months []string, byMonth map[string]map[string]flows.Counts, masked bool, title, caption string) (chart.Trend, []monthView) {
	c := chart.Trend{Heading: chart.Heading{ID: "tr-" + f.ID, Title: title, Caption: caption,
		Desc: s.text(lang, "dashboard.trend_desc", map[string]any{"Flow": s.text(lang, f.Title, nil)})},
		Words: chart.TrendWords{Started: s.text(lang, "dashboard.started", nil), Completed: s.text(lang, "dashboard.completed", nil)}}
	started := make([]int64, len(months))
	completed := make([]int64, len(months))
	for i, m := range months {
		n := byMonth[m][f.ID]
		started[i], completed[i] = n.Started, n.CompletedSelf+n.CompletedTeam
	}
	sc, cc := columnCounts(started, masked, true), columnCounts(completed, masked, true)
	var views []monthView
	for i, m := range months {
		label := monthLabel(m)
		c.Months = append(c.Months, chart.Month{Label: label, Started: sc[i], Completed: cc[i]})
		views = append(views, monthView{Month: label, Started: sc[i].Text(), Completed: cc[i].Text()})
	}
	return c, views
}

// monthLabel writes 2026-11 as 11/2026, as Vietnamese dates are written.
func monthLabel(m string) string {
	if len(m) == 7 {
		return m[5:] + "/" + m[:4]
	}
	return m
}

// age writes how long ago t was, roughly: "35 phút", "5 giờ", "3 ngày".
func (s *Server) age(lang string, d time.Duration) string {
	switch {
	case d < time.Hour:
		return s.text(lang, "dashboard.age_minutes", map[string]any{"N": max(1, int(d/time.Minute))})
	case d < 48*time.Hour:
		return s.text(lang, "dashboard.age_hours", map[string]any{"N": int(d / time.Hour)})
	}
	return s.text(lang, "dashboard.age_days", map[string]any{"N": int(d / (24 * time.Hour))})
}

// pageRange is the month range of a page: the one asked for, and the
// one a private guide's masked numbers always show (maskedRange).
type pageRange struct {
	all                   []string
	from, to              string
	defFrom, defTo        string
	months, defaultMonths []string
	isDefault             bool
}

func (s *Server) pageRange(r *http.Request, now time.Time) (pageRange, error) {
	q := r.URL.Query()
	var p pageRange
	p.all, p.from, p.to = s.monthRange(now, q.Get("from"), q.Get("to"))
	p.defFrom, p.defTo = s.maskedRange(now)
	var err error
	if p.months, err = flows.MonthsBetween(p.from, p.to); err != nil {
		return p, err
	}
	if p.defaultMonths, err = flows.MonthsBetween(p.defFrom, p.defTo); err != nil {
		return p, err
	}
	p.isDefault = p.from == p.defFrom && p.to == p.defTo
	return p, nil
}

// query is the query string of a page or download with the range and lang.
func (p pageRange) query(lang string) string {
	q := url.Values{}
	q.Set("lang", lang)
	q.Set("from", p.from)
	q.Set("to", p.to)
	return q.Encode()
}

// hamlet serves h/{hamlet}: a hamlet's funnels, trends, open help requests
// and posters, to a member who may see the hamlet.
func (s *Server) hamlet(w http.ResponseWriter, r *http.Request) {
	v, ok := s.who(w, r)
	if !ok {
		return
	}
	lang := langOf(r, v.s.Lang)
	h, ok := s.mayHamlet(v, r.PathValue("hamlet"))
	if !ok {
		s.say(w, http.StatusForbidden, lang, "dashboard.not_your_area")
		return
	}
	now := s.now()
	pr, err := s.pageRange(r, now)
	if err != nil {
		s.fail(w, lang, "hamlet", err)
		return
	}
	data, defData, err := s.hamletData(r, v, h.ID, pr, now)
	if err != nil {
		s.fail(w, lang, "hamlet", err)
		return
	}
	c, _ := s.Desk.Area(h.ParentID)
	p := s.funnelPageFor(v, lang, pr, now, "h/"+url.PathEscape(h.ID))
	p.Heading = h.Name
	p.Scope = c.Name
	p.HasOpen = true
	p.Download = s.exportHref(pr.from, pr.to)
	for _, f := range s.sortedFlows() {
		g, err := s.hamletGuide(lang, v, h, f, pr, data, defData)
		if err != nil {
			s.fail(w, lang, "hamlet", err)
			return
		}
		p.Guides = append(p.Guides, g)
	}
	for _, o := range data.Open {
		if !s.Desk.MayName(v.m, h.ID, o.Flow) {
			// A request in a private guide is one person: only those who
			// may name its residents see it (as /pending lists them).
			continue
		}
		ov := openView{Age: s.age(lang, now.Sub(o.At)), Status: s.text(lang, "dashboard.help_"+o.Status, nil)}
		if f, ok := s.Library.Flow(o.Flow); ok {
			ov.Guide = s.text(lang, f.Title, nil)
			if o.Step != "" {
				ov.Step = s.stepLabel(lang, f, o.Step)
			}
		}
		if o.Urgent {
			ov.Status = "🚨 " + ov.Status
		}
		p.Open = append(p.Open, ov)
	}
	for _, ch := range s.PosterChannels {
		p.Posters = append(p.Posters, langLink{Label: s.text(lang, "dashboard.poster_"+ch, nil),
			Href: s.base() + "h/" + url.PathEscape(h.ID) + "/poster.png?channel=" + ch})
	}
	s.page(w, http.StatusOK, lang, "funnel.html", p)
}

// hamletData reads the hamlet's page, and when the range is not the
// default and a private guide is masked for this viewer, the default
// range's too (those guides show only that: two ranges subtracted would
// undo the mask).
func (s *Server) hamletData(r *http.Request, v viewer, hamlet string, pr pageRange, now time.Time) (data, def flows.HamletView, err error) {
	data, err = s.Desk.HamletView(r.Context(), hamlet, pr.months, now)
	if err != nil || pr.isDefault {
		return data, data, err
	}
	for _, f := range s.Library.Flows() {
		if !s.Desk.MayName(v.m, hamlet, f.ID) {
			def, err = s.Desk.HamletView(r.Context(), hamlet, pr.defaultMonths, now)
			return data, def, err
		}
	}
	return data, data, nil
}

// hamletGuide draws one guide of a hamlet's page.
func (s *Server) hamletGuide(lang string, v viewer, h flows.Area, f *flows.Flow, pr pageRange, data, def flows.HamletView) (guideView, error) {
	m := s.hamletModels(lang, v, h, f, pr, data, def)
	g := guideView{ID: f.ID, Title: m.funnel.Title, Note: m.note}
	if !hasCounts(m.rows) {
		g.Empty = true
		return g, nil
	}
	svg, err := s.Charts.SVG(m.funnel)
	if err != nil {
		return g, err
	}
	g.Funnel, g.Steps = svg, m.steps
	if svg, err = s.Charts.SVG(m.trend); err != nil {
		return g, err
	}
	g.Trend, g.Months, g.TrendShown = svg, m.months, true
	base := s.base() + "h/" + url.PathEscape(h.ID) + "/chart/" + url.PathEscape(f.ID)
	q := pr.query(lang)
	g.Downloads = []langLink{
		{Label: s.text(lang, "dashboard.download_funnel_png", nil), Href: base + "/funnel.png?" + q},
		{Label: s.text(lang, "dashboard.download_funnel_svg", nil), Href: base + "/funnel.svg?" + q},
		{Label: s.text(lang, "dashboard.download_trend_png", nil), Href: base + "/trend.png?" + q},
	}
	return g, nil
}

// guideModels are a guide's charts on a page, and what the page writes
// beside them; the page and the chart downloads build them alike.
type guideModels struct {
	rows     []flows.FunnelRow
	funnel   chart.Funnel
	steps    []stepView
	trend    chart.Trend
	months   []monthView
	from, to string
	read     []string // the months read: from..to
	note     string   // the masked range's note, when it replaced the one asked
}

// hamletModels builds a hamlet's charts of f: masked, and over the masked
// range (from def), for a viewer who may not name its residents.
func (s *Server) hamletModels(lang string, v viewer, h flows.Area, f *flows.Flow, pr pageRange, data, def flows.HamletView) guideModels {
	title := s.text(lang, f.Title, nil)
	masked := !s.Desk.MayName(v.m, h.ID, f.ID)
	m := guideModels{from: pr.from, to: pr.to, read: pr.months}
	if masked && !pr.isDefault {
		data, m.from, m.to, m.read = def, pr.defFrom, pr.defTo, pr.defaultMonths
		m.note = s.text(lang, "dashboard.since_only", map[string]any{"Flow": title, "From": m.from})
	}
	m.rows = data.Funnels[f.ID]
	caption := h.Name + " · " + s.text(lang, "dashboard.caption", map[string]any{"From": m.from, "To": m.to})
	m.funnel, m.steps = s.funnelChart(lang, f, m.rows, masked, title, caption)
	m.trend, m.months = s.trendChart(lang, f, m.read, data.Months, masked, title, caption)
	return m
}

// communeModels reads and builds a commune's funnel of f over the hamlets v
// may see there: masked, over the masked range, when v may not name the
// residents of any of them.
func (s *Server) communeModels(r *http.Request, lang string, v viewer, c flows.Area, f *flows.Flow, pr pageRange, now time.Time) (guideModels, error) {
	hamlets := s.Desk.Hamlets(v.m, c.ID)
	ids := make([]string, len(hamlets))
	masked := false
	for i, h := range hamlets {
		ids[i] = h.ID
		masked = masked || !s.Desk.MayName(v.m, h.ID, f.ID)
	}
	title := s.text(lang, f.Title, nil)
	m := guideModels{from: pr.from, to: pr.to, read: pr.months}
	if masked && !pr.isDefault {
		m.from, m.to, m.read = pr.defFrom, pr.defTo, pr.defaultMonths
		m.note = s.text(lang, "dashboard.since_only", map[string]any{"Flow": title, "From": m.from})
	}
	funnels, err := s.Desk.Funnels(r.Context(), ids, f, m.read, now)
	if err != nil {
		return m, err
	}
	m.rows = sumFunnels(f, ids, funnels)
	caption := c.Name + " · " + s.text(lang, "dashboard.caption", map[string]any{"From": m.from, "To": m.to})
	m.funnel, m.steps = s.funnelChart(lang, f, m.rows, masked, title, caption)
	return m, nil
}

func hasCounts(rows []flows.FunnelRow) bool {
	for _, r := range rows {
		if r.Reached > 0 || r.Stalled > 0 || r.Help > 0 {
			return true
		}
	}
	return false
}

// mayHamlet returns hamlet id when v may see it.
func (s *Server) mayHamlet(v viewer, id string) (flows.Area, bool) {
	h, ok := s.Desk.Area(id)
	if !ok || h.Level != flows.LevelHamlet || !s.Desk.MayArea(v.m, id) {
		return flows.Area{}, false
	}
	return h, true
}

// funnelPageFor fills what every funnel page has.
func (s *Server) funnelPageFor(v viewer, lang string, pr pageRange, now time.Time, path string) funnelPage {
	other := "en"
	if lang == "en" {
		other = "vi"
	}
	p := funnelPage{Lang: lang, Title: s.text(lang, "dashboard.title", nil), CSS: s.base() + "static/dash.css",
		Base: s.base(), From: pr.from, To: pr.to, Months: pr.all, Action: s.base() + path, CSRF: v.s.CSRF,
		Generated: now.In(s.location()).Format("2006-01-02 15:04"), Up: s.href(lang, pr.from, pr.to, "")}
	q := pr
	p.Other = langLink{Label: s.text(lang, "dashboard.lang_"+other, nil), Href: s.base() + path + "?" + q.query(other)}
	return p
}

// commune serves c/{commune}/f/{flow}: a guide's funnel summed over a
// commune's hamlets, its three worst steps marked, and the guide's numbers
// per hamlet.
func (s *Server) commune(w http.ResponseWriter, r *http.Request) {
	v, ok := s.who(w, r)
	if !ok {
		return
	}
	lang := langOf(r, v.s.Lang)
	c, ok := s.Desk.Area(r.PathValue("commune"))
	f, fok := s.Library.Flow(r.PathValue("flow"))
	if !ok || c.Level != flows.LevelCommune || !s.Desk.MayArea(v.m, c.ID) {
		s.say(w, http.StatusForbidden, lang, "dashboard.not_your_area")
		return
	}
	if !fok {
		s.say(w, http.StatusNotFound, lang, "dashboard.no_such_guide")
		return
	}
	now := s.now()
	pr, err := s.pageRange(r, now)
	if err != nil {
		s.fail(w, lang, "commune", err)
		return
	}
	m, err := s.communeModels(r, lang, v, c, f, pr, now)
	if err != nil {
		s.fail(w, lang, "commune", err)
		return
	}
	g := guideView{ID: f.ID, Title: m.funnel.Title, Note: m.note}
	p := s.funnelPageFor(v, lang, pr, now, "c/"+url.PathEscape(c.ID)+"/f/"+url.PathEscape(f.ID))
	p.Heading = g.Title
	p.Scope = c.Name
	p.TopNote = s.text(lang, "dashboard.top_note", nil)
	p.Download = s.exportHref(pr.from, pr.to)
	if !hasCounts(m.rows) {
		g.Empty = true
	} else {
		svg, err := s.Charts.SVG(m.funnel)
		if err != nil {
			s.fail(w, lang, "commune", err)
			return
		}
		g.Funnel, g.Steps = svg, m.steps
		base := s.base() + "c/" + url.PathEscape(c.ID) + "/f/" + url.PathEscape(f.ID) + "/chart/funnel"
		q := pr.query(lang)
		g.Downloads = []langLink{
			{Label: s.text(lang, "dashboard.download_funnel_png", nil), Href: base + ".png?" + q},
			{Label: s.text(lang, "dashboard.download_funnel_svg", nil), Href: base + ".svg?" + q},
		}
	}
	p.Guides = []guideView{g}
	// The guide's numbers per hamlet, as on the overview: the same rows.
	rows, err := s.Desk.AreaRows(r.Context(), v.m, c.ID, []string{f.ID}, m.read, now)
	if err != nil {
		s.fail(w, lang, "commune", err)
		return
	}
	for _, x := range rows {
		t := &total{id: x.HamletID, name: x.Hamlet, masked: !s.Desk.MayName(v.m, x.HamletID, f.ID), share: x.SharePct, target: x.TargetPct}
		t.t.Add(x)
		rv := s.row(lang, t)
		rv.Href = s.base() + "h/" + url.PathEscape(x.HamletID) + "?" + pr.query(lang)
		p.Hamlets = append(p.Hamlets, rv)
	}
	s.page(w, http.StatusOK, lang, "funnel.html", p)
}

// sumFunnels adds hamlets' funnels of f step by step: the guide's steps in
// order, then retired ids in the order first met, then the unknown step.
func sumFunnels(f *flows.Flow, hamlets []string, by map[string][]flows.FunnelRow) []flows.FunnelRow {
	var out []flows.FunnelRow
	index := map[string]int{}
	add := func(r flows.FunnelRow) {
		i, ok := index[r.Step]
		if !ok {
			index[r.Step] = len(out)
			out = append(out, flows.FunnelRow{Step: r.Step, Retired: r.Retired})
			i = len(out) - 1
		}
		out[i].Reached += r.Reached
		out[i].Stalled += r.Stalled
		out[i].Help += r.Help
	}
	for _, st := range f.Steps {
		add(flows.FunnelRow{Step: st.ID})
	}
	for _, h := range hamlets {
		for _, r := range by[h] {
			if r.Step != "" {
				add(r)
			}
		}
	}
	for _, h := range hamlets {
		for _, r := range by[h] {
			if r.Step == "" {
				add(r)
			}
		}
	}
	return out
}

// chartDownload serves one chart of a page as .svg or .png: the page's
// model, drawn alone, so the file says what the page says.
func (s *Server) chartDownload(w http.ResponseWriter, r *http.Request) {
	v, ok := s.who(w, r)
	if !ok {
		return
	}
	lang := langOf(r, v.s.Lang)
	name := r.PathValue("file")
	kind, ext, _ := strings.Cut(name, ".")
	if (kind != "funnel" && kind != "trend") || (ext != "svg" && ext != "png") {
		s.say(w, http.StatusNotFound, lang, "dashboard.no_such_chart")
		return
	}
	f, ok := s.Library.Flow(r.PathValue("flow"))
	if !ok {
		s.say(w, http.StatusNotFound, lang, "dashboard.no_such_guide")
		return
	}
	now := s.now()
	pr, err := s.pageRange(r, now)
	if err != nil {
		s.fail(w, lang, "chart", err)
		return
	}
	var c chart.Chart
	var file string
	if hid := r.PathValue("hamlet"); hid != "" {
		h, ok := s.mayHamlet(v, hid)
		if !ok {
			s.say(w, http.StatusForbidden, lang, "dashboard.not_your_area")
			return
		}
		data, def, err := s.hamletData(r, v, h.ID, pr, now)
		if err != nil {
			s.fail(w, lang, "chart", err)
			return
		}
		m := s.hamletModels(lang, v, h, f, pr, data, def)
		c = m.funnel
		if kind == "trend" {
			c = m.trend
		}
		file = fmt.Sprintf("hangxom-%s-%s-%s-%s_%s.%s", h.ID, f.ID, kind, m.from, m.to, ext)
	} else {
		cm, ok := s.Desk.Area(r.PathValue("commune"))
		if !ok || cm.Level != flows.LevelCommune || !s.Desk.MayArea(v.m, cm.ID) {
			s.say(w, http.StatusForbidden, lang, "dashboard.not_your_area")
			return
		}
		if kind != "funnel" { // a commune's page has no trend
			s.say(w, http.StatusNotFound, lang, "dashboard.no_such_chart")
			return
		}
		m, err := s.communeModels(r, lang, v, cm, f, pr, now)
		if err != nil {
			s.fail(w, lang, "chart", err)
			return
		}
		c = m.funnel
		file = fmt.Sprintf("hangxom-%s-%s-funnel-%s_%s.%s", cm.ID, f.ID, m.from, m.to, ext)
	}
	var body []byte
	if ext == "svg" {
		svg, err := s.Charts.SVG(c)
		if err != nil {
			s.fail(w, lang, "chart", err)
			return
		}
		body = chart.Standalone(svg)
		w.Header().Set("Content-Type", "image/svg+xml")
	} else {
		if body, err = s.Charts.PNG(c); err != nil {
			s.fail(w, lang, "chart", err)
			return
		}
		w.Header().Set("Content-Type", "image/png")
	}
	w.Header().Set("Content-Disposition", `attachment; filename="`+safeFile(file)+`"`)
	_, _ = w.Write(body)
}

// safeFile keeps a download's name to letters, digits and -_. (ids are
// content's; a quote or a slash must not reach the header).
func safeFile(name string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, name)
}

// poster serves h/{hamlet}/poster.png?channel=: the hamlet's poster to
// print, the one /poster sends in the chat.
func (s *Server) poster(w http.ResponseWriter, r *http.Request) {
	v, ok := s.who(w, r)
	if !ok {
		return
	}
	lang := langOf(r, v.s.Lang)
	h, ok := s.mayHamlet(v, r.PathValue("hamlet"))
	if !ok {
		s.say(w, http.StatusForbidden, lang, "dashboard.not_your_area")
		return
	}
	ch := r.URL.Query().Get("channel")
	if s.Poster == nil || !slices.Contains(s.PosterChannels, ch) {
		s.say(w, http.StatusNotFound, lang, "dashboard.no_poster")
		return
	}
	doc, err := s.Poster(r.Context(), ch, h)
	if err != nil {
		s.fail(w, lang, "poster", err)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Content-Disposition", `attachment; filename="`+safeFile(doc.Name)+`"`)
	_, _ = w.Write(doc.Data)
}

// exportHref is the CSV download of months from..to.
func (s *Server) exportHref(from, to string) string {
	return s.base() + "export.csv?" + url.Values{"from": {from}, "to": {to}}.Encode()
}

// export serves export.csv?from=&to=: the file /export <from> <to> sends
// the member in the chat, byte for byte (the member's whole area; a private
// guide masked alike, its rows over /stats' whole period for those who may
// not name its residents). Months the chat would refuse are a 400.
func (s *Server) export(w http.ResponseWriter, r *http.Request) {
	v, ok := s.who(w, r)
	if !ok {
		return
	}
	lang := langOf(r, v.s.Lang)
	q := r.URL.Query()
	doc, err := s.Desk.Export(r.Context(), v.m, q.Get("from"), q.Get("to"), s.now())
	switch {
	case errors.Is(err, desk.ErrExportMonths):
		s.say(w, http.StatusBadRequest, lang, "dashboard.bad_months")
		return
	case errors.Is(err, desk.ErrNoHamlets):
		s.say(w, http.StatusNotFound, lang, "dashboard.no_areas")
		return
	case err != nil:
		s.fail(w, lang, "export", err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+safeFile(doc.Name)+`"`)
	_, _ = w.Write(doc.Data)
}
