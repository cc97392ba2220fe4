package delivery_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hangxomso/hangxom/delivery"
	"github.com/hangxomso/hangxom/flows"
)

// Plan makes each message one platform call: a text too long for a caption
// leaves its image (before it) or its document (after it), so that a retry
// of the text never repeats a picture already shown.
func TestPlan(t *testing.T) {
	tg := delivery.Limits{MaxText: 4096, OneMessage: 4096, MaxCaption: 1024}
	long := strings.Repeat("chữ ", 300) // 1,200 characters
	doc := &flows.Document{Name: "a.csv", Data: []byte("a")}
	btn := []flows.Choice{{Data: "1.1", Label: "Xong"}}
	for _, tc := range []struct {
		name string
		r    flows.Reply
		l    delivery.Limits
		want []delivery.Message
	}{
		{"caption fits", flows.Reply{ID: "r", Text: "ảnh", Image: "u", Buttons: btn}, tg,
			[]delivery.Message{{ID: "r", Text: "ảnh", Image: "u", Buttons: btn}}},
		{"photo, then its long text", flows.Reply{ID: "r", Text: long, Image: "u", Buttons: btn}, tg,
			[]delivery.Message{{ID: "r~a", Image: "u"}, {ID: "r", Text: long, Buttons: btn}}},
		{"long text, then its document", flows.Reply{ID: "r", Text: long, Document: doc}, tg,
			[]delivery.Message{{ID: "r~a", Text: long}, {ID: "r", Document: doc}}},
		{"no caption limit", flows.Reply{ID: "r", Text: long, Image: "u"}, delivery.Limits{MaxText: 1 << 30},
			[]delivery.Message{{ID: "r", Text: long, Image: "u"}}},
		{"media carry no text", flows.Reply{ID: "r", Text: "ảnh", Image: "u", Bulk: true}, delivery.Limits{MaxText: 2000, MaxCaption: -1},
			[]delivery.Message{{ID: "r~a", Image: "u", Bulk: true}, {ID: "r", Text: "ảnh", Bulk: true}}},
		{"long text in parts", flows.Reply{ID: "r", Text: long, Buttons: btn}, delivery.Limits{MaxText: 1000},
			[]delivery.Message{{ID: "r~a", Text: strings.TrimSpace(strings.Repeat("chữ ", 250))}, {ID: "r", Text: strings.Repeat("chữ ", 50), Buttons: btn}}},
	} {
		if d := cmp.Diff(tc.want, delivery.Plan(tc.r, tc.l)); d != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, d)
		}
	}
}
