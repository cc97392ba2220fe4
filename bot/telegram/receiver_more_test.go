package telegram_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hangxomso/hangxom/bot/telegram"
	"github.com/hangxomso/hangxom/bot/telegram/telegramtest"
	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/metrics"
)

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
	for _, want := range []string{"hangxom_telegram_updates_total", "hangxom_update_seconds",
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
		svc := &poisoned{bad: "tg:71"}
		r := &telegram.Receiver{Service: svc, Client: client, Store: reach{}, Loc: words{}}
		healthy := func(context.Context) error {
			if storeUp {
				return nil
			}
			return errors.New("redis away")
		}
		p := &telegram.Poller{Client: client, Receiver: r, Leases: &leases{}, Timeout: time.Second, GiveUpAfter: 2, Healthy: healthy}
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

// leases is a LeaseStore in memory for one poller: every lease is granted.
type leases struct{}

type lease struct{}

func (lease) Renew(context.Context) (bool, error) { return true, nil }
func (lease) Release(context.Context) error       { return nil }

func (*leases) AcquireLease(context.Context, string, time.Duration) (telegram.Lease, bool, error) {
	return lease{}, true, nil
}
