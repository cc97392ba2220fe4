package zalotest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// Limits of consultation messages, from the note.
const (
	maxText    = 2000 // characters (runes) of message.text
	maxButtons = 5
	maxPayload = 1000 // characters of a button's payload
	window     = 7 * 24 * time.Hour
)

// Message is a consultation message the OA sent, as the fake recorded it.
type Message struct {
	UserID, MessageID string
	Text              string
	// Buttons are from message.attachment {type:"template", payload:
	// {buttons:[…]}}, with or without "template_type":"button".
	Buttons []Button
	// Image is the attachment_id or url of a media template's image element.
	Image string
	// File is the token of a file attachment, FileName the name it was
	// uploaded under.
	File     string
	FileName string
	// Sent is when the server accepted it, by Server.Now.
	Sent time.Time
}

// Button is one button of a template message. Payload is the string the
// bot gave for oa.query.show and oa.query.hide (the text the user's tap
// sends back); for oa.open.url it is the url, for oa.open.phone the
// phone_code, for oa.open.sms the phone_code (its content is not kept).
type Button struct{ Title, Type, Payload string }

// user is what the platform knows of one user of the OA.
type user struct {
	last       time.Time // last interaction; zero: never
	unfollowed bool
	name       string
	byApp      string // user_id_by_app
}

func (s *Server) userLocked(id string) *user {
	u, ok := s.users[id]
	if !ok {
		u = &user{name: "Lan", byApp: digits(19)}
		s.users[id] = u
	}
	return u
}

// Interact records userID's last interaction with the OA at at (following,
// writing, tapping a button or the chat button), which opens the 7-day
// window for consultation messages. Deliver calls it for events that are
// interactions.
func (s *Server) Interact(userID string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.userLocked(userID)
	if at.After(u.last) {
		u.last = at
	}
	s.notifyLocked()
}

// Unfollow makes userID a non-follower: sends to them answer -213 until
// they follow again (Follow, or a follow event through Deliver). Deliver
// an unfollow event yourself if the channel should hear of it.
func (s *Server) Unfollow(userID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.userLocked(userID).unfollowed = true
	s.notifyLocked()
}

// Follow undoes Unfollow. It is not an interaction by itself; Deliver of a
// follow event is both.
func (s *Server) Follow(userID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.userLocked(userID).unfollowed = false
	s.notifyLocked()
}

// SetDisplayName sets the display_name user detail answers for userID
// (default "Lan").
func (s *Server) SetDisplayName(userID, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.userLocked(userID).name = name
}

// Messages returns the messages the OA sent to userID, in order.
func (s *Server) Messages(userID string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.messagesLocked(userID)
}

func (s *Server) messagesLocked(userID string) []Message {
	out := make([]Message, 0, len(s.sent[userID]))
	for _, m := range s.sent[userID] {
		m.Buttons = slices.Clone(m.Buttons)
		out = append(out, m)
	}
	return out
}

// WaitMessages waits until the OA sent at least n messages to userID and
// returns them all. It fails tb after 10 s.
func (s *Server) WaitMessages(tb testing.TB, userID string, n int) []Message {
	tb.Helper()
	var got []Message
	s.wait(tb, fmt.Sprintf("%d messages to %s", n, userID), func() bool {
		got = s.messagesLocked(userID)
		return len(got) >= n
	}, func() string { return fmt.Sprintf("got %d: %+v", len(got), got) })
	return got
}

// sendRequest is the body of POST /v3.0/oa/message/cs.
type sendRequest struct {
	Recipient struct {
		UserID string `json:"user_id"`
	} `json:"recipient"`
	Message *struct {
		Text       string      `json:"text"`
		Attachment *attachment `json:"attachment"`
	} `json:"message"`
}

type attachment struct {
	Type    string `json:"type"`
	Payload struct {
		TemplateType string `json:"template_type"`
		Text         string `json:"text"`
		Buttons      []struct {
			Title   string          `json:"title"`
			Type    string          `json:"type"`
			Payload json.RawMessage `json:"payload"`
		} `json:"buttons"`
		Elements []struct {
			MediaType    string `json:"media_type"`
			AttachmentID string `json:"attachment_id"`
			URL          string `json:"url"`
		} `json:"elements"`
		Token string `json:"token"`
	} `json:"payload"`
}

