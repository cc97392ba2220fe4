package zalotest

import (
	"github.com/hangxomso/hangxom/internal/fake"

	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The paths the fake serves, relative to Server.URL.
const (
	PathSend        = "/v3.0/oa/message/cs"
	PathUploadImage = "/v2.0/oa/upload/image"
	PathUploadFile  = "/v2.0/oa/upload/file"
	PathUserDetail  = "/v3.0/oa/user/detail"
	PathAccessToken = "/v4/oa/access_token"
	PathPermission  = "/v4/oa/permission"
)

// DefaultRatePerMinute is Zalo's documented cap of OA API requests a minute
// per app; over it a call answers -32.
const DefaultRatePerMinute = 4000

// maxRequest bounds the request bodies the fake reads.
const maxRequest = 64 << 20

// waitLimit bounds WaitMessages and WaitCalls.
const waitLimit = 10 * time.Second

// Server is a fake Zalo OA platform. Its methods are safe for concurrent use.
type Server struct {
	// URL is the base of both the OA API and OAuth, e.g.
	// "http://127.0.0.1:41234".
	URL string
	// AppID, AppSecret, OASecretKey and OAID are random per server. The
	// token endpoint wants AppID and AppSecret (header secret_key); events
	// are signed with OASecretKey and carry OAID as the recipient.
	AppID, AppSecret, OASecretKey, OAID string
	// Now is the server's clock, for token lifetimes, the 7-day window, the
	// rate cap and event timestamps. Set it before the first request; nil
	// means time.Now.
	Now func() time.Time

	tb    testing.TB
	srv   *httptest.Server
	hc    *http.Client // for Deliver; loopback only
	done  chan struct{}
	close sync.Once

	mu      sync.Mutex
	changed fake.Changes // wakes the waiters at every change (notifyLocked)
	calls   map[string]int
	faults  map[string][]Fault
	rate    int         // per minute; ≤ 0: no cap
	recent  []time.Time // OA API calls within the last minute, oldest first

	// OAuth
	codes    map[string]*authCode
	access   map[string]time.Time // access token → expiry
	refresh  map[string]*refreshToken
	refreshN int
	refusedN int

	// users and what the OA sent them
	users  map[string]*user
	sent   map[string][]Message
	images map[string]*upload // by attachment_id
	files  map[string]*upload // by token
}

// NewServer starts a fake Zalo platform on loopback; tb.Cleanup closes it.
func NewServer(tb testing.TB) *Server {
	tb.Helper()
	s := &Server{
		AppID:       digits(19),
		AppSecret:   alnum(20),
		OASecretKey: alnum(20),
		OAID:        digits(19),
		tb:          tb,
		hc:          LoopbackClient(0),
		done:        make(chan struct{}),
		calls:       map[string]int{},
		faults:      map[string][]Fault{},
		rate:        DefaultRatePerMinute,
		codes:       map[string]*authCode{},
		access:      map[string]time.Time{},
		refresh:     map[string]*refreshToken{},
		users:       map[string]*user{},
		sent:        map[string][]Message{},
		images:      map[string]*upload{},
		files:       map[string]*upload{},
	}
	s.srv = httptest.NewServer(s)
	s.URL = s.srv.URL
	tb.Cleanup(s.Close)
	return s
}

// Close ends delayed answers, shuts the server down and waits for its
// handlers; later requests fail to connect. NewServer registers it with
// tb.Cleanup; calling it again does nothing.
func (s *Server) Close() {
	s.close.Do(func() {
		close(s.done)
		s.srv.Close()
		s.hc.CloseIdleConnections()
	})
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Fault is an injected misbehaviour of one path, set up with Fail. The zero
// Fault answers normally.
type Fault struct {
	// Error, with Message, answers HTTP 200 {"error":Error,"message":…} as
	// Zalo reports every failure (on the token endpoint the body also has
	// "error_name"). An empty Message becomes the fake's usual words for the
	// code. The call has no effect.
	Error   int
	Message string

	// HTTPStatus and Body answer a raw non-JSON response instead, e.g. 502
	// with an HTML page from a proxy (HTTPStatus defaults to 502 when only
	// Body is set). They take precedence over Error. The call has no effect.
	HTTPStatus int
	Body       string

	// LoseAnswer makes the call take effect (a message is recorded, a
	// refresh token spent) but the answer never arrives: the server hijacks
	// the connection and closes it without a response.
	LoseAnswer bool

	// Delay holds the answer back this long, or until the client gives up.
	// Then the call is handled as the other fields say, and it takes effect
	// even when nobody is left to read the answer, as on the real server.
	Delay time.Duration
}

// Fail makes the next times calls of path (PathSend, PathAccessToken, …)
// misbehave as f says. Faults queue per path in the order given.
func (s *Server) Fail(path string, times int, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range times {
		s.faults[path] = append(s.faults[path], f)
	}
}

// Calls returns how many requests path received so far, faulted and
// refused ones included.
func (s *Server) Calls(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[path]
}

// WaitCalls waits until path received at least n requests and returns the
// count. It fails tb after 10 s.
func (s *Server) WaitCalls(tb testing.TB, path string, n int) int {
	tb.Helper()
	var got int
	s.wait(tb, fmt.Sprintf("%d calls of %s", n, path), func() bool {
		got = s.calls[path]
		return got >= n
	}, func() string { return fmt.Sprintf("got %d", got) })
	return got
}

// SetRatePerMinute sets the cap of OA API requests (sends, uploads, user
// detail; not OAuth) in any sliding minute by Now; n ≤ 0 removes it.
// Requests over the cap answer -32 and count towards it, as a client that
// keeps hammering stays shut out.
func (s *Server) SetRatePerMinute(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rate = n
}

// wait blocks until cond (called with s.mu held) is true, failing tb after
// waitLimit or when the server closes.
func (s *Server) wait(tb testing.TB, what string, cond func() bool, state func() string) {
	tb.Helper()
	s.changed.Wait(tb, &s.mu, "zalotest", what, waitLimit, s.done, cond, state)
}

// notifyLocked wakes every waiter. s.mu must be held.
func (s *Server) notifyLocked() { s.changed.Notify() }

// answer is a response ready to write: always HTTP 200 JSON unless raw.
type answer struct {
	status   int
	body     []byte
	location string // for a redirect
	html     bool   // an error page of the consent flow
}

func jsonAnswer(v any) answer {
	b, err := json.Marshal(v)
	if err != nil {
		panic("zalotest: " + err.Error())
	}
	return answer{status: http.StatusOK, body: b}
}

// success is {"error":0,"message":"Success","data":data}.
func success(data any) answer {
	return jsonAnswer(map[string]any{"error": 0, "message": "Success", "data": data})
}

// apiError is Zalo's error envelope, HTTP 200.
func apiError(code int, message string) answer {
	if message == "" {
		message = errorText(code)
	}
	return jsonAnswer(map[string]any{"error": code, "message": message})
}

// errorText gives the fake's words for a code. They are not Zalo's exact
// strings (the note has none it trusts); clients must branch on the code.
func errorText(code int) string {
	switch code {
	case -32:
		return "Request exceeds the rate limit of the app"
	case -201:
		return "Parameter is invalid"
	case -210:
		return "Parameter exceeds the limit"
	case -213:
		return "User has not followed the OA"
	case -216:
		return "Access token is invalid"
	case -220:
		return "Access token has expired"
	case -230:
		return "User has not interacted with the OA in the last 7 days"
	case -14003:
		return "Invalid parameter"
	case -14014:
		return "Invalid refresh token"
	}
	return "Error " + strconv.Itoa(code)
}

func (a answer) write(w http.ResponseWriter) {
	if a.location != "" {
		w.Header().Set("Location", a.location)
		w.WriteHeader(a.status)
		return
	}
	ct := "application/json; charset=utf-8"
	if a.html {
		ct = "text/html; charset=utf-8"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Length", strconv.Itoa(len(a.body)))
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body)
}

// routes maps a path to its handler; oa marks the OA API (token checked,
// rate counted) as opposed to OAuth.
var routes = map[string]struct {
	oa bool
	fn func(s *Server, r *http.Request) answer
}{
	PathSend:        {true, (*Server).send},
	PathUploadImage: {true, (*Server).uploadImage},
	PathUploadFile:  {true, (*Server).uploadFile},
	PathUserDetail:  {true, (*Server).userDetail},
	PathAccessToken: {false, (*Server).accessToken},
	PathPermission:  {false, (*Server).permission},
	pathConsentErr:  {false, (*Server).consentError},
}

// ServeHTTP answers the OA API and OAuth.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	s.mu.Lock()
	s.calls[path]++
	f := Fault{}
	if q := s.faults[path]; len(q) > 0 {
		f, s.faults[path] = q[0], q[1:]
	}
	s.notifyLocked()
	s.mu.Unlock()

	// Read the whole request first: net/http notices a client that gave up
	// (and cancels r.Context) only once the body was read to its end.
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequest))
	if err != nil {
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))

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
	case f.Error != 0:
		if path == PathAccessToken {
			oauthError(f.Error, f.Message).write(w)
		} else {
			apiError(f.Error, f.Message).write(w)
		}
		return
	}

	route, ok := routes[path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	a, refused := answer{}, false
	if route.oa {
		a, refused = s.admit(r)
	}
	if !refused {
		a = route.fn(s, r)
	}

	if f.LoseAnswer {
		hj, ok := w.(http.Hijacker)
		if !ok {
			panic("zalotest: LoseAnswer needs an HTTP/1 connection")
		}
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
		}
		return
	}
	a.write(w)
}

