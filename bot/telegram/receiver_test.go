package telegram_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/hangxomso/hangxom/bot"
	"github.com/hangxomso/hangxom/bot/telegram"
	"github.com/hangxomso/hangxom/bot/telegram/telegramtest"
	"github.com/hangxomso/hangxom/flows"
)

// slowService takes a while over each update.
type slowService struct{ d time.Duration }

func (s slowService) Handle(ctx context.Context, _ string, _ flows.Input) (flows.Handled, error) {
	select {
	case <-time.After(s.d):
	case <-ctx.Done():
	}
	return flows.Handled{}, nil
}

func TestWebhookAnswersATapInItsResponse(t *testing.T) {
	const tap = `{"update_id":9,"callback_query":{"id":"4242","from":{"id":7,"is_bot":false,"first_name":"Lan"},` +
		`"message":{"message_id":3,"date":1,"chat":{"id":7,"type":"private"},"text":"?"},"chat_instance":"1","data":"1.1"}}`
	for _, tc := range []struct {
		name       string
		service    bot.Handler
		status     int
		inResponse bool // the answer rides in the response, else a call of its own
	}{
		{"handled", okService{}, http.StatusOK, true},
		{"store down", failing{}, http.StatusServiceUnavailable, false},
		{"slow turn", slowService{d: 300 * time.Millisecond}, http.StatusOK, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := telegramtest.NewServer(t, "")
			client, err := telegram.NewClient(t.Context(), fake.URL, fake.Token, telegramtest.LoopbackClient(10*time.Second))
			if err != nil {
				t.Fatal(err)
			}
			r := &telegram.Receiver{Service: tc.service, Client: client, Store: reach{}, Loc: words{},
				CallbackGrace: 50 * time.Millisecond}
			hook := &telegram.Webhook{Receiver: r, Secret: "s3cret"}
			req := httptest.NewRequest(http.MethodPost, "/tg", bytes.NewReader([]byte(tap)))
			req.Header.Set("X-Telegram-Bot-Api-Secret-Token", "s3cret")
			rec := httptest.NewRecorder()
			hook.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d", rec.Code, tc.status)
			}
			form, _ := url.ParseQuery(rec.Body.String())
			inResponse := form.Get("method") == "answerCallbackQuery" && form.Get("callback_query_id") == "4242"
			if inResponse != tc.inResponse {
				t.Errorf("answer in the response: %v (body %q), want %v", inResponse, rec.Body.String(), tc.inResponse)
			}
			if inResponse && rec.Header().Get("Content-Type") != "application/x-www-form-urlencoded" {
				t.Errorf("content type %q", rec.Header().Get("Content-Type"))
			}
			// Without it in the response, a call of its own answers the tap;
			// with it, none does (checked after the call would have come).
			deadline := time.Now().Add(2 * time.Second)
			for len(fake.Calls("answerCallbackQuery")) == 0 && !tc.inResponse && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if tc.inResponse {
				time.Sleep(200 * time.Millisecond)
			}
			calls := fake.Calls("answerCallbackQuery")
			want := 1
			if tc.inResponse {
				want = 0
			}
			if len(calls) != want {
				t.Errorf("%d answerCallbackQuery calls of the bot's own, want %d", len(calls), want)
			}
		})
	}
}
