package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	qrcode "github.com/skip2/go-qrcode"

	"github.com/hangxomso/hangxom/bot/telegram/telegramtest"
	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/store"
)

// tgTest runs `hangxom serve` against the fake Bot API and a Redis: the real
// one at TEST_REDIS_URL when set (CI), else an in-process miniredis.
type tgTest struct {
	t       *testing.T
	fake    *telegramtest.Server
	client  redis.UniversalClient
	prefix  string
	webhook string // the webhook URL, in webhook mode
	cancel  context.CancelFunc
	done    chan error
	addr    string
	metrics string // the address of /metrics (METRICS_LISTEN)
	chat    int64
	nextID  int
	log     *syncBuffer // serve's stderr
}

func newRedisForTest(t *testing.T) (redis.UniversalClient, string) {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := "tgtest-" + hex.EncodeToString(b[:]) + ":v1"
	if url := os.Getenv("TEST_REDIS_URL"); url != "" {
		opt, err := redis.ParseURL(url)
		if err != nil {
			t.Fatal(err)
		}
		c := redis.NewClient(opt)
		t.Cleanup(func() {
			deletePrefix(t, url, strings.TrimSuffix(prefix, ":v1"))
			_ = c.Close()
		})
		return c, prefix
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("TEST_REDIS_URL must be set when CI=true (see .ci/run)")
	}
	m := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { _ = c.Close() })
	return c, prefix
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// startServeAt starts serve in polling mode, or in webhook mode when webhook
// is true, with clock (nil: the system clock), and returns when its HTTP
// server listens.
func startServeAt(t *testing.T, webhook bool, fake *telegramtest.Server, client redis.UniversalClient, prefix string, clock flows.Clock, extra ...string) *tgTest {
	t.Helper()
	if fake == nil {
		fake = telegramtest.NewServer(t, "")
	}
	if client == nil {
		client, prefix = newRedisForTest(t)
	}
	tt := &tgTest{t: t, fake: fake, client: client, prefix: prefix, done: make(chan error, 1), chat: 555001}
	listen := freePort(t)
	kv := []string{"TELEGRAM_BOT_TOKEN", fake.Token, "TELEGRAM_API_URL", fake.URL, "HTTP_LISTEN", listen,
		"SEND_RATE_CHAT", "50,20", "DATA_KEY", "test-data-key-0123456789", "LOG_LEVEL", "debug",
		"METRICS_LISTEN", "127.0.0.1:0"}
	if webhook {
		tt.webhook = "http://" + listen + "/tg/hook"
		kv = append(kv, "WEBHOOK_URL", tt.webhook, "WEBHOOK_SECRET", "s3cret_token-1")
	}
	kv = append(kv, extra...)
	ctx, cancel := context.WithCancel(context.Background())
	tt.cancel = cancel
	ready, metricsReady := make(chan string, 1), make(chan string, 1)
	var out, errb syncBuffer
	tt.log = &errb
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("serve's log:\n%s", errb.String())
		}
	})
	go func() {
		tt.done <- runWith(ctx, []string{"serve"}, env(kv...), strings.NewReader(""), &out, &errb, appOptions{
			clock: clock, client: client, prefix: prefix, httpClient: telegramtest.LoopbackClient(30 * time.Second),
			pollTimeout: time.Second, leaseTTL: 3 * time.Second, listening: func(a string) { ready <- a },
			metricsListening: func(a string) { metricsReady <- a },
		})
	}()
	select {
	case tt.addr = <-ready:
	case err := <-tt.done:
		t.Fatalf("serve stopped at start: %v\n%s", err, errb.String())
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not start")
	}
	select {
	case tt.metrics = <-metricsReady: // told before the HTTP server's address
	default: // not served: METRICS_LISTEN was taken
	}
	t.Cleanup(func() { tt.stop() })
	if webhook {
		tt.waitFor(func() bool { return fake.Webhook().URL != "" }, "setWebhook")
	}
	return tt
}

