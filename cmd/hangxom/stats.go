package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/hangxomso/hangxom/content"
	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/store"
)

// statsEpoch is the first month counted when --from is not given: Võ Nhai's
// community digital-technology teams were set up from the start of 2022
// (seed article).
const statsEpoch = "2022-01"

// statsRow is one (hamlet, flow) line of `hangxom stats`. Unknown numbers
// are nil and print as null (JSON) or empty (CSV, table).
type statsRow struct {
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
}

var statsColumns = []string{"commune_id", "commune", "hamlet_id", "hamlet", "flow", "started", "completed",
	"completed_self", "completed_team", "stalled", "help_requests", "households", "population", "share_pct", "target_pct"}

func runStats(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, opts appOptions) error {
	fs := newFlagSet("stats")
	format := fs.String("format", "table", "table, csv or json")
	from := fs.String("from", "", "first month counted, YYYY-MM (default "+statsEpoch+")")
	to := fs.String("to", "", "last month counted, YYYY-MM (default this month)")
	resolve := addSettings(fs, getenv)
	cfg, err := parseSettings(fs, args, resolve, stderr)
	if err != nil {
		return err
	}
	switch *format {
	case "table", "csv", "json":
	default:
		return usagef("--format: %q: use table, csv or json", *format)
	}
	if opts.clock == nil {
		opts.clock = flows.ClockFunc(time.Now)
	}
	now := opts.clock.Now()
	months, err := monthRange(*from, *to, now.In(cfg.TZ))
	if err != nil {
		return err
	}
	a, err := openApp(ctx, cfg, opts, stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	rows, err := a.statsRows(ctx, months, now)
	if err != nil {
		return err
	}
	switch *format {
	case "json":
		return writeStatsJSON(stdout, rows, now)
	case "csv":
		return writeStatsCSV(stdout, rows)
	}
	if err := writeStatsTable(stdout, rows); err != nil {
		return err
	}
	// Help asked from the menu belongs to no flow, so no row shows it.
	help, err := a.store.HelpRequests(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nHelp requests recorded, all time, inside and outside flows: %d\n", help)
	return nil
}

// monthRange lists the months from..to inclusive.
func monthRange(from, to string, now time.Time) ([]string, error) {
	if from == "" {
		from = statsEpoch
	}
	if to == "" {
		to = now.Format("2006-01")
	}
	f, err := time.Parse("2006-01", from)
	if err != nil {
		return nil, usagef("--from: %q is not a month like 2025-07", from)
	}
	t, err := time.Parse("2006-01", to)
	if err != nil {
		return nil, usagef("--to: %q is not a month like 2025-07", to)
	}
	if t.Before(f) {
		return nil, usagef("--to %s is before --from %s", to, from)
	}
	var ms []string
	for m := f; !m.After(t); m = m.AddDate(0, 1, 0) {
		ms = append(ms, m.Format("2006-01"))
	}
	return ms, nil
}

// statsRows builds one row per (hamlet, flow), zero rows included, sorted by
// commune, hamlet and flow.
func (a *app) statsRows(ctx context.Context, months []string, now time.Time) ([]statsRow, error) {
	var hamlets []flows.Area
	for _, x := range a.areas.All() {
		if x.Level == flows.LevelHamlet {
			hamlets = append(hamlets, x)
		}
	}
	var pairs []store.HamletFlow
	for _, h := range hamlets {
		for _, f := range a.library.Flows() {
			pairs = append(pairs, store.HamletFlow{Hamlet: h.ID, Flow: f.ID})
		}
	}
	counts, err := a.store.Counts(ctx, pairs, months, now.Add(-a.cfg.WaitExpiry))
	if err != nil {
		return nil, err
	}
	var rows []statsRow
	for _, h := range hamlets {
		c, _ := a.areas.Area(h.ParentID)
		for _, f := range a.library.Flows() {
			n := counts[store.HamletFlow{Hamlet: h.ID, Flow: f.ID}]
			r := statsRow{
				CommuneID: c.ID, Commune: c.Name, HamletID: h.ID, Hamlet: h.Name, Flow: f.ID,
				Started: n.Started, CompletedSelf: n.CompletedSelf, CompletedTeam: n.CompletedTeam,
				Completed: n.CompletedSelf + n.CompletedTeam, Stalled: n.Stalled, HelpRequests: n.Help,
				Households: h.Households, Population: h.Population,
			}
			if t, ok := a.target(f.ID, h); ok {
				pct := t.Pct
				r.TargetPct = &pct
				base := h.Population
				if t.Basis == "households" {
					base = h.Households
				}
				if base != nil && *base > 0 {
					share := math.Round(float64(r.Completed)*1000/float64(*base)) / 10
					r.SharePct = &share
				}
			}
			rows = append(rows, r)
		}
	}
	sort.SliceStable(rows, func(i, j int) bool {
		x, y := rows[i], rows[j]
		if c := flows.NaturalCompare(flows.Fold(x.Commune), flows.Fold(y.Commune)); c != 0 {
			return c < 0
		}
		if x.CommuneID != y.CommuneID {
			return x.CommuneID < y.CommuneID
		}
		if c := flows.NaturalCompare(flows.Fold(x.Hamlet), flows.Fold(y.Hamlet)); c != 0 {
			return c < 0
		}
		if x.HamletID != y.HamletID {
			return x.HamletID < y.HamletID
		}
		return x.Flow < y.Flow
	})
	return rows, nil
}

// target finds the target for flow that applies to hamlet h: the one set on
// the nearest area up the tree.
func (a *app) target(flow string, h flows.Area) (content.Target, bool) {
	for id, depth := h.ID, 0; id != "" && depth < 10; depth++ {
		for _, t := range a.targets {
			if t.Flow == flow && t.Area == id {
				return t, true
			}
		}
		x, ok := a.areas.Area(id)
		if !ok {
			break
		}
		id = x.ParentID
	}
	return content.Target{}, false
}

func writeStatsJSON(w io.Writer, rows []statsRow, now time.Time) error {
	if rows == nil {
		rows = []statsRow{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		GeneratedAt string     `json:"generated_at"`
		Rows        []statsRow `json:"rows"`
	}{now.Format(time.RFC3339), rows})
}

func (r statsRow) cells() []string {
	return []string{r.CommuneID, r.Commune, r.HamletID, r.Hamlet, r.Flow, itoa(r.Started), itoa(r.Completed),
		itoa(r.CompletedSelf), itoa(r.CompletedTeam), itoa(r.Stalled), itoa(r.HelpRequests),
		optInt(r.Households), optInt(r.Population), optFloat(r.SharePct), optFloat(r.TargetPct)}
}

// writeStatsCSV writes UTF-8 with a byte-order mark, so spreadsheet programs
// show the Vietnamese names correctly.
func writeStatsCSV(w io.Writer, rows []statsRow) error {
	if _, err := io.WriteString(w, "\ufeff"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	_ = cw.Write(statsColumns)
	for _, r := range rows {
		_ = cw.Write(r.cells())
	}
	cw.Flush()
	return cw.Error()
}

func writeStatsTable(w io.Writer, rows []statsRow) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	header := []string{"COMMUNE", "HAMLET", "FLOW", "STARTED", "COMPLETED", "SELF", "TEAM", "STALLED", "HELP", "HOUSEHOLDS", "POPULATION", "SHARE%", "TARGET%"}
	fmt.Fprintln(tw, join(header))
	for _, r := range rows {
		c := r.cells()
		fmt.Fprintln(tw, join([]string{c[1], c[3], c[4], c[5], c[6], c[7], c[8], c[9], c[10], c[11], c[12], c[13], c[14]}))
	}
	return tw.Flush()
}

func join(cs []string) string {
	s := ""
	for i, c := range cs {
		if i > 0 {
			s += "\t"
		}
		if c == "" {
			c = "-"
		}
		s += c
	}
	return s
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func optInt(p *int) string {
	if p == nil {
		return ""
	}
	return strconv.Itoa(*p)
}

func optFloat(p *float64) string {
	if p == nil {
		return ""
	}
	return strconv.FormatFloat(*p, 'f', -1, 64)
}
