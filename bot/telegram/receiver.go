package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/hangxomso/hangxom/bot"
	"github.com/hangxomso/hangxom/flows"
)

// Receiver handles one update from either polling or the webhook: it
// decodes it, hands a resident's input to the conversation service (whose
// atomic write stores it), and then asks the sender to deliver the replies.
// Receive returns an error only when the update should be delivered again
// (a transient failure such as Redis being down); an update that can never
// be processed is logged and acknowledged so it cannot block the chat.
type Receiver struct {
	Service bot.Handler
	Client  *Client
	// Sender delivers the replies the update left in the outbox (the
	// delivery core); nil: someone else drains them.
	Sender interface{ Kick(resident string) }
	Store  interface {
		SetReachable(ctx context.Context, resident string, ok bool) error
	}
	Loc      flows.Localizer
	Username string // the bot's username, for commands in groups and t.me links
	Logger   *slog.Logger
	Metrics  *Metrics
	// CallbackGrace is how long a webhook call keeps a tap's answer for
	// its response before answering by a call of its own; default 1 s.
	CallbackGrace time.Duration

	told bot.Outage // chats told "try again"
}

// Receive processes one raw update; a tapped button is answered by its
// own answerCallbackQuery call.
func (r *Receiver) Receive(ctx context.Context, raw []byte) error {
	_, err := r.receive(ctx, raw, false)
	return err
}

// ReceiveWebhook is Receive for a webhook call: the answer to a tapped
// button is returned (nil when there is none) for the webhook's response to
// carry, since Telegram performs a method given in the response to its
// call. That saves the bot one call of its own per tap. The answer is still
// sent by a call of its own when the update fails (the response is then an
// error) or takes longer than CallbackGrace (the resident would watch the
// button spin).
func (r *Receiver) ReceiveWebhook(ctx context.Context, raw []byte) (tgbotapi.Chattable, error) {
	return r.receive(ctx, raw, true)
}

func (r *Receiver) receive(ctx context.Context, raw []byte, inResponse bool) (answer tgbotapi.Chattable, err error) {
	start := time.Now()
	defer func() {
		r.Metrics.updateTime(time.Since(start).Seconds())
		if p := recover(); p != nil {
			r.Metrics.panicked()
			r.logger().Error("panic while handling an update", "update", updateID(raw), "panic", fmt.Sprint(p),
				"stack", string(debug.Stack()))
			err = nil // acknowledged: retrying would panic again (a tap is still answered)
		}
	}()
	ev, derr := Decode(raw, r.Username)
	if derr != nil {
		r.Metrics.update("unreadable", Ignore)
		r.logger().Warn("unreadable update acknowledged", "update", updateID(raw), "err", derr)
		return nil, nil
	}
	r.Metrics.update(ev.Kind, ev.Action)
	switch ev.Action {
	case Ignore:
		r.logger().Debug("update ignored", "update", ev.UpdateID, "kind", ev.Kind)
		if ev.CallbackID == "" {
			return nil, nil
		}
		// A tap that leads nowhere (a button of an inline-mode message or
		// of a group's) is answered all the same: unanswered, the
		// resident's button spins for some 15 s.
		if inResponse {
			r.Metrics.callbackInResponse()
			return tgbotapi.NewCallback(ev.CallbackID, ""), nil
		}
		r.answerCallback(ctx, ev)
		return nil, nil
	case Blocked, Unblocked:
		if err := r.Store.SetReachable(ctx, ev.Resident, ev.Action == Unblocked); err != nil {
			return nil, fmt.Errorf("telegram: update %d: %w", ev.UpdateID, err)
		}
		r.logger().Info("resident reachability changed", "resident", ev.Resident, "reachable", ev.Action == Unblocked)
		return nil, nil
	case GroupHint:
		r.groupHint(ctx, ev)
		return nil, nil
	}
	answerByCall := func() {}
	if ev.CallbackID != "" {
		// Answer by a call of our own beside the processing (a late answer
		// fails and the resident sees a spinner), unless the webhook's
		// response carries it: then only if the turn fails or is slow.
		var once sync.Once
		answerByCall = func() { once.Do(func() { r.answerCallback(ctx, ev) }) }
		if inResponse {
			grace := r.CallbackGrace
			if grace <= 0 {
				grace = time.Second
			}
			slow := time.AfterFunc(grace, answerByCall)
			defer func() {
				if slow.Stop() && err == nil {
					// Not answered yet: the response carries it.
					once.Do(func() {})
					answer = tgbotapi.NewCallback(ev.CallbackID, "")
					r.Metrics.callbackInResponse()
				} else {
					answerByCall()
				}
			}()
		} else {
			answerByCall()
		}
	}
	h, err := r.Service.Handle(ctx, ev.Resident, ev.Input)
	if err != nil {
		r.outage(ctx, ev.ChatID, err)
		return nil, fmt.Errorf("telegram: update %d: %w", ev.UpdateID, err)
	}
	if h.Sensitive && ev.MessageID != 0 {
		// The warning is on its way; the secret should not stay on screen.
		if err := r.Client.Delete(ctx, ev.ChatID, ev.MessageID); err != nil {
			r.logger().Warn("delete a secret message", "resident", ev.Resident, "err", err)
		}
	}
	if r.Sender != nil {
		r.Sender.Kick(ev.Resident)
	}
	if h.Stale && ev.CallbackOn != 0 {
		// A button of an earlier screen, answered with the current one:
		// that message's buttons go now, once, rather than every old
		// keyboard on every turn (docs/design/delivery-core.md §5, B).
		r.takeOffButtons(ctx, ev)
	}
	return nil, nil
}

