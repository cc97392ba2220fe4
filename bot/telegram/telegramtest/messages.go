package telegramtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	_ "image/gif" // photo sizes of uploaded GIFs
	_ "image/jpeg"
	_ "image/png"
	"mime"
	"net/http"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
)

// Message is a message the bot sent, as it stands now.
type Message struct {
	ChatID    int64
	MessageID int
	Text      string
	Caption   string
	ParseMode string
	// Buttons are the inline keyboard's rows; nil when there is none.
	Buttons [][]Button
	// ReplyMarkup is the reply_markup JSON as last sent (any kind of
	// keyboard), "" when none.
	ReplyMarkup string
	// DisableWebPagePreview and LinkPreviewOptions are sendMessage's
	// preview parameters as the bot sent them: the old boolean, and Bot
	// API 7.0's object as its raw JSON ("" when absent). PreviewOff says
	// what Telegram makes of them.
	DisableWebPagePreview bool
	LinkPreviewOptions    string
	// Photo and Document are what the bot passed: a file id, a URL, or
	// "file:<filename>" for an upload (as in Call.Params).
	Photo    string
	Document string
	// FileID is the file id of the photo (largest size) or document, which
	// the bot can reuse and File returns the bytes of.
	FileID string
	// Deleted is true once deleteMessage removed the message.
	Deleted bool
	// Edits counts the edits that changed the message.
	Edits int
	// Date is when it was sent.
	Date time.Time
}

// PreviewOff reports whether Telegram shows the message without a link
// preview: link_preview_options' is_disabled when the bot sent that
// object, else the legacy disable_web_page_preview, as Telegram's server
// reads them (tdlib/telegram-bot-api, Client::get_link_preview_options).
func (m Message) PreviewOff() bool {
	if m.LinkPreviewOptions != "" {
		var o linkPreviewJSON
		_ = json.Unmarshal([]byte(m.LinkPreviewOptions), &o) // checked when sent
		return o.IsDisabled != nil && *o.IsDisabled
	}
	return m.DisableWebPagePreview
}

// linkPreviewJSON is the part of LinkPreviewOptions the fake reads.
type linkPreviewJSON struct {
	IsDisabled *bool   `json:"is_disabled"`
	URL        *string `json:"url"`
}

// parseLinkPreview checks a link_preview_options field as Telegram does: a
// JSON object whose fields have their types, else 400.
func parseLinkPreview(raw string) *answer {
	if raw == "" {
		return nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &obj); err != nil || obj == nil {
		a := badRequest("can't parse link preview options JSON object")
		return &a
	}
	var o linkPreviewJSON
	if err := json.Unmarshal([]byte(raw), &o); err != nil {
		a := badRequest("can't parse link preview options JSON object")
		return &a
	}
	return nil
}

// Button is one inline keyboard button.
type Button struct {
	Text         string
	CallbackData string
	URL          string
}

// chat is what the server knows of one chat.
type chat struct {
	id     int64
	last   int // last message id used, by the resident or the bot
	sent   []*Message
	theirs map[int]bool // message ids of the resident's messages; false once deleted
}

func (c *chat) bot(id int) *Message {
	for _, m := range c.sent {
		if m.MessageID == id {
			return m
		}
	}
	return nil
}

func (s *Server) chatLocked(id int64) *chat {
	c, ok := s.chats[id]
	if !ok {
		c = &chat{id: id, theirs: map[int]bool{}}
		s.chats[id] = c
	}
	return c
}

// Messages returns every message the bot sent to chatID, in order, with
// later edits applied and deletions flagged. Message ids are per chat, start
// at 1 and increase; in a private chat the resident's messages (PushText,
// PushPhoto, pushed fixtures) take ids from the same sequence, as on
// Telegram, so the bot's first reply to a /start is message 2.
func (s *Server) Messages(chatID int64) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.messagesLocked(chatID)
}

func (s *Server) messagesLocked(chatID int64) []Message {
	c, ok := s.chats[chatID]
	if !ok {
		return nil
	}
	out := make([]Message, 0, len(c.sent))
	for _, m := range c.sent {
		cp := *m
		cp.Buttons = cloneRows(m.Buttons)
		out = append(out, cp)
	}
	return out
}

