// Package deliverytest is the conformance suite every channel passes: the
// same cases, driven through the channel's own receiver and transport
// against the channel's own fake of its platform, on a real store. A
// channel brings a Harness (cmd/hangxom builds them: it alone knows both the
// store and the channels); Run runs the cases.
//
// What every channel must do (issue 16):
//   - a duplicate delivery changes and sends nothing;
//   - replies keep their order;
//   - a rate-limit answer delays but loses nothing;
//   - an uncertain answer is not repeated;
//   - a crash between the commit and the send sends once after a restart;
//   - an unreachable resident is marked so, and reminders skip them;
//   - the golden transcripts, replayed through the channel, show the same
//     screens (text and choices) as the console;
//   - a tap on an earlier screen's button changes nothing and shows the
//     current screen (for channels whose old buttons can still be tapped);
//   - a reply sent without link previews arrives whole, every part of it
//     without previews where the platform has the switch (Previews);
//   - a document marked as a picture (a chart) arrives with its text, as a
//     picture where the platform tells pictures from files (Pictures).
package deliverytest

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hangxomso/hangxom/delivery"
	"github.com/hangxomso/hangxom/flows"
)

// Screen is what a resident sees of one message: the platform's message
// read back from the channel's fake, normalised so that channels compare
// (a photo sent before its long text is one screen with it, as on the
// console).
type Screen struct {
	Text     string
	Choices  []string // the labels of its buttons, in order
	Image    bool
	Document string // the document's file name, or ""
}

func (s Screen) String() string {
	var b strings.Builder
	b.WriteString(s.Text)
	if s.Image {
		b.WriteString(" [image]")
	}
	if s.Document != "" {
		b.WriteString(" [document " + s.Document + "]")
	}
	for i, c := range s.Choices {
		fmt.Fprintf(&b, "\n  %d. %s", i+1, c)
	}
	return b.String()
}

// Fault is a misbehaviour of the platform, injected into the channel's fake.
type Fault int

// The faults every channel's fake can play.
const (
	// RateLimit: the platform asks to wait (about a second at most).
	RateLimit Fault = iota
	// Transient: the platform fails and surely did nothing (a 5xx, an I/O
	// error before anything was written).
	Transient
	// LoseAnswer: the platform carries the send out, and its answer is lost.
	LoseAnswer
	// Block: the resident is gone (blocked the bot, closed the terminal).
	Block
)

func (f Fault) String() string {
	return [...]string{"rate limit", "transient", "lost answer", "block"}[f]
}

// Harness builds fresh rigs of one channel.
type Harness interface {
	// Name is the channel's name ("telegram").
	Name() string
	// New is a fresh rig: an empty store, the app, a core with the
	// channel's transport, the receiver, the fake platform. It is torn down
	// by t.Cleanup.
	New(t *testing.T) Rig
}

// Rig is one channel wired up for a test. Inputs go through the channel's
// receiver, as the platform would send them; screens are read back from the
// channel's fake.
type Rig interface {
	// Resident is the i-th resident's id on this channel (i ≥ 0).
	Resident(i int) string
	// Say gives the resident's typed line (text, or "/command args") to
	// the receiver and delivers the replies (Core.Drain), as the platform
	// would with a new update. It returns the update's id.
	Say(resident, line string) string
	// Again gives the receiver the update id once more, exactly as before
	// (the platform delivering it twice), and delivers.
	Again(resident, id string)
	// Tap taps choice n (from 1) of the newest screen with choices, as the
	// platform would send it (a button press, or the number typed on the
	// console), and delivers. It reports false, doing nothing, when the
	// newest screen has fewer choices.
	Tap(resident string, n int) bool
	// Stored hands the line to the receiver without delivering: a crash
	// right after the commit.
	Stored(resident, line string)
	// Core is the rig's delivery core (Drain it; Run it).
	Core() *delivery.Core
	// Restart is a new process on the same store and the same fake: a new
	// core (nothing in memory carried over) with the channel's transport.
	Restart() *delivery.Core
	// Enqueue puts replies in the resident's outbox, as a commit does.
	Enqueue(resident string, replies ...flows.Reply)
	// Fail makes the next times sends fail with f.
	Fail(f Fault, times int)
	// Screens are the resident's messages as the fake shows them.
	Screens(resident string) []Screen
	// Reachable reads the store's unreachable mark.
	Reachable(resident string) bool
	// Remind queues a reminder of flow for the resident, due now, runs the
	// reminders, and delivers; it returns how many were sent.
	Remind(resident, flow string) int
}

