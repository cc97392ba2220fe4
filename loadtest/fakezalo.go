package loadtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// The OA API's paths the bot calls (bot/zalo/client.go, tokens.go).
const (
	zaloPathSend   = "/v3.0/oa/message/cs"
	zaloPathUpload = "/v2.0/oa/upload/image"
	zaloPathToken  = "/v4/oa/access_token"
)

// zaloMoreChoices is the text of a message that only carries more of a
// screen's buttons (delivery.MoreChoices): its buttons belong to the
// screen before it.
const zaloMoreChoices = "⋯"

// zaloWebhookSlots bounds the webhook posts in flight, as FakeAPI's
// max_connections does for Telegram (its default, 40): Zalo's own bound is
// not known, and the same one keeps the channels' figures comparable.
const zaloWebhookSlots = 40

// FakeZalo is a fake of the Zalo OA API and of Zalo's webhook calls for
// load runs, as lean as FakeAPI: it keeps each user's last screen of
// buttons (their payloads are what a tap sends back), the latencies of the
// user's last event, and counters. bot/zalo/zalotest is the complete fake,
// for tests. Its methods are safe for concurrent use.
//
// It signs the events it posts as Zalo does (SHA-256 of app id, body,
// timestamp and the OA secret key) and answers the message endpoint only
// with the access token of the pair issued at start (Pair), which lives
// long enough that the bot never refreshes it in a run; the token endpoint
// hands out the same pair anyway.
type FakeZalo struct {
	URL                                 string // ZALO_API_URL and ZALO_OAUTH_URL
	AppID, AppSecret, OASecretKey, OAID string
	Access, Refresh                     string

	srv *http.Server

	mu         sync.Mutex
	webhookURL string
	slots      chan struct{}

	chats sync.Map // int64 (the user id) → *chat

	Calls    atomic.Int64 // every call
	Sent     atomic.Int64 // messages that took effect
	BadToken atomic.Int64 // calls refused for their access token
	msgSeq   atomic.Int64

	methods sync.Map // path → *methodCounter
}

