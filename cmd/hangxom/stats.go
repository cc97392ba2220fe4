package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/hangxomso/hangxom/content"
	"github.com/hangxomso/hangxom/flows"
)

// statsEpoch is the first month counted when --from is not given.
const statsEpoch = flows.StatsEpoch

// statsRow is one (hamlet, flow) line of `hangxom stats`, the Desk's /stats
// and /export alike. Unknown numbers are nil and print as null (JSON) or
// empty (CSV, table).
type statsRow = flows.StatsRow

// statsColumns are the foundation's stats schema, in order.
var statsColumns = flows.StatsColumns()

func runStats(ctx context.Context, e *environ, args []string) error {
	fs := newFlagSet("stats")
	format := fs.String("format", "table", "table, csv or json")
	from := fs.String("from", "", "first month counted, YYYY-MM (default "+statsEpoch+")")
	to := fs.String("to", "", "last month counted, YYYY-MM (default this month)")
	cfg, err := e.settings(fs, args)
	if err != nil {
		return err
	}
	switch *format {
	case "table", "csv", "json":
	default:
		return usagef("--format: %q: use table, csv or json", *format)
	}
	now := e.now()
	months, err := monthRange(*from, *to, now.In(cfg.TZ))
	if err != nil {
		return err
	}
	if err := requireRedis("stats", cfg, e.opts); err != nil {
		return err
	}
	a, err := e.open(ctx, cfg)
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
		return writeStatsJSON(e.stdout, rows, now)
	case "csv":
		return writeStatsCSV(e.stdout, rows)
	}
	if err := writeStatsTable(e.stdout, rows); err != nil {
		return err
	}
	// Help asked from the menu belongs to no flow, so no row shows it.
	help, err := a.store.HelpRequests(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "\nHelp requests recorded, all time, inside and outside flows: %d\n", help)
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
// commune, hamlet and flow id, with the computation the Desk uses.
func (a *app) statsRows(ctx context.Context, months []string, now time.Time) ([]statsRow, error) {
	today := now.In(a.cfg.TZ).Format(time.DateOnly)
	var hamlets, all []flows.Area
	for _, x := range a.areas.All() {
		if x.Level != flows.LevelHamlet {
			continue
		}
		all = append(all, x)
		// A merged hamlet has no row; its counts roll up into its successor's.
		if !flows.MergedAway(x, today) {
			hamlets = append(hamlets, x)
		}
	}
	ids := a.flowIDs()
	slices.Sort(ids)
	sc := flows.StatsScope{Areas: a.areas, Hamlets: hamlets, Flows: ids, Targets: content.StatsTargets(a.targets)}
	read := flows.StatsScope{Areas: a.areas, Hamlets: all, Flows: ids}
	counts, err := a.store.Counts(ctx, read.Pairs(), months, now.Add(-a.cfg.WaitExpiry))
	if err != nil {
		return nil, err
	}
	return flows.StatsRows(sc, flows.RollUp(counts, a.areas, today)), nil
}

// writeStatsJSON writes the document the open feed's /api/v1/stats shares
// (flows.StatsJSON).
func writeStatsJSON(w io.Writer, rows []statsRow, now time.Time) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(flows.NewStatsJSON(rows, now))
}

// writeStatsCSV writes the rows as the Desk's /export does: UTF-8 with a
// byte-order mark, so spreadsheet programs show the Vietnamese names.
func writeStatsCSV(w io.Writer, rows []statsRow) error {
	_, err := w.Write(flows.ExportCSV(rows))
	return err
}

func writeStatsTable(w io.Writer, rows []statsRow) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	header := []string{"COMMUNE", "HAMLET", "FLOW", "STARTED", "COMPLETED", "SELF", "TEAM", "STALLED", "HELP", "HOUSEHOLDS", "POPULATION", "SHARE%", "TARGET%"}
	fmt.Fprintln(tw, join(header))
	for _, r := range rows {
		c := r.Cells()
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
