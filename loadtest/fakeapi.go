// Package loadtest drives `hangxom serve` the way Telegram and a crowd of
// residents would, and measures it: a lean fake Bot API (FakeAPI) that
// answers like Telegram, with its flood limits and faults when asked, and
// simulated residents (Crowd) who each send their next update only after
// the bot answered the previous one, pressing the buttons the bot sent.
//
// The test fake in bot/telegram/telegramtest records every call for
// assertions; this one keeps only what a load run needs (each chat's last
// keyboard, counters, latencies), so memory stays flat over millions of
// calls. FakeZalo is its like for a Zalo OA: the residents are then Zalo
// users, posting signed events to the bot's Zalo webhook and tapping the
// payloads of the buttons the bot sent (Options.Channel).
//
// Run is `hangxom loadtest`: it starts the bot binary against the fake (and
// a redis-server of its own unless given one) and runs the phases one after
// the other (memory, throughput, latency, report, reminders; and chaos when
// asked: a Sentinel setup of its own, StartSentinel), one file each,
// printing every figure beside its goal.
package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Button is one inline button the bot sent.
type Button struct {
	Text string `json:"text"`
	Data string `json:"callback_data"`
}

// Message is what a simulated resident sees of a bot message.
type Message struct {
	ID      int
	Text    string
	Buttons []Button
	At      time.Time
}

// Limits are the flood limits the fake enforces, like Telegram: a call over
// a limit is answered 429 with retry_after and has no effect. Zero rates
// enforce nothing.
type Limits struct {
	// ChatRate and ChatBurst: messages per second to one chat (Telegram
	// asks for about one per second, short bursts allowed).
	ChatRate  float64
	ChatBurst int
	// GlobalRate: messages per second to all chats together (Telegram's
	// broadcast limit is about 30 per second); a burst of one second.
	GlobalRate float64
}

// Faults are misbehaviours injected at random into message calls
// (sendMessage, editMessage*, answerCallbackQuery, deleteMessage).
type Faults struct {
	// ServerError is the share of calls answered 500 with no effect.
	ServerError float64
	// LoseAnswer is the share of calls that take effect but whose answer
	// never arrives (the connection is closed).
	LoseAnswer float64
}

// FakeAPI is a fake Telegram Bot API for load runs. Its methods are safe for
// concurrent use.
type FakeAPI struct {
	URL   string // base URL: give the bot URL as TELEGRAM_API_URL
	Token string

	limits atomic.Pointer[Limits]
	faults atomic.Pointer[Faults]

	srv *http.Server
	ln  net.Listener

	mu         sync.Mutex
	webhookURL string
	secret     string
	// slots bounds the webhook requests in flight to the bot's
	// max_connections (setWebhook; Telegram's default 40): Telegram
	// delivers a bot's updates over that many connections at most.
	slots chan struct{}

	chats  sync.Map // int64 → *chat
	global gcra

	// Counters.
	Calls         atomic.Int64 // every method call
	InResponse    atomic.Int64 // of them, methods given in webhook answers
	Sent          atomic.Int64 // messages that took effect (sendMessage, sendPhoto, sendDocument)
	Throttled     atomic.Int64 // calls answered 429
	ServerErrors  atomic.Int64 // calls answered 5xx by injection
	LostAnswers   atomic.Int64 // calls whose answer was dropped after taking effect
	BulkSent      atomic.Int64 // messages to chats marked bulk (reminders)
	BulkThrottled atomic.Int64
	bulkFirst     atomic.Int64 // unix ns of the first bulk message since ResetBulk
	bulkLast      atomic.Int64

	methods sync.Map // method name as it arrived → *methodCounter; see ByMethod

	// keepLog makes each chat keep every message in order, and the
	// resident's updates between them (KeepLog, ChatLog).
	keepLog atomic.Bool
}

// MethodCount is how many calls of one Bot API method arrived, and of them
// how many were given in webhook answers.
type MethodCount struct {
	Calls, InResponse int64
}

type methodCounter struct{ calls, inResponse atomic.Int64 }

// method returns the counter of the method named name, made on first use.
func (f *FakeAPI) method(name string) *methodCounter {
	return loadOrMake(&f.methods, name, func() *methodCounter { return new(methodCounter) })
}

// loadOrMake returns m's value for key, made by mk and stored on first use
// (by one caller: concurrent first uses all get the stored one).
func loadOrMake[V any](m *sync.Map, key any, mk func() *V) *V {
	if v, ok := m.Load(key); ok {
		return v.(*V)
	}
	v, _ := m.LoadOrStore(key, mk())
	return v.(*V)
}

func newChat() *chat { return &chat{nextID: 1, notify: make(chan struct{})} }

