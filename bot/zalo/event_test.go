package zalo_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hangxomso/hangxom/bot/zalo"
	"github.com/hangxomso/hangxom/bot/zalo/zalotest"
	"github.com/hangxomso/hangxom/flows"
)

// hookT0 is the fixed time of the webhook tests' events.
var hookT0 = time.Date(2026, 12, 7, 18, 30, 0, 0, time.UTC)

func TestZaloDecodeDropsEventsForAnotherOA(t *testing.T) {
	z := zalotest.NewServer(t)
	for _, raw := range [][]byte{
		z.Text("84900000001", "xin chào"),
		z.Event("follow", "84900000001", nil),
		z.Event("unfollow", "84900000001", nil),
	} {
		ev, err := zalo.Decode(raw, "9999999999999999999")
		if err != nil {
			t.Fatal(err)
		}
		if ev.Action != zalo.Ignore || ev.Resident != "" {
			t.Errorf("%s for another OA: action %v, resident %q; want ignore, none", ev.Name, ev.Action, ev.Resident)
		}
		if ev, _ := zalo.Decode(raw, z.OAID); ev.Action == zalo.Ignore {
			t.Errorf("%s for this OA ignored", ev.Name)
		}
	}
}

func TestZaloDecodeKeepsIDsAsStrings(t *testing.T) {
	// Ids longer than an int64 (and a float's 53 bits), numbers or not.
	raw := []byte(`{"app_id":1,"event_name":"user_send_text","timestamp":1796666400000,` +
		`"sender":{"id":123456789012345678901234567890},"recipient":{"id":"7"},` +
		`"message":{"msg_id":98765432109876543210987,"text":"a"}}`)
	ev, err := zalo.Decode(raw, "7")
	if err != nil {
		t.Fatal(err)
	}
	want := zalo.Event{Name: "user_send_text", Action: zalo.Process, ID: "zl:98765432109876543210987",
		Resident: "zl:123456789012345678901234567890", Timestamp: "1796666400000",
		Input: flows.Input{Kind: flows.InputText, Text: "a", UpdateID: "zl:98765432109876543210987"}}
	if diff := cmp.Diff(want, ev); diff != "" {
		t.Errorf("Decode (-want +got):\n%s", diff)
	}
}

func TestZaloDecodeRefusesWhatIsNoEvent(t *testing.T) {
	for _, raw := range []string{``, `[]`, `"x"`, `{"message":"text"}`, `{"sender":{"id":{}}}`, `{`} {
		if _, err := zalo.Decode([]byte(raw), "1"); err == nil {
			t.Errorf("Decode(%q) succeeded", raw)
		}
	}
	// Readable, but about no one: acknowledged and ignored.
	for _, raw := range []string{`{}`, `null`, `{"event_name":"user_send_text"}`,
		`{"event_name":"user_send_text","sender":{"id":"a:b"}}`} {
		ev, err := zalo.Decode([]byte(raw), "1")
		if err != nil || ev.Action != zalo.Ignore {
			t.Errorf("Decode(%q) = %v, %v; want ignore", raw, ev.Action, err)
		}
	}
}

func FuzzDecode(f *testing.F) {
	z := zalotest.NewServer(f)
	z.Now = func() time.Time { return hookT0 }
	for _, raw := range [][]byte{
		z.Text("1", "/start h_abc"),
		z.Text("1", zalo.PayloadPrefix+"a.b"),
		z.Event("user_send_image", "1", map[string]any{"attachments": []any{map[string]any{"type": "image",
			"payload": map[string]any{"url": "https://x/y.jpg"}}}}),
		z.Event("follow", "1", nil),
		z.Event("user_submit_info", "1", map[string]any{"phone": "84912345678"}),
		z.Event("user_seen_message", "1", map[string]any{"msg_ids": []string{"a"}}),
		[]byte(`{"timestamp":1,"sender":{"id":2}}`),
	} {
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		ev, err := zalo.Decode(raw, z.OAID)
		if err != nil {
			return
		}
		if ev.Action != zalo.Ignore && !strings.HasPrefix(ev.Resident, "zl:") {
			t.Errorf("action %v for resident %q", ev.Action, ev.Resident)
		}
		if ev.Input.UpdateID != ev.ID {
			t.Errorf("UpdateID %q, ID %q", ev.Input.UpdateID, ev.ID)
		}
		_ = zalo.Verify(raw, "mac="+zalotest.Sign(z.AppID, raw, ev.Timestamp, z.OASecretKey), z.AppID, z.OASecretKey)
	})
}

// hookTS is hookT0 as an event's timestamp.
var hookTS = strconv.FormatInt(hookT0.UnixMilli(), 10)
