package desk

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hangxomso/hangxom/flows"
)

// The coordinators' counts (/stats, /export) and the team's face-to-face
// log (/log).
//
// Who sees what: a coordinator sees the communes and hamlets of their areas;
// a team member sees the hamlets they belong to and nothing above them (no
// commune totals: those would count other teams' hamlets), in /stats and in
// /export alike; a resident is refused. /log is for team members of the
// hamlet and coordinators covering it. Every button's action is checked
// again when tapped, so a forged action is refused like a command.

// Stats is what the Desk needs for /stats, /export and /log.
type Stats struct {
	// Counts reads the hamlet counters; without it the commands say the
	// numbers are not available.
	Counts flows.CountReader
	// TeamLog records /log; without it /log says it is not available.
	TeamLog flows.TeamLogger
	// Targets are the adoption targets the numbers are compared with.
	Targets []flows.Target
	// Since is the first month /stats counts and /export starts from by
	// default, YYYY-MM; default StatsEpoch. Months are counted in the
	// Desk's Location (default UTC).
	Since string
	// Funnels reads the step funnels (issue 20) for the dashboard and its
	// API; without it they show none.
	Funnels flows.FunnelReader
	// Views reads a hamlet's dashboard page at once (funnels, trend, open
	// help requests).
	Views flows.HamletViewReader
	// Chart draws the picture /stats sends before its text (issue 20), as
	// a PNG; cmd/hangxom wires the dashboard's renderer, which the desk
	// does not import. Without it /stats sends its text alone, and so it
	// does when drawing fails.
	Chart func(flows.BarChart) ([]byte, error)
}

// statsPage is how many communes or hamlets one /stats message lists, and
// logPage how many residents one /log message offers: both keep a message
// under about 1,000 characters with long names.
const (
	statsPage = 10
	logPage   = 8
	// logLabelMax bounds a typed household label, in characters: a short
	// description ("nhà bác Tư đầu dốc"), not a person's full particulars.
	logLabelMax = 40
)

// member answers a command's first question: who is asking. A resident is
// told so, and ok is false.
func (k *desk) member(ctx context.Context) (flows.Member, bool, error) {
	m, ok, err := k.whoami(ctx)
	if err != nil || !ok {
		if err == nil {
			k.say("staff.not_a_member", nil)
		}
		return flows.Member{}, false, err
	}
	return m, true, nil
}

// statsMember is member for the commands that read the counts: it also
// says so when this deployment has none to read.
func (k *desk) statsMember(ctx context.Context) (flows.Member, bool, error) {
	m, ok, err := k.member(ctx)
	if err != nil || !ok {
		return m, false, err
	}
	if k.d.Stats.Counts == nil {
		k.say("stats.unavailable", nil)
		return m, false, nil
	}
	return m, true, nil
}

func (k *desk) location() *time.Location {
	if k.d.Location != nil {
		return k.d.Location
	}
	return time.UTC
}

func (k *desk) thisMonth() string { return k.now.In(k.location()).Format("2006-01") }

func (k *desk) since() string {
	if k.d.Stats.Since != "" {
		return k.d.Stats.Since
	}
	return flows.StatsEpoch
}

func (k *desk) flowIDs() []string {
	var ids []string
	for _, f := range k.d.Library.Flows() {
		ids = append(ids, f.ID)
	}
	return ids
}

// rows reads the rows of hamlets × flows (every flow when flows is nil)
// over months with one read of the counters. A hamlet merged into another
// has no row: its counts are in its successor's (RollUp), as in `hangxom
// stats`.
func (k *desk) rows(ctx context.Context, hamlets []flows.Area, flowIDs []string, months []string) ([]flows.StatsRow, error) {
	if flowIDs == nil {
		flowIDs = k.flowIDs()
	}
	loc := k.d.Location
	if loc == nil {
		loc = time.UTC
	}
	today := k.now.In(loc).Format(time.DateOnly)
	var shown []flows.Area
	for _, h := range hamlets {
		if !flows.MergedAway(h, today) {
			shown = append(shown, h)
		}
	}
	read := flows.StatsScope{Areas: k.d.Areas, Hamlets: k.withMergedInto(shown, today), Flows: flowIDs}
	counts, err := k.d.Stats.Counts.Counts(ctx, read.Pairs(), months, k.now.Add(-k.d.WaitExpiry))
	if err != nil {
		return nil, err
	}
	sc := flows.StatsScope{Areas: k.d.Areas, Hamlets: shown, Flows: flowIDs, Targets: k.d.Stats.Targets}
	return flows.StatsRows(sc, flows.RollUp(counts, k.d.Areas, today)), nil
}

// withMergedInto is hamlets and every hamlet merged into one of them (its
// successor chain ends there), wherever it was.
func (k *desk) withMergedInto(hamlets []flows.Area, today string) []flows.Area {
	out := slices.Clone(hamlets)
	for _, c := range k.d.Areas.Communes() {
		for _, h := range k.d.Areas.Children(c.ID) {
			if h.Level != flows.LevelHamlet || !flows.MergedAway(h, today) {
				continue
			}
			to := h
			for range 10 {
				next, ok := k.d.Areas.Area(to.Successor)
				if !ok {
					break
				}
				to = next
				if !flows.MergedAway(to, today) {
					break
				}
			}
			if slices.ContainsFunc(hamlets, func(x flows.Area) bool { return x.ID == to.ID }) {
				out = append(out, h)
			}
		}
	}
	return out
}

// allMonths are the months /stats counts: Since to this month.
func (k *desk) allMonths() ([]string, error) {
	from, to := k.since(), k.thisMonth()
	if to < from {
		to = from
	}
	return flows.MonthsBetween(from, to)
}

