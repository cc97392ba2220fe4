package zalotest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Sign is Zalo's webhook signature: the hex SHA-256 (plain, not HMAC) of
// appID, the raw body, timestamp and key concatenated, with key the OA
// Secret Key. Zalo sends it as "X-ZEvent-Signature: mac=<hex>".
func Sign(appID string, body []byte, timestamp, key string) string {
	h := sha256.New()
	h.Write([]byte(appID))
	h.Write(body)
	h.Write([]byte(timestamp))
	h.Write([]byte(key))
	return hex.EncodeToString(h.Sum(nil))
}

// Event returns a JSON event body as Zalo posts it to the webhook, for user
// userID at Now: app_id, user_id_by_app, event_name, timestamp
// (milliseconds, a string), sender{id} and recipient{id} (user and OA; the
// other way round for the oa_send_* echoes), and message. A message without
// "msg_id" (or "msg_ids", as user_seen_message has) gets a fresh one; a nil
// message is left out. user_submit_info carries message as "info".
//
// follow and unfollow have their own shape: oa_id, follower{id},
// user_id_by_app, event_name, source ("oa_profile"), app_id, timestamp;
// message's entries, e.g. "source":"testing_webhook", are merged in.
func (s *Server) Event(name, userID string, message map[string]any) []byte {
	ts := strconv.FormatInt(s.now().UnixMilli(), 10)
	s.mu.Lock()
	byApp := s.userLocked(userID).byApp
	s.mu.Unlock()

	ev := map[string]any{
		"app_id":         s.AppID,
		"user_id_by_app": byApp,
		"event_name":     name,
		"timestamp":      ts,
	}
	switch {
	case name == "follow" || name == "unfollow":
		ev["oa_id"] = s.OAID
		ev["follower"] = map[string]string{"id": userID}
		ev["source"] = "oa_profile"
		maps.Copy(ev, message)
	default:
		from, to := userID, s.OAID
		if strings.HasPrefix(name, "oa_send_") {
			from, to = s.OAID, userID
		}
		ev["sender"] = map[string]string{"id": from}
		ev["recipient"] = map[string]string{"id": to}
		if message == nil {
			break
		}
		m := maps.Clone(message)
		if name == "user_submit_info" {
			ev["info"] = m
			break
		}
		_, id := m["msg_id"]
		_, ids := m["msg_ids"]
		if !id && !ids {
			m["msg_id"] = hexID()
		}
		ev["message"] = m
	}
	b, err := json.Marshal(ev)
	if err != nil {
		panic(fmt.Sprintf("zalotest: event %s: %v", name, err))
	}
	return b
}

// Text returns a user_send_text event: userID wrote text (or tapped an
// oa.query button whose payload is text; Zalo has no click event).
func (s *Server) Text(userID, text string) []byte {
	return s.Event("user_send_text", userID, map[string]any{"text": text})
}

// isInteraction reports whether an event opens the user's 7-day window:
// following, writing or sending anything, the chat button, and form
// answers do; unfollow, the seen and received receipts and the OA's own
// echoes do not.
func isInteraction(name string) bool {
	return strings.HasPrefix(name, "user_send_") || name == "anonymous_send_text" ||
		name == "follow" || name == "user_click_chatnow" || name == "user_submit_info"
}

// Deliver POSTs body to webhookURL as Zalo does: Content-Type
// application/json and "X-ZEvent-Signature: mac=<Sign(app_id, body,
// timestamp, OASecretKey)>" over the exact bytes, with app_id and
// timestamp read from the body; and "num_retry: <n>" when numRetry > 0, as
// on Zalo's retries. Header names go out spelt as Zalo spells them. Before
// posting it records what the event means for the platform: an interaction
// at the event's timestamp (see Interact), a follow or an unfollow. The
// request goes through a loopback-only client bound to ctx; the caller
// closes the response body.
func (s *Server) Deliver(ctx context.Context, webhookURL string, body []byte, numRetry int) (*http.Response, error) {
	var ev struct {
		AppID     string `json:"app_id"`
		EventName string `json:"event_name"`
		Timestamp string `json:"timestamp"`
		Sender    struct {
			ID string `json:"id"`
		} `json:"sender"`
		Follower struct {
			ID string `json:"id"`
		} `json:"follower"`
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		return nil, fmt.Errorf("zalotest: deliver: the body is no event: %w", err)
	}
	s.note(ev.EventName, ev.Sender.ID, ev.Follower.ID, ev.Timestamp)

	h := http.Header{}
	h["X-ZEvent-Signature"] = []string{"mac=" + Sign(ev.AppID, body, ev.Timestamp, s.OASecretKey)}
	if numRetry > 0 {
		h["num_retry"] = []string{strconv.Itoa(numRetry)}
	}
	return s.DeliverWith(ctx, webhookURL, body, h)
}

// note records an event's effect on the user's state.
func (s *Server) note(name, sender, follower, timestamp string) {
	userID := sender
	if name == "follow" || name == "unfollow" {
		userID = follower
	}
	if userID == "" || userID == s.OAID {
		return
	}
	at := s.now()
	if ms, err := strconv.ParseInt(timestamp, 10, 64); err == nil {
		at = time.UnixMilli(ms)
	}
	switch {
	case name == "unfollow":
		s.Unfollow(userID)
	case name == "follow":
		s.Follow(userID)
	}
	if isInteraction(name) {
		s.Interact(userID, at)
	}
}

// DeliverWith POSTs body to webhookURL with exactly header (Content-Type
// application/json added when header has none) and records nothing: it is
// for requests Zalo would not send, such as a bad signature.
func (s *Server) DeliverWith(ctx context.Context, webhookURL string, body []byte, header http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, webhookURL, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("zalotest: deliver: %w", err)
	}
	req.Header = header.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	if req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("zalotest: deliver: %w", err)
	}
	return resp, nil
}
