package telegramtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
)

// pending is an update waiting for getUpdates.
type pending struct {
	id   int
	kind string // "message", "callback_query", …
	raw  json.RawMessage
}

// User is the resident the Push helpers put in "from" (and, in a private
// chat, in "chat"). Without SetUser a chat's user is {ID: chatID,
// FirstName: "Lan", LanguageCode: "vi"}.
type User struct {
	ID           int64
	FirstName    string
	LastName     string
	Username     string
	LanguageCode string
}

// SetUser sets the profile the Push helpers use for the private chat u.ID.
func (s *Server) SetUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.user[u.ID] = u
}

func (s *Server) userLocked(id int64) User {
	if u, ok := s.user[id]; ok {
		return u
	}
	return User{ID: id, FirstName: "Lan", LanguageCode: "vi"}
}

// PushUpdate queues an update, given as JSON (a fixture file, say), for
// getUpdates. An absent or zero "update_id" is assigned the next one; a
// given one is kept, and later ones are numbered after it. It returns the
// update_id. Like Telegram, the server drops an update whose kind is not in
// the allowed_updates set last given to getUpdates or setWebhook (the
// default set leaves out chat_member, message_reaction and
// message_reaction_count); it logs that and still returns the id. Invalid
// JSON fails the test, so call it from the test goroutine.
func (s *Server) PushUpdate(raw []byte) int {
	s.tb.Helper()
	fields, id, err := decodeUpdate(raw)
	if err != nil {
		s.tb.Fatalf("telegramtest: PushUpdate: %v", err)
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id, raw, err = s.numberLocked(fields, id, raw)
	if err != nil {
		s.tb.Fatalf("telegramtest: PushUpdate: %v", err)
		return 0
	}
	s.noteUpdateLocked(fields)
	s.enqueueLocked(id, updateKind(fields), raw)
	return id
}

// decodeUpdate checks that raw is a JSON object and reads its update_id.
func decodeUpdate(raw []byte) (map[string]json.RawMessage, int, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, 0, fmt.Errorf("update is not a JSON object: %w", err)
	}
	if fields == nil {
		return nil, 0, errors.New("update is null")
	}
	id := 0
	if v, ok := fields["update_id"]; ok && string(v) != "null" {
		if err := json.Unmarshal(v, &id); err != nil {
			return nil, 0, fmt.Errorf("update_id %s is not an integer", v)
		}
	}
	return fields, id, nil
}

// numberLocked assigns an update_id when id is 0 and keeps the sequence
// ahead of given ones. It returns the id and the update's JSON with it.
func (s *Server) numberLocked(fields map[string]json.RawMessage, id int, raw []byte) (int, []byte, error) {
	if id != 0 {
		s.nextUpdate = max(s.nextUpdate, id+1)
		return id, bytes.Clone(raw), nil
	}
	id = s.nextUpdate
	s.nextUpdate++
	fields["update_id"] = json.RawMessage(strconv.Itoa(id))
	b, err := json.Marshal(fields)
	return id, b, err
}

// updateKind is the update's one optional field ("message", …).
func updateKind(fields map[string]json.RawMessage) string {
	var kinds []string
	for k := range fields {
		if k != "update_id" {
			kinds = append(kinds, k)
		}
	}
	slices.Sort(kinds)
	if len(kinds) == 0 {
		return ""
	}
	return kinds[0]
}

// noteUpdateLocked learns from an update what the real server would know:
// callback query ids that may be answered, and message ids used in a chat
// (private chats share one sequence between the resident and the bot).
func (s *Server) noteUpdateLocked(fields map[string]json.RawMessage) {
	var cq struct {
		ID string `json:"id"`
	}
	if v, ok := fields["callback_query"]; ok && json.Unmarshal(v, &cq) == nil && cq.ID != "" {
		s.callbacks[cq.ID] = true
	}
	for _, k := range []string{"message", "channel_post", "business_message"} {
		var m struct {
			MessageID int `json:"message_id"`
			Chat      struct {
				ID int64 `json:"id"`
			} `json:"chat"`
		}
		if v, ok := fields[k]; ok && json.Unmarshal(v, &m) == nil && m.MessageID > 0 && m.Chat.ID != 0 {
			c := s.chatLocked(m.Chat.ID)
			c.last = max(c.last, m.MessageID)
			c.theirs[m.MessageID] = true
		}
	}
}

// defaultExcluded are the kinds Telegram leaves out when allowed_updates is
// empty or was never set.
var defaultExcluded = []string{"chat_member", "message_reaction", "message_reaction_count"}

