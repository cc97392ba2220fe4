package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/hangxomso/hangxom/bot/console"
	"github.com/hangxomso/hangxom/bot/telegram"
	"github.com/hangxomso/hangxom/bot/telegram/telegramtest"
	"github.com/hangxomso/hangxom/delivery"
	"github.com/hangxomso/hangxom/delivery/deliverytest"
	"github.com/hangxomso/hangxom/flows"
)

// TestConformance runs the delivery conformance suite (deliverytest) on
// every channel, each against its own fake: the console against a terminal
// that can refuse writes, Telegram against the fake Bot API.
func TestConformance(t *testing.T) {
	files, err := filepath.Glob("testdata/transcripts/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no transcripts: %v", err)
	}
	scripts := map[string][]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		scripts[strings.TrimSuffix(filepath.Base(f), ".txt")] = strings.Split(strings.TrimSuffix(inputsOf(string(b)), "\n"), "\n")
	}
	opts := deliverytest.Options{
		Flow: "ewallet",
		// From ewallet_vi_android_chip: a commune and hamlet, the guide opened, a step.
		FlowStart:   scripts["ewallet_vi_android_chip"][:5],
		Transcripts: scripts,
	}
	t.Run("console", func(t *testing.T) { deliverytest.Run(t, consoleHarness{}, opts) })
	opts.Reference = consoleHarness{}
	t.Run("telegram", func(t *testing.T) { deliverytest.Run(t, telegramHarness{}, opts) })
	t.Run("zalo", func(t *testing.T) { deliverytest.Run(t, zaloHarness{}, opts) })
}

