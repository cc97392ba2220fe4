package telegram_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/hangxomso/hangxom/bot/telegram"
	"github.com/hangxomso/hangxom/bot/telegram/telegramtest"
	"github.com/hangxomso/hangxom/bot/telegram/tgredis"
	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/metrics"
	"github.com/hangxomso/hangxom/store"
)

func newSender(t *testing.T) (*telegram.Sender, *telegramtest.Server, *store.Redis) {
	t.Helper()
	s, fake, st, _ := newSenderOn(t, &redis.Options{})
	return s, fake, st
}

// newSenderM is newSender that also returns its miniredis, to inject
// errors, with a go-redis client that does not retry.
func newSenderM(t *testing.T) (*telegram.Sender, *telegramtest.Server, *store.Redis, *miniredis.Miniredis) {
	t.Helper()
	return newSenderOn(t, &redis.Options{MaxRetries: -1})
}

// newSenderOn is a sender against the fake Bot API, on a fresh miniredis
// reached with opts (its Addr set here).
func newSenderOn(t *testing.T, opts *redis.Options) (*telegram.Sender, *telegramtest.Server, *store.Redis, *miniredis.Miniredis) {
	t.Helper()
	fake := telegramtest.NewServer(t, "")
	client, err := telegram.NewClient(t.Context(), fake.URL, fake.Token, telegramtest.LoopbackClient(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	m := miniredis.RunT(t)
	opts.Addr = m.Addr()
	rc := redis.NewClient(opts)
	t.Cleanup(func() { _ = rc.Close() })
	st := store.New(rc, store.Options{Prefix: "snd:v1", DataKey: []byte("k")})
	return &telegram.Sender{Client: client, Store: tgredis.Store{Redis: st}, ChatRate: 100, ChatBurst: 100}, fake, st, m
}

func commit(t *testing.T, st *store.Redis, resident string, replies ...flows.Reply) {
	t.Helper()
	s, err := st.Session(t.Context(), resident)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Commit(t.Context(), flows.Commit{Resident: resident, Expect: s.Version, Session: s, Outbox: replies}); err != nil {
		t.Fatal(err)
	}
}

func TestSenderSplitsLongTextAndSendsImages(t *testing.T) {
	s, fake, st := newSender(t)
	para := strings.Repeat("Một câu hướng dẫn. ", 150) // ~2,850 characters
	long := para + "\n\n" + para + "\n\n" + "Cuối."
	commit(t, st, "tg:42",
		flows.Reply{ID: "u1#0", Text: long, Buttons: []flows.Choice{{Data: "1.1", Label: "✅ Xong rồi"}}},
		flows.Reply{ID: "u1#1", Text: "Ảnh minh họa", Image: "https://example.org/qr.png"},
	)
	if err := s.Drain(t.Context(), "tg:42"); err != nil {
		t.Fatal(err)
	}
	ms := fake.Messages(42)
	if len(ms) != 3 {
		t.Fatalf("%d messages, want 2 parts (cut at the paragraph break) and a photo", len(ms))
	}
	if !strings.HasSuffix(ms[0].Text, "Một câu hướng dẫn.") || !strings.HasSuffix(ms[1].Text, "Cuối.") {
		t.Error("not cut at the paragraph break")
	}
	for i, m := range ms[:2] {
		if n := len([]rune(m.Text)); n > 4096 || n == 0 {
			t.Errorf("part %d has %d characters", i, n)
		}
		if strings.HasPrefix(m.Text, " ") || strings.HasPrefix(m.Text, "\n") {
			t.Errorf("part %d not cut at a boundary", i)
		}
	}
	if len(ms[0].Buttons) != 0 || len(ms[1].Buttons) != 1 {
		t.Error("the buttons belong on the last part only")
	}
	if ms[2].Photo != "https://example.org/qr.png" || ms[2].Caption != "Ảnh minh họa" {
		t.Errorf("photo message = %+v", ms[2])
	}
	// Draining again sends nothing: every part is marked sent.
	if err := s.Drain(t.Context(), "tg:42"); err != nil {
		t.Fatal(err)
	}
	if len(fake.Messages(42)) != 3 {
		t.Error("a drained outbox was sent again")
	}
}

func TestSenderDropsWhatTelegramRejects(t *testing.T) {
	s, fake, st := newSender(t)
	fake.Fail("sendMessage", 1, telegramtest.Fault{Code: 400, Description: "Bad Request: can't parse entities"})
	commit(t, st, "tg:43", flows.Reply{ID: "a#0", Text: "một"}, flows.Reply{ID: "a#1", Text: "hai"})
	if err := s.Drain(t.Context(), "tg:43"); err != nil {
		t.Fatal(err)
	}
	ms := fake.Messages(43)
	if len(ms) != 1 || ms[0].Text != "hai" {
		t.Errorf("a rejected message must not block the next: %+v", ms)
	}
	if rs, _ := st.Outbox(t.Context(), "tg:43"); len(rs) != 0 {
		t.Errorf("outbox not empty: %v", rs)
	}
}

func TestSenderRetriesServerErrors(t *testing.T) {
	s, fake, st := newSender(t)
	fake.Fail("sendMessage", 2, telegramtest.Fault{HTTPStatus: 502, Body: "<html>bad gateway</html>"})
	commit(t, st, "tg:44", flows.Reply{ID: "b#0", Text: "xin chào"})
	if err := s.Drain(t.Context(), "tg:44"); err != nil {
		t.Fatal(err)
	}
	if ms := fake.Messages(44); len(ms) != 1 {
		t.Errorf("%d messages after two 502s, want 1", len(ms))
	}
}

func TestReceiverRecoversFromAPanic(t *testing.T) {
	fake := telegramtest.NewServer(t, "")
	client, err := telegram.NewClient(t.Context(), fake.URL, fake.Token, telegramtest.LoopbackClient(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.New()
	r := &telegram.Receiver{Service: panicky{}, Client: client, Metrics: telegram.NewMetrics(m)}
	raw := []byte(`{"update_id":5,"message":{"message_id":1,"date":1,"chat":{"id":7,"type":"private"},"text":"hi"}}`)
	if err := r.Receive(t.Context(), raw); err != nil {
		t.Fatalf("a panicking update must be acknowledged, got %v", err)
	}
	if page := scrape(t, m); !strings.Contains(page, "\nhangxom_telegram_panics_total 1\n") {
		t.Errorf("the panic was not counted:\n%s", page)
	}
}

type panicky struct{}

func (panicky) Handle(context.Context, string, flows.Input) (flows.Handled, error) {
	panic("boom")
}

// failing is a service whose store is down.
type failing struct{}

func (failing) Handle(context.Context, string, flows.Input) (flows.Handled, error) {
	return flows.Handled{}, errors.New("redis: connection refused")
}

// FuzzReceive feeds arbitrary JSON to the update handler: it must never
// panic out, and must acknowledge (nil) anything it cannot process.
func FuzzReceive(f *testing.F) {
	fake := telegramtest.NewServer(f, "")
	client, err := telegram.NewClient(context.Background(), fake.URL, fake.Token, telegramtest.LoopbackClient(10*time.Second))
	if err != nil {
		f.Fatal(err)
	}
	ok := &telegram.Receiver{Service: okService{}, Client: client, Store: reach{}, Loc: words{}, Username: "hangxom_bot"}
	for _, s := range []string{`{}`, `{"update_id":1,"callback_query":{"id":"1","message":null,"from":{"id":3}}}`, `[]`, `null`, `{"update_id":"x"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if err := ok.Receive(context.Background(), raw); err != nil {
			t.Fatalf("Receive(%q) = %v; only a failing store may ask for a redelivery", raw, err)
		}
	})
}

type okService struct{}

func (okService) Handle(context.Context, string, flows.Input) (flows.Handled, error) {
	return flows.Handled{}, nil
}

type reach struct{}

func (reach) SetReachable(context.Context, string, bool) error { return nil }

type words struct{}

func (words) Localize(lang, id string, _ map[string]any) (string, error) { return id, nil }

func TestReceiverAsksForRedeliveryWhenTheStoreFails(t *testing.T) {
	fake := telegramtest.NewServer(t, "")
	client, err := telegram.NewClient(t.Context(), fake.URL, fake.Token, telegramtest.LoopbackClient(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	r := &telegram.Receiver{Service: failing{}, Client: client, Loc: words{}}
	raw := []byte(`{"update_id":5,"message":{"message_id":1,"date":1,"chat":{"id":7,"type":"private"},"text":"hi"}}`)
	for i := 0; i < 3; i++ {
		if err := r.Receive(t.Context(), raw); err == nil {
			t.Fatal("a store failure was acknowledged")
		}
	}
	if ms := fake.Messages(7); len(ms) != 1 || ms[0].Text != "common.try_again" {
		t.Errorf("want one 'try again' message per outage, got %+v", ms)
	}
}

func TestClientDownloadsFromTheConfiguredAPI(t *testing.T) {
	fake := telegramtest.NewServer(t, "")
	client, err := telegram.NewClient(t.Context(), fake.URL, fake.Token, telegramtest.LoopbackClient(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("not really a png, but bytes")
	id := fake.AddFile(data, "qr.png")
	got, err := client.Download(t.Context(), id, 1<<20)
	if err != nil || string(got) != string(data) {
		t.Fatalf("download = %q, %v", got, err)
	}
	if _, err := client.Download(t.Context(), id, 5); err == nil {
		t.Error("a file over the limit was accepted")
	}
	if _, err := client.Download(t.Context(), "no-such-file", 0); err == nil {
		t.Error("an unknown file downloaded")
	} else if strings.Contains(err.Error(), fake.Token) {
		t.Errorf("the token leaked into an error: %v", err)
	}
}

func TestSenderSendsDocuments(t *testing.T) {
	s, fake, st := newSender(t)
	commit(t, st, "tg:45", flows.Reply{ID: "e#0", Text: "Báo cáo tháng 11", Document: &flows.Document{Name: "hangxom-xa-a.csv", Data: []byte("\ufeffa,b\n")}})
	if err := s.Drain(t.Context(), "tg:45"); err != nil {
		t.Fatal(err)
	}
	ms := fake.Messages(45)
	if len(ms) != 1 || ms[0].Document != "file:hangxom-xa-a.csv" || ms[0].Caption != "Báo cáo tháng 11" {
		t.Fatalf("messages: %+v", ms)
	}
	if b, ok := fake.File(ms[0].FileID); !ok || string(b) != "\ufeffa,b\n" {
		t.Errorf("uploaded bytes %q", b)
	}
}

func TestSenderAsksForAPhoneNumberWithAReplyKeyboard(t *testing.T) {
	s, fake, st := newSender(t)
	commit(t, st, "tg:46",
		flows.Reply{ID: "f#0", Text: "Hoa sẽ giúp bác.", Buttons: []flows.Choice{{Data: "n:abc", Label: "🏠 Nhắn nơi ở"}}},
		flows.Reply{ID: "f#1", Text: "Gửi số điện thoại?", Buttons: []flows.Choice{{Label: "📞 Gửi số điện thoại", Contact: true}}})
	if err := s.Drain(t.Context(), "tg:46"); err != nil {
		t.Fatal(err)
	}
	ms := fake.Messages(46)
	if len(ms) != 2 {
		t.Fatalf("messages: %+v", ms)
	}
	if len(ms[0].Buttons) != 1 || ms[0].Buttons[0][0].CallbackData != "n:abc" {
		t.Errorf("first message keeps its inline button: %+v", ms[0])
	}
	if !strings.Contains(ms[1].ReplyMarkup, `"request_contact":true`) || !strings.Contains(ms[1].ReplyMarkup, `"one_time_keyboard":true`) {
		t.Errorf("no contact request keyboard: %s", ms[1].ReplyMarkup)
	}
	if len(ms[0].Buttons) == 0 {
		t.Error("the contact request removed the inline buttons before it")
	}
}
