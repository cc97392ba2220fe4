package zalo_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hangxomso/hangxom/bot/zalo"
	"github.com/hangxomso/hangxom/bot/zalo/zalotest"
	"github.com/hangxomso/hangxom/delivery"
	"github.com/hangxomso/hangxom/flows"
)

// issued hands out the fake's tokens; told a token is bad, it takes a new
// pair, as the API Explorer would (the real refresh: tokens_test.go).
type issued struct {
	s       *zalotest.Server
	mu      sync.Mutex
	token   string
	renewed int
}

func (i *issued) Token(context.Context) (string, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.token == "" {
		i.token, _ = i.s.IssueTokens()
	}
	return i.token, nil
}

func (i *issued) Invalid(_ context.Context, bad string) (string, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.token == bad {
		i.token, _ = i.s.IssueTokens()
		i.renewed++
	}
	return i.token, nil
}

func newTransport(t *testing.T) (*zalo.Transport, *zalotest.Server, *issued) {
	t.Helper()
	s := zalotest.NewServer(t)
	tok := &issued{s: s}
	return &zalo.Transport{Client: &zalo.Client{APIURL: s.URL, Tokens: tok, HTTP: zalotest.LoopbackClient(5 * time.Second)}}, s, tok
}

// send delivers a reply as the core would: the messages Plan makes of it.
func send(t *testing.T, tr *zalo.Transport, who string, r flows.Reply) []delivery.Result {
	t.Helper()
	var out []delivery.Result
	for _, m := range delivery.Plan(r, tr.Limits()) {
		out = append(out, tr.Send(t.Context(), who, m))
	}
	return out
}

func TestTransportSendsButtonsAsPayloads(t *testing.T) {
	tr, s, _ := newTransport(t)
	s.Interact("u1", time.Now())
	res := send(t, tr, "zl:u1", flows.Reply{ID: "a", Text: "Bước 1: mở ứng dụng.",
		Buttons: []flows.Choice{{Data: "3.1", Label: "✅ Xong"}, {Data: "3.2", Label: "↩ Quay lại"}}})
	if len(res) != 1 || res[0].Outcome != delivery.Sent || res[0].Buttons == "" {
		t.Fatalf("results %+v", res)
	}
	ms := s.Messages("u1")
	if len(ms) != 1 || ms[0].Text != "Bước 1: mở ứng dụng." || len(ms[0].Buttons) != 2 {
		t.Fatalf("messages %+v", ms)
	}
	if b := ms[0].Buttons[1]; b.Title != "↩ Quay lại" || b.Type != "oa.query.hide" || b.Payload != zalo.PayloadPrefix+"3.2" {
		t.Errorf("button %+v", b)
	}
}

// The commune picker (8 choices) and a menu with long labels: numbered in
// the text, buttons "N. label" cut to 20 characters, five to a message.
func TestTransportNumbersAScreenZaloCannotShow(t *testing.T) {
	tr, s, _ := newTransport(t)
	s.Interact("u2", time.Now())
	var cs []flows.Choice
	for i, name := range []string{"Dân Tiến", "La Hiên", "Nghinh Tường", "Sảng Mộc", "Thần Sa", "Tràng Xá", "Võ Nhai", "English"} {
		cs = append(cs, flows.Choice{Data: "c." + string(rune('1'+i)), Label: "🏡 Xã " + name})
	}
	for _, r := range send(t, tr, "zl:u2", flows.Reply{ID: "c", Text: "Bác ở xã nào?", Buttons: cs}) {
		if r.Outcome != delivery.Sent {
			t.Fatalf("%+v", r)
		}
	}
	ms := s.Messages("u2")
	if len(ms) != 2 || len(ms[0].Buttons) != 5 || len(ms[1].Buttons) != 3 || ms[1].Text != delivery.MoreChoices {
		t.Fatalf("messages %+v", ms)
	}
	if !strings.Contains(ms[0].Text, "\n7. 🏡 Xã Võ Nhai\n8. 🏡 Xã English") {
		t.Errorf("not numbered: %q", ms[0].Text)
	}
	if b := ms[1].Buttons[1]; b.Title != "7. 🏡 Xã Võ Nhai" || b.Payload != zalo.PayloadPrefix+"c.7" {
		t.Errorf("seventh button %+v", b)
	}
	for _, m := range ms {
		for _, b := range m.Buttons {
			if n := len([]rune(b.Title)); n > 20 {
				t.Errorf("title %q has %d characters", b.Title, n)
			}
		}
	}
}