// rigApp is the app a rig runs: a fresh in-process Redis, every default
// setting, and a clock that starts at fixedNow and runs (the chat's pace
// needs time to pass).
func rigApp(t *testing.T) (*app, flows.Clock) {
	t.Helper()
	m := miniredis.RunT(t)
	rc := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { _ = rc.Close() })
	start := time.Now()
	clock := flows.ClockFunc(func() time.Time { return fixedNow.Add(time.Since(start)) })
	a, err := openApp(t.Context(), mustConfig(t), appOptions{clock: clock, client: rc, prefix: "conf"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return a, clock
}

// rigPace is the chat's pace in the rigs: faster than Telegram's, so the
// transcripts take little time, but a pace all the same.
var rigPace = delivery.Pace{Rate: 50, Burst: 10}

// remind queues a reminder of flow for who, due now, runs the reminders
// and returns how many were sent; the rig then drains.
func remind(t *testing.T, a *app, clock flows.Clock, who, flow string) int {
	t.Helper()
	now := clock.Now()
	id := fmt.Sprintf("conf-%d", now.UnixNano())
	if err := a.store.QueueReminders(t.Context(), []flows.Reminder{{ID: id, Resident: who, Flow: flow, By: "conf", Due: now}}); err != nil {
		t.Fatal(err)
	}
	n, err := a.desk.RunReminders(t.Context(), now)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func reachable(t *testing.T, a *app, who string) bool {
	t.Helper()
	ok, err := a.store.Reachable(t.Context(), who)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// ---- The console -----------------------------------------------------------

type consoleHarness struct{}

func (consoleHarness) Name() string { return "console" }

func (consoleHarness) New(t *testing.T) deliverytest.Rig {
	a, clock := rigApp(t)
	r := &consoleRig{t: t, a: a, clock: clock, term: &terminal{}, dir: t.TempDir(), screens: map[string][]deliverytest.Screen{}}
	r.core = r.newCore()
	return r
}

// terminal is the console's fake platform: a writer that can refuse, as a
// terminal does (full, gone, failing midway).
type terminal struct {
	mu    sync.Mutex
	out   bytes.Buffer
	fault []deliverytest.Fault // one per send, from the front
	armed *deliverytest.Fault  // the fault of the send being printed
	wrote int                  // bytes written in this send
}

func (w *terminal) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if f := w.armed; f != nil {
		switch *f {
		case deliverytest.RateLimit:
			return 0, syscall.EAGAIN
		case deliverytest.Transient:
			return 0, syscall.EIO
		case deliverytest.Block:
			return 0, os.ErrClosed
		case deliverytest.LoseAnswer:
			// Out it goes, and then the terminal fails.
			w.out.Write(p)
			w.wrote += len(p)
			return len(p), syscall.EIO
		}
	}
	w.wrote += len(p)
	return w.out.Write(p)
}

type consoleRig struct {
	t       *testing.T
	a       *app
	clock   flows.Clock
	term    *terminal
	dir     string
	core    *delivery.Core
	mu      sync.Mutex
	screens map[string][]deliverytest.Screen
	n       int
}

// recorder is the console's transport seen by the rig: each send's
// message is a screen when anything of it reached the terminal.
type recorder struct {
	r     *consoleRig
	inner *console.Transport
}

func (c recorder) Name() string              { return c.inner.Name() }
func (c recorder) Owns(resident string) bool { return c.inner.Owns(resident) }
func (c recorder) Limits() delivery.Limits   { return c.inner.Limits() }
func (c recorder) TakeOffButtons(ctx context.Context, resident string, h delivery.Handle) error {
	return c.inner.TakeOffButtons(ctx, resident, h)
}

func (c recorder) Send(ctx context.Context, resident string, m delivery.Message) delivery.Result {
	w := c.r.term
	w.mu.Lock()
	w.wrote = 0
	if len(w.fault) > 0 {
		f := w.fault[0]
		w.fault = w.fault[1:]
		w.armed = &f
	}
	w.mu.Unlock()
	res := c.inner.Send(ctx, resident, m)
	w.mu.Lock()
	shown := w.wrote > 0
	w.armed = nil
	w.mu.Unlock()
	if shown {
		s := deliverytest.Screen{Text: m.Text, Image: m.Image != ""}
		for _, b := range m.Buttons {
			s.Choices = append(s.Choices, b.Label)
		}
		if m.Document != nil {
			s.Document = filepath.Base(m.Document.Name)
		}
		c.r.mu.Lock()
		c.r.screens[resident] = append(c.r.screens[resident], s)
		c.r.mu.Unlock()
	}
	return res
}

func (r *consoleRig) newCore() *delivery.Core {
	return &delivery.Core{Store: r.a.store, Clock: r.clock, Chat: delivery.Unpaced, FinishDelay: -1,
		Transports: []delivery.Transport{recorder{r: r, inner: &console.Transport{Out: r.term, Dir: r.dir}}}}
}

func (r *consoleRig) channel(who, id string, sender console.Drainer) *console.Channel {
	return &console.Channel{Resident: who, Out: r.term, Err: io.Discard, Sender: sender,
		Handler:     &langHandler{h: r.a.service},
		NewUpdateID: func() string { return id }}
}

func (r *consoleRig) Resident(i int) string { return "console:r" + strconv.Itoa(i) }

func (r *consoleRig) line(who, id, line string, sender console.Drainer) {
	r.t.Helper()
	if err := r.channel(who, id, sender).Line(r.t.Context(), line); err != nil {
		r.t.Fatalf("%s: %q: %v", who, line, err)
	}
}

func (r *consoleRig) Say(who, line string) string {
	r.n++
	id := "console:u" + strconv.Itoa(r.n)
	r.line(who, id, line, r.core)
	return id
}

// Again: the console has no platform to deliver twice; the same update id
// given again is the closest (a line read twice after a crash).
func (r *consoleRig) Again(who, id string) { r.line(who, id, "/start", r.core) }

func (r *consoleRig) Tap(who string, n int) bool {
	ss := r.Screens(who)
	for i := len(ss) - 1; i >= 0; i-- {
		if len(ss[i].Choices) > 0 {
			if n > len(ss[i].Choices) {
				return false
			}
			r.Say(who, strconv.Itoa(n))
			return true
		}
	}
	return false
}

type noDrain struct{}

func (noDrain) Drain(context.Context, string) error { return nil }

func (r *consoleRig) Stored(who, line string) {
	r.n++
	r.line(who, "console:u"+strconv.Itoa(r.n), line, noDrain{})
}

func (r *consoleRig) Core() *delivery.Core    { return r.core }
func (r *consoleRig) Restart() *delivery.Core { return r.newCore() }

func (r *consoleRig) Enqueue(who string, replies ...flows.Reply) {
	if err := r.a.store.Enqueue(r.t.Context(), who, replies...); err != nil {
		r.t.Fatal(err)
	}
}

func (r *consoleRig) Fail(f deliverytest.Fault, times int) {
	r.term.mu.Lock()
	defer r.term.mu.Unlock()
	for range times {
		r.term.fault = append(r.term.fault, f)
	}
}

func (r *consoleRig) Screens(who string) []deliverytest.Screen {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]deliverytest.Screen(nil), r.screens[who]...)
}

func (r *consoleRig) Reachable(who string) bool { return reachable(r.t, r.a, who) }

func (r *consoleRig) Remind(who, flow string) int {
	n := remind(r.t, r.a, r.clock, who, flow)
	deliverytest.Drain(r.t, r.core, who)
	return n
}

