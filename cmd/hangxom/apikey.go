package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hangxomso/hangxom/dashboard"
	"github.com/hangxomso/hangxom/flows"
)

// runAPIKey is `hangxom apikey create|list|revoke`: the keys the province's
// own systems read the open feed with (GET <DASHBOARD_URL>api/v1/…, issue
// 20). The store keeps only a key's hash, so create prints the key once and
// nothing can print it again.
func runAPIKey(ctx context.Context, e *environ, args []string) error {
	if len(args) == 0 {
		return usagef("apikey: give a subcommand: create --area ID, list, or revoke ID")
	}
	switch args[0] {
	case "create":
		return runAPIKeyCreate(ctx, e, args[1:])
	case "list":
		return runAPIKeyList(ctx, e, args[1:])
	case "revoke":
		return runAPIKeyRevoke(ctx, e, args[1:])
	}
	return usagef("apikey: unknown subcommand %q; use create, list or revoke", args[0])
}

// runAPIKeyCreate makes a key for one area and prints what it made, the
// key alone on the last line, so a script can take it with `tail -n 1`.
func runAPIKeyCreate(ctx context.Context, e *environ, args []string) error {
	fs := newFlagSet("apikey create")
	areaID := fs.String("area", "", "the hamlet, commune or province whose counts the key reads")
	name := fs.String("name", "", "who the key is for, as the list shows it (e.g. \"Sở TT&TT\")")
	cfg, err := e.settings(fs, args)
	if err != nil {
		return err
	}
	if *areaID == "" {
		return usagef("--area: required (see \"hangxom areas list\")")
	}
	if len(*name) > 200 || strings.ContainsAny(*name, "\r\n") {
		return usagef("--name: one line of at most 200 bytes")
	}
	if err := requireRedis("apikey create", cfg, e.opts); err != nil {
		return err
	}
	a, err := e.open(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	area, ok := a.areas.Area(*areaID)
	if !ok {
		return usagef("--area: no area %q (see \"hangxom areas list\")", *areaID)
	}
	key, h, err := dashboard.NewAPIKey(nil)
	if err != nil {
		return err
	}
	k, err := a.store.CreateAPIKey(ctx, h, area.ID, strings.TrimSpace(*name), a.clock.Now())
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "id: %s\narea: %s (%s, %s)\n", k.ID, area.Name, area.ID, area.Level)
	if k.Name != "" {
		fmt.Fprintf(e.stdout, "name: %s\n", k.Name)
	}
	fmt.Fprintf(e.stdout, "created: %s (%s)\n", k.Created.In(cfg.TZ).Format("2006-01-02 15:04 MST"), cfg.TZName)
	if cfg.DashboardURL != nil {
		fmt.Fprintf(e.stdout, "feed: %sapi/v1/stats and %sapi/v1/funnel\n", cfg.DashboardURL, cfg.DashboardURL)
	} else {
		fmt.Fprintln(e.stderr, "hangxom: the feed is served under DASHBOARD_URL; set it on serve to open it")
	}
	fmt.Fprintln(e.stdout, "The key follows, shown this once (only its hash is kept): send it as \"Authorization: Bearer <key>\".")
	fmt.Fprintln(e.stdout, key)
	return nil
}

// apiKeyJSON is one key in `hangxom apikey list --format json`.
type apiKeyJSON struct {
	ID      string `json:"id"`
	Area    string `json:"area"`
	Name    string `json:"name"`
	Created string `json:"created"`
}

func runAPIKeyList(ctx context.Context, e *environ, args []string) error {
	a, format, err := startList(ctx, e, "apikey list", args)
	if err != nil {
		return err
	}
	defer a.Close()
	keys, err := a.store.APIKeys(ctx)
	if err != nil {
		return err
	}
	if format == "json" {
		out := make([]apiKeyJSON, len(keys))
		for i, k := range keys {
			out[i] = apiKeyJSON{ID: k.ID, Area: k.Area, Name: k.Name, Created: k.Created.Format(time.RFC3339)}
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tAREA\tNAME\tCREATED")
	for _, k := range keys {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", k.ID, areaLabel(a, k), dash(k.Name), k.Created.In(a.cfg.TZ).Format("2006-01-02 15:04"))
	}
	return tw.Flush()
}

// areaLabel is a key's area as the table writes it: its id, and its name
// while it exists.
func areaLabel(a *app, k flows.APIKey) string {
	if x, ok := a.areas.Area(k.Area); ok {
		return k.Area + " (" + x.Name + ")"
	}
	return k.Area + " (no such area now)"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// runAPIKeyRevoke deletes a key by its id; the next request with it is
// refused.
func runAPIKeyRevoke(ctx context.Context, e *environ, args []string) error {
	fs := newFlagSet("apikey revoke")
	resolve := addSettings(fs, e.getenv)
	// The id may come before, between or after the settings' flags.
	var ids []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return parseFlags(fs, []string{"-h"}, e.stderr)
			}
			return &usageError{msg: fs.Name() + ": " + err.Error()}
		}
		if fs.NArg() == 0 {
			break
		}
		ids = append(ids, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(ids) != 1 {
		return usagef("apikey revoke: give one key id (see \"hangxom apikey list\")")
	}
	cfg, err := resolve()
	if err != nil {
		return err
	}
	if err := requireRedis("apikey revoke", cfg, e.opts); err != nil {
		return err
	}
	a, err := e.open(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	ok, err := a.store.RevokeAPIKey(ctx, ids[0])
	if err != nil {
		return err
	}
	if !ok {
		return &exitError{code: 1, err: fmt.Errorf("apikey revoke: no key %q (see \"hangxom apikey list\")", ids[0])}
	}
	fmt.Fprintf(e.stdout, "revoked %s: the feed refuses it from now on\n", ids[0])
	return nil
}