func (s *Server) allowedLocked(kind string) bool {
	if len(s.allowed) == 0 {
		return !slices.Contains(defaultExcluded, kind)
	}
	return slices.Contains(s.allowed, kind)
}

func (s *Server) enqueueLocked(id int, kind string, raw []byte) {
	if kind != "" && !s.allowedLocked(kind) {
		s.tb.Logf("telegramtest: update %d dropped: %q is not in allowed_updates %q", id, kind, s.allowed)
		return
	}
	u := pending{id: id, kind: kind, raw: raw}
	i := len(s.updates)
	for i > 0 && s.updates[i-1].id > id {
		i--
	}
	s.updates = slices.Insert(s.updates, i, u)
	s.notifyLocked()
}

// PushText queues a text message from the resident chatID in their private
// chat (chat.id == from.id). Text starting with "/" gets a bot_command
// entity over its first word, as Telegram adds. It returns the update_id.
func (s *Server) PushText(chatID int64, text string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.incomingLocked(chatID)
	m.Text = text
	if strings.HasPrefix(text, "/") {
		cmd, _, _ := strings.Cut(text, " ")
		m.Entities = []entityJSON{{Type: "bot_command", Offset: 0, Length: len(utf16.Encode([]rune(cmd)))}}
	}
	return s.pushLocked("message", updateJSON{Message: m})
}

// PushPhoto queues a photo message (no caption) from the resident chatID.
// fileID should come from AddFile, so that getFile and the download work.
// It returns the update_id.
func (s *Server) PushPhoto(chatID int64, fileID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.incomingLocked(chatID)
	if f, ok := s.files[fileID]; ok {
		m.Photo = f.sizes()
	} else {
		m.Photo = []photoSizeJSON{{FileID: fileID, FileUniqueID: "AQAD" + fileID, Width: 1280, Height: 960}}
	}
	return s.pushLocked("message", updateJSON{Message: m})
}

// PushCallback queues a callback query from the resident chatID who pressed
// a button with data under the bot's message messageID. The update carries
// that message as the bot sent it (edits applied); a message the bot never
// sent or deleted comes as an inaccessible message (date 0), as Telegram
// sends it. It returns the update_id; the query's id can be answered once
// with answerCallbackQuery.
func (s *Server) PushCallback(chatID int64, messageID int, data string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.callbackN++
	id := strconv.FormatInt(7310000000000000000+int64(s.callbackN), 10)
	s.callbacks[id] = true
	u := s.userLocked(chatID)
	var msg *messageJSON
	if m := s.chatLocked(chatID).bot(messageID); m != nil && !m.Deleted {
		msg = s.messageJSONLocked(m)
	} else {
		msg = &messageJSON{MessageID: messageID, Chat: s.chatObject(chatID)}
	}
	return s.pushLocked("callback_query", updateJSON{CallbackQuery: &callbackJSON{
		ID:           id,
		From:         s.userObject(u),
		Message:      msg,
		ChatInstance: strconv.FormatInt(chatID*31+int64(s.botID%1000), 10),
		Data:         data,
	}})
}

// incomingLocked starts a message from the resident in their private chat,
// with the chat's next message id.
func (s *Server) incomingLocked(chatID int64) *messageJSON {
	c := s.chatLocked(chatID)
	c.last++
	c.theirs[c.last] = true
	return &messageJSON{
		MessageID: c.last,
		From:      s.userObject(s.userLocked(chatID)),
		Chat:      s.chatObject(chatID),
		Date:      time.Now().Unix(),
	}
}

func (s *Server) pushLocked(kind string, u updateJSON) int {
	u.UpdateID = s.nextUpdate
	s.nextUpdate++
	raw, err := json.Marshal(u)
	if err != nil {
		panic(err) // our own types always marshal
	}
	s.enqueueLocked(u.UpdateID, kind, raw)
	return u.UpdateID
}

// Confirmed returns the highest update_id that a getUpdates offset
// confirmed (0 if none). Confirmed updates are forgotten.
func (s *Server) Confirmed() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.confirmed
}

// WaitConfirmed waits until a getUpdates offset confirmed updateID, which a
// poller does only after it has handled the update (or so it should). It
// fails the test after 10 s.
func (s *Server) WaitConfirmed(tb testing.TB, updateID int) {
	tb.Helper()
	s.wait(tb, fmt.Sprintf("update %d to be confirmed", updateID),
		func() bool { return s.confirmed >= updateID },
		func() string { return fmt.Sprintf("confirmed up to %d", s.confirmed) })
}

// Pending returns the number of updates not yet confirmed.
func (s *Server) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.updates)
}

