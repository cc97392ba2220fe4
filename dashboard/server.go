// Package dashboard serves the web pages of Hàng xóm số's teams and
// coordinators (issue 20): a one-time link from /dashboard in the chat logs
// a member in, and the overview shows their communes or hamlets, flow by
// flow, with the same figures as /stats and `hangxom stats`, as charts
// (package chart) and tables.
//
// Security, in one place:
//   - The link's token (256 random bits) and the session id are kept in
//     Redis only as SHA-256 hashes; neither is ever logged.
//   - A link is spent in two steps, so that no robot uses it up (a chat
//     app's preview, a mail or URL scanner): GET login/<token> records a
//     nonce, sets it as a cookie and answers a page with one button, whose
//     form POSTs to login/<token>/go with a field derived from the nonce.
//     Only that POST, carrying the cookie and the field and not sent from
//     another site (Origin, Sec-Fetch-Site), spends the link (atomically,
//     in Lua) and makes the session. There is no refresh and no script to
//     follow: robots fetch, they do not submit forms, whether they keep
//     cookies or not. A GET or HEAD of either address spends nothing.
//   - When a session opens, the member is told in the chat (OnSession),
//     with the time: a login that was not theirs does not go unseen.
//   - The session cookie is HttpOnly, SameSite=Lax, Secure with the
//     __Host- prefix when DASHBOARD_URL is https; 12 hours, not sliding.
//   - Every request asks the desk for the member again (Desk.Member): a
//     member removed from the team is refused at once, and the session's
//     role and areas at login bound what it shows.
//   - Every POST carries the session's CSRF token (the login's: the field
//     derived from the nonce) and is refused from another site.
//   - Every response has a strict Content-Security-Policy (no script at
//     all), nosniff, a Referer only within this site, and no caching.
//   - No request but the button's POST (to the login's path, which the
//     proxy's log should skip: docs/operations.md) carries the link as its
//     Referer: the style sheet is fetched without one, the page declares
//     an empty icon (no /favicon.ico request), and the redirect to the
//     overview says no-referrer.
//   - The open feed under api/v1 (api.go) takes a key in the Authorization
//     header and nothing else: no cookie opens it. Keys too are kept only
//     as hashes and never logged (logs name a key's id), and a key never
//     sees a private flow's small counts.
package dashboard

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hangxomso/hangxom/dashboard/chart"
	"github.com/hangxomso/hangxom/flows"
)

// Lifetimes of a link and a session.
const (
	LinkTTL    = 10 * time.Minute
	SessionTTL = 12 * time.Hour
)

// Store keeps the links, sessions and API keys by the hashes of their
// secrets; *store.Redis implements it.
type Store interface {
	CreateDashLogin(ctx context.Context, tokenHash, member, lang string, exp time.Time) error
	SeeDashLogin(ctx context.Context, tokenHash, nonceHash string, now time.Time) (bool, error)
	SpendDashLogin(ctx context.Context, tokenHash, nonceHash string, now time.Time) (member, lang string, ok bool, err error)
	CreateDashSession(ctx context.Context, idHash, member string, data []byte, exp time.Time) error
	DashSession(ctx context.Context, idHash string) ([]byte, bool, error)
	DeleteDashSession(ctx context.Context, idHash, member string) error
	// APIKey finds an open-feed key by its hash and takes one request
	// from its rate limit, in one round trip (store/apikeys.go).
	APIKey(ctx context.Context, keyHash string, ratePerSec float64, burst int) (k flows.APIKey, found, allowed bool, retryAfter time.Duration, err error)
}

// Desk answers who may see what, by the chat commands' rules; *desk.Desk
// implements it.
type Desk interface {
	Member(ctx context.Context, id string) (flows.Member, bool, error)
	Rows(ctx context.Context, m flows.Member, months []string, now time.Time) ([]flows.StatsRow, error)
	AreaRows(ctx context.Context, m flows.Member, area string, flowIDs []string, months []string, now time.Time) ([]flows.StatsRow, error)
	MayName(m flows.Member, hamlet, flow string) bool
	MayArea(m flows.Member, id string) bool
	CommuneShare(commune, flow string, completed int64) (share, target *float64)
	StatsSince() string
	Funnels(ctx context.Context, hamlets []string, f *flows.Flow, months []string, now time.Time) (map[string][]flows.FunnelRow, error)
	Private(flow string) bool
	Area(id string) (flows.Area, bool)
	Hamlets(m flows.Member, id string) []flows.Area
	HamletView(ctx context.Context, hamlet string, months []string, now time.Time) (flows.HamletView, error)
	Export(ctx context.Context, m flows.Member, from, to string, now time.Time) (flows.Document, error)
}

// Server serves the dashboard under BaseURL's path.
type Server struct {
	Store   Store
	Desk    Desk
	Library *flows.Library
	Loc     flows.Localizer
	Charts  *chart.Renderer
	// BaseURL is DASHBOARD_URL, ending in "/": the links' base, and https
	// makes the cookies Secure.
	BaseURL *url.URL
	Clock   flows.Clock
	// Location is BOT_TZ: months are counted in it. Default UTC.
	Location *time.Location
	Logger   *slog.Logger
	// Random is the source of tokens, nonces and session ids; default
	// crypto/rand.
	Random io.Reader
	// Poster renders a hamlet's poster for a channel ("tg", "zl"), the one
	// /poster sends; PosterChannels are those set up here, one link each
	// on the hamlet's page. None: no poster link.
	Poster         func(ctx context.Context, channel string, hamlet flows.Area) (flows.Document, error)
	PosterChannels []string
	// OnSession, when set, is told of every session opened, at, in the
	// member's language, so that the member hears of it in the chat: a
	// login that was not theirs (a link forwarded, a scanner that pressed
	// the button) does not go unseen. Its error is logged; the login
	// stands.
	OnSession func(ctx context.Context, m flows.Member, lang string, at time.Time) error
}

