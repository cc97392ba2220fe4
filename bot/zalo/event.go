package zalo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/hangxomso/hangxom/bot"
	"github.com/hangxomso/hangxom/flows"
)

// Action says what to do with a webhook event.
type Action int

// What an event leads to.
const (
	Ignore    Action = iota // acknowledge and do nothing
	Process                 // a resident's input for the conversation service
	Blocked                 // the resident unfollowed the OA: stop sending
	Unblocked               // the resident followed the OA: reachable again, and Input (a /start) greets them
)

func (a Action) String() string {
	if a < Ignore || a > Unblocked {
		return "unknown"
	}
	return [...]string{"ignore", "process", "blocked", "unblocked"}[a]
}

// Event is a webhook event turned into what the channel does with it.
type Event struct {
	// Name is the event's event_name ("user_send_text", "follow", …);
	// "unknown" when it has none.
	Name   string
	Action Action
	// ID identifies the event for dedupe and logs: "zl:" and the
	// message's msg_id, or for an event without one "zl:" + event_name +
	// ":" + the user's id + ":" + timestamp. Input.UpdateID is the same.
	ID string
	// Resident is "zl:<user id>" (ResidentID) for every event from or
	// about a user; empty for an event about no one.
	Resident string
	// Input is the resident's input when Action is Process, or Unblocked
	// (a /start that greets a new follower).
	Input flows.Input
	// Timestamp is the event's timestamp (milliseconds since the epoch)
	// exactly as the body gives it.
	Timestamp string
}

// The event names Decode gives meaning to.
const (
	eventText      = "user_send_text"
	eventAnonymous = "anonymous_send_text"
	eventImage     = "user_send_image"
	eventFollow    = "follow"
	eventUnfollow  = "unfollow"
	eventInfo      = "user_submit_info"
)

// flexString reads a JSON string, or a number or boolean literal kept as
// written: ids and timestamps are strings on the wire, and a literal, if
// Zalo ever sent one, must not lose digits to a float. null is "".
type flexString string

func (s *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) > 0 && b[0] == '"':
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*s = flexString(v)
	case bytes.Equal(b, []byte("null")):
		*s = ""
	case len(b) > 0 && (b[0] == '-' || (b[0] >= '0' && b[0] <= '9') || b[0] == 't' || b[0] == 'f'):
		*s = flexString(b)
	default:
		return fmt.Errorf("zalo: want a string, got %.20s", b)
	}
	return nil
}

type wireID struct {
	ID flexString `json:"id"`
}

// wireEvent is every field Decode reads, of every event shape
// (/work/shared/research/zalo-oa.md, "Event shapes").
type wireEvent struct {
	AppID     flexString `json:"app_id"`
	EventName string     `json:"event_name"`
	Timestamp flexString `json:"timestamp"`
	OAID      flexString `json:"oa_id"`
	Source    string     `json:"source"`
	Sender    wireID     `json:"sender"`
	Recipient wireID     `json:"recipient"`
	Follower  wireID     `json:"follower"`
	Message   struct {
		MsgID       flexString `json:"msg_id"`
		Text        string     `json:"text"`
		Attachments []struct {
			Type    string `json:"type"`
			Payload struct {
				URL string `json:"url"`
			} `json:"payload"`
		} `json:"attachments"`
	} `json:"message"`
	Info struct {
		Phone flexString `json:"phone"`
	} `json:"info"`
}