// NewFakeZalo starts the fake on a loopback port with a fresh app, OA and
// token pair. Close stops it.
func NewFakeZalo() (*FakeZalo, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &FakeZalo{URL: "http://" + ln.Addr().String(), AppID: "4318000000000000001", OAID: "579745863508352884",
		AppSecret: randHex(10), OASecretKey: randHex(10), Access: randHex(32), Refresh: randHex(32),
		slots: make(chan struct{}, zaloWebhookSlots)}
	f.srv = &http.Server{Handler: f, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = f.srv.Serve(ln) }()
	return f, nil
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Close stops the server.
func (f *FakeZalo) Close() error { return f.srv.Close() }

// Pair returns the token pair to store for the bot (the OA as `hangxom
// zalo connect` would have linked it) and when its access token expires:
// past any run, so that no refresh is needed.
func (f *FakeZalo) Pair() (access, refresh string, expires time.Time) {
	return f.Access, f.Refresh, time.Now().Add(25 * time.Hour)
}

// SetWebhook sets where events are posted: the bot's ZALO_WEBHOOK_URL.
func (f *FakeZalo) SetWebhook(url string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.webhookURL = url
}

func (f *FakeZalo) chat(id int64) *chat { return loadOrMake(&f.chats, id, newChat) }

func (f *FakeZalo) method(name string) *methodCounter {
	return loadOrMake(&f.methods, name, func() *methodCounter { return new(methodCounter) })
}

// ByMethod returns the calls so far by path; like Calls, the counts only
// grow.
func (f *FakeZalo) ByMethod() map[string]MethodCount {
	out := map[string]MethodCount{}
	f.methods.Range(func(k, v any) bool {
		out[k.(string)] = MethodCount{Calls: v.(*methodCounter).calls.Load()}
		return true
	})
	return out
}

// Expect marks that user id just posted an event: the next API call and
// message for the user are timed from now. It returns a channel closed
// when the next screen with buttons arrives.
func (f *FakeZalo) Expect(id int64, now time.Time) <-chan struct{} { return f.chat(id).expect(now) }

// Last returns the last screen sent to user id with buttons (a paged
// screen's buttons together), and the latencies of the user's last event.
func (f *FakeZalo) Last(id int64) (m *Message, first, reply time.Duration) {
	return f.chat(id).lastSeen()
}

// zaloAnswer is the OA API's envelope: always HTTP 200, error 0 on success.
type zaloAnswer struct {
	Error   int    `json:"error"`
	Message string `json:"message"`
	Data    any    `json:"data,omitempty"`
}

func (f *FakeZalo) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.Calls.Add(1)
	f.method(r.URL.Path).calls.Add(1)
	w.Header().Set("Content-Type", "application/json")
	write := func(a any) { _ = json.NewEncoder(w).Encode(a) }
	switch r.URL.Path {
	case zaloPathToken:
		// Not expected in a run (the pair outlives it); the same pair.
		write(map[string]string{"access_token": f.Access, "refresh_token": f.Refresh, "expires_in": "90000"})
		return
	case zaloPathSend, zaloPathUpload:
	default:
		write(zaloAnswer{Error: -201, Message: "unknown endpoint"})
		return
	}
	if r.Header.Get("access_token") != f.Access {
		f.BadToken.Add(1)
		write(zaloAnswer{Error: -216, Message: "Access token is invalid"})
		return
	}
	if r.URL.Path == zaloPathUpload {
		_, _ = io.Copy(io.Discard, r.Body)
		write(zaloAnswer{Message: "Success", Data: map[string]string{"attachment_id": randHex(8)}})
		return
	}
	var body struct {
		Recipient struct {
			UserID string `json:"user_id"`
		} `json:"recipient"`
		Message struct {
			Text       string `json:"text"`
			Attachment struct {
				Payload struct {
					Buttons []struct {
						Title   string `json:"title"`
						Type    string `json:"type"`
						Payload any    `json:"payload"`
					} `json:"buttons"`
				} `json:"payload"`
			} `json:"attachment"`
		} `json:"message"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&body); err != nil {
		write(zaloAnswer{Error: -201, Message: "Parameters are invalid"})
		return
	}
	uid, err := strconv.ParseInt(body.Recipient.UserID, 10, 64)
	if err != nil || uid <= 0 {
		write(zaloAnswer{Error: -201, Message: "user_id is invalid"})
		return
	}
	now := time.Now()
	var buttons []Button
	for _, b := range body.Message.Attachment.Payload.Buttons {
		if p, ok := b.Payload.(string); ok && b.Type == "oa.query.hide" {
			buttons = append(buttons, Button{Text: b.Title, Data: p})
		}
	}
	c := f.chat(uid)
	c.mu.Lock()
	more := body.Message.Text == zaloMoreChoices && len(buttons) > 0
	if !more && !c.pending.IsZero() {
		// A screen's further page is not the answer to the user's next
		// event, even if it goes out after it.
		if !c.firstSet {
			c.first, c.firstSet = now.Sub(c.pending), true
		}
		if !c.replySet {
			c.reply, c.replySet = now.Sub(c.pending), true
		}
	}
	id := c.nextID
	c.nextID++
	c.sent++
	switch {
	case more && c.last != nil:
		// The rest of the screen: its buttons join the first page's, and
		// the user, woken by the first page, is not woken again.
		c.last = &Message{ID: c.last.ID, Text: c.last.Text, Buttons: slices.Concat(c.last.Buttons, buttons), At: c.last.At}
	case len(buttons) > 0:
		c.last = &Message{ID: id, Text: body.Message.Text, Buttons: buttons, At: now}
		close(c.notify)
		c.notify = make(chan struct{})
	}
	c.mu.Unlock()
	f.Sent.Add(1)
	write(zaloAnswer{Message: "Success", Data: map[string]string{
		"message_id": strconv.FormatInt(f.msgSeq.Add(1), 16) + "f0a1", "user_id": body.Recipient.UserID}})
}

// Text is a user_send_text event as Zalo posts it: user r.Chat wrote text
// to the OA, or tapped a button whose payload is text (Zalo has no tap
// event). Its msg_id is unique in the run.
func (f *FakeZalo) Text(r *Resident, text string) []byte {
	r.seq++
	uid := strconv.FormatInt(r.Chat, 10)
	b, _ := json.Marshal(map[string]any{
		"app_id": f.AppID, "user_id_by_app": "9" + uid, "event_name": "user_send_text",
		"timestamp": strconv.FormatInt(time.Now().UnixMilli(), 10),
		"sender":    map[string]string{"id": uid}, "recipient": map[string]string{"id": f.OAID},
		"message": map[string]string{"msg_id": "m" + uid + "x" + strconv.Itoa(r.seq), "text": text},
	})
	return b
}

// ZaloSignature is the X-ZEvent-Signature of an event body: "mac=" and the
// hex SHA-256 of app id, the body, its timestamp and the OA secret key.
func ZaloSignature(appID string, body []byte, timestamp, key string) string {
	h := sha256.New()
	h.Write([]byte(appID))
	h.Write(body)
	h.Write([]byte(timestamp))
	h.Write([]byte(key))
	return "mac=" + hex.EncodeToString(h.Sum(nil))
}

// Deliver posts one event to the bot's webhook, signed, and returns the
// HTTP status; at most zaloWebhookSlots posts are in flight.
func (f *FakeZalo) Deliver(ctx context.Context, hc *http.Client, raw []byte) (int, error) {
	f.mu.Lock()
	url := f.webhookURL
	f.mu.Unlock()
	if url == "" {
		return 0, fmt.Errorf("loadtest: no Zalo webhook set")
	}
	var ev struct {
		Timestamp string `json:"timestamp"`
	}
	if err := json.Unmarshal(raw, &ev); err != nil {
		return 0, fmt.Errorf("loadtest: not a Zalo event: %w", err)
	}
	select {
	case f.slots <- struct{}{}:
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	defer func() { <-f.slots }()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(raw))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header["X-ZEvent-Signature"] = []string{ZaloSignature(f.AppID, raw, ev.Timestamp, f.OASecretKey)}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	return resp.StatusCode, nil
}

// counts implements platform.
func (f *FakeZalo) counts() (calls, inResponse int64, byMethod map[string]MethodCount) {
	return f.Calls.Load(), 0, f.ByMethod()
}

func (f *FakeZalo) text(r *Resident, text string) []byte { return f.Text(r, text) }

// tap: a tap on an oa.query.hide button is the user's text, the payload.
func (f *FakeZalo) tap(r *Resident, _ *Message, b *Button) []byte { return f.Text(r, b.Data) }

func (f *FakeZalo) apiName() string { return "Zalo API" }
