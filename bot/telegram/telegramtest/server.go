package telegramtest

import (
	"github.com/hangxomso/hangxom/internal/fake"

	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// DefaultToken is the token NewServer uses when given "". Like a real token
// it starts with the bot's id.
const DefaultToken = "7000000001:AAHangXomSoTestToken_0123456789abcdef"

// waitLimit bounds WaitCalls, WaitMessages and WaitConfirmed.
const waitLimit = 10 * time.Second

// Server is a fake Telegram Bot API. Methods are served at
// URL+"/bot"+Token+"/"+method and files at URL+"/file/bot"+Token+"/"+path.
// Its methods are safe for concurrent use.
type Server struct {
	// URL is the base URL, e.g. "http://127.0.0.1:41234". Give the library
	// URL+"/bot%s/%s" as its API endpoint.
	URL string
	// Token is the bot token the server accepts; any other gets 401.
	Token string

	tb    testing.TB
	srv   *httptest.Server
	hc    *http.Client // for Deliver; loopback only
	done  chan struct{}
	close sync.Once

	botID       int64
	botUsername string

	mu      sync.Mutex
	changed fake.Changes // wakes the waiters at every change (notifyLocked)
	calls   []Call
	unknown []string
	faults  map[string][]Fault // by lower-case method

	// getUpdates and webhook
	updates    []pending // unconfirmed, in update_id order
	nextUpdate int
	confirmed  int
	allowed    []string // nil or empty: Telegram's default set
	pollGen    int      // bumped by every getUpdates; an older poll ends with 409
	webhook    WebhookInfo
	lastErrAt  int64
	lastErr    string
	callbacks  map[string]bool // callback_query ids that may be answered
	callbackN  int
	user       map[int64]User

	// what the bot did
	chats    map[int64]*chat
	blocked  map[int64]bool
	files    map[string]*file // by file_id
	filesAt  map[string]*file // by file_path
	fileN    int
	commands map[commandKey][]BotCommand
}

// NewServer starts a fake Bot API on loopback that accepts token (or
// DefaultToken when token is ""). tb.Cleanup closes it; tb is also used to
// log updates that allowed_updates filtered out and calls of unknown methods.
func NewServer(tb testing.TB, token string) *Server {
	tb.Helper()
	if token == "" {
		token = DefaultToken
	}
	s := &Server{
		Token:       token,
		tb:          tb,
		hc:          LoopbackClient(0),
		done:        make(chan struct{}),
		botID:       7000000001,
		botUsername: "hangxomso_test_bot",
		faults:      map[string][]Fault{},
		nextUpdate:  1,
		callbacks:   map[string]bool{},
		user:        map[int64]User{},
		chats:       map[int64]*chat{},
		blocked:     map[int64]bool{},
		files:       map[string]*file{},
		filesAt:     map[string]*file{},
		commands:    map[commandKey][]BotCommand{},
	}
	// A real token is "<bot id>:<secret>", and getMe answers that id.
	if id, _, ok := strings.Cut(token, ":"); ok {
		if n, err := strconv.ParseInt(id, 10, 64); err == nil && n > 0 {
			s.botID = n
		}
	}
	s.webhook.MaxConnections = 40
	s.srv = httptest.NewServer(s)
	s.URL = s.srv.URL
	tb.Cleanup(s.Close)
	return s
}

// Close ends every long poll and delayed answer, then shuts the server down
// and waits for its handlers. Later requests fail to connect, as when
// Telegram is unreachable. NewServer registers it with tb.Cleanup; calling it
// again does nothing.
func (s *Server) Close() {
	s.close.Do(func() {
		close(s.done)
		s.srv.Close()
		s.hc.CloseIdleConnections()
	})
}

// BotID is the bot's user id: the number before ":" in the token.
func (s *Server) BotID() int64 { return s.botID }

// BotUsername is the bot's username, without "@".
func (s *Server) BotUsername() string { return s.botUsername }

// Call is one request the server received.
type Call struct {
	// Method is the Bot API method, spelt as in the docs ("sendMessage")
	// whatever case the client used (method names are case-insensitive).
	Method string
	// Params holds the request's fields. Object fields (reply_markup,
	// allowed_updates, commands, scope) are their raw JSON string; an
	// uploaded file is "file:<filename>".
	Params map[string]string
	// At is when the request arrived.
	At time.Time
	// Faulted is true when a Fault injected with Fail applied to this call.
	Faulted bool
	// InResponse is true for a method the bot gave in its answer to a
	// webhook call (see Deliver) rather than called itself.
	InResponse bool
}

// Fault is an injected misbehaviour of the API, set up with Fail. The zero
// Fault answers normally.
type Fault struct {
	// Code, with Description and RetryAfter, answers an API error with that
	// HTTP status: {"ok":false,"error_code":Code,"description":…,
	// "parameters":{"retry_after":RetryAfter}} (parameters only when
	// RetryAfter > 0). An empty Description becomes Telegram's usual text
	// for the code: 429 "Too Many Requests: retry after N", 403 "Forbidden:
	// bot was blocked by the user", 400 "Bad Request", 500 "Internal Server
	// Error", …. The call has no effect.
	Code        int
	Description string
	RetryAfter  int

	// HTTPStatus and Body answer a raw non-JSON response instead, e.g. 502
	// with an HTML page from a proxy (HTTPStatus defaults to 502 when only
	// Body is set). They take precedence over Code. The call has no effect.
	HTTPStatus int
	Body       string

	// LoseAnswer makes the call take effect (a message is recorded, an
	// offset confirms) but the answer never arrives: the server hijacks the
	// connection and closes it without a response.
	LoseAnswer bool

	// Delay holds the answer back this long, or until the client gives up.
	// Then the call is handled as usual (or as the fields above say), and it
	// takes effect even when nobody is left to read the answer, as on the
	// real server.
	Delay time.Duration
}

// Fail makes the next times calls of method misbehave as f says. Faults
// queue: Fail("sendMessage", 1, a) then Fail("sendMessage", 2, b) applies a
// to the next call and b to the two after it.
func (s *Server) Fail(method string, times int, f Fault) {
	key := strings.ToLower(method)
	s.mu.Lock()
	defer s.mu.Unlock()
	for range times {
		s.faults[key] = append(s.faults[key], f)
	}
}

// Calls returns the calls of method (case-insensitive) received so far, in
// order. Calls("") returns every call.
func (s *Server) Calls(method string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.callsLocked(method)
}

func (s *Server) callsLocked(method string) []Call {
	var out []Call
	for _, c := range s.calls {
		if method == "" || strings.EqualFold(c.Method, method) {
			c.Params = maps.Clone(c.Params)
			out = append(out, c)
		}
	}
	return out
}

// UnknownMethods returns the names of methods the server does not implement
// that were called (each answered 404 "Not Found"), in order.
func (s *Server) UnknownMethods() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.unknown...)
}