// OldTapper is a Rig whose platform keeps earlier screens' buttons
// tappable (Telegram, Zalo). TapOld taps choice n of the screen at index i
// of Screens, and delivers; false when it has no such choice. TakesOff
// says whether the channel then takes that screen's choices off (Telegram
// can edit a sent message; Zalo cannot).
type OldTapper interface {
	TapOld(resident string, i, n int) bool
	TakesOff() bool
}

// NoFiles is a Rig whose channel cannot send a file that is not a picture
// (Zalo: the OA API is not known to take a CSV): such a document is left
// out, its text shown.
type NoFiles interface{ NoFiles() }

// Previews is a Rig whose platform can be asked not to show link previews
// (Telegram). PreviewsOff reports, for each of the resident's text
// messages in the order sent, whether the platform was asked to show it
// without previews, as the fake reads the request.
type Previews interface{ PreviewsOff(resident string) []bool }

// Pictures is a Rig whose platform tells a picture shown in the chat from
// a file to download (Telegram; Zalo, which shows only pictures).
// Pictures reports, for each picture or file the resident was sent in
// order (an image, a document), whether it is shown as a picture.
type Pictures interface{ Pictures(resident string) []bool }

// Options are what the suite needs from the content.
type Options struct {
	// Flow and FlowStart: the lines that put a resident inside Flow, so that
	// a reminder of it is due.
	Flow      string
	FlowStart []string
	// Transcripts are the golden conversations' typed lines, by name.
	Transcripts map[string][]string
	// Reference is the console's harness, whose screens the transcripts
	// are compared with; nil skips the comparison (the console itself).
	Reference Harness
}

// Run runs every case on h.
func Run(t *testing.T, h Harness, o Options) {
	t.Run("duplicate update", func(t *testing.T) { duplicateUpdate(t, h) })
	t.Run("two drains at once", func(t *testing.T) { twoDrains(t, h) })
	t.Run("order", func(t *testing.T) { order(t, h) })
	t.Run("media", func(t *testing.T) { media(t, h) })
	t.Run("rate limit", func(t *testing.T) { rateLimit(t, h) })
	t.Run("transient", func(t *testing.T) { transient(t, h) })
	t.Run("uncertain", func(t *testing.T) { uncertain(t, h) })
	t.Run("crash after commit", func(t *testing.T) { crashAfterCommit(t, h) })
	t.Run("unreachable", func(t *testing.T) { unreachable(t, h, o) })
	t.Run("stale tap", func(t *testing.T) { staleTap(t, h) })
	t.Run("no preview", func(t *testing.T) { noPreview(t, h) })
	t.Run("picture document", func(t *testing.T) { pictureDocument(t, h) })
	if o.Reference != nil {
		t.Run("transcripts", func(t *testing.T) { transcripts(t, h, o) })
	}
}

// Drain delivers the resident's outbox on c, as a worker would, waiting out
// the pace and a lock held a moment by another core (delivery.Later).
func Drain(t testing.TB, c *delivery.Core, resident string) {
	t.Helper()
	for try := 0; ; try++ {
		err := c.Drain(context.Background(), resident)
		later, ok := err.(*delivery.Later)
		if !ok {
			if err != nil {
				t.Fatalf("drain %s: %v", resident, err)
			}
			return
		}
		if try > 200 {
			t.Fatalf("drain %s: still paced after %d tries", resident, try)
		}
		time.Sleep(later.After)
	}
}