// takeOffButtons takes the buttons off the message whose stale button was
// tapped, on a goroutine of its own that ends with the call (10 s at most),
// as answerCallback does; a failure is only logged: the engine refuses the
// stale buttons anyway.
func (r *Receiver) takeOffButtons(ctx context.Context, ev Event) {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	go func() {
		defer cancel()
		if err := r.Client.RemoveKeyboard(actx, ev.ChatID, ev.CallbackOn); err != nil {
			r.logger().Debug("take off a stale message's buttons", "update", ev.UpdateID, "err", err)
		}
	}()
}

// answerCallback answers a tapped button by a call of its own, on a
// goroutine of its own that ends with the call (10 s at most): the poller
// takes updates one at a time, so a slow answer must not hold up the next
// resident's update.
func (r *Receiver) answerCallback(ctx context.Context, ev Event) {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	go func() {
		defer cancel()
		if err := r.Client.AnswerCallback(actx, ev.CallbackID, ""); err != nil {
			r.logger().Debug("answer callback", "update", ev.UpdateID, "err", err)
		}
	}()
}

// outage tells a resident, once per chat per outage (not again within
// bot.TellAgainAfter), that the bot will answer in a moment. It cannot use the
// outbox (Redis is what failed), so it sends directly, in Vietnamese (the
// session, with the language, is out of reach too). A resident whose own
// earlier update is still being processed (flows.ErrLocked) is not told:
// that is no outage, and the update is delivered again in a moment.
func (r *Receiver) outage(ctx context.Context, chatID int64, err error) {
	if chatID == 0 || errors.Is(err, flows.ErrLocked) {
		return
	}
	if !r.told.First(ResidentID(chatID), time.Now()) {
		return
	}
	text, _ := r.Loc.Localize("vi", "common.try_again", nil)
	if text == "" {
		return
	}
	if _, err := r.Client.SendText(ctx, chatID, text, nil); err != nil {
		r.logger().Debug("tell a resident to try again", "err", err)
	}
}

// groupHint answers a command in a group with a button that opens a
// private chat with the bot: the product lives in private chats.
func (r *Receiver) groupHint(ctx context.Context, ev Event) {
	if r.Username == "" {
		return
	}
	text, _ := r.Loc.Localize("vi", "common.group_hint", nil)
	label, _ := r.Loc.Localize("vi", "common.btn.open_private", nil)
	kb := tgbotapi.NewInlineKeyboardMarkup(tgbotapi.NewInlineKeyboardRow(
		tgbotapi.NewInlineKeyboardButtonURL(label, "https://t.me/"+r.Username)))
	if _, err := r.Client.SendText(ctx, ev.ChatID, text, &kb); err != nil {
		r.logger().Debug("group hint", "err", err)
	}
}

func (r *Receiver) logger() *slog.Logger {
	if r.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Logger
}

// updateID reads update_id from raw JSON, for logs; -1 if unreadable.
func updateID(raw []byte) int {
	var u struct {
		ID json.Number `json:"update_id"`
	}
	if json.Unmarshal(raw, &u) != nil {
		return -1
	}
	n, err := strconv.Atoi(u.ID.String())
	if err != nil {
		return -1
	}
	return n
}
