package delivery_test

// The core driven through Telegram's transport against the fake Bot API,
// on a real store (miniredis): what the drain does with what Telegram
// answers. The conformance suite (deliverytest, run from cmd/hangxom) asks
// the same of every channel; these are the cases particular to Telegram.

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/hangxomso/hangxom/bot/telegram"
	"github.com/hangxomso/hangxom/bot/telegram/telegramtest"
	"github.com/hangxomso/hangxom/delivery"
	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/metrics"
	"github.com/hangxomso/hangxom/store"
)

func newSender(t *testing.T) (*delivery.Core, *telegramtest.Server, *store.Redis) {
	t.Helper()
	s, fake, st, _ := newSenderOn(t, &redis.Options{})
	return s, fake, st
}

// newSenderM is newSender that also returns its miniredis, to inject
// errors, with a go-redis client that does not retry.
func newSenderM(t *testing.T) (*delivery.Core, *telegramtest.Server, *store.Redis, *miniredis.Miniredis) {
	t.Helper()
	return newSenderOn(t, &redis.Options{MaxRetries: -1})
}

// newSenderOn is a core with Telegram's transport against the fake Bot API, on a fresh miniredis
// reached with opts (its Addr set here).
func newSenderOn(t *testing.T, opts *redis.Options) (*delivery.Core, *telegramtest.Server, *store.Redis, *miniredis.Miniredis) {
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
	return &delivery.Core{Store: st, Transports: []delivery.Transport{&telegram.Transport{Client: client}},
		Chat: delivery.Pace{Rate: 100, Burst: 100}}, fake, st, m
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

func TestTelegramSplitsLongTextAndSendsImages(t *testing.T) {
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

func TestTelegramDropsWhatTelegramRejects(t *testing.T) {
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

func TestTelegramRetriesServerErrors(t *testing.T) {
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

func TestTelegramSendsDocuments(t *testing.T) {
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

func TestTelegramAsksForAPhoneNumberWithAReplyKeyboard(t *testing.T) {
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

// A drain whose send is in flight when Run's ctx ends, kicked or from a
// worker: its last Finish is written by the held finishes' final flush
// (Run waits for the kicked drains before it ends DeferFinishes), so the
// reply leaves the outbox. Before, a kicked drain's Finish came after the
// final flush, was written with the cancelled ctx and failed: the shown
// reply stayed in the outbox, marked "attempt" (a review found it).
func TestShutdownWritesTheLastFinishOfADrain(t *testing.T) {
	for _, kick := range []bool{true, false} {
		leftLock, leftOutbox := 0, 0
		const n = 5
		for i := 0; i < n; i++ {
			s, fake, st, _ := newSenderM(t)
			fake.Fail("sendMessage", 1, telegramtest.Fault{Delay: 2 * time.Second})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- s.Run(ctx) }()
			time.Sleep(100 * time.Millisecond) // Run has set runCtx
			commit(t, st, "tg:42", flows.Reply{ID: "u1#0", Text: "xin chào"})
			if kick {
				s.Kick("tg:42")
			} else {
				s.Notify("tg:42")
			}
			fake.WaitCalls(t, "sendMessage", 1)
			time.Sleep(20 * time.Millisecond)
			cancel()
			<-done
			bg := context.Background()
			if n, _ := st.Client().Exists(bg, st.Keys().SendLock("tg:42")).Result(); n == 1 {
				leftLock++
			}
			if rs, _ := st.Outbox(bg, "tg:42"); len(rs) > 0 {
				leftOutbox++
				mk, _ := st.Client().HGetAll(bg, st.Keys().Sent("tg:42")).Result()
				if i == 0 {
					t.Logf("kick=%v: marker %v, messages shown %d", kick, mk, len(fake.Messages(42)))
				}
			}
		}
		t.Logf("kick=%v: of %d shutdowns with a kicked send in flight: send lock left %d, reply left in outbox %d", kick, n, leftLock, leftOutbox)
		if leftOutbox > 0 {
			t.Errorf("kick=%v: the drain's last Finish was not written at shutdown in %d/%d runs", kick, leftOutbox, n)
		}
	}
}

// A claim that Redis refused with an error (LOADING here) did not run and
// marked nothing: the next claim must not take the head's attempt marker,
// left by a process that died mid-send and may have shown the reply, for
// its own, and send the reply again (a review found it).
func TestARefusedClaimDoesNotResendAnUncertainReply(t *testing.T) {
	for _, blip := range []bool{false, true} {
		s, fake, st, m := newSenderM(t)
		ctx := context.Background()
		commit(t, st, "tg:50", flows.Reply{ID: "u1#0", Text: "một"})
		// A previous process marked the attempt and died mid-send: the reply
		// may have been shown; at most once says never again.
		if state, err := st.BeginSend(ctx, "tg:50", "u1#0"); err != nil || state != delivery.StateNew {
			t.Fatal(state, err)
		}
		if blip {
			m.SetError("LOADING Redis is loading the dataset in memory")
			err := s.Drain(ctx, "tg:50")
			t.Logf("drain during the blip: %v", err)
			m.SetError("")
		}
		if err := s.Drain(ctx, "tg:50"); err != nil {
			t.Fatal(err)
		}
		got := len(fake.Messages(50))
		t.Logf("blip=%v: messages sent for the uncertain reply: %d", blip, got)
		if got != 0 {
			t.Errorf("blip=%v: an uncertain attempt (possibly shown) was sent again", blip)
		}
	}
}

// loseAnswer makes the next script call run on Redis and then fail as if
// its answer was lost on the way back (the connection dropped).
type loseAnswer struct{ armed atomic.Bool }

func (h *loseAnswer) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *loseAnswer) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
func (h *loseAnswer) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if name := cmd.Name(); err == nil && (name == "evalsha" || name == "eval") && h.armed.CompareAndSwap(true, false) {
			return io.ErrUnexpectedEOF
		}
		return err
	}
}

// A claim whose answer was lost may have marked the head reply as
// attempted: the sender never saw the reply, so the next claim takes back
// the marker that claim wrote, and the reply is sent, once. A marker left
// by someone else (a sender that died mid-send: the reply may have been
// shown) stays, and the reply is not sent again.
func TestALostClaimAnswerTakesBackOnlyItsOwnMarker(t *testing.T) {
	for _, leftBefore := range []bool{false, true} {
		s, fake, st, _ := newSenderM(t)
		lose := &loseAnswer{}
		st.Client().AddHook(lose)
		ctx := context.Background()
		commit(t, st, "tg:60", flows.Reply{ID: "u1#0", Text: "một"})
		if leftBefore {
			if state, err := st.BeginSend(ctx, "tg:60", "u1#0"); err != nil || state != delivery.StateNew {
				t.Fatal(state, err)
			}
		}
		lose.armed.Store(true)
		if err := s.Drain(ctx, "tg:60"); err == nil {
			t.Fatalf("leftBefore=%v: the drain with the lost answer did not fail", leftBefore)
		}
		marker, _ := st.Client().HGet(ctx, st.Keys().Sent("tg:60"), "u1#0").Result()
		// The lost claim's send lock expires by itself; here, at once.
		st.Client().Del(ctx, st.Keys().SendLock("tg:60"))
		if err := s.Drain(ctx, "tg:60"); err != nil {
			t.Fatal(err)
		}
		want := 1
		if leftBefore {
			want = 0
		}
		if got := len(fake.Messages(60)); got != want {
			t.Errorf("leftBefore=%v: the head marked %q by the lost claim's time: %d messages sent, want %d", leftBefore, marker, got, want)
		}
	}
}

// A reminder whose last moment (the evening's quiet hours) passed before
// its turn is not sent, at any hour after: it leaves the outbox, and the
// resident's own reply behind it is sent (a review found reminders sent
// after 21:00 when a run outlasted the evening).
func TestAReminderPastItsLastMomentIsNotSent(t *testing.T) {
	s, fake, st, _ := newSenderM(t)
	s.BulkRate = 100
	ctx := context.Background()
	now := time.Now()
	commit(t, st, "tg:70",
		flows.Reply{ID: "remind:late", Text: "nhắc muộn", Bulk: true, NotAfter: now.Add(-time.Second).Unix()},
		flows.Reply{ID: "remind:ok", Text: "nhắc đúng giờ", Bulk: true, NotAfter: now.Add(time.Hour).Unix()},
		flows.Reply{ID: "u1#0", Text: "trả lời"})
	if err := s.Drain(ctx, "tg:70"); err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, m := range fake.Messages(70) {
		texts = append(texts, m.Text)
	}
	if want := []string{"nhắc đúng giờ", "trả lời"}; !slices.Equal(texts, want) {
		t.Errorf("sent %q, want %q", texts, want)
	}
	if rs, err := st.Outbox(ctx, "tg:70"); err != nil || len(rs) != 0 {
		t.Errorf("outbox after the drain: %+v, %v", rs, err)
	}
}

// Reminders waiting in outboxes are found by the recovery scan and queued
// on the chat lane; its drains hand them to the bulk lane rather than wait
// on the bulk pace, so a resident's reply does not wait behind a reminder
// run (a review found replies held up for the whole run).
func TestARemindersRunDoesNotHoldUpReplies(t *testing.T) {
	s, fake, st := newSender(t)
	s.BulkRate, s.Workers, s.BulkWorkers, s.Direct, s.RecoverEvery = 5, 2, 1, 2, 100*time.Millisecond
	const reminders = 30 // six seconds' worth at 5/s
	for i := range reminders {
		who := fmt.Sprintf("tg:%d", 500+i)
		if err := st.Enqueue(t.Context(), who, flows.Reply{ID: "remind:" + who, Text: "nhắc", Bulk: true}); err != nil {
			t.Fatal(err)
		}
		s.NotifyBulk(who)
	}
	reminded := func() int {
		n := 0
		for i := range reminders {
			n += len(fake.Messages(int64(500 + i)))
		}
		return n
	}
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() { stop(); <-done }()
	time.Sleep(300 * time.Millisecond) // the recovery scan has queued the reminders' outboxes on the chat lane
	for _, chat := range []int64{100, 101, 102} {
		who := fmt.Sprintf("tg:%d", chat)
		commit(t, st, who, flows.Reply{ID: "u#0", Text: "trả lời"})
		before := reminded()
		s.Kick(who)
		for len(fake.Messages(chat)) == 0 {
			// Counted in reminders sent meanwhile, not in time: five is a
			// second of the bulk pace; the reply needs milliseconds.
			if n := reminded() - before; n >= 5 || reminded() == reminders {
				t.Fatalf("%s: the reply waited while %d reminders were sent", who, n)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// Sends are counted by channel and outcome, and timed, on /metrics; every
// series shows before anything was sent.
func TestSendsAreCountedByChannel(t *testing.T) {
	s, fake, st := newSender(t)
	m := metrics.New()
	s.Metrics = delivery.NewMetrics(m, "telegram", "console")
	page := scrape(t, m)
	for _, want := range []string{`hangxom_sends_total{channel="console",result="sent"} 0`,
		`hangxom_sends_total{channel="telegram",result="blocked"} 0`} {
		if !strings.Contains(page, "\n"+want+"\n") {
			t.Errorf("before any send, no %q on /metrics", want)
		}
	}
	fake.Fail("sendMessage", 1, telegramtest.Fault{Code: 429, RetryAfter: 0})
	commit(t, st, "tg:47", flows.Reply{ID: "m#0", Text: "một"})
	if err := s.Drain(t.Context(), "tg:47"); err != nil {
		t.Fatal(err)
	}
	if n := len(fake.Messages(47)); n != 1 {
		t.Fatalf("%d messages, want 1", n)
	}
	page = scrape(t, m)
	for _, want := range []string{`hangxom_sends_total{channel="telegram",result="sent"} 1`,
		`hangxom_sends_total{channel="telegram",result="throttled"} 1`,
		`hangxom_send_seconds_count{channel="telegram",outcome="sent"} 1`} {
		if !strings.Contains(page, "\n"+want+"\n") {
			t.Errorf("no %q on /metrics:\n%s", want, page)
		}
	}
}

// scrape reads m's /metrics page.
func scrape(t *testing.T, m *metrics.Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("/metrics = %d", rec.Code)
	}
	return rec.Body.String()
}

// Two turns in a row, each with buttons: by default the first message keeps
// its buttons (no editMessageReplyMarkup; the engine refuses a tap on them
// as stale), yet the second is recorded as the one with live buttons. With
// TakeOffOldButtons the first message's buttons are taken off, once.
func TestOldButtonsStayUnlessTakeOffOldButtons(t *testing.T) {
	for _, takeOff := range []bool{false, true} {
		t.Run(fmt.Sprintf("TakeOffOldButtons=%v", takeOff), func(t *testing.T) {
			s, fake, st := newSender(t)
			s.TakeOffOldButtons = takeOff
			ctx := t.Context()
			for i, turn := range []string{"u1", "u2"} {
				commit(t, st, "tg:80", flows.Reply{ID: turn + "#0", Text: fmt.Sprintf("màn hình %d", i+1),
					Buttons: []flows.Choice{{Data: fmt.Sprintf("%d.1", i+1), Label: "✅ Xong rồi"}}})
				if err := s.Drain(ctx, "tg:80"); err != nil {
					t.Fatal(err)
				}
			}
			ms := fake.Messages(80)
			if len(ms) != 2 {
				t.Fatalf("%d messages, want 2", len(ms))
			}
			edits := fake.Calls("editMessageReplyMarkup")
			want := 0
			if takeOff {
				want = 1
			}
			if len(edits) != want {
				t.Fatalf("%d editMessageReplyMarkup calls, want %d", len(edits), want)
			}
			if takeOff && edits[0].Params["message_id"] != fmt.Sprint(ms[0].MessageID) {
				t.Errorf("took the buttons off message %s, want the first (%d)", edits[0].Params["message_id"], ms[0].MessageID)
			}
			if kept := len(ms[0].Buttons) > 0; kept == takeOff {
				t.Errorf("the first message has buttons: %v, want %v", kept, !takeOff)
			}
			if len(ms[1].Buttons) == 0 {
				t.Error("the newest message lost its buttons")
			}
			// The message with live buttons is recorded either way.
			h, err := st.Client().Get(ctx, st.Keys().ButtonsMessage("tg:80")).Result()
			if err != nil || h != fmt.Sprint(ms[1].MessageID) {
				t.Errorf("recorded message with buttons %q (%v), want %d", h, err, ms[1].MessageID)
			}
		})
	}
}

// A photo whose text is too long for a caption is its own message, sent
// before the text: when the text then fails and is tried again, the photo
// is not sent again (a review found two photos: the photo's answer lost,
// then a 502 on the text, and every retry sent both).
func TestTelegramAPhotoIsNotSentAgainWithItsText(t *testing.T) {
	s, fake, st := newSender(t)
	fake.Fail("sendPhoto", 1, telegramtest.Fault{LoseAnswer: true})
	fake.Fail("sendMessage", 1, telegramtest.Fault{HTTPStatus: 502, Body: "<html>bad gateway</html>"})
	long := strings.Repeat("Bác xem ảnh rồi làm theo. ", 60) // 1,560 characters: no caption
	commit(t, st, "tg:48", flows.Reply{ID: "p#0", Text: long, Image: "https://example.org/poster.png",
		Buttons: []flows.Choice{{Data: "1.1", Label: "Xong"}}})
	if err := s.Drain(t.Context(), "tg:48"); err != nil {
		t.Fatal(err)
	}
	ms := fake.Messages(48)
	var photos, texts int
	for _, m := range ms {
		if m.Photo != "" {
			photos++
		} else if strings.TrimSpace(m.Text) == strings.TrimSpace(long) {
			texts++
			if len(m.Buttons) != 1 {
				t.Error("the buttons belong on the text")
			}
		}
	}
	if photos != 1 || texts != 1 || len(fake.Calls("sendPhoto")) != 1 {
		t.Errorf("%d photos and %d texts shown, %d sendPhoto calls; want 1, 1, 1", photos, texts, len(fake.Calls("sendPhoto")))
	}
}

// A document Telegram refuses (an upload's error loses its code: it is
// read from the description) is dropped at once, not retried for ever, and
// the replies behind it go on; its long text is sent once, before it.
func TestTelegramARefusedUploadIsDropped(t *testing.T) {
	s, fake, st := newSender(t)
	fake.Fail("sendDocument", 1, telegramtest.Fault{Code: 413, Description: "Request Entity Too Large"})
	long := strings.Repeat("Báo cáo tháng. ", 80) // 1,200 characters: no caption
	commit(t, st, "tg:49",
		flows.Reply{ID: "d#0", Text: long, Document: &flows.Document{Name: "hangxom.csv", Data: []byte("a,b\n")}},
		flows.Reply{ID: "d#1", Text: "xong"})
	if err := s.Drain(t.Context(), "tg:49"); err != nil {
		t.Fatal(err)
	}
	if n := len(fake.Calls("sendDocument")); n != 1 {
		t.Errorf("%d sendDocument calls, want 1 (a refused upload is not a server's failure)", n)
	}
	ms := fake.Messages(49)
	if len(ms) != 2 || strings.TrimSpace(ms[0].Text) != strings.TrimSpace(long) || ms[1].Text != "xong" {
		t.Errorf("messages %+v, want the text once and the next reply", ms)
	}
}

// A long reply sent with NoPreview (a login link at its end) is cut into
// parts, and every part goes with link previews off, under both of
// Telegram's names; the reply after it, without NoPreview, has previews.
// Through the store, so the flag survives the outbox's JSON.
func TestTelegramSendsEveryPartOfANoPreviewReplyWithoutPreviews(t *testing.T) {
	s, fake, st := newSender(t)
	para := strings.Repeat("Một câu hướng dẫn. ", 150) // ~2,850 characters
	link := "https://hx.example/login/Zm9vYmFy"
	long := para + "\n\n" + para + "\n\n" + link
	commit(t, st, "tg:48",
		flows.Reply{ID: "l#0", Text: long, NoPreview: true},
		flows.Reply{ID: "l#1", Text: "Xem thêm: https://hx.example/huong-dan"})
	if err := s.Drain(t.Context(), "tg:48"); err != nil {
		t.Fatal(err)
	}
	ms := fake.Messages(48)
	if len(ms) != 3 || !strings.HasSuffix(ms[1].Text, link) {
		t.Fatalf("%d messages, want the long reply in 2 parts, its link in the last, and one more", len(ms))
	}
	for i, m := range ms {
		off := i < 2
		if m.PreviewOff() != off || m.DisableWebPagePreview != off || (m.LinkPreviewOptions == `{"is_disabled":true}`) != off {
			t.Errorf("part %d: preview off %v (disable_web_page_preview %v, link_preview_options %q), want %v",
				i, m.PreviewOff(), m.DisableWebPagePreview, m.LinkPreviewOptions, off)
		}
	}
}

// A chart (a document marked Photo) is shown as a photo with its caption;
// a poster (not marked) stays a file, for print.
func TestTelegramSendsAChartAsAPhoto(t *testing.T) {
	s, fake, st := newSender(t)
	var chart bytes.Buffer
	if err := png.Encode(&chart, image.NewGray(image.Rect(0, 0, 1200, 700))); err != nil {
		t.Fatal(err)
	}
	commit(t, st, "tg:49",
		flows.Reply{ID: "c#0", Text: "Xã A, tháng 11", Document: &flows.Document{Name: "bieu-do.png", Data: chart.Bytes(), Photo: true}},
		flows.Reply{ID: "c#1", Text: "Áp phích", Document: &flows.Document{Name: "ap-phich.png", Data: chart.Bytes()}})
	if err := s.Drain(t.Context(), "tg:49"); err != nil {
		t.Fatal(err)
	}
	ms := fake.Messages(49)
	if len(ms) != 2 || ms[0].Photo != "file:bieu-do.png" || ms[0].Caption != "Xã A, tháng 11" || ms[1].Document != "file:ap-phich.png" {
		t.Fatalf("messages %+v", ms)
	}
	if b, ok := fake.File(ms[0].FileID); !ok || !bytes.Equal(b, chart.Bytes()) {
		t.Error("the chart's bytes differ")
	}
}