// ByMethod returns the calls so far by method name, as the name arrived
// (the request path, or a webhook answer's "method" field). A call with a
// wrong token has no method and is counted only in Calls. Like Calls and
// InResponse, the counts only grow: a run takes them before and after and
// keeps the difference (DeltaByMethod).
func (f *FakeAPI) ByMethod() map[string]MethodCount {
	out := map[string]MethodCount{}
	f.methods.Range(func(k, v any) bool {
		m := v.(*methodCounter)
		out[k.(string)] = MethodCount{Calls: m.calls.Load(), InResponse: m.inResponse.Load()}
		return true
	})
	return out
}

type chat struct {
	mu       sync.Mutex
	nextID   int
	last     *Message
	notify   chan struct{} // closed and replaced when a message with buttons arrives
	pending  time.Time     // when the resident's last update was posted; zero when seen
	first    time.Duration // webhook → first API call for this chat
	reply    time.Duration // webhook → first message
	firstSet bool
	replySet bool
	limit    gcra
	sent     int // messages that took effect
	texts    map[string]int
	log      []Entry // with FakeAPI.KeepLog: the chat's messages and updates in order
}

// Entry is one line of a chat's log (FakeAPI.KeepLog): a message the bot
// sent, or, with Update set, the resident sending a new update (Note).
type Entry struct {
	At      time.Time
	Update  bool
	ID      int // the message's id
	Text    string
	Buttons []Button
}

// gcra is a generic cell rate limiter: tat is the theoretical arrival time.
type gcra struct {
	mu  sync.Mutex
	tat time.Time
}

// allow reports whether one more event fits rate/burst at now, and if not,
// how long to wait.
func (g *gcra) allow(now time.Time, rate float64, burst int) (bool, time.Duration) {
	if rate <= 0 {
		return true, 0
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	interval := time.Duration(float64(time.Second) / rate)
	tat := g.tat
	if tat.Before(now) {
		tat = now
	}
	allowAt := tat.Add(-time.Duration(max(burst, 1)-1) * interval)
	if now.Before(allowAt) {
		return false, allowAt.Sub(now)
	}
	g.tat = tat.Add(interval)
	return true, 0
}

// NewFakeAPI starts the fake on a loopback port. Close stops it.
func NewFakeAPI(token string) (*FakeAPI, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &FakeAPI{Token: token, ln: ln, URL: "http://" + ln.Addr().String()}
	f.limits.Store(&Limits{})
	f.faults.Store(&Faults{})
	f.srv = &http.Server{Handler: f, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = f.srv.Serve(ln) }()
	return f, nil
}

// Close stops the server.
func (f *FakeAPI) Close() error { return f.srv.Close() }

// SetLimits changes the flood limits.
func (f *FakeAPI) SetLimits(l Limits) { f.limits.Store(&l) }

// SetFaults changes the injected faults.
func (f *FakeAPI) SetFaults(x Faults) { f.faults.Store(&x) }

// Webhook returns the URL and secret the bot registered with setWebhook.
func (f *FakeAPI) Webhook() (url, secret string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.webhookURL, f.secret
}

func (f *FakeAPI) chat(id int64) *chat { return loadOrMake(&f.chats, id, newChat) }

// Expect marks that the resident of chat id just posted an update: the
// next API call and message for the chat are timed from now. It returns a
// channel closed when the next message with buttons arrives.
func (f *FakeAPI) Expect(id int64, now time.Time) <-chan struct{} { return f.chat(id).expect(now) }

// expect times the chat's next API call and message from now, and returns
// a channel closed when the next message with buttons arrives.
func (c *chat) expect(now time.Time) <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pending, c.firstSet, c.replySet = now, false, false
	return c.notify
}

// Last returns the last message sent to chat id with buttons, and the
// latencies of the resident's last update (zero if not seen yet).
func (f *FakeAPI) Last(id int64) (m *Message, first, reply time.Duration) {
	return f.chat(id).lastSeen()
}

// lastSeen is the chat's last message with buttons and the latencies of
// its resident's last input.
func (c *chat) lastSeen() (m *Message, first, reply time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last, c.first, c.reply
}

// KeepLog makes every chat keep its messages, and the updates noted
// (Note), in order, from now on: for runs of a few residents, whose every
// message is looked at (the chaos phase).
func (f *FakeAPI) KeepLog(on bool) { f.keepLog.Store(on) }

// Note logs that the resident of chat id sent a new update now (a
// delivery again of the same update is not a new one).
func (f *FakeAPI) Note(id int64, now time.Time) {
	c := f.chat(id)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.log = append(c.log, Entry{At: now, Update: true})
}

