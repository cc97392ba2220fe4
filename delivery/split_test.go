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
		{"no preview on every part", flows.Reply{ID: "r", Text: long + "\n\nhttps://hx.example/login/t", NoPreview: true, Buttons: btn}, delivery.Limits{MaxText: 1000},
			[]delivery.Message{
				{ID: "r~a", Text: strings.TrimSpace(strings.Repeat("chữ ", 250)), NoPreview: true},
				{ID: "r", Text: strings.Repeat("chữ ", 50) + "\n\nhttps://hx.example/login/t", Buttons: btn, NoPreview: true}}},
		{"no preview with a document after its text", flows.Reply{ID: "r", Text: long, Document: doc, NoPreview: true}, tg,
			[]delivery.Message{{ID: "r~a", Text: long, NoPreview: true}, {ID: "r", Document: doc, NoPreview: true}}},
		{"no preview on a numbered screen's every page", flows.Reply{ID: "r", Text: "Chọn", NoPreview: true, Buttons: []flows.Choice{
			{Data: "1", Label: "a"}, {Data: "2", Label: "b"}, {Data: "3", Label: "c"}}}, delivery.Limits{MaxText: 2000, MaxButtons: 2},
			[]delivery.Message{
				{ID: "r~a", Text: "Chọn\n\n1. a\n2. b\n3. c", NoPreview: true, Buttons: []flows.Choice{{Data: "1", Label: "1. a"}, {Data: "2", Label: "2. b"}}},
				{ID: "r", Text: delivery.MoreChoices, NoPreview: true, Buttons: []flows.Choice{{Data: "3", Label: "3. c"}}}}},
	} {
		if d := cmp.Diff(tc.want, delivery.Plan(tc.r, tc.l)); d != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, d)
		}
	}
}

// On a channel that shows at most 5 buttons of 20 characters (Zalo), a
// screen beyond either is numbered in the text as the console prints it,
// its buttons carry "N. label" cut short, five to a message.
func TestPlanNumbersWhatAChannelCannotShow(t *testing.T) {
	zl := delivery.Limits{MaxText: 2000, OneMessage: 2000, MaxCaption: -1, MaxButtons: 5, MaxTitle: 20}
	var communes []flows.Choice
	for i, name := range []string{"Dân Tiến", "La Hiên", "Nghinh Tường", "Sảng Mộc", "Thần Sa", "Tràng Xá", "Võ Nhai"} {
		communes = append(communes, flows.Choice{Data: "c." + string(rune('1'+i)), Label: "🏡 Xã " + name})
	}
	got := delivery.Plan(flows.Reply{ID: "r", Text: "Bác ở xã nào?", Buttons: communes}, zl)
	if len(got) != 2 || len(got[0].Buttons) != 5 || len(got[1].Buttons) != 2 || got[1].Text != delivery.MoreChoices {
		t.Fatalf("plan %+v, want the text with five buttons, then two more", got)
	}
	if got[0].ID != "r~a" || got[1].ID != "r" {
		t.Errorf("ids %s %s", got[0].ID, got[1].ID)
	}
	want := "Bác ở xã nào?\n\n1. 🏡 Xã Dân Tiến\n2. 🏡 Xã La Hiên\n3. 🏡 Xã Nghinh Tường\n4. 🏡 Xã Sảng Mộc\n5. 🏡 Xã Thần Sa\n6. 🏡 Xã Tràng Xá\n7. 🏡 Xã Võ Nhai"
	if got[0].Text != want {
		t.Errorf("text %q, want %q", got[0].Text, want)
	}
	if b := got[0].Buttons[2]; b.Label != "3. 🏡 Xã Nghinh Tường" || b.Data != "c.3" {
		t.Errorf("third button %+v", b)
	}
	// A long label alone numbers the screen too; fitting ones are left.
	long := []flows.Choice{{Data: "1", Label: "💳 Mở tài khoản thanh toán điện tử"}, {Data: "2", Label: "🙋 Cần người giúp"}}
	got = delivery.Plan(flows.Reply{ID: "m", Text: "Menu", Buttons: long}, zl)
	if len(got) != 1 || got[0].Buttons[0].Label != "1. 💳 Mở tài khoản t…" || got[0].Buttons[1].Label != "2. 🙋 Cần người giúp" {
		t.Errorf("plan %+v", got)
	}
	short := []flows.Choice{{Data: "1", Label: "✅ Xong"}, {Data: "2", Label: "↩ Quay lại"}}
	if got = delivery.Plan(flows.Reply{ID: "s", Text: "Bước 1", Buttons: short}, zl); got[0].Text != "Bước 1" || got[0].Buttons[0].Label != "✅ Xong" {
		t.Errorf("a screen Zalo can show was changed: %+v", got)
	}
}
