package zalo

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/hangxomso/hangxom/delivery"
	"github.com/hangxomso/hangxom/flows"
)

// Zalo's limits (research note zalo-oa.md, "Sending"): 2,000 characters a
// text, 5 buttons a message; a button's title is kept to 20 characters, as
// one working codebase caps it (the documented limit is not known).
const (
	maxText    = 2000
	maxButtons = 5
	maxTitle   = 20
)

// Transport is Zalo's sending half for the delivery core: consultation
// messages (the 7-day window is the caller's to respect), buttons as
// oa.query.hide payloads, pictures as media messages.
type Transport struct {
	Client *Client
	// RateWait is how long to wait after error -32 (the app's 4,000
	// requests a minute spent); default 5 s.
	RateWait time.Duration
}

var _ delivery.Transport = (*Transport)(nil)

// Name implements delivery.Transport.
func (*Transport) Name() string { return "zalo" }

// Owns implements delivery.Transport: Zalo's residents are "zl:<user id>".
func (*Transport) Owns(resident string) bool {
	_, ok := UserID(resident)
	return ok
}

// Limits implements delivery.Transport. A media message carries no text
// here, so a picture goes before its text; a screen with more than five
// choices, or a label too long for a button, is numbered in the text as
// the console shows it (delivery.Plan).
func (*Transport) Limits() delivery.Limits {
	return delivery.Limits{MaxText: maxText, OneMessage: maxText, MaxCaption: -1,
		MaxButtons: maxButtons, MaxTitle: maxTitle}
}

// Send implements delivery.Transport. A picture document (a poster, or
// one marked flows.Document.Photo, a chart) is uploaded and sent as a
// picture: the OA API shows pictures and sends no other file here, so
// Photo changes nothing but lets a picture with an unusual name through.
// m.NoPreview asks nothing of Zalo: the OA API has no switch for link
// previews (research note zalo-oa.md, "Sending": a text is only
// {"text"}), so a link is sent as it is.
func (t *Transport) Send(ctx context.Context, resident string, m delivery.Message) delivery.Result {
	userID, ok := UserID(resident)
	if !ok {
		return delivery.Result{Outcome: delivery.Rejected, Err: errors.New("zalo: not a Zalo resident")}
	}
	var message map[string]any
	name, picture := pictureName(m.Document)
	switch {
	case picture:
		// Uploaded, then sent as a picture.
		id, err := t.Client.UploadImage(ctx, name, m.Document.Data)
		if err != nil {
			return t.classifyUpload(err)
		}
		message = media(map[string]any{"media_type": "image", "attachment_id": id})
	case m.Document != nil:
		// The OA API's file upload is not known to take a CSV (the note
		// marks it unverified): the export is refused here, and said so in
		// the README; a coordinator takes it on Telegram or the console.
		return delivery.Result{Outcome: delivery.Rejected, Err: errors.New("zalo: a file other than a picture cannot be sent")}
	case strings.HasPrefix(m.Image, "data:"):
		img, err := dataURL(m.Image)
		if err != nil {
			return delivery.Result{Outcome: delivery.Rejected, Err: err}
		}
		id, err := t.Client.UploadImage(ctx, "image.png", img)
		if err != nil {
			return t.classifyUpload(err)
		}
		message = media(map[string]any{"media_type": "image", "attachment_id": id})
	case m.Image != "":
		message = media(map[string]any{"media_type": "image", "url": m.Image})
	default:
		message = map[string]any{"text": m.Text}
		if bs := buttons(m); len(bs) > 0 {
			message["attachment"] = map[string]any{"type": "template", "payload": map[string]any{"buttons": bs}}
		}
	}
	msgID, err := t.Client.Send(ctx, userID, message)
	if err != nil {
		return t.classify(err)
	}
	res := delivery.Result{Outcome: delivery.Sent}
	if message["attachment"] != nil && len(m.Buttons) > 0 {
		res.Buttons = delivery.Handle(msgID)
	}
	return res
}

func media(element map[string]any) map[string]any {
	return map[string]any{"attachment": map[string]any{"type": "template", "payload": map[string]any{
		"template_type": "media", "elements": []any{element}}}}
}