// admit checks the access_token header (never Bearer) and the rate cap of
// an OA API call. It returns the refusal and true when the call must not
// proceed.
func (s *Server) admit(r *http.Request) (answer, bool) {
	token := r.Header.Get("access_token")
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, known := s.access[token]
	switch {
	case token == "" || !known:
		return apiError(-216, ""), true
	case !now.Before(exp):
		return apiError(-220, ""), true
	}
	cut := now.Add(-time.Minute)
	i := 0
	for i < len(s.recent) && !s.recent[i].After(cut) {
		i++
	}
	s.recent = append(s.recent[i:], now)
	if s.rate > 0 && len(s.recent) > s.rate {
		return apiError(-32, ""), true
	}
	return answer{}, false
}

// LoopbackClient returns an HTTP client whose transport refuses to connect
// anywhere but loopback, so a test that forgot to point the channel at the
// fake fails instead of calling openapi.zalo.me with a real token. Proxies
// from the environment are ignored. timeout is the overall timeout (0:
// none).
func LoopbackClient(timeout time.Duration) *http.Client {
	return fake.LoopbackClient("zalotest", timeout)
}

// digits is a random decimal string of n digits not starting with 0, the
// shape of Zalo's app, OA and user ids.
func digits(n int) string {
	b := make([]byte, n)
	for i := range b {
		d, err := rand.Int(rand.Reader, big.NewInt(10))
		if err != nil {
			panic("zalotest: " + err.Error())
		}
		b[i] = byte('0' + d.Int64())
	}
	if b[0] == '0' {
		b[0] = '1'
	}
	return string(b)
}

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// alnum is a random alphanumeric string of n characters (secrets).
func alnum(n int) string {
	return pick(alphabet, n)
}

// token is a random string in the base64url alphabet, the shape of Zalo's
// access and refresh tokens (which run to hundreds of characters).
func token(n int) string {
	return pick(alphabet+"-_", n)
}

// hexID is a random 32-digit hex id, the shape of Zalo's msg_id and
// message_id.
func hexID() string {
	return pick("0123456789abcdef", 32)
}

func pick(set string, n int) string {
	b := make([]byte, n)
	for i := range b {
		d, err := rand.Int(rand.Reader, big.NewInt(int64(len(set))))
		if err != nil {
			panic("zalotest: " + err.Error())
		}
		b[i] = set[d.Int64()]
	}
	return string(b)
}