// WaitCalls waits until at least n calls of method were received and returns
// all of them. It fails the test after 10 s. Call it from the test goroutine.
func (s *Server) WaitCalls(tb testing.TB, method string, n int) []Call {
	tb.Helper()
	var got []Call
	s.wait(tb, fmt.Sprintf("%d %s calls", n, method), func() bool {
		got = s.callsLocked(method)
		return len(got) >= n
	}, func() string { return fmt.Sprintf("got %d", len(got)) })
	return got
}

// wait blocks until cond (called with s.mu held) is true, failing tb after
// waitLimit or when the server closes.
func (s *Server) wait(tb testing.TB, what string, cond func() bool, state func() string) {
	tb.Helper()
	s.changed.Wait(tb, &s.mu, "telegramtest", what, waitLimit, s.done, cond, state)
}

// notifyLocked wakes every waiter. s.mu must be held.
func (s *Server) notifyLocked() { s.changed.Notify() }

// request is one decoded Bot API call.
type request struct {
	ctx     context.Context
	params  map[string]string
	uploads map[string]upload
}

type upload struct {
	name string
	data []byte
}

func (q *request) str(key string) string { return q.params[key] }

func (q *request) has(key string) bool { _, ok := q.params[key]; return ok }

// int parses an integer field; absent or unparsable gives def.
func (q *request) int(key string, def int) int {
	if v, err := strconv.Atoi(strings.TrimSpace(q.params[key])); err == nil {
		return v
	}
	return def
}