// hamletsUnder lists the hamlets of a commune, in display order.
func (k *desk) hamletsUnder(commune string) []flows.Area {
	var out []flows.Area
	for _, h := range k.d.Areas.Children(commune) {
		if h.Level == flows.LevelHamlet {
			out = append(out, h)
		}
	}
	return out
}

// communesOf lists the communes with hamlets that a coordinator covers.
func (k *desk) communesOf(m flows.Member) []flows.Area {
	var out []flows.Area
	for _, c := range k.d.Areas.Communes() {
		if Covers(k.d.Areas, m, c.ID) && len(k.hamletsUnder(c.ID)) > 0 {
			out = append(out, c)
		}
	}
	return out
}

// hamletFlow returns the hamlet and flow a button names, when m may see the
// hamlet and the flow still exists; otherwise it tells m why not.
func (k *desk) hamletFlow(m flows.Member, hamlet, flow string) (flows.Area, *flows.Flow, bool) {
	h, ok := k.mayHamlet(m, hamlet)
	if !ok {
		k.say("staff.not_your_area", nil)
		return flows.Area{}, nil, false
	}
	f, ok := k.d.Library.Flow(flow)
	if !ok {
		k.say("common.flow_gone", nil)
		return flows.Area{}, nil, false
	}
	return h, f, true
}

// mayHamlet returns hamlet id if m may see and log it: a team member's own
// hamlet, or one a coordinator covers.
func (k *desk) mayHamlet(m flows.Member, id string) (flows.Area, bool) {
	h, ok := k.d.Areas.Area(id)
	if !ok || h.Level != flows.LevelHamlet {
		return flows.Area{}, false
	}
	if m.Role == flows.RoleTeam {
		return h, slices.Contains(m.Areas, id)
	}
	return h, m.Role == flows.RoleCoordinator && Covers(k.d.Areas, m, id)
}

// mayCommune returns commune id if m is a coordinator covering it.
func (k *desk) mayCommune(m flows.Member, id string) (flows.Area, bool) {
	c, ok := k.d.Areas.Area(id)
	if !ok || c.Level != flows.LevelCommune || m.Role != flows.RoleCoordinator || !Covers(k.d.Areas, m, id) {
		return flows.Area{}, false
	}
	return c, true
}

// paging bounds page and returns the slice bounds of its items.
func paging(n, page, size int) (lo, hi, p, pages int) {
	pages = max(1, (n+size-1)/size)
	p = max(0, min(page, pages-1))
	return p * size, min(n, (p+1)*size), p, pages
}

