package loadtest

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Update ids: each resident numbers its own, in a block of its own, so
// every update id is unique across the run.
const idsPerResident = 1 << 20

// Resident is one simulated resident: a private chat with the bot.
type Resident struct {
	Chat   int64
	Hamlet string // the hamlet's id, sent as the deep link /start h_<id>
	seq    int
	n      int // updates posted
}

func (r *Resident) nextUpdateID() int64 {
	r.seq++
	return r.Chat%4096*idsPerResident + int64(r.seq)
}

// TextUpdate is a private text message from the resident, with a
// bot_command entity when it starts with "/".
func (r *Resident) TextUpdate(text string) []byte {
	id := r.nextUpdateID()
	msg := map[string]any{"message_id": id, "date": time.Now().Unix(), "text": text,
		"chat": map[string]any{"id": r.Chat, "type": "private", "first_name": "Bác"},
		"from": map[string]any{"id": r.Chat, "is_bot": false, "first_name": "Bác", "language_code": "vi"}}
	if strings.HasPrefix(text, "/") {
		cmd, _, _ := strings.Cut(text, " ")
		msg["entities"] = []any{map[string]any{"type": "bot_command", "offset": 0, "length": len(cmd)}}
	}
	b, _ := json.Marshal(map[string]any{"update_id": id, "message": msg})
	return b
}

// CallbackUpdate is a press of a button with data on message messageID.
// The query id carries the chat so the fake can time answerCallbackQuery.
func (r *Resident) CallbackUpdate(messageID int, data string) []byte {
	id := r.nextUpdateID()
	b, _ := json.Marshal(map[string]any{"update_id": id, "callback_query": map[string]any{
		"id": fmt.Sprintf("%d-%d", r.Chat, id), "data": data, "chat_instance": "1",
		"from":    map[string]any{"id": r.Chat, "is_bot": false, "first_name": "Bác", "language_code": "vi"},
		"message": map[string]any{"message_id": messageID, "date": time.Now().Unix(), "chat": map[string]any{"id": r.Chat, "type": "private"}},
	}})
	return b
}

// NewHTTPClient is a client for many concurrent webhook posts on loopback.
func NewHTTPClient(conns int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = conns
	t.MaxIdleConnsPerHost = conns
	t.Proxy = nil
	return &http.Client{Transport: t, Timeout: 30 * time.Second}
}

// Chooser picks the button a resident presses next; nil ends the walk.
type Chooser func(r *Resident, m *Message) *Button

// Wanderer presses the first button (a flow's main path) most of the time
// and another one now and then, never the help button (🙋, which would page
// the hamlet's team); at the menu it picks a flow at random.
func Wanderer(rng *rand.Rand) Chooser {
	var mu sync.Mutex
	return func(_ *Resident, m *Message) *Button {
		var ok []Button
		for _, b := range m.Buttons {
			if !strings.Contains(Label(b), "🙋") {
				ok = append(ok, b)
			}
		}
		if len(ok) == 0 {
			return nil
		}
		mu.Lock()
		defer mu.Unlock()
		if strings.HasPrefix(Label(ok[0]), "💳") || rng.IntN(100) < 10 {
			return &ok[rng.IntN(len(ok))]
		}
		return &ok[0]
	}
}

// Path presses, at each message, the first button whose label starts with
// the next prefix, then stops: a fixed walk through a flow.
func Path(prefixes ...string) Chooser {
	return func(r *Resident, m *Message) *Button {
		i := r.n - 1 // the first update was /start
		if i < 0 || i >= len(prefixes) {
			return nil
		}
		for _, b := range m.Buttons {
			if strings.HasPrefix(Label(b), prefixes[i]) {
				return &b
			}
		}
		return nil
	}
}

// Label is a button's label without the number a numbered screen gives it
// ("3. 💳 Ví điện tử" is "💳 Ví điện tử"): on Zalo, a screen with more than
// five choices, or a label too long for a button, is numbered.
func Label(b Button) string {
	s := b.Text
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i > 0 && strings.HasPrefix(s[i:], ". ") {
		return s[i+2:]
	}
	return s
}

// Sample is one update's measured latencies.
type Sample struct {
	At      time.Time     // when the update was posted
	Webhook time.Duration // the webhook's answer
	First   time.Duration // webhook request → the first API call for the chat
	Reply   time.Duration // webhook request → the first message for the chat
}

// platform is the fake a crowd's residents write through: FakeAPI
// (Telegram) or FakeZalo.
type platform interface {
	// Expect, Last and Deliver: see FakeAPI's.
	Expect(id int64, now time.Time) <-chan struct{}
	Last(id int64) (m *Message, first, reply time.Duration)
	Deliver(ctx context.Context, hc *http.Client, raw []byte) (int, error)
	// text is the resident typing text; tap, the resident pressing b on m.
	text(r *Resident, text string) []byte
	tap(r *Resident, m *Message, b *Button) []byte
	// counts are the platform's API calls so far: all of them, those given
	// in webhook answers, and by method.
	counts() (calls, inResponse int64, byMethod map[string]MethodCount)
	// apiName names the platform's API in the figures.
	apiName() string
}