func (q *request) bool(key string) bool {
	b, _ := strconv.ParseBool(q.params[key])
	return b
}

// answer is a response ready to write.
type answer struct {
	status int
	body   []byte
}

type okBody struct {
	OK          bool   `json:"ok"`
	Result      any    `json:"result"`
	Description string `json:"description,omitempty"`
}

type errBody struct {
	OK          bool        `json:"ok"`
	ErrorCode   int         `json:"error_code"`
	Description string      `json:"description"`
	Parameters  *parameters `json:"parameters,omitempty"`
}

type parameters struct {
	MigrateToChatID int64 `json:"migrate_to_chat_id,omitempty"`
	RetryAfter      int   `json:"retry_after,omitempty"`
}

func ok(result any) answer { return okWith(result, "") }

func okWith(result any, description string) answer {
	b, err := json.Marshal(okBody{OK: true, Result: result, Description: description})
	if err != nil {
		return apiError(500, "Internal Server Error: "+err.Error())
	}
	return answer{status: http.StatusOK, body: b}
}

func apiError(code int, description string) answer {
	return apiErrorWith(code, description, nil)
}

func apiErrorWith(code int, description string, p *parameters) answer {
	b, _ := json.Marshal(errBody{ErrorCode: code, Description: description, Parameters: p})
	return answer{status: code, body: b}
}

func badRequest(what string) answer { return apiError(400, "Bad Request: "+what) }

// answer turns a Fault with Code into Telegram's error body.
func (f Fault) answer() answer {
	desc := f.Description
	if desc == "" {
		switch f.Code {
		case 400:
			desc = "Bad Request"
		case 401:
			desc = "Unauthorized"
		case 403:
			desc = "Forbidden: bot was blocked by the user"
		case 404:
			desc = "Not Found"
		case 409:
			desc = "Conflict"
		case 429:
			desc = fmt.Sprintf("Too Many Requests: retry after %d", f.RetryAfter)
		default:
			desc = http.StatusText(f.Code)
		}
	}
	var p *parameters
	if f.RetryAfter > 0 {
		p = &parameters{RetryAfter: f.RetryAfter}
	}
	return apiErrorWith(f.Code, desc, p)
}

func (a answer) write(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(a.body)))
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body)
}

// ServeHTTP answers Bot API calls and file downloads.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rest, ok := strings.CutPrefix(r.URL.Path, "/file/bot"); ok {
		s.serveFile(w, r, rest)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/bot")
	token, name, _ := strings.Cut(rest, "/")
	if !ok || name == "" || strings.Contains(name, "/") {
		apiError(404, "Not Found").write(w)
		return
	}
	if token != s.Token {
		apiError(401, "Unauthorized").write(w)
		return
	}
	q, err := parseRequest(r)
	if err != nil {
		badRequest(err.Error()).write(w)
		return
	}
	h, known := handlers[strings.ToLower(name)]
	if known {
		name = h.name
	}

	s.mu.Lock()
	key := strings.ToLower(name)
	f, faulted := Fault{}, len(s.faults[key]) > 0
	if faulted {
		f = s.faults[key][0]
		s.faults[key] = s.faults[key][1:]
	}
	s.calls = append(s.calls, Call{Method: name, Params: q.params, At: time.Now(), Faulted: faulted,
		InResponse: r.Header.Get(inResponseHeader) != ""})
	if !known {
		s.unknown = append(s.unknown, name)
	}
	s.notifyLocked()
	s.mu.Unlock()
	if !known {
		s.tb.Logf("telegramtest: call of unknown method %q", name)
	}

	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
		case <-s.done:
		}
		t.Stop()
	}
	switch {
	case f.HTTPStatus != 0 || f.Body != "":
		status := f.HTTPStatus
		if status == 0 {
			status = http.StatusBadGateway
		}
		ct := "text/plain; charset=utf-8"
		if strings.HasPrefix(strings.TrimSpace(f.Body), "<") {
			ct = "text/html"
		}
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(status)
		_, _ = io.WriteString(w, f.Body)
		return
	case f.Code != 0:
		f.answer().write(w)
		return
	case !known:
		apiError(404, "Not Found").write(w)
		return
	}

	a := h.fn(s, q)
	if f.LoseAnswer {
		hj, ok := w.(http.Hijacker)
		if !ok {
			panic("telegramtest: LoseAnswer needs an HTTP/1 connection")
		}
		conn, _, err := hj.Hijack()
		if err == nil {
			_ = conn.Close()
		}
		return
	}
	a.write(w)
}

