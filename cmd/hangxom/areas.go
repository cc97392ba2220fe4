package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/hangxomso/hangxom/content"
	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/store"
)

// runAreas is `hangxom areas import FILE.csv` and `hangxom areas list`.
func runAreas(ctx context.Context, e *environ, args []string) error {
	if len(args) == 0 {
		return usagef("areas: give a subcommand: import FILE.csv, or list")
	}
	switch args[0] {
	case "import":
		return runAreasImport(ctx, e, args[1:])
	case "list":
		return runAreasList(ctx, e, args[1:])
	}
	return usagef("areas: unknown subcommand %q; use import or list", args[0])
}

// runTargets is `hangxom targets import FILE.csv` and `hangxom targets list`.
func runTargets(ctx context.Context, e *environ, args []string) error {
	if len(args) == 0 {
		return usagef("targets: give a subcommand: import FILE.csv, or list")
	}
	switch args[0] {
	case "import":
		return runTargetsImport(ctx, e, args[1:])
	case "list":
		return runTargetsList(ctx, e, args[1:])
	}
	return usagef("targets: unknown subcommand %q; use import or list", args[0])
}

// parseFileArgs parses the flags of a command that takes one file, given
// before, between or after them ("-" is standard input), and resolves the
// settings.
func parseFileArgs(fs *flag.FlagSet, args []string, resolve func() (config, error), stderr io.Writer) (string, config, error) {
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return "", config{}, parseFlags(fs, []string{"-h"}, stderr)
			}
			return "", config{}, &usageError{msg: fs.Name() + ": " + err.Error()}
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		args = fs.Args()[1:]
	}
	switch len(files) {
	case 0:
		return "", config{}, usagef("%s: give the CSV file to import (- for standard input)", fs.Name())
	case 1:
	default:
		return "", config{}, usagef("%s: unexpected argument %q; import one file at a time", fs.Name(), files[1])
	}
	cfg, err := resolve()
	return files[0], cfg, err
}

// openImport opens the file to import; "-" is stdin.
func openImport(file string, stdin io.Reader) (io.Reader, string, func(), error) {
	if file == "-" {
		return stdin, "stdin", func() {}, nil
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, "", nil, err
	}
	return f, file, func() { _ = f.Close() }, nil
}

// startImport parses an import command's arguments, opens its file (or
// standard input) and the app; done closes both.
func startImport(ctx context.Context, e *environ, cmd string, args []string) (io.Reader, string, *app, config, func(), error) {
	fs := newFlagSet(cmd)
	resolve := addSettings(fs, e.getenv)
	file, cfg, err := parseFileArgs(fs, args, resolve, e.stderr)
	if err != nil {
		return nil, "", nil, cfg, nil, err
	}
	if err := requireRedis(cmd, cfg, e.opts); err != nil {
		return nil, "", nil, cfg, nil, err
	}
	r, name, closeFile, err := openImport(file, e.stdin)
	if err != nil {
		return nil, "", nil, cfg, nil, fmt.Errorf("%s: %w", cmd, err)
	}
	a, err := e.open(ctx, cfg)
	if err != nil {
		closeFile()
		return nil, "", nil, cfg, nil, err
	}
	return r, name, a, cfg, func() { a.Close(); closeFile() }, nil
}

// startList parses a list command's flags (--format table or json, and the
// settings) and opens the app; the caller closes it.
func startList(ctx context.Context, e *environ, cmd string, args []string) (*app, string, error) {
	fs := newFlagSet(cmd)
	format := fs.String("format", "table", "table or json")
	cfg, err := e.settings(fs, args)
	if err != nil {
		return nil, "", err
	}
	if *format != "table" && *format != "json" {
		return nil, "", usagef("--format: %q: use table or json", *format)
	}
	if err := requireRedis(cmd, cfg, e.opts); err != nil {
		return nil, "", err
	}
	a, err := e.open(ctx, cfg)
	if err != nil {
		return nil, "", err
	}
	return a, *format, nil
}

// problemsError prints every problem and returns the exit-1 error.
func problemsError(cmd, file string, ps []content.Problem, stdout io.Writer) error {
	for _, p := range ps {
		fmt.Fprintln(stdout, p.String())
	}
	return &exitError{code: 1, err: fmt.Errorf("%s: %d problem(s) in %s; nothing was imported", cmd, len(ps), file)}
}

func runAreasImport(ctx context.Context, e *environ, args []string) error {
	r, name, a, cfg, done, err := startImport(ctx, e, "areas import", args)
	if err != nil {
		return err
	}
	defer done()
	existing := a.areas.All()
	was := make(map[string]bool, len(existing))
	for _, x := range existing {
		was[x.ID] = true
	}
	changed, ps := content.ParseAreasCSV(r, name, existing, e.now().In(cfg.TZ).Format(time.DateOnly))
	if len(ps) > 0 {
		return problemsError("areas import", name, ps, e.stdout)
	}
	if err := a.store.PutAreas(ctx, changed); err != nil {
		return err
	}
	added := 0
	for _, x := range changed {
		verb := "updated"
		if !was[x.ID] {
			verb = "added  "
			added++
		}
		c, _ := a.areas.Area(x.ParentID)
		fmt.Fprintf(e.stdout, "%s %s  %s (%s)\n", verb, x.ID, x.Name, c.Name)
	}
	fmt.Fprintf(e.stdout, "areas import: %d hamlet(s) added, %d updated\n", added, len(changed)-added)
	return nil
}

