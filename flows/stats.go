package flows

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// StatsEpoch is the first month counted when no other is given: Võ Nhai's
// community digital-technology teams were set up from the start of 2022
// (seed article).
const StatsEpoch = "2022-01"

// HamletFlow names the counters of one flow in one hamlet.
type HamletFlow struct {
	Hamlet string
	Flow   string
}

// Counts are a flow's numbers in one hamlet.
type Counts struct {
	Started       int64 // residents who started it for the first time
	CompletedSelf int64 // first completions on their own
	CompletedTeam int64 // first completions helped by the team
	Help          int64 // help requests
	Abandoned     int64 // unfinished runs that expired
	Stalled       int64 // residents in the flow, idle since before stalledBefore
}

// CountReader reads the hamlet counters.
type CountReader interface {
	// Counts returns the counts of each pair, summed over months (YYYY-MM in
	// the bot's time zone), with Stalled counted now. It must cost a fixed
	// number of round trips, whatever the number of pairs and months.
	Counts(ctx context.Context, pairs []HamletFlow, months []string, stalledBefore time.Time) (map[HamletFlow]Counts, error)
}

// TeamLogger records the flows a team member helped someone finish face to
// face.
type TeamLogger interface {
	// LogTeamCompletion counts flow completed via the team in hamlet for
	// subject, at most once per subject, hamlet and flow: a subject already
	// done (on their own or with the team) is not counted again, and neither
	// is a later completion of theirs in the bot. subject is either a
	// pseudonym from FollowUpStore.Open, or any other key (a resident id, a
	// HouseholdSubject) that the store turns into a pseudonym. dedupeID makes
	// a retry of the same request a no-op. counted reports whether this call
	// added a completion.
	LogTeamCompletion(ctx context.Context, hamlet, flow, subject string, at time.Time, dedupeID string) (counted bool, err error)
}

// HouseholdSubject is the subject of a household a team member logged by a
// label they typed ("nhà bác Tư đầu dốc"), not by a person's name: the same
// label, folded, in the same hamlet is the same household.
func HouseholdSubject(hamlet, label string) string {
	return "household:" + hamlet + ":" + Fold(label)
}

// Target is an adoption goal as the stats use it: the share (Pct) of an
// area's population or households (Basis) that should complete Flow. It
// applies to every hamlet under Area unless a nearer area has its own.
type Target struct {
	Flow  string
	Area  string
	Pct   float64
	Basis string // "households", "population" (anything else reads as population)
}

// BasisHouseholds is the Target.Basis of a share of households.
const BasisHouseholds = "households"

// BasisPopulation is the Target.Basis of a share of the population.
const BasisPopulation = "population"

// TargetFor returns the target for flow that applies to area id: the one
// set on the nearest area up the tree.
func TargetFor(dir Directory, targets []Target, flow, id string) (Target, bool) {
	return targetIn(targets, flow, lineage(dir, id, nil))
}

// lineage appends id and the ids up the tree from it (ten at most) to
// ids.
func lineage(dir Directory, id string, ids []string) []string {
	for depth := 0; id != "" && depth < 10; depth++ {
		ids = append(ids, id)
		a, ok := dir.Area(id)
		if !ok {
			break
		}
		id = a.ParentID
	}
	return ids
}

// targetIn returns flow's target set on the first of ids that has one.
func targetIn(targets []Target, flow string, ids []string) (Target, bool) {
	for _, id := range ids {
		for _, t := range targets {
			if t.Flow == flow && t.Area == id {
				return t, true
			}
		}
	}
	return Target{}, false
}