// WaitMessages waits until the bot has sent at least n messages to chatID
// and returns them all. It fails the test after 10 s.
func (s *Server) WaitMessages(tb testing.TB, chatID int64, n int) []Message {
	tb.Helper()
	var got []Message
	s.wait(tb, fmt.Sprintf("%d messages to chat %d", n, chatID), func() bool {
		got = s.messagesLocked(chatID)
		return len(got) >= n
	}, func() string { return fmt.Sprintf("got %d: %+v", len(got), got) })
	return got
}

// Block makes the resident chatID block the bot: every send, edit and chat
// action to the chat fails with 403 "Forbidden: bot was blocked by the
// user" until Unblock. (Push the my_chat_member update yourself if the bot
// should hear of it.)
func (s *Server) Block(chatID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.blocked[chatID] = true
}

// Unblock undoes Block.
func (s *Server) Unblock(chatID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.blocked, chatID)
}

// ---- JSON shapes of the Bot API ----

type userJSON struct {
	ID                      int64  `json:"id"`
	IsBot                   bool   `json:"is_bot"`
	FirstName               string `json:"first_name"`
	LastName                string `json:"last_name,omitempty"`
	Username                string `json:"username,omitempty"`
	LanguageCode            string `json:"language_code,omitempty"`
	CanJoinGroups           *bool  `json:"can_join_groups,omitempty"`
	CanReadAllGroupMessages *bool  `json:"can_read_all_group_messages,omitempty"`
	SupportsInlineQueries   *bool  `json:"supports_inline_queries,omitempty"`
}

type chatJSON struct {
	ID        int64  `json:"id"`
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name,omitempty"`
	Username  string `json:"username,omitempty"`
	Title     string `json:"title,omitempty"`
	Type      string `json:"type"`
}

type entityJSON struct {
	Type   string `json:"type"`
	Offset int    `json:"offset"`
	Length int    `json:"length"`
}

type photoSizeJSON struct {
	FileID       string `json:"file_id"`
	FileUniqueID string `json:"file_unique_id"`
	Width        int    `json:"width"`
	Height       int    `json:"height"`
	FileSize     int    `json:"file_size,omitempty"`
}

type documentJSON struct {
	FileID       string `json:"file_id"`
	FileUniqueID string `json:"file_unique_id"`
	FileName     string `json:"file_name,omitempty"`
	MimeType     string `json:"mime_type,omitempty"`
	FileSize     int    `json:"file_size,omitempty"`
}

type messageJSON struct {
	MessageID   int             `json:"message_id"`
	From        *userJSON       `json:"from,omitempty"`
	Chat        chatJSON        `json:"chat"`
	Date        int64           `json:"date"`
	EditDate    int64           `json:"edit_date,omitempty"`
	Text        string          `json:"text,omitempty"`
	Entities    []entityJSON    `json:"entities,omitempty"`
	Photo       []photoSizeJSON `json:"photo,omitempty"`
	Document    *documentJSON   `json:"document,omitempty"`
	Caption     string          `json:"caption,omitempty"`
	ReplyMarkup json.RawMessage `json:"reply_markup,omitempty"`
}

type callbackJSON struct {
	ID           string       `json:"id"`
	From         *userJSON    `json:"from"`
	Message      *messageJSON `json:"message,omitempty"`
	ChatInstance string       `json:"chat_instance"`
	Data         string       `json:"data,omitempty"`
}

type updateJSON struct {
	UpdateID      int           `json:"update_id"`
	Message       *messageJSON  `json:"message,omitempty"`
	CallbackQuery *callbackJSON `json:"callback_query,omitempty"`
}

func (s *Server) userObject(u User) *userJSON {
	return &userJSON{ID: u.ID, FirstName: u.FirstName, LastName: u.LastName, Username: u.Username, LanguageCode: u.LanguageCode}
}

func (s *Server) botObject() *userJSON {
	return &userJSON{ID: s.botID, IsBot: true, FirstName: "Hàng xóm số", Username: s.botUsername}
}

// chatObject describes a chat by its id: positive ids are private chats with
// the resident of that id, -100… ids supergroups, other negative ids groups.
// s.mu must be held.
func (s *Server) chatObject(id int64) chatJSON {
	switch {
	case id > 0:
		u := s.userLocked(id)
		return chatJSON{ID: id, FirstName: u.FirstName, LastName: u.LastName, Username: u.Username, Type: "private"}
	case id <= -1000000000000:
		return chatJSON{ID: id, Title: "Tổ dân phố (test)", Type: "supergroup"}
	default:
		return chatJSON{ID: id, Title: "Nhóm (test)", Type: "group"}
	}
}