func TestTransportSendsAPosterAsAPicture(t *testing.T) {
	tr, s, _ := newTransport(t)
	s.Interact("u3", time.Now())
	var b bytes.Buffer
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	img.Set(1, 1, color.Black)
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	res := send(t, tr, "zl:u3", flows.Reply{ID: "p", Text: "Áp phích của thôn", Document: &flows.Document{Name: "poster-tdp1.png", Data: b.Bytes()}})
	if len(res) != 2 || res[0].Outcome != delivery.Sent || res[1].Outcome != delivery.Sent {
		t.Fatalf("results %+v", res)
	}
	ms := s.Messages("u3")
	if len(ms) != 2 || ms[0].Text != "Áp phích của thôn" || ms[1].Image == "" {
		t.Fatalf("messages %+v", ms)
	}
	if got, ok := s.Image(ms[1].Image); !ok || !bytes.Equal(got, b.Bytes()) {
		t.Error("the uploaded picture is not the poster")
	}
	// A CSV is refused here (not known to be taken): dropped, not retried.
	res = send(t, tr, "zl:u3", flows.Reply{ID: "e", Text: "Báo cáo", Document: &flows.Document{Name: "hangxom.csv", Data: []byte("a,b\n")}})
	if res[len(res)-1].Outcome != delivery.Rejected {
		t.Errorf("a CSV: %+v", res)
	}
}

// Zalo's answers become the core's outcomes; an expired token is refreshed
// once and the message sent, once.
func TestTransportClassifiesZalosAnswers(t *testing.T) {
	tr, s, tok := newTransport(t)
	msg := delivery.Message{ID: "m", Text: "xin chào"}
	s.Interact("u4", time.Now())
	s.Interact("u5", time.Now().Add(-8*24*time.Hour)) // outside the 7-day window
	s.Interact("u6", time.Now())
	s.Unfollow("u6")
	for _, tc := range []struct {
		name  string
		who   string
		fault *zalotest.Fault
		want  delivery.Outcome
	}{
		{"ok", "zl:u4", nil, delivery.Sent},
		{"window", "zl:u5", nil, delivery.Rejected},
		{"unfollowed", "zl:u6", nil, delivery.Unreachable},
		{"never wrote", "zl:u7", nil, delivery.Rejected},
		{"rate", "zl:u4", &zalotest.Fault{Error: -32, Message: "rate limit"}, delivery.RateLimited},
		{"lost answer", "zl:u4", &zalotest.Fault{LoseAnswer: true}, delivery.Uncertain},
		{"proxy", "zl:u4", &zalotest.Fault{HTTPStatus: 502, Body: "<html>bad gateway</html>"}, delivery.Transient},
	} {
		if tc.fault != nil {
			s.Fail(zalotest.PathSend, 1, *tc.fault)
		}
		if got := tr.Send(t.Context(), tc.who, msg); got.Outcome != tc.want {
			t.Errorf("%s: %v (%v), want %v", tc.name, got.Outcome, got.Err, tc.want)
		}
	}
	before := len(s.Messages("u4"))
	s.ExpireAccessTokens()
	if got := tr.Send(t.Context(), "zl:u4", msg); got.Outcome != delivery.Sent {
		t.Fatalf("after the token expired: %v (%v)", got.Outcome, got.Err)
	}
	if tok.renewed != 1 || len(s.Messages("u4")) != before+1 {
		t.Errorf("renewed %d times, %d messages sent; want one each", tok.renewed, len(s.Messages("u4"))-before)
	}
}

