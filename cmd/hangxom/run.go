package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
	"time"
)

// version is set at build time with -ldflags "-X main.version=…"; otherwise
// the module's build information is used.
var version = ""

const usage = `hangxom — Hàng xóm số, step-by-step help with digital services for villagers

Usage:
  hangxom serve                                              the Telegram bot (long polling, or a webhook with WEBHOOK_URL)
  hangxom chat [--user NAME] [--name DISPLAY] [--lang vi|en]   chat with the bot in this terminal
  hangxom stats [--format table|csv|json] [--from YYYY-MM] [--to YYYY-MM]
                                                             completion counts per hamlet and flow
  hangxom invite --area ID --role team|coordinator [--secretary] [--uses N] [--ttl 7d] [--format json]
                                                             an invite code and t.me link for a team member or coordinator
  hangxom apikey create --area ID [--name TEXT]              a read-only key of the open feed (api/v1 under DASHBOARD_URL)
                                                             for one area; the key alone on the last line, shown once
  hangxom apikey list [--format table|json]                  the feed's keys: id, area, name, created (never the key)
  hangxom apikey revoke ID                                   the feed refuses the key from now on
  hangxom areas import FILE.csv                              add or update hamlets from a spreadsheet (all or nothing)
  hangxom areas list [--format table|json]                   every area with its households, population and dates
  hangxom targets import FILE.csv                            adoption targets per flow and area
  hangxom targets list [--format table|json]                 the targets in force (imported, else content)
  hangxom poster --hamlet ID --out FILE.png [--bot USERNAME]   a printable A4 poster with the hamlet's QR code
  hangxom loadtest [--phases memory,throughput,latency,report,reminders] [--residents N] [--duration 20s]
                                                             measure the bot under load (see docs/performance.md)
  hangxom zalo connect                                       link the Zalo Official Account: prints the permission
                                                             address, reads back the code, stores the OA's tokens in Redis
  hangxom content check                                      validate the flows and the words
  hangxom content measure [--transcripts DIR]                issue 19's figures: per guide and language, steps, longest
                                                             turn, buttons per screen (walking every button through the
                                                             engine in memory, and on the golden transcripts), hedges
  hangxom version                                            print the version

Every command that uses the store takes the settings below, as an
environment variable or a flag (the flag wins). With no Redis setting, chat
and poster use the embedded in-memory store (lost at exit); serve, stats,
invite, apikey, areas and targets refuse to run on it unless STORE=memory
is set; zalo connect always refuses it (serve could not read the tokens it
stores).
`

// exitError carries an exit status other than 1.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// exitCode prints err (if any) and returns the process exit status: 0 for
// success, 2 for a usage or configuration error, 1 for anything else.
func exitCode(err error, stderr io.Writer) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	var ue *usageError
	var ee *exitError
	switch {
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "hangxom: %s\n", ue.msg)
		return 2
	case errors.As(err, &ee):
		if ee.err.Error() != "" {
			fmt.Fprintf(stderr, "hangxom: %v\n", ee.err)
		}
		return ee.code
	}
	fmt.Fprintf(stderr, "hangxom: %v\n", err)
	return 1
}

// run is the whole program: it parses args and the environment, runs one
// command, and returns when it is done or ctx is cancelled.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	return runWith(ctx, args, getenv, stdin, stdout, stderr, appOptions{})
}

// runWith is run with options tests set: a fixed clock, a key prefix.
func runWith(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer, opts appOptions) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usagef("no command given; try \"hangxom chat\"")
	}
	e := &environ{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr, opts: opts}
	switch args[0] {
	case "chat":
		return runChat(ctx, e, args[1:])
	case "serve":
		return runServe(ctx, e, args[1:])
	case "areas":
		return runAreas(ctx, e, args[1:])
	case "targets":
		return runTargets(ctx, e, args[1:])
	case "poster":
		return runPoster(ctx, e, args[1:])
	case "invite":
		return runInvite(ctx, e, args[1:])
	case "apikey":
		return runAPIKey(ctx, e, args[1:])
	case "loadtest":
		return runLoadtest(ctx, e, args[1:])
	case "stats":
		return runStats(ctx, e, args[1:])
	case "zalo":
		return runZalo(ctx, e, args[1:])
	case "content":
		if len(args) >= 2 && args[1] == "measure" {
			return runContentMeasure(ctx, e, args[2:])
		}
		if len(args) < 2 || args[1] != "check" {
			return usagef("content: the subcommands are \"check\" and \"measure\"")
		}
		return runContentCheck(ctx, e, args[2:])
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "hangxom", buildVersion())
		return nil
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usage)
		printSettings(stdout)
		return nil
	}
	return usagef("unknown command %q; try \"hangxom help\"", args[0])
}

// environ is what a command runs in: the process's environment and
// standard streams, and the options tests set. Each command is
// runX(ctx, e, args).
type environ struct {
	getenv         func(string) string
	stdin          io.Reader
	stdout, stderr io.Writer
	opts           appOptions
}

// settings adds the settings (REDIS_URL and the rest) to fs after the
// command's own flags, parses args and resolves the configuration: a flag
// wins over its environment variable.
func (e *environ) settings(fs *flag.FlagSet, args []string) (config, error) {
	return parseSettings(fs, args, addSettings(fs, e.getenv), e.stderr)
}

// open opens the app for cfg (openApp): the content, the store, the desk.
func (e *environ) open(ctx context.Context, cfg config) (*app, error) {
	return openApp(ctx, cfg, e.opts, e.stderr)
}

// now is the time on the command's clock: a test's, else the wall clock.
func (e *environ) now() time.Time {
	if e.opts.clock != nil {
		return e.opts.clock.Now()
	}
	return time.Now()
}

func printSettings(w io.Writer) {
	fmt.Fprintln(w, "\nSettings:")
	for _, s := range settings {
		def := ""
		if s.def != "" {
			def = " (default " + s.def + ")"
		}
		fmt.Fprintf(w, "  %-22s --%-22s %s%s\n", s.env, s.flag, s.help, def)
	}
}

func buildVersion() string {
	if version != "" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	v := info.Main.Version
	var rev, dirty string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		return strings.TrimSpace(v + " " + rev + dirty)
	}
	return v
}
