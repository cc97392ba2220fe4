package desk

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hangxomso/hangxom/flows"
)

// The dashboard (issue 20): /dashboard hands a team member or coordinator a
// one-time link to the web pages, and the pages ask the desk the questions
// the chat commands ask, with the same rules, so the two cannot drift.

// Logins makes one-time dashboard links (package dashboard implements it).
type Logins interface {
	NewLogin(ctx context.Context, m flows.Member, lang string) (link string, err error)
}

// dashboard answers /dashboard with a one-time link, written as a plain
// URL on its own line and sent with link previews off.
func (k *desk) dashboard(ctx context.Context) error {
	m, ok, err := k.member(ctx)
	if err != nil || !ok {
		return err
	}
	if k.d.Dashboard == nil {
		k.say("dashboard.unavailable", nil)
		return nil
	}
	link, err := k.d.Dashboard.NewLogin(ctx, m, flows.LangOrDefault(k.s.Lang))
	if err != nil {
		return err
	}
	k.replies = append(k.replies, flows.Reply{Text: k.text("dashboard.link", map[string]any{"Link": link}), NoPreview: true})
	return nil
}

// SessionOpened tells member m in the chat that a dashboard session was
// opened for them at (the dashboard's OnSession): the hour and minute in
// BOT_TZ, and to tell a coordinator if it was not them. A link forwarded or
// opened by someone else is then seen at once. Like a help alert it goes
// through m's outbox, which the sender drains; the reply's id is the
// moment's, so a retry of the same notice is sent once.
func (d *Desk) SessionOpened(ctx context.Context, m flows.Member, lang string, at time.Time) error {
	if d.Help == nil {
		return errors.New("desk: no outbox to tell of a dashboard session")
	}
	loc := d.Location
	if loc == nil {
		loc = time.UTC
	}
	text, _ := d.Loc.Localize(flows.LangOrDefault(lang), "dashboard.session_opened",
		map[string]any{"Time": at.In(loc).Format("15:04")})
	r := flows.Reply{ID: "dashboard-session:" + strconv.FormatInt(at.UnixNano(), 10), Text: text}
	if err := d.Help.Enqueue(ctx, m.ID, r); err != nil {
		return err
	}
	if d.Notify != nil {
		d.Notify(m.ID)
	}
	return nil
}

// dashboardMessages are the words of this file and their fields.
func dashboardMessages() map[string][]string {
	return map[string][]string{"dashboard.unavailable": nil, "dashboard.link": {"Link"}, "dashboard.session_opened": {"Time"}}
}

// Member returns person id as a member, by the rules of every chat command
// (configured coordinators first, then the store); ok is false for a
// resident or a member removed from the team. The dashboard asks it on
// every request.
func (d *Desk) Member(ctx context.Context, id string) (flows.Member, bool, error) {
	return d.memberOf(ctx, id, "")
}

// Rows returns the rows /stats counts for m over months: one per hamlet m
// may see (a team member's hamlets, a coordinator's communes' hamlets) and
// flow, computed as `hangxom stats` computes them. A hamlet merged away has
// no row; its counts are in its successor's.
func (d *Desk) Rows(ctx context.Context, m flows.Member, months []string, now time.Time) ([]flows.StatsRow, error) {
	if d.Stats.Counts == nil {
		return nil, nil
	}
	k := &desk{d: d, me: m.ID, s: &flows.Session{}, now: now}
	var hamlets []flows.Area
	if m.Role == flows.RoleCoordinator {
		for _, c := range k.communesOf(m) {
			hamlets = append(hamlets, k.hamletsUnder(c.ID)...)
		}
	} else {
		hamlets = k.hamletsOf(m)
	}
	ids := k.flowIDs()
	slices.Sort(ids)
	return k.rows(ctx, hamlets, ids, months)
}

// MayName reports whether m may see the residents of hamlet in flow by
// name, as /pending decides: anyone, unless the flow is private; then
// coordinators and the hamlet's party-cell secretaries. The dashboard
// writes the counts of those who may not as "<5" below 5.
func (d *Desk) MayName(m flows.Member, hamlet, flow string) bool { return d.mayName(m, hamlet, flow) }

