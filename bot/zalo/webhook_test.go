package zalo_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hangxomso/hangxom/bot/zalo"
	"github.com/hangxomso/hangxom/bot/zalo/zalotest"
	"github.com/hangxomso/hangxom/flows"
)

// hookCall is one input the fake service was handed.
type hookCall struct {
	Resident string
	Input    flows.Input
}

// hookService is a bot.Handler that records inputs. With err it fails;
// with block it waits for block to close, deaf to its context (a store
// that hangs); with panics it panics.
type hookService struct {
	mu     sync.Mutex
	calls  []hookCall
	err    error
	block  chan struct{}
	panics bool
}

func (s *hookService) Handle(_ context.Context, resident string, in flows.Input) (flows.Handled, error) {
	s.mu.Lock()
	s.calls = append(s.calls, hookCall{resident, in})
	err, block, panics := s.err, s.block, s.panics
	s.mu.Unlock()
	if block != nil {
		<-block
	}
	if panics {
		panic("boom")
	}
	return flows.Handled{}, err
}

func (s *hookService) set(fn func(*hookService)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s)
}

func (s *hookService) got() []hookCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]hookCall(nil), s.calls...)
}

// hookStore records reachability; with err it fails.
type hookStore struct {
	mu    sync.Mutex
	calls []string // "zl:1=false"
	err   error
}

func (s *hookStore) SetReachable(_ context.Context, resident string, ok bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	r := "=false"
	if ok {
		r = "=true"
	}
	s.calls = append(s.calls, resident+r)
	return nil
}

func (s *hookStore) fail(err error) {
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
}

func (s *hookStore) got() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...)
}

// hookSender records kicks.
type hookSender struct {
	mu    sync.Mutex
	kicks []string
}

func (s *hookSender) Kick(resident string) {
	s.mu.Lock()
	s.kicks = append(s.kicks, resident)
	s.mu.Unlock()
}

func (s *hookSender) got() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.kicks...)
}

// hookFixture is a webhook served on loopback, fed by a fake Zalo whose
// events are stamped hookT0, and the webhook's clock, at hookT0 too.
type hookFixture struct {
	z      *zalotest.Server
	hook   *zalo.Webhook
	url    string
	svc    *hookService
	store  *hookStore
	sender *hookSender
	mu     sync.Mutex
	now    time.Time // the webhook's clock
	events time.Time // the fake Zalo's clock, which stamps events
}

func newHookFixture(t *testing.T, configure ...func(*zalo.Webhook)) *hookFixture {
	t.Helper()
	f := &hookFixture{z: zalotest.NewServer(t), svc: &hookService{}, store: &hookStore{}, sender: &hookSender{},
		now: hookT0, events: hookT0}
	f.z.Now = f.eventClock
	f.hook = &zalo.Webhook{Service: f.svc, Sender: f.sender, Store: f.store, AppID: f.z.AppID,
		OASecretKey: f.z.OASecretKey, OAID: f.z.OAID, Clock: f.clock,
		Logger: slog.New(slog.DiscardHandler)}
	for _, c := range configure {
		c(f.hook)
	}
	srv := httptest.NewServer(f.hook)
	t.Cleanup(srv.Close)
	f.url = srv.URL + "/zalo/webhook"
	return f
}

func (f *hookFixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *hookFixture) setClock(at time.Time) {
	f.mu.Lock()
	f.now = at
	f.mu.Unlock()
}

func (f *hookFixture) eventClock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.events
}

func (f *hookFixture) setEventClock(at time.Time) {
	f.mu.Lock()
	f.events = at
	f.mu.Unlock()
}