// pager adds the previous and next page buttons.
func (k *desk) pager(cs []flows.Choice, page, pages int, action func(int) string) []flows.Choice {
	if page > 0 {
		cs = append(cs, flows.Choice{Label: k.text("staff.btn.prev_page", nil), Action: action(page - 1)})
	}
	if page+1 < pages {
		cs = append(cs, flows.Choice{Label: k.text("staff.btn.next_page", nil), Action: action(page + 1)})
	}
	return cs
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// arg returns parts[i], or "".
func arg(parts []string, i int) string {
	if i < len(parts) {
		return parts[i]
	}
	return ""
}

// rest returns parts[i:] joined again: a household label may hold ":".
func rest(parts []string, i int) string {
	if i < len(parts) {
		return strings.Join(parts[i:], ":")
	}
	return ""
}

// ---- /stats --------------------------------------------------------------

func (k *desk) stats(ctx context.Context, _ string) error {
	m, ok, err := k.statsMember(ctx)
	if err != nil || !ok {
		return err
	}
	return k.statsHome(ctx, m)
}

// statsHome is the first screen: the communes (a coordinator of several),
// one commune, the member's hamlets (a team member of several), or one
// hamlet.
func (k *desk) statsHome(ctx context.Context, m flows.Member) error {
	if m.Role == flows.RoleCoordinator {
		cs := k.communesOf(m)
		switch len(cs) {
		case 0:
			k.say("stats.no_hamlets", nil)
			return nil
		case 1:
			return k.statsCommune(ctx, m, cs[0].ID, 0, true)
		}
		return k.statsCommunes(ctx, m, 0, true)
	}
	hs := k.hamletsOf(m)
	switch len(hs) {
	case 0:
		k.say("stats.no_hamlets", nil)
		return nil
	case 1:
		return k.statsHamlet(ctx, m, hs[0].ID, true)
	}
	return k.statsHamlets(ctx, m, 0, true)
}

func (k *desk) statsAction(ctx context.Context, parts []string) error {
	if parts[0] == "exp" {
		return k.export(ctx, strings.Join(parts[1:], " "))
	}
	m, ok, err := k.member(ctx)
	if err != nil || !ok {
		return err
	}
	switch parts[0] {
	case "log":
		if k.d.Stats.TeamLog == nil {
			k.say("stats.unavailable", nil)
			return nil
		}
		return k.logAction(ctx, m, parts[1:])
	}
	if k.d.Stats.Counts == nil {
		k.say("stats.unavailable", nil)
		return nil
	}
	// Only the buttons that go down to a commune or a hamlet end in ":p"
	// and send its picture: page and back buttons send none, the picture
	// having come with /stats or on the way down (statschart.go).
	switch arg(parts, 1) {
	case "cs":
		return k.statsCommunes(ctx, m, atoi(arg(parts, 2)), false)
	case "c":
		return k.statsCommune(ctx, m, arg(parts, 2), atoi(arg(parts, 3)), arg(parts, 4) == picture)
	case "hs":
		return k.statsHamlets(ctx, m, atoi(arg(parts, 2)), false)
	case "h":
		return k.statsHamlet(ctx, m, arg(parts, 2), arg(parts, 3) == picture)
	case "f":
		return k.statsFlow(ctx, m, arg(parts, 2), arg(parts, 3))
	}
	return k.statsHome(ctx, m)
}

// period is the From and To of a /stats message.
func (k *desk) period(data map[string]any, months []string) map[string]any {
	data["From"], data["To"] = months[0], months[len(months)-1]
	data["Legend"] = k.text("stats.legend", nil)
	return data
}

func totalData(t flows.ShownTotal) map[string]any {
	return map[string]any{"Started": t.Started, "Completed": t.Completed, "Self": t.Self,
		"Team": t.Team, "Stalled": t.Stalled, "Help": t.Help}
}

// pct renders a percentage the way the reader writes numbers.
func (k *desk) pct(p float64) string {
	s := strconv.FormatFloat(p, 'f', -1, 64)
	if flows.LangOrDefault(k.s.Lang) == "vi" {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}

// flowFigure is one flow's numbers in an area (a hamlet or a commune), as
// the viewer is shown them.
type flowFigure struct {
	f     *flows.Flow
	t     flows.StatsTotal
	shown flows.ShownTotal // t, masked for the viewer
	basis string
	// share is not shown when shown.GroupHidden: it is the hidden
	// completions over a public number.
	share, target *float64
}

// figure is f's numbers t in an area, masked when the viewer may not
// name f's residents in one of the area's hamlets.
func figure(f *flows.Flow, t flows.StatsTotal, masked bool, basis string, share, target *float64) flowFigure {
	return flowFigure{f: f, t: t, shown: flows.MaskTotal(t, masked), basis: basis, share: share, target: target}
}

// flowLine is one flow's numbers, with the share reached through the bot
// and the target when known.
func (k *desk) flowLine(x flowFigure) string {
	data := totalData(x.shown)
	data["Flow"] = k.text(x.f.Title, nil)
	data["Share"], data["Basis"], data["Target"] = "", "", ""
	if x.share != nil && !x.shown.GroupHidden {
		data["Share"] = k.pct(*x.share)
		data["Basis"] = k.text("stats.basis_"+x.basis, nil)
	}
	if x.target != nil {
		data["Target"] = k.pct(*x.target)
	}
	return k.text("stats.line_flow", data)
}

// masked reports whether r's counts are masked for m: a private flow's,
// in a hamlet where m may not name its residents.
func (k *desk) masked(m flows.Member, r flows.StatsRow) bool {
	return !k.mayName(m, r.HamletID, r.Flow)
}

// statsCommunes lists a coordinator's communes, a page at a time, with a
// picture of the page's communes when pic is set.
func (k *desk) statsCommunes(ctx context.Context, m flows.Member, page int, pic bool) error {
	if m.Role != flows.RoleCoordinator {
		k.say("staff.not_your_area", nil)
		return nil
	}
	cs := k.communesOf(m)
	lo, hi, page, pages := paging(len(cs), page, statsPage)
	var hamlets []flows.Area
	for _, c := range cs[lo:hi] {
		hamlets = append(hamlets, k.hamletsUnder(c.ID)...)
	}
	months, err := k.allMonths()
	if err != nil {
		return err
	}
	rows, err := k.rows(ctx, hamlets, nil, months)
	if err != nil {
		return err
	}
	totals, note := k.areaTotals(m, rows, func(r flows.StatsRow) string { return r.CommuneID })
	lines, buttons := k.areaList(cs[lo:hi], totals, func(a flows.Area) string { return actStaff + "st:c:" + a.ID + ":0:" + picture })
	buttons = k.pager(buttons, page, pages, func(p int) string { return fmt.Sprintf("%sst:cs:%d", actStaff, p) })
	buttons = append(buttons, flows.Choice{Label: k.text("stats.btn.export", nil), Action: actStaff + "exp"})
	if pic {
		k.picture("hangxom-stats-communes.png", k.areaChart("stats.chart_communes", cs[lo:hi], totals, months))
	}
	k.ask("stats.communes", k.period(map[string]any{"List": strings.Join(lines, "\n"), "Page": page + 1, "Pages": pages, "Note": note}, months), buttons)
	return nil
}

// statsCommune shows a commune's numbers per flow, and its hamlets as
// buttons, a page at a time; with a picture of its flows when pic is set.
func (k *desk) statsCommune(ctx context.Context, m flows.Member, id string, page int, pic bool) error {
	c, ok := k.mayCommune(m, id)
	if !ok {
		k.say("staff.not_your_area", nil)
		return nil
	}
	hamlets := k.hamletsUnder(c.ID)
	months, err := k.allMonths()
	if err != nil {
		return err
	}
	rows, err := k.rows(ctx, hamlets, nil, months)
	if err != nil {
		return err
	}
	byFlow := totalsBy(rows, func(r flows.StatsRow) string { return r.Flow })
	// The hamlets' buttons say how many finished, all guides together, as
	// the lists do.
	byHamlet, _ := k.areaTotals(m, rows, func(r flows.StatsRow) string { return r.HamletID })
	// Only coordinators come here, and they may name every flow's
	// residents; the rule is kept all the same, as everywhere counts are
	// shown.
	maskedFlow := map[string]bool{}
	for _, r := range rows {
		maskedFlow[r.Flow] = maskedFlow[r.Flow] || k.masked(m, r)
	}
	var lines []string
	var figs []flowFigure
	known := false
	for _, f := range k.d.Library.Flows() {
		t := byFlow[f.ID]
		var target *float64
		basis := ""
		if tg, ok := flows.TargetFor(k.d.Areas, k.d.Stats.Targets, f.ID, c.ID); ok {
			target, basis = &tg.Pct, tg.Basis
		}
		basis, share := flows.AreaShare(c, hamlets, t.Completed, basis)
		x := figure(f, t, maskedFlow[f.ID], basis, share, target)
		known = known || (share != nil && !x.shown.GroupHidden)
		lines = append(lines, k.flowLine(x))
		figs = append(figs, x)
	}
	lo, hi, page, pages := paging(len(hamlets), page, statsPage)
	var buttons []flows.Choice
	for _, h := range hamlets[lo:hi] {
		buttons = append(buttons, flows.Choice{Label: k.text("stats.btn.area", map[string]any{"Name": h.Name, "Completed": byHamlet[h.ID].Completed}),
			Action: actStaff + "st:h:" + h.ID + ":" + picture})
	}
	buttons = k.pager(buttons, page, pages, func(p int) string { return fmt.Sprintf("%sst:c:%s:%d", actStaff, c.ID, p) })
	if len(k.communesOf(m)) > 1 {
		buttons = append(buttons, flows.Choice{Label: k.text("common.btn.back", nil), Action: actStaff + "st:cs:0"})
	}
	data := map[string]any{"Commune": c.Name, "List": strings.Join(lines, "\n"), "Page": page + 1, "Pages": pages, "Note": ""}
	if known {
		data["Note"] = k.text("stats.share_note", nil)
	}
	if pic {
		k.picture("hangxom-stats-"+c.ID+".png", k.flowChart(c.Name, figs, months))
	}
	k.ask("stats.commune", k.period(data, months), buttons)
	return nil
}

// statsHamlets lists a team member's hamlets, a page at a time, with a
// picture of the page's hamlets when pic is set.
func (k *desk) statsHamlets(ctx context.Context, m flows.Member, page int, pic bool) error {
	hs := k.hamletsOf(m)
	if m.Role != flows.RoleTeam || len(hs) == 0 {
		k.say("staff.not_your_area", nil)
		return nil
	}
	lo, hi, page, pages := paging(len(hs), page, statsPage)
	months, err := k.allMonths()
	if err != nil {
		return err
	}
	rows, err := k.rows(ctx, hs[lo:hi], nil, months)
	if err != nil {
		return err
	}
	totals, note := k.areaTotals(m, rows, func(r flows.StatsRow) string { return r.HamletID })
	lines, buttons := k.areaList(hs[lo:hi], totals, func(a flows.Area) string { return actStaff + "st:h:" + a.ID + ":" + picture })
	buttons = k.pager(buttons, page, pages, func(p int) string { return fmt.Sprintf("%sst:hs:%d", actStaff, p) })
	if pic {
		k.picture("hangxom-stats-hamlets.png", k.areaChart("stats.chart_hamlets", hs[lo:hi], totals, months))
	}
	k.ask("stats.hamlets", k.period(map[string]any{"List": strings.Join(lines, "\n"), "Page": page + 1, "Pages": pages, "Note": note}, months), buttons)
	return nil
}

// statsHamlet shows a hamlet's numbers per flow, with buttons to each flow;
// with a picture of its flows when pic is set.
func (k *desk) statsHamlet(ctx context.Context, m flows.Member, id string, pic bool) error {
	h, ok := k.mayHamlet(m, id)
	if !ok {
		k.say("staff.not_your_area", nil)
		return nil
	}
	months, err := k.allMonths()
	if err != nil {
		return err
	}
	rows, err := k.rows(ctx, []flows.Area{h}, nil, months)
	if err != nil {
		return err
	}
	var lines []string
	var figs []flowFigure
	var buttons []flows.Choice
	known := false
	for _, r := range rows {
		f, ok := k.d.Library.Flow(r.Flow)
		if !ok {
			continue
		}
		var t flows.StatsTotal
		t.Add(r)
		x := figure(f, t, k.masked(m, r), r.Basis, r.SharePct, r.TargetPct)
		known = known || (r.SharePct != nil && !x.shown.GroupHidden)
		lines = append(lines, k.flowLine(x))
		figs = append(figs, x)
		buttons = append(buttons, flows.Choice{Label: k.text("stats.btn.flow", map[string]any{"Flow": k.text(f.Title, nil)}),
			Action: actStaff + "st:f:" + h.ID + ":" + f.ID})
	}
	switch {
	case m.Role == flows.RoleCoordinator:
		buttons = append(buttons, flows.Choice{Label: k.text("common.btn.back", nil), Action: actStaff + "st:c:" + h.ParentID + ":0"})
	case len(k.hamletsOf(m)) > 1:
		buttons = append(buttons, flows.Choice{Label: k.text("common.btn.back", nil), Action: actStaff + "st:hs:0"})
	}
	data := map[string]any{"Hamlet": h.Name, "Commune": k.areaName(h.ParentID), "List": strings.Join(lines, "\n"), "Note": ""}
	if known {
		data["Note"] = k.text("stats.share_note", nil)
	}
	if pic {
		k.picture("hangxom-stats-"+h.ID+".png", k.flowChart(h.Name, figs, months))
	}
	k.ask("stats.hamlet", k.period(data, months), buttons)
	return nil
}

// statsFlow shows one flow in one hamlet in full.
func (k *desk) statsFlow(ctx context.Context, m flows.Member, hamlet, flow string) error {
	h, f, ok := k.hamletFlow(m, hamlet, flow)
	if !ok {
		return nil
	}
	months, err := k.allMonths()
	if err != nil {
		return err
	}
	rows, err := k.rows(ctx, []flows.Area{h}, []string{f.ID}, months)
	if err != nil {
		return err
	}
	r := rows[0]
	shown := flows.MaskRow(r, k.masked(m, r))
	data := totalData(shown)
	unknown := k.text("stats.unknown", nil)
	data["Flow"], data["Hamlet"] = k.text(f.Title, nil), h.Name
	data["Households"], data["Population"] = unknown, unknown
	if r.Households != nil {
		data["Households"] = strconv.Itoa(*r.Households)
	}
	if r.Population != nil {
		data["Population"] = strconv.Itoa(*r.Population)
	}
	data["Share"], data["Basis"], data["Target"], data["Note"] = "", "", "", ""
	if r.SharePct != nil && !shown.GroupHidden {
		data["Share"], data["Basis"] = k.pct(*r.SharePct), k.text("stats.basis_"+r.Basis, nil)
		data["Note"] = k.text("stats.share_note", nil)
	}
	if r.TargetPct != nil {
		data["Target"] = k.pct(*r.TargetPct)
	}
	k.ask("stats.flow", k.period(data, months), []flows.Choice{
		{Label: k.text("common.btn.back", nil), Action: actStaff + "st:h:" + h.ID},
	})
	return nil
}

// ---- /export -------------------------------------------------------------

// ErrExportMonths is Desk.Export's error for months that are not a range
// of YYYY-MM (from after to, more than 50 years).
var ErrExportMonths = errors.New("desk: export: months must be YYYY-MM, from not after to")

// ErrNoHamlets is Desk.Export's error for a member whose area has no
// hamlets: /export sends no file then, and says so.
var ErrNoHamlets = errors.New("desk: export: the area has no hamlets")

// export makes the CSV of the member's area (a team member: their
// hamlets) for months from..to: /export, /export 2025-01, /export 2025-01
// 2025-06.
func (k *desk) export(ctx context.Context, args string) error {
	m, ok, err := k.statsMember(ctx)
	if err != nil || !ok {
		return err
	}
	var from, to string
	switch fs := strings.Fields(args); len(fs) {
	case 0:
	case 1:
		from = fs[0]
	case 2:
		from, to = fs[0], fs[1]
	default:
		k.say("stats.export_usage", nil)
		return nil
	}
	f, err := k.exportDoc(ctx, m, from, to)
	switch {
	case errors.Is(err, ErrExportMonths):
		k.say("stats.export_usage", nil)
		return nil
	case errors.Is(err, ErrNoHamlets):
		k.say("stats.no_hamlets", nil)
		return nil
	case err != nil:
		return err
	}
	if strings.HasPrefix(k.me, "zl:") {
		// The OA API is not known to take a CSV file (research note, zalo-oa.md):
		// say where the same table is had instead of sending nothing.
		k.say("stats.export_zalo", map[string]any{"Rows": f.rows, "From": f.from, "To": f.to})
		return nil
	}
	data := map[string]any{"Name": f.doc.Name, "Rows": f.rows, "From": f.from, "To": f.to, "Whole": ""}
	if len(f.whole) > 0 {
		all, err := k.allMonths()
		if err != nil {
			return err
		}
		var titles []string
		for _, t := range f.whole {
			titles = append(titles, k.text(t, nil))
		}
		data["Whole"] = k.text("stats.export_whole", map[string]any{"Flows": strings.Join(titles, ", "), "From": all[0], "To": all[len(all)-1]})
	}
	k.document(k.text("stats.export_ready", data), f.doc)
	return nil
}

// exportFile is what /export sends: the CSV, its rows, its months, and
// the flows whose rows count the whole of /stats' months instead (whole,
// their titles' ids).
type exportFile struct {
	doc      flows.Document
	rows     int
	from, to string
	whole    []string
}

// exportDoc makes the CSV m gets for months from..to ("" from: Since; ""
// to: this month). The counts of a private flow are masked for a member
// who may not name its residents, as /stats and the dashboard mask them
// (flows.MaskedCells), and always count /stats' months, whatever months
// are asked: two exports of different months subtracted would otherwise
// give the small numbers the mask hides (the dashboard does the same).
func (k *desk) exportDoc(ctx context.Context, m flows.Member, from, to string) (exportFile, error) {
	if from == "" {
		from = k.since()
	}
	if to == "" {
		to = k.thisMonth()
	}
	f := exportFile{from: from, to: to}
	months, err := flows.MonthsBetween(from, to)
	if err != nil || len(months) > 12*50 {
		return f, ErrExportMonths
	}
	hamlets := k.hamletsOf(m)
	if len(hamlets) == 0 {
		return f, ErrNoHamlets
	}
	ids := k.flowIDs()
	slices.Sort(ids) // as `hangxom stats` orders them: the same file
	rows, err := k.rows(ctx, hamlets, ids, months)
	if err != nil {
		return f, err
	}
	masked := func(r flows.StatsRow) bool { return k.masked(m, r) }
	all, err := k.allMonths()
	if err != nil {
		return f, err
	}
	if slices.ContainsFunc(rows, masked) && !slices.Equal(all, months) {
		whole, err := k.rows(ctx, hamlets, ids, all)
		if err != nil {
			return f, err
		}
		byPair := map[flows.HamletFlow]flows.StatsRow{}
		for _, r := range whole {
			byPair[flows.HamletFlow{Hamlet: r.HamletID, Flow: r.Flow}] = r
		}
		for i, r := range rows {
			if w, ok := byPair[flows.HamletFlow{Hamlet: r.HamletID, Flow: r.Flow}]; ok && masked(r) {
				rows[i] = w
				if fl, ok := k.d.Library.Flow(r.Flow); ok && !slices.Contains(f.whole, fl.Title) {
					f.whole = append(f.whole, fl.Title)
				}
			}
		}
	}
	scope := "stats"
	if len(m.Areas) == 1 {
		scope = m.Areas[0]
	}
	f.rows = len(rows)
	f.doc = flows.Document{Name: "hangxom-" + scope + "-" + from + "_" + to + ".csv", Data: flows.ExportMaskedCSV(rows, masked)}
	return f, nil
}

// Export returns the CSV that /export from to sends m at now: the same
// name and the same bytes, private flows masked alike (for the
// dashboard's download). from "" is the first month counted (Stats.Since),
// to "" this month; months that are no range are ErrExportMonths, an area
// without hamlets ErrNoHamlets.
func (d *Desk) Export(ctx context.Context, m flows.Member, from, to string, now time.Time) (flows.Document, error) {
	if d.Stats.Counts == nil {
		return flows.Document{}, errors.New("desk: export: the counts are not available")
	}
	k := &desk{d: d, me: m.ID, s: &flows.Session{}, now: now}
	f, err := k.exportDoc(ctx, m, from, to)
	return f.doc, err
}

// document sends text with the document: the console writes it to the
// working directory and prints the path, Telegram sends it as a file.
func (k *desk) document(text string, doc flows.Document) {
	k.replies = append(k.replies, flows.Reply{Text: text, Document: &doc})
}

// ---- /log ----------------------------------------------------------------

// Actions of /log, after "staff:log:" (label last: it may hold ":"):
//
//	cs:<page>:<label>               the coordinator's communes
//	hs:<commune>:<page>:<label>     hamlets (of a commune, or all the member's)
//	h:<hamlet>:<label>              the flows of a hamlet
//	f:<hamlet>:<flow>:<page>        residents with the flow unfinished
//	r:<hamlet>:<flow>:<pseudonym>   record a resident from the list
//	l:<hamlet>:<flow>:<label>       record a household by its label

// log starts /log: /log alone picks a resident from the hamlet's list;
// /log <household label> records a household that is not on it.
func (k *desk) log(ctx context.Context, args string) error {
	m, ok, err := k.member(ctx)
	if err != nil || !ok {
		return err
	}
	if k.d.Stats.TeamLog == nil {
		k.say("stats.unavailable", nil)
		return nil
	}
	label := strings.TrimSpace(args)
	if label != "" && !goodLabel(label) {
		k.say("stats.log_bad_label", nil)
		return nil
	}
	return k.logStart(m, label)
}

// goodLabel accepts a short household label without a phone, ID or card
// number (personal data) or a secret: a house number is fine.
func goodLabel(label string) bool {
	digits := strings.Count(strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return 'd'
		}
		return -1
	}, label), "d")
	return utf8.RuneCountInString(label) <= logLabelMax && flows.Fold(label) != "" && !flows.Sensitive(label) && digits < 7
}

