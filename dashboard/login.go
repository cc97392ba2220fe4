package dashboard

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/hangxomso/hangxom/flows"
)

// Links makes one-time dashboard links: desk.Logins for /dashboard. It
// shares Store, BaseURL and Clock with the Server that spends them.
type Links struct {
	Store   Store
	BaseURL *url.URL
	Clock   flows.Clock
	// Random is the source of tokens; default crypto/rand.
	Random io.Reader
}

// NewLogin makes a one-time link for m, valid LinkTTL: DASHBOARD_URL +
// login/<token>, the token 256 random bits kept only as its hash.
func (l *Links) NewLogin(ctx context.Context, m flows.Member, lang string) (string, error) {
	token, err := random(l.Random)
	if err != nil {
		return "", err
	}
	if err := l.Store.CreateDashLogin(ctx, hash(token), m.ID, lang, l.Clock.Now().Add(LinkTTL)); err != nil {
		return "", err
	}
	return l.BaseURL.String() + "login/" + token, nil
}

// loginPage is step 1's page: a button whose form (POST) is step 2. Form
// is the field that ties the POST to the nonce this page was served with.
type loginPage struct {
	Lang, Title, CSS, Next, Form string
}

// loginForm is the hidden field of step 1's page for nonce: derived from it
// (so nothing more is stored), and not the nonce's own hash, which is what
// the store keeps. A page from another site cannot read it; it only proves
// the POST came from the page served with the cookie.
func loginForm(nonce string) string { return hash("dashboard login form|" + nonce) }

// nonceCookie is the cookie of step 1, sent back only to its link's step 2.
func (s *Server) nonceCookie() string {
	if s.secure() {
		return "__Secure-hx_login"
	}
	return "hx_login"
}

// sessionCookie is the session's cookie; __Host- binds it to this host,
// Secure and Path=/.
func (s *Server) sessionCookie() string {
	if s.secure() {
		return "__Host-hx_s"
	}
	return "hx_s"
}

