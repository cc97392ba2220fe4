package telegramtest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io"
	"io/fs"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hangxomso/hangxom/bot/telegram/telegramtest"
)

const resident = int64(218485655)

// newBot builds the real library client against srv, which calls getMe.
func newBot(t *testing.T, srv *telegramtest.Server) *tgbotapi.BotAPI {
	t.Helper()
	bot, err := tgbotapi.NewBotAPIWithClient(srv.Token, srv.URL+"/bot%s/%s", telegramtest.LoopbackClient(30*time.Second))
	if err != nil {
		t.Fatalf("NewBotAPIWithClient: %v", err)
	}
	return bot
}

// apiError unwraps the library's *tgbotapi.Error.
func apiError(t *testing.T, err error) *tgbotapi.Error {
	t.Helper()
	var e *tgbotapi.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *tgbotapi.Error", err, err)
	}
	return e
}

// post calls method with form fields over plain HTTP and decodes the answer.
func post(t *testing.T, srv *telegramtest.Server, method string, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := telegramtest.LoopbackClient(10*time.Second).PostForm(srv.URL+"/bot"+srv.Token+"/"+method, form)
	if err != nil {
		t.Fatalf("POST %s: %v", method, err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("POST %s: decode: %v", method, err)
	}
	return resp.StatusCode, body
}

func TestGetMeAtConstruction(t *testing.T) {
	t.Parallel()
	srv := telegramtest.NewServer(t, "")
	bot := newBot(t, srv)
	if bot.Self.ID != srv.BotID() || !bot.Self.IsBot || bot.Self.UserName != srv.BotUsername() {
		t.Errorf("Self = %+v, want id %d, is_bot, username %q", bot.Self, srv.BotID(), srv.BotUsername())
	}
	if srv.BotID() != 7000000001 {
		t.Errorf("BotID = %d, want the id in the token", srv.BotID())
	}
	if got := len(srv.Calls("getMe")); got != 1 {
		t.Errorf("getMe calls = %d, want 1", got)
	}
}

func TestAuthAndUnknownMethod(t *testing.T) {
	t.Parallel()
	srv := telegramtest.NewServer(t, "123:secret")

	_, err := tgbotapi.NewBotAPIWithClient("123:wrong", srv.URL+"/bot%s/%s", telegramtest.LoopbackClient(5*time.Second))
	if e := apiError(t, err); e.Code != 401 || e.Message != "Unauthorized" {
		t.Errorf("wrong token: %+v, want 401 Unauthorized", e)
	}
	if n := len(srv.Calls("")); n != 0 {
		t.Errorf("a call with a wrong token was recorded (%d calls)", n)
	}

	bot := newBot(t, srv)
	_, err = bot.MakeRequest("sendTelepathy", tgbotapi.Params{"chat_id": "1"})
	if e := apiError(t, err); e.Code != 404 || e.Message != "Not Found" {
		t.Errorf("unknown method: %+v, want 404 Not Found", e)
	}
	if diff := cmp.Diff([]string{"sendTelepathy"}, srv.UnknownMethods()); diff != "" {
		t.Errorf("UnknownMethods (-want +got):\n%s", diff)
	}

	// Method names are case-insensitive on the real API.
	if _, err := bot.MakeRequest("GETME", nil); err != nil {
		t.Errorf("GETME: %v", err)
	}
	if got := len(srv.Calls("getMe")); got != 2 {
		t.Errorf("getMe calls = %d, want 2", got)
	}
}

func TestSendMessageRecordsInlineKeyboard(t *testing.T) {
	t.Parallel()
	srv := telegramtest.NewServer(t, "")
	bot := newBot(t, srv)

	m := tgbotapi.NewMessage(resident, "Bạn đã đăng ký chưa?")
	m.ReplyMarkup = tgbotapi.NewInlineKeyboardMarkup(
		tgbotapi.NewInlineKeyboardRow(
			tgbotapi.NewInlineKeyboardButtonData("Có", "f:reg:s2:yes"),
			tgbotapi.NewInlineKeyboardButtonData("Không", "f:reg:s2:no")),
		tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonURL("Hướng dẫn", "https://example.org/hd")))
	sent, err := bot.Send(m)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if sent.MessageID != 1 || sent.Chat.ID != resident || sent.Chat.Type != "private" || sent.From.ID != srv.BotID() {
		t.Errorf("sent = %+v", sent)
	}
	if sent.ReplyMarkup == nil || len(sent.ReplyMarkup.InlineKeyboard) != 2 {
		t.Errorf("sent.ReplyMarkup = %+v, want the two rows back", sent.ReplyMarkup)
	}

	want := []telegramtest.Message{{
		ChatID: resident, MessageID: 1, Text: "Bạn đã đăng ký chưa?",
		Buttons: [][]telegramtest.Button{
			{{Text: "Có", CallbackData: "f:reg:s2:yes"}, {Text: "Không", CallbackData: "f:reg:s2:no"}},
			{{Text: "Hướng dẫn", URL: "https://example.org/hd"}},
		},
	}}
	got := srv.WaitMessages(t, resident, 1)
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(telegramtest.Message{}, "Date", "ReplyMarkup")); diff != "" {
		t.Errorf("Messages (-want +got):\n%s", diff)
	}
	calls := srv.Calls("sendMessage")
	if len(calls) != 1 || !strings.Contains(calls[0].Params["reply_markup"], `"callback_data":"f:reg:s2:yes"`) {
		t.Errorf("sendMessage calls = %+v, want reply_markup as a JSON string", calls)
	}
}

