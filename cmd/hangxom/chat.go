package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/hangxomso/hangxom/bot/console"
	"github.com/hangxomso/hangxom/delivery"
	"github.com/hangxomso/hangxom/flows"
)

var userPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

func runChat(ctx context.Context, e *environ, args []string) error {
	fs := newFlagSet("chat")
	user := fs.String("user", "guest", "who you are in the console (resident id console:NAME); the same name resumes")
	name := fs.String("name", "", "display name shown to the hamlet's team")
	lang := fs.String("lang", "", "language at first contact: vi or en (default vi)")
	cfg, err := e.settings(fs, args)
	if err != nil {
		return err
	}
	if !userPattern.MatchString(*user) {
		return usagef("--user: %q: use 1–64 letters, digits, '.', '_' or '-'", *user)
	}
	switch *lang {
	case "", "vi", "en":
	default:
		return usagef("--lang: %q: use vi or en", *lang)
	}
	a, err := e.open(ctx, cfg)
	if err != nil {
		return err
	}
	defer a.Close()
	if _, err := a.sweep(ctx); err != nil {
		a.logger.Warn("sweep at start failed", "err", err)
	}
	sweepCtx, stopSweep := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); a.sweepEvery(sweepCtx, time.Minute) }()
	defer func() { stopSweep(); <-done }()

	interactive := isTerminal(e.stdin)
	if interactive {
		fmt.Fprintln(e.stderr, "hangxom: type /start to begin, a number to tap a button, Ctrl-D to leave.")
	}
	// The console delivers on the core as every channel does, synchronously
	// after each line: no pace (a terminal has no limit) and no held finish
	// (nothing runs to write it), so transcripts stay deterministic.
	sender := &delivery.Core{Store: a.store, Transports: []delivery.Transport{&console.Transport{Out: e.stdout}},
		Logger: a.logger, Clock: a.clock, Chat: delivery.Unpaced, FinishDelay: -1,
		Metrics: delivery.NewMetrics(a.metrics, "console")}
	ch := &console.Channel{
		Resident: "console:" + *user,
		In:       e.stdin, Out: e.stdout, Err: e.stderr,
		Handler: &langHandler{h: a.service, lang: *lang, name: strings.TrimSpace(*name)},
		Sender:  sender,
		Reach:   a.store,
		Echo:    !interactive,
		Metrics: a.metrics.Channel("console"),
	}
	return ch.Run(ctx)
}

// isTerminal reports whether r is an interactive terminal.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// langHandler adds the console's --lang and --name to every input.
type langHandler struct {
	h interface {
		Handle(ctx context.Context, resident string, in flows.Input) (flows.Handled, error)
	}
	lang, name string
}

func (l *langHandler) Handle(ctx context.Context, resident string, in flows.Input) (flows.Handled, error) {
	in.Lang, in.Name = l.lang, l.name
	return l.h.Handle(ctx, resident, in)
}