// validToken: 43 characters of base64url, what random makes. Anything else
// is refused before Redis is asked.
func validToken(t string) bool {
	if len(t) != 43 {
		return false
	}
	for _, c := range t {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// loginSee is step 1: whoever fetches the link (the person's browser, a
// preview robot, a mail scanner) gets a nonce cookie and a page with one
// button, whose form POSTs step 2. Nothing is spent: robots that keep
// cookies and follow links and refreshes do not submit forms. An unknown,
// spent or stale link gets the one "ask again" page, whatever the reason,
// so the answer tells nothing.
//
// It also answers a GET of step 2's address (a bookmark, an old page's
// refresh, a robot guessing): that person wants the button again, not a
// refusal, and a GET must not spend.
//
// A HEAD request (a robot checking the link) gets 200 and nothing else: no
// nonce recorded, no cookie, no body.
func (s *Server) loginSee(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return
	}
	lang := langOf(r, "")
	token := r.PathValue("token")
	if !validToken(token) {
		s.say(w, http.StatusGone, lang, "dashboard.link_gone")
		return
	}
	nonce, err := s.random()
	if err != nil {
		s.fail(w, lang, "login", err)
		return
	}
	ok, err := s.Store.SeeDashLogin(r.Context(), hash(token), hash(nonce), s.now())
	if err != nil {
		s.fail(w, lang, "login", err)
		return
	}
	if !ok {
		s.say(w, http.StatusGone, lang, "dashboard.link_gone")
		return
	}
	next := s.base() + "login/" + token + "/go"
	http.SetCookie(w, &http.Cookie{Name: s.nonceCookie(), Value: nonce, Path: next, MaxAge: int(LinkTTL / time.Second),
		HttpOnly: true, Secure: s.secure(), SameSite: http.SameSiteLaxMode})
	s.page(w, http.StatusOK, lang, "login.html", loginPage{Lang: lang, Title: s.text(lang, "dashboard.title", nil),
		CSS: s.base() + "static/dash.css", Next: next, Form: loginForm(nonce)})
}

// loginSpend is step 2, the POST of step 1's button: the browser that kept
// step 1's cookie, sending the form of the page served with it from this
// site, spends the link and gets a fresh session. The member is then told
// in the chat (OnSession).
func (s *Server) loginSpend(w http.ResponseWriter, r *http.Request) {
	lang := langOf(r, "")
	token := r.PathValue("token")
	c, err := r.Cookie(s.nonceCookie())
	if !validToken(token) || err != nil || c.Value == "" {
		s.say(w, http.StatusGone, lang, "dashboard.link_gone")
		return
	}
	// Refused before the store is asked, so a forged POST spends nothing.
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if !fromThisSite(r, s.BaseURL) || r.ParseForm() != nil ||
		subtle.ConstantTimeCompare([]byte(r.PostForm.Get("form")), []byte(loginForm(c.Value))) != 1 {
		s.say(w, http.StatusForbidden, lang, "dashboard.bad_form")
		return
	}
	id, lang, ok, err := s.Store.SpendDashLogin(r.Context(), hash(token), hash(c.Value), s.now())
	if err != nil {
		s.fail(w, lang, "login", err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: s.nonceCookie(), Path: s.base() + "login/" + token + "/go", MaxAge: -1,
		HttpOnly: true, Secure: s.secure(), SameSite: http.SameSiteLaxMode})
	if !ok {
		s.say(w, http.StatusGone, langOf(r, ""), "dashboard.link_gone")
		return
	}
	lang = langOf(r, lang)
	m, ok, err := s.Desk.Member(r.Context(), id)
	if err != nil {
		s.fail(w, lang, "login", err)
		return
	}
	if !ok {
		s.say(w, http.StatusForbidden, lang, "dashboard.not_a_member")
		return
	}
	sid, err := s.random()
	if err != nil {
		s.fail(w, lang, "login", err)
		return
	}
	csrf, err := s.random()
	if err != nil {
		s.fail(w, lang, "login", err)
		return
	}
	exp := s.now().Add(SessionTTL)
	data, err := json.Marshal(session{Member: m.ID, Role: m.Role, Areas: m.Areas, Lang: lang, CSRF: csrf, Exp: exp.UnixMilli()})
	if err != nil {
		s.fail(w, lang, "login", err)
		return
	}
	if err := s.Store.CreateDashSession(r.Context(), hash(sid), m.ID, data, exp); err != nil {
		s.fail(w, lang, "login", err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: s.sessionCookie(), Value: sid, Path: "/", MaxAge: int(SessionTTL / time.Second),
		HttpOnly: true, Secure: s.secure(), SameSite: http.SameSiteLaxMode})
	s.tell(r.Context(), m, lang)
	// The browser follows the redirect with the link's page as its
	// Referer unless the redirect says otherwise: the overview's request,
	// which the proxy logs, need not carry even a spent link.
	w.Header().Set("Referrer-Policy", "no-referrer")
	http.Redirect(w, r, s.base(), http.StatusSeeOther)
}

// tell gives OnSession the session just opened for m. A failure is logged
// and the login goes on: the session exists, and the person is waiting for
// their page. The request's cancellation is not passed on, so a browser
// that goes away at that moment does not cut the notice short.
func (s *Server) tell(ctx context.Context, m flows.Member, lang string) {
	if s.OnSession == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := s.OnSession(ctx, m, lang, s.now()); err != nil {
		s.logger().Warn("dashboard: tell the member a session opened", "member", m.ID, "err", err)
	}
}

// session is what the store keeps of a session, by the hash of its id.
type session struct {
	Member string     `json:"m"`
	Role   flows.Role `json:"role"`
	// Areas are the member's at login: the session never shows more.
	Areas []string `json:"areas"`
	Lang  string   `json:"lang"`
	CSRF  string   `json:"csrf"`
	Exp   int64    `json:"exp"` // unix ms
}

// viewer is the caller of a page: the live member, narrowed to the
// session's scope.
type viewer struct {
	m      flows.Member
	s      session
	idHash string
}

// who finds the caller of r: a live session whose member is still on the
// team with the role it logged in with. Otherwise it answers the request
// itself (a page saying to ask /dashboard again) and ok is false.
func (s *Server) who(w http.ResponseWriter, r *http.Request) (viewer, bool) {
	lang := langOf(r, "")
	c, err := r.Cookie(s.sessionCookie())
	if err != nil || !validToken(c.Value) {
		s.say(w, http.StatusUnauthorized, lang, "dashboard.signed_out")
		return viewer{}, false
	}
	h := hash(c.Value)
	raw, ok, err := s.Store.DashSession(r.Context(), h)
	if err != nil {
		s.fail(w, lang, "session", err)
		return viewer{}, false
	}
	var sess session
	if ok {
		if err := json.Unmarshal(raw, &sess); err != nil {
			s.fail(w, lang, "session", fmt.Errorf("dashboard: session: %w", err))
			return viewer{}, false
		}
	}
	if !ok || sess.Exp <= s.now().UnixMilli() {
		s.clearSession(w)
		s.say(w, http.StatusUnauthorized, lang, "dashboard.signed_out")
		return viewer{}, false
	}
	lang = langOf(r, sess.Lang)
	m, ok, err := s.Desk.Member(r.Context(), sess.Member)
	if err != nil {
		s.fail(w, lang, "session", err)
		return viewer{}, false
	}
	if ok && m.Role == sess.Role {
		// The live areas, within those at login.
		m.Areas = slices.DeleteFunc(slices.Clone(m.Areas), func(a string) bool { return !slices.Contains(sess.Areas, a) })
	}
	if !ok || m.Role != sess.Role || len(m.Areas) == 0 {
		_ = s.Store.DeleteDashSession(r.Context(), h, sess.Member)
		s.clearSession(w)
		s.say(w, http.StatusForbidden, lang, "dashboard.not_a_member")
		return viewer{}, false
	}
	return viewer{m: m, s: sess, idHash: h}, true
}

func (s *Server) clearSession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: s.sessionCookie(), Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.secure(),
		SameSite: http.SameSiteLaxMode})
}