// ChatLog returns chat id's log from entry from on (KeepLog).
func (f *FakeAPI) ChatLog(id int64, from int) []Entry {
	c := f.chat(id)
	c.mu.Lock()
	defer c.mu.Unlock()
	if from >= len(c.log) {
		return nil
	}
	return slices.Clone(c.log[max(from, 0):])
}

// SentTo returns how many messages took effect in chat id, and how many
// times the most repeated text was sent (1 when no text was sent twice).
func (f *FakeAPI) SentTo(id int64) (sent int, texts map[string]int) {
	c := f.chat(id)
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sent, c.texts
}

type apiAnswer struct {
	OK          bool            `json:"ok"`
	Result      any             `json:"result,omitempty"`
	ErrorCode   int             `json:"error_code,omitempty"`
	Description string          `json:"description,omitempty"`
	Parameters  *apiParameters  `json:"parameters,omitempty"`
	Raw         json.RawMessage `json:"-"`
}

type apiParameters struct {
	RetryAfter int `json:"retry_after,omitempty"`
}

func (f *FakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.Calls.Add(1)
	rest, ok := strings.CutPrefix(r.URL.Path, "/bot"+f.Token+"/")
	if !ok {
		writeAnswer(w, 401, apiAnswer{ErrorCode: 401, Description: "Unauthorized"})
		return
	}
	f.method(rest).calls.Add(1)
	method := strings.ToLower(rest)
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
		_ = r.ParseMultipartForm(8 << 20)
	} else {
		_ = r.ParseForm()
	}
	p := func(k string) string { return r.Form.Get(k) }
	now := time.Now()
	switch method {
	case "getme":
		writeAnswer(w, 200, apiAnswer{OK: true, Result: map[string]any{"id": botID(f.Token), "is_bot": true,
			"first_name": "Hàng xóm số", "username": "hangxomso_load_bot"}})
		return
	case "setwebhook":
		f.mu.Lock()
		f.webhookURL, f.secret = p("url"), p("secret_token")
		n, err := strconv.Atoi(p("max_connections"))
		if err != nil || n < 1 || n > 100 {
			n = 40 // Telegram's default (the allowed range is 1–100)
		}
		f.slots = make(chan struct{}, n)
		f.mu.Unlock()
		writeAnswer(w, 200, apiAnswer{OK: true, Result: true})
		return
	case "deletewebhook", "setmycommands", "deletemycommands":
		writeAnswer(w, 200, apiAnswer{OK: true, Result: true})
		return
	}
	chatID, _ := strconv.ParseInt(p("chat_id"), 10, 64)
	if method == "answercallbackquery" {
		// The load driver puts the chat in the query id: "<chat>-<n>".
		id, _, _ := strings.Cut(p("callback_query_id"), "-")
		chatID, _ = strconv.ParseInt(id, 10, 64)
	}
	if chatID == 0 {
		writeAnswer(w, 400, apiAnswer{ErrorCode: 400, Description: "Bad Request: chat not found"})
		return
	}
	c := f.chat(chatID)
	c.mu.Lock()
	if !c.pending.IsZero() && !c.firstSet {
		c.first, c.firstSet = now.Sub(c.pending), true
	}
	c.mu.Unlock()

	message := method == "sendmessage" || method == "sendphoto" || method == "senddocument"
	if x := f.faults.Load(); x.ServerError > 0 && rand.Float64() < x.ServerError {
		f.ServerErrors.Add(1)
		writeAnswer(w, 500, apiAnswer{ErrorCode: 500, Description: "Internal Server Error"})
		return
	}
	bulk := strings.Contains(p("reply_markup"), `"r:`) // a reminder's resume button
	if message {
		l := f.limits.Load()
		ok, wait := c.limit.allow(now, l.ChatRate, l.ChatBurst)
		if ok {
			ok, wait = f.global.allow(now, l.GlobalRate, int(math.Ceil(l.GlobalRate)))
		}
		if !ok {
			f.Throttled.Add(1)
			if bulk {
				f.BulkThrottled.Add(1)
			}
			secs := int(math.Ceil(wait.Seconds()))
			writeAnswer(w, 429, apiAnswer{ErrorCode: 429, Description: fmt.Sprintf("Too Many Requests: retry after %d", secs),
				Parameters: &apiParameters{RetryAfter: secs}})
			return
		}
	}
	var result any = true
	switch method {
	case "sendmessage", "sendphoto", "senddocument", "editmessagetext":
		var buttons []Button
		if raw := p("reply_markup"); raw != "" {
			var kb struct {
				Inline [][]Button `json:"inline_keyboard"`
			}
			if json.Unmarshal([]byte(raw), &kb) == nil {
				for _, row := range kb.Inline {
					buttons = append(buttons, row...)
				}
			}
		}
		text := p("text")
		if text == "" {
			text = p("caption")
		}
		c.mu.Lock()
		id, _ := strconv.Atoi(p("message_id"))
		if message {
			id = c.nextID
			c.nextID++
			c.sent++
			if c.texts == nil {
				c.texts = map[string]int{}
			}
			c.texts[text]++
			if f.keepLog.Load() {
				c.log = append(c.log, Entry{At: now, ID: id, Text: text, Buttons: buttons})
			}
		}
		if !c.pending.IsZero() && !c.replySet {
			c.reply, c.replySet = now.Sub(c.pending), true
		}
		if len(buttons) > 0 {
			c.last = &Message{ID: id, Text: text, Buttons: buttons, At: now}
			close(c.notify)
			c.notify = make(chan struct{})
		}
		c.mu.Unlock()
		if message {
			f.Sent.Add(1)
			if bulk {
				f.BulkSent.Add(1)
				f.bulkFirst.CompareAndSwap(0, now.UnixNano())
				f.bulkLast.Store(now.UnixNano())
			}
		}
		result = map[string]any{"message_id": id, "date": now.Unix(), "text": text,
			"chat": map[string]any{"id": chatID, "type": "private"}}
	case "editmessagereplymarkup":
		id, _ := strconv.Atoi(p("message_id"))
		result = map[string]any{"message_id": id, "date": now.Unix(), "chat": map[string]any{"id": chatID, "type": "private"}}
	}
	if x := f.faults.Load(); x.LoseAnswer > 0 && rand.Float64() < x.LoseAnswer {
		f.LostAnswers.Add(1)
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return
			}
		}
	}
	writeAnswer(w, 200, apiAnswer{OK: true, Result: result})
}