func TestSendMessageRejectsWhatTelegramRejects(t *testing.T) {
	t.Parallel()
	srv := telegramtest.NewServer(t, "")
	bot := newBot(t, srv)
	longData := strings.Repeat("đ", 33) // 66 bytes: over the 64-byte limit
	for _, tc := range []struct {
		name string
		msg  tgbotapi.MessageConfig
		want string
	}{
		{"empty text", tgbotapi.NewMessage(resident, ""), "Bad Request: message text is empty"},
		{"too long", tgbotapi.NewMessage(resident, strings.Repeat("a", 4097)), "Bad Request: message is too long"},
		{"callback_data over 64 bytes", func() tgbotapi.MessageConfig {
			m := tgbotapi.NewMessage(resident, "x")
			m.ReplyMarkup = tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonData("Đ", longData)))
			return m
		}(), "Bad Request: BUTTON_DATA_INVALID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := bot.Send(tc.msg)
			if e := apiError(t, err); e.Code != 400 || e.Message != tc.want {
				t.Errorf("error = %d %q, want 400 %q", e.Code, e.Message, tc.want)
			}
		})
	}
	if got := srv.Messages(resident); len(got) != 0 {
		t.Errorf("rejected sends were recorded: %+v", got)
	}
}

func TestEditMessageReplyMarkupRemovesButtons(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		markup tgbotapi.InlineKeyboardMarkup
	}{
		{"empty keyboard", tgbotapi.InlineKeyboardMarkup{InlineKeyboard: [][]tgbotapi.InlineKeyboardButton{}}},
		{"null keyboard", tgbotapi.InlineKeyboardMarkup{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := telegramtest.NewServer(t, "")
			bot := newBot(t, srv)
			m := tgbotapi.NewMessage(resident, "Chọn một")
			m.ReplyMarkup = tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonData("1", "a")))
			sent, err := bot.Send(m)
			if err != nil {
				t.Fatalf("Send: %v", err)
			}

			edited, err := bot.Send(tgbotapi.NewEditMessageReplyMarkup(resident, sent.MessageID, tc.markup))
			if err != nil {
				t.Fatalf("editMessageReplyMarkup: %v", err)
			}
			if edited.ReplyMarkup != nil || edited.EditDate == 0 {
				t.Errorf("edited = %+v, want no reply_markup and an edit_date", edited)
			}
			got := srv.Messages(resident)
			if len(got) != 1 || got[0].Buttons != nil || got[0].Edits != 1 || got[0].Text != "Chọn một" {
				t.Errorf("Messages = %+v, want one message without buttons, edited once", got)
			}

			// The same edit again changes nothing: Telegram refuses it.
			_, err = bot.Send(tgbotapi.NewEditMessageReplyMarkup(resident, sent.MessageID, tc.markup))
			if e := apiError(t, err); e.Code != 400 || !strings.HasPrefix(e.Message, "Bad Request: message is not modified") {
				t.Errorf("second edit: %d %q, want 400 message is not modified", e.Code, e.Message)
			}
		})
	}
}

func TestEditTextAndDelete(t *testing.T) {
	t.Parallel()
	srv := telegramtest.NewServer(t, "")
	bot := newBot(t, srv)
	srv.PushText(resident, "/start") // message 1 is the resident's
	m := tgbotapi.NewMessage(resident, "Xin chào!")
	m.ReplyMarkup = tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonData("OK", "ok")))
	sent, err := bot.Send(m)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if sent.MessageID != 2 {
		t.Errorf("MessageID = %d, want 2 (private chats share one sequence)", sent.MessageID)
	}

	if _, err := bot.Send(tgbotapi.NewEditMessageText(resident, sent.MessageID, "Cảm ơn!")); err != nil {
		t.Fatalf("editMessageText: %v", err)
	}
	_, err = bot.Send(tgbotapi.NewEditMessageText(resident, 1, "hijack"))
	if e := apiError(t, err); e.Message != "Bad Request: message can't be edited" {
		t.Errorf("editing the resident's message: %q", e.Message)
	}

	if _, err := bot.Request(tgbotapi.NewDeleteMessage(resident, sent.MessageID)); err != nil {
		t.Fatalf("deleteMessage: %v", err)
	}
	_, err = bot.Request(tgbotapi.NewDeleteMessage(resident, sent.MessageID))
	if e := apiError(t, err); e.Code != 400 || e.Message != "Bad Request: message to delete not found" {
		t.Errorf("second delete: %d %q", e.Code, e.Message)
	}
	_, err = bot.Send(tgbotapi.NewEditMessageText(resident, sent.MessageID, "again"))
	if e := apiError(t, err); e.Message != "Bad Request: message to edit not found" {
		t.Errorf("editing a deleted message: %q", e.Message)
	}

	want := []telegramtest.Message{{ChatID: resident, MessageID: 2, Text: "Cảm ơn!", Deleted: true, Edits: 1}}
	if diff := cmp.Diff(want, srv.Messages(resident), cmpopts.IgnoreFields(telegramtest.Message{}, "Date")); diff != "" {
		t.Errorf("Messages (-want +got):\n%s (editMessageText without reply_markup drops the keyboard)", diff)
	}
}