// parseRequest reads the fields of a call whatever its encoding.
func parseRequest(r *http.Request) (*request, error) {
	q := &request{ctx: r.Context(), params: map[string]string{}, uploads: map[string]upload{}}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "multipart/form-data":
		if err := r.ParseMultipartForm(64 << 20); err != nil {
			return nil, fmt.Errorf("can't parse multipart request: %v", err)
		}
		for k, v := range r.MultipartForm.Value {
			q.params[k] = v[0]
		}
		for k, fhs := range r.MultipartForm.File {
			fh := fhs[0]
			f, err := fh.Open()
			if err != nil {
				return nil, fmt.Errorf("can't read file %s: %v", k, err)
			}
			data, err := io.ReadAll(f)
			_ = f.Close()
			if err != nil {
				return nil, fmt.Errorf("can't read file %s: %v", k, err)
			}
			q.params[k] = "file:" + fh.Filename
			q.uploads[k] = upload{name: fh.Filename, data: data}
		}
		for k, v := range r.URL.Query() {
			if _, ok := q.params[k]; !ok {
				q.params[k] = v[0]
			}
		}
	case "application/json":
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, fmt.Errorf("can't read request: %v", err)
		}
		var fields map[string]json.RawMessage
		if len(bytes.TrimSpace(body)) > 0 {
			if err := json.Unmarshal(body, &fields); err != nil {
				return nil, errors.New("can't parse JSON object")
			}
		}
		for k, v := range fields {
			var str string
			switch {
			case string(v) == "null":
				continue
			case json.Unmarshal(v, &str) == nil:
				q.params[k] = str
			default:
				q.params[k] = string(v)
			}
		}
		for k, v := range r.URL.Query() {
			if _, ok := q.params[k]; !ok {
				q.params[k] = v[0]
			}
		}
	default:
		if err := r.ParseForm(); err != nil {
			return nil, fmt.Errorf("can't parse request: %v", err)
		}
		for k, v := range r.Form {
			q.params[k] = v[0]
		}
	}
	return q, nil
}

// handler is one implemented Bot API method.
type handler struct {
	name string // as spelt in the docs
	fn   func(s *Server, q *request) answer
}

// handlers maps the lower-case method name to its implementation: the Bot
// API's method names are case-insensitive.
var handlers = func() map[string]handler {
	m := map[string]handler{}
	for _, h := range []handler{
		{"getMe", (*Server).getMe},
		{"getUpdates", (*Server).getUpdates},
		{"setWebhook", (*Server).setWebhook},
		{"deleteWebhook", (*Server).deleteWebhook},
		{"getWebhookInfo", (*Server).getWebhookInfo},
		{"sendMessage", (*Server).sendMessage},
		{"editMessageText", (*Server).editMessageText},
		{"editMessageCaption", (*Server).editMessageCaption},
		{"editMessageReplyMarkup", (*Server).editMessageReplyMarkup},
		{"deleteMessage", (*Server).deleteMessage},
		{"answerCallbackQuery", (*Server).answerCallbackQuery},
		{"sendPhoto", (*Server).sendPhoto},
		{"sendDocument", (*Server).sendDocument},
		{"getFile", (*Server).getFile},
		{"setMyCommands", (*Server).setMyCommands},
		{"getMyCommands", (*Server).getMyCommands},
		{"deleteMyCommands", (*Server).deleteMyCommands},
		{"sendChatAction", (*Server).sendChatAction},
	} {
		m[strings.ToLower(h.name)] = h
	}
	return m
}()

func (s *Server) getMe(*request) answer {
	return ok(userJSON{
		ID:                      s.botID,
		IsBot:                   true,
		FirstName:               "Hàng xóm số",
		Username:                s.botUsername,
		CanJoinGroups:           new(true),
		CanReadAllGroupMessages: new(false),
		SupportsInlineQueries:   new(false),
	})
}
