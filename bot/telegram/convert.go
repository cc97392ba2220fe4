package telegram

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/hangxomso/hangxom/bot"
	"github.com/hangxomso/hangxom/flows"
)

// AllowedUpdates are the update kinds the bot asks for. Everything else that
// arrives anyway is acknowledged and ignored.
var allowedUpdates = []string{"message", "edited_message", "callback_query", "my_chat_member"}

// AllowedUpdates returns the update kinds the bot subscribes to.
func AllowedUpdates() []string { return append([]string(nil), allowedUpdates...) }

// Action says what to do with an update.
type Action int

// What an update leads to.
const (
	Ignore    Action = iota // acknowledge and do nothing
	Process                 // a resident's input for the conversation service
	Blocked                 // the resident blocked the bot: stop sending
	Unblocked               // the resident unblocked the bot
	GroupHint               // a command to the bot in a group: point to a private chat
)

func (a Action) String() string {
	return [...]string{"ignore", "process", "blocked", "unblocked", "group_hint"}[a]
}

// Event is an update turned into what the channel does with it.
type Event struct {
	UpdateID   int
	Action     Action
	Kind       string // the update's kind, for logs and metrics
	ChatID     int64
	Resident   string // "tg:<chat id>"
	Input      flows.Input
	CallbackID string // to answer, when the update is a callback query
	CallbackOn int    // the message the tapped button is on (0 if unknown)
	MessageID  int    // the resident's message (to delete a secret)
}

// ResidentID is the channel-qualified resident id of a private chat.
func ResidentID(chatID int64) string { return "tg:" + strconv.FormatInt(chatID, 10) }

// ChatID reads a chat id back from a resident id.
func ChatID(resident string) (int64, bool) {
	s, ok := strings.CutPrefix(resident, "tg:")
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseInt(s, 10, 64)
	return id, err == nil
}

// payloadPattern is what Telegram allows in a deep-link payload.
var payloadPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Decode turns one raw update into an Event. An update it cannot read at all
// is an error; every readable update gets an Action, even if it is Ignore.
func Decode(raw []byte, botUsername string) (Event, error) {
	var u tgbotapi.Update
	if err := json.Unmarshal(raw, &u); err != nil {
		return Event{}, fmt.Errorf("telegram: decode update: %w", err)
	}
	ev := Event{UpdateID: u.UpdateID, Action: Ignore, Kind: "unknown"}
	switch {
	case u.Message != nil:
		ev.Kind = "message"
		fromMessage(&ev, u.Message, botUsername)
	case u.EditedMessage != nil:
		// An edit of an earlier answer: the conversation has moved on.
		ev.Kind = "edited_message"
	case u.CallbackQuery != nil:
		ev.Kind = "callback_query"
		fromCallback(&ev, u.CallbackQuery)
	case u.MyChatMember != nil:
		ev.Kind = "my_chat_member"
		m := u.MyChatMember
		if m.Chat.Type == "private" && m.Chat.ID > 0 {
			ev.ChatID = m.Chat.ID
			ev.Resident = ResidentID(m.Chat.ID)
			switch m.NewChatMember.Status {
			case "kicked":
				ev.Action = Blocked
			case "member":
				ev.Action = Unblocked
			}
		}
	case u.ChannelPost != nil, u.EditedChannelPost != nil:
		ev.Kind = "channel_post"
	case u.InlineQuery != nil, u.ChosenInlineResult != nil:
		ev.Kind = "inline"
	case u.Poll != nil, u.PollAnswer != nil:
		ev.Kind = "poll"
	case u.ChatMember != nil, u.ChatJoinRequest != nil:
		ev.Kind = "chat_member"
	case u.ShippingQuery != nil, u.PreCheckoutQuery != nil:
		ev.Kind = "payment"
	}
	return ev, nil
}

