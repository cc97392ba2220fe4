package zalotest_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hangxomso/hangxom/bot/zalo/zalotest"
)

const resident = "8462512839516236510"

// clock is a settable clock for Server.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newServer starts a server on a fixed clock with resident interacting now.
func newServer(t *testing.T) (*zalotest.Server, *clock) {
	t.Helper()
	c := &clock{t: time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)}
	srv := zalotest.NewServer(t)
	srv.Now = c.Now
	srv.Interact(resident, c.Now())
	return srv, c
}

// result is Zalo's answer envelope.
type result struct {
	Error   int             `json:"error"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
}

// call does one OA API request and decodes the answer, which must be
// HTTP 200 JSON like every Zalo answer.
func call(t *testing.T, req *http.Request, access string) result {
	t.Helper()
	req.Header.Set("access_token", access)
	resp, err := zalotest.LoopbackClient(10 * time.Second).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: HTTP %s, want 200 always", req.URL.Path, resp.Status)
	}
	var r result
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatalf("%s: decode: %v", req.URL.Path, err)
	}
	return r
}

func sendRequest(t *testing.T, srv *zalotest.Server, body any) *http.Request {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(http.MethodPost, srv.URL+zalotest.PathSend, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	return req
}

// send posts a message to userID and returns the answer.
func send(t *testing.T, srv *zalotest.Server, access, userID string, message map[string]any) result {
	t.Helper()
	return call(t, sendRequest(t, srv, map[string]any{"recipient": map[string]string{"user_id": userID}, "message": message}), access)
}

func text(s string) map[string]any { return map[string]any{"text": s} }

// tokenCall posts the token endpoint's form and decodes the answer.
func tokenCall(t *testing.T, srv *zalotest.Server, form url.Values) map[string]any {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+zalotest.PathAccessToken, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("secret_key", srv.AppSecret)
	resp, err := zalotest.LoopbackClient(10 * time.Second).Do(req)
	if err != nil {
		t.Fatalf("token endpoint: %v", err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("token endpoint: decode: %v", err)
	}
	return out
}

func refresh(t *testing.T, srv *zalotest.Server, token string) map[string]any {
	t.Helper()
	return tokenCall(t, srv, url.Values{"refresh_token": {token}, "app_id": {srv.AppID}, "grant_type": {"refresh_token"}})
}

// errorCode reads "error" of a token endpoint answer (0 when absent).
func errorCode(m map[string]any) int {
	f, _ := m["error"].(float64)
	return int(f)
}

// webhook is a bot's webhook endpoint that records what it receives.
type webhook struct {
	mu     sync.Mutex
	header []http.Header
	body   [][]byte
}

func newWebhook(t *testing.T) (*webhook, string) {
	t.Helper()
	h := &webhook{}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.header = append(h.header, r.Header.Clone())
		h.body = append(h.body, b)
		h.mu.Unlock()
	}))
	t.Cleanup(ts.Close)
	return h, ts.URL + "/zalo/webhook"
}

func (h *webhook) last(t *testing.T) (http.Header, []byte) {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.body) == 0 {
		t.Fatal("the webhook received nothing")
	}
	return h.header[len(h.header)-1], h.body[len(h.body)-1]
}

func deliver(t *testing.T, srv *zalotest.Server, hookURL string, body []byte, numRetry int) {
	t.Helper()
	resp, err := srv.Deliver(t.Context(), hookURL, body, numRetry)
	if err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	resp.Body.Close()
}

func TestSignatureCoversTheExactBytesOfVietnameseAndEmoji(t *testing.T) {
	t.Parallel()
	srv, c := newServer(t)
	hook, hookURL := newWebhook(t)

	const words = "Chào anh chị 👋 phòng 12A có nước chưa ạ? 🚰💧 Đã đóng tiền điện tháng 12 rồi 🙏"
	body := srv.Text(resident, words)
	deliver(t, srv, hookURL, body, 0)
	header, got := hook.last(t)
	if !bytes.Equal(got, body) {
		t.Fatalf("the webhook got %q, want the exact bytes %q", got, body)
	}

	// The expected signature, computed apart from the package: SHA-256 of
	// app_id + body + timestamp + OA secret key.
	ts := strconv.FormatInt(c.Now().UnixMilli(), 10)
	sum := sha256.Sum256(append(append(append([]byte(srv.AppID), body...), ts...), srv.OASecretKey...))
	want := "mac=" + hex.EncodeToString(sum[:])
	if sig := header.Get("X-ZEvent-Signature"); sig != want {
		t.Errorf("X-ZEvent-Signature = %q, want %q", sig, want)
	}
	if sig := zalotest.Sign(srv.AppID, body, ts, srv.OASecretKey); "mac="+sig != want {
		t.Errorf("Sign = %q, want %q", sig, want[len("mac="):])
	}
	if h := header.Get("num_retry"); h != "" {
		t.Errorf("num_retry = %q on a first delivery, want none", h)
	}

	var ev struct {
		AppID     string `json:"app_id"`
		EventName string `json:"event_name"`
		Timestamp string `json:"timestamp"`
		Sender    struct{ ID string }
		Recipient struct{ ID string }
		Message   struct {
			MsgID string `json:"msg_id"`
			Text  string `json:"text"`
		}
	}
	if err := json.Unmarshal(got, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.AppID != srv.AppID || ev.EventName != "user_send_text" || ev.Timestamp != ts ||
		ev.Sender.ID != resident || ev.Recipient.ID != srv.OAID || ev.Message.Text != words || len(ev.Message.MsgID) != 32 {
		t.Errorf("event = %+v", ev)
	}

	// A retry carries num_retry and, over the same bytes, the same mac.
	deliver(t, srv, hookURL, body, 2)
	header, _ = hook.last(t)
	if h := header.Get("num_retry"); h != "2" {
		t.Errorf("num_retry = %q, want 2", h)
	}
	if sig := header.Get("X-ZEvent-Signature"); sig != want {
		t.Errorf("retry signature = %q, want %q", sig, want)
	}
}

func TestEventShapes(t *testing.T) {
	t.Parallel()
	srv, c := newServer(t)
	ts := strconv.FormatInt(c.Now().UnixMilli(), 10)

	var follow map[string]any
	if err := json.Unmarshal(srv.Event("follow", resident, nil), &follow); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{
		"oa_id": srv.OAID, "event_name": "follow", "source": "oa_profile", "app_id": srv.AppID, "timestamp": ts,
		"follower": map[string]any{"id": resident},
	} {
		if diff := cmp.Diff(want, follow[k]); diff != "" {
			t.Errorf("follow %s (-want +got):\n%s", k, diff)
		}
	}
	if id, _ := follow["user_id_by_app"].(string); id == "" || id == resident {
		t.Errorf("user_id_by_app = %v, want an id of its own", follow["user_id_by_app"])
	}
	if _, ok := follow["sender"]; ok {
		t.Error("a follow event has a sender; Zalo sends follower")
	}

	var a, b struct {
		Message struct {
			MsgID string `json:"msg_id"`
		}
	}
	_ = json.Unmarshal(srv.Text(resident, "1"), &a)
	_ = json.Unmarshal(srv.Text(resident, "1"), &b)
	if a.Message.MsgID == "" || a.Message.MsgID == b.Message.MsgID {
		t.Errorf("msg_ids %q and %q, want fresh ones", a.Message.MsgID, b.Message.MsgID)
	}
	var given struct {
		Message struct {
			MsgID string `json:"msg_id"`
		}
	}
	_ = json.Unmarshal(srv.Event("user_send_text", resident, map[string]any{"msg_id": "m1", "text": "x"}), &given)
	if given.Message.MsgID != "m1" {
		t.Errorf("msg_id = %q, want the given m1 (a redelivery)", given.Message.MsgID)
	}

	var echo struct{ Sender, Recipient struct{ ID string } }
	_ = json.Unmarshal(srv.Event("oa_send_text", resident, text("hi")), &echo)
	if echo.Sender.ID != srv.OAID || echo.Recipient.ID != resident {
		t.Errorf("oa_send_text sender %q recipient %q, want the OA to the user", echo.Sender.ID, echo.Recipient.ID)
	}
}

func TestDeliverOpensTheWindowAndDeliverWithDoesNot(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t)
	access, _ := srv.IssueTokens()
	_, hookURL := newWebhook(t)
	const stranger = "1111111111111111111"

	// A forged request records nothing: the stranger still never interacted.
	resp, err := srv.DeliverWith(t.Context(), hookURL, srv.Text(stranger, "xin chào"),
		http.Header{"X-ZEvent-Signature": {"mac=00"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if r := send(t, srv, access, stranger, text("chào")); r.Error != -201 {
		t.Errorf("send to a user never seen: %+v, want -201", r)
	}

	deliver(t, srv, hookURL, srv.Text(stranger, "xin chào"), 0)
	if r := send(t, srv, access, stranger, text("chào")); r.Error != 0 {
		t.Errorf("send after the user wrote: %+v, want success", r)
	}

	deliver(t, srv, hookURL, srv.Event("unfollow", stranger, nil), 0)
	if r := send(t, srv, access, stranger, text("chào")); r.Error != -213 {
		t.Errorf("send after unfollow: %+v, want -213", r)
	}
	deliver(t, srv, hookURL, srv.Event("follow", stranger, nil), 0)
	if r := send(t, srv, access, stranger, text("chào")); r.Error != 0 {
		t.Errorf("send after follow: %+v, want success", r)
	}
}

func TestCodeExchangeChecksThePKCEVerifierAndSpendsTheCode(t *testing.T) {
	t.Parallel()
	srv, c := newServer(t)
	const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	sum := sha256.Sum256([]byte(verifier))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])

	// The consent page redirects back with the code and the OA id.
	noFollow := zalotest.LoopbackClient(10 * time.Second)
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	consent := srv.URL + zalotest.PathPermission + "?" + url.Values{
		"app_id": {srv.AppID}, "redirect_uri": {"https://hangxom.example/zalo/callback"},
		"code_challenge": {challenge}, "state": {"s1"},
	}.Encode()
	resp, err := noFollow.Get(consent)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || back.Host != "hangxom.example" ||
		back.Query().Get("oa_id") != srv.OAID || back.Query().Get("state") != "s1" {
		t.Fatalf("consent: %s Location %q, want 302 to the callback with code, oa_id and state", resp.Status, resp.Header.Get("Location"))
	}
	code := back.Query().Get("code")

	bad := strings.Replace(consent, srv.AppID, "123", 1)
	if resp, err := noFollow.Get(bad); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); !strings.HasSuffix(resp.Header.Get("Location"), "/v4/permission/error?error_code=-14003") {
		t.Errorf("consent with a wrong app_id: Location %q, want the error page with -14003", resp.Header.Get("Location"))
	}

	exchange := func(code, verifier string) map[string]any {
		return tokenCall(t, srv, url.Values{"code": {code}, "app_id": {srv.AppID},
			"grant_type": {"authorization_code"}, "code_verifier": {verifier}})
	}
	if got := exchange(code, "wrong-verifier"); errorCode(got) == 0 || got["error_name"] == nil {
		t.Errorf("wrong verifier: %v, want an error with error_name", got)
	}
	got := exchange(code, verifier)
	if errorCode(got) != 0 || got["access_token"] == "" || got["refresh_token"] == "" {
		t.Fatalf("exchange: %v", got)
	}
	if got["expires_in"] != "90000" {
		t.Errorf("expires_in = %#v, want the string \"90000\"", got["expires_in"])
	}
	if r := send(t, srv, got["access_token"].(string), resident, text("xin chào")); r.Error != 0 {
		t.Errorf("send with the exchanged token: %+v", r)
	}
	if again := exchange(code, verifier); errorCode(again) == 0 {
		t.Errorf("second use of the code: %v, want refused", again)
	}

	// A code lives 10 minutes.
	late := srv.Authorize(challenge)
	c.Add(10*time.Minute + time.Second)
	if got := exchange(late, verifier); errorCode(got) == 0 {
		t.Errorf("code after 10 min: %v, want refused", got)
	}
}

func TestRefreshTokenIsSingleUse(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t)
	_, rt := srv.IssueTokens()

	first := refresh(t, srv, rt)
	if errorCode(first) != 0 || first["refresh_token"] == rt {
		t.Fatalf("refresh: %v, want a new pair", first)
	}
	spent := refresh(t, srv, rt)
	if errorCode(spent) != -14014 {
		t.Errorf("refresh with a spent token: %v, want -14014", spent)
	}
	if srv.Refreshes() != 1 || srv.RefusedRefreshes() != 1 {
		t.Errorf("Refreshes %d RefusedRefreshes %d, want 1 and 1", srv.Refreshes(), srv.RefusedRefreshes())
	}
	if next := refresh(t, srv, first["refresh_token"].(string)); errorCode(next) != 0 {
		t.Errorf("refresh with the new token: %v", next)
	}

	// Two replicas racing on one token: exactly one wins.
	_, shared := srv.IssueTokens()
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { refresh(t, srv, shared) })
	}
	wg.Wait()
	if srv.Refreshes() != 3 || srv.RefusedRefreshes() != 2 {
		t.Errorf("after a race: Refreshes %d RefusedRefreshes %d, want 3 and 2", srv.Refreshes(), srv.RefusedRefreshes())
	}
}

func TestExpiredAccessTokenThenRefresh(t *testing.T) {
	t.Parallel()
	srv, c := newServer(t)
	access, rt := srv.IssueTokens()

	if r := send(t, srv, "not-a-token", resident, text("a")); r.Error != -216 {
		t.Errorf("unknown token: %+v, want -216", r)
	}
	if r := send(t, srv, access, resident, text("a")); r.Error != 0 {
		t.Fatalf("fresh token: %+v", r)
	}
	srv.ExpireAccessTokens()
	if r := send(t, srv, access, resident, text("b")); r.Error != -220 {
		t.Errorf("expired token: %+v, want -220", r)
	}
	got := refresh(t, srv, rt)
	if errorCode(got) != 0 {
		t.Fatalf("refresh after expiry: %v", got)
	}
	access = got["access_token"].(string)
	if r := send(t, srv, access, resident, text("b")); r.Error != 0 {
		t.Errorf("refreshed token: %+v", r)
	}

	// Tokens also expire on their own after 25 h.
	c.Add(25 * time.Hour)
	srv.Interact(resident, c.Now())
	if r := send(t, srv, access, resident, text("c")); r.Error != -220 {
		t.Errorf("token after 25 h: %+v, want -220", r)
	}
	if n := len(srv.Messages(resident)); n != 2 {
		t.Errorf("%d messages recorded, want 2 (refused sends have no effect)", n)
	}
}

func TestSevenDayWindow(t *testing.T) {
	t.Parallel()
	srv, c := newServer(t)

	// Access tokens live 25 h: take a fresh one after each jump of the clock.
	c.Add(7*24*time.Hour - time.Minute)
	access, _ := srv.IssueTokens()
	if r := send(t, srv, access, resident, text("còn trong 7 ngày")); r.Error != 0 {
		t.Errorf("within 7 days: %+v", r)
	}
	c.Add(2 * time.Minute)
	if r := send(t, srv, access, resident, text("quá 7 ngày")); r.Error != -230 {
		t.Errorf("after 7 days: %+v, want -230", r)
	}
	srv.Interact(resident, c.Now())
	if r := send(t, srv, access, resident, text("đã nhắn lại")); r.Error != 0 {
		t.Errorf("after a new interaction: %+v", r)
	}
	srv.Unfollow(resident)
	if r := send(t, srv, access, resident, text("x")); r.Error != -213 {
		t.Errorf("after Unfollow: %+v, want -213", r)
	}
}

func buttons(n int) []map[string]any {
	var bs []map[string]any
	for i := range n {
		bs = append(bs, map[string]any{"title": fmt.Sprintf("Lựa chọn %d", i+1), "type": "oa.query.hide", "payload": fmt.Sprintf("#c%d", i+1)})
	}
	return bs
}

func withButtons(text string, bs []map[string]any) map[string]any {
	return map[string]any{"text": text, "attachment": map[string]any{
		"type": "template", "payload": map[string]any{"buttons": bs}}}
}

func TestMessageLimits(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t)
	access, _ := srv.IssueTokens()
	long := strings.Repeat("ạ", 2000) // 2000 characters, 6000 bytes

	for _, tc := range []struct {
		name    string
		message map[string]any
		want    int
	}{
		{"2000 characters", text(long), 0},
		{"2001 characters", text(long + "ạ"), -201},
		{"empty", text(""), -201},
		{"5 buttons", withButtons("Chọn", buttons(5)), 0},
		{"6 buttons", withButtons("Chọn", buttons(6)), -201},
		{"empty title", withButtons("Chọn", []map[string]any{{"title": "", "type": "oa.query.show", "payload": "#a"}}), -201},
		{"unknown type", withButtons("Chọn", []map[string]any{{"title": "A", "type": "oa.click", "payload": "#a"}}), -201},
		{"1000-character payload", withButtons("Chọn", []map[string]any{{"title": "A", "type": "oa.query.hide", "payload": strings.Repeat("p", 1000)}}), 0},
		{"1001-character payload", withButtons("Chọn", []map[string]any{{"title": "A", "type": "oa.query.hide", "payload": strings.Repeat("p", 1001)}}), -201},
		{"url without url", withButtons("Chọn", []map[string]any{{"title": "A", "type": "oa.open.url", "payload": "https://x"}}), -201},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if r := send(t, srv, access, resident, tc.message); r.Error != tc.want {
				t.Errorf("answer %+v, want error %d", r, tc.want)
			}
		})
	}
}

func TestButtonsAreRecordedInBothTemplateForms(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t)
	access, _ := srv.IssueTokens()
	bs := []map[string]any{
		{"title": "Bắt đầu", "type": "oa.query.hide", "payload": "#start"},
		{"title": "Xem", "type": "oa.open.url", "payload": map[string]string{"url": "https://hangxom.example/a"}},
		{"title": "Gọi", "type": "oa.open.phone", "payload": map[string]string{"phone_code": "0900000000"}},
	}
	r := send(t, srv, access, resident, withButtons("Bạn cần gì?", bs))
	var data struct{ MessageID, UserID string }
	if err := json.Unmarshal(r.Data, &struct {
		MessageID *string `json:"message_id"`
		UserID    *string `json:"user_id"`
	}{&data.MessageID, &data.UserID}); err != nil || r.Error != 0 || r.Message != "Success" || data.UserID != resident {
		t.Fatalf("answer %+v (%v), want success with message_id and user_id", r, err)
	}
	// [X] the variant with template_type "button" and the text in the payload.
	send(t, srv, access, resident, map[string]any{"attachment": map[string]any{"type": "template", "payload": map[string]any{
		"template_type": "button", "text": "Chọn một", "buttons": buttons(1)}}})

	got := srv.WaitMessages(t, resident, 2)
	want := []zalotest.Message{
		{UserID: resident, MessageID: data.MessageID, Text: "Bạn cần gì?", Buttons: []zalotest.Button{
			{Title: "Bắt đầu", Type: "oa.query.hide", Payload: "#start"},
			{Title: "Xem", Type: "oa.open.url", Payload: "https://hangxom.example/a"},
			{Title: "Gọi", Type: "oa.open.phone", Payload: "0900000000"},
		}},
		{UserID: resident, MessageID: got[1].MessageID, Text: "Chọn một", Buttons: []zalotest.Button{
			{Title: "Lựa chọn 1", Type: "oa.query.hide", Payload: "#c1"},
		}},
	}
	for i := range got {
		got[i].Sent = time.Time{}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Messages (-want +got):\n%s", diff)
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t)
	access, rt := srv.IssueTokens()

	t.Run("LoseAnswer takes effect and the client sees an error", func(t *testing.T) {
		srv.Fail(zalotest.PathSend, 1, zalotest.Fault{LoseAnswer: true})
		req := sendRequest(t, srv, map[string]any{"recipient": map[string]string{"user_id": resident}, "message": text("mất trả lời")})
		req.Header.Set("access_token", access)
		resp, err := zalotest.LoopbackClient(10 * time.Second).Do(req)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("got %s, want a connection error", resp.Status)
		}
		if got := srv.Messages(resident); len(got) != 1 || got[0].Text != "mất trả lời" {
			t.Errorf("Messages = %+v, want the message recorded", got)
		}
	})

	t.Run("LoseAnswer on a refresh spends the token", func(t *testing.T) {
		srv.Fail(zalotest.PathAccessToken, 1, zalotest.Fault{LoseAnswer: true})
		form := url.Values{"refresh_token": {rt}, "app_id": {srv.AppID}, "grant_type": {"refresh_token"}}
		req, _ := http.NewRequest(http.MethodPost, srv.URL+zalotest.PathAccessToken, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("secret_key", srv.AppSecret)
		if resp, err := zalotest.LoopbackClient(10 * time.Second).Do(req); err == nil {
			resp.Body.Close()
			t.Fatal("want a connection error")
		}
		if got := refresh(t, srv, rt); errorCode(got) != -14014 {
			t.Errorf("retrying the lost refresh: %v, want -14014", got)
		}
	})

	t.Run("Error answers 200 and has no effect", func(t *testing.T) {
		srv.Fail(zalotest.PathSend, 1, zalotest.Fault{Error: -32})
		if r := send(t, srv, access, resident, text("x")); r.Error != -32 || r.Message == "" {
			t.Errorf("answer %+v, want -32 with a message", r)
		}
		if n := len(srv.Messages(resident)); n != 1 {
			t.Errorf("%d messages, want 1", n)
		}
	})

	t.Run("a proxy's 502", func(t *testing.T) {
		srv.Fail(zalotest.PathSend, 1, zalotest.Fault{Body: "<html>502 Bad Gateway</html>"})
		req := sendRequest(t, srv, map[string]any{"recipient": map[string]string{"user_id": resident}, "message": text("x")})
		resp, err := zalotest.LoopbackClient(10 * time.Second).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusBadGateway || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Errorf("%s %s, want 502 text/html", resp.Status, resp.Header.Get("Content-Type"))
		}
	})

	t.Run("Delay holds the answer until the client gives up", func(t *testing.T) {
		srv.Fail(zalotest.PathSend, 1, zalotest.Fault{Delay: time.Minute})
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		req := sendRequest(t, srv, map[string]any{"recipient": map[string]string{"user_id": resident}, "message": text("chậm")})
		req.Header.Set("access_token", access)
		resp, err := zalotest.LoopbackClient(0).Do(req.WithContext(ctx))
		if !errors.Is(err, context.DeadlineExceeded) {
			if err == nil {
				resp.Body.Close()
			}
			t.Fatalf("err = %v, want the deadline", err)
		}
		srv.WaitMessages(t, resident, 2) // it still takes effect
	})

	if n := srv.Calls(zalotest.PathSend); n != 4 {
		t.Errorf("Calls(send) = %d, want 4", n)
	}
}

func TestRateCap(t *testing.T) {
	t.Parallel()
	srv, c := newServer(t)
	access, _ := srv.IssueTokens()
	srv.SetRatePerMinute(2)
	for i, want := range []int{0, 0, -32} {
		if r := send(t, srv, access, resident, text("x")); r.Error != want {
			t.Errorf("send %d: %+v, want %d", i, r, want)
		}
	}
	c.Add(61 * time.Second)
	if r := send(t, srv, access, resident, text("x")); r.Error != 0 {
		t.Errorf("a minute later: %+v", r)
	}
}

// upload posts data as the multipart field "file".
func upload(t *testing.T, srv *zalotest.Server, access, path, name string, data []byte) result {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	part, err := mw.CreateFormFile("file", name)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = part.Write(data)
	_ = mw.Close()
	req, err := http.NewRequest(http.MethodPost, srv.URL+path, &buf)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return call(t, req, access)
}

func pngBytes(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	img.Set(1, 1, color.RGBA{R: 200, A: 255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestUploads(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t)
	access, _ := srv.IssueTokens()

	pic := pngBytes(t)
	r := upload(t, srv, access, zalotest.PathUploadImage, "qr.png", pic)
	var img struct {
		AttachmentID string `json:"attachment_id"`
	}
	if err := json.Unmarshal(r.Data, &img); err != nil || r.Error != 0 || img.AttachmentID == "" {
		t.Fatalf("image upload: %+v", r)
	}
	if got, ok := srv.Image(img.AttachmentID); !ok || !bytes.Equal(got, pic) {
		t.Errorf("Image = %d bytes, %v; want the upload", len(got), ok)
	}
	media := map[string]any{"text": "Mã QR của bạn", "attachment": map[string]any{"type": "template", "payload": map[string]any{
		"template_type": "media", "elements": []map[string]string{{"media_type": "image", "attachment_id": img.AttachmentID}}}}}
	if r := send(t, srv, access, resident, media); r.Error != 0 {
		t.Errorf("send the image: %+v", r)
	}

	big := append(append([]byte{}, pic[:8]...), make([]byte, 1<<20)...)
	if r := upload(t, srv, access, zalotest.PathUploadImage, "big.png", big); r.Error != -210 {
		t.Errorf("image over 1 MB: %+v, want -210", r)
	}
	if r := upload(t, srv, access, zalotest.PathUploadImage, "fake.png", []byte("GIF89a not a png")); r.Error != -201 {
		t.Errorf("a GIF named .png: %+v, want -201", r)
	}

	pdf := []byte("%PDF-1.4\n1 0 obj << >> endobj\n%%EOF\n")
	r = upload(t, srv, access, zalotest.PathUploadFile, "noi-quy.pdf", pdf)
	var file struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(r.Data, &file); err != nil || r.Error != 0 || file.Token == "" {
		t.Fatalf("file upload: %+v", r)
	}
	if r := send(t, srv, access, resident, map[string]any{"attachment": map[string]any{"type": "file", "payload": map[string]string{"token": file.Token}}}); r.Error != 0 {
		t.Errorf("send the file: %+v", r)
	}
	if r := upload(t, srv, access, zalotest.PathUploadFile, "bao-cao.docx", []byte("PK\x03\x04 word/document.xml")); r.Error != 0 {
		t.Errorf("docx: %+v", r)
	}
	if r := upload(t, srv, access, zalotest.PathUploadFile, "ds.csv", []byte("phong,ten\n12A,Lan\n")); r.Error != -201 {
		t.Errorf("csv: %+v, want -201 (unverified, refused)", r)
	}
	if r := upload(t, srv, "", zalotest.PathUploadFile, "noi-quy.pdf", pdf); r.Error != -216 {
		t.Errorf("upload without a token: %+v, want -216", r)
	}

	got := srv.Messages(resident)
	if len(got) != 2 || got[0].Image != img.AttachmentID || got[0].Text != "Mã QR của bạn" ||
		got[1].File != file.Token || got[1].FileName != "noi-quy.pdf" {
		t.Errorf("Messages = %+v", got)
	}
	if name, data, ok := srv.UploadedFile(file.Token); !ok || name != "noi-quy.pdf" || !bytes.Equal(data, pdf) {
		t.Errorf("UploadedFile = %q, %d bytes, %v", name, len(data), ok)
	}
}

func TestUserDetail(t *testing.T) {
	t.Parallel()
	srv, _ := newServer(t)
	access, _ := srv.IssueTokens()
	srv.SetDisplayName(resident, "Nguyễn Thị Lan")
	req, _ := http.NewRequest(http.MethodGet, srv.URL+zalotest.PathUserDetail+"?data="+url.QueryEscape(`{"user_id":"`+resident+`"}`), nil)
	r := call(t, req, access)
	var d struct {
		DisplayName    string `json:"display_name"`
		UserIsFollower bool   `json:"user_is_follower"`
	}
	if err := json.Unmarshal(r.Data, &d); err != nil || r.Error != 0 || d.DisplayName != "Nguyễn Thị Lan" || !d.UserIsFollower {
		t.Errorf("user detail: %+v %+v", r, d)
	}
}