func TestGetUpdatesOffsetsConfirm(t *testing.T) {
	t.Parallel()
	srv := telegramtest.NewServer(t, "")
	bot := newBot(t, srv)
	a := srv.PushText(resident, "/start")
	b := srv.PushText(resident, "1")
	c := srv.PushText(resident, "Lan")

	ups, err := bot.GetUpdates(tgbotapi.UpdateConfig{Limit: 2})
	if err != nil {
		t.Fatalf("GetUpdates: %v", err)
	}
	if len(ups) != 2 || ups[0].UpdateID != a || ups[1].UpdateID != b {
		t.Fatalf("first batch = %v, want %d and %d", ids(ups), a, b)
	}
	if !ups[0].Message.IsCommand() || ups[0].Message.Command() != "start" || ups[0].Message.From.ID != resident || ups[0].Message.Chat.ID != resident {
		t.Errorf("/start update = %+v", ups[0].Message)
	}
	if srv.Confirmed() != 0 {
		t.Errorf("Confirmed = %d before any offset", srv.Confirmed())
	}

	// Without an offset the same updates come again: nothing is confirmed.
	ups, err = bot.GetUpdates(tgbotapi.UpdateConfig{})
	if err != nil || len(ups) != 3 {
		t.Fatalf("GetUpdates = %v, %v; want all three again", ids(ups), err)
	}

	ups, err = bot.GetUpdates(tgbotapi.UpdateConfig{Offset: b + 1})
	if err != nil || len(ups) != 1 || ups[0].UpdateID != c {
		t.Fatalf("GetUpdates(offset %d) = %v, %v; want [%d]", b+1, ids(ups), err, c)
	}
	if srv.Confirmed() != b || srv.Pending() != 1 {
		t.Errorf("Confirmed = %d, Pending = %d; want %d and 1", srv.Confirmed(), srv.Pending(), b)
	}

	// Confirmed updates are forgotten: an offset-less poll no longer sees them.
	ups, err = bot.GetUpdates(tgbotapi.UpdateConfig{})
	if err != nil || len(ups) != 1 || ups[0].UpdateID != c {
		t.Errorf("GetUpdates() after confirming = %v, %v; want [%d]", ids(ups), err, c)
	}
	calls := srv.Calls("getUpdates")
	if got := calls[len(calls)-2].Params["offset"]; got != strconv.Itoa(b+1) {
		t.Errorf("recorded offset = %q", got)
	}
}

func ids(ups []tgbotapi.Update) []int {
	var out []int
	for _, u := range ups {
		out = append(out, u.UpdateID)
	}
	return out
}