func (k *desk) logStart(m flows.Member, label string) error {
	hs := k.hamletsOf(m)
	switch {
	case len(hs) == 0:
		k.say("stats.no_hamlets", nil)
		return nil
	case len(hs) == 1:
		return k.logFlows(m, hs[0].ID, label)
	case m.Role == flows.RoleCoordinator && len(k.communesOf(m)) > 1:
		return k.logCommunes(m, 0, label)
	}
	return k.logHamlets(m, "", 0, label)
}

func (k *desk) logAction(ctx context.Context, m flows.Member, parts []string) error {
	switch arg(parts, 0) {
	case "cs":
		return k.logCommunes(m, atoi(arg(parts, 1)), rest(parts, 2))
	case "hs":
		return k.logHamlets(m, arg(parts, 1), atoi(arg(parts, 2)), rest(parts, 3))
	case "h":
		return k.logFlows(m, arg(parts, 1), rest(parts, 2))
	case "f":
		return k.logList(ctx, m, arg(parts, 1), arg(parts, 2), atoi(arg(parts, 3)))
	case "r":
		return k.logResident(ctx, m, arg(parts, 1), arg(parts, 2), arg(parts, 3))
	case "l":
		return k.logHousehold(ctx, m, arg(parts, 1), arg(parts, 2), rest(parts, 3))
	}
	return k.logStart(m, "")
}

