package telegram_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hangxomso/hangxom/bot/telegram"
	"github.com/hangxomso/hangxom/bot/telegram/telegramtest"
	"github.com/hangxomso/hangxom/flows"
)

// recording is a service that records what it was handed, and a store that
// records reachability changes: a refused update reaches neither.
type recording struct {
	mu     sync.Mutex
	inputs []string // resident " " command or kind
	reach  []string
}

func (r *recording) Handle(_ context.Context, resident string, in flows.Input) (flows.Handled, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.inputs = append(r.inputs, resident+" "+string(in.Kind)+":"+in.Command)
	return flows.Handled{}, nil
}

func (r *recording) SetReachable(_ context.Context, resident string, _ bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reach = append(r.reach, resident)
	return nil
}

func (r *recording) handled() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append(append([]string(nil), r.inputs...), r.reach...)
}

// newEdgeReceiver is a receiver on the fake Bot API, with the bot's
// username from getMe as serve does.
func newEdgeReceiver(t *testing.T) (*telegram.Receiver, *recording, *telegramtest.Server) {
	t.Helper()
	fake := telegramtest.NewServer(t, "")
	client, err := telegram.NewClient(t.Context(), fake.URL, fake.Token, telegramtest.LoopbackClient(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	rec := &recording{}
	return &telegram.Receiver{Service: rec, Client: client, Store: rec, Loc: words{},
		Username: client.Self().UserName}, rec, fake
}

// A private chat's id is its user's, always positive: an update with a chat
// id of 0 or below (forged, or broken) would create a session whose replies
// can never be sent. It is refused before anything is stored.
func TestReceiverRefusesAPrivateChatIDNotAbove0(t *testing.T) {
	for _, tc := range []struct{ name, raw string }{
		{"message in chat 0", `{"update_id":1,"message":{"message_id":1,"date":1,"chat":{"id":0,"type":"private"},"from":{"id":0,"is_bot":false,"first_name":"A"},"text":"chào"}}`},
		{"message in chat -5", `{"update_id":2,"message":{"message_id":1,"date":1,"chat":{"id":-5,"type":"private"},"from":{"id":5,"is_bot":false,"first_name":"A"},"text":"/start","entities":[{"type":"bot_command","offset":0,"length":6}]}}`},
		{"tap in chat -5", `{"update_id":3,"callback_query":{"id":"77","from":{"id":5,"is_bot":false,"first_name":"A"},"message":{"message_id":3,"date":1,"chat":{"id":-5,"type":"private"},"text":"?"},"chat_instance":"1","data":"1.1"}}`},
		{"tap without message from user 0", `{"update_id":4,"callback_query":{"id":"78","from":{"id":0,"is_bot":false,"first_name":"A"},"chat_instance":"1","data":"1.1"}}`},
		{"block in chat -5", `{"update_id":5,"my_chat_member":{"chat":{"id":-5,"type":"private"},"from":{"id":5,"is_bot":false,"first_name":"A"},"date":1,"old_chat_member":{"user":{"id":1,"is_bot":true,"first_name":"B"},"status":"member"},"new_chat_member":{"user":{"id":1,"is_bot":true,"first_name":"B"},"status":"kicked"}}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, rec, fake := newEdgeReceiver(t)
			if err := r.Receive(t.Context(), []byte(tc.raw)); err != nil {
				t.Fatal(err)
			}
			if got := rec.handled(); len(got) != 0 {
				t.Errorf("refused update reached the service or the store: %q", got)
			}
			if n := len(fake.Calls("sendMessage")); n != 0 {
				t.Errorf("%d sendMessage calls for a refused update", n)
			}
		})
	}
}

// A button of an inline-mode message (a callback query with
// inline_message_id and no message) leads to no conversation, but the tap
// is answered, by polling and in a webhook's response alike: unanswered,
// the button spins for some 15 s.
func TestReceiverAnswersATapOnAnInlineMessage(t *testing.T) {
	const tap = `{"update_id":9,"callback_query":{"id":"4243","from":{"id":7,"is_bot":false,"first_name":"Lan"},` +
		`"inline_message_id":"AAEx","chat_instance":"1","data":"1.1"}}`
	t.Run("polling", func(t *testing.T) {
		r, rec, fake := newEdgeReceiver(t)
		if err := r.Receive(t.Context(), []byte(tap)); err != nil {
			t.Fatal(err)
		}
		calls := fake.WaitCalls(t, "answerCallbackQuery", 1)
		if got := calls[0].Params["callback_query_id"]; got != "4243" {
			t.Errorf("answered %q, want 4243", got)
		}
		if got := rec.handled(); len(got) != 0 {
			t.Errorf("an inline message's tap reached the service: %q", got)
		}
	})
	t.Run("polling, a slow answer", func(t *testing.T) {
		// The poller takes updates one at a time: the answer to an ignored
		// tap goes out beside it, not before the next update.
		// The fake holds the answer 3 s; Receive must be back long before.
		r, _, fake := newEdgeReceiver(t)
		fake.Fail("answerCallbackQuery", 1, telegramtest.Fault{Delay: 3 * time.Second})
		done := make(chan error, 1)
		go func() { done <- r.Receive(t.Context(), []byte(tap)) }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(1500 * time.Millisecond):
			t.Fatal("Receive waited for the answer to an ignored tap")
		}
		fake.WaitCalls(t, "answerCallbackQuery", 1)
	})
	t.Run("webhook", func(t *testing.T) {
		r, rec, _ := newEdgeReceiver(t)
		hook := &telegram.Webhook{Receiver: r, Secret: "s3cret"}
		req := httptest.NewRequest(http.MethodPost, "/tg", bytes.NewReader([]byte(tap)))
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", "s3cret")
		w := httptest.NewRecorder()
		hook.ServeHTTP(w, req)
		form, _ := url.ParseQuery(w.Body.String())
		if w.Code != http.StatusOK || form.Get("method") != "answerCallbackQuery" || form.Get("callback_query_id") != "4243" {
			t.Errorf("webhook response %d %q, want the tap answered in it", w.Code, w.Body.String())
		}
		if got := rec.handled(); len(got) != 0 {
			t.Errorf("an inline message's tap reached the service: %q", got)
		}
	})
}

// "/start@SomeOtherBot" is addressed to another bot and ignored; a command
// addressed to this bot (its username from getMe, in any case) is handled.
func TestReceiverIgnoresACommandForAnotherBot(t *testing.T) {
	cmd := func(id int, text string) []byte {
		n := len(text)
		if i := strings.IndexByte(text, ' '); i >= 0 {
			n = i
		}
		return fmt.Appendf(nil, `{"update_id":%d,"message":{"message_id":1,"date":1,"chat":{"id":42,"type":"private"},`+
			`"from":{"id":42,"is_bot":false,"first_name":"Lan"},"text":%q,"entities":[{"type":"bot_command","offset":0,"length":%d}]}}`,
			id, text, n)
	}
	r, rec, _ := newEdgeReceiver(t)
	own := "/start@" + r.Username
	for i, text := range []string{"/start@SomeOtherBot", "/pending@SomeOtherBot x", own, "/HELP@" + "HANGXOMSO_TEST_BOT", "/menu"} {
		if err := r.Receive(t.Context(), cmd(i+1, text)); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"tg:42 command:start", "tg:42 command:help", "tg:42 command:menu"}
	got := rec.handled()
	if len(got) != len(want) {
		t.Fatalf("handled %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("handled %q, want %q", got, want)
			break
		}
	}
}