// buttons renders the message's choices as oa.query.hide buttons, whose
// payload comes back as the user's text when tapped (PayloadPrefix and the
// choice's data). A phone-number request has no button here.
func buttons(m delivery.Message) []map[string]string {
	var bs []map[string]string
	for _, c := range m.Buttons {
		if c.Contact {
			continue
		}
		bs = append(bs, map[string]string{"title": c.Label, "type": "oa.query.hide", "payload": PayloadPrefix + c.Data})
	}
	return bs
}

// pictureName says whether d is sent as a picture, and under which file
// name: a document named .png, .jpg or .jpeg; or one marked Photo whose
// bytes are a PNG or a JPEG (the two kinds the upload takes), named so.
func pictureName(d *flows.Document) (string, bool) {
	switch {
	case d == nil:
		return "", false
	case isImageName(d.Name):
		return path.Base(d.Name), true
	case !d.Photo:
		return "", false
	}
	base := strings.TrimSuffix(path.Base(d.Name), path.Ext(d.Name))
	if base == "" || base == "." || base == "/" {
		base = "image"
	}
	switch http.DetectContentType(d.Data) {
	case "image/png":
		return base + ".png", true
	case "image/jpeg":
		return base + ".jpg", true
	}
	return "", false
}

func isImageName(name string) bool {
	switch strings.ToLower(path.Ext(name)) {
	case ".png", ".jpg", ".jpeg":
		return true
	}
	return false
}

// dataURL decodes a base64 data: URL.
func dataURL(s string) ([]byte, error) {
	_, enc, ok := strings.Cut(s, ";base64,")
	if !ok {
		return nil, errors.New("zalo: an image data URL that is not base64")
	}
	return base64.StdEncoding.DecodeString(enc)
}

// Classify turns an OA API call's error into the core's outcome:
//   - the request written and the answer lost: Uncertain;
//   - -32 (over the app's 4,000 requests a minute): RateLimited;
//   - -213 (not a follower: unfollowed) and -227 (banned, or inactive 45
//     days): Unreachable;
//   - any other error answer (-201 a bad parameter or a user who never wrote,
//     -230/-232 outside the 7-day window, a token still refused after a
//     refresh…): Rejected, never retried;
//   - no answer, or a proxy's page: Transient.
func Classify(err error) delivery.Result {
	var ae *APIError
	switch {
	case err == nil:
		return delivery.Result{Outcome: delivery.Sent}
	case errors.Is(err, ErrUncertain):
		return delivery.Result{Outcome: delivery.Uncertain, Err: err}
	case errors.Is(err, ErrDisconnected):
		// Nothing can be sent until the OA is linked again: the outbox
		// waits, looked at again each minute, without holding a worker
		// that Telegram's residents need (a review found five retries
		// slept through per resident).
		return delivery.Result{Outcome: delivery.Unavailable, Wait: time.Minute, Err: err}
	case errors.As(err, &ae) && ae.Code == -32:
		return delivery.Result{Outcome: delivery.RateLimited, Wait: 5 * time.Second, Err: err}
	case errors.As(err, &ae) && (ae.Code == -213 || ae.Code == -227):
		return delivery.Result{Outcome: delivery.Unreachable, Err: err}
	case errors.As(err, &ae):
		return delivery.Result{Outcome: delivery.Rejected, Err: err}
	}
	return delivery.Result{Outcome: delivery.Transient, Err: err}
}

// classifyUpload is classify for an upload: it shows the resident nothing,
// so one whose answer was lost is simply done again.
func (t *Transport) classifyUpload(err error) delivery.Result {
	res := t.classify(err)
	if res.Outcome == delivery.Uncertain {
		res.Outcome = delivery.Transient
	}
	return res
}

func (t *Transport) classify(err error) delivery.Result {
	res := Classify(err)
	if res.Outcome == delivery.RateLimited && t.RateWait > 0 {
		res.Wait = t.RateWait
	}
	return res
}

// TakeOffButtons implements delivery.Transport: a sent Zalo message cannot
// be edited; the engine answers a tap on an old one as stale.
func (*Transport) TakeOffButtons(context.Context, string, delivery.Handle) error { return nil }