// StatsSince is the first month /stats counts, YYYY-MM.
func (d *Desk) StatsSince() string {
	if d.Stats.Since != "" {
		return d.Stats.Since
	}
	return flows.StatsEpoch
}

// MayArea reports whether m may see area id on the dashboard, as /stats
// decides: a hamlet of a team member's own or one a coordinator covers, a
// commune a coordinator covers.
func (d *Desk) MayArea(m flows.Member, id string) bool {
	k := &desk{d: d, s: &flows.Session{}}
	if _, ok := k.mayHamlet(m, id); ok {
		return true
	}
	_, ok := k.mayCommune(m, id)
	return ok
}

// CommuneShare is the share of commune's households (or population) that
// completed flow, and the target, as /stats writes them for a commune;
// nil when unknown.
func (d *Desk) CommuneShare(commune, flow string, completed int64) (share, target *float64) {
	c, ok := d.Areas.Area(commune)
	if !ok {
		return nil, nil
	}
	k := &desk{d: d, s: &flows.Session{}}
	basis := ""
	if tg, ok := flows.TargetFor(d.Areas, d.Stats.Targets, flow, c.ID); ok {
		target, basis = &tg.Pct, tg.Basis
	}
	_, share = flows.AreaShare(c, k.hamletsUnder(c.ID), completed, basis)
	return share, target
}

// Funnels returns the step funnels of f over months for hamlets, stalled
// by the /stats rule (idle for longer than WaitExpiry at now). The caller
// has checked that the viewer may see each hamlet (MayArea).
func (d *Desk) Funnels(ctx context.Context, hamlets []string, f *flows.Flow, months []string, now time.Time) (map[string][]flows.FunnelRow, error) {
	if d.Stats.Funnels == nil || len(hamlets) == 0 {
		return map[string][]flows.FunnelRow{}, nil
	}
	// A hamlet merged away counts in its successor, as in the rows
	// (RollUp): the same hamlets are read, their funnels added in.
	into := d.mergedInto(hamlets, now)
	read := slices.Clone(hamlets)
	for from := range into {
		read = append(read, from)
	}
	got, err := d.Stats.Funnels.Funnels(ctx, read, f, months, now.Add(-d.WaitExpiry))
	if err != nil {
		return nil, err
	}
	for from, to := range into {
		got[to] = addFunnel(got[to], got[from])
		delete(got, from)
	}
	return got, nil
}

// mergedInto maps each hamlet merged away into one of hamlets (through a
// chain of merges) to it, as the rows roll them up.
func (d *Desk) mergedInto(hamlets []string, now time.Time) map[string]string {
	loc := d.Location
	if loc == nil {
		loc = time.UTC
	}
	today := now.In(loc).Format(time.DateOnly)
	k := &desk{d: d, s: &flows.Session{}, now: now}
	var asked []flows.Area
	for _, id := range hamlets {
		if a, ok := d.Areas.Area(id); ok {
			asked = append(asked, a)
		}
	}
	out := map[string]string{}
	for _, h := range k.withMergedInto(asked, today)[len(asked):] {
		to := h
		for range 10 {
			next, ok := d.Areas.Area(to.Successor)
			if !ok {
				break
			}
			to = next
			if !flows.MergedAway(to, today) {
				break
			}
		}
		out[h.ID] = to.ID
	}
	return out
}

// addFunnel adds b's rows to a's, step by step; steps only b has come
// after a's, before the row of unknown steps.
func addFunnel(a, b []flows.FunnelRow) []flows.FunnelRow {
	out := slices.Clone(a)
	for _, r := range b {
		i := slices.IndexFunc(out, func(x flows.FunnelRow) bool { return x.Step == r.Step })
		if i < 0 {
			at := len(out)
			if r.Step != "" && at > 0 && out[at-1].Step == "" {
				at--
			}
			out = slices.Insert(out, at, flows.FunnelRow{Step: r.Step, Retired: r.Retired})
			i = at
		}
		out[i].Reached += r.Reached
		out[i].Stalled += r.Stalled
		out[i].Help += r.Help
	}
	return out
}