// StatsRow is one (hamlet, flow) line of the stats: the columns of the
// foundation's stats schema, in its order. Unknown numbers are nil.
type StatsRow struct {
	CommuneID     string   `json:"commune_id"`
	Commune       string   `json:"commune"`
	HamletID      string   `json:"hamlet_id"`
	Hamlet        string   `json:"hamlet"`
	Flow          string   `json:"flow"`
	Started       int64    `json:"started"`
	Completed     int64    `json:"completed"`
	CompletedSelf int64    `json:"completed_self"`
	CompletedTeam int64    `json:"completed_team"`
	Stalled       int64    `json:"stalled"`
	HelpRequests  int64    `json:"help_requests"`
	Households    *int     `json:"households"`
	Population    *int     `json:"population"`
	SharePct      *float64 `json:"share_pct"`
	TargetPct     *float64 `json:"target_pct"`
	// Basis is what SharePct is a share of: BasisHouseholds or
	// BasisPopulation, "" when it is unknown. Not a column of the schema.
	Basis string `json:"-"`
}

// StatsColumns returns the column names of the foundation's stats schema,
// in order: the CSV header, and the JSON keys of a StatsRow.
func StatsColumns() []string {
	return []string{"commune_id", "commune", "hamlet_id", "hamlet", "flow", "started", "completed",
		"completed_self", "completed_team", "stalled", "help_requests", "households", "population", "share_pct", "target_pct"}
}

// Cells returns the row's values in StatsColumns order, unknown numbers
// empty.
func (r StatsRow) Cells() []string {
	return []string{r.CommuneID, r.Commune, r.HamletID, r.Hamlet, r.Flow, itoa(r.Started), itoa(r.Completed),
		itoa(r.CompletedSelf), itoa(r.CompletedTeam), itoa(r.Stalled), itoa(r.HelpRequests),
		CellInt(r.Households), CellInt(r.Population), CellFloat(r.SharePct), CellFloat(r.TargetPct)}
}

// ExportCSV returns rows as CSV in StatsColumns order, UTF-8 with a
// byte-order mark so that spreadsheet programs show the Vietnamese names
// correctly, every cell through CSVCell: hamlet and commune names are typed
// by coordinators (/addhamlet, areas import) and must not become formulas.
func ExportCSV(rows []StatsRow) []byte { return ExportMaskedCSV(rows, nil) }

// StatsScope is what a stats report covers.
type StatsScope struct {
	Areas   Directory // to find each hamlet's commune and targets
	Hamlets []Area
	Flows   []string // in the order rows list them
	Targets []Target
}

// Pairs returns every (hamlet, flow) of the scope.
func (sc StatsScope) Pairs() []HamletFlow {
	out := make([]HamletFlow, 0, len(sc.Hamlets)*len(sc.Flows))
	for _, h := range sc.Hamlets {
		for _, f := range sc.Flows {
			out = append(out, HamletFlow{Hamlet: h.ID, Flow: f})
		}
	}
	return out
}

// StatsRows builds one row per (hamlet, flow) of the scope, zero rows
// included, sorted by commune, hamlet (names folded, numbers compared as
// numbers, then ids) and the scope's flow order. The share is completions
// over the hamlet's households or population: the target's basis when a
// target applies, otherwise households when known, otherwise population;
// nil when that number is unknown. It is the share reached through the
// bot, not the official indicator.
func StatsRows(sc StatsScope, counts map[HamletFlow]Counts) []StatsRow {
	// The hamlets are ranked once, then their rows made in that order: a
	// province's report has thousands of rows but far fewer hamlets, and
	// NaturalCompare and Fold are not cheap (the report phase of hangxom
	// loadtest). An AreaIndex has ranked its hamlets already.
	fold := Fold
	if d, ok := sc.Areas.(foldedNamer); ok {
		fold = d.FoldedName // an AreaIndex keeps its names folded
	}
	places := make([]place, len(sc.Hamlets))
	for i, h := range sc.Hamlets {
		places[i] = newPlace(h, sc.Areas, fold)
	}
	sortPlaces(places, sc.Areas)
	rows := make([]StatsRow, 0, len(sc.Hamlets)*len(sc.Flows))
	var up []string
	for _, p := range places {
		h, c := p.hamlet, p.commune
		if len(sc.Targets) > 0 {
			up = lineage(sc.Areas, h.ID, up[:0]) // once per hamlet, not per row
		}
		for _, f := range sc.Flows {
			n := counts[HamletFlow{Hamlet: h.ID, Flow: f}]
			r := StatsRow{
				CommuneID: c.ID, Commune: c.Name, HamletID: h.ID, Hamlet: h.Name, Flow: f,
				Started: n.Started, CompletedSelf: n.CompletedSelf, CompletedTeam: n.CompletedTeam,
				Completed: n.CompletedSelf + n.CompletedTeam, Stalled: n.Stalled, HelpRequests: n.Help,
				Households: h.Households, Population: h.Population,
			}
			basis := ""
			if t, ok := targetIn(sc.Targets, f, up); ok {
				pct := t.Pct
				r.TargetPct = &pct
				basis = t.Basis
			}
			r.Basis, r.SharePct = share(r.Completed, basis, h.Households, h.Population)
			rows = append(rows, r)
		}
	}
	return rows
}

