package console_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hangxomso/hangxom/bot/console"
	"github.com/hangxomso/hangxom/delivery"
	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/metrics"
)

// memOutbox is a fake outbox at the process boundary: the real one is Redis,
// tested in store.
type memOutbox struct {
	mu    sync.Mutex
	queue map[string][]flows.Reply
}

func (m *memOutbox) Outbox(_ context.Context, r string) ([]flows.Reply, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]flows.Reply(nil), m.queue[r]...), nil
}

func (m *memOutbox) AckOutbox(_ context.Context, r, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	q := m.queue[r]
	if len(q) > 0 && q[0].ID == id {
		m.queue[r] = q[1:]
	}
	return nil
}

// sender delivers the fake outbox through the console's Transport, as the
// delivery core does on the store (tested in delivery and cmd/hangxom).
type sender struct {
	ob *memOutbox
	t  *console.Transport
}

func (s *sender) Drain(ctx context.Context, r string) error {
	rs, _ := s.ob.Outbox(ctx, r)
	for _, reply := range rs {
		res := s.t.Send(ctx, r, delivery.Message{ID: reply.ID, Text: reply.Text, Buttons: reply.Buttons,
			Image: reply.Image, Document: reply.Document})
		if res.Outcome != delivery.Sent {
			return res.Err
		}
		_ = s.ob.AckOutbox(ctx, r, reply.ID)
	}
	return nil
}

// echoHandler answers each input with one reply describing it.
type echoHandler struct {
	out *memOutbox
	got []flows.Input
}

func (h *echoHandler) Handle(_ context.Context, r string, in flows.Input) (flows.Handled, error) {
	h.got = append(h.got, in)
	h.out.mu.Lock()
	defer h.out.mu.Unlock()
	h.out.queue[r] = append(h.out.queue[r], flows.Reply{ID: in.UpdateID, Text: string(in.Kind) + ":" + in.Command + in.Text,
		Buttons: []flows.Choice{{Data: "1.1", Label: "✅ Xong rồi"}, {Data: "1.2", Label: "🙋 Cần người giúp"}}})
	return flows.Handled{}, nil
}

func TestRun(t *testing.T) {
	ob := &memOutbox{queue: map[string][]flows.Reply{
		// Left from an earlier run: shown first.
		"console:lan": {{ID: "old", Text: "tin nhắn cũ"}},
	}}
	h := &echoHandler{out: ob}
	var out, errb bytes.Buffer
	n := 0
	c := &console.Channel{
		Resident: "console:lan", In: strings.NewReader("/start h_x\n\n  xong  \r\n/lang@hangxom_bot en\n"),
		Out: &out, Err: &errb, Handler: h, Sender: &sender{ob, &console.Transport{Out: &out}}, Echo: true,
		NewUpdateID: func() string { n++; return "u" + string(rune('0'+n)) },
	}
	if err := c.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	want := `tin nhắn cũ
> /start h_x
command:starth_x
1. ✅ Xong rồi
2. 🙋 Cần người giúp
>   xong  
text:xong
1. ✅ Xong rồi
2. 🙋 Cần người giúp
> /lang@hangxom_bot en
command:langen
1. ✅ Xong rồi
2. 🙋 Cần người giúp
`
	if d := cmp.Diff(want, out.String()); d != "" {
		t.Errorf("output (-want +got):\n%s", d)
	}
	if len(ob.queue["console:lan"]) != 0 {
		t.Errorf("outbox not drained: %v", ob.queue)
	}
	ids := []string{h.got[0].UpdateID, h.got[1].UpdateID, h.got[2].UpdateID}
	if d := cmp.Diff([]string{"u1", "u2", "u3"}, ids); d != "" {
		t.Errorf("update ids (-want +got):\n%s", d)
	}
}

func TestInput(t *testing.T) {
	for _, tc := range []struct {
		line string
		want flows.Input
	}{
		{"/start", flows.Input{Kind: flows.InputCommand, Command: "start"}},
		{"/START h_abc", flows.Input{Kind: flows.InputCommand, Command: "start", Text: "h_abc"}},
		{"/menu@hangxom_bot", flows.Input{Kind: flows.InputCommand, Command: "menu"}},
		{"3", flows.Input{Kind: flows.InputText, Text: "3"}},
		{"  được rồi ", flows.Input{Kind: flows.InputText, Text: "được rồi"}},
		{"/", flows.Input{Kind: flows.InputText, Text: "/"}},
	} {
		if d := cmp.Diff(tc.want, console.Input(tc.line)); d != "" {
			t.Errorf("Input(%q) (-want +got):\n%s", tc.line, d)
		}
	}
}