func writeAnswer(w http.ResponseWriter, status int, a apiAnswer) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(a)
}

func botID(token string) int64 {
	id, _, _ := strings.Cut(token, ":")
	n, _ := strconv.ParseInt(id, 10, 64)
	return n
}

// Deliver posts one update to the bot's webhook, with the secret, and
// returns the HTTP status. As Telegram, it has at most max_connections
// (setWebhook) posts in flight; a post waits for a free one.
func (f *FakeAPI) Deliver(ctx context.Context, hc *http.Client, raw []byte) (int, error) {
	url, _ := f.Webhook()
	if url == "" {
		return 0, fmt.Errorf("loadtest: the bot has not set its webhook")
	}
	return f.DeliverTo(ctx, hc, url, raw)
}

// DeliverTo is Deliver to the webhook at url, with the secret the bots
// gave (several replicas behind one webhook share it): a load balancer's
// choice of replica.
func (f *FakeAPI) DeliverTo(ctx context.Context, hc *http.Client, url string, raw []byte) (int, error) {
	_, secret := f.Webhook()
	f.mu.Lock()
	slots := f.slots
	f.mu.Unlock()
	select {
	case slots <- struct{}{}:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	release := sync.OnceFunc(func() { <-slots })
	defer release()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(raw))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	release() // the connection is free for the next update
	if err != nil {
		return 0, err
	}
	if resp.StatusCode == http.StatusOK && len(body) > 0 {
		// The bot answered with a method (a tap's answer), which Telegram
		// performs as if called.
		if err := f.perform(resp.Header.Get("Content-Type"), body); err != nil {
			return resp.StatusCode, err
		}
	}
	return resp.StatusCode, nil
}

// perform performs a method found in a webhook's answer, as Telegram does.
func (f *FakeAPI) perform(contentType string, body []byte) error {
	form, err := url.ParseQuery(string(body))
	if err != nil || form.Get("method") == "" || !strings.HasPrefix(contentType, "application/x-www-form-urlencoded") {
		return fmt.Errorf("loadtest: the webhook answered %q (%s), not a method call", body, contentType)
	}
	f.InResponse.Add(1)
	f.method(form.Get("method")).inResponse.Add(1)
	req := httptest.NewRequest(http.MethodPost, "/bot"+f.Token+"/"+form.Get("method"), bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	f.ServeHTTP(httptest.NewRecorder(), req)
	return nil
}

// ResetBulk forgets the bulk counters.
func (f *FakeAPI) ResetBulk() {
	f.BulkSent.Store(0)
	f.BulkThrottled.Store(0)
	f.bulkFirst.Store(0)
	f.bulkLast.Store(0)
}

// BulkSpan returns when the first and the last bulk message took effect.
func (f *FakeAPI) BulkSpan() (first, last time.Time) {
	return time.Unix(0, f.bulkFirst.Load()), time.Unix(0, f.bulkLast.Load())
}