// checkPost refuses a POST without the session's CSRF token, or sent from
// another site.
func (s *Server) checkPost(r *http.Request, v viewer) bool {
	if !fromThisSite(r, s.BaseURL) {
		return false
	}
	if err := r.ParseForm(); err != nil {
		return false
	}
	got := r.PostForm.Get("csrf")
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(v.s.CSRF)) == 1
}

// fromThisSite refuses a request that says it comes from another site: by
// Sec-Fetch-Site, or by an Origin that is not base's. A browser too old to
// send either is let through; the form's secret and the SameSite=Lax cookie
// (not sent with another site's POST) still hold it.
func fromThisSite(r *http.Request, base *url.URL) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		return false
	}
	if o := r.Header.Get("Origin"); o != "" && !sameOrigin(o, base) {
		return false
	}
	return true
}

// sameOrigin reports whether the Origin header o is base's origin: scheme
// and host compared without case, a default port (https :443, http :80)
// the same as none.
func sameOrigin(o string, base *url.URL) bool {
	u, err := url.Parse(o)
	if err != nil || u.Host == "" {
		return false
	}
	norm := func(scheme, host string) string {
		scheme = strings.ToLower(scheme)
		host = strings.ToLower(host)
		if scheme == "https" {
			host = strings.TrimSuffix(host, ":443")
		} else if scheme == "http" {
			host = strings.TrimSuffix(host, ":80")
		}
		return scheme + "://" + host
	}
	return norm(u.Scheme, u.Host) == norm(base.Scheme, base.Host)
}

// logout ends the session.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	v, ok := s.who(w, r)
	if !ok {
		return
	}
	lang := langOf(r, v.s.Lang)
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if !s.checkPost(r, v) {
		s.say(w, http.StatusForbidden, lang, "dashboard.bad_form")
		return
	}
	if err := s.Store.DeleteDashSession(r.Context(), v.idHash, v.m.ID); err != nil {
		s.fail(w, lang, "logout", err)
		return
	}
	s.clearSession(w)
	s.say(w, http.StatusOK, lang, "dashboard.logged_out")
}

// fail logs a failure (never a token or a cookie: err comes from the store
// or the renderer, which see only hashes) and says so.
func (s *Server) fail(w http.ResponseWriter, lang, what string, err error) {
	s.logger().Error("dashboard: "+what, "err", err)
	s.say(w, http.StatusInternalServerError, lang, "dashboard.error")
}