//go:embed templates/*.html static/*.css
var files embed.FS

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"t": func(string, ...any) string { return "" }, // replaced per request
}).ParseFS(files, "templates/*.html"))

// Handler returns the dashboard's routes, relative to BaseURL's path.
func (s *Server) Handler() http.Handler {
	p := s.base()
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+p+"login/{token}", s.loginSee)
	// Step 2 is a POST only: a GET of its address shows step 1's button
	// again and spends nothing.
	mux.HandleFunc("GET "+p+"login/{token}/go", s.loginSee)
	mux.HandleFunc("POST "+p+"login/{token}/go", s.loginSpend)
	mux.HandleFunc("GET "+p+"{$}", s.overview)
	mux.HandleFunc("GET "+p+"export.csv", s.export)
	mux.HandleFunc("GET "+p+"h/{hamlet}", s.hamlet)
	mux.HandleFunc("GET "+p+"h/{hamlet}/poster.png", s.poster)
	mux.HandleFunc("GET "+p+"h/{hamlet}/chart/{flow}/{file}", s.chartDownload)
	mux.HandleFunc("GET "+p+"c/{commune}/f/{flow}", s.commune)
	mux.HandleFunc("GET "+p+"c/{commune}/f/{flow}/chart/{file}", s.chartDownload)
	mux.HandleFunc("POST "+p+"logout", s.logout)
	mux.HandleFunc("GET "+p+"static/dash.css", s.css)
	mux.HandleFunc("GET "+p+"api/v1/stats", s.apiStats)
	mux.HandleFunc("GET "+p+"api/v1/funnel", s.apiFunnel)
	return headers(mux)
}

// Prefix is the path the Handler serves, for mounting it on a mux.
func (s *Server) Prefix() string { return s.base() }

func (s *Server) base() string {
	p := s.BaseURL.Path
	if !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return p
}

// headers adds the security headers to every response.
func headers(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'none'; img-src 'self'; style-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
		hd.Set("X-Content-Type-Options", "nosniff")
		// same-origin, not no-referrer: under no-referrer a browser sends
		// "Origin: null" with the page's own POSTs (logout), which the
		// origin check must then refuse (the browser test found it). No
		// address of ours goes to another site either way.
		hd.Set("Referrer-Policy", "same-origin")
		hd.Set("Cache-Control", "no-store")
		hd.Set("X-Frame-Options", "DENY")
		h.ServeHTTP(w, r)
	})
}

func (s *Server) css(w http.ResponseWriter, _ *http.Request) {
	b, err := files.ReadFile("static/dash.css")
	if err != nil {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	_, _ = w.Write(b)
}

func (s *Server) now() time.Time { return s.Clock.Now() }

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (s *Server) secure() bool { return s.BaseURL.Scheme == "https" }

// random returns 32 random bytes from the server's source, base64url.
func (s *Server) random() (string, error) { return random(s.Random) }

// random returns 32 random bytes from r (default crypto/rand), base64url:
// 256 bits in 43 characters.
func random(r io.Reader) (string, error) {
	if r == nil {
		r = rand.Reader
	}
	var b [32]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("dashboard: random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// hash is what the store keeps of a secret.
func hash(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// text renders message id in lang, the id itself if it is missing.
func (s *Server) text(lang, id string, data map[string]any) string {
	t, _ := s.Loc.Localize(lang, id, data)
	if t == "" {
		return id
	}
	return t
}

// page renders template name with data, words in lang.
func (s *Server) page(w http.ResponseWriter, status int, lang, name string, data any) {
	t, err := pages.Clone()
	if err == nil {
		t = t.Funcs(template.FuncMap{"t": func(id string, kv ...any) string {
			m := map[string]any{}
			for i := 0; i+1 < len(kv); i += 2 {
				m[fmt.Sprint(kv[i])] = kv[i+1]
			}
			return s.text(lang, id, m)
		}})
	}
	var b strings.Builder
	if err == nil {
		err = t.ExecuteTemplate(&b, name, data)
	}
	if err != nil {
		s.logger().Error("dashboard: render", "page", name, "err", err)
		http.Error(w, "error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, b.String())
}

// message is a page of one sentence: a refusal, an expired link.
type message struct {
	Lang, Title, Text, CSS string
}

func (s *Server) say(w http.ResponseWriter, status int, lang, id string) {
	if lang == "" {
		lang = "vi"
	}
	s.page(w, status, lang, "message.html", message{Lang: lang, Title: s.text(lang, "dashboard.title", nil),
		Text: s.text(lang, id, nil), CSS: s.base() + "static/dash.css"})
}

// langOf is the language a request asks for (?lang=), else def, else vi.
func langOf(r *http.Request, def string) string {
	switch l := r.URL.Query().Get("lang"); l {
	case "vi", "en":
		return l
	}
	if def == "en" {
		return def
	}
	return "vi"
}