func TestLongPollReturnsWhenAnUpdateArrives(t *testing.T) {
	t.Parallel()
	srv := telegramtest.NewServer(t, "")
	bot := newBot(t, srv)

	type result struct {
		ups []tgbotapi.Update
		err error
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() {
		ups, err := bot.GetUpdates(tgbotapi.UpdateConfig{Timeout: 30})
		done <- result{ups, err}
	}()
	srv.WaitCalls(t, "getUpdates", 1) // the poll is in flight
	id := srv.PushText(resident, "chào")

	select {
	case r := <-done:
		if r.err != nil || len(r.ups) != 1 || r.ups[0].UpdateID != id || r.ups[0].Message.Text != "chào" {
			t.Errorf("long poll = %v, %v; want update %d", ids(r.ups), r.err, id)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("long poll took %v", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("long poll did not return after a push")
	}
}

func TestLongPollEndsWhenTheClientGivesUp(t *testing.T) {
	t.Parallel()
	srv := telegramtest.NewServer(t, "")
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/bot"+srv.Token+"/getUpdates",
			strings.NewReader("timeout=50"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := telegramtest.LoopbackClient(0).Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	srv.WaitCalls(t, "getUpdates", 1)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled poll: %v, want context.Canceled", err)
	}

	// A new poller works at once; with an update queued it answers without waiting.
	id := srv.PushText(resident, "x")
	status, body := post(t, srv, "getUpdates", url.Values{"timeout": {"50"}})
	if status != 200 || body["ok"] != true {
		t.Fatalf("getUpdates = %d %v", status, body)
	}
	if res := body["result"].([]any); len(res) != 1 || res[0].(map[string]any)["update_id"] != float64(id) {
		t.Errorf("result = %v", res)
	}
}

func TestSecondPollerEndsTheFirstWith409(t *testing.T) {
	t.Parallel()
	srv := telegramtest.NewServer(t, "")
	first := make(chan map[string]any, 1)
	go func() {
		_, body := post(t, srv, "getUpdates", url.Values{"timeout": {"50"}})
		first <- body
	}()
	srv.WaitCalls(t, "getUpdates", 1)
	status, _ := post(t, srv, "getUpdates", nil)
	if status != 200 {
		t.Errorf("second poll status = %d", status)
	}
	body := <-first
	if body["error_code"] != float64(409) || !strings.HasPrefix(body["description"].(string), "Conflict: terminated by other getUpdates request") {
		t.Errorf("first poll = %v, want 409 terminated by other getUpdates request", body)
	}
}

func TestWebhookBlocksGetUpdatesAndDeliverSendsTheSecret(t *testing.T) {
	t.Parallel()
	srv := telegramtest.NewServer(t, "")
	bot := newBot(t, srv)

	type got struct {
		secret string
		update *tgbotapi.Update
		err    error
	}
	received := make(chan got, 1)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, err := bot.HandleUpdate(r)
		received <- got{r.Header.Get("X-Telegram-Bot-Api-Secret-Token"), u, err}
	}))
	t.Cleanup(hook.Close)

	au, _ := json.Marshal([]string{"message", "callback_query", "my_chat_member"})
	resp, err := bot.MakeRequest("setWebhook", tgbotapi.Params{
		"url": hook.URL + "/tg/webhook", "secret_token": "s3cr3t_-X", "allowed_updates": string(au), "max_connections": "10",
	})
	if err != nil || resp.Description != "Webhook was set" {
		t.Fatalf("setWebhook = %+v, %v", resp, err)
	}
	want := telegramtest.WebhookInfo{URL: hook.URL + "/tg/webhook", SecretToken: "s3cr3t_-X",
		AllowedUpdates: []string{"message", "callback_query", "my_chat_member"}, MaxConnections: 10}
	if diff := cmp.Diff(want, srv.Webhook()); diff != "" {
		t.Errorf("Webhook (-want +got):\n%s", diff)
	}
	info, err := bot.GetWebhookInfo()
	if err != nil || info.URL != want.URL || info.MaxConnections != 10 || !slices.Equal(info.AllowedUpdates, want.AllowedUpdates) {
		t.Errorf("GetWebhookInfo = %+v, %v", info, err)
	}

	_, err = bot.GetUpdates(tgbotapi.UpdateConfig{})
	if e := apiError(t, err); e.Code != 409 || e.Message != "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first" {
		t.Errorf("getUpdates with a webhook: %d %q", e.Code, e.Message)
	}

	r, err := srv.Deliver(t.Context(), readFixture(t, "01-text-private.json"))
	if err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	r.Body.Close()
	g := <-received
	if g.secret != "s3cr3t_-X" || g.err != nil || g.update.UpdateID != 800000001 || g.update.Message.Text != "hello there" {
		t.Errorf("webhook got secret %q, update %+v, err %v", g.secret, g.update, g.err)
	}

	if _, err := bot.Request(tgbotapi.DeleteWebhookConfig{}); err != nil {
		t.Fatalf("deleteWebhook: %v", err)
	}
	if _, err := bot.GetUpdates(tgbotapi.UpdateConfig{}); err != nil {
		t.Errorf("getUpdates after deleteWebhook: %v", err)
	}
	if srv.Webhook().URL != "" {
		t.Errorf("webhook still set: %+v", srv.Webhook())
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		fault telegramtest.Fault
		check func(t *testing.T, err error)
	}{
		{"429 with retry_after", telegramtest.Fault{Code: 429, RetryAfter: 3}, func(t *testing.T, err error) {
			e := apiError(t, err)
			if e.Code != 429 || e.RetryAfter != 3 || e.Message != "Too Many Requests: retry after 3" {
				t.Errorf("got %+v", e)
			}
		}},
		{"403 blocked", telegramtest.Fault{Code: 403}, func(t *testing.T, err error) {
			if e := apiError(t, err); e.Code != 403 || e.Message != "Forbidden: bot was blocked by the user" {
				t.Errorf("got %+v", e)
			}
		}},
		{"500", telegramtest.Fault{Code: 500}, func(t *testing.T, err error) {
			if e := apiError(t, err); e.Code != 500 || e.Message != "Internal Server Error" {
				t.Errorf("got %+v", e)
			}
		}},
		{"502 HTML from a proxy", telegramtest.Fault{HTTPStatus: 502, Body: "<html><body>502 Bad Gateway</body></html>"}, func(t *testing.T, err error) {
			var syn *json.SyntaxError
			if !errors.As(err, &syn) {
				t.Errorf("got %T %v, want *json.SyntaxError", err, err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := telegramtest.NewServer(t, "")
			bot := newBot(t, srv)
			srv.Fail("sendMessage", 1, tc.fault)
			_, err := bot.Send(tgbotapi.NewMessage(resident, "Nhắc lịch"))
			tc.check(t, err)
			if got := srv.Messages(resident); len(got) != 0 {
				t.Errorf("a failed send was recorded: %+v", got)
			}
			// The fault applied once; the retry goes through.
			if _, err := bot.Send(tgbotapi.NewMessage(resident, "Nhắc lịch")); err != nil {
				t.Errorf("retry: %v", err)
			}
			calls := srv.WaitCalls(t, "sendMessage", 2)
			if !calls[0].Faulted || calls[1].Faulted {
				t.Errorf("Faulted = %v, %v; want true, false", calls[0].Faulted, calls[1].Faulted)
			}
			if got := srv.Messages(resident); len(got) != 1 || got[0].MessageID != 1 {
				t.Errorf("Messages = %+v, want only the retry, as message 1", got)
			}
		})
	}
}

func TestFaultOnUploadHasNoCode(t *testing.T) {
	t.Parallel()
	srv := telegramtest.NewServer(t, "")
	bot := newBot(t, srv)
	srv.Fail("sendPhoto", 1, telegramtest.Fault{Code: 429, RetryAfter: 7})
	_, err := bot.Send(tgbotapi.NewPhoto(resident, tgbotapi.FileBytes{Name: "a.png", Bytes: pngBytes(t, 4, 4)}))
	// v5.5.1's UploadFiles drops error_code but keeps retry_after.
	if e := apiError(t, err); e.Code != 0 || e.RetryAfter != 7 {
		t.Errorf("upload error = %+v, want Code 0 and RetryAfter 7", e)
	}
}

func TestLoseAnswerTakesEffect(t *testing.T) {
	t.Parallel()
	srv := telegramtest.NewServer(t, "")
	bot := newBot(t, srv)
	srv.Fail("sendMessage", 1, telegramtest.Fault{LoseAnswer: true})
	_, err := bot.Send(tgbotapi.NewMessage(resident, "Đã gửi?"))
	if err == nil {
		t.Fatal("Send succeeded, want a transport error")
	}
	var e *tgbotapi.Error
	if errors.As(err, &e) {
		t.Errorf("got an API error %+v, want a transport error", e)
	}
	if strings.Contains(err.Error(), "500") {
		t.Errorf("err = %v", err)
	}
	if got := srv.Messages(resident); len(got) != 1 || got[0].Text != "Đã gửi?" {
		t.Errorf("Messages = %+v, want the message recorded although the answer was lost", got)
	}
}

func TestDelayedAnswerTakesEffectAfterTheClientGaveUp(t *testing.T) {
	t.Parallel()
	srv := telegramtest.NewServer(t, "")
	bot := newBot(t, srv)
	bot.Client = telegramtest.LoopbackClient(200 * time.Millisecond)
	srv.Fail("sendMessage", 1, telegramtest.Fault{Delay: time.Hour})
	if _, err := bot.Send(tgbotapi.NewMessage(resident, "chậm")); err == nil {
		t.Fatal("Send succeeded, want a client timeout")
	}
	if got := srv.WaitMessages(t, resident, 1); got[0].Text != "chậm" {
		t.Errorf("Messages = %+v", got)
	}
}

func TestBlock(t *testing.T) {
	t.Parallel()
	srv := telegramtest.NewServer(t, "")
	bot := newBot(t, srv)
	srv.Block(resident)
	_, err := bot.Send(tgbotapi.NewMessage(resident, "x"))
	if e := apiError(t, err); e.Code != 403 {
		t.Errorf("send to a blocked chat: %+v", e)
	}
	srv.Unblock(resident)
	if _, err := bot.Send(tgbotapi.NewMessage(resident, "x")); err != nil {
		t.Errorf("send after unblock: %v", err)
	}
}

func TestCallbackQueryRoundTrip(t *testing.T) {
	t.Parallel()
	srv := telegramtest.NewServer(t, "")
	bot := newBot(t, srv)
	m := tgbotapi.NewMessage(resident, "Có hay không?")
	m.ReplyMarkup = tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonData("Có", "yes")))
	sent, err := bot.Send(m)
	if err != nil {
		t.Fatal(err)
	}
	srv.PushCallback(resident, sent.MessageID, "yes")
	srv.PushCallback(resident, 99, "stale")

	ups, err := bot.GetUpdates(tgbotapi.UpdateConfig{})
	if err != nil || len(ups) != 2 {
		t.Fatalf("GetUpdates = %v, %v", ids(ups), err)
	}
	cq := ups[0].CallbackQuery
	if cq == nil || cq.Data != "yes" || cq.From.ID != resident || cq.Message.MessageID != sent.MessageID ||
		cq.Message.Text != "Có hay không?" || cq.Message.ReplyMarkup == nil || cq.Message.Date == 0 {
		t.Fatalf("callback = %+v", cq)
	}
	if stale := ups[1].CallbackQuery.Message; stale.Date != 0 || stale.MessageID != 99 {
		t.Errorf("callback on an unknown message = %+v, want an inaccessible message (date 0)", stale)
	}

	if _, err := bot.Request(tgbotapi.NewCallback(cq.ID, "Đã ghi nhận")); err != nil {
		t.Errorf("answerCallbackQuery: %v", err)
	}
	if got := srv.Calls("answerCallbackQuery"); len(got) != 1 || got[0].Params["callback_query_id"] != cq.ID || got[0].Params["text"] != "Đã ghi nhận" {
		t.Errorf("answerCallbackQuery calls = %+v", got)
	}
	_, err = bot.Request(tgbotapi.NewCallback("nope", ""))
	if e := apiError(t, err); e.Code != 400 || !strings.Contains(e.Message, "query ID is invalid") {
		t.Errorf("unknown query: %+v", e)
	}
	// Send on a method answering true is the library's classic trap.
	if _, err := bot.Send(tgbotapi.NewCallback(cq.ID, "")); err == nil || !strings.Contains(err.Error(), "cannot unmarshal bool") {
		t.Errorf("Send(answerCallbackQuery) = %v, want the bool-into-Message error", err)
	}
}