// userIDPattern is what a user id may be before it becomes part of a
// resident id (and of store keys): Zalo's are digit strings; an anonymous
// sender's may hold letters.
var userIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// startPayload is what a typed "/start <code>" may carry (as Telegram's
// deep-link payloads); anything else acts as a plain /start.
var startPayload = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Decode turns one raw webhook body into an Event. oaID is the OA's id:
// events the OA sent itself (echoes) and events for another OA of the
// same app are ignored; empty skips both checks. A body that is no JSON
// object of the expected shape is an error; every readable event gets an
// Action, even if it is Ignore. Decode checks no signature: Verify does.
func Decode(raw []byte, oaID string) (Event, error) {
	var w wireEvent
	if err := json.Unmarshal(raw, &w); err != nil {
		return Event{}, fmt.Errorf("zalo: decode event: %w", err)
	}
	ev := Event{Name: w.EventName, Action: Ignore, Timestamp: string(w.Timestamp)}
	if ev.Name == "" {
		ev.Name = "unknown"
	}
	user := string(w.Sender.ID)
	if w.EventName == eventFollow || w.EventName == eventUnfollow {
		user = string(w.Follower.ID)
	}
	switch {
	case w.Message.MsgID != "":
		ev.ID = "zl:" + string(w.Message.MsgID)
	case user != "":
		ev.ID = "zl:" + w.EventName + ":" + user + ":" + string(w.Timestamp)
	}
	ev.Input.UpdateID = ev.ID

	if strings.HasPrefix(w.EventName, "oa_send_") || user == "" || !userIDPattern.MatchString(user) {
		// The OA's own messages echoed back, or no one to answer.
		return ev, nil
	}
	if oaID != "" && (user == oaID || forOtherOA(w, oaID)) {
		return ev, nil
	}
	ev.Resident = ResidentID(user)

	switch name := w.EventName; {
	case name == eventText || name == eventAnonymous:
		ev.Action = Process
		fromText(&ev.Input, w.Message.Text)
	case name == eventImage:
		ev.Action = Process
		ev.Input.Kind = flows.InputOther // no usable picture: nothing to read
		for _, a := range w.Message.Attachments {
			if a.Payload.URL != "" && (a.Type == "image" || a.Type == "") {
				ev.Input.Kind, ev.Input.Photo = flows.InputPhoto, a.Payload.URL
				break
			}
		}
	case strings.HasPrefix(name, "user_send_"):
		// A sticker, a GIF, a file, a voice note, a video, a link, a
		// location, or a kind not known yet: nothing to read; the engine
		// says so and shows the way to a person.
		ev.Action = Process
		ev.Input.Kind = flows.InputOther
	case name == eventFollow:
		if w.Source == "testing_webhook" {
			// The event Zalo posts when the webhook is saved: it only
			// needs a 200, and its follower is no one to greet.
			return ev, nil
		}
		ev.Action = Unblocked
		ev.Input.Kind, ev.Input.Command = flows.InputCommand, "start"
	case name == eventUnfollow:
		ev.Action = Blocked
	case name == eventInfo:
		// The answer to a request for the user's details: only the phone
		// number is passed on, as a Telegram contact's is.
		if phone := strings.TrimSpace(string(w.Info.Phone)); phone != "" {
			ev.Action = Process
			ev.Input.Kind, ev.Input.Text = flows.InputContact, phone
		}
	}
	// Receipts (user_received_message, user_seen_message), the chat
	// button (user_click_chatnow) and anything unknown stay Ignore.
	return ev, nil
}

// forOtherOA reports whether the event names an OA other than oaID (an
// app can be linked to several).
func forOtherOA(w wireEvent, oaID string) bool {
	if w.EventName == eventFollow || w.EventName == eventUnfollow {
		return w.OAID != "" && string(w.OAID) != oaID
	}
	return w.Recipient.ID != "" && string(w.Recipient.ID) != oaID
}

// fromText reads typed text: a button's payload (there is no click event:
// a tap arrives as the user's text), a command, or words.
func fromText(in *flows.Input, text string) {
	if data, ok := strings.CutPrefix(text, PayloadPrefix); ok {
		in.Kind, in.Data = flows.InputChoice, data
		return
	}
	if name, args, ok := bot.ParseCommand(text); ok {
		in.Kind, in.Command, in.Text = flows.InputCommand, strings.ToLower(name), args
		if in.Command == "start" && !startPayload.MatchString(args) {
			in.Text = "" // an unusable payload acts as a plain /start
		}
		return
	}
	in.Kind, in.Text = flows.InputText, text
}
