package telegram_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/hangxomso/hangxom/bot/telegram"
	"github.com/hangxomso/hangxom/bot/telegram/telegramtest"
	"github.com/hangxomso/hangxom/bot/telegram/tgredis"
	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/metrics"
	"github.com/hangxomso/hangxom/store"
)

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
		if state, err := st.BeginSend(ctx, "tg:50", "u1#0"); err != nil || state != store.SendNew {
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
			if state, err := st.BeginSend(ctx, "tg:60", "u1#0"); err != nil || state != store.SendNew {
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

// Every metric registered shows on /metrics with its help and at least one
// sample, before anything happened: a labelled family whose children are
// made only when first counted would be missing until then, and a review
// once found a counter counted and never shown. The names come from the
// registry, not from a list kept beside the code.
func TestEveryCounterShowsOnMetrics(t *testing.T) {
	m := metrics.New()
	telegram.NewMetrics(m)
	page := scrape(t, m)
	fqName := regexp.MustCompile(`fqName: "([^"]+)"`)
	n := 0
	for _, c := range m.Collectors() {
		descs := make(chan *prometheus.Desc, 1000)
		c.Describe(descs)
		close(descs)
		for d := range descs {
			name := fqName.FindStringSubmatch(d.String())
			if name == nil {
				t.Fatalf("no name in %s", d)
			}
			n++
			if !strings.Contains(page, "# HELP "+name[1]+" ") || !regexp.MustCompile(`(?m)^`+regexp.QuoteMeta(name[1])+`(_bucket|_sum|_count)?[ {]`).MatchString(page) {
				t.Errorf("%s missing from /metrics", name[1])
			}
		}
	}
	for _, want := range []string{"hangxom_telegram_updates_total", "hangxom_telegram_sends_total", "hangxom_update_seconds",
		"hangxom_send_seconds", "go_goroutines", "process_cpu_seconds_total"} {
		if !strings.Contains(page, "# HELP "+want+" ") {
			t.Errorf("%s is not registered", want)
		}
	}
	if t.Failed() {
		t.Logf("%d metrics registered; /metrics:\n%s", n, page)
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

// poisoned fails every update of one chat, as a corrupt session would, and
// records the chats it handled.
type poisoned struct {
	bad  string
	mu   sync.Mutex
	seen []string
}

func (p *poisoned) Handle(_ context.Context, resident string, _ flows.Input) (flows.Handled, error) {
	if resident == p.bad {
		return flows.Handled{}, errors.New("store: decode session: corrupt")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seen = append(p.seen, resident)
	return flows.Handled{}, nil
}

// An update that keeps failing while the store answers is dropped after a
// few tries, and the updates behind it are handled: one resident's broken
// record must not stop everyone's (a review found polling stuck on it for
// ever). While the store is away nothing is dropped.
func TestPollingGoesPastAnUpdateThatAlwaysFails(t *testing.T) {
	for _, storeUp := range []bool{true, false} {
		fake := telegramtest.NewServer(t, "")
		client, err := telegram.NewClient(t.Context(), fake.URL, fake.Token, telegramtest.LoopbackClient(10*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		_, _, st, _ := newSenderM(t)
		svc := &poisoned{bad: "tg:71"}
		r := &telegram.Receiver{Service: svc, Client: client, Store: reach{}, Loc: words{}}
		healthy := func(context.Context) error {
			if storeUp {
				return nil
			}
			return errors.New("redis away")
		}
		p := &telegram.Poller{Client: client, Receiver: r, Leases: tgredis.Store{Redis: st}, Timeout: time.Second, GiveUpAfter: 2, Healthy: healthy}
		fake.PushText(71, "xin chào")
		fake.PushText(72, "xin chào")
		ctx, stop := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- p.Run(ctx) }()
		deadline := time.Now().Add(3 * time.Second)
		handled := func() []string { svc.mu.Lock(); defer svc.mu.Unlock(); return slices.Clone(svc.seen) }
		for time.Now().Before(deadline) && len(handled()) == 0 {
			time.Sleep(20 * time.Millisecond)
		}
		stop()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		got := handled()
		if storeUp && !slices.Equal(got, []string{"tg:72"}) {
			t.Errorf("store up: handled %q, want the update behind the failing one", got)
		}
		if !storeUp && len(got) != 0 {
			t.Errorf("store away: handled %q, want the failing update kept and retried", got)
		}
	}
}
