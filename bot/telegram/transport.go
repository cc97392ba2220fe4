package telegram

import (
	"context"
	"errors"
	"strconv"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/hangxomso/hangxom/delivery"
	"github.com/hangxomso/hangxom/flows"
)

// maxText is Telegram's limit for one message's text; maxCaption for a
// photo's or a document's caption (Bot API, sendMessage and sendPhoto).
const (
	maxText    = 4096
	maxCaption = 1024
)

// Transport is Telegram's sending half for the delivery core: it renders a
// message as the Bot API takes it (inline buttons, a reply keyboard for a
// phone number, a photo with its caption, a document), makes the calls and
// classifies Telegram's answer.
type Transport struct {
	Client *Client
}

var _ delivery.Transport = (*Transport)(nil)

// Name implements delivery.Transport.
func (*Transport) Name() string { return "telegram" }

// Owns implements delivery.Transport: Telegram's residents are "tg:<chat id>".
func (*Transport) Owns(resident string) bool {
	_, ok := ChatID(resident)
	return ok
}

// Limits implements delivery.Transport: 4,096 characters a message (at
// least as many bytes), 1,024 a photo's or a document's caption.
func (*Transport) Limits() delivery.Limits {
	return delivery.Limits{MaxText: maxText, OneMessage: maxText, MaxCaption: maxCaption}
}

// Send implements delivery.Transport with one call, chosen by the
// message's shape: a phone-number request (reply keyboard), a document with
// its caption (a picture one, flows.Document.Photo, as a photo when
// Telegram takes it as one: PhotoFits), a photo with its caption, or a
// text. (The core sends a text too long for a caption as a message of its
// own: delivery.Plan.) A text with m.NoPreview set goes with link previews
// turned off; captions have no previews.
//
// A picture Telegram refuses as a photo (a 4xx other than 403 and 429:
// one it cannot process) is sent again as a file: the refusal showed
// nothing, so the resident sees it once.
func (t *Transport) Send(ctx context.Context, resident string, m delivery.Message) delivery.Result {
	chatID, ok := ChatID(resident)
	if !ok {
		return delivery.Result{Outcome: delivery.Rejected, Err: errors.New("telegram: not a Telegram resident")}
	}
	kb := keyboard(m.Buttons)
	contact := contactButton(m.Buttons)
	var msgID int
	var err error
	switch d := m.Document; {
	case contact != "":
		msgID, err = t.Client.SendContactRequest(ctx, chatID, m.Text, contact, m.NoPreview)
	case d != nil && d.Photo && PhotoFits(d.Data):
		msgID, err = t.Client.SendPhotoBytes(ctx, chatID, d.Name, d.Data, m.Text, kb)
		if err != nil && Classify(err).Outcome == delivery.Rejected {
			msgID, err = t.Client.SendDocument(ctx, chatID, d.Name, d.Data, m.Text, kb)
		}
	case d != nil:
		msgID, err = t.Client.SendDocument(ctx, chatID, d.Name, d.Data, m.Text, kb)
	case m.Image != "":
		msgID, err = t.Client.SendPhoto(ctx, chatID, m.Image, m.Text, kb)
	case m.NoPreview:
		msgID, err = t.Client.SendTextNoPreview(ctx, chatID, m.Text, kb)
	default:
		msgID, err = t.Client.SendText(ctx, chatID, m.Text, kb)
	}
	if err != nil {
		return Classify(err)
	}
	res := delivery.Result{Outcome: delivery.Sent}
	if kb != nil && msgID != 0 {
		res.Buttons = delivery.Handle(strconv.Itoa(msgID))
	}
	return res
}

// Classify turns a Bot API call's error into the core's outcome: the request
// written and the answer lost is Uncertain; 429 waits retry_after; 403 (or
// "Forbidden…": blocked, deleted, never started) is Unreachable; any other
// 4xx will never be taken (Rejected); the rest (5xx, no answer, a proxy's
// page) is Transient.
func Classify(err error) delivery.Result {
	var ae *APIError
	switch {
	case err == nil:
		return delivery.Result{Outcome: delivery.Sent}
	case errors.Is(err, ErrUncertain):
		return delivery.Result{Outcome: delivery.Uncertain, Err: err}
	case errors.As(err, &ae) && ae.Code == 429:
		return delivery.Result{Outcome: delivery.RateLimited, Wait: ae.RetryAfter, Err: err}
	case errors.As(err, &ae) && ae.Blocked():
		return delivery.Result{Outcome: delivery.Unreachable, Err: errors.New(ae.Description)}
	case errors.As(err, &ae) && ae.Code >= 400 && ae.Code < 500:
		return delivery.Result{Outcome: delivery.Rejected, Err: err}
	}
	return delivery.Result{Outcome: delivery.Transient, Err: err}
}

// TakeOffButtons implements delivery.Transport: editMessageReplyMarkup with
// no buttons on the message h; a message gone or already bare counts as done.
func (t *Transport) TakeOffButtons(ctx context.Context, resident string, h delivery.Handle) error {
	chatID, ok := ChatID(resident)
	id, err := strconv.Atoi(string(h))
	if !ok || err != nil || id <= 0 {
		return nil // not a message of ours: nothing to take off
	}
	return t.Client.RemoveKeyboard(ctx, chatID, id)
}

// keyboard renders buttons one per row; the callback data is the engine's
// short token, never content. A button asking for the resident's phone
// number is sent as a reply keyboard instead (see contactButton).
func keyboard(cs []flows.Choice) *tgbotapi.InlineKeyboardMarkup {
	if len(cs) == 0 {
		return nil
	}
	rows := make([][]tgbotapi.InlineKeyboardButton, 0, len(cs))
	for _, c := range cs {
		if c.Contact {
			continue // sent as a reply keyboard: see contactButton
		}
		rows = append(rows, tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonData(c.Label, c.Data)))
	}
	if len(rows) == 0 {
		return nil
	}
	kb := tgbotapi.NewInlineKeyboardMarkup(rows...)
	return &kb
}

// contactButton returns the label of a button asking for the resident's
// phone number, if any: Telegram can only ask through a reply keyboard.
func contactButton(cs []flows.Choice) string {
	for _, c := range cs {
		if c.Contact {
			return c.Label
		}
	}
	return ""
}