// send serves POST /v3.0/oa/message/cs. The content is checked before the
// recipient, so a malformed message answers -201 whoever it is for.
func (s *Server) send(r *http.Request) answer {
	var req sendRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		return apiError(-201, "body is not valid JSON")
	}
	if req.Recipient.UserID == "" {
		return apiError(-201, "recipient.user_id is missing")
	}
	if req.Message == nil {
		return apiError(-201, "message is missing")
	}
	m := Message{UserID: req.Recipient.UserID, Text: req.Message.Text}
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := req.Message.Attachment; a != nil {
		if bad := s.readAttachmentLocked(a, &m); bad != "" {
			return apiError(-201, bad)
		}
	}
	switch {
	case m.Text == "" && m.Image == "" && m.File == "" && len(m.Buttons) == 0:
		return apiError(-201, "message is empty")
	case utf8.RuneCountInString(m.Text) > maxText:
		return apiError(-201, fmt.Sprintf("text is longer than %d characters", maxText))
	}

	now := s.now()
	u, seen := s.users[m.UserID]
	switch {
	case !seen || u.last.IsZero():
		return apiError(-201, "user has never interacted with the OA")
	case u.unfollowed:
		return apiError(-213, "")
	case now.Sub(u.last) > window:
		return apiError(-230, "")
	}
	m.MessageID = hexID()
	m.Sent = now
	s.sent[m.UserID] = append(s.sent[m.UserID], m)
	s.notifyLocked()
	return success(map[string]string{"message_id": m.MessageID, "user_id": m.UserID})
}

// readAttachmentLocked fills m from a template (buttons or media) or file
// attachment. It returns what is wrong, or "".
func (s *Server) readAttachmentLocked(a *attachment, m *Message) string {
	p := a.Payload
	switch {
	case a.Type == "file":
		f, ok := s.files[p.Token]
		if !ok {
			return "unknown file token"
		}
		m.File, m.FileName = p.Token, f.name
		return ""
	case a.Type != "template":
		return fmt.Sprintf("unknown attachment type %q", a.Type)
	case p.TemplateType == "media":
		if len(p.Elements) == 0 {
			return "media template without elements"
		}
		e := p.Elements[0]
		if e.MediaType != "image" {
			return fmt.Sprintf("unknown media_type %q", e.MediaType)
		}
		switch {
		case e.AttachmentID != "":
			img, ok := s.images[e.AttachmentID]
			if !ok || s.now().Sub(img.at) > window {
				return "unknown or expired attachment_id"
			}
			m.Image = e.AttachmentID
		case e.URL != "":
			m.Image = e.URL
		default:
			return "image element without attachment_id or url"
		}
	case p.TemplateType != "" && p.TemplateType != "button":
		return fmt.Sprintf("unknown template_type %q", p.TemplateType)
	case len(p.Buttons) == 0:
		return "template without buttons"
	}
	// [X] one codebase puts the text of a button template in payload.text.
	if m.Text == "" {
		m.Text = p.Text
	}
	if len(p.Buttons) > maxButtons {
		return fmt.Sprintf("more than %d buttons", maxButtons)
	}
	for i, b := range p.Buttons {
		payload, bad := buttonPayload(b.Type, b.Payload)
		switch {
		case bad != "":
			return fmt.Sprintf("button %d: %s", i, bad)
		case strings.TrimSpace(b.Title) == "":
			return fmt.Sprintf("button %d: title is empty", i)
		case utf8.RuneCountInString(payload) > maxPayload:
			return fmt.Sprintf("button %d: payload is longer than %d characters", i, maxPayload)
		}
		m.Buttons = append(m.Buttons, Button{Title: b.Title, Type: b.Type, Payload: payload})
	}
	return ""
}

// buttonPayload reads a button's payload by its type: a string for the
// oa.query types, an object for the oa.open types. oa.open.sms is in the
// note's list of types though the channel has no use for it.
func buttonPayload(typ string, raw json.RawMessage) (string, string) {
	var obj struct {
		URL       string `json:"url"`
		PhoneCode string `json:"phone_code"`
	}
	switch typ {
	case "oa.query.show", "oa.query.hide":
		var str string
		if json.Unmarshal(raw, &str) != nil || str == "" {
			return "", "payload must be a non-empty string"
		}
		return str, ""
	case "oa.open.url":
		if json.Unmarshal(raw, &obj) != nil || obj.URL == "" {
			return "", `payload must be {"url":"…"}`
		}
		return obj.URL, ""
	case "oa.open.phone", "oa.open.sms":
		if json.Unmarshal(raw, &obj) != nil || obj.PhoneCode == "" {
			return "", `payload must have "phone_code"`
		}
		return obj.PhoneCode, ""
	}
	return "", fmt.Sprintf("unknown button type %q", typ)
}

// userDetail serves GET /v3.0/oa/user/detail?data={"user_id":"…"}.
func (s *Server) userDetail(r *http.Request) answer {
	var q struct {
		UserID string `json:"user_id"`
	}
	if err := json.Unmarshal([]byte(r.URL.Query().Get("data")), &q); err != nil || q.UserID == "" {
		return apiError(-201, `data must be {"user_id":"…"}`)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[q.UserID]
	if !ok {
		return apiError(-201, "unknown user_id")
	}
	return success(map[string]any{
		"user_id":          q.UserID,
		"user_id_by_app":   u.byApp,
		"display_name":     u.name,
		"user_is_follower": !u.unfollowed,
	})
}