func (k *desk) logCommunes(m flows.Member, page int, label string) error {
	if m.Role != flows.RoleCoordinator {
		k.say("staff.not_your_area", nil)
		return nil
	}
	cs := k.communesOf(m)
	lo, hi, page, pages := paging(len(cs), page, statsPage)
	var buttons []flows.Choice
	for _, c := range cs[lo:hi] {
		buttons = append(buttons, flows.Choice{Label: c.Name, Action: actStaff + "log:hs:" + c.ID + ":0:" + label})
	}
	buttons = k.pager(buttons, page, pages, func(p int) string { return fmt.Sprintf("%slog:cs:%d:%s", actStaff, p, label) })
	k.ask("stats.log_commune", nil, buttons)
	return nil
}

// logHamlets offers the hamlets of commune (coordinators), or all the
// member's hamlets (commune "").
func (k *desk) logHamlets(m flows.Member, commune string, page int, label string) error {
	var hs []flows.Area
	if commune == "" {
		hs = k.hamletsOf(m)
	} else if _, ok := k.mayCommune(m, commune); ok {
		hs = k.hamletsUnder(commune)
	}
	if len(hs) == 0 {
		k.say("staff.not_your_area", nil)
		return nil
	}
	lo, hi, page, pages := paging(len(hs), page, statsPage)
	var buttons []flows.Choice
	for _, h := range hs[lo:hi] {
		buttons = append(buttons, flows.Choice{Label: h.Name, Action: actStaff + "log:h:" + h.ID + ":" + label})
	}
	buttons = k.pager(buttons, page, pages, func(p int) string {
		return fmt.Sprintf("%slog:hs:%s:%d:%s", actStaff, commune, p, label)
	})
	k.ask("stats.log_hamlet", nil, buttons)
	return nil
}