// place is a hamlet in a report, with its commune and their folded names.
type place struct {
	hamlet, commune             Area
	foldedHamlet, foldedCommune string
	rank                        int
}

func newPlace(h Area, dir Directory, fold func(string) string) place {
	c, _ := dir.Area(h.ParentID)
	return place{hamlet: h, commune: c, foldedHamlet: fold(h.Name), foldedCommune: fold(c.Name)}
}

// comparePlaces is a report's order: by commune name (numbers as numbers),
// commune id, hamlet name, hamlet id.
func comparePlaces(x, y place) int {
	if c := NaturalCompare(x.foldedCommune, y.foldedCommune); c != 0 {
		return c
	}
	if c := strings.Compare(x.commune.ID, y.commune.ID); c != 0 {
		return c
	}
	if c := NaturalCompare(x.foldedHamlet, y.foldedHamlet); c != 0 {
		return c
	}
	return strings.Compare(x.hamlet.ID, y.hamlet.ID)
}

// sortPlaces sorts places in a report's order: by the ranks dir keeps
// (AreaIndex.reportRank) when it knows every hamlet as given, else with
// comparePlaces.
func sortPlaces(places []place, dir Directory) {
	if x, ok := dir.(*AreaIndex); ok {
		ranked := true
		for i := range places {
			if places[i].rank, ranked = x.reportRank(places[i].hamlet); !ranked {
				break
			}
		}
		if ranked {
			slices.SortFunc(places, func(a, b place) int { return a.rank - b.rank })
			return
		}
	}
	slices.SortStableFunc(places, comparePlaces)
}

// share returns the basis used and completed as a percentage of it, one
// decimal, or nil when the basis number is unknown or zero. An empty basis
// means households if known, else population.
func share(completed int64, basis string, households, population *int) (string, *float64) {
	switch {
	case basis == BasisHouseholds:
	case basis != "":
		basis = BasisPopulation // population, population_15plus (approximated by everyone)
	case households != nil:
		basis = BasisHouseholds
	case population != nil:
		basis = BasisPopulation
	default:
		return "", nil
	}
	base := population
	if basis == BasisHouseholds {
		base = households
	}
	if base == nil || *base <= 0 {
		return "", nil
	}
	s := math.Round(float64(completed)*1000/float64(*base)) / 10
	return basis, &s
}

// StatsTotal is the sum of some rows: a commune's, a hamlet's or a flow's.
type StatsTotal struct {
	Started, Completed, CompletedSelf, CompletedTeam, Stalled, HelpRequests int64
}

// Add adds r to t.
func (t *StatsTotal) Add(r StatsRow) {
	t.Started += r.Started
	t.Completed += r.Completed
	t.CompletedSelf += r.CompletedSelf
	t.CompletedTeam += r.CompletedTeam
	t.Stalled += r.Stalled
	t.HelpRequests += r.HelpRequests
}

// AreaShare is the share for a flow in an area above the hamlets (a
// commune): completions summed over its hamlets, over the area's own
// households or population when known, otherwise the sum of its hamlets'
// when every hamlet but the unassigned ones has it. basis is as for
// StatsRows; the returned basis is the one used, "" when unknown.
func AreaShare(area Area, hamlets []Area, completed int64, basis string) (string, *float64) {
	hh, pop := area.Households, area.Population
	if hh == nil {
		hh = sumKnown(hamlets, func(a Area) *int { return a.Households })
	}
	if pop == nil {
		pop = sumKnown(hamlets, func(a Area) *int { return a.Population })
	}
	return share(completed, basis, hh, pop)
}

