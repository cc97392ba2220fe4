package store

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hangxomso/hangxom/flows"
)

// TestReplyMemoEqualsDecoding checks that a reply kept by the memo is what
// decoding its JSON gives, so that a claim is the same whether this process
// wrote the outbox or not; and that a reply decoding would not give back
// exactly (a document) is not kept.
func TestReplyMemoEqualsDecoding(t *testing.T) {
	replies := []flows.Reply{
		{ID: "tg:1#0", Text: "Chào bà con"},
		{ID: "tg:1#1", Text: "Chọn một mục:", Buttons: []flows.Choice{{Data: "1.0", Label: "Ví điện tử"}, {Data: "1.1", Label: "Quay lại", Action: "back"}}},
		{ID: "tg:1#2", Text: "Gửi số điện thoại", Buttons: []flows.Choice{{Label: "📱 Gửi số", Contact: true}}},
		{ID: "tg:1#3", Text: "ảnh", Image: "https://example.org/a.png", Buttons: []flows.Choice{}},
		{ID: "remind:9", Text: "nhắc <b>&amp;</b> \"trích\"\n\ttab", Bulk: true},
		{ID: "tg:1#4", Text: ""},
	}
	var m replyMemo
	for _, r := range replies {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		m.put(string(b), r)
		want, err := decodeReply(string(b))
		if err != nil {
			t.Fatal(err)
		}
		got, ok := m.take(string(b))
		if !ok {
			t.Fatalf("%s: not kept", r.ID)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: kept reply differs from the decoded one (-decoded +kept):\n%s", r.ID, diff)
		}
		if _, ok := m.take(string(b)); ok {
			t.Errorf("%s: taken twice", r.ID)
		}
	}
	doc := flows.Reply{ID: "tg:2#0", Text: "tệp", Document: &flows.Document{Name: "a.csv", Data: []byte{}}}
	b, _ := json.Marshal(doc)
	m.put(string(b), doc)
	if _, ok := m.take(string(b)); ok {
		t.Error("a reply with a document was kept")
	}
}