// logFlows asks which flow was finished in hamlet.
func (k *desk) logFlows(m flows.Member, hamlet, label string) error {
	h, ok := k.mayHamlet(m, hamlet)
	if !ok {
		k.say("staff.not_your_area", nil)
		return nil
	}
	if label != "" && !goodLabel(label) {
		k.say("stats.log_bad_label", nil)
		return nil
	}
	var buttons []flows.Choice
	for _, f := range k.d.Library.Flows() {
		action := actStaff + "log:f:" + h.ID + ":" + f.ID + ":0"
		if label != "" {
			action = actStaff + "log:l:" + h.ID + ":" + f.ID + ":" + label
		}
		buttons = append(buttons, flows.Choice{Label: k.text(f.Title, nil), Action: action})
	}
	if label != "" {
		k.ask("stats.log_flow_household", map[string]any{"Hamlet": h.Name, "Label": label}, buttons)
		return nil
	}
	k.ask("stats.log_flow", map[string]any{"Hamlet": h.Name}, buttons)
	return nil
}

// mayName reports whether m may see residents of hamlet in flow by name.
func (k *desk) mayName(m flows.Member, hamlet, flow string) bool {
	return k.d.mayName(m, hamlet, flow)
}

// mayName reports whether m may see residents of hamlet in flow by name:
// anyone, unless the flow is private; then coordinators and the hamlet's
// party-cell secretaries.
func (d *Desk) mayName(m flows.Member, hamlet, flow string) bool {
	return !d.Private(flow) || m.Role == flows.RoleCoordinator || m.SecretaryOf(hamlet)
}

