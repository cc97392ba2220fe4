package loadtest

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The fake counts calls by method as they arrive, the bot's own requests
// and the methods given in webhook answers alike, and a run prints the
// difference per update.
func TestFakeAPICountsCallsByMethod(t *testing.T) {
	const token = "123:abc"
	f, err := NewFakeAPI(token)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	// The bot: every update is answered with a tap's answer.
	bot := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/x-www-form-urlencoded")
		_, _ = io.WriteString(w, "method=answerCallbackQuery&callback_query_id=7-1")
	}))
	defer bot.Close()

	call := func(method string, form url.Values) {
		t.Helper()
		req := httptest.NewRequest(http.MethodPost, "/bot"+token+"/"+method, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		f.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			t.Errorf("%s: %d %s", method, w.Code, w.Body)
		}
	}
	call("setWebhook", url.Values{"url": {bot.URL}, "secret_token": {"s"}})
	before := f.ByMethod()

	chat := url.Values{"chat_id": {"7"}}
	for range 2 {
		if status, err := f.Deliver(context.Background(), bot.Client(), []byte(`{"update_id":1}`)); err != nil || status != http.StatusOK {
			t.Fatalf("Deliver: %d, %v", status, err)
		}
	}
	call("answerCallbackQuery", url.Values{"callback_query_id": {"7-2"}})
	call("sendMessage", url.Values{"chat_id": {"7"}, "text": {"a"}})
	call("sendMessage", url.Values{"chat_id": {"7"}, "text": {"b"}})
	call("sendMessage", url.Values{"chat_id": {"7"}, "text": {"c"}})
	call("sendPhoto", chat)
	call("editMessageReplyMarkup", url.Values{"chat_id": {"7"}, "message_id": {"1"}})
	// Concurrent calls of a method not seen yet: each is counted once.
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() { call("deleteMessage", url.Values{"chat_id": {"7"}, "message_id": {"2"}}) })
	}
	wg.Wait()
	// A wrong token names no method: counted in Calls only.
	w := httptest.NewRecorder()
	f.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/bot999:x/sendMessage", nil))
	if w.Code != http.StatusUnauthorized {
		t.Fatalf("wrong token: %d", w.Code)
	}

	after := f.ByMethod()
	wantAll := map[string]MethodCount{
		"setWebhook":             {Calls: 1},
		"answerCallbackQuery":    {Calls: 3, InResponse: 2},
		"sendMessage":            {Calls: 3},
		"sendPhoto":              {Calls: 1},
		"editMessageReplyMarkup": {Calls: 1},
		"deleteMessage":          {Calls: 4},
	}
	if diff := cmp.Diff(wantAll, after); diff != "" {
		t.Errorf("ByMethod (-want +got):\n%s", diff)
	}
	if got, want := f.Calls.Load(), int64(14); got != want {
		t.Errorf("Calls = %d, want %d", got, want)
	}
	if got, want := f.InResponse.Load(), int64(2); got != want {
		t.Errorf("InResponse = %d, want %d", got, want)
	}

	delta := DeltaByMethod(before, after)
	want := map[string]MethodCount{
		"answerCallbackQuery":    {Calls: 3, InResponse: 2},
		"sendMessage":            {Calls: 3},
		"sendPhoto":              {Calls: 1},
		"editMessageReplyMarkup": {Calls: 1},
		"deleteMessage":          {Calls: 4},
	}
	if diff := cmp.Diff(want, delta); diff != "" {
		t.Errorf("DeltaByMethod (-want +got):\n%s", diff)
	}

	// As if 4 updates were answered over the run.
	got := ByMethodLine(delta, 4)
	wantLine := "Bot API calls per update by method: answerCallbackQuery 0.75 (0.50 in the webhook's answer)," +
		" deleteMessage 1.00, editMessageReplyMarkup 0.25, sendMessage 0.75, sendPhoto 0.25"
	if got != wantLine {
		t.Errorf("ByMethodLine:\n got %s\nwant %s", got, wantLine)
	}
	if got, want := ByMethodLine(nil, 4), "Bot API calls per update by method: none"; got != want {
		t.Errorf("ByMethodLine(nil) = %q, want %q", got, want)
	}
}
