package telegram_test

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/png"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hangxomso/hangxom/bot/telegram"
	"github.com/hangxomso/hangxom/bot/telegram/telegramtest"
	"github.com/hangxomso/hangxom/delivery"
	"github.com/hangxomso/hangxom/flows"
)

func newTransport(t *testing.T) (*telegram.Transport, *telegramtest.Server) {
	t.Helper()
	fake := telegramtest.NewServer(t, "")
	client, err := telegram.NewClient(t.Context(), fake.URL, fake.Token, telegramtest.LoopbackClient(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return &telegram.Transport{Client: client}, fake
}

// A message sent with NoPreview carries both of Telegram's switches: the
// legacy disable_web_page_preview (all v5.5.1 knows) and Bot API 7.0's
// link_preview_options, which Telegram reads first. Its other parameters
// are those the library sends for the same message, so building them by
// hand changed nothing else; a message without NoPreview carries neither.
func TestTransportTurnsLinkPreviewsOffOnlyWhenAsked(t *testing.T) {
	tr, fake := newTransport(t)
	btn := []flows.Choice{{Data: "d.1", Label: "Mở"}}
	text := "Bảng theo dõi của thôn:\n\nhttps://hx.example/login/abc\n\nDùng được một lần, trong 10 phút."
	for _, m := range []delivery.Message{
		{ID: "a", Text: text, Buttons: btn},
		{ID: "b", Text: text, Buttons: btn, NoPreview: true},
		{ID: "c", Text: text},
		{ID: "d", Text: text, NoPreview: true},
	} {
		if res := tr.Send(t.Context(), "tg:71", m); res.Outcome != delivery.Sent {
			t.Fatalf("%s: %v (%v)", m.ID, res.Outcome, res.Err)
		}
	}
	ms := fake.Messages(71)
	for i, want := range []bool{false, true, false, true} {
		m := ms[i]
		if m.PreviewOff() != want || m.DisableWebPagePreview != want {
			t.Errorf("message %d: preview off %v, disable_web_page_preview %v, want %v", i, m.PreviewOff(), m.DisableWebPagePreview, want)
		}
		if wantOpts := map[bool]string{true: `{"is_disabled":true}`}[want]; m.LinkPreviewOptions != wantOpts {
			t.Errorf("message %d: link_preview_options %q, want %q", i, m.LinkPreviewOptions, wantOpts)
		}
		if m.Text != text {
			t.Errorf("message %d: text %q", i, m.Text)
		}
	}
	if len(ms[1].Buttons) != 1 || ms[1].Buttons[0][0].CallbackData != "d.1" {
		t.Errorf("the no-preview message lost its buttons: %+v", ms[1].Buttons)
	}
	calls := fake.Calls("sendMessage")
	for _, pair := range [][2]int{{0, 1}, {2, 3}} {
		plain, off := calls[pair[0]].Params, maps.Clone(calls[pair[1]].Params)
		delete(off, "disable_web_page_preview")
		delete(off, "link_preview_options")
		if d := cmp.Diff(plain, off); d != "" {
			t.Errorf("calls %v: the no-preview call differs from the library's beyond the two switches (-library +ours):\n%s", pair, d)
		}
	}
}

// A phone-number request (a reply keyboard) turns previews off too.
func TestTransportTurnsPreviewsOffOnAPhoneNumberRequest(t *testing.T) {
	tr, fake := newTransport(t)
	m := delivery.Message{ID: "p", Text: "Xem https://hx.example rồi gửi số", NoPreview: true,
		Buttons: []flows.Choice{{Label: "📱 Gửi số điện thoại", Contact: true}}}
	if res := tr.Send(t.Context(), "tg:72", m); res.Outcome != delivery.Sent {
		t.Fatalf("%v (%v)", res.Outcome, res.Err)
	}
	got := fake.Messages(72)[0]
	if !got.PreviewOff() || !got.DisableWebPagePreview || !strings.Contains(got.ReplyMarkup, `"request_contact":true`) {
		t.Errorf("message %+v", got)
	}
}

// pngOf is a real PNG of w×h (small sizes only).
func pngOf(t *testing.T, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, w, h))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// pngHeader is the start of a PNG declaring w×h: enough for a reader of
// its size (image.DecodeConfig), not for a decoder, and cheap at any size.
func pngHeader(w, h int) []byte {
	ihdr := make([]byte, 4+13)
	copy(ihdr, "IHDR")
	binary.BigEndian.PutUint32(ihdr[4:], uint32(w))
	binary.BigEndian.PutUint32(ihdr[8:], uint32(h))
	ihdr[12], ihdr[13] = 8, 0 // 8-bit grayscale
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	_ = binary.Write(&b, binary.BigEndian, uint32(13))
	b.Write(ihdr)
	_ = binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(ihdr))
	return b.Bytes()
}