// stop cancels serve as SIGTERM does and checks it exits within 10 s.
func (tt *tgTest) stop() {
	tt.t.Helper()
	if tt.cancel == nil {
		return
	}
	tt.cancel()
	tt.cancel = nil
	select {
	case err := <-tt.done:
		if err != nil {
			tt.t.Errorf("serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		tt.t.Error("serve did not stop within 10 s")
	}
}

func (tt *tgTest) waitFor(cond func() bool, what string) {
	tt.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tt.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// say sends text as the resident and waits for the bot's answer with want.
func (tt *tgTest) say(text, want string) telegramtest.Message {
	tt.t.Helper()
	n := len(tt.fake.Messages(tt.chat))
	if tt.webhook != "" {
		tt.deliver(tt.textUpdate(text), http.StatusOK)
	} else {
		tt.fake.PushText(tt.chat, text)
	}
	return tt.expect(n, want)
}

func (tt *tgTest) expect(n int, want string) telegramtest.Message {
	tt.t.Helper()
	var got telegramtest.Message
	tt.waitFor(func() bool {
		ms := tt.fake.Messages(tt.chat)
		for _, m := range ms[min(n, len(ms)):] {
			if strings.Contains(m.Text, want) {
				got = m
				return true
			}
		}
		return false
	}, fmt.Sprintf("a message with %q (have %d)", want, len(tt.fake.Messages(tt.chat))))
	tt.settle()
	return got
}

// settle waits until everything the bot has to send the resident is sent.
func (tt *tgTest) settle() {
	tt.t.Helper()
	st := tt.store()
	resident := fmt.Sprintf("tg:%d", tt.chat)
	tt.waitFor(func() bool {
		rs, err := st.Outbox(context.Background(), resident)
		return err == nil && len(rs) == 0
	}, "an empty outbox")
}

// tap presses the button starting with label on the latest message with
// buttons and waits for a message containing want.
func (tt *tgTest) tap(label, want string) telegramtest.Message {
	tt.t.Helper()
	ms := tt.fake.Messages(tt.chat)
	for i := len(ms) - 1; i >= 0; i-- {
		for _, row := range ms[i].Buttons {
			for _, b := range row {
				if strings.HasPrefix(b.Text, label) {
					if tt.webhook != "" {
						tt.deliver(tt.callbackUpdate(ms[i].MessageID, b.CallbackData), http.StatusOK)
					} else {
						tt.fake.PushCallback(tt.chat, ms[i].MessageID, b.CallbackData)
					}
					return tt.expect(len(ms), want)
				}
			}
		}
		if len(ms[i].Buttons) > 0 {
			break
		}
	}
	tt.t.Fatalf("no button %q on the latest keyboard", label)
	return telegramtest.Message{}
}

func (tt *tgTest) textUpdate(text string) []byte {
	tt.nextID++
	u := map[string]any{"update_id": 100000 + tt.nextID, "message": map[string]any{
		"message_id": 9000 + tt.nextID, "date": time.Now().Unix(), "text": text,
		"chat": map[string]any{"id": tt.chat, "type": "private", "first_name": "Lan"},
		"from": map[string]any{"id": tt.chat, "is_bot": false, "first_name": "Lan"},
	}}
	if strings.HasPrefix(text, "/") {
		cmd, _, _ := strings.Cut(text, " ")
		u["message"].(map[string]any)["entities"] = []any{map[string]any{"type": "bot_command", "offset": 0, "length": len(cmd)}}
	}
	b, _ := json.Marshal(u)
	return b
}

func (tt *tgTest) callbackUpdate(messageID int, data string) []byte {
	tt.nextID++
	b, _ := json.Marshal(map[string]any{"update_id": 100000 + tt.nextID, "callback_query": map[string]any{
		"id": fmt.Sprint(7000 + tt.nextID), "data": data, "chat_instance": "1",
		"from":    map[string]any{"id": tt.chat, "is_bot": false, "first_name": "Lan"},
		"message": map[string]any{"message_id": messageID, "date": time.Now().Unix(), "chat": map[string]any{"id": tt.chat, "type": "private"}},
	}})
	return b
}

func (tt *tgTest) deliver(raw []byte, want int) {
	tt.t.Helper()
	resp, err := tt.fake.Deliver(context.Background(), raw)
	if err != nil {
		tt.t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		tt.t.Fatalf("webhook answered %d, want %d", resp.StatusCode, want)
	}
}

func (tt *tgTest) store() *store.Redis {
	return store.New(tt.client, store.Options{Prefix: tt.prefix, DataKey: []byte("test-data-key-0123456789")})
}

// walkEwallet completes the ewallet flow on a basic phone, by buttons.
func (tt *tgTest) walkEwallet() {
	tt.t.Helper()
	tt.say("/start h_vo-nhai-tdp-1-dinh-ca", "Bác muốn được hướng dẫn việc gì?")
	tt.tap("💳", "Điện thoại của bác có màn hình cảm ứng")
	tt.tap("☎️", "nhà mạng nào")
	tt.tap("📶 Viettel", "ra cửa hàng Viettel gần nhà")
	tt.tap("✅", "bấm *998#")
	tt.tap("✅", "Bác nhớ kỹ")
	tt.tap("✅", "đọc kỹ cả tin")
	tt.tap("✅", "Bác đã mở được tài khoản")
	tt.tap("✅", "Bác muốn học thêm việc gì nữa không?")
}

func TestServeResidentCompletesAFlow(t *testing.T) {
	for _, webhook := range []bool{false, true} {
		name := map[bool]string{false: "polling", true: "webhook"}[webhook]
		t.Run(name, func(t *testing.T) {
			tt := startServe(t, webhook, nil, nil, "")
			tt.walkEwallet()
			// Every callback was answered.
			answers := tt.fake.Calls("answerCallbackQuery")
			if n := len(answers); n != 8 {
				t.Errorf("%d callbacks answered, want 8", n)
			}
			// Through a webhook each answer rides in the webhook's
			// response, one call fewer per tap; polling has no response.
			for _, c := range answers {
				if c.InResponse != webhook {
					t.Errorf("callback %s answered in the webhook's response: %v, want %v", c.Params["callback_query_id"], c.InResponse, webhook)
				}
			}
			// Old keyboards stay on screen: no turn took one off (one
			// request a turn saved; docs/design/delivery-core.md §5, B).
			var withButtons []telegramtest.Message
			for _, m := range tt.fake.Messages(tt.chat) {
				if len(m.Buttons) > 0 {
					withButtons = append(withButtons, m)
				}
			}
			if len(withButtons) != 9 {
				t.Errorf("%d messages have buttons, want every screen's (9)", len(withButtons))
			}
			if n := len(tt.fake.Calls("editMessageReplyMarkup")); n != 0 {
				t.Errorf("%d editMessageReplyMarkup calls during the walk, want 0", n)
			}
			// A tap on an old screen's button changes nothing: it is
			// answered "that button is on an old message" with the current
			// screen, and that message's buttons go, by one request.
			old := withButtons[0]
			n := len(tt.fake.Messages(tt.chat)) // before the tap: its answer may come at once
			if webhook {
				tt.deliver(tt.callbackUpdate(old.MessageID, old.Buttons[0][0].CallbackData), http.StatusOK)
			} else {
				tt.fake.PushCallback(tt.chat, old.MessageID, old.Buttons[0][0].CallbackData)
			}
			tt.expect(n, "Nút đó ở tin nhắn cũ")
			tt.expect(n, "Bác muốn được hướng dẫn việc gì?") // the current screen: the menu
			edits := tt.fake.WaitCalls(t, "editMessageReplyMarkup", 1)
			if len(edits) != 1 || edits[0].Params["message_id"] != fmt.Sprint(old.MessageID) {
				t.Errorf("takeoffs after the stale tap: %+v, want one, of message %d", edits, old.MessageID)
			}
			tt.waitFor(func() bool {
				for _, m := range tt.fake.Messages(tt.chat) {
					if m.MessageID == old.MessageID {
						return len(m.Buttons) == 0
					}
				}
				return false
			}, "the tapped old message without buttons")
			if n := len(tt.fake.Calls("answerCallbackQuery")); n != 9 {
				t.Errorf("%d callbacks answered, want 9 (the stale tap too)", n)
			}
			counts, err := tt.store().Counts(t.Context(), []store.HamletFlow{{Hamlet: tdp1, Flow: "ewallet"}}, []string{time.Now().In(mustLoc()).Format("2006-01")}, time.Now().Add(-time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if c := counts[store.HamletFlow{Hamlet: tdp1, Flow: "ewallet"}]; c.CompletedSelf != 1 || c.Started != 1 {
				t.Errorf("counts = %+v, want one resident started and completed", c)
			}
			if len(tt.fake.Commands("vi")) != len(commands) || len(tt.fake.Commands("en")) != len(commands) {
				t.Errorf("command menus: vi %d, en %d", len(tt.fake.Commands("vi")), len(tt.fake.Commands("en")))
			}
			if u := tt.fake.UnknownMethods(); len(u) > 0 {
				t.Errorf("unknown methods called: %v", u)
			}
		})
	}
}

func mustLoc() *time.Location {
	l, err := time.LoadLocation("Asia/Ho_Chi_Minh")
	if err != nil {
		panic(err)
	}
	return l
}

func TestServeWebhookSecretAndDuplicates(t *testing.T) {
	tt := startServe(t, true, nil, nil, "")
	// A caller without the secret gets 401 and changes nothing.
	req, _ := http.NewRequest(http.MethodPost, tt.webhook, bytes.NewReader(tt.textUpdate("/start")))
	req.Header.Set("X-Telegram-Bot-Api-Secret-Token", "wrong")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong secret: %d, want 401", resp.StatusCode)
	}
	if n := len(tt.fake.Messages(tt.chat)); n != 0 {
		t.Fatalf("a forged update was answered (%d messages)", n)
	}
	// The same update delivered twice changes nothing and sends nothing.
	raw := tt.textUpdate("/start")
	tt.deliver(raw, http.StatusOK)
	tt.expect(0, "Bác ở xã nào?")
	n := len(tt.fake.Messages(tt.chat))
	tt.deliver(raw, http.StatusOK)
	tt.say("giúp", "Cách dùng") // a later update is answered: the duplicate was not
	if got := len(tt.fake.Messages(tt.chat)) - n; got != 2 {
		t.Errorf("%d messages after the duplicate and a help request, want 2 (help + screen)", got)
	}
}

func TestServeSurvivesA429StormAndLostAnswers(t *testing.T) {
	fake := telegramtest.NewServer(t, "")
	fake.Fail("sendMessage", 3, telegramtest.Fault{Code: 429, RetryAfter: 1})
	tt := startServe(t, false, fake, nil, "")
	tt.say("/start h_vo-nhai-tdp-1-dinh-ca", "Bác muốn được hướng dẫn việc gì?")
	// Every reply arrived despite the 429s, each once.
	texts := map[string]int{}
	for _, m := range fake.Messages(tt.chat) {
		texts[m.Text]++
	}
	for text, n := range texts {
		if n != 1 {
			t.Errorf("%q sent %d times", text, n)
		}
	}
	if len(texts) != 3 {
		t.Errorf("%d distinct messages, want 3 (welcome, hamlet, menu)", len(texts))
	}
	// A call that takes effect but whose answer is lost is not repeated.
	fake.Fail("sendMessage", 1, telegramtest.Fault{LoseAnswer: true})
	before := len(fake.Messages(tt.chat))
	tt.tap("💳", "Điện thoại của bác có màn hình cảm ứng")
	tt.say("giúp", "Cách dùng")
	count := 0
	for _, m := range fake.Messages(tt.chat)[before:] {
		if strings.Contains(m.Text, "Điện thoại của bác có màn hình cảm ứng") {
			count++
		}
	}
	if count != 2 { // once after the tap (answer lost), once redrawn after help
		t.Errorf("the step was shown %d times, want 2 (no duplicate of the lost answer)", count)
	}
}

func TestServeSendsAfterACrash(t *testing.T) {
	// A first process stored the conversation but crashed before sending:
	// run the service alone (no sender), then start serve.
	client, prefix := newRedisForTest(t)
	fake := telegramtest.NewServer(t, "")
	a, err := openApp(t.Context(), mustConfig(t), appOptions{client: client, prefix: prefix}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	in := flows.Input{Kind: flows.InputCommand, Command: "start", Text: "h_vo-nhai-tdp-1-dinh-ca", UpdateID: "tg:99999999"}
	if _, err := a.service.Handle(t.Context(), "tg:555001", in); err != nil {
		t.Fatal(err)
	}
	a.Close()
	tt := startServe(t, false, fake, client, prefix)
	tt.expect(0, "Bác muốn được hướng dẫn việc gì?")
	tt.stop()
	if n := len(fake.Messages(555001)); n != 3 {
		t.Errorf("%d messages after restart, want exactly 3", n)
	}
	// A second restart sends nothing again.
	tt2 := startServe(t, false, fake, client, prefix)
	tt2.say("giúp", "Cách dùng")
	if n := len(fake.Messages(555001)); n != 5 {
		t.Errorf("%d messages, want 5: the stored replies were sent once", n)
	}
}

func TestServeFixtures(t *testing.T) {
	tt := startServe(t, true, nil, nil, "")
	fixtures := telegramtest.Fixtures(t)
	files, _ := fs.Glob(fixtures, "*.json")
	for _, f := range files {
		raw, err := fs.ReadFile(fixtures, f)
		if err != nil {
			t.Fatal(err)
		}
		tt.deliver(raw, http.StatusOK) // every fixture is acknowledged: none can block a chat
	}
	st := tt.store()
	// 19 blocks, 20 unblocks the same resident (fixtures by update order).
	if ok, err := st.Reachable(t.Context(), "tg:"+fixtureChat(t, fixtures, "20-my-chat-member-private-unblocked.json")); err != nil || !ok {
		t.Errorf("unblocked resident not reachable: %v %v", ok, err)
	}
	// 24 "blocks" from chat 0, which no private chat has: refused, nothing
	// is stored for it.
	if keys, err := tt.client.Keys(t.Context(), tt.prefix+":{r:tg:"+fixtureChat(t, fixtures, "24-my-chat-member-private-kicked-minimal.json")+"}:*").Result(); err != nil || len(keys) != 0 {
		t.Errorf("keys stored for chat 0: %q %v", keys, err)
	}
	if keys, _ := tt.client.Keys(t.Context(), tt.prefix+":{r:tg:10081232}:*").Result(); len(keys) == 0 {
		t.Error("no keys for fixture 03's resident: the key pattern above matches nothing")
	}
	// 09: a callback without a message is answered.
	answered := false
	for _, c := range tt.fake.Calls("answerCallbackQuery") {
		if c.Params["callback_query_id"] == "666728699048485871" {
			answered = true
		}
	}
	if !answered {
		t.Error("the callback without a message was not answered")
	}
	// 03: an unknown /start payload acts as a plain /start.
	tt.chat = 10081232
	tt.expect(0, "Bác ở xã nào?")
}

func fixtureChat(t *testing.T, fsys fs.FS, name string) string {
	raw, err := fs.ReadFile(fsys, name)
	if err != nil {
		t.Fatal(err)
	}
	var u struct {
		M struct {
			Chat struct{ ID int64 } `json:"chat"`
		} `json:"my_chat_member"`
	}
	_ = json.Unmarshal(raw, &u)
	return fmt.Sprint(u.M.Chat.ID)
}

func TestServeDeletesASecret(t *testing.T) {
	tt := startServe(t, false, nil, nil, "")
	tt.say("/start h_vo-nhai-tdp-1-dinh-ca", "Bác muốn được hướng dẫn việc gì?")
	tt.fake.PushText(tt.chat, "mã OTP của tôi là 482910")
	tt.expect(0, "⚠️")
	calls := tt.fake.WaitCalls(t, "deleteMessage", 1)
	if calls[0].Params["chat_id"] != fmt.Sprint(tt.chat) {
		t.Errorf("deleted in chat %s", calls[0].Params["chat_id"])
	}
}

func TestServeRefusesTheEmbeddedStore(t *testing.T) {
	var out, errb bytes.Buffer
	err := run(t.Context(), []string{"serve"}, env("TELEGRAM_BOT_TOKEN", "1:x", "DATA_KEY", "0123456789abcdef0"), nil, &out, &errb)
	if code := exitCode(err, &errb); code != 2 || !strings.Contains(errb.String(), "STORE=memory") {
		t.Errorf("exit %d: %s", code, errb.String())
	}
	errb.Reset()
	err = run(t.Context(), []string{"serve"}, env("TELEGRAM_BOT_TOKEN", "1:x", "REDIS_URL", "redis://127.0.0.1:1"), nil, &out, &errb)
	if code := exitCode(err, &errb); code != 2 || !strings.Contains(errb.String(), "DATA_KEY") {
		t.Errorf("no data key: exit %d: %s", code, errb.String())
	}
	errb.Reset()
	err = run(t.Context(), []string{"serve"}, env("REDIS_URL", "redis://127.0.0.1:1"), nil, &out, &errb)
	if code := exitCode(err, &errb); code != 2 || !strings.Contains(errb.String(), "TELEGRAM_BOT_TOKEN") {
		t.Errorf("no token: exit %d: %s", code, errb.String())
	}
	errb.Reset()
	err = run(t.Context(), []string{"serve"}, env("TELEGRAM_BOT_TOKEN", "1:x", "REDIS_URL", "redis://127.0.0.1:1", "DATA_KEY", "0123456789abcdef0", "WEBHOOK_URL", "https://x.example/hook"), nil, &out, &errb)
	if code := exitCode(err, &errb); code != 2 || !strings.Contains(errb.String(), "WEBHOOK_SECRET") {
		t.Errorf("no secret: exit %d: %s", code, errb.String())
	}
}

// mustConfig is the configuration with every default.
func mustConfig(t *testing.T) config {
	t.Helper()
	raw := map[string]string{}
	for _, s := range settings {
		raw[s.env] = s.def
	}
	cfg, err := parseConfig(raw)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// syncBuffer is a bytes.Buffer safe for a goroutine writing while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestServeOneReplicaPolls(t *testing.T) {
	client, prefix := newRedisForTest(t)
	fake := telegramtest.NewServer(t, "")
	first := startServe(t, false, fake, client, prefix)
	first.say("/start h_vo-nhai-tdp-1-dinh-ca", "Bác muốn được hướng dẫn việc gì?")
	second := startServe(t, false, fake, client, prefix)
	second.waitFor(func() bool { return strings.Contains(second.log.String(), "another replica is polling") }, "the second replica to wait")
	// The first keeps answering; when it stops, the second takes over.
	first.stop()
	second.say("giúp", "Cách dùng")
	if strings.Contains(first.log.String()+second.log.String(), fake.Token) {
		t.Error("the bot token appears in a log")
	}
}

func TestServeMarksABlockedResidentUnreachable(t *testing.T) {
	tt := startServe(t, false, nil, nil, "")
	tt.say("/start h_vo-nhai-tdp-1-dinh-ca", "Bác muốn được hướng dẫn việc gì?")
	tt.fake.Block(tt.chat)
	n := len(tt.fake.Calls("sendMessage"))
	tt.fake.PushText(tt.chat, "giúp")
	resident := fmt.Sprintf("tg:%d", tt.chat)
	st := tt.store()
	tt.waitFor(func() bool {
		ok, err := st.Reachable(context.Background(), resident)
		return err == nil && !ok
	}, "the resident marked unreachable")
	tt.settle() // the replies were dropped, not kept for ever
	if got := len(tt.fake.Calls("sendMessage")) - n; got != 1 {
		t.Errorf("%d sendMessage calls after the block, want 1 (a 403 is not retried)", got)
	}
}

func TestServeWebhookWhileRedisIsDown(t *testing.T) {
	m := miniredis.RunT(t)
	client := redis.NewClient(&redis.Options{Addr: m.Addr(), MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	t.Cleanup(func() { _ = client.Close() })
	tt := startServe(t, true, nil, client, "down:v1")
	tt.say("/start h_vo-nhai-tdp-1-dinh-ca", "Bác muốn được hướng dẫn việc gì?")
	m.Close() // Redis goes away
	n := len(tt.fake.Messages(tt.chat))
	tt.deliver(tt.textUpdate("giúp"), http.StatusServiceUnavailable)
	tt.deliver(tt.textUpdate("giúp"), http.StatusServiceUnavailable)
	msgs := tt.fake.Messages(tt.chat)[n:]
	if len(msgs) != 1 || !strings.Contains(msgs[0].Text, "hệ thống đang bận") {
		t.Fatalf("during an outage want exactly one 'try again' message, got %d: %+v", len(msgs), msgs)
	}
	resp, err := http.Get("http://" + tt.addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/healthz = %d while Redis is down", resp.StatusCode)
	}
	if err := m.Restart(); err != nil {
		t.Fatal(err)
	}
	tt.say("giúp", "Cách dùng")
	body := tt.get("http://"+tt.metrics+"/metrics", http.StatusOK)
	if !strings.Contains(body, `hangxom_telegram_updates_total{action="process",kind="message"}`) {
		t.Errorf("/metrics lacks the update counter:\n%s", body)
	}
}

// get fetches url and checks the status; it returns the body.
func (tt *tgTest) get(url string, status int) string {
	tt.t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		tt.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		tt.t.Fatalf("GET %s = %d, want %d", url, resp.StatusCode, status)
	}
	return string(body)
}

// /metrics is not on the public listener (the webhook's) but on
// METRICS_LISTEN, with the update, send and Redis histograms by channel
// beside Go's runtime and process metrics.
func TestServeMetricsOnTheirOwnListener(t *testing.T) {
	tt := startServe(t, true, nil, nil, "")
	tt.say("/start h_vo-nhai-tdp-1-dinh-ca", "Bác muốn được hướng dẫn việc gì?")
	tt.get("http://"+tt.addr+"/metrics", http.StatusNotFound)
	tt.get("http://"+tt.addr+"/healthz", http.StatusOK)
	if tt.metrics == "" {
		t.Fatal("metrics not served")
	}
	body := tt.get("http://"+tt.metrics+"/metrics", http.StatusOK)
	for _, want := range []string{
		`hangxom_update_seconds_count{channel="telegram"} `,
		`hangxom_send_seconds_count{channel="telegram",outcome="sent"} `,
		`hangxom_sends_total{channel="telegram",result="sent"} `,
		"go_goroutines ", "process_cpu_seconds_total ",
	} {
		if !strings.Contains(body, "\n"+want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(body, `hangxom_update_seconds_count{channel="telegram"} 0`) {
		t.Error("the update was not timed")
	}
}

// A replica whose METRICS_LISTEN port is taken (another replica on the
// host) logs an error and serves residents all the same.
func TestServeRunsWhenTheMetricsPortIsTaken(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = taken.Close() })
	tt := startServe(t, true, nil, nil, "", "METRICS_LISTEN", taken.Addr().String())
	tt.say("/start h_vo-nhai-tdp-1-dinh-ca", "Bác muốn được hướng dẫn việc gì?")
	if tt.metrics != "" {
		t.Errorf("metrics served at %s, a port already taken", tt.metrics)
	}
	if log := tt.log.String(); !strings.Contains(log, "level=ERROR") || !strings.Contains(log, "METRICS_LISTEN") {
		t.Errorf("no error logged about METRICS_LISTEN:\n%s", log)
	}
}

// startServe starts serve on the system clock (see startServeAt).
func startServe(t *testing.T, webhook bool, fake *telegramtest.Server, client redis.UniversalClient, prefix string, extra ...string) *tgTest {
	t.Helper()
	return startServeAt(t, webhook, fake, client, prefix, nil, extra...)
}

// TestServeChecksAQRPhoto sends the photo of a school-fee code on Telegram:
// the bot downloads it from TELEGRAM_API_URL, decodes it in memory and says
// which bank and account it pays.
func TestServeChecksAQRPhoto(t *testing.T) {
	tt := startServe(t, false, nil, nil, "")
	png, err := qrcode.Encode("00020101021138530010A0000007270123000697041601092576788590208QRIBFTTA53037045802VN6304AE9F", qrcode.Medium, 512)
	if err != nil {
		t.Fatal(err)
	}
	file := tt.fake.AddFile(png, "qr.png")
	tt.say("/start h_vo-nhai-tdp-1-dinh-ca", "Bác muốn được hướng dẫn việc gì?")
	tt.say("/checkqr", "Bác chụp ảnh mã QR")
	n := len(tt.fake.Messages(tt.chat))
	tt.fake.PushPhoto(tt.chat, file)
	got := tt.expect(n, "Ngân hàng: ACB")
	if !strings.Contains(got.Text, "257678859") || !strings.Contains(got.Text, "✅") {
		t.Errorf("answer: %s", got.Text)
	}
	if len(tt.fake.Calls("getFile")) != 1 {
		t.Error("the photo was not fetched through getFile")
	}
}

func TestSetServeGC(t *testing.T) {
	old := debug.SetGCPercent(100)
	defer debug.SetGCPercent(old)
	setServeGC(func(string) string { return "" })
	if got := debug.SetGCPercent(100); got != serveGCPercent {
		t.Errorf("GOGC unset: collector target %d, want %d", got, serveGCPercent)
	}
	setServeGC(func(k string) string {
		if k == "GOGC" {
			return "100"
		}
		return ""
	})
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("GOGC=100 in the environment: collector target %d, want it left at 100", got)
	}
}

// Every phase of a connection to serve's HTTP server is bounded (a review
// held connections open for ever with a body never sent, or an idle
// keep-alive), and a webhook handler's 25 s fit in the write timeout.
func TestHTTPServerBoundsEveryPhase(t *testing.T) {
	s := newHTTPServer(http.NotFoundHandler())
	for name, d := range map[string]time.Duration{"ReadHeaderTimeout": s.ReadHeaderTimeout, "ReadTimeout": s.ReadTimeout,
		"WriteTimeout": s.WriteTimeout, "IdleTimeout": s.IdleTimeout} {
		if d <= 0 || d > 2*time.Minute {
			t.Errorf("%s = %v: want a bound of at most two minutes", name, d)
		}
	}
	if s.WriteTimeout <= 25*time.Second {
		t.Errorf("WriteTimeout %v cuts a webhook handler's 25 s", s.WriteTimeout)
	}
}

// On Telegram, a coordinator whose first message is /pending gets the
// greeting and the answer, not the commune picker in its place.
func TestServeAnswersACoordinatorsFirstPending(t *testing.T) {
	tt := startServe(t, true, nil, nil, "", "COORDINATOR_IDS", "tg:555001")
	tt.say("/pending", "không có ai đang làm dở")
	ms := tt.fake.Messages(tt.chat)
	if len(ms) != 2 || !strings.Contains(ms[0].Text, "Chào bác") {
		t.Fatalf("want the greeting and the answer, got %+v", ms)
	}
	for _, m := range ms {
		if strings.Contains(m.Text, "Bác ở xã nào?") {
			t.Errorf("the commune picker came with the answer: %+v", ms)
		}
	}
}