// ---- Telegram --------------------------------------------------------------

type telegramHarness struct{}

func (telegramHarness) Name() string { return "telegram" }

func (telegramHarness) New(t *testing.T) deliverytest.Rig {
	a, clock := rigApp(t)
	fake := telegramtest.NewServer(t, "")
	client, err := telegram.NewClient(t.Context(), fake.URL, fake.Token, telegramtest.LoopbackClient(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	r := &telegramRig{t: t, a: a, clock: clock, fake: fake, client: client, raw: map[string][]byte{}}
	r.core = r.newCore()
	a.assemble(channel{username: client.Self().UserName})
	r.receiver = &telegram.Receiver{Service: a.service, Client: client, Store: a.store, Loc: a.loc,
		Username: client.Self().UserName}
	return r
}

type telegramRig struct {
	t        *testing.T
	a        *app
	clock    flows.Clock
	fake     *telegramtest.Server
	client   *telegram.Client
	core     *delivery.Core
	receiver *telegram.Receiver
	raw      map[string][]byte // updates given, by id
	n        int
}

func (r *telegramRig) newCore() *delivery.Core {
	return &delivery.Core{Store: r.a.store, Clock: r.clock, Chat: rigPace, FinishDelay: -1,
		Transports: []delivery.Transport{&telegram.Transport{Client: r.client}}}
}

func (r *telegramRig) Resident(i int) string { return "tg:" + strconv.Itoa(7001+i) }

func chatOf(t *testing.T, who string) int64 {
	id, ok := telegram.ChatID(who)
	if !ok {
		t.Fatalf("not a Telegram resident: %s", who)
	}
	return id
}

// give hands one update to the receiver, as polling or the webhook does.
func (r *telegramRig) give(raw []byte) {
	r.t.Helper()
	if err := r.receiver.Receive(r.t.Context(), raw); err != nil {
		r.t.Fatalf("receive: %v", err)
	}
}

func (r *telegramRig) update(who string, body map[string]any) (string, []byte) {
	r.n++
	id := strconv.Itoa(500000 + r.n)
	body["update_id"] = 500000 + r.n
	raw, _ := json.Marshal(body)
	r.raw[id] = raw
	return id, raw
}

func (r *telegramRig) textUpdate(who, text string) (string, []byte) {
	chat := chatOf(r.t, who)
	msg := map[string]any{
		"message_id": 9000 + r.n, "date": r.clock.Now().Unix(), "text": text,
		"chat": map[string]any{"id": chat, "type": "private", "first_name": "Lan"},
		"from": map[string]any{"id": chat, "is_bot": false, "first_name": "Lan"},
	}
	if strings.HasPrefix(text, "/") {
		cmd, _, _ := strings.Cut(text, " ")
		msg["entities"] = []any{map[string]any{"type": "bot_command", "offset": 0, "length": len(cmd)}}
	}
	return r.update(who, map[string]any{"message": msg})
}

func (r *telegramRig) Say(who, line string) string {
	id, raw := r.textUpdate(who, line)
	r.give(raw)
	deliverytest.Drain(r.t, r.core, who)
	return id
}

func (r *telegramRig) Again(who, id string) {
	r.give(r.raw[id])
	deliverytest.Drain(r.t, r.core, who)
}

// tap presses button n (from 1) of message m.
func (r *telegramRig) tap(who string, m telegramtest.Message, n int) bool {
	var data []string
	for _, row := range m.Buttons {
		for _, b := range row {
			data = append(data, b.CallbackData)
		}
	}
	if n > len(data) {
		return false
	}
	chat := chatOf(r.t, who)
	_, raw := r.update(who, map[string]any{"callback_query": map[string]any{
		"id": strconv.Itoa(77000 + r.n), "data": data[n-1], "chat_instance": "1",
		"from":    map[string]any{"id": chat, "is_bot": false, "first_name": "Lan"},
		"message": map[string]any{"message_id": m.MessageID, "date": r.clock.Now().Unix(), "chat": map[string]any{"id": chat, "type": "private"}},
	}})
	r.give(raw)
	deliverytest.Drain(r.t, r.core, who)
	return true
}

func (r *telegramRig) Tap(who string, n int) bool {
	ms, _ := r.screens(who)
	for i := len(ms) - 1; i >= 0; i-- {
		if len(ms[i].Buttons) > 0 {
			return r.tap(who, ms[i], n)
		}
	}
	return false
}

// TapOld implements deliverytest.OldTapper: Telegram keeps earlier
// messages' buttons tappable unless the bot takes them off.
func (r *telegramRig) TapOld(who string, i, n int) bool {
	ms, _ := r.screens(who)
	if i < 0 || i >= len(ms) {
		return false
	}
	return r.tap(who, ms[i], n)
}

// TakesOff implements deliverytest.OldTapper: the receiver takes a stale
// tap's buttons off (editMessageReplyMarkup).
func (r *telegramRig) TakesOff() bool { return true }

func (r *telegramRig) Stored(who, line string) {
	_, raw := r.textUpdate(who, line)
	r.give(raw) // the receiver has no Sender: nothing is kicked
}

func (r *telegramRig) Core() *delivery.Core    { return r.core }
func (r *telegramRig) Restart() *delivery.Core { return r.newCore() }

func (r *telegramRig) Enqueue(who string, replies ...flows.Reply) {
	if err := r.a.store.Enqueue(r.t.Context(), who, replies...); err != nil {
		r.t.Fatal(err)
	}
}

func (r *telegramRig) Fail(f deliverytest.Fault, times int) {
	fault := map[deliverytest.Fault]telegramtest.Fault{
		deliverytest.RateLimit:  {Code: 429, RetryAfter: 1},
		deliverytest.Transient:  {HTTPStatus: 502, Body: "<html>bad gateway</html>"},
		deliverytest.LoseAnswer: {LoseAnswer: true},
		deliverytest.Block:      {Code: 403},
	}[f]
	r.fake.Fail("sendMessage", times, fault)
}

// screens reads the chat's messages and makes screens of them: a photo
// without caption followed by the text it could not carry is one screen,
// as is a text followed by the document it was too long to caption. The
// messages returned are those the screens start with.
func (r *telegramRig) screens(who string) ([]telegramtest.Message, []deliverytest.Screen) {
	var ms []telegramtest.Message
	var ss []deliverytest.Screen
	all := r.fake.Messages(chatOf(r.t, who))
	for i := 0; i < len(all); i++ {
		m := all[i]
		s := deliverytest.Screen{Text: m.Text, Image: m.Photo != ""}
		if m.Caption != "" {
			s.Text = m.Caption
		}
		if m.Photo != "" && m.Caption == "" && i+1 < len(all) && all[i+1].Photo == "" && all[i+1].Document == "" {
			i++
			m = all[i]
			s.Text = m.Text
		}
		if m.Document == "" && m.Photo == "" && i+1 < len(all) && all[i+1].Document != "" && all[i+1].Caption == "" {
			i++
			m = all[i]
		}
		if m.Document != "" {
			s.Document = strings.TrimPrefix(m.Document, "file:")
		}
		for _, row := range m.Buttons {
			for _, b := range row {
				s.Choices = append(s.Choices, b.Text)
			}
		}
		if strings.Contains(m.ReplyMarkup, `"request_contact":true`) {
			var kb struct {
				Keyboard [][]struct {
					Text string `json:"text"`
				} `json:"keyboard"`
			}
			_ = json.Unmarshal([]byte(m.ReplyMarkup), &kb)
			for _, row := range kb.Keyboard {
				for _, b := range row {
					s.Choices = append(s.Choices, b.Text)
				}
			}
		}
		ms = append(ms, m)
		ss = append(ss, s)
	}
	return ms, ss
}

func (r *telegramRig) Screens(who string) []deliverytest.Screen {
	_, ss := r.screens(who)
	return ss
}

func (r *telegramRig) Reachable(who string) bool { return reachable(r.t, r.a, who) }

func (r *telegramRig) Remind(who, flow string) int {
	n := remind(r.t, r.a, r.clock, who, flow)
	deliverytest.Drain(r.t, r.core, who)
	return n
}

var (
	_ deliverytest.Previews = (*telegramRig)(nil)
	_ deliverytest.Pictures = (*telegramRig)(nil)
)

// PreviewsOff implements deliverytest.Previews: a text message is without
// previews when Telegram reads it so and the legacy switch was sent too.
func (r *telegramRig) PreviewsOff(who string) []bool {
	var off []bool
	for _, m := range r.fake.Messages(chatOf(r.t, who)) {
		if m.Photo == "" && m.Document == "" {
			off = append(off, m.PreviewOff() && m.DisableWebPagePreview)
		}
	}
	return off
}

// Pictures implements deliverytest.Pictures: a photo is a picture, a
// document a file.
func (r *telegramRig) Pictures(who string) []bool {
	var ps []bool
	for _, m := range r.fake.Messages(chatOf(r.t, who)) {
		if m.Photo != "" || m.Document != "" {
			ps = append(ps, m.Photo != "")
		}
	}
	return ps
}