// forgetLocked applies an offset: a positive offset confirms and forgets
// every update below it; a negative one keeps only the last -offset updates.
func (s *Server) forgetLocked(offset int) {
	n := 0
	switch {
	case offset > 0:
		for n < len(s.updates) && s.updates[n].id < offset {
			n++
		}
	case offset < 0:
		n = max(len(s.updates)+offset, 0)
	}
	if n == 0 {
		return
	}
	s.confirmed = max(s.confirmed, s.updates[n-1].id)
	s.updates = slices.Delete(s.updates, 0, n)
	s.notifyLocked()
}

func (s *Server) getUpdates(q *request) answer {
	offset := q.int("offset", 0)
	limit := min(max(q.int("limit", 100), 1), 100)
	timeout := max(q.int("timeout", 0), 0)
	var allowed []string
	if q.has("allowed_updates") {
		if err := json.Unmarshal([]byte(q.str("allowed_updates")), &allowed); err != nil {
			return badRequest("can't parse allowed updates")
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.webhook.URL != "" {
		return apiError(409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first")
	}
	if q.has("allowed_updates") {
		s.allowed = allowed
		s.webhook.AllowedUpdates = allowed
	}
	s.pollGen++
	gen := s.pollGen
	s.notifyLocked() // an older poll ends with 409
	timer := time.NewTimer(time.Duration(timeout) * time.Second)
	defer timer.Stop()
	for {
		if gen != s.pollGen {
			return apiError(409, "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running")
		}
		s.forgetLocked(offset)
		n := min(limit, len(s.updates))
		if n > 0 || timeout == 0 {
			return ok(rawUpdates(s.updates[:n]))
		}
		ch := s.changed.Next()
		s.mu.Unlock()
		stop := false
		select {
		case <-ch:
		case <-timer.C:
			stop = true
		case <-q.ctx.Done():
			stop = true
		case <-s.done:
			stop = true
		}
		s.mu.Lock()
		if stop {
			timeout = 0 // one last look, then answer what there is
		}
	}
}

// rawUpdates is a JSON array of updates as they were pushed.
type rawUpdates []pending

func (u rawUpdates) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, p := range u {
		if i > 0 {
			b.WriteByte(',')
		}
		if err := json.Compact(&b, p.raw); err != nil {
			return nil, err
		}
	}
	b.WriteByte(']')
	return b.Bytes(), nil
}

// WebhookInfo is the webhook as setWebhook registered it.
type WebhookInfo struct {
	// URL is where Deliver posts updates; "" when no webhook is set.
	URL string
	// SecretToken is sent by Deliver in X-Telegram-Bot-Api-Secret-Token.
	SecretToken          string
	AllowedUpdates       []string
	MaxConnections       int
	IPAddress            string
	DropPendingUpdates   bool
	HasCustomCertificate bool
}

// Webhook returns the registered webhook.
func (s *Server) Webhook() WebhookInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.webhook
	w.AllowedUpdates = slices.Clone(w.AllowedUpdates)
	return w
}

var secretToken = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)