// areaJSON is one area in `hangxom areas list --format json`; unknown
// numbers are null, absent text is "". Code is a hamlet's code, which
// residents send on Zalo (and a Zalo poster prints).
type areaJSON struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Level      string `json:"level"`
	Code       string `json:"code"`
	ParentID   string `json:"parent_id"`
	Households *int   `json:"households"`
	Population *int   `json:"population"`
	ValidFrom  string `json:"valid_from"`
	ValidTo    string `json:"valid_to"`
}

func runAreasList(ctx context.Context, e *environ, args []string) error {
	a, format, err := startList(ctx, e, "areas list", args)
	if err != nil {
		return err
	}
	defer a.Close()
	list := listOrder(a.areas)
	if format == "json" {
		out := make([]areaJSON, len(list))
		for i, x := range list {
			out[i] = areaJSON{ID: x.ID, Name: x.Name, Level: x.Level, Code: x.Code, ParentID: x.ParentID,
				Households: x.Households, Population: x.Population, ValidFrom: x.ValidFrom, ValidTo: x.ValidTo}
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, join([]string{"ID", "LEVEL", "CODE", "NAME", "PARENT", "HOUSEHOLDS", "POPULATION", "VALID_FROM", "VALID_TO", "SUCCESSOR"}))
	for _, x := range list {
		fmt.Fprintln(tw, join([]string{x.ID, x.Level, x.Code, x.Name, x.ParentID, flows.CellInt(x.Households), flows.CellInt(x.Population),
			x.ValidFrom, x.ValidTo, x.Successor}))
	}
	return tw.Flush()
}

// listOrder orders every area for a listing: provinces, then each commune
// followed by its hamlets, both in flows.SortAreas order, then any area
// whose parent is missing.
func listOrder(idx *flows.AreaIndex) []flows.Area {
	all := idx.All()
	flows.SortAreas(all)
	var out []flows.Area
	placed := map[string]bool{}
	put := func(x flows.Area) {
		if !placed[x.ID] {
			placed[x.ID] = true
			out = append(out, x)
		}
	}
	for _, x := range all {
		if x.Level == flows.LevelProvince {
			put(x)
		}
	}
	for _, c := range idx.Communes() {
		put(c)
		for _, h := range idx.Children(c.ID) {
			put(h)
		}
	}
	for _, x := range all {
		put(x)
	}
	return out
}

func runTargetsImport(ctx context.Context, e *environ, args []string) error {
	r, name, a, _, done, err := startImport(ctx, e, "targets import", args)
	if err != nil {
		return err
	}
	defer done()
	targets, ps := content.ParseTargetsCSV(r, name, a.flowIDs(), a.areas.All())
	if len(ps) > 0 {
		return problemsError("targets import", name, ps, e.stdout)
	}
	recs := make([]store.TargetRecord, len(targets))
	for i, t := range targets {
		b, err := content.MarshalTarget(t)
		if err != nil {
			return err
		}
		recs[i] = store.TargetRecord{Flow: t.Flow, Area: t.Area, JSON: b}
	}
	if err := a.store.PutTargets(ctx, recs); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "targets import: %d target(s) stored\n", len(recs))
	return nil
}

// targetJSON is one target in `hangxom targets list --format json`.
type targetJSON struct {
	Flow   string  `json:"flow"`
	AreaID string  `json:"area_id"`
	Unit   string  `json:"unit"`
	Pct    float64 `json:"pct"`
	Source string  `json:"source"`
	Note   string  `json:"note"`
	From   string  `json:"from"` // "import" or "content"
}

func runTargetsList(ctx context.Context, e *environ, args []string) error {
	a, format, err := startList(ctx, e, "targets list", args)
	if err != nil {
		return err
	}
	defer a.Close()
	ts, imported, err := a.effectiveTargets(ctx)
	if err != nil {
		return err
	}
	out := make([]targetJSON, len(ts))
	for i, t := range ts {
		from := "content"
		if imported[[2]string{t.Flow, t.Area}] {
			from = "import"
		}
		out[i] = targetJSON{Flow: t.Flow, AreaID: t.Area, Unit: t.Basis, Pct: t.Pct, Source: t.Source, Note: t.Note, From: from}
	}
	if format == "json" {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, join([]string{"FLOW", "AREA", "UNIT", "PCT", "FROM", "SOURCE"}))
	for _, t := range out {
		pct := t.Pct
		fmt.Fprintln(tw, join([]string{t.Flow, t.AreaID, t.Unit, flows.CellFloat(&pct), t.From, t.Source}))
	}
	return tw.Flush()
}

// effectiveTargets returns the targets in force (content.MergeTargets: the
// imported ones, and the content's for every flow and area no import
// names). imported marks the (flow, area) pairs that come from the store.
func (a *app) effectiveTargets(ctx context.Context) (ts []content.Target, imported map[[2]string]bool, err error) {
	recs, err := a.store.Targets(ctx)
	if err != nil {
		return nil, nil, err
	}
	stored := make([]content.Target, 0, len(recs))
	imported = make(map[[2]string]bool, len(recs))
	for _, r := range recs {
		t, err := content.UnmarshalTarget(r.JSON)
		if err != nil {
			return nil, nil, fmt.Errorf("stored target %s/%s: %w", r.Flow, r.Area, err)
		}
		t.Flow, t.Area = r.Flow, r.Area
		imported[[2]string{r.Flow, r.Area}] = true
		stored = append(stored, t)
	}
	return content.MergeTargets(stored, a.targets), imported, nil
}

// useStoredTargets makes the targets imported with `hangxom targets import`
// win over the content's for the same flow and area; openApp calls it, so
// `hangxom stats` and the coordinators' /stats agree.
func (a *app) useStoredTargets(ctx context.Context) error {
	ts, _, err := a.effectiveTargets(ctx)
	if err != nil {
		return err
	}
	a.targets = ts
	return nil
}