// messageJSONLocked is m as the Bot API returns it.
func (s *Server) messageJSONLocked(m *Message) *messageJSON {
	j := &messageJSON{
		MessageID: m.MessageID,
		From:      s.botObject(),
		Chat:      s.chatObject(m.ChatID),
		Date:      m.Date.Unix(),
		Text:      m.Text,
		Caption:   m.Caption,
	}
	if m.Edits > 0 {
		j.EditDate = time.Now().Unix()
	}
	if len(m.Buttons) > 0 {
		// Messages carry reply_markup only for inline keyboards.
		j.ReplyMarkup, _ = json.Marshal(inlineMarkup(m.Buttons))
	}
	if f, ok := s.files[m.FileID]; ok {
		if m.Photo != "" {
			j.Photo = f.sizes()
		} else {
			j.Document = f.document()
		}
	} else if m.FileID != "" {
		if m.Photo != "" {
			j.Photo = []photoSizeJSON{{FileID: m.FileID, FileUniqueID: "AQAD" + m.FileID, Width: 1280, Height: 960}}
		} else {
			j.Document = &documentJSON{FileID: m.FileID, FileUniqueID: "AgAD" + m.FileID}
		}
	}
	return j
}

// ---- reply markup ----

type buttonJSON struct {
	Text         string  `json:"text"`
	URL          *string `json:"url,omitempty"`
	CallbackData *string `json:"callback_data,omitempty"`
}

type markupJSON struct {
	InlineKeyboard [][]buttonJSON `json:"inline_keyboard"`
}

func inlineMarkup(rows [][]Button) markupJSON {
	out := markupJSON{InlineKeyboard: [][]buttonJSON{}}
	for _, row := range rows {
		r := []buttonJSON{}
		for _, b := range row {
			bj := buttonJSON{Text: b.Text}
			if b.URL != "" {
				bj.URL = &b.URL
			}
			if b.CallbackData != "" || b.URL == "" {
				bj.CallbackData = &b.CallbackData
			}
			r = append(r, bj)
		}
		out.InlineKeyboard = append(out.InlineKeyboard, r)
	}
	return out
}

func cloneRows(rows [][]Button) [][]Button {
	if rows == nil {
		return nil
	}
	out := make([][]Button, len(rows))
	for i, r := range rows {
		out[i] = slices.Clone(r)
	}
	return out
}

// buttonActions are the fields of which an inline button needs one.
var buttonActions = []string{"url", "callback_data", "web_app", "login_url", "switch_inline_query",
	"switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text", "callback_game", "pay"}