type disconnected struct{}

func (disconnected) Token(context.Context) (string, error) { return "", zalo.ErrDisconnected }
func (disconnected) Invalid(context.Context, string) (string, error) {
	return "", zalo.ErrDisconnected
}

// While the OA waits to be linked again, a send is Unavailable: the
// resident comes back in a minute, no worker sleeps through retries.
func TestTransportWaitsForTheOAToBeLinked(t *testing.T) {
	s := zalotest.NewServer(t)
	tr := &zalo.Transport{Client: &zalo.Client{APIURL: s.URL, Tokens: disconnected{}, HTTP: zalotest.LoopbackClient(time.Second)}}
	res := tr.Send(t.Context(), "zl:u1", delivery.Message{ID: "m", Text: "xin chào"})
	if res.Outcome != delivery.Unavailable || res.Wait < time.Minute {
		t.Errorf("%v after %v (%v), want unavailable for a minute", res.Outcome, res.Wait, res.Err)
	}
}

// A document marked Photo (a chart) is a picture here, as every picture
// document is: uploaded and sent after its text, even under a name that
// does not say so; one whose bytes are no PNG or JPEG is refused as any
// file is.
func TestTransportSendsAPhotoDocumentAsAPicture(t *testing.T) {
	tr, s, _ := newTransport(t)
	s.Interact("u4", time.Now())
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 120, 70))); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"bieu-do.png", "bieu-do", "bieu-do.chart"} {
		res := send(t, tr, "zl:u4", flows.Reply{ID: name, Text: "Xã A, tháng 11", Document: &flows.Document{Name: name, Data: b.Bytes(), Photo: true}})
		if len(res) != 2 || res[0].Outcome != delivery.Sent || res[1].Outcome != delivery.Sent {
			t.Fatalf("%s: results %+v", name, res)
		}
		ms := s.Messages("u4")
		last := ms[len(ms)-1]
		if got, ok := s.Image(last.Image); !ok || !bytes.Equal(got, b.Bytes()) || ms[len(ms)-2].Text != "Xã A, tháng 11" {
			t.Errorf("%s: messages %+v, want the text then the chart", name, ms[len(ms)-2:])
		}
	}
	res := send(t, tr, "zl:u4", flows.Reply{ID: "csv", Text: "Số liệu", Document: &flows.Document{Name: "so-lieu", Data: []byte("a,b\n"), Photo: true}})
	if res[len(res)-1].Outcome != delivery.Rejected {
		t.Errorf("a Photo that is no picture: %+v", res)
	}
}

// Zalo has no switch for link previews: a reply with NoPreview is sent as
// the same messages as one without, every part of a long one included.
func TestTransportSendsANoPreviewReplyAsAnyOther(t *testing.T) {
	tr, s, _ := newTransport(t)
	s.Interact("u5", time.Now())
	s.Interact("u6", time.Now())
	para := strings.Repeat("Một câu hướng dẫn. ", 80) // ~1,520 characters
	r := flows.Reply{ID: "l", Text: para + "\n\n" + para + "\n\nhttps://hx.example/login/abc"}
	send(t, tr, "zl:u5", r)
	r.NoPreview = true
	for _, res := range send(t, tr, "zl:u6", r) {
		if res.Outcome != delivery.Sent {
			t.Fatalf("%+v", res)
		}
	}
	a, b := s.Messages("u5"), s.Messages("u6")
	if len(b) != 2 || len(a) != len(b) {
		t.Fatalf("%d and %d messages, want the same 2 parts", len(a), len(b))
	}
	for i := range a {
		if a[i].Text != b[i].Text || a[i].Image != b[i].Image || len(a[i].Buttons) != len(b[i].Buttons) {
			t.Errorf("message %d differs: %+v vs %+v", i, a[i], b[i])
		}
	}
}