// deliver posts body as Zalo does and returns the status.
func (f *hookFixture) deliver(t *testing.T, body []byte, numRetry int) int {
	t.Helper()
	resp, err := f.z.Deliver(t.Context(), f.url, body, numRetry)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// deliverWith posts body with exactly header and returns the status.
func (f *hookFixture) deliverWith(t *testing.T, body []byte, header http.Header) int {
	t.Helper()
	resp, err := f.z.DeliverWith(t.Context(), f.url, body, header)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// signed is a header with the signature v, spelt as Zalo spells it.
func signed(v string) http.Header {
	return http.Header{"X-ZEvent-Signature": {v}}
}

func TestZaloWebhookChecksTheSignatureOverTheRawBytes(t *testing.T) {
	f := newHookFixture(t)
	const user = "84912345678"
	text := "Chào bà con 👋, cho hỏi mã QR này có đúng không ạ? 🇻🇳"
	body := f.z.Text(user, text)
	if got := f.deliver(t, body, 0); got != http.StatusOK {
		t.Fatalf("a signed event: status %d, want 200", got)
	}
	sig := zalotest.Sign(f.z.AppID, body, hookTS, f.z.OASecretKey)

	// The same words escaped as JSON would write them are other bytes.
	escaped := bytes.Replace(body, []byte("👋"), []byte(`\ud83d\udc4b`), 1)
	oneByte := bytes.Replace(body, []byte("hỏi"), []byte("hỏI"), 1)
	for _, tc := range []struct {
		name   string
		body   []byte
		header http.Header
		want   int
	}{
		{"one byte changed", oneByte, signed("mac=" + sig), http.StatusUnauthorized},
		{"re-encoded", escaped, signed("mac=" + sig), http.StatusUnauthorized},
		{"no signature", body, http.Header{}, http.StatusUnauthorized},
		{"signed with the app secret", body,
			signed("mac=" + zalotest.Sign(f.z.AppID, body, hookTS, f.z.AppSecret)), http.StatusUnauthorized},
		{"bare hex", body, signed(sig), http.StatusOK},
		{"upper-case mac= form", body, signed("mac=" + strings.ToUpper(sig)), http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := f.deliverWith(t, tc.body, tc.header); got != tc.want {
				t.Errorf("status %d, want %d", got, tc.want)
			}
		})
	}
	want := hookCall{zalo.ResidentID(user), flows.Input{Kind: flows.InputText, Text: text}}
	for _, c := range f.svc.got() {
		c.Input.UpdateID = ""
		if diff := cmp.Diff(want, c); diff != "" {
			t.Errorf("input (-want +got):\n%s", diff)
		}
	}
	if n := len(f.svc.got()); n != 3 {
		t.Errorf("the service saw %d inputs, want 3 (the signed ones)", n)
	}
}

func TestZaloWebhookRefusesAnotherAppsEvent(t *testing.T) {
	// The fake signs with its own app id.
	f := newHookFixture(t, func(h *zalo.Webhook) { h.AppID = "1234567890123456789" })
	if got := f.deliver(t, f.z.Text("1", "hi"), 0); got != http.StatusUnauthorized {
		t.Errorf("status %d, want 401", got)
	}
	if n := len(f.svc.got()); n != 0 {
		t.Errorf("the service saw %d inputs", n)
	}
}

func TestZaloWebhookRefusesAStaleFirstDeliveryButTakesZalosRetry(t *testing.T) {
	f := newHookFixture(t)
	body := f.z.Text("84900000002", "xong")
	f.setClock(hookT0.Add(pastSkew))
	if got := f.deliver(t, body, 0); got != http.StatusForbidden {
		t.Fatalf("stale first delivery: status %d, want 403", got)
	}
	if n := len(f.svc.got()); n != 0 {
		t.Fatalf("the service saw a stale event")
	}
	for retry := 1; retry <= 2; retry++ {
		if got := f.deliver(t, body, retry); got != http.StatusOK {
			t.Fatalf("retry %d: status %d, want 200", retry, got)
		}
	}
	calls := f.svc.got()
	if len(calls) != 2 || calls[0].Input.UpdateID != calls[1].Input.UpdateID || calls[0].Input.UpdateID == "" {
		t.Errorf("the service saw %+v; want the same update id twice", calls)
	}

	// A first delivery from the future, and a "retry" older than Zalo
	// retries, are refused too.
	f.setClock(hookT0.Add(-zalo.MaxSkew - time.Second))
	if got := f.deliver(t, f.z.Text("84900000002", "a"), 0); got != http.StatusForbidden {
		t.Errorf("future event: status %d, want 403", got)
	}
	f.setClock(hookT0.Add(zalo.MaxRetryAge + time.Minute))
	if got := f.deliver(t, body, 5); got != http.StatusForbidden {
		t.Errorf("a day-old retry: status %d, want 403", got)
	}
	f.setClock(hookT0.Add(zalo.MaxSkew - time.Second))
	if got := f.deliver(t, f.z.Text("84900000002", "b"), 0); got != http.StatusOK {
		t.Errorf("event within the window: status %d, want 200", got)
	}
}

// pastSkew is just past the window of a first delivery.
const pastSkew = zalo.MaxSkew + time.Second

func TestZaloWebhookMapsEachEvent(t *testing.T) {
	const user = "84911112222"
	resident := zalo.ResidentID(user)
	att := func(kind string, payload map[string]any) map[string]any {
		return map[string]any{"msg_id": "m-" + kind, "attachments": []any{map[string]any{"type": kind, "payload": payload}}}
	}
	empty := func(id string) []hookCall { // nothing the bot can read
		return []hookCall{{resident, flows.Input{Kind: flows.InputOther, UpdateID: "zl:" + id}}}
	}
	composite := func(name string) string { return "zl:" + name + ":" + user + ":" + hookTS }
	for _, tc := range []struct {
		name    string
		event   string
		user    string // default user
		message map[string]any
		calls   []hookCall
		reach   []string
	}{
		{name: "typed text", event: "user_send_text", message: map[string]any{"msg_id": "m1", "text": "con mèo"},
			calls: []hookCall{{resident, flows.Input{Kind: flows.InputText, Text: "con mèo", UpdateID: "zl:m1"}}}},
		{name: "anonymous text", event: "anonymous_send_text", message: map[string]any{"msg_id": "m2", "text": "alo"},
			calls: []hookCall{{resident, flows.Input{Kind: flows.InputText, Text: "alo", UpdateID: "zl:m2"}}}},
		{name: "a tap", event: "user_send_text", message: map[string]any{"msg_id": "m3", "text": zalo.PayloadPrefix + "7.2"},
			calls: []hookCall{{resident, flows.Input{Kind: flows.InputChoice, Data: "7.2", UpdateID: "zl:m3"}}}},
		{name: "a tap with empty data", event: "user_send_text", message: map[string]any{"msg_id": "m3b", "text": zalo.PayloadPrefix},
			calls: []hookCall{{resident, flows.Input{Kind: flows.InputChoice, UpdateID: "zl:m3b"}}}},
		{name: "a command", event: "user_send_text", message: map[string]any{"msg_id": "m4", "text": "/Join  ABC12"},
			calls: []hookCall{{resident, flows.Input{Kind: flows.InputCommand, Command: "join", Text: "ABC12", UpdateID: "zl:m4"}}}},
		{name: "start with a code", event: "user_send_text", message: map[string]any{"msg_id": "m5", "text": "/start h_abc"},
			calls: []hookCall{{resident, flows.Input{Kind: flows.InputCommand, Command: "start", Text: "h_abc", UpdateID: "zl:m5"}}}},
		{name: "start with junk", event: "user_send_text", message: map[string]any{"msg_id": "m6", "text": "/start <b>x</b>"},
			calls: []hookCall{{resident, flows.Input{Kind: flows.InputCommand, Command: "start", UpdateID: "zl:m6"}}}},
		{name: "a photo", event: "user_send_image",
			message: att("image", map[string]any{"url": "https://photo.zalo.me/qr.jpg", "thumbnail": "https://t"}),
			calls:   []hookCall{{resident, flows.Input{Kind: flows.InputPhoto, Photo: "https://photo.zalo.me/qr.jpg", UpdateID: "zl:m-image"}}}},
		{name: "a photo without a url", event: "user_send_image", message: att("image", map[string]any{}),
			calls: empty("m-image")},
		{name: "a sticker", event: "user_send_sticker", message: att("sticker", map[string]any{"id": "s", "url": "https://s"}),
			calls: empty("m-sticker")},
		{name: "a gif", event: "user_send_gif", message: att("gif", map[string]any{"url": "https://g"}), calls: empty("m-gif")},
		{name: "a file", event: "user_send_file", message: att("file", map[string]any{"url": "https://f", "name": "a.pdf"}),
			calls: empty("m-file")},
		{name: "audio", event: "user_send_audio", message: att("audio", map[string]any{"url": "https://a"}), calls: empty("m-audio")},
		{name: "video", event: "user_send_video", message: att("video", map[string]any{"url": "https://v"}), calls: empty("m-video")},
		{name: "a link", event: "user_send_link", message: att("link", map[string]any{"url": "https://l"}), calls: empty("m-link")},
		{name: "a location", event: "user_send_location",
			message: att("location", map[string]any{"coordinates": map[string]any{"latitude": "21.0", "longitude": "105.8"}}),
			calls:   empty("m-location")},
		{name: "follow greets", event: "follow",
			calls: []hookCall{{resident, flows.Input{Kind: flows.InputCommand, Command: "start", UpdateID: composite("follow")}}},
			reach: []string{resident + "=true"}},
		{name: "the webhook's test follow", event: "follow", message: map[string]any{"source": "testing_webhook"}},
		{name: "unfollow", event: "unfollow", reach: []string{resident + "=false"}},
		{name: "a shared phone", event: "user_submit_info", message: map[string]any{"name": "Lan", "phone": "84912345678"},
			calls: []hookCall{{resident, flows.Input{Kind: flows.InputContact, Text: "84912345678", UpdateID: composite("user_submit_info")}}}},
		{name: "info without a phone", event: "user_submit_info", message: map[string]any{"name": "Lan"}},
		{name: "an echo", event: "oa_send_text", message: map[string]any{"text": "hi"}},
		{name: "the OA as sender", event: "user_send_text", user: "oa", message: map[string]any{"text": "hi"}},
		{name: "received", event: "user_received_message", message: map[string]any{"msg_ids": []string{"a"}}},
		{name: "seen", event: "user_seen_message", message: map[string]any{"msg_ids": []string{"a"}}},
		{name: "chat now", event: "user_click_chatnow", message: map[string]any{}},
		{name: "unknown", event: "shop_has_order", message: map[string]any{"order": "1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newHookFixture(t)
			u := user
			if tc.user == "oa" {
				u = f.z.OAID
			}
			if got := f.deliver(t, f.z.Event(tc.event, u, tc.message), 0); got != http.StatusOK {
				t.Fatalf("status %d, want 200", got)
			}
			if diff := cmp.Diff(tc.calls, f.svc.got()); diff != "" {
				t.Errorf("inputs (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.reach, f.store.got()); diff != "" {
				t.Errorf("reachability (-want +got):\n%s", diff)
			}
			var kicks []string
			for range tc.calls {
				kicks = append(kicks, resident)
			}
			if diff := cmp.Diff(kicks, f.sender.got()); diff != "" {
				t.Errorf("kicks (-want +got):\n%s", diff)
			}
		})
	}
}

func TestZaloWebhookAnswers503WhenTheTurnIsNotStored(t *testing.T) {
	f := newHookFixture(t)
	f.svc.set(func(s *hookService) { s.err = errors.New("store: commit zl:1: connection refused") })
	if got := f.deliver(t, f.z.Text("1", "hi"), 0); got != http.StatusServiceUnavailable {
		t.Errorf("store down: status %d, want 503", got)
	}
	if k := f.sender.got(); len(k) != 0 {
		t.Errorf("kicked %v after a failed turn", k)
	}
	f.store.fail(errors.New("store: set reachable: connection refused"))
	if got := f.deliver(t, f.z.Event("unfollow", "1", nil), 0); got != http.StatusServiceUnavailable {
		t.Errorf("unfollow with the store down: status %d, want 503", got)
	}
	if got := f.deliver(t, f.z.Event("follow", "1", nil), 0); got != http.StatusServiceUnavailable {
		t.Errorf("follow with the store down: status %d, want 503", got)
	}
	if n := len(f.svc.got()); n != 1 {
		t.Errorf("the service saw %d inputs; a follow not marked reachable must not greet", n)
	}
}

func TestZaloWebhookAnswersASlowTurnWithin2s(t *testing.T) {
	f := newHookFixture(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	f.svc.set(func(s *hookService) { s.block = release }) // deaf to its context: the webhook must not wait for it
	start := time.Now()
	got := f.deliver(t, f.z.Text("1", "hi"), 0)
	took := time.Since(start)
	if got != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503", got)
	}
	if took < zalo.DefaultTimeout || took > 2*time.Second {
		t.Errorf("answered after %v, want between %v and 2s", took, zalo.DefaultTimeout)
	}
}

func TestZaloWebhookAcknowledgesAPanic(t *testing.T) {
	f := newHookFixture(t)
	f.svc.set(func(s *hookService) { s.panics = true })
	if got := f.deliver(t, f.z.Text("1", "hi"), 0); got != http.StatusOK {
		t.Errorf("status %d, want 200 (a retry would panic again)", got)
	}
}

func TestZaloWebhookRefusesWhatZaloDoesNotSend(t *testing.T) {
	f := newHookFixture(t, func(h *zalo.Webhook) { h.MaxBody = 512 })
	big := f.z.Text("1", strings.Repeat("a", 600))
	if got := f.deliver(t, big, 0); got != http.StatusRequestEntityTooLarge {
		t.Errorf("big body: status %d, want 413", got)
	}
	rec := httptest.NewRecorder()
	f.hook.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/zalo/webhook", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET: status %d, want 405", rec.Code)
	}
	// Signed but unreadable: acknowledged, never handled.
	body := []byte(`{"app_id":"` + f.z.AppID + `","timestamp":"` + hookTS + `","message":"x"}`)
	sig := zalotest.Sign(f.z.AppID, body, hookTS, f.z.OASecretKey)
	if got := f.deliverWith(t, body, signed("mac="+sig)); got != http.StatusOK {
		t.Errorf("signed unreadable event: status %d, want 200", got)
	}
	if n := len(f.svc.got()); n != 0 {
		t.Errorf("the service saw %d inputs", n)
	}
}