// parseMarkup reads a reply_markup field. It returns the inline keyboard
// rows (nil for none or another kind of keyboard) and, for an invalid
// markup, Telegram's error.
func parseMarkup(raw string, inlineOnly bool) ([][]Button, *answer) {
	if raw == "" {
		return nil, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		a := badRequest("can't parse reply keyboard markup JSON object")
		return nil, &a
	}
	kb, ok := m["inline_keyboard"]
	if !ok {
		if inlineOnly {
			a := badRequest("inline keyboard expected")
			return nil, &a
		}
		return nil, nil
	}
	var rows [][]map[string]json.RawMessage
	if err := json.Unmarshal(kb, &rows); err != nil {
		a := badRequest("can't parse inline keyboard button: field \"inline_keyboard\" must be an Array of Arrays")
		return nil, &a
	}
	var out [][]Button
	for _, row := range rows {
		var r []Button
		for _, f := range row {
			var b Button
			_ = json.Unmarshal(f["text"], &b.Text)
			_ = json.Unmarshal(f["callback_data"], &b.CallbackData)
			_ = json.Unmarshal(f["url"], &b.URL)
			if b.Text == "" {
				a := badRequest("can't parse inline keyboard button: Text must be non-empty")
				return nil, &a
			}
			if !slices.ContainsFunc(buttonActions, func(k string) bool { _, ok := f[k]; return ok }) {
				a := badRequest("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
				return nil, &a
			}
			if _, ok := f["callback_data"]; ok && (len(b.CallbackData) < 1 || len(b.CallbackData) > 64) {
				a := badRequest("BUTTON_DATA_INVALID")
				return nil, &a
			}
			r = append(r, b)
		}
		if len(r) > 0 {
			out = append(out, r)
		}
	}
	return out, nil
}

// ---- sending ----

// target reads chat_id and checks the chat may be written to. s.mu must be
// held.
func (s *Server) targetLocked(q *request) (int64, *answer) {
	raw := q.str("chat_id")
	if raw == "" {
		a := badRequest("chat_id is empty")
		return 0, &a
	}
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id == 0 {
		a := badRequest("chat not found")
		return 0, &a
	}
	if s.blocked[id] {
		a := apiError(403, "Forbidden: bot was blocked by the user")
		return 0, &a
	}
	return id, nil
}

func utf16Len(s string) int { return len(utf16.Encode([]rune(s))) }

// tooLong applies a length limit. Telegram counts characters after entity
// parsing, so with a parse_mode the markup's own characters would be
// counted too: the check is then skipped.
func tooLong(text, parseMode string, limit int) bool {
	return parseMode == "" && utf16Len(text) > limit
}

// addLocked records a new bot message in chatID and returns it.
func (s *Server) addLocked(chatID int64, m *Message) *Message {
	c := s.chatLocked(chatID)
	c.last++
	m.ChatID, m.MessageID, m.Date = chatID, c.last, time.Now()
	c.sent = append(c.sent, m)
	s.notifyLocked()
	return m
}

func (s *Server) sendMessage(q *request) answer {
	text := q.str("text")
	if text == "" {
		return badRequest("message text is empty")
	}
	if tooLong(text, q.str("parse_mode"), 4096) {
		return badRequest("message is too long")
	}
	rows, bad := parseMarkup(q.str("reply_markup"), false)
	if bad != nil {
		return *bad
	}
	if bad := parseLinkPreview(q.str("link_preview_options")); bad != nil {
		return *bad
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	chatID, bad := s.targetLocked(q)
	if bad != nil {
		return *bad
	}
	m := s.addLocked(chatID, &Message{Text: text, ParseMode: q.str("parse_mode"), Buttons: rows, ReplyMarkup: q.str("reply_markup"),
		DisableWebPagePreview: q.bool("disable_web_page_preview"), LinkPreviewOptions: q.str("link_preview_options")})
	return ok(s.messageJSONLocked(m))
}

// editTargetLocked finds the bot message an edit names. inline is true for
// an inline_message_id edit, which answers true.
func (s *Server) editTargetLocked(q *request) (m *Message, inline bool, bad *answer) {
	if q.str("inline_message_id") != "" {
		return nil, true, nil
	}
	chatID, bad := s.targetLocked(q)
	if bad != nil {
		return nil, false, bad
	}
	id := q.int("message_id", 0)
	if id == 0 {
		a := badRequest("message identifier is not specified")
		return nil, false, &a
	}
	c := s.chatLocked(chatID)
	if m := c.bot(id); m != nil && !m.Deleted {
		return m, false, nil
	}
	if c.theirs[id] {
		a := badRequest("message can't be edited")
		return nil, false, &a
	}
	a := badRequest("message to edit not found")
	return nil, false, &a
}

var notModified = badRequest("message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message")

// editLocked applies an edit to m, or answers "message is not modified"
// when it changes nothing. Without a reply_markup an edit removes the
// inline keyboard, as on Telegram.
func (s *Server) editLocked(m *Message, q *request, apply func(m *Message)) answer {
	rows, bad := parseMarkup(q.str("reply_markup"), true)
	if bad != nil {
		return *bad
	}
	next := *m
	apply(&next)
	next.Buttons, next.ReplyMarkup = rows, q.str("reply_markup")
	if len(rows) == 0 {
		next.Buttons, next.ReplyMarkup = nil, ""
	}
	if next.Text == m.Text && next.Caption == m.Caption && buttonsEqual(next.Buttons, m.Buttons) {
		return notModified
	}
	next.Edits++
	*m = next
	s.notifyLocked()
	return ok(s.messageJSONLocked(m))
}

func buttonsEqual(a, b [][]Button) bool {
	return slices.EqualFunc(a, b, func(x, y []Button) bool { return slices.Equal(x, y) })
}

func (s *Server) editMessageText(q *request) answer {
	text := q.str("text")
	if text == "" {
		return badRequest("message text is empty")
	}
	if tooLong(text, q.str("parse_mode"), 4096) {
		return badRequest("MESSAGE_TOO_LONG")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, inline, bad := s.editTargetLocked(q)
	switch {
	case bad != nil:
		return *bad
	case inline:
		return ok(true)
	case m.Photo != "" || m.Document != "":
		return badRequest("there is no text in the message to edit")
	}
	return s.editLocked(m, q, func(m *Message) { m.Text, m.ParseMode = text, q.str("parse_mode") })
}

func (s *Server) editMessageCaption(q *request) answer {
	caption := q.str("caption")
	if tooLong(caption, q.str("parse_mode"), 1024) {
		return badRequest("message caption is too long")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, inline, bad := s.editTargetLocked(q)
	switch {
	case bad != nil:
		return *bad
	case inline:
		return ok(true)
	case m.Photo == "" && m.Document == "":
		return badRequest("there is no caption in the message to edit")
	}
	return s.editLocked(m, q, func(m *Message) { m.Caption, m.ParseMode = caption, q.str("parse_mode") })
}

func (s *Server) editMessageReplyMarkup(q *request) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, inline, bad := s.editTargetLocked(q)
	switch {
	case bad != nil:
		return *bad
	case inline:
		return ok(true)
	}
	return s.editLocked(m, q, func(*Message) {})
}

func (s *Server) deleteMessage(q *request) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	chatID, bad := s.targetLocked(q)
	if bad != nil {
		return *bad
	}
	id := q.int("message_id", 0)
	c := s.chatLocked(chatID)
	if m := c.bot(id); m != nil && !m.Deleted {
		m.Deleted = true
		s.notifyLocked()
		return ok(true)
	}
	if c.theirs[id] {
		c.theirs[id] = false
		s.notifyLocked()
		return ok(true)
	}
	return badRequest("message to delete not found")
}

func (s *Server) answerCallbackQuery(q *request) answer {
	id := q.str("callback_query_id")
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.callbacks[id] {
		return badRequest("query is too old and response timeout expired or query ID is invalid")
	}
	return ok(true)
}

var chatActions = []string{"typing", "upload_photo", "record_video", "upload_video", "record_voice",
	"upload_voice", "upload_document", "choose_sticker", "find_location", "record_video_note", "upload_video_note"}

func (s *Server) sendChatAction(q *request) answer {
	if !slices.Contains(chatActions, q.str("action")) {
		return badRequest("wrong parameter action in request")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, bad := s.targetLocked(q); bad != nil {
		return *bad
	}
	return ok(true)
}

// ---- files ----

// file is a file the server can serve.
type file struct {
	id, uniqueID string
	path         string // file_path for getFile and the download URL
	name         string
	data         []byte // nil for a file known by URL only
	width        int    // for photos
	height       int
}

func (f *file) sizes() []photoSizeJSON {
	w, h := f.width, f.height
	if w == 0 || h == 0 {
		w, h = 1280, 960
	}
	tw, th := w, h
	if m := max(w, h); m > 90 {
		tw, th = max(w*90/m, 1), max(h*90/m, 1)
	}
	return []photoSizeJSON{
		{FileID: f.id + "_s", FileUniqueID: f.uniqueID + "_s", Width: tw, Height: th, FileSize: len(f.data) / 8},
		{FileID: f.id, FileUniqueID: f.uniqueID, Width: w, Height: h, FileSize: len(f.data)},
	}
}

func (f *file) document() *documentJSON {
	return &documentJSON{FileID: f.id, FileUniqueID: f.uniqueID, FileName: f.name, MimeType: mimeType(f.name), FileSize: len(f.data)}
}

func mimeType(name string) string {
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		t, _, _ = strings.Cut(t, ";")
		return t
	}
	return "application/octet-stream"
}

// AddFile makes data downloadable under name: the returned file id works
// with getFile (and PushPhoto), and the file_path it answers is served at
// URL+"/file/bot"+Token+"/"+file_path.
func (s *Server) AddFile(data []byte, name string) (fileID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addFileLocked(data, name).id
}

func (s *Server) addFileLocked(data []byte, name string) *file {
	s.fileN++
	f := &file{
		id:       fmt.Sprintf("BQACAgUAAxkBAAI%06dTgTest", s.fileN),
		uniqueID: fmt.Sprintf("AgAD%06d", s.fileN),
		name:     name,
		data:     bytes.Clone(data),
	}
	dir := "documents"
	if cfg, _, err := image.DecodeConfig(bytes.NewReader(data)); err == nil {
		dir, f.width, f.height = "photos", cfg.Width, cfg.Height
	}
	f.path = fmt.Sprintf("%s/file_%d%s", dir, s.fileN, strings.ToLower(path.Ext(name)))
	s.files[f.id] = f
	s.files[f.id+"_s"] = f // the thumbnail size serves the same bytes
	s.filesAt[f.path] = f
	return f
}

// File returns the bytes of a file the bot uploaded or AddFile added.
func (s *Server) File(fileID string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.files[fileID]
	if !ok || f.data == nil {
		return nil, false
	}
	return bytes.Clone(f.data), true
}

var urlFile = regexp.MustCompile(`^https?://`)

// sendFile implements sendPhoto and sendDocument; field is "photo" or
// "document".
func (s *Server) sendFile(q *request, field string) answer {
	caption := q.str("caption")
	if tooLong(caption, q.str("parse_mode"), 1024) {
		return badRequest("message caption is too long")
	}
	rows, bad := parseMarkup(q.str("reply_markup"), false)
	if bad != nil {
		return *bad
	}
	sent := q.str(field)
	up, uploaded := q.uploads[field]
	if sent == "" {
		return badRequest("there is no " + field + " in the request")
	}
	if uploaded && field == "photo" {
		if bad := checkPhoto(up.data); bad != nil {
			return *bad
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	chatID, bad := s.targetLocked(q)
	if bad != nil {
		return *bad
	}
	var fileID string
	switch {
	case uploaded:
		fileID = s.addFileLocked(up.data, up.name).id
	case urlFile.MatchString(sent):
		// Telegram downloads the URL; the fake cannot, and keeps its name.
		f := s.addFileLocked(nil, path.Base(sent))
		fileID = f.id
	default:
		fileID = sent // reused file id; unknown ones are taken on trust
	}
	m := &Message{Caption: caption, ParseMode: q.str("parse_mode"), Buttons: rows, ReplyMarkup: q.str("reply_markup"), FileID: fileID}
	if field == "photo" {
		m.Photo = sent
		if f, ok := s.files[fileID]; ok {
			fileID = f.id // a reused thumbnail id names the largest size
			m.FileID = fileID
		}
	} else {
		m.Document = sent
	}
	return ok(s.messageJSONLocked(s.addLocked(chatID, m)))
}

// Telegram's limits on an uploaded photo (core.telegram.org/bots/api#sendphoto):
// at most 10 MB, width and height at most 10000 in total, a ratio of at
// most 20. The fake reads 10 MB as 10 MiB, Telegram's larger reading, so
// that a bot keeping to the smaller one is never refused here.
const (
	maxPhotoBytes = 10 << 20
	maxPhotoSides = 10000
	maxPhotoRatio = 20
)

// checkPhoto refuses an uploaded photo as Telegram does: too big, not a
// picture Telegram can read, or outside its dimensions. The descriptions
// are those bots report (PHOTO_INVALID_DIMENSIONS, IMAGE_PROCESS_FAILED);
// the one for size is the server's own "file is too big". The fake reads
// PNG, JPEG and GIF; Telegram reads more (WebP…).
func checkPhoto(data []byte) *answer {
	if len(data) > maxPhotoBytes {
		a := badRequest("file is too big")
		return &a
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		a := badRequest("IMAGE_PROCESS_FAILED")
		return &a
	}
	w, h := cfg.Width, cfg.Height
	if w <= 0 || h <= 0 || w+h > maxPhotoSides || max(w, h) > maxPhotoRatio*min(w, h) {
		a := badRequest("PHOTO_INVALID_DIMENSIONS")
		return &a
	}
	return nil
}

func (s *Server) sendPhoto(q *request) answer    { return s.sendFile(q, "photo") }
func (s *Server) sendDocument(q *request) answer { return s.sendFile(q, "document") }

func (s *Server) getFile(q *request) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, found := s.files[q.str("file_id")]
	if !found || f.data == nil {
		return badRequest("invalid file_id")
	}
	type fileResult struct {
		FileID       string `json:"file_id"`
		FileUniqueID string `json:"file_unique_id"`
		FileSize     int    `json:"file_size,omitempty"`
		FilePath     string `json:"file_path,omitempty"`
	}
	return ok(fileResult{FileID: q.str("file_id"), FileUniqueID: f.uniqueID, FileSize: len(f.data), FilePath: f.path})
}

// serveFile answers GET /file/bot<token>/<file_path>.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, rest string) {
	token, p, _ := strings.Cut(rest, "/")
	if token != s.Token {
		apiError(401, "Unauthorized").write(w)
		return
	}
	s.mu.Lock()
	f, found := s.filesAt[p]
	s.mu.Unlock()
	if !found || r.Method != http.MethodGet && r.Method != http.MethodHead {
		apiError(404, "Not Found").write(w)
		return
	}
	w.Header().Set("Content-Type", mimeType(f.name))
	w.Header().Set("Content-Length", strconv.Itoa(len(f.data)))
	if r.Method == http.MethodGet {
		_, _ = w.Write(f.data)
	}
}

// ---- commands ----

// BotCommand is one entry of the bot's command menu.
type BotCommand struct {
	Command     string `json:"command"`
	Description string `json:"description"`
}

// CommandScope is a BotCommandScope: Type is "default",
// "all_private_chats", "all_group_chats", "all_chat_administrators",
// "chat", "chat_administrators" or "chat_member"; ChatID and UserID are set
// for the types that name them.
type CommandScope struct {
	Type   string
	ChatID int64
	UserID int64
}

type commandKey struct {
	scope CommandScope
	lang  string
}

// Commands returns the commands set for the default scope and
// languageCode ("" for all users without a dedicated list).
func (s *Server) Commands(languageCode string) []BotCommand {
	return s.ScopedCommands(CommandScope{Type: "default"}, languageCode)
}

// ScopedCommands returns the commands set for scope and languageCode.
func (s *Server) ScopedCommands(scope CommandScope, languageCode string) []BotCommand {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.commands[commandKey{scope, languageCode}])
}

var (
	commandName  = regexp.MustCompile(`^[a-z0-9_]{1,32}$`)
	languageCode = regexp.MustCompile(`^([a-z]{2})?$`)
)

// commandKeyOf reads scope and language_code.
func commandKeyOf(q *request) (commandKey, *answer) {
	k := commandKey{scope: CommandScope{Type: "default"}, lang: q.str("language_code")}
	if !languageCode.MatchString(k.lang) {
		a := badRequest("invalid language code specified")
		return k, &a
	}
	if raw := q.str("scope"); raw != "" {
		var sc struct {
			Type   string          `json:"type"`
			ChatID json.RawMessage `json:"chat_id"`
			UserID int64           `json:"user_id"`
		}
		if err := json.Unmarshal([]byte(raw), &sc); err != nil || sc.Type == "" {
			a := badRequest("can't parse BotCommandScope JSON object")
			return k, &a
		}
		chatID, _ := strconv.ParseInt(strings.Trim(string(sc.ChatID), `"`), 10, 64)
		k.scope = CommandScope{Type: sc.Type, ChatID: chatID, UserID: sc.UserID}
	}
	return k, nil
}

func (s *Server) setMyCommands(q *request) answer {
	k, bad := commandKeyOf(q)
	if bad != nil {
		return *bad
	}
	var cmds []BotCommand
	if err := json.Unmarshal([]byte(q.str("commands")), &cmds); err != nil {
		return badRequest("can't parse commands JSON object")
	}
	if len(cmds) > 100 {
		return badRequest("too many commands specified")
	}
	for _, c := range cmds {
		if !commandName.MatchString(c.Command) {
			return badRequest("BOT_COMMAND_INVALID")
		}
		if n := utf16Len(c.Description); n < 1 || n > 256 {
			return badRequest("BOT_COMMAND_DESCRIPTION_INVALID")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(cmds) == 0 {
		delete(s.commands, k)
	} else {
		s.commands[k] = cmds
	}
	s.notifyLocked()
	return ok(true)
}

func (s *Server) getMyCommands(q *request) answer {
	k, bad := commandKeyOf(q)
	if bad != nil {
		return *bad
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cmds := s.commands[k]
	if cmds == nil {
		cmds = []BotCommand{}
	}
	return ok(cmds)
}

func (s *Server) deleteMyCommands(q *request) answer {
	k, bad := commandKeyOf(q)
	if bad != nil {
		return *bad
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.commands, k)
	s.notifyLocked()
	return ok(true)
}