// Private reports whether flow is one of PRIVATE_FLOWS (default: the
// party handbook): its counts below 5 are masked for those who may not
// name its residents, and always for an API key.
func (d *Desk) Private(flow string) bool {
	private := d.PrivateFlows
	if private == nil {
		private = []string{"party-handbook"}
	}
	return slices.Contains(private, flow)
}

// Area returns the area id (a hamlet, commune or province).
func (d *Desk) Area(id string) (flows.Area, bool) { return d.Areas.Area(id) }

// Hamlets returns the hamlets of a commune, in display order, and for a
// hamlet, itself; the ones m may see if m is a member (Role set).
func (d *Desk) Hamlets(m flows.Member, id string) []flows.Area {
	a, ok := d.Areas.Area(id)
	if !ok {
		return nil
	}
	k := &desk{d: d, s: &flows.Session{}}
	var out []flows.Area
	switch a.Level {
	case flows.LevelHamlet:
		out = []flows.Area{a}
	case flows.LevelCommune:
		out = k.hamletsUnder(a.ID)
	}
	if m.Role == "" {
		return out
	}
	return slices.DeleteFunc(out, func(h flows.Area) bool { _, ok := k.mayHamlet(m, h.ID); return !ok })
}

// HamletView reads what hamlet's dashboard page shows for every guide
// over months, stalled by the /stats rule. The caller has checked that
// the viewer may see the hamlet.
func (d *Desk) HamletView(ctx context.Context, hamlet string, months []string, now time.Time) (flows.HamletView, error) {
	if d.Stats.Views == nil {
		return flows.HamletView{}, nil
	}
	fs := slices.Clone(d.Library.Flows())
	slices.SortFunc(fs, func(a, b *flows.Flow) int { return strings.Compare(a.ID, b.ID) })
	v, err := d.Stats.Views.HamletView(ctx, hamlet, fs, months, now.Add(-d.WaitExpiry))
	if err != nil {
		return v, err
	}
	// Hamlets merged into this one count in it, as in the rows (RollUp);
	// their open requests stay theirs. Merges are rare: a read each.
	for from := range d.mergedInto([]string{hamlet}, now) {
		m, err := d.Stats.Views.HamletView(ctx, from, fs, months, now.Add(-d.WaitExpiry))
		if err != nil {
			return v, err
		}
		for f, rows := range m.Funnels {
			v.Funnels[f] = addFunnel(v.Funnels[f], rows)
		}
		for month, byFlow := range m.Months {
			if v.Months[month] == nil {
				v.Months[month] = map[string]flows.Counts{}
			}
			for f, c := range byFlow {
				t := v.Months[month][f]
				t.Started += c.Started
				t.CompletedSelf += c.CompletedSelf
				t.CompletedTeam += c.CompletedTeam
				t.Help += c.Help
				t.Abandoned += c.Abandoned
				v.Months[month][f] = t
			}
		}
	}
	return v, nil
}

// AreaRows is Rows for the hamlets of one area only (a commune or a
// hamlet) that m may see, with only flowIDs when given (nil: every flow):
// a commune's page reads its fifty hamlets, not the province's thousand.
func (d *Desk) AreaRows(ctx context.Context, m flows.Member, area string, flowIDs []string, months []string, now time.Time) ([]flows.StatsRow, error) {
	if d.Stats.Counts == nil {
		return nil, nil
	}
	hamlets := d.Hamlets(m, area)
	if len(hamlets) == 0 {
		return nil, nil
	}
	k := &desk{d: d, me: m.ID, s: &flows.Session{}, now: now}
	if flowIDs == nil {
		flowIDs = k.flowIDs()
	}
	flowIDs = slices.Clone(flowIDs)
	slices.Sort(flowIDs)
	return k.rows(ctx, hamlets, flowIDs, months)
}