// Telegram takes a photo of at most 10 MB whose sides sum to at most 10000
// and differ by a ratio of at most 20; PhotoFits keeps to that, at the
// edges too, and to the formats it can measure.
func TestPhotoFitsTelegramsLimits(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
		want bool
	}{
		{"a chart", pngOf(t, 1200, 800), true},
		{"sides summing to 10000", pngHeader(5000, 5000), true},
		{"sides summing to 10001", pngHeader(5001, 5000), false},
		{"a ratio of 20", pngHeader(4000, 200), true},
		{"a ratio over 20", pngHeader(4001, 200), false},
		{"a tall one over 20", pngHeader(200, 4001), false},
		{"10,000,000 bytes", append(pngOf(t, 10, 10), make([]byte, 10_000_000-len(pngOf(t, 10, 10)))...), true},
		{"over 10,000,000 bytes", append(pngOf(t, 10, 10), make([]byte, 10_000_001-len(pngOf(t, 10, 10)))...), false},
		{"a CSV", []byte("a,b\n1,2\n"), false},
		{"nothing", nil, false},
	} {
		if got := telegram.PhotoFits(tc.data); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// A document marked Photo (a chart) goes as a photo, with its caption and
// buttons, when Telegram takes it as one; as a file otherwise, and when
// Telegram refuses it as a photo after all. One the resident blocked is
// not tried again as a file. An unmarked picture (a poster) stays a file.
func TestTransportSendsAPictureDocumentAsAPhoto(t *testing.T) {
	chart := pngOf(t, 1200, 800)
	btn := []flows.Choice{{Data: "s.1", Label: "Xem theo xã"}}
	for _, tc := range []struct {
		name    string
		doc     flows.Document
		fault   *telegramtest.Fault // on sendPhoto
		want    delivery.Outcome
		calls   []string // sendPhoto, sendDocument
		asPhoto bool
	}{
		{"a chart", flows.Document{Name: "bieu-do.png", Data: chart, Photo: true}, nil, delivery.Sent, []string{"sendPhoto"}, true},
		{"a poster", flows.Document{Name: "ap.png", Data: chart}, nil, delivery.Sent, []string{"sendDocument"}, false},
		{"too wide", flows.Document{Name: "rong.png", Data: pngOf(t, 4200, 200), Photo: true}, nil, delivery.Sent, []string{"sendDocument"}, false},
		{"not a picture", flows.Document{Name: "so-lieu.csv", Data: []byte("a,b\n"), Photo: true}, nil, delivery.Sent, []string{"sendDocument"}, false},
		{"refused as a photo", flows.Document{Name: "bieu-do.png", Data: chart, Photo: true},
			&telegramtest.Fault{Code: 400, Description: "Bad Request: IMAGE_PROCESS_FAILED"}, delivery.Sent, []string{"sendPhoto", "sendDocument"}, false},
		{"blocked", flows.Document{Name: "bieu-do.png", Data: chart, Photo: true},
			&telegramtest.Fault{Code: 403}, delivery.Unreachable, []string{"sendPhoto"}, false},
		{"rate limited", flows.Document{Name: "bieu-do.png", Data: chart, Photo: true},
			&telegramtest.Fault{Code: 429, RetryAfter: 2}, delivery.RateLimited, []string{"sendPhoto"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr, fake := newTransport(t)
			if tc.fault != nil {
				fake.Fail("sendPhoto", 1, *tc.fault)
			}
			d := tc.doc
			res := tr.Send(t.Context(), "tg:73", delivery.Message{ID: "s", Text: "Tháng 11: 42 hộ", Buttons: btn, Document: &d})
			if res.Outcome != tc.want {
				t.Fatalf("%v (%v), want %v", res.Outcome, res.Err, tc.want)
			}
			var calls []string
			for _, c := range fake.Calls("") {
				if c.Method != "getMe" {
					calls = append(calls, c.Method)
				}
			}
			if d := cmp.Diff(tc.calls, calls); d != "" {
				t.Errorf("calls (-want +got):\n%s", d)
			}
			ms := fake.Messages(73)
			if tc.want != delivery.Sent {
				if len(ms) != 0 {
					t.Errorf("messages %+v, want none", ms)
				}
				return
			}
			if len(ms) != 1 {
				t.Fatalf("%d messages, want 1: %+v", len(ms), ms)
			}
			m := ms[0]
			if asPhoto := m.Photo != ""; asPhoto != tc.asPhoto {
				t.Errorf("sent as a photo: %v, want %v (%+v)", asPhoto, tc.asPhoto, m)
			}
			if up := "file:" + d.Name; m.Photo != up && m.Document != up {
				t.Errorf("uploaded %q / %q, want %q", m.Photo, m.Document, up)
			}
			if data, ok := fake.File(m.FileID); !ok || !bytes.Equal(data, d.Data) {
				t.Errorf("the uploaded bytes differ")
			}
			if m.Caption != "Tháng 11: 42 hộ" || len(m.Buttons) != 1 || res.Buttons == "" {
				t.Errorf("caption %q, buttons %v, handle %q", m.Caption, m.Buttons, res.Buttons)
			}
		})
	}
}