// displayName is a resident's name for the team's lists, from their
// session, or "someone" when unknown or forgotten.
func (k *desk) displayName(ctx context.Context, pseudonym string) (string, error) {
	id, ok, err := k.d.FollowUp.Resident(ctx, pseudonym)
	if err != nil || !ok {
		return k.text("staff.someone", nil), err
	}
	s, err := k.d.FollowUp.Session(ctx, id)
	if err != nil {
		return "", err
	}
	if s.Name == "" {
		return k.text("staff.someone", nil), nil
	}
	return s.Name, nil
}

// logList offers the residents of hamlet with flow unfinished, longest
// waiting first, a page at a time.
func (k *desk) logList(ctx context.Context, m flows.Member, hamlet, flow string, page int) error {
	h, f, ok := k.hamletFlow(m, hamlet, flow)
	if !ok {
		return nil
	}
	title := k.text(f.Title, nil)
	if !k.mayName(m, h.ID, f.ID) {
		k.say("stats.log_private", map[string]any{"Flow": title})
		return nil
	}
	es, err := k.d.FollowUp.Open(ctx, h.ID, f.ID)
	if err != nil {
		return err
	}
	if len(es) == 0 {
		k.say("stats.log_none_open", map[string]any{"Flow": title, "Hamlet": h.Name})
		return nil
	}
	lo, hi, page, pages := paging(len(es), page, logPage)
	var buttons []flows.Choice
	for _, e := range es[lo:hi] {
		name, err := k.displayName(ctx, e.Pseudonym)
		if err != nil {
			return err
		}
		days := int(k.now.Sub(e.Last).Hours() / 24)
		buttons = append(buttons, flows.Choice{Label: k.text("stats.btn.resident", map[string]any{"Name": name, "Days": days}),
			Action: actStaff + "log:r:" + h.ID + ":" + f.ID + ":" + e.Pseudonym, Private: true})
	}
	buttons = k.pager(buttons, page, pages, func(p int) string {
		return fmt.Sprintf("%slog:f:%s:%s:%d", actStaff, h.ID, f.ID, p)
	})
	k.ask("stats.log_pick", map[string]any{"Flow": title, "Hamlet": h.Name, "Total": len(es), "Page": page + 1, "Pages": pages}, buttons)
	return nil
}

// logResident records that the team helped a resident of the list finish
// flow. The resident must still be on the list: one who finished in the
// meantime is already counted.
func (k *desk) logResident(ctx context.Context, m flows.Member, hamlet, flow, pseudonym string) error {
	h, f, ok := k.hamletFlow(m, hamlet, flow)
	if !ok {
		return nil
	}
	if !k.mayName(m, h.ID, f.ID) {
		k.say("staff.not_your_area", nil)
		return nil
	}
	es, err := k.d.FollowUp.Open(ctx, h.ID, f.ID)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(es, func(e flows.OpenEntry) bool { return e.Pseudonym == pseudonym }) {
		k.say("stats.log_gone", nil)
		return nil
	}
	name, err := k.displayName(ctx, pseudonym)
	if err != nil {
		return err
	}
	data := map[string]any{"Name": name, "Flow": k.text(f.Title, nil), "Hamlet": h.Name}
	return k.logTeam(ctx, h, f, pseudonym, data, "stats.logged", "stats.log_already")
}

// logTeam counts subject's completion of f in h as the team's, once, and
// answers with logged (or already, when it was counted before) and a
// button to log another.
func (k *desk) logTeam(ctx context.Context, h flows.Area, f *flows.Flow, subject string, data map[string]any, logged, already string) error {
	counted, err := k.d.Stats.TeamLog.LogTeamCompletion(ctx, h.ID, f.ID, subject, k.now, f.ID)
	if err != nil {
		return err
	}
	if !counted {
		logged = already
	}
	k.ask(logged, data, []flows.Choice{{Label: k.text("stats.btn.log_more", nil), Action: actStaff + "log:h:" + h.ID + ":"}})
	return nil
}