func (f *FakeAPI) text(r *Resident, text string) []byte { return r.TextUpdate(text) }
func (f *FakeAPI) tap(r *Resident, m *Message, b *Button) []byte {
	return r.CallbackUpdate(m.ID, b.Data)
}
func (f *FakeAPI) counts() (calls, inResponse int64, byMethod map[string]MethodCount) {
	return f.Calls.Load(), f.InResponse.Load(), f.ByMethod()
}
func (f *FakeAPI) apiName() string { return "Bot API" }

// Crowd runs residents against the bot.
type Crowd struct {
	API *FakeAPI
	// Zalo, when set, is the platform instead of API: the residents are
	// Zalo users writing to the OA's webhook.
	Zalo   *FakeZalo
	HTTP   *http.Client
	Choose Chooser
	// Rate, when > 0, caps all residents together at this many updates per
	// second (an open pace under the closed loop).
	Rate float64
	// Wait bounds how long a resident waits for an answer before it counts
	// an error and types /menu.
	Wait time.Duration

	mu      sync.Mutex
	samples []Sample
	record  atomic.Bool

	Updates  atomic.Int64 // updates acknowledged 200 while recording
	Errors   atomic.Int64 // webhook errors or non-200 answers
	Timeouts atomic.Int64 // no answer within Wait
	Finished atomic.Int64 // residents whose chooser ended their walk
}

func (c *Crowd) platform() platform {
	if c.Zalo != nil {
		return c.Zalo
	}
	return c.API
}

// Record starts (true) or stops (false) keeping samples and counts.
func (c *Crowd) Record(on bool) { c.record.Store(on) }

// Samples returns the samples kept so far.
func (c *Crowd) Samples() []Sample {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Sample(nil), c.samples...)
}

// ResetSamples forgets the samples and counts kept so far.
func (c *Crowd) ResetSamples() {
	c.mu.Lock()
	c.samples = nil
	c.mu.Unlock()
	c.Updates.Store(0)
	c.Errors.Store(0)
	c.Timeouts.Store(0)
}

// Run walks every resident until ctx ends or its chooser stops it.
func (c *Crowd) Run(ctx context.Context, residents []*Resident) {
	var pace chan struct{}
	if c.Rate > 0 {
		// One ticker hands out the updates' turns, a tenth of a second's
		// worth at most in hand: residents waiting for a turn sleep on the
		// channel rather than all waking to ask.
		pace = make(chan struct{}, max(1, int(c.Rate/10)))
		go func() {
			// Turns owed by the clock, not one a tick: a busy machine
			// delays and drops ticks, which would slow the pace.
			t := time.NewTicker(time.Millisecond)
			defer t.Stop()
			start, issued := time.Now(), 0
			for {
				select {
				case <-ctx.Done():
					return
				case now := <-t.C:
					owed := int(now.Sub(start).Seconds()*c.Rate) - issued
					for range owed {
						select {
						case pace <- struct{}{}:
						default: // a tenth of a second in hand already: the residents are behind
						}
					}
					issued += owed
				}
			}
		}()
	}
	var wg sync.WaitGroup
	for _, r := range residents {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.walk(ctx, r, pace)
		}()
	}
	wg.Wait()
}

func (c *Crowd) walk(ctx context.Context, r *Resident, pace <-chan struct{}) {
	p := c.platform()
	raw := p.text(r, "/start h_"+r.Hamlet)
	for ctx.Err() == nil {
		if pace != nil {
			select {
			case <-ctx.Done():
				return
			case <-pace:
			}
		}
		start := time.Now()
		seen := p.Expect(r.Chat, start)
		status, err := p.Deliver(ctx, c.HTTP, raw)
		webhook := time.Since(start)
		r.n++
		if ctx.Err() != nil {
			return
		}
		if err != nil || status != http.StatusOK {
			if c.record.Load() {
				c.Errors.Add(1)
			}
			time.Sleep(100 * time.Millisecond)
			continue // the same update again, as Telegram would
		}
		wait := c.Wait
		if wait <= 0 {
			wait = 10 * time.Second
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-seen:
			t.Stop()
		case <-t.C:
			if c.record.Load() {
				c.Timeouts.Add(1)
			}
			raw = p.text(r, "/menu")
			continue
		}
		m, first, reply := p.Last(r.Chat)
		if c.record.Load() {
			c.Updates.Add(1)
			c.mu.Lock()
			c.samples = append(c.samples, Sample{At: start, Webhook: webhook, First: first, Reply: reply})
			c.mu.Unlock()
		}
		b := c.Choose(r, m)
		if b == nil {
			c.Finished.Add(1)
			return
		}
		raw = p.tap(r, m, b)
	}
}
