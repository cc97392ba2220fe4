package loadtest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hangxomso/hangxom/bot/zalo"
)

// The fake's events verify as Zalo's and decode as a resident's text; its
// message endpoint takes only the issued token, keeps the buttons'
// payloads for the resident to tap, and joins a paged screen's buttons.
func TestFakeZalo(t *testing.T) {
	f, err := NewFakeZalo()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := &Resident{Chat: 100000042}

	var got []zalo.Event
	bot := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		raw, _ := io.ReadAll(req.Body)
		if !zalo.Verify(raw, req.Header.Get(zalo.SignatureHeader), f.AppID, f.OASecretKey) {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		ev, err := zalo.Decode(raw, f.OAID)
		if err != nil {
			t.Error(err)
		}
		got = append(got, ev)
	}))
	defer bot.Close()
	f.SetWebhook(bot.URL)
	for _, text := range []string{"/start h_lt-xa-001-x001", "#hx:f:ewallet"} {
		if status, err := f.Deliver(context.Background(), bot.Client(), f.Text(r, text)); err != nil || status != http.StatusOK {
			t.Fatalf("deliver %q: %d %v", text, status, err)
		}
	}
	if len(got) != 2 || got[0].Resident != "zl:100000042" || got[0].Input.Command != "start" || got[0].Input.Text != "h_lt-xa-001-x001" ||
		got[1].Input.Data != "f:ewallet" || got[0].ID == got[1].ID {
		t.Errorf("events: %+v", got)
	}

	send := func(token string, text string, payloads ...string) int {
		t.Helper()
		var bs []map[string]string
		for _, p := range payloads {
			bs = append(bs, map[string]string{"title": "1. " + p, "type": "oa.query.hide", "payload": "#hx:" + p})
		}
		msg := map[string]any{"text": text}
		if len(bs) > 0 {
			msg["attachment"] = map[string]any{"type": "template", "payload": map[string]any{"buttons": bs}}
		}
		b, _ := json.Marshal(map[string]any{"recipient": map[string]string{"user_id": "100000042"}, "message": msg})
		req := httptest.NewRequest(http.MethodPost, zaloPathSend, strings.NewReader(string(b)))
		req.Header.Set("access_token", token)
		w := httptest.NewRecorder()
		f.ServeHTTP(w, req)
		var a zaloAnswer
		if err := json.Unmarshal(w.Body.Bytes(), &a); err != nil || w.Code != http.StatusOK {
			t.Fatalf("answer %d %s", w.Code, w.Body)
		}
		return a.Error
	}
	if code := send("wrong", "hi", "a"); code != -216 {
		t.Errorf("a wrong token: error %d, want -216", code)
	}
	seen := f.Expect(r.Chat, time.Now())
	if code := send(f.Access, "Chọn:", "a", "b"); code != 0 {
		t.Fatalf("error %d", code)
	}
	select {
	case <-seen:
	default:
		t.Fatal("the resident was not woken by a screen with buttons")
	}
	seen = f.Expect(r.Chat, time.Now())
	send(f.Access, zaloMoreChoices, "c")
	select {
	case <-seen:
		t.Error("a screen's further page woke the resident")
	default:
	}
	m, _, _ := f.Last(r.Chat)
	var payloads []string
	for _, b := range m.Buttons {
		payloads = append(payloads, b.Data)
	}
	if strings.Join(payloads, " ") != "#hx:a #hx:b #hx:c" || Label(m.Buttons[0]) != "a" {
		t.Errorf("the screen's buttons: %+v", m.Buttons)
	}
	if calls, _, by := f.counts(); calls != 3 || by[zaloPathSend].Calls != 3 {
		t.Errorf("calls %d, by path %v", calls, by)
	}
}