func sumKnown(hamlets []Area, get func(Area) *int) *int {
	n, known := 0, false
	for _, h := range hamlets {
		v := get(h)
		if v == nil {
			if h.Unassigned {
				continue
			}
			return nil
		}
		n += *v
		known = true
	}
	if !known {
		return nil
	}
	return &n
}

// MonthsBetween lists the months from..to (YYYY-MM) inclusive.
func MonthsBetween(from, to string) ([]string, error) {
	f, err := time.Parse("2006-01", from)
	if err != nil {
		return nil, fmt.Errorf("flows: %q is not a month like 2025-07", from)
	}
	t, err := time.Parse("2006-01", to)
	if err != nil {
		return nil, fmt.Errorf("flows: %q is not a month like 2025-07", to)
	}
	if t.Before(f) {
		return nil, fmt.Errorf("flows: month %s is before %s", to, from)
	}
	var ms []string
	for m := f; !m.After(t); m = m.AddDate(0, 1, 0) {
		ms = append(ms, m.Format("2006-01"))
	}
	return ms, nil
}

// Document is a file sent to a chat (the CSV of /export, a poster).
type Document struct {
	Name string `json:"name"`
	Data []byte `json:"data"`
	// Photo marks a document meant to be looked at, not kept (a /stats
	// chart): a channel that tells pictures from files shows it as a
	// picture in the chat (Telegram's sendPhoto, recompressed by
	// Telegram) when the platform takes it as one, else as a file. Leave
	// it unset for what is printed (a poster keeps its full quality as a
	// file).
	Photo bool `json:"photo,omitempty"`
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// CellInt is how every export (stats, areas, targets) writes an optional
// whole number: empty when unknown.
func CellInt(p *int) string {
	if p == nil {
		return ""
	}
	return strconv.Itoa(*p)
}

// CellFloat is how every export writes an optional decimal: empty when
// unknown, otherwise the shortest exact form.
func CellFloat(p *float64) string {
	if p == nil {
		return ""
	}
	return strconv.FormatFloat(*p, 'f', -1, 64)
}

// RollUp adds the counts of every hamlet that has ended (valid_to before
// today) and names a successor into the successor's, following the chain
// to the first hamlet still current, and drops the ended hamlet's pairs:
// a merged hamlet keeps its own counters in the store, and its history
// shows under the hamlet it became. A chain that loops or runs past ten
// steps is left where it is. The reports (`hangxom stats`, /stats,
// /export) call it on what Counts returns.
func RollUp(counts map[HamletFlow]Counts, areas Directory, today string) map[HamletFlow]Counts {
	merged := false
	for hf := range counts {
		if h, ok := areas.Area(hf.Hamlet); ok && MergedAway(h, today) {
			merged = true
			break
		}
	}
	if !merged {
		return counts // nothing to move: most days, in most provinces
	}
	out := make(map[HamletFlow]Counts, len(counts))
	for hf, n := range counts {
		to := hf.Hamlet
		for range 10 {
			h, ok := areas.Area(to)
			if !ok || h.Successor == "" || h.ValidTo == "" || h.ValidTo >= today {
				break
			}
			to = h.Successor
		}
		k := HamletFlow{Hamlet: to, Flow: hf.Flow}
		s := out[k]
		s.Started += n.Started
		s.CompletedSelf += n.CompletedSelf
		s.CompletedTeam += n.CompletedTeam
		s.Help += n.Help
		s.Abandoned += n.Abandoned
		s.Stalled += n.Stalled
		out[k] = s
	}
	return out
}

// MergedAway reports whether hamlet h has ended and names a successor, so
// that its counts show in the successor's row instead of its own.
func MergedAway(h Area, today string) bool {
	return h.Successor != "" && h.ValidTo != "" && h.ValidTo < today
}