func pngBytes(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	img.Set(0, 0, color.RGBA{R: 200, A: 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// download fetches a file_path from the fake's file endpoint.
func download(t *testing.T, srv *telegramtest.Server, filePath string) []byte {
	t.Helper()
	resp, err := telegramtest.LoopbackClient(10 * time.Second).Get(srv.URL + "/file/bot" + srv.Token + "/" + filePath)
	if err != nil {
		t.Fatalf("download: %v", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("download %s: %d %v", filePath, resp.StatusCode, err)
	}
	return data
}

func TestPhotosAndDocuments(t *testing.T) {
	t.Parallel()
	srv := telegramtest.NewServer(t, "")
	bot := newBot(t, srv)
	chart := pngBytes(t, 300, 200)

	p := tgbotapi.NewPhoto(resident, tgbotapi.FileBytes{Name: "chart.png", Bytes: chart})
	p.Caption = "Thống kê"
	sent, err := bot.Send(p)
	if err != nil {
		t.Fatalf("sendPhoto upload: %v", err)
	}
	if len(sent.Photo) < 2 || sent.Photo[len(sent.Photo)-1].Width != 300 || sent.Photo[len(sent.Photo)-1].Height != 200 {
		t.Fatalf("sent.Photo = %+v, want sizes ending with 300x200", sent.Photo)
	}
	big := sent.Photo[len(sent.Photo)-1].FileID
	if got := srv.Calls("sendPhoto")[0].Params["photo"]; got != "file:chart.png" {
		t.Errorf("photo param = %q", got)
	}

	f, err := bot.GetFile(tgbotapi.FileConfig{FileID: big})
	if err != nil {
		t.Fatalf("GetFile: %v", err)
	}
	if f.FileSize != len(chart) || !bytes.Equal(download(t, srv, f.FilePath), chart) {
		t.Errorf("downloaded file differs; file = %+v", f)
	}

	// Reuse by file id, then a document by URL.
	if _, err := bot.Send(tgbotapi.NewPhoto(resident, tgbotapi.FileID(big))); err != nil {
		t.Fatalf("sendPhoto by id: %v", err)
	}
	doc, err := bot.Send(tgbotapi.NewDocument(resident, tgbotapi.FileURL("https://example.org/files/huong-dan.pdf")))
	if err != nil || doc.Document == nil || doc.Document.FileName != "huong-dan.pdf" || doc.Document.MimeType != "application/pdf" {
		t.Fatalf("sendDocument by URL = %+v, %v", doc.Document, err)
	}
	up, err := bot.Send(tgbotapi.NewDocument(resident, tgbotapi.FileBytes{Name: "ds.csv", Bytes: []byte("a,b\n1,2\n")}))
	if err != nil || up.Document == nil || up.Document.FileName != "ds.csv" {
		t.Fatalf("sendDocument upload = %+v, %v", up.Document, err)
	}
	if data, ok := srv.File(up.Document.FileID); !ok || string(data) != "a,b\n1,2\n" {
		t.Errorf("File(%s) = %q, %v", up.Document.FileID, data, ok)
	}

	want := []telegramtest.Message{
		{ChatID: resident, MessageID: 1, Caption: "Thống kê", Photo: "file:chart.png", FileID: big},
		{ChatID: resident, MessageID: 2, Photo: big, FileID: big},
		{ChatID: resident, MessageID: 3, Document: "https://example.org/files/huong-dan.pdf", FileID: doc.Document.FileID},
		{ChatID: resident, MessageID: 4, Document: "file:ds.csv", FileID: up.Document.FileID},
	}
	if diff := cmp.Diff(want, srv.Messages(resident), cmpopts.IgnoreFields(telegramtest.Message{}, "Date")); diff != "" {
		t.Errorf("Messages (-want +got):\n%s", diff)
	}

	// A photo from the resident, downloaded by the bot.
	id := srv.AddFile(chart, "IMG_0001.png")
	srv.PushPhoto(resident, id)
	ups, err := bot.GetUpdates(tgbotapi.UpdateConfig{})
	if err != nil || len(ups) != 1 || len(ups[0].Message.Photo) == 0 {
		t.Fatalf("GetUpdates = %+v, %v", ups, err)
	}
	ph := ups[0].Message.Photo
	url, err := bot.GetFile(tgbotapi.FileConfig{FileID: ph[len(ph)-1].FileID})
	if err != nil || !bytes.Equal(download(t, srv, url.FilePath), chart) {
		t.Errorf("resident's photo: %+v, %v", url, err)
	}
	_, err = bot.GetFile(tgbotapi.FileConfig{FileID: "nope"})
	if e := apiError(t, err); e.Message != "Bad Request: invalid file_id" {
		t.Errorf("GetFile(unknown) = %+v", e)
	}
}

func TestSetMyCommands(t *testing.T) {
	t.Parallel()
	srv := telegramtest.NewServer(t, "")
	bot := newBot(t, srv)
	vi := []tgbotapi.BotCommand{{Command: "start", Description: "Bắt đầu"}, {Command: "help", Description: "Trợ giúp"}}
	if _, err := bot.Request(tgbotapi.NewSetMyCommandsWithScopeAndLanguage(tgbotapi.NewBotCommandScopeAllPrivateChats(), "vi", vi...)); err != nil {
		t.Fatalf("setMyCommands vi: %v", err)
	}
	if _, err := bot.Request(tgbotapi.NewSetMyCommands(tgbotapi.BotCommand{Command: "start", Description: "Start"})); err != nil {
		t.Fatalf("setMyCommands: %v", err)
	}
	staff := tgbotapi.NewBotCommandScopeChat(-1001234567890)
	if _, err := bot.Request(tgbotapi.NewSetMyCommandsWithScope(staff, tgbotapi.BotCommand{Command: "counts", Description: "Số liệu"})); err != nil {
		t.Fatalf("setMyCommands staff: %v", err)
	}

	if diff := cmp.Diff([]telegramtest.BotCommand{{Command: "start", Description: "Start"}}, srv.Commands("")); diff != "" {
		t.Errorf("Commands(\"\") (-want +got):\n%s", diff)
	}
	if got := srv.ScopedCommands(telegramtest.CommandScope{Type: "all_private_chats"}, "vi"); len(got) != 2 || got[0].Description != "Bắt đầu" {
		t.Errorf("vi private commands = %+v", got)
	}
	if got := srv.ScopedCommands(telegramtest.CommandScope{Type: "chat", ChatID: -1001234567890}, ""); len(got) != 1 || got[0].Command != "counts" {
		t.Errorf("staff commands = %+v", got)
	}
	got, err := bot.GetMyCommandsWithConfig(tgbotapi.NewGetMyCommandsWithScopeAndLanguage(tgbotapi.NewBotCommandScopeAllPrivateChats(), "vi"))
	if err != nil || len(got) != 2 {
		t.Errorf("getMyCommands = %+v, %v", got, err)
	}

	_, err = bot.Request(tgbotapi.NewSetMyCommands(tgbotapi.BotCommand{Command: "Start", Description: "x"}))
	if e := apiError(t, err); e.Message != "Bad Request: BOT_COMMAND_INVALID" {
		t.Errorf("upper-case command: %+v", e)
	}
	if _, err := bot.Request(tgbotapi.NewChatAction(resident, tgbotapi.ChatTyping)); err != nil {
		t.Errorf("sendChatAction: %v", err)
	}
}

func TestAllowedUpdatesFilterNewUpdates(t *testing.T) {
	t.Parallel()
	srv := telegramtest.NewServer(t, "")
	bot := newBot(t, srv)
	member := readFixture(t, "25-chat-member.json")

	// By default Telegram does not send chat_member updates.
	srv.PushUpdate(member)
	if n := srv.Pending(); n != 0 {
		t.Errorf("chat_member was queued under the default allowed_updates (%d pending)", n)
	}
	if _, err := bot.GetUpdates(tgbotapi.UpdateConfig{AllowedUpdates: []string{"message", "chat_member"}}); err != nil {
		t.Fatal(err)
	}
	srv.PushUpdate(member)
	srv.PushCallback(resident, 1, "x") // not allowed now
	ups, err := bot.GetUpdates(tgbotapi.UpdateConfig{})
	if err != nil || len(ups) != 1 || ups[0].ChatMember == nil {
		t.Errorf("GetUpdates = %+v, %v; want just the chat_member update", ups, err)
	}
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := fs.ReadFile(telegramtest.Fixtures(t), name)
	if err != nil {
		t.Fatalf("fixture: %v", err)
	}
	return b
}

// TestFixturesRoundTrip pushes every real update fixture and reads it back
// both with the library and as raw JSON.
func TestFixturesRoundTrip(t *testing.T) {
	t.Parallel()
	files, err := fs.Glob(telegramtest.Fixtures(t), "*.json")
	if err != nil || len(files) != 40 {
		t.Fatalf("fixtures: %d files, %v; want 40", len(files), err)
	}
	srv := telegramtest.NewServer(t, "")
	bot := newBot(t, srv)

	// Subscribe to every kind the fixtures hold, including chat_member and
	// message_reaction, which the default set leaves out.
	var raws [][]byte
	var kinds []string
	for _, f := range files {
		b := readFixture(t, f)
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for k := range m {
			if k != "update_id" && !slices.Contains(kinds, k) {
				kinds = append(kinds, k)
			}
		}
		raws = append(raws, b)
	}
	if _, err := bot.GetUpdates(tgbotapi.UpdateConfig{AllowedUpdates: kinds}); err != nil {
		t.Fatal(err)
	}

	var wantIDs []int
	for i, b := range raws {
		id := srv.PushUpdate(b)
		if id != 800000001+i {
			t.Errorf("%s: update_id %d, want the fixture's %d", files[i], id, 800000001+i)
		}
		wantIDs = append(wantIDs, id)
	}
	ups, err := bot.GetUpdates(tgbotapi.UpdateConfig{})
	if err != nil {
		t.Fatalf("library GetUpdates: %v", err)
	}
	if diff := cmp.Diff(wantIDs, ids(ups)); diff != "" {
		t.Errorf("update ids (-want +got):\n%s", diff)
	}
	for i, u := range ups {
		name := files[i]
		known := u.Message != nil || u.EditedMessage != nil || u.ChannelPost != nil || u.CallbackQuery != nil ||
			u.MyChatMember != nil || u.ChatMember != nil || u.InlineQuery != nil || u.Poll != nil || u.PollAnswer != nil
		unknownKind := strings.Contains(name, "message-reaction") || strings.Contains(name, "unknown-future")
		if known == unknownKind {
			t.Errorf("%s: decoded kind known=%v, want %v", name, known, !unknownKind)
		}
	}

	// The raw answer holds each fixture unchanged.
	_, body := post(t, srv, "getUpdates", url.Values{"limit": {"100"}})
	res, _ := body["result"].([]any)
	if len(res) != len(raws) {
		t.Fatalf("raw getUpdates returned %d updates, want %d", len(res), len(raws))
	}
	for i, b := range raws {
		var want any
		_ = json.Unmarshal(b, &want)
		if diff := cmp.Diff(want, res[i]); diff != "" {
			t.Errorf("%s (-want +got):\n%s", files[i], diff)
		}
	}

	// Next ids follow the fixtures'.
	if id := srv.PushText(resident, "tiếp"); id != 800000001+len(raws) {
		t.Errorf("PushText after fixtures: update_id %d", id)
	}
}

func TestLoopbackClientRefusesOtherAddresses(t *testing.T) {
	t.Parallel()
	// 192.0.2.1 is TEST-NET-1: the dial is refused before any packet leaves.
	_, err := telegramtest.LoopbackClient(5 * time.Second).Get("http://192.0.2.1/bot123:x/getMe")
	if err == nil || !strings.Contains(err.Error(), "refusing to dial non-loopback address") {
		t.Errorf("err = %v, want a refusal", err)
	}
	srv := telegramtest.NewServer(t, "")
	local := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	resp, err := telegramtest.LoopbackClient(5 * time.Second).Get(local + "/bot" + srv.Token + "/getMe")
	if err != nil {
		t.Fatalf("localhost: %v", err)
	}
	resp.Body.Close()
}

func TestJSONBodiesAreAccepted(t *testing.T) {
	t.Parallel()
	srv := telegramtest.NewServer(t, "")
	body := `{"chat_id":218485655,"text":"JSON","reply_markup":{"inline_keyboard":[[{"text":"A","callback_data":"a"}]]}}`
	resp, err := telegramtest.LoopbackClient(5*time.Second).Post(srv.URL+"/bot"+srv.Token+"/sendMessage", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	got := srv.WaitMessages(t, resident, 1)
	if got[0].Text != "JSON" || len(got[0].Buttons) != 1 || got[0].Buttons[0][0].CallbackData != "a" {
		t.Errorf("Messages = %+v", got)
	}
}

// The fake reads link previews as Telegram's server does: Bot API 7.0's
// link_preview_options first, the legacy disable_web_page_preview when it
// is absent; an options field that is no JSON object is refused.
func TestLinkPreviewSwitches(t *testing.T) {
	t.Parallel()
	srv := telegramtest.NewServer(t, "")
	bot := newBot(t, srv)
	for _, tc := range []struct {
		name   string
		params tgbotapi.Params
		off    bool
		bad    string // the refusal, or ""
	}{
		{"neither", tgbotapi.Params{}, false, ""},
		{"legacy only", tgbotapi.Params{"disable_web_page_preview": "true"}, true, ""},
		{"both", tgbotapi.Params{"disable_web_page_preview": "true", "link_preview_options": `{"is_disabled":true}`}, true, ""},
		{"the object wins", tgbotapi.Params{"disable_web_page_preview": "true", "link_preview_options": `{"is_disabled":false}`}, false, ""},
		{"an object without the flag", tgbotapi.Params{"link_preview_options": `{"url":"https://hx.example"}`}, false, ""},
		{"not an object", tgbotapi.Params{"link_preview_options": "true"}, false, "Bad Request: can't parse link preview options JSON object"},
		{"a flag of another type", tgbotapi.Params{"link_preview_options": `{"is_disabled":"yes"}`}, false, "Bad Request: can't parse link preview options JSON object"},
	} {
		p := tgbotapi.Params{"chat_id": strconv.FormatInt(resident, 10), "text": tc.name + ": https://hx.example"}
		maps.Copy(p, tc.params)
		before := len(srv.Messages(resident))
		_, err := bot.MakeRequest("sendMessage", p)
		if tc.bad != "" {
			if e := apiError(t, err); e.Code != 400 || e.Message != tc.bad {
				t.Errorf("%s: %+v, want 400 %q", tc.name, e, tc.bad)
			}
			if len(srv.Messages(resident)) != before {
				t.Errorf("%s: a refused message was recorded", tc.name)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		ms := srv.Messages(resident)
		m := ms[len(ms)-1]
		if m.PreviewOff() != tc.off {
			t.Errorf("%s: PreviewOff %v, want %v", tc.name, m.PreviewOff(), tc.off)
		}
		if m.LinkPreviewOptions != tc.params["link_preview_options"] || m.DisableWebPagePreview != (tc.params["disable_web_page_preview"] == "true") {
			t.Errorf("%s: recorded %q / %v", tc.name, m.LinkPreviewOptions, m.DisableWebPagePreview)
		}
	}
}

// An uploaded photo must be a picture within Telegram's limits; the same
// bytes as a document are taken.
func TestPhotoUploadsKeepTelegramsLimits(t *testing.T) {
	t.Parallel()
	srv := telegramtest.NewServer(t, "")
	bot := newBot(t, srv)
	for _, tc := range []struct {
		name string
		data []byte
		bad  string
	}{
		{"a chart", pngBytes(t, 1200, 800), ""},
		{"a ratio of 20", pngBytes(t, 2000, 100), ""},
		{"a ratio over 20", pngBytes(t, 2100, 100), "Bad Request: PHOTO_INVALID_DIMENSIONS"},
		{"sides over 10000", pngBytes(t, 9000, 1200), "Bad Request: PHOTO_INVALID_DIMENSIONS"},
		{"not a picture", []byte("a,b\n1,2\n"), "Bad Request: IMAGE_PROCESS_FAILED"},
		{"over 10 MiB", append(pngBytes(t, 10, 10), make([]byte, 10<<20)...), "Bad Request: file is too big"},
	} {
		_, err := bot.Send(tgbotapi.NewPhoto(resident, tgbotapi.FileBytes{Name: "x.png", Bytes: tc.data}))
		switch {
		case tc.bad == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.bad != "":
			// Uploads lose the code in the library (research §0.6).
			if e := apiError(t, err); e.Message != tc.bad {
				t.Errorf("%s: %q, want %q", tc.name, e.Message, tc.bad)
			}
			if _, err := bot.Send(tgbotapi.NewDocument(resident, tgbotapi.FileBytes{Name: "x.png", Bytes: tc.data})); err != nil {
				t.Errorf("%s as a document: %v", tc.name, err)
			}
		}
	}
	var photos int
	for _, m := range srv.Messages(resident) {
		if m.Photo != "" {
			photos++
		}
	}
	if photos != 2 {
		t.Errorf("%d photos recorded, want the 2 within the limits", photos)
	}
}