func TestRunStopsWithContext(t *testing.T) {
	ob := &memOutbox{queue: map[string][]flows.Reply{}}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	r, w := io.Pipe()
	defer w.Close()
	var out bytes.Buffer
	c := &console.Channel{Resident: "console:x", In: r, Out: &out, Err: &bytes.Buffer{}, Handler: &echoHandler{out: ob},
		Sender: &sender{ob, &console.Transport{Out: &out}}}
	if err := c.Run(ctx); err != nil {
		t.Fatalf("Run after cancel: %v", err)
	}
}

func TestDocumentsAreWrittenToTheDirectory(t *testing.T) {
	dir := t.TempDir()
	ob := &memOutbox{queue: map[string][]flows.Reply{"console:co": {{ID: "d", Text: "Báo cáo",
		Document: &flows.Document{Name: "../../etc/hangxom-stats.csv", Data: []byte("\ufeffa,b\n")}}}}}
	var out bytes.Buffer
	c := &console.Channel{Resident: "console:co", In: strings.NewReader(""), Out: &out, Err: &bytes.Buffer{},
		Handler: &echoHandler{out: ob}, Sender: &sender{ob, &console.Transport{Out: &out, Dir: dir}}}
	if err := c.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "hangxom-stats.csv") // the name only: never outside Dir
	b, err := os.ReadFile(path)
	if err != nil || string(b) != "\ufeffa,b\n" {
		t.Fatalf("file: %q %v", b, err)
	}
	if !strings.Contains(out.String(), "📄 "+path) {
		t.Errorf("path not printed: %s", out.String())
	}
}

// The console channel's inputs are timed under the channel label
// "console", as the Telegram channel's are under "telegram" (the sends are
// counted and timed by the delivery core: TestSendsAreCountedByChannel).
func TestRunTimesInputs(t *testing.T) {
	ob := &memOutbox{queue: map[string][]flows.Reply{}}
	m := metrics.New()
	c := &console.Channel{Resident: "console:lan", In: strings.NewReader("chào\n/menu\n"), Out: io.Discard, Err: io.Discard,
		Handler: &echoHandler{out: ob}, Sender: &sender{ob, &console.Transport{Out: io.Discard}}, Metrics: m.Channel("console")}
	if err := c.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if want := `hangxom_update_seconds_count{channel="console"} 2`; !strings.Contains(rec.Body.String(), "\n"+want+"\n") {
		t.Errorf("no %q in /metrics", want)
	}
}

// The transport classifies what the terminal did: a closed output is an
// unreachable resident, a failure before anything was printed may be tried
// again, and one after a part was printed must not print it twice.
func TestTransportClassifiesWriteErrors(t *testing.T) {
	m := delivery.Message{ID: "a", Text: "xin chào", Buttons: []flows.Choice{{Data: "1", Label: "Xong"}}}
	for _, tc := range []struct {
		name string
		w    io.Writer
		want delivery.Outcome
	}{
		{"ok", &bytes.Buffer{}, delivery.Sent},
		{"closed", &failAfter{n: 0, err: os.ErrClosed}, delivery.Unreachable},
		{"full before anything", &failAfter{n: 0, err: io.ErrShortWrite}, delivery.Transient},
		{"would block", &failAfter{n: 0, err: syscall.EAGAIN}, delivery.RateLimited},
		{"full midway", &failAfter{n: 1, err: io.ErrShortWrite}, delivery.Uncertain},
	} {
		if got := (&console.Transport{Out: tc.w}).Send(t.Context(), "console:x", m); got.Outcome != tc.want {
			t.Errorf("%s: %v (%v), want %v", tc.name, got.Outcome, got.Err, tc.want)
		}
	}
}

// failAfter takes n writes, then fails every one with err.
type failAfter struct {
	n   int
	err error
}

func (f *failAfter) Write(p []byte) (int, error) {
	if f.n == 0 {
		return 0, f.err
	}
	f.n--
	return len(p), nil
}