func fromMessage(ev *Event, m *tgbotapi.Message, botUsername string) {
	if m.Chat == nil {
		return
	}
	ev.ChatID = m.Chat.ID
	ev.MessageID = m.MessageID
	ev.Input.UpdateID = "tg:" + strconv.Itoa(ev.UpdateID)
	if m.Chat.Type != "private" {
		// In groups only a command addressed to this bot gets an answer,
		// and the answer points to a private chat.
		if name, _, ok := bot.ParseCommand(m.Text); ok && addressedToBot(m.Text, botUsername) && name != "" {
			ev.Action = GroupHint
		}
		return
	}
	if m.From != nil && m.From.IsBot {
		return
	}
	if m.Chat.ID <= 0 {
		// A private chat's id is its user's, always positive: a chat id
		// of 0 or below is forged or broken, and a reply could never be
		// sent to it. Ignored before anything is stored for it.
		return
	}
	if m.IsCommand() && addressedToOther(m.CommandWithAt(), botUsername) {
		// "/start@OtherBot": not ours (pasted, or forwarded from a chat
		// with another bot).
		return
	}
	ev.Resident = ResidentID(m.Chat.ID)
	ev.Action = Process
	if m.From != nil {
		ev.Input.Name = m.From.FirstName // only the first name: what a team member needs to greet them
	}
	switch {
	case m.Text != "":
		if name, args, ok := bot.ParseCommand(m.Text); ok && m.IsCommand() {
			ev.Input.Kind, ev.Input.Command = flows.InputCommand, strings.ToLower(name)
			if ev.Input.Command == "start" && !payloadPattern.MatchString(args) {
				args = "" // an unusable payload acts as a plain /start
			}
			ev.Input.Text = args
		} else {
			ev.Input.Kind, ev.Input.Text = flows.InputText, m.Text
		}
	case m.Contact != nil && m.From != nil && m.Contact.UserID == m.From.ID:
		// The resident's own number (the "share my phone" button), for the
		// helper who claimed their request. Another person's contact card
		// is not theirs to pass on: it falls through to "tap a button".
		ev.Input.Kind, ev.Input.Text = flows.InputContact, m.Contact.PhoneNumber
	case len(m.Photo) > 0:
		ev.Input.Kind, ev.Input.Photo = flows.InputPhoto, m.Photo[len(m.Photo)-1].FileID
	case m.Document != nil && strings.HasPrefix(m.Document.MimeType, "image/"):
		ev.Input.Kind, ev.Input.Photo = flows.InputPhoto, m.Document.FileID
	case m.Caption != "":
		ev.Input.Kind, ev.Input.Text = flows.InputText, m.Caption
	default:
		// A sticker, a voice note, a location…: nothing to read; the engine
		// says so and shows the way to a person.
		ev.Input.Kind = flows.InputOther
	}
}

// addressedToOther reports whether a command ("start@name", as
// Message.CommandWithAt gives it) names a bot other than this one. With our
// username unknown, a named command is taken as ours.
func addressedToOther(command, botUsername string) bool {
	_, at, ok := strings.Cut(command, "@")
	return ok && botUsername != "" && !strings.EqualFold(at, botUsername)
}

func addressedToBot(text, botUsername string) bool {
	first, _, _ := strings.Cut(text, " ")
	_, at, ok := strings.Cut(first, "@")
	return ok && botUsername != "" && strings.EqualFold(at, botUsername)
}

func fromCallback(ev *Event, q *tgbotapi.CallbackQuery) {
	ev.CallbackID = q.ID
	// Never call q.Message.Chat or Update.FromChat blindly: the message can
	// be absent (inline messages, or "message": null), and an inaccessible
	// message has only its chat and id (date 0).
	var chat *tgbotapi.Chat
	if q.Message != nil {
		chat = q.Message.Chat
		ev.CallbackOn = q.Message.MessageID
	}
	switch {
	case chat != nil && chat.Type == "private":
		ev.ChatID = chat.ID
	case chat == nil && q.From != nil && q.InlineMessageID == "":
		// No message: in a private chat the chat id is the user's id.
		ev.ChatID = q.From.ID
	default:
		return // a group's or an inline message's button: just answered
	}
	if ev.ChatID <= 0 {
		ev.ChatID = 0
		return // no private chat has such an id: answered, nothing stored
	}
	ev.Resident = ResidentID(ev.ChatID)
	ev.Action = Process
	ev.Input = flows.Input{Kind: flows.InputChoice, Data: q.Data, UpdateID: "tg:" + strconv.Itoa(ev.UpdateID)}
	if q.From != nil {
		ev.Input.Name = q.From.FirstName
	}
}