// logHousehold records that the team helped a household, known by the
// label the team member typed, finish flow. The same label (folded) in the
// same hamlet counts once.
func (k *desk) logHousehold(ctx context.Context, m flows.Member, hamlet, flow, label string) error {
	h, f, ok := k.hamletFlow(m, hamlet, flow)
	if !ok {
		return nil
	}
	if !goodLabel(label) {
		k.say("stats.log_bad_label", nil)
		return nil
	}
	data := map[string]any{"Label": label, "Flow": k.text(f.Title, nil), "Hamlet": h.Name}
	return k.logTeam(ctx, h, f, flows.HouseholdSubject(h.ID, label), data, "stats.logged_household", "stats.log_already_household")
}

// statsMessages are the words of this file and their fields.
func statsMessages() map[string][]string {
	area := []string{"Name", "Started", "Completed", "Self", "Team", "Stalled", "Help"}
	period := []string{"From", "To", "Legend"}
	with := func(a []string, more ...string) []string { return append(slices.Clone(a), more...) }
	return map[string][]string{
		"stats.unavailable":                    nil,
		"stats.no_hamlets":                     nil,
		"stats.legend":                         nil,
		"stats.unknown":                        nil,
		"stats.share_note":                     nil,
		"stats.basis_" + flows.BasisHouseholds: nil,
		"stats.basis_" + flows.BasisPopulation: nil,
		"stats.line_area":                      area,
		"stats.line_flow":                      with(area[1:], "Flow", "Share", "Basis", "Target"),
		"stats.communes":                       with(period, "List", "Page", "Pages", "Note"),
		"stats.commune":                        with(period, "Commune", "List", "Note", "Page", "Pages"),
		"stats.hamlets":                        with(period, "List", "Page", "Pages", "Note"),
		"stats.hamlet":                         with(period, "Hamlet", "Commune", "List", "Note"),
		"stats.flow":                           with(period, with(area[1:], "Flow", "Hamlet", "Households", "Population", "Share", "Basis", "Target", "Note")...),
		"stats.btn.area":                       {"Name", "Completed"},
		"stats.btn.flow":                       {"Flow"},
		"stats.btn.export":                     nil,
		"stats.export_ready":                   {"Name", "Rows", "From", "To", "Whole"},
		"stats.export_whole":                   {"Flows", "From", "To"},
		"stats.export_usage":                   nil,
		"stats.log_bad_label":                  nil,
		"stats.log_commune":                    nil,
		"stats.log_hamlet":                     nil,
		"stats.log_flow":                       {"Hamlet"},
		"stats.log_flow_household":             {"Hamlet", "Label"},
		"stats.log_private":                    {"Flow"},
		"stats.log_none_open":                  {"Flow", "Hamlet"},
		"stats.log_pick":                       {"Flow", "Hamlet", "Total", "Page", "Pages"},
		"stats.btn.resident":                   {"Name", "Days"},
		"stats.log_gone":                       nil,
		"stats.logged":                         {"Name", "Flow", "Hamlet"},
		"stats.log_already":                    {"Name", "Flow", "Hamlet"},
		"stats.logged_household":               {"Label", "Flow", "Hamlet"},
		"stats.log_already_household":          {"Label", "Flow", "Hamlet"},
		"stats.btn.log_more":                   nil,
		"stats.left_out":                       {"Flows"},
		"stats.chart_communes":                 nil,
		"stats.chart_hamlets":                  nil,
		"stats.chart_flows":                    {"Area"},
		"stats.chart_caption":                  {"From", "To"},
		"stats.chart_value":                    nil,
		"stats.chart_target":                   nil,
	}
}

// totalsBy sums rows per key (a commune, a hamlet, a flow).
func totalsBy(rows []flows.StatsRow, key func(flows.StatsRow) string) map[string]flows.StatsTotal {
	out := map[string]flows.StatsTotal{}
	for _, r := range rows {
		t := out[key(r)]
		t.Add(r)
		out[key(r)] = t
	}
	return out
}

// areaTotals sums rows per area (key) for m, all guides together, leaving
// out the rows masked for m, and says which flows it left out (note, ""
// when none). Masking each area's sum would not do: the hamlet's screen
// shows the other flows' numbers, and the sum less them is the private
// flow's. A masked flow is left out whatever its counts, so that what the
// totals hold does not depend on them.
func (k *desk) areaTotals(m flows.Member, rows []flows.StatsRow, key func(flows.StatsRow) string) (map[string]flows.StatsTotal, string) {
	var kept []flows.StatsRow
	var out []string
	for _, r := range rows {
		if !k.masked(m, r) {
			kept = append(kept, r)
			continue
		}
		if f, ok := k.d.Library.Flow(r.Flow); ok && !slices.Contains(out, f.Title) {
			out = append(out, f.Title)
		}
	}
	note := ""
	if len(out) > 0 {
		var titles []string
		for _, t := range out {
			titles = append(titles, k.text(t, nil))
		}
		note = k.text("stats.left_out", map[string]any{"Flows": strings.Join(titles, ", ")})
	}
	return totalsBy(kept, key), note
}

// areaList renders a line and a drill-down button per area.
func (k *desk) areaList(areas []flows.Area, totals map[string]flows.StatsTotal, action func(flows.Area) string) ([]string, []flows.Choice) {
	var lines []string
	var buttons []flows.Choice
	for _, a := range areas {
		t := totals[a.ID]
		data := totalData(flows.MaskTotal(t, false)) // areaTotals left out what is masked
		data["Name"] = a.Name
		lines = append(lines, k.text("stats.line_area", data))
		buttons = append(buttons, flows.Choice{Label: k.text("stats.btn.area", map[string]any{"Name": a.Name, "Completed": t.Completed}),
			Action: action(a)})
	}
	return lines, buttons
}
