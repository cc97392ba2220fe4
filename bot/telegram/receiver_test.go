package telegram_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

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

// tapService answers every input as the engine answers a tap, stale or not.
type tapService struct{ stale bool }

func (s tapService) Handle(context.Context, string, flows.Input) (flows.Handled, error) {
	return flows.Handled{Stale: s.stale}, nil
}

// A tap the engine found stale (a button of an earlier screen) takes the
// buttons off the tapped message, by one editMessageReplyMarkup; a tap on
// the current screen takes nothing off. Either way the tap is answered, and
// a failed takeoff does not fail the update (docs/design/delivery-core.md
// §5, option B: old keyboards are not taken off on every turn).
func TestReceiverTakesOffTheButtonsOfAStaleTap(t *testing.T) {
	for _, tc := range []struct {
		name    string
		stale   bool
		webhook bool
		fail    bool // editMessageReplyMarkup answers 500
	}{
		{"current tap", false, false, false},
		{"stale tap", true, false, false},
		{"stale tap, webhook", true, true, false},
		{"stale tap, takeoff fails", true, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := telegramtest.NewServer(t, "")
			client, err := telegram.NewClient(t.Context(), fake.URL, fake.Token, telegramtest.LoopbackClient(10*time.Second))
			if err != nil {
				t.Fatal(err)
			}
			kb := tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonData("✅", "1.1")))
			old, err := client.SendText(t.Context(), 7, "màn hình cũ", &kb)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := client.SendText(t.Context(), 7, "màn hình mới", &kb); err != nil {
				t.Fatal(err)
			}
			if tc.fail {
				fake.Fail("editMessageReplyMarkup", 1, telegramtest.Fault{Code: 500})
			}
			r := &telegram.Receiver{Service: tapService{stale: tc.stale}, Client: client, Store: reach{}, Loc: words{}}
			tap := fmt.Appendf(nil, `{"update_id":9,"callback_query":{"id":"4242","from":{"id":7,"is_bot":false,"first_name":"Lan"},`+
				`"message":{"message_id":%d,"date":1,"chat":{"id":7,"type":"private"},"text":"?"},"chat_instance":"1","data":"1.1"}}`, old)
			if tc.webhook {
				hook := &telegram.Webhook{Receiver: r, Secret: "s3cret"}
				req := httptest.NewRequest(http.MethodPost, "/tg", bytes.NewReader(tap))
				req.Header.Set("X-Telegram-Bot-Api-Secret-Token", "s3cret")
				rec := httptest.NewRecorder()
				hook.ServeHTTP(rec, req)
				if form, _ := url.ParseQuery(rec.Body.String()); rec.Code != http.StatusOK || form.Get("method") != "answerCallbackQuery" {
					t.Fatalf("webhook answered %d %q, want the tap's answer in the response", rec.Code, rec.Body.String())
				}
			} else {
				if err := r.Receive(t.Context(), tap); err != nil {
					t.Fatalf("the update failed: %v", err)
				}
				fake.WaitCalls(t, "answerCallbackQuery", 1)
			}
			want := 0
			if tc.stale {
				want = 1
				fake.WaitCalls(t, "editMessageReplyMarkup", 1)
			}
			time.Sleep(100 * time.Millisecond) // no other call comes
			edits := fake.Calls("editMessageReplyMarkup")
			if len(edits) != want {
				t.Fatalf("%d editMessageReplyMarkup calls, want %d", len(edits), want)
			}
			if want == 1 && (edits[0].Params["chat_id"] != "7" || edits[0].Params["message_id"] != strconv.Itoa(old)) {
				t.Errorf("took off the buttons of %v, want message %d of chat 7", edits[0].Params, old)
			}
			ms := fake.Messages(7)
			if gone := len(ms[0].Buttons) == 0; gone != (tc.stale && !tc.fail) {
				t.Errorf("the tapped message's buttons gone: %v", gone)
			}
			if len(ms[1].Buttons) == 0 {
				t.Error("the current screen's buttons were taken off")
			}
		})
	}
}
