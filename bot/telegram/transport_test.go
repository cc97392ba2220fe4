package telegram_test

import (
	"testing"
	"time"

	"github.com/hangxomso/hangxom/bot/telegram"
	"github.com/hangxomso/hangxom/bot/telegram/telegramtest"
	"github.com/hangxomso/hangxom/delivery"
	"github.com/hangxomso/hangxom/flows"
)

// Telegram's answers become the core's outcomes, uploads included, whose
// errors lose their HTTP code in the library (it is read from the
// description): a refused upload must not be retried for ever.
func TestTransportClassifiesTelegramsAnswers(t *testing.T) {
	fake := telegramtest.NewServer(t, "")
	client, err := telegram.NewClient(t.Context(), fake.URL, fake.Token, telegramtest.LoopbackClient(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	tr := &telegram.Transport{Client: client}
	doc := delivery.Message{ID: "d", Text: "Báo cáo"}
	for _, tc := range []struct {
		name   string
		method string
		fault  telegramtest.Fault
		upload bool
		want   delivery.Outcome
	}{
		{"400", "sendMessage", telegramtest.Fault{Code: 400, Description: "Bad Request: can't parse entities"}, false, delivery.Rejected},
		{"403", "sendMessage", telegramtest.Fault{Code: 403}, false, delivery.Unreachable},
		{"429", "sendMessage", telegramtest.Fault{Code: 429, RetryAfter: 3}, false, delivery.RateLimited},
		{"502 page", "sendMessage", telegramtest.Fault{HTTPStatus: 502, Body: "<html>bad gateway</html>"}, false, delivery.Transient},
		{"500", "sendMessage", telegramtest.Fault{Code: 500}, false, delivery.Transient},
		{"lost answer", "sendMessage", telegramtest.Fault{LoseAnswer: true}, false, delivery.Uncertain},
		{"upload 400", "sendDocument", telegramtest.Fault{Code: 400, Description: "Bad Request: chat not found"}, true, delivery.Rejected},
		{"upload 413", "sendDocument", telegramtest.Fault{Code: 413, Description: "Request Entity Too Large"}, true, delivery.Rejected},
		{"upload 403", "sendDocument", telegramtest.Fault{Code: 403}, true, delivery.Unreachable},
		{"upload 429", "sendDocument", telegramtest.Fault{Code: 429, RetryAfter: 2}, true, delivery.RateLimited},
	} {
		fake.Fail(tc.method, 1, tc.fault)
		m := delivery.Message{ID: "m", Text: "xin chào"}
		if tc.upload {
			m = doc
			m.Document = &flows.Document{Name: "hangxom.csv", Data: []byte("a,b\n")}
		}
		res := tr.Send(t.Context(), "tg:61", m)
		if res.Outcome != tc.want {
			t.Errorf("%s: %v (%v), want %v", tc.name, res.Outcome, res.Err, tc.want)
		}
		if tc.want == delivery.RateLimited && res.Wait < time.Second {
			t.Errorf("%s: wait %v, want retry_after", tc.name, res.Wait)
		}
	}
}