func texts(ss []Screen) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.Text
	}
	return out
}

// A platform delivering an update twice (a webhook retried, polling after
// a crash) gets the same answer once: the second changes and sends nothing.
func duplicateUpdate(t *testing.T, h Harness) {
	r := h.New(t)
	who := r.Resident(0)
	id := r.Say(who, "/start")
	before := r.Screens(who)
	if len(before) == 0 {
		t.Fatal("/start showed nothing")
	}
	r.Again(who, id)
	if d := cmp.Diff(before, r.Screens(who)); d != "" {
		t.Errorf("the same update again changed the screens (-before +after):\n%s", d)
	}
	// And the conversation goes on from where it was, not a step further.
	if !r.Tap(who, 1) {
		t.Fatal("no choice on the first screen")
	}
	after := r.Screens(who)
	if len(after) <= len(before) {
		t.Fatal("a tap after the duplicate showed nothing")
	}
}

// Two cores (two replicas) draining one outbox at once send each message
// once, in order.
func twoDrains(t *testing.T, h Harness) {
	r := h.New(t)
	who := r.Resident(1)
	var want []string
	var rs []flows.Reply
	for i := range 6 {
		text := "tin " + strconv.Itoa(i)
		want = append(want, text)
		rs = append(rs, flows.Reply{ID: "two#" + strconv.Itoa(i), Text: text})
	}
	r.Enqueue(who, rs...)
	other := r.Restart()
	var wg sync.WaitGroup
	for _, c := range []*delivery.Core{r.Core(), other} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				if err := c.Drain(context.Background(), who); err == nil {
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	Drain(t, r.Core(), who)
	if d := cmp.Diff(want, texts(r.Screens(who))); d != "" {
		t.Errorf("two drains at once (-want +got):\n%s", d)
	}
}

// Replies leave in the order the engine wrote them, within a turn and
// across turns, buttons on the message that carried them.
func order(t *testing.T, h Harness) {
	r := h.New(t)
	who := r.Resident(2)
	r.Enqueue(who,
		flows.Reply{ID: "o#0", Text: "một"},
		flows.Reply{ID: "o#1", Text: "hai", Buttons: []flows.Choice{{Data: "x.1", Label: "Xong"}, {Data: "x.2", Label: "Chưa"}}},
		flows.Reply{ID: "o#2", Text: "ba"})
	Drain(t, r.Core(), who)
	r.Enqueue(who, flows.Reply{ID: "p#0", Text: "bốn"})
	Drain(t, r.Core(), who)
	want := []Screen{{Text: "một"}, {Text: "hai", Choices: []string{"Xong", "Chưa"}}, {Text: "ba"}, {Text: "bốn"}}
	if d := cmp.Diff(want, r.Screens(who)); d != "" {
		t.Errorf("screens (-want +got):\n%s", d)
	}
}

// Pictures and documents arrive with their text, whatever its length (a
// channel whose captions are short sends a long text as a message of its
// own: the resident still sees one screen's worth, in order).
func media(t *testing.T, h Harness) {
	r := h.New(t)
	who := r.Resident(11)
	long := strings.TrimSpace(strings.Repeat("Bác xem ảnh rồi làm theo. ", 60)) // 1,559 characters
	doc := &flows.Document{Name: "hangxom-xa.csv", Data: []byte("\ufeffa,b\n1,2\n")}
	btn := []flows.Choice{{Data: "m.1", Label: "Xong"}}
	r.Enqueue(who,
		flows.Reply{ID: "m#0", Text: "Mã QR của thôn", Image: "https://example.org/qr.png"},
		flows.Reply{ID: "m#1", Text: long, Image: "https://example.org/poster.png", Buttons: btn},
		flows.Reply{ID: "m#2", Text: "Báo cáo tháng 11", Document: doc},
		flows.Reply{ID: "m#3", Text: long, Document: doc})
	Drain(t, r.Core(), who)
	want := []Screen{
		{Text: "Mã QR của thôn", Image: true},
		{Text: long, Image: true, Choices: []string{"Xong"}},
		{Text: "Báo cáo tháng 11", Document: "hangxom-xa.csv"},
		{Text: long, Document: "hangxom-xa.csv"},
	}
	if _, ok := r.(NoFiles); ok {
		want[2].Document, want[3].Document = "", ""
	}
	if d := cmp.Diff(want, r.Screens(who)); d != "" {
		t.Errorf("screens (-want +got):\n%s", d)
	}
}

// A rate-limit answer delays the message; nothing is lost or doubled.
func rateLimit(t *testing.T, h Harness) {
	r := h.New(t)
	who := r.Resident(3)
	r.Fail(RateLimit, 2)
	r.Enqueue(who, flows.Reply{ID: "r#0", Text: "một"}, flows.Reply{ID: "r#1", Text: "hai"}, flows.Reply{ID: "r#2", Text: "ba"})
	Drain(t, r.Core(), who)
	if d := cmp.Diff([]string{"một", "hai", "ba"}, texts(r.Screens(who))); d != "" {
		t.Errorf("after two rate limits (-want +got):\n%s", d)
	}
}

// A failure that surely did nothing is tried again: the message arrives,
// once.
func transient(t *testing.T, h Harness) {
	r := h.New(t)
	who := r.Resident(4)
	r.Fail(Transient, 2)
	r.Enqueue(who, flows.Reply{ID: "t#0", Text: "một"}, flows.Reply{ID: "t#1", Text: "hai"})
	Drain(t, r.Core(), who)
	if d := cmp.Diff([]string{"một", "hai"}, texts(r.Screens(who))); d != "" {
		t.Errorf("after two transient failures (-want +got):\n%s", d)
	}
}

// A send whose answer was lost may have been shown: it is never repeated,
// by this process or by the next; the replies behind it go on.
func uncertain(t *testing.T, h Harness) {
	r := h.New(t)
	who := r.Resident(5)
	r.Fail(LoseAnswer, 1)
	r.Enqueue(who, flows.Reply{ID: "u#0", Text: "một"}, flows.Reply{ID: "u#1", Text: "hai"})
	Drain(t, r.Core(), who)
	Drain(t, r.Core(), who)
	Drain(t, r.Restart(), who)
	got := texts(r.Screens(who))
	if len(got) != 2 || got[1] != "hai" {
		t.Errorf("screens %q, want the uncertain one shown once (as the platform took it) and the next after it", got)
	}
}

// A crash between the commit and the send: the next process finds the
// outbox (the recovery scan) and sends it, once; the resident sees what a
// resident without a crash sees.
func crashAfterCommit(t *testing.T, h Harness) {
	r := h.New(t)
	ref, who := r.Resident(6), r.Resident(7)
	r.Say(ref, "/start")
	want := r.Screens(ref)
	r.Stored(who, "/start")
	if n := len(r.Screens(who)); n != 0 {
		t.Fatalf("%d screens before the restart, want none", n)
	}
	c := r.Restart()
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for len(r.Screens(who)) < len(want) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // anything sent twice would show by now
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// Sent by the new process's own recovery, not by a drain asked for.
	if d := cmp.Diff(texts(want), texts(r.Screens(who))); d != "" {
		t.Fatalf("after the restart (-without a crash +with one):\n%s", d)
	}
	Drain(t, r.Restart(), who)
	if n := len(r.Screens(who)); n != len(want) {
		t.Errorf("%d screens after one more drain, want still %d", n, len(want))
	}
}

// A resident the platform says is gone is marked unreachable, the rest of
// their outbox is dropped, and reminders skip them; a resident in the same
// state who is reachable gets the reminder.
func unreachable(t *testing.T, h Harness, o Options) {
	r := h.New(t)
	gone, here := r.Resident(8), r.Resident(9)
	for _, who := range []string{gone, here} {
		for _, line := range o.FlowStart {
			r.Say(who, line)
		}
	}
	shown := len(r.Screens(gone))
	r.Fail(Block, 1)
	r.Enqueue(gone, flows.Reply{ID: "b#0", Text: "một"}, flows.Reply{ID: "b#1", Text: "hai"})
	Drain(t, r.Core(), gone)
	if r.Reachable(gone) {
		t.Error("a resident the platform said is gone is not marked unreachable")
	}
	if n := len(r.Screens(gone)); n != shown {
		t.Errorf("%d messages shown after the block, want none", n-shown)
	}
	Drain(t, r.Core(), gone) // the outbox was dropped: nothing left to try
	if n := len(r.Screens(gone)); n != shown {
		t.Errorf("the dropped outbox was sent later: %d messages", n-shown)
	}
	if n := r.Remind(gone, o.Flow); n != 0 {
		t.Errorf("%d reminders sent to an unreachable resident", n)
	}
	if n := r.Remind(here, o.Flow); n != 1 {
		t.Errorf("%d reminders sent to a reachable resident inside %s, want 1 (the case proves nothing otherwise)", n, o.Flow)
	}
}

// On a platform whose earlier buttons stay tappable, a tap on one changes
// nothing: the resident is told, and sees the current screen again. A
// second tap at once on the screen a tap has just replaced is a double
// tap, not a tap on an old button: it changes nothing and says nothing.
func staleTap(t *testing.T, h Harness) {
	r := h.New(t)
	old, ok := r.(OldTapper)
	if !ok {
		t.Skipf("%s: earlier screens' choices cannot be tapped (a typed number always means the current screen)", h.Name())
	}
	who := r.Resident(10)
	r.Say(who, "/start")
	first := len(r.Screens(who)) - 1
	for first >= 0 && len(r.Screens(who)[first].Choices) == 0 {
		first--
	}
	if first < 0 || !r.Tap(who, 1) {
		t.Fatal("no choices after /start")
	}
	shown := len(r.Screens(who))
	if !old.TapOld(who, first, 1) {
		t.Fatal("the first screen has no choice to tap")
	}
	if after := r.Screens(who)[shown:]; len(after) != 0 {
		t.Errorf("a double tap on the screen just replaced was answered with %d screens, want none: %v", len(after), after)
	}
	// The first screen is now two screens back: a tap on it is old.
	if !r.Tap(who, 1) {
		t.Fatal("no choices on the second screen")
	}
	ss := r.Screens(who)
	current := ss[len(ss)-1]
	if len(current.Choices) == 0 {
		t.Fatalf("the screen after the second tap has no choices: %v", current)
	}
	if !old.TapOld(who, first, 2) && !old.TapOld(who, first, 1) {
		t.Fatal("the earlier screen has no choice to tap")
	}
	after := r.Screens(who)[len(ss):]
	if len(after) < 2 {
		t.Fatalf("a tap on an old screen was answered with %d screens, want a word on it and the current screen", len(after))
	}
	if d := cmp.Diff(current, after[len(after)-1]); d != "" {
		t.Errorf("after an old tap, the last screen is not the current one (-current +shown):\n%s", d)
	}
	if !old.TakesOff() {
		return
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(r.Screens(who)[first].Choices) > 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if cs := r.Screens(who)[first].Choices; len(cs) > 0 {
		t.Errorf("the tapped old screen still has its choices %q", cs)
	}
}

// The golden transcripts, replayed through the channel, show the screens
// the console shows: a number typed where the newest screen has that many
// choices is a tap of that choice, anything else is typed text.
func transcripts(t *testing.T, h Harness, o Options) {
	for name, lines := range o.Transcripts {
		t.Run(name, func(t *testing.T) {
			want := replay(t, o.Reference, lines)
			got := replay(t, h, lines)
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("%s shows other screens than the console (-console +%s):\n%s", name, h.Name(), d)
			}
		})
	}
}

func replay(t *testing.T, h Harness, lines []string) []Screen {
	t.Helper()
	r := h.New(t)
	who := r.Resident(0)
	for _, line := range lines {
		if n, err := strconv.Atoi(strings.TrimSpace(line)); err == nil && n > 0 && r.Tap(who, n) {
			continue
		}
		r.Say(who, line)
	}
	return r.Screens(who)
}

// A reply sent with link previews off (a one-time login link, which a
// preview robot would fetch) arrives whole, cut where the channel cuts long
// texts, and every part of it goes without previews on a platform that
// has the switch; the reply after it, not so marked, keeps them (so the
// check would see a channel that turns previews off for everything, or
// only on the last part).
func noPreview(t *testing.T, h Harness) {
	r := h.New(t)
	who := r.Resident(12)
	var paras []string
	for i := range 16 { // 16 × ~330 characters: parts on every channel that cuts
		paras = append(paras, strconv.Itoa(i+1)+". "+strings.TrimSpace(strings.Repeat("Bác mở đường dẫn dưới đây trên điện thoại. ", 7)))
	}
	link := "https://hx.example/login/Zm9vYmFyYmF6cXV4"
	long := strings.Join(append(paras, link), "\n\n")
	plain := "Hướng dẫn: https://hx.example/huong-dan"
	r.Enqueue(who, flows.Reply{ID: "np#0", Text: long, NoPreview: true}, flows.Reply{ID: "np#1", Text: plain})
	Drain(t, r.Core(), who)
	got := texts(r.Screens(who))
	if len(got) < 2 || got[len(got)-1] != plain {
		t.Fatalf("screens %q, want the long reply's parts, then %q", got, plain)
	}
	parts := got[:len(got)-1]
	if joined := strings.Join(parts, "\n\n"); joined != long {
		t.Errorf("the no-preview reply's %d parts do not make it whole (cut at its paragraphs):\n%s", len(parts), cmp.Diff(long, joined))
	}
	p, ok := r.(Previews)
	if !ok {
		t.Logf("%s: the rig is no deliverytest.Previews (a platform without link previews to turn off); the text alone was checked", h.Name())
		return
	}
	want := make([]bool, len(got))
	for i := range parts {
		want[i] = true
	}
	if d := cmp.Diff(want, p.PreviewsOff(who)); d != "" {
		t.Errorf("previews off, per message (-want +got):\n%s", d)
	}
}

// A document marked as a picture (a /stats chart) arrives with its text,
// and is shown as a picture where the platform tells pictures from files.
func pictureDocument(t *testing.T, h Harness) {
	r := h.New(t)
	who := r.Resident(13)
	var chart bytes.Buffer
	img := image.NewGray(image.Rect(0, 0, 600, 300))
	for x := range 400 {
		img.SetGray(x, 150, color.Gray{})
	}
	if err := png.Encode(&chart, img); err != nil {
		t.Fatal(err)
	}
	text := "Xã A, tháng 11: 42 hộ có tài khoản"
	r.Enqueue(who, flows.Reply{ID: "pic#0", Text: text, Document: &flows.Document{Name: "bieu-do.png", Data: chart.Bytes(), Photo: true}})
	Drain(t, r.Core(), who)
	if d := cmp.Diff([]string{text}, texts(r.Screens(who))); d != "" {
		t.Errorf("screens (-want +got):\n%s", d)
	}
	p, ok := r.(Pictures)
	if !ok {
		t.Logf("%s: the rig is no deliverytest.Pictures (a platform that shows no pictures); the text alone was checked", h.Name())
		return
	}
	if d := cmp.Diff([]bool{true}, p.Pictures(who)); d != "" {
		t.Errorf("shown as a picture (-want +got):\n%s", d)
	}
}