// hookWords localizes every id as itself.
type hookWords struct{}

func (hookWords) Localize(_, id string, _ map[string]any) (string, error) { return id, nil }

func TestZaloWebhookTellsAResidentToTryAgainOncePerOutage(t *testing.T) {
	told := make(chan string, 10)
	f := newHookFixture(t, func(h *zalo.Webhook) {
		h.Loc = hookWords{}
		h.Tell = func(_ context.Context, resident, text string) error {
			told <- resident + " " + text
			return nil
		}
	})
	f.svc.set(func(s *hookService) { s.err = errors.New("store down") })
	for _, text := range []string{"a", "b"} {
		if got := f.deliver(t, f.z.Text("5", text), 0); got != http.StatusServiceUnavailable {
			t.Fatalf("status %d, want 503", got)
		}
	}
	select {
	case got := <-told:
		if got != "zl:5 common.try_again" {
			t.Errorf("told %q", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("not told to try again")
	}
	f.svc.set(func(s *hookService) { s.err = fmt.Errorf("flows: handle zl:5: %w", flows.ErrLocked) })
	f.setClock(hookT0.Add(11 * time.Minute))
	f.setEventClock(hookT0.Add(11 * time.Minute))
	if got := f.deliver(t, f.z.Text("5", "c"), 0); got != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", got)
	}
	// Told once for the outage; a busy resident is not told at all. The
	// Tell calls run on goroutines: give a stray one time to show.
	select {
	case got := <-told:
		t.Errorf("told again: %q", got)
	case <-time.After(200 * time.Millisecond):
	}
}

// A turn that ran out of the webhook's time (the resident's own lock held
// by a photo check: the store's lock wait outlasts Zalo's 2 s) is no
// outage: 503 so that Zalo delivers it again, and no "try again" note.
func TestZaloWebhookDoesNotCallATimedOutTurnAnOutage(t *testing.T) {
	told := make(chan string, 10)
	f := newHookFixture(t, func(h *zalo.Webhook) {
		h.Loc = hookWords{}
		h.Tell = func(_ context.Context, resident, text string) error {
			told <- resident + " " + text
			return nil
		}
	})
	f.svc.set(func(s *hookService) { s.err = fmt.Errorf("store: lock zl:6: %w", context.DeadlineExceeded) })
	if got := f.deliver(t, f.z.Text("6", "a"), 0); got != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", got)
	}
	select {
	case got := <-told:
		t.Errorf("told %q for a turn that only waited", got)
	case <-time.After(300 * time.Millisecond):
	}
}
