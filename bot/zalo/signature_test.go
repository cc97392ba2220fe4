package zalo_test

import (
	"strings"
	"testing"

	"github.com/hangxomso/hangxom/bot/zalo"
	"github.com/hangxomso/hangxom/bot/zalo/zalotest"
)

func TestZaloVerifyTakesEitherFormAndRefusesTheRest(t *testing.T) {
	const app, key, ts = "3141592653589793238", "oaSecretKeyOfTheApp1", "1796666400000"
	body := []byte(`{"app_id":"` + app + `","event_name":"user_send_text","timestamp":"` + ts +
		`","sender":{"id":"84912345678"},"recipient":{"id":"2718281828459045235"},` +
		`"message":{"msg_id":"m1","text":"Chào bà con, hôm nay trời đẹp quá 🌞🇻🇳"}}`)
	sig := zalotest.Sign(app, body, ts, key)
	changed := []byte(strings.Replace(string(body), "đẹp", "đep", 1))
	otherApp := []byte(strings.Replace(string(body), app, "1111111111111111111", 1))
	for _, tc := range []struct {
		name   string
		body   []byte
		header string
		app    string
		key    string
		want   bool
	}{
		{"mac= form", body, "mac=" + sig, app, key, true},
		{"bare hex", body, sig, app, key, true},
		{"upper-case hex and MAC=", body, "MAC=" + strings.ToUpper(sig), app, key, true},
		{"spaces around", body, " mac= " + sig + " ", app, key, true},
		{"one byte changed", changed, "mac=" + sig, app, key, false},
		{"another app's event signed with its own id", otherApp,
			"mac=" + zalotest.Sign("1111111111111111111", otherApp, ts, key), app, key, false},
		{"wrong key", body, "mac=" + sig, app, "anotherKey", false},
		{"no header", body, "", app, key, false},
		{"mac= alone", body, "mac=", app, key, false},
		{"short", body, "mac=" + sig[:62], app, key, false},
		{"not hex", body, "mac=" + strings.Repeat("zz", 32), app, key, false},
		{"HMAC-like other sum", body, "mac=" + zalotest.Sign(app, body, ts, key+"x"), app, key, false},
		{"no key configured", body, "mac=" + zalotest.Sign(app, body, ts, ""), app, "", false},
		{"no app configured", body, "mac=" + sig, "", key, false},
		{"not JSON", []byte("app_id"), "mac=" + sig, app, key, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := zalo.Verify(tc.body, tc.header, tc.app, tc.key); got != tc.want {
				t.Errorf("Verify = %v, want %v", got, tc.want)
			}
		})
	}
}

// A numeric timestamp, should Zalo ever send one, is signed as written.
func TestZaloVerifyReadsANumericTimestampAsWritten(t *testing.T) {
	const app, key = "1", "k"
	body := []byte(`{"app_id":"1","timestamp":1796666400000123456789,"event_name":"x"}`)
	sig := zalotest.Sign(app, body, "1796666400000123456789", key)
	if !zalo.Verify(body, sig, app, key) {
		t.Error("a numeric timestamp was not read as written")
	}
}