func (s *Server) setWebhook(q *request) answer {
	link := q.str("url")
	if link == "" {
		return s.deleteWebhook(q)
	}
	if !strings.HasPrefix(link, "https://") && !strings.HasPrefix(link, "http://") {
		return badRequest("bad webhook: HTTPS url must be provided for webhook")
	}
	if q.has("secret_token") && !secretToken.MatchString(q.str("secret_token")) {
		return badRequest("secret token contains unallowed characters")
	}
	maxConn := q.int("max_connections", 40)
	if maxConn < 1 || maxConn > 100 {
		return badRequest("bad webhook: max_connections must be between 1 and 100")
	}
	var allowed []string
	if q.has("allowed_updates") {
		if err := json.Unmarshal([]byte(q.str("allowed_updates")), &allowed); err != nil {
			return badRequest("can't parse allowed updates")
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	desc := "Webhook was set"
	if s.webhook.URL == link {
		desc = "Webhook is already set"
	}
	if q.has("allowed_updates") {
		s.allowed = allowed
	}
	_, cert := q.uploads["certificate"]
	s.webhook = WebhookInfo{
		URL:                  link,
		SecretToken:          q.str("secret_token"),
		AllowedUpdates:       s.allowed,
		MaxConnections:       maxConn,
		IPAddress:            q.str("ip_address"),
		DropPendingUpdates:   q.bool("drop_pending_updates"),
		HasCustomCertificate: cert || q.has("certificate"),
	}
	if q.bool("drop_pending_updates") {
		s.updates = nil
	}
	s.notifyLocked()
	return okWith(true, desc)
}

func (s *Server) deleteWebhook(q *request) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	desc := "Webhook is already deleted"
	if s.webhook.URL != "" {
		desc = "Webhook was deleted"
	}
	s.webhook = WebhookInfo{MaxConnections: 40, AllowedUpdates: s.allowed}
	if q.bool("drop_pending_updates") {
		s.updates = nil
	}
	s.notifyLocked()
	return okWith(true, desc)
}

func (s *Server) getWebhookInfo(*request) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	type info struct {
		URL                  string   `json:"url"`
		HasCustomCertificate bool     `json:"has_custom_certificate"`
		PendingUpdateCount   int      `json:"pending_update_count"`
		IPAddress            string   `json:"ip_address,omitempty"`
		LastErrorDate        int64    `json:"last_error_date,omitempty"`
		LastErrorMessage     string   `json:"last_error_message,omitempty"`
		MaxConnections       int      `json:"max_connections,omitempty"`
		AllowedUpdates       []string `json:"allowed_updates,omitempty"`
	}
	w := info{URL: s.webhook.URL, PendingUpdateCount: len(s.updates)}
	if w.URL != "" {
		w.HasCustomCertificate = s.webhook.HasCustomCertificate
		w.IPAddress = s.webhook.IPAddress
		w.LastErrorDate = s.lastErrAt
		w.LastErrorMessage = s.lastErr
		w.MaxConnections = s.webhook.MaxConnections
		w.AllowedUpdates = s.webhook.AllowedUpdates
	}
	return ok(w)
}

// Deliver POSTs one update (JSON; an absent or zero update_id is assigned)
// to the registered webhook URL as Telegram does: Content-Type
// application/json and, when a secret_token was registered, the header
// X-Telegram-Bot-Api-Secret-Token. The request goes through a loopback-only
// client bound to ctx. A failure or a non-2xx answer is reported by
// getWebhookInfo as last_error_message. The caller closes the response body.
func (s *Server) Deliver(ctx context.Context, raw []byte) (*http.Response, error) {
	fields, id, err := decodeUpdate(raw)
	if err != nil {
		return nil, fmt.Errorf("telegramtest: deliver: %w", err)
	}
	s.mu.Lock()
	hook := s.webhook
	if hook.URL == "" {
		s.mu.Unlock()
		return nil, errors.New("telegramtest: deliver: no webhook is set")
	}
	_, raw, err = s.numberLocked(fields, id, raw)
	if err == nil {
		s.noteUpdateLocked(fields)
	}
	s.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("telegramtest: deliver: %w", err)
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hook.URL, bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("telegramtest: deliver: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if hook.SecretToken != "" {
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", hook.SecretToken)
	}
	resp, err := s.hc.Do(req)
	var problem string
	switch {
	case err != nil:
		problem = "Connection refused"
		if errors.Is(err, context.DeadlineExceeded) {
			problem = "Read timeout expired"
		}
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		problem = "Wrong response from the webhook: " + resp.Status
	}
	if problem != "" {
		s.mu.Lock()
		s.lastErrAt, s.lastErr = time.Now().Unix(), problem
		s.notifyLocked()
		s.mu.Unlock()
	}
	if err != nil {
		return nil, fmt.Errorf("telegramtest: deliver: %w", err)
	}
	if problem == "" {
		// A webhook may answer with a method, which Telegram performs
		// (without telling its result).
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		_ = resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("telegramtest: deliver: read the answer: %w", err)
		}
		s.performAnswer(resp.Header.Get("Content-Type"), body)
	}
	return resp, nil
}

// inResponseHeader marks the request performAnswer makes for a method
// found in a webhook's answer.
const inResponseHeader = "X-Telegramtest-In-Response"

// performAnswer performs the method a webhook's answer carries, if any, as
// a call of the bot's (recorded with InResponse).
func (s *Server) performAnswer(contentType string, body []byte) {
	if len(bytes.TrimSpace(body)) == 0 {
		return
	}
	probe := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	probe.Header.Set("Content-Type", contentType)
	q, err := parseRequest(probe)
	if err != nil || q.params["method"] == "" {
		s.tb.Errorf("telegramtest: a webhook answered with a body that is no method call (%q): %v", body, err)
		return
	}
	req := httptest.NewRequest(http.MethodPost, "/bot"+s.Token+"/"+q.params["method"], bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	req.Header.Set(inResponseHeader, "1")
	s.ServeHTTP(httptest.NewRecorder(), req)
}