// busy is a sender whose resident's send lock another session holds for
// the first times drains.
type busy struct {
	times int
	calls int
}

func (b *busy) Drain(context.Context, string) error {
	b.calls++
	if b.calls <= b.times {
		return &delivery.Later{After: 10 * time.Millisecond}
	}
	return nil
}

// A send lock held by another session (or left by one killed mid-send,
// until it expires) is waited out, not fatal: the console goes on.
func TestRunWaitsOutAnotherSessionsSendLock(t *testing.T) {
	b := &busy{times: 30}
	var errb bytes.Buffer
	c := &console.Channel{Resident: "console:x", In: strings.NewReader("chào\n"), Out: io.Discard, Err: &errb,
		Handler: &echoHandler{out: &memOutbox{queue: map[string][]flows.Reply{}}}, Sender: b}
	if err := c.Run(t.Context()); err != nil {
		t.Fatalf("Run with the send lock held a while: %v", err)
	}
	if b.calls < b.times+2 {
		t.Errorf("%d drains, want the lock waited out at start and after the line", b.calls)
	}
}

// A document that cannot be saved is said so once, with its text: the
// message is not tried again (which would print the text each time).
func TestADocumentThatCannotBeSavedIsPrintedOnce(t *testing.T) {
	var out bytes.Buffer
	tr := &console.Transport{Out: &out, Dir: filepath.Join(t.TempDir(), "no", "such", "dir")}
	res := tr.Send(t.Context(), "console:co", delivery.Message{ID: "d", Text: "Báo cáo",
		Document: &flows.Document{Name: "hangxom.csv", Data: []byte("a,b\n")}})
	if res.Outcome != delivery.Sent {
		t.Errorf("outcome %v (%v), want sent: the text is on the screen", res.Outcome, res.Err)
	}
	if got := out.String(); strings.Count(got, "Báo cáo") != 1 || !strings.Contains(got, "📄 not saved: ") {
		t.Errorf("printed %q", got)
	}
}

type reach map[string]bool

func (r reach) SetReachable(_ context.Context, who string, ok bool) error { r[who] = ok; return nil }

// A console resident marked unreachable (their output closed once) is
// reachable again as soon as they type.
func TestTypingMakesTheResidentReachableAgain(t *testing.T) {
	ob := &memOutbox{queue: map[string][]flows.Reply{}}
	r := reach{"console:x": false}
	c := &console.Channel{Resident: "console:x", In: strings.NewReader("chào\n"), Out: io.Discard, Err: io.Discard,
		Handler: &echoHandler{out: ob}, Sender: &sender{ob, &console.Transport{Out: io.Discard}}, Reach: r}
	if err := c.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !r["console:x"] {
		t.Error("still unreachable after typing")
	}
}

// A chart (a document marked Photo) is written and its path printed, as
// any document; a reply with NoPreview prints as one without: a terminal
// shows neither pictures nor link previews.
func TestAChartIsWrittenAndNoPreviewPrintsTheSame(t *testing.T) {
	dir := t.TempDir()
	chart := []byte("\x89PNG\r\n\x1a\n")
	show := func(m delivery.Message) string {
		var out bytes.Buffer
		tr := &console.Transport{Out: &out, Dir: dir}
		if res := tr.Send(t.Context(), "console:co", m); res.Outcome != delivery.Sent {
			t.Fatalf("%+v", res)
		}
		return out.String()
	}
	got := show(delivery.Message{ID: "c", Text: "Xã A", Document: &flows.Document{Name: "bieu-do.png", Data: chart, Photo: true}})
	path := filepath.Join(dir, "bieu-do.png")
	if b, err := os.ReadFile(path); err != nil || !bytes.Equal(b, chart) {
		t.Fatalf("file: %q %v", b, err)
	}
	if !strings.Contains(got, "📄 "+path) || !strings.Contains(got, "Xã A") {
		t.Errorf("printed %q", got)
	}
	link := "Mở https://hx.example/login/abc"
	if a, b := show(delivery.Message{ID: "l", Text: link}), show(delivery.Message{ID: "l", Text: link, NoPreview: true}); a != b || !strings.Contains(a, link) {
		t.Errorf("printed %q and, with NoPreview, %q", a, b)
	}
}
