// Package console is the terminal channel: a resident chats with the bot on
// standard input and output. It is the local way to try the bot and the
// driver of the golden transcripts. The conversation goes to Out; notices
// for the person at the keyboard (not part of the conversation) go to Err.
package console

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/hangxomso/hangxom/bot"
	"github.com/hangxomso/hangxom/delivery"
	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/metrics"
)

// Channel runs one console conversation for one resident.
type Channel struct {
	Resident string // "console:<name>"
	In       io.Reader
	Out      io.Writer
	Err      io.Writer
	Handler  bot.Handler
	// Reach, if set, is told at every line that the resident can be sent
	// to again: a closed output marked them unreachable (delivery's
	// Unreachable), and someone typing is back.
	Reach interface {
		SetReachable(ctx context.Context, resident string, ok bool) error
	}
	// Sender delivers the resident's outbox (the delivery core with a
	// Transport printing on Out): after each line, and at start for replies
	// left from an earlier run.
	Sender Drainer
	// Echo prints each input line as "> line" before the replies, so a
	// piped conversation reads as a transcript.
	Echo bool
	// NewUpdateID returns a unique id per input line; tests may fix it.
	NewUpdateID func() string
	// Metrics times each input's handling (the core times the sends); nil
	// times nothing.
	Metrics *metrics.Channel
}

// Run reads one message per line until end of input or ctx is done, and
// prints the replies. Replies left from an earlier run (a crash, or messages
// meant for the resident while away) are shown first. It returns nil at end
// of input.
func (c *Channel) Run(ctx context.Context) error {
	if err := c.drain(ctx); err != nil {
		return err
	}
	lines := make(chan string)
	readErr := make(chan error, 1)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(c.In)
		sc.Buffer(make([]byte, 64*1024), 64*1024)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
		readErr <- sc.Err()
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case line, ok := <-lines:
			if !ok {
				select {
				case err := <-readErr:
					if err != nil {
						return fmt.Errorf("console: read input: %w", err)
					}
				default:
				}
				return nil
			}
			if err := c.Line(ctx, line); err != nil {
				return err
			}
		}
	}
}

// Line handles one typed line as Run does: the input to the engine, then
// the replies delivered. A blank line does nothing.
func (c *Channel) Line(ctx context.Context, line string) error {
	line = strings.TrimRight(line, "\r")
	if strings.TrimSpace(line) == "" {
		return nil
	}
	if c.Echo {
		fmt.Fprintf(c.Out, "> %s\n", line)
	}
	if c.Reach != nil {
		if err := c.Reach.SetReachable(ctx, c.Resident, true); err != nil {
			return fmt.Errorf("console: %w", err)
		}
	}
	in := Input(line)
	in.UpdateID = c.updateID()
	start := time.Now()
	_, err := c.Handler.Handle(ctx, c.Resident, in)
	c.Metrics.Update(time.Since(start).Seconds())
	if err != nil {
		if errors.Is(err, flows.ErrLocked) {
			fmt.Fprintln(c.Err, "console: this resident is busy in another session; try again")
			return nil
		}
		return err
	}
	return c.drain(ctx)
}

// Input turns a typed line into an engine input: "/cmd args" is a command,
// anything else is text (numbers and labels are matched by the engine).
func Input(line string) flows.Input {
	text := strings.TrimSpace(line)
	if name, args, ok := bot.ParseCommand(text); ok {
		return flows.Input{Kind: flows.InputCommand, Command: strings.ToLower(name), Text: args}
	}
	return flows.Input{Kind: flows.InputText, Text: text}
}

// Drainer delivers a resident's outbox: *delivery.Core.
type Drainer interface {
	Drain(ctx context.Context, resident string) error
}

// drain has the Sender deliver every reply waiting. Another session of the
// same resident may hold the send lock, or a session killed mid-send may
// have left it (it expires after the store's LockTTL, 10 s by default):
// drain waits that out, saying so on Err, and if the lock is still held it
// leaves the replies for the next line rather than fail.
func (c *Channel) drain(ctx context.Context) error {
	const patience = 15 * time.Second
	start := time.Now()
	told := false
	for {
		err := c.Sender.Drain(ctx, c.Resident)
		var later *delivery.Later
		if !errors.As(err, &later) {
			if err != nil {
				return fmt.Errorf("console: deliver replies: %w", err)
			}
			return nil
		}
		if time.Since(start) > patience {
			fmt.Fprintln(c.Err, "console: replies are still being sent by another session; they will show after your next line")
			return nil
		}
		if !told && time.Since(start) > time.Second {
			fmt.Fprintln(c.Err, "console: waiting for another session of this resident to finish sending…")
			told = true
		}
		if err := delivery.Sleep(ctx, min(later.After, 50*time.Millisecond)); err != nil {
			return nil
		}
	}
}

// Print writes one reply: its text, an image reference if any, and its
// buttons one per line as "N. label", numbered from 1.
func Print(w io.Writer, r flows.Reply) {
	fmt.Fprintln(w, r.Text)
	if r.Image != "" {
		fmt.Fprintf(w, "🖼 %s\n", r.Image)
	}
	for i, b := range r.Buttons {
		if b.Contact {
			continue // a phone number cannot be shared from a terminal
		}
		fmt.Fprintf(w, "%d. %s\n", i+1, b.Label)
	}
}

func (c *Channel) updateID() string {
	if c.NewUpdateID != nil {
		return c.NewUpdateID()
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "console:" + hex.EncodeToString(b[:])
}
