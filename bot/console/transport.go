package console

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/hangxomso/hangxom/delivery"
	"github.com/hangxomso/hangxom/flows"
)

// Transport is the console's sending half for the delivery core: it prints
// each message on Out as Print does and writes a document into Dir.
type Transport struct {
	Out io.Writer
	// Dir is where documents (exports) are written; "" is the working
	// directory.
	Dir string
}

var _ delivery.Transport = (*Transport)(nil)

// Name implements delivery.Transport.
func (*Transport) Name() string { return "console" }

// Owns implements delivery.Transport: console residents are "console:<name>".
func (*Transport) Owns(resident string) bool { return strings.HasPrefix(resident, "console:") }

// Limits implements delivery.Transport: a terminal takes any length, so a
// reply is never cut.
func (*Transport) Limits() delivery.Limits {
	return delivery.Limits{MaxText: 1 << 30, OneMessage: 1 << 30}
}

// Send implements delivery.Transport. A document is written into Dir and
// its path printed, a picture one (flows.Document.Photo, a chart) too: a
// terminal shows no pictures, and the path opens it. m.NoPreview changes
// nothing: a terminal previews no links. A closed output (the reader went
// away) is Unreachable; an output that would block (EAGAIN, a non-blocking
// terminal full) asks to wait, as a rate limit; a failure after part of the
// message was written is Uncertain (not printed twice); any other is
// Transient.
func (t *Transport) Send(_ context.Context, _ string, m delivery.Message) delivery.Result {
	// The document is saved before anything is printed, so a failure to
	// save it cannot print the text again at every retry: it is said in
	// place of the path, once.
	var saved string
	var saveErr error
	if m.Document != nil {
		saved, saveErr = t.save(*m.Document)
	}
	w := &errWriter{w: t.Out}
	Print(w, flows.Reply{ID: m.ID, Text: m.Text, Image: m.Image, Buttons: m.Buttons})
	switch {
	case m.Document == nil:
	case saveErr != nil:
		fmt.Fprintf(w, "📄 not saved: %v\n", saveErr)
	default:
		fmt.Fprintf(w, "📄 %s\n", saved)
	}
	switch {
	case w.err == nil:
		return delivery.Result{Outcome: delivery.Sent}
	case errors.Is(w.err, os.ErrClosed) || errors.Is(w.err, io.ErrClosedPipe) || errors.Is(w.err, syscall.EPIPE):
		return delivery.Result{Outcome: delivery.Unreachable, Err: w.err}
	case w.n == 0 && errors.Is(w.err, syscall.EAGAIN):
		return delivery.Result{Outcome: delivery.RateLimited, Wait: 50 * time.Millisecond, Err: w.err}
	case w.n > 0:
		// Part of it is on the screen: not to be printed twice.
		return delivery.Result{Outcome: delivery.Uncertain, Err: w.err}
	}
	return delivery.Result{Outcome: delivery.Transient, Err: w.err}
}

// TakeOffButtons implements delivery.Transport: printed buttons cannot be
// taken back (the engine answers a number from an old screen as stale).
func (*Transport) TakeOffButtons(context.Context, string, delivery.Handle) error { return nil }

// save writes a document into Dir (default the working directory) under
// its base name, and returns the path.
func (t *Transport) save(d flows.Document) (string, error) {
	name := filepath.Base(d.Name)
	if name == "." || name == "/" || name == "" {
		name = "hangxom-document"
	}
	path := filepath.Join(t.Dir, name)
	if err := os.WriteFile(path, d.Data, 0o644); err != nil {
		return "", fmt.Errorf("console: save %s: %w", name, err)
	}
	return path, nil
}

// errWriter keeps the first write error and how many bytes went out before.
type errWriter struct {
	w   io.Writer
	n   int
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.n += n
	e.err = err
	return n, err
}
