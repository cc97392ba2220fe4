package dashboard_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/hangxomso/hangxom/dashboard"
	"github.com/hangxomso/hangxom/dashboard/chart"
	"github.com/hangxomso/hangxom/desk"
	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/flows/flowstest"
	"github.com/hangxomso/hangxom/store"
)

// world is a desk and a dashboard on one miniredis, with members: tg:2
// coordinator of xa-a, tg:5 team member of a-1, tg:6 team member of a-2,
// tg:7 team member and party-cell secretary of a-1; tg:9 is a resident.
// "other" is the private flow.
type world struct {
	t    testing.TB
	now  time.Time
	st   *store.Redis
	svc  *flows.Service
	desk *desk.Desk
	srv  *dashboard.Server
	h    http.Handler
	n    int
}

const base = "http://127.0.0.1:8080/d/"

func newWorld(t *testing.T, baseURL string) *world {
	t.Helper()
	m := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { _ = c.Close() })
	w := &world{t: t, now: flowstest.T0}
	clock := flows.ClockFunc(func() time.Time { return w.now })
	w.st = store.New(c, store.Options{Prefix: "dash:v1", DataKey: []byte("k"), Clock: clock})
	e := flowstest.NewEngine(t)
	u, err := url.Parse(baseURL)
	if err != nil {
		t.Fatal(err)
	}
	links := &dashboard.Links{Store: w.st, BaseURL: u, Clock: clock}
	w.desk = &desk.Desk{Store: w.st, Areas: e.Areas, Loc: flowstest.AllLoc{}, FollowUp: w.st, Library: e.Library,
		WaitExpiry: 72 * time.Hour, PrivateFlows: []string{"other"}, Help: w.st, Location: time.FixedZone("ICT", 7*3600),
		Stats:     desk.Stats{Counts: w.st, Funnels: w.st, Views: w.st, Since: "2026-10"},
		Dashboard: links}
	w.svc = &flows.Service{Engine: e, Store: w.st, Clock: clock, Desk: w.desk}
	charts, err := chart.New()
	if err != nil {
		t.Fatal(err)
	}
	w.srv = &dashboard.Server{Store: w.st, Desk: w.desk, Library: e.Library, Loc: flowstest.AllLoc{}, Charts: charts,
		BaseURL: u, Clock: clock, OnSession: w.desk.SessionOpened}
	w.h = w.srv.Handler()
	for id, x := range map[string]flows.Member{
		"tg:2": {Role: flows.RoleCoordinator, Areas: []string{"xa-a"}},
		"tg:5": {Role: flows.RoleTeam, Areas: []string{"a-1"}},
		"tg:6": {Role: flows.RoleTeam, Areas: []string{"a-2"}},
		"tg:7": {Role: flows.RoleTeam, Areas: []string{"a-1"}, Secretary: true, SecretaryAreas: []string{"a-1"}},
	} {
		x.ID = id
		if err := w.st.PutMember(t.Context(), x); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

func (w *world) send(who string, in flows.Input) []flows.Reply {
	w.t.Helper()
	w.n++
	in.UpdateID = "u" + strconv.Itoa(w.n)
	if _, err := w.svc.Handle(w.t.Context(), who, in); err != nil {
		w.t.Fatal(err)
	}
	return flowstest.OutboxReplies(w.t, w.st, who)
}

// begin makes resident who join hamlet and start flow.
func (w *world) begin(who, hamlet, flow string) {
	w.t.Helper()
	rs := w.send(who, flows.Input{Kind: flows.InputCommand, Command: "start", Text: "h_" + hamlet})
	for _, r := range rs {
		for _, b := range r.Buttons {
			if b.Label == flow+".title" {
				w.send(who, flows.Input{Kind: flows.InputChoice, Data: b.Data})
				return
			}
		}
	}
	w.t.Fatalf("%s: no button for %s in %+v", who, flow, rs)
}

var linkPattern = regexp.MustCompile(`https?://\S+/login/[A-Za-z0-9_-]{43}`)

// link asks /dashboard as who and returns the link, checking the reply is
// sent with previews off.
func (w *world) link(who string) string {
	w.t.Helper()
	rs := w.send(who, flows.Input{Kind: flows.InputCommand, Command: "dashboard"})
	for _, r := range rs {
		if l := linkPattern.FindString(r.Text); l != "" {
			if !r.NoPreview {
				w.t.Errorf("the link's reply %q is sent with previews on", r.Text)
			}
			return l
		}
	}
	w.t.Fatalf("%s: no link in %+v", who, rs)
	return ""
}

// get requests path (absolute URL or relative to base) with cookies.
func (w *world) do(method, target string, body url.Values, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	w.t.Helper()
	if !strings.HasPrefix(target, "http") {
		target = base + strings.TrimPrefix(target, "/d/")
	}
	var r *http.Request
	if body != nil {
		r = httptest.NewRequest(method, target, strings.NewReader(body.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		r = httptest.NewRequest(method, target, nil)
	}
	for _, c := range cookies {
		r.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	w.h.ServeHTTP(rec, r)
	return rec
}

func cookie(t testing.TB, rec *httptest.ResponseRecorder, name string) *http.Cookie {
	t.Helper()
	for _, c := range rec.Result().Cookies() {
		if c.Name == name && c.MaxAge >= 0 && c.Value != "" {
			return c
		}
	}
	return nil
}

var loginForm = regexp.MustCompile(`<form class="login" method="post" action="([^"]+)">\s*<input type="hidden" name="form" value="([^"]+)">\s*<button type="submit">`)

// see is step 1 as a browser sees it: GET target (the link, or its /go),
// which must answer the page with the button; it returns the nonce cookie
// (named name) and the form's hidden field, checking the form posts to the
// link's /go and that nothing on the page goes on by itself.
func (w *world) see(target, link, name string) (*http.Cookie, string) {
	w.t.Helper()
	rec := w.do("GET", target, nil)
	if rec.Code != http.StatusOK {
		w.t.Fatalf("GET %s: %d %s", target, rec.Code, rec.Body)
	}
	nonce := cookie(w.t, rec, name)
	if nonce == nil {
		w.t.Fatalf("GET %s set no nonce cookie: %v", target, rec.Header())
	}
	body := rec.Body.String()
	m := loginForm.FindStringSubmatch(body)
	u, _ := url.Parse(link)
	if m == nil || m[1] != u.Path+"/go" {
		w.t.Fatalf("the first page has no button posting to %s/go: %s", u.Path, body)
	}
	if strings.Contains(body, "http-equiv") || strings.Contains(body, "<script") {
		w.t.Fatalf("the first page goes on by itself: %s", body)
	}
	// The style sheet's request must not carry the page's address, the
	// live token, as its Referer: a proxy's access log records it.
	if !strings.Contains(body, `<link rel="stylesheet" href="/d/static/dash.css" referrerpolicy="no-referrer">`) {
		w.t.Fatalf("the first page's style sheet would be fetched with the link as Referer: %s", body)
	}
	if cookie(w.t, rec, "hx_s") != nil || cookie(w.t, rec, "__Host-hx_s") != nil {
		w.t.Fatalf("GET %s set a session cookie", target)
	}
	return nonce, m[2]
}

// spend is step 2 as a browser sends it: the button's POST to link's /go
// from the link's own origin, with the nonce cookie and the form's field.
func (w *world) spend(link string, nonce *http.Cookie, form string) *httptest.ResponseRecorder {
	w.t.Helper()
	u, _ := url.Parse(link)
	return w.post(link+"/go", url.Values{"form": {form}}.Encode(),
		map[string]string{"Origin": u.Scheme + "://" + u.Host, "Sec-Fetch-Site": "same-origin"}, nonce)
}

// login goes through both steps as a browser and returns the session
// cookie.
func (w *world) login(link string) *http.Cookie {
	w.t.Helper()
	nonce, form := w.see(link, link, "hx_login")
	second := w.spend(link, nonce, form)
	if second.Code != http.StatusSeeOther {
		w.t.Fatalf("POST /go with the cookie: %d %s", second.Code, second.Body)
	}
	if got := second.Header().Get("Referrer-Policy"); got != "no-referrer" {
		w.t.Errorf("the redirect to the overview: Referrer-Policy %q, want no-referrer (its request would carry the link)", got)
	}
	s := cookie(w.t, second, "hx_s")
	if s == nil {
		w.t.Fatalf("no session cookie: %v", second.Header())
	}
	if !s.HttpOnly || s.SameSite != http.SameSiteLaxMode || s.Path != "/" {
		w.t.Errorf("session cookie %+v: want HttpOnly, SameSite=Lax, Path=/", s)
	}
	return s
}

// hrefs are the addresses a robot that follows everything would follow
// next: links, forms' actions, a meta refresh's url.
var hrefs = regexp.MustCompile(`(?:href|action|url)=["']?([^"'>\s]+)`)

func TestTheLinkSurvivesRobotsThatKeepCookiesAndFollowEverythingAndWorksOnce(t *testing.T) {
	w := newWorld(t, base)
	link := w.link("tg:5")
	// A preview robot: fetches the link twice and keeps no cookie.
	for range 2 {
		if rec := w.do("GET", link, nil); rec.Code != http.StatusOK {
			t.Fatalf("preview fetch: %d", rec.Code)
		}
	}
	// A mail or URL scanner: keeps the cookies and GETs every address the
	// page names (the old meta refresh's among them), twice over. It
	// gets pages, never a session.
	var jar []*http.Cookie
	next := []string{link, link + "/go"}
	for round := 0; round < 2 && len(next) > 0; round++ {
		var more []string
		for _, target := range next {
			rec := w.do("GET", target, nil, jar...)
			if cookie(t, rec, "hx_s") != nil || rec.Code == http.StatusSeeOther {
				t.Fatalf("the scanner's GET %s opened a session: %d", target, rec.Code)
			}
			if c := cookie(t, rec, "hx_login"); c != nil {
				jar = []*http.Cookie{c}
			}
			for _, m := range hrefs.FindAllStringSubmatch(rec.Body.String(), -1) {
				if strings.HasPrefix(m[1], "/") { // not the icon's data: URL
					more = append(more, "http://127.0.0.1:8080"+m[1])
				}
			}
		}
		next = more
	}
	if len(jar) == 0 {
		t.Fatal("the scanner got no nonce cookie: the test tests nothing")
	}
	if rs := flowstest.OutboxReplies(t, w.st, "tg:5"); len(rs) != 0 {
		t.Errorf("the scanner's visit told the member of a session: %+v", rs)
	}
	s := w.login(link)
	if rec := w.do("GET", "/d/", nil, s); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "Xóm 1") {
		t.Fatalf("overview: %d %s", rec.Code, rec.Body)
	}
	// The same link again: both addresses refused.
	for _, target := range []string{link, link + "/go"} {
		if rec := w.do("GET", target, nil); rec.Code != http.StatusGone {
			t.Errorf("a spent link's GET %s: %d, want 410", target, rec.Code)
		}
	}
}

// A GET of step 2's address (a bookmark) shows the button again and spends
// nothing: the button then works.
func TestAGetOfStepTwoSpendsNothing(t *testing.T) {
	w := newWorld(t, base)
	link := w.link("tg:5")
	first, _ := w.see(link, link, "hx_login")
	for range 3 {
		rec := w.do("GET", link+"/go", nil, first)
		if rec.Code != http.StatusOK || cookie(t, rec, "hx_s") != nil || !loginForm.MatchString(rec.Body.String()) {
			t.Fatalf("GET /go with the nonce: %d, session cookie %v", rec.Code, cookie(t, rec, "hx_s"))
		}
	}
	if rec := w.do("HEAD", link+"/go", nil, first); rec.Code != http.StatusOK || rec.Body.Len() != 0 ||
		rec.Header().Get("Set-Cookie") != "" {
		t.Fatalf("HEAD /go: %d, body %q, Set-Cookie %q", rec.Code, rec.Body, rec.Header().Get("Set-Cookie"))
	}
	nonce, form := w.see(link+"/go", link, "hx_login")
	if rec := w.spend(link, nonce, form); rec.Code != http.StatusSeeOther {
		t.Fatalf("the button after GETs of /go: %d, want 303", rec.Code)
	}
}

func TestStepTwoIsRefusedFromAnotherSiteOrWithoutTheForm(t *testing.T) {
	w := newWorld(t, "https://bot.example.org/d/")
	link := w.link("tg:5")
	nonce, form := w.see(link, link, "__Secure-hx_login")
	good := url.Values{"form": {form}}.Encode()
	for name, tc := range map[string]struct {
		body string
		h    map[string]string
	}{
		"evil origin":   {good, map[string]string{"Origin": "https://evil.example"}},
		"cross-site":    {good, map[string]string{"Sec-Fetch-Site": "cross-site"}},
		"same-site sub": {good, map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "https://bot.example.org"}},
		"null origin":   {good, map[string]string{"Origin": "null"}},
		"plain http":    {good, map[string]string{"Origin": "http://bot.example.org"}},
		"no field":      {"", map[string]string{"Origin": "https://bot.example.org"}},
		"wrong field":   {url.Values{"form": {strings.Repeat("0", 64)}}.Encode(), nil},
		"the nonce":     {url.Values{"form": {nonce.Value}}.Encode(), nil},
		"a big body":    {"pad=" + strings.Repeat("a", 8<<10) + "&" + good, nil},
	} {
		if rec := w.post(link+"/go", tc.body, tc.h, nonce); rec.Code != http.StatusForbidden || cookie(t, rec, "__Host-hx_s") != nil {
			t.Errorf("%s: POST /go: %d, want 403", name, rec.Code)
		}
	}
	// Without the cookie, with the right field: spent or not, no session.
	r := httptest.NewRequest("POST", link+"/go", strings.NewReader(good))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	w.h.ServeHTTP(rec, r)
	if rec.Code != http.StatusGone {
		t.Errorf("POST /go without the cookie: %d, want 410", rec.Code)
	}
	if rs := flowstest.OutboxReplies(t, w.st, "tg:5"); len(rs) != 0 {
		t.Errorf("refused POSTs told the member of a session: %+v", rs)
	}
	// The refusals spent nothing: the browser's own POST works.
	if rec := w.spend(link, nonce, form); rec.Code != http.StatusSeeOther || cookie(t, rec, "__Host-hx_s") == nil {
		t.Fatalf("the browser's POST after the refusals: %d", rec.Code)
	}
}

// A login tells the member in the chat, once, with the time in BOT_TZ; the
// refused steps before it tell nothing.
func TestALoginTellsTheMemberInTheChatOnce(t *testing.T) {
	w := newWorld(t, base)
	link := w.link("tg:5")
	w.login(link)
	rs := flowstest.OutboxReplies(t, w.st, "tg:5")
	if len(rs) != 1 || rs[0].Text != "dashboard.session_opened{Time=16:00}" {
		t.Fatalf("the member's outbox after a login: %+v, want the one notice at 16:00", rs)
	}
	if rs := flowstest.OutboxReplies(t, w.st, "tg:6"); len(rs) != 0 {
		t.Errorf("another member was told: %+v", rs)
	}
	// A second login, a minute later: a second notice.
	w.now = w.now.Add(time.Minute)
	w.login(w.link("tg:5"))
	var told []string
	for _, r := range flowstest.OutboxReplies(t, w.st, "tg:5") {
		if strings.HasPrefix(r.Text, "dashboard.session_opened") {
			told = append(told, r.Text)
		}
	}
	if len(told) != 1 || told[0] != "dashboard.session_opened{Time=16:01}" {
		t.Errorf("the second login's notices: %q", told)
	}
}

// A notice that cannot be sent is logged, without the token or the
// cookies, and the login goes on.
func TestALoginWhoseNoticeFailsStillOpens(t *testing.T) {
	w := newWorld(t, base)
	var log strings.Builder
	w.srv.Logger = slog.New(slog.NewTextHandler(&log, nil))
	w.srv.OnSession = func(context.Context, flows.Member, string, time.Time) error { return errors.New("outbox down") }
	w.h = w.srv.Handler()
	link := w.link("tg:5")
	nonce, form := w.see(link, link, "hx_login")
	rec := w.spend(link, nonce, form)
	s := cookie(t, rec, "hx_s")
	if rec.Code != http.StatusSeeOther || s == nil {
		t.Fatalf("the login when the notice fails: %d", rec.Code)
	}
	if got := log.String(); !strings.Contains(got, "level=WARN") || !strings.Contains(got, "outbox down") ||
		strings.Contains(got, link[len(link)-43:]) || strings.Contains(got, nonce.Value) || strings.Contains(got, s.Value) ||
		strings.Contains(got, form) {
		t.Errorf("the log: %s", got)
	}
}

func TestASpentLinkIsRefusedEvenWithItsNonce(t *testing.T) {
	w := newWorld(t, base)
	link := w.link("tg:5")
	nonce, form := w.see(link, link, "hx_login")
	if rec := w.spend(link, nonce, form); rec.Code != http.StatusSeeOther {
		t.Fatalf("first /go: %d", rec.Code)
	}
	if rec := w.spend(link, nonce, form); rec.Code != http.StatusGone {
		t.Fatalf("second /go with the same nonce: %d, want 410", rec.Code)
	}
}

func TestAStaleLinkIsRefused(t *testing.T) {
	w := newWorld(t, base)
	link := w.link("tg:5")
	nonce, form := w.see(link, link, "hx_login")
	w.now = w.now.Add(dashboard.LinkTTL + time.Second)
	if rec := w.spend(link, nonce, form); rec.Code != http.StatusGone {
		t.Fatalf("/go after 10 minutes: %d, want 410", rec.Code)
	}
	if rec := w.do("GET", w.link("tg:5"), nil); rec.Code != http.StatusOK {
		t.Fatalf("a new link: %d", rec.Code)
	}
}

func TestAForgedNonceOrSessionIsRefused(t *testing.T) {
	w := newWorld(t, base)
	link := w.link("tg:5")
	_, form := w.see(link, link, "hx_login")
	forged := &http.Cookie{Name: "hx_login", Value: strings.Repeat("A", 43)}
	if rec := w.spend(link, forged, form); rec.Code != http.StatusForbidden {
		t.Fatalf("/go with a forged nonce and the page's field: %d, want 403", rec.Code)
	}
	// The field derived from the forged nonce passes the form's check; the
	// store, which never recorded that nonce, refuses it.
	if rec := w.spend(link, forged, dashboard.LoginForm(forged.Value)); rec.Code != http.StatusGone {
		t.Fatalf("/go with a forged nonce and its field: %d, want 410", rec.Code)
	}
	for _, v := range []string{strings.Repeat("A", 43), "x", ""} {
		if rec := w.do("GET", "/d/", nil, &http.Cookie{Name: "hx_s", Value: v}); rec.Code != http.StatusUnauthorized {
			t.Errorf("overview with session cookie %q: %d, want 401", v, rec.Code)
		}
	}
	// The real link still works: forgeries spent nothing.
	w.login(link)
}

func TestResidentsAndAnUnsetDashboardGetNoLink(t *testing.T) {
	w := newWorld(t, base)
	w.send("tg:9", flows.Input{Kind: flows.InputText, Text: "chào"})
	w.send("tg:5", flows.Input{Kind: flows.InputText, Text: "chào"})
	for _, r := range w.send("tg:9", flows.Input{Kind: flows.InputCommand, Command: "dashboard"}) {
		if linkPattern.MatchString(r.Text) || !strings.Contains(r.Text, "staff.not_a_member") {
			t.Errorf("a resident got %q", r.Text)
		}
	}
	w.desk.Dashboard = nil
	rs := w.send("tg:5", flows.Input{Kind: flows.InputCommand, Command: "dashboard"})
	if len(rs) != 1 || rs[0].Text != "dashboard.unavailable" {
		t.Errorf("without DASHBOARD_URL: %+v", rs)
	}
}

func TestARemovedMemberIsRefusedAtOnce(t *testing.T) {
	// Removed: RemoveMember revokes the sessions (401). Moved to another
	// hamlet: the re-check of every request refuses the session's scope
	// (403).
	for how, want := range map[string]int{"remove": http.StatusUnauthorized, "moved": http.StatusForbidden} {
		t.Run(how, func(t *testing.T) {
			w := newWorld(t, base)
			s := w.login(w.link("tg:5"))
			if rec := w.do("GET", "/d/", nil, s); rec.Code != http.StatusOK {
				t.Fatalf("before: %d", rec.Code)
			}
			switch how {
			case "remove":
				if err := w.st.RemoveMember(t.Context(), "tg:5"); err != nil {
					t.Fatal(err)
				}
			default: // the session's scope was a-1
				if err := w.st.PutMember(t.Context(), flows.Member{ID: "tg:5", Role: flows.RoleTeam, Areas: []string{"a-2"}}); err != nil {
					t.Fatal(err)
				}
			}
			if rec := w.do("GET", "/d/", nil, s); rec.Code != want {
				t.Fatalf("after: %d, want %d: %s", rec.Code, want, rec.Body)
			}
		})
	}
}

func TestAnotherHamletsDataIsRefused(t *testing.T) {
	w := newWorld(t, base)
	w.begin("tg:20", "a-2", "demo")
	s := w.login(w.link("tg:5"))
	for _, area := range []string{"a-2", "xa-a", "b-1", "nowhere"} {
		rec := w.do("GET", "/d/?area="+area, nil, s)
		if rec.Code != http.StatusForbidden || strings.Contains(rec.Body.String(), "Xóm 2") {
			t.Errorf("team member of a-1 asking %s: %d", area, rec.Code)
		}
	}
	rec := w.do("GET", "/d/", nil, s)
	if strings.Contains(rec.Body.String(), "Xóm 2") {
		t.Errorf("team member of a-1 sees Xóm 2 in the overview")
	}
	c := w.login(w.link("tg:2"))
	if rec := w.do("GET", "/d/?area=a-2", nil, c); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "Xóm 2") {
		t.Errorf("the commune's coordinator asking a-2: %d", rec.Code)
	}
	if rec := w.do("GET", "/d/?area=b-1", nil, c); rec.Code != http.StatusForbidden {
		t.Errorf("the coordinator of xa-a asking b-1: %d, want 403", rec.Code)
	}
}

func TestLogoutNeedsTheCSRFToken(t *testing.T) {
	w := newWorld(t, base)
	s := w.login(w.link("tg:5"))
	page := w.do("GET", "/d/", nil, s).Body.String()
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF field in the page")
	}
	for name, body := range map[string]url.Values{"none": {}, "wrong": {"csrf": {strings.Repeat("B", 43)}}} {
		if rec := w.do("POST", "/d/logout", body, s); rec.Code != http.StatusForbidden {
			t.Errorf("logout with %s CSRF: %d, want 403", name, rec.Code)
		}
	}
	if rec := w.do("GET", "/d/", nil, s); rec.Code != http.StatusOK {
		t.Fatalf("the session after refused logouts: %d", rec.Code)
	}
	if rec := w.do("POST", "/d/logout", url.Values{"csrf": {m[1]}}, s); rec.Code != http.StatusOK {
		t.Fatalf("logout: %d", rec.Code)
	}
	if rec := w.do("GET", "/d/", nil, s); rec.Code != http.StatusUnauthorized {
		t.Fatalf("after logout: %d, want 401", rec.Code)
	}
	if rec := w.do("GET", "/d/logout", nil, s); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET logout: %d, want 405", rec.Code)
	}
}

func TestTheSessionEndsAfter12Hours(t *testing.T) {
	w := newWorld(t, base)
	s := w.login(w.link("tg:5"))
	w.now = w.now.Add(dashboard.SessionTTL + time.Minute)
	if rec := w.do("GET", "/d/", nil, s); rec.Code != http.StatusUnauthorized {
		t.Fatalf("after 12 h: %d, want 401", rec.Code)
	}
}

func TestEveryResponseHasTheSecurityHeaders(t *testing.T) {
	w := newWorld(t, base)
	link := w.link("tg:5")
	s := w.login(link)
	want := map[string]string{
		"Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "same-origin",
		"Cache-Control":           "no-store",
	}
	for name, rec := range map[string]*httptest.ResponseRecorder{
		"overview": w.do("GET", "/d/", nil, s), "signed out": w.do("GET", "/d/", nil),
		"spent link": w.do("GET", link, nil), "css": w.do("GET", "/d/static/dash.css", nil),
		"logout refused": w.do("POST", "/d/logout", url.Values{}, s),
	} {
		for h, v := range want {
			if got := rec.Header().Get(h); got != v {
				t.Errorf("%s: %s = %q, want %q", name, h, got, v)
			}
		}
	}
	if rec := w.do("GET", "/d/", nil, s); strings.Contains(rec.Body.String(), "<script") || strings.Contains(rec.Body.String(), "style=") {
		t.Errorf("the page has a script or an inline style, which the CSP blocks")
	}
}

func TestHTTPSCookiesAreSecureWithTheHostPrefix(t *testing.T) {
	w := newWorld(t, "https://bot.example.org/d/")
	link := w.link("tg:5")
	nonce, form := w.see(link, link, "__Secure-hx_login")
	if !nonce.Secure || !nonce.HttpOnly || nonce.SameSite != http.SameSiteLaxMode || nonce.Path != "/d/login/"+link[len(link)-43:]+"/go" {
		t.Fatalf("nonce cookie %+v", nonce)
	}
	second := w.spend(link, nonce, form)
	s := cookie(t, second, "__Host-hx_s")
	if s == nil || !s.Secure || !s.HttpOnly || s.Path != "/" || s.Domain != "" {
		t.Fatalf("session cookie %+v", s)
	}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrfOf reads the CSRF token of the overview page seen with session s.
func (w *world) csrfOf(target string, s *http.Cookie) string {
	w.t.Helper()
	m := csrfField.FindStringSubmatch(w.do("GET", target, nil, s).Body.String())
	if m == nil {
		w.t.Fatalf("no CSRF field in the page")
	}
	return m[1]
}

// post sends a form (the login's step 2, a logout) with body and headers,
// as a browser would.
func (w *world) post(target, body string, headers map[string]string, s *http.Cookie) *httptest.ResponseRecorder {
	w.t.Helper()
	r := httptest.NewRequest("POST", target, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range headers {
		r.Header.Set(k, v)
	}
	r.AddCookie(s)
	rec := httptest.NewRecorder()
	w.h.ServeHTTP(rec, r)
	return rec
}

func TestACrossSitePostIsRefusedEvenWithTheRightCSRFToken(t *testing.T) {
	w := newWorld(t, "https://bot.example.org/d/")
	link := w.link("tg:5")
	nonce, form := w.see(link, link, "__Secure-hx_login")
	s := cookie(t, w.spend(link, nonce, form), "__Host-hx_s")
	csrf := w.csrfOf("https://bot.example.org/d/", s)
	body := url.Values{"csrf": {csrf}}.Encode()
	for name, h := range map[string]map[string]string{
		"evil origin":   {"Origin": "https://evil.example"},
		"cross-site":    {"Sec-Fetch-Site": "cross-site"},
		"null origin":   {"Origin": "null"},
		"other port":    {"Origin": "https://bot.example.org:8443"},
		"plain http":    {"Origin": "http://bot.example.org"},
		"same-site sub": {"Sec-Fetch-Site": "same-site", "Origin": "https://bot.example.org"},
	} {
		if rec := w.post("https://bot.example.org/d/logout", body, h, s); rec.Code != http.StatusForbidden {
			t.Errorf("%s: a POST with the right CSRF token: %d, want 403", name, rec.Code)
		}
	}
	if rec := w.do("GET", "https://bot.example.org/d/", nil, s); rec.Code != http.StatusOK {
		t.Fatalf("the session after refused logouts: %d", rec.Code)
	}
	rec := w.post("https://bot.example.org/d/logout", body,
		map[string]string{"Origin": "https://bot.example.org", "Sec-Fetch-Site": "same-origin"}, s)
	if rec.Code != http.StatusOK {
		t.Fatalf("the same POST from the right origin: %d %s", rec.Code, rec.Body)
	}
}

func TestTheOriginIsComparedWithDefaultPortsNormalised(t *testing.T) {
	for _, tt := range []struct{ base, origin string }{
		{"https://bot.example.org:443/d/", "https://bot.example.org"},
		{"https://bot.example.org/d/", "https://bot.example.org:443"},
		{"http://127.0.0.1:80/d/", "http://127.0.0.1"},
		{"https://Bot.Example.org/d/", "https://bot.example.org"},
	} {
		w := newWorld(t, tt.base)
		link := w.link("tg:5")
		first := w.do("GET", link, nil)
		var nonce *http.Cookie
		for _, c := range first.Result().Cookies() {
			if strings.HasSuffix(c.Name, "hx_login") {
				nonce = c
			}
		}
		m := loginForm.FindStringSubmatch(first.Body.String())
		if nonce == nil || m == nil {
			t.Fatalf("%s: no nonce or no form", tt.base)
		}
		// The login's POST from the browser's spelling of the origin.
		var s *http.Cookie
		login := w.post(link+"/go", url.Values{"form": {m[2]}}.Encode(), map[string]string{"Origin": tt.origin}, nonce)
		for _, c := range login.Result().Cookies() {
			if strings.HasSuffix(c.Name, "hx_s") {
				s = c
			}
		}
		if s == nil {
			t.Fatalf("%s: no session", tt.base)
		}
		csrf := w.csrfOf(tt.base, s)
		rec := w.post(tt.base+"logout", url.Values{"csrf": {csrf}}.Encode(), map[string]string{"Origin": tt.origin}, s)
		if rec.Code != http.StatusOK {
			t.Errorf("DASHBOARD_URL %s, Origin %s: logout %d, want 200", tt.base, tt.origin, rec.Code)
		}
	}
}

func TestLogoutReadsOnlyASmallURLEncodedBody(t *testing.T) {
	w := newWorld(t, base)
	s := w.login(w.link("tg:5"))
	csrf := w.csrfOf("/d/", s)
	// A large body with the token at its end: refused, not read whole.
	big := "pad=" + strings.Repeat("a", 8<<10) + "&csrf=" + csrf
	if rec := w.post(base+"logout", big, nil, s); rec.Code != http.StatusForbidden {
		t.Errorf("an 8 KiB logout body: %d, want 403", rec.Code)
	}
	// A multipart form carrying the right token: not parsed, refused.
	mp := "--b\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n" + csrf + "\r\n--b--\r\n"
	r := httptest.NewRequest("POST", base+"logout", strings.NewReader(mp))
	r.Header.Set("Content-Type", "multipart/form-data; boundary=b")
	r.AddCookie(s)
	rec := httptest.NewRecorder()
	w.h.ServeHTTP(rec, r)
	if rec.Code != http.StatusForbidden {
		t.Errorf("a multipart logout: %d, want 403", rec.Code)
	}
	if rec := w.post(base+"logout", "csrf="+csrf, nil, s); rec.Code != http.StatusOK {
		t.Fatalf("a plain logout: %d", rec.Code)
	}
}

// cells returns the table cells of the row headed name in the section of
// flow title, as the page writes them.
func cells(t *testing.T, page, flowTitle, name string) []string {
	t.Helper()
	i := strings.Index(page, "<h2>"+flowTitle+"</h2>")
	if i < 0 {
		t.Fatalf("no section %s", flowTitle)
	}
	sec := page[i:]
	if j := strings.Index(sec, "</section>"); j >= 0 {
		sec = sec[:j]
	}
	re := regexp.MustCompile(`(?s)<th scope="row">(?:<a [^>]*>)?` + regexp.QuoteMeta(name) + `(?:</a>)?</th>\s*(.*?)</tr>`)
	m := re.FindStringSubmatch(sec)
	if m == nil {
		t.Fatalf("no row %s in %s", name, flowTitle)
	}
	var out []string
	for _, c := range regexp.MustCompile(`<td>(.*?)</td>`).FindAllStringSubmatch(m[1], -1) {
		out = append(out, c[1])
	}
	return out
}

func TestSmallCountsOfAPrivateFlowAreMaskedForThoseWhoMayNotName(t *testing.T) {
	w := newWorld(t, base)
	for i := range 3 {
		w.begin("tg:"+strconv.Itoa(30+i), "a-1", "other")
	}
	for i := range 2 {
		w.begin("tg:"+strconv.Itoa(40+i), "a-1", "demo")
	}
	for _, tt := range []struct {
		who, other, demo string
	}{
		{"tg:5", "&lt;5", "2"}, // a team member: the private flow masked, the other not
		{"tg:7", "3", "2"},     // the hamlet's party-cell secretary may name
	} {
		page := w.do("GET", "/d/", nil, w.login(w.link(tt.who))).Body.String()
		if got := cells(t, page, "other.title", "Xóm 1")[0]; got != tt.other {
			t.Errorf("%s sees other started = %s, want %s", tt.who, got, tt.other)
		}
		if got := cells(t, page, "demo.title", "Xóm 1")[0]; got != tt.demo {
			t.Errorf("%s sees demo started = %s, want %s", tt.who, got, tt.demo)
		}
		if tt.other == "&lt;5" && strings.Contains(page, ">3<") {
			t.Errorf("%s: the masked 3 is written somewhere in the page", tt.who)
		}
	}
	// The coordinator sees the commune's sums, unmasked.
	page := w.do("GET", "/d/", nil, w.login(w.link("tg:2"))).Body.String()
	if got := cells(t, page, "other.title", "Xã A")[0]; got != "3" {
		t.Errorf("coordinator sees other started = %s, want 3", got)
	}
}

func TestTheMonthFilterNarrowsTheCounts(t *testing.T) {
	w := newWorld(t, base)
	w.now = time.Date(2026, 10, 15, 9, 0, 0, 0, time.UTC)
	w.begin("tg:30", "a-1", "demo")
	w.now = flowstest.T0
	w.begin("tg:31", "a-1", "demo")
	s := w.login(w.link("tg:5"))
	for q, want := range map[string]string{"": "2", "?from=2026-10&to=2026-10": "1", "?from=2026-11&to=2026-11": "1",
		"?from=2020-01&to=bad": "2"} {
		page := w.do("GET", "/d/"+q, nil, s).Body.String()
		if got := cells(t, page, "demo.title", "Xóm 1")[0]; got != want {
			t.Errorf("%q: started = %s, want %s", q, got, want)
		}
	}
}

func TestACoordinatorTakenOutOfTheConfigurationIsRefusedAtOnce(t *testing.T) {
	w := newWorld(t, base)
	w.desk.Coordinators = []string{"tg:1"}
	s := w.login(w.link("tg:1"))
	if rec := w.do("GET", "/d/", nil, s); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "Xã B") {
		t.Fatalf("the province's coordinator: %d", rec.Code)
	}
	w.desk.Coordinators = nil
	if rec := w.do("GET", "/d/", nil, s); rec.Code != http.StatusForbidden {
		t.Fatalf("after COORDINATOR_IDS lost tg:1: %d, want 403", rec.Code)
	}
}

func TestVietnameseByDefaultEnglishByTheSwitch(t *testing.T) {
	w := newWorld(t, base)
	s := w.login(w.link("tg:5"))
	vi := w.do("GET", "/d/", nil, s).Body.String()
	if !strings.Contains(vi, `<html lang="vi">`) || !strings.Contains(vi, `href="/d/?from=2026-10&amp;lang=en&amp;to=2026-11"`) {
		t.Fatalf("the default page is not Vietnamese with a switch to English:\n%s", vi)
	}
	en := w.do("GET", "/d/?from=2026-10&lang=en&to=2026-11", nil, s).Body.String()
	if !strings.Contains(en, `<html lang="en">`) || !strings.Contains(en, "lang=vi") {
		t.Errorf("?lang=en is not English with a switch back")
	}
}

func TestANinthFetchEvictsTheOldestNonce(t *testing.T) {
	w := newWorld(t, base)
	link := w.link("tg:5")
	var nonces []*http.Cookie
	var forms []string
	for range 9 {
		n, f := w.see(link, link, "hx_login")
		nonces, forms = append(nonces, n), append(forms, f)
	}
	if rec := w.spend(link, nonces[0], forms[0]); rec.Code != http.StatusGone {
		t.Errorf("the first, evicted nonce: %d, want 410", rec.Code)
	}
	if rec := w.spend(link, nonces[8], forms[8]); rec.Code != http.StatusSeeOther || cookie(t, rec, "hx_s") == nil {
		t.Fatalf("the ninth fetch's nonce: %d, want a session", rec.Code)
	}
}

func TestAHeadRequestRecordsNoNonce(t *testing.T) {
	w := newWorld(t, base)
	link := w.link("tg:5")
	first, form := w.see(link, link, "hx_login")
	for range 7 {
		w.do("GET", link, nil)
	}
	// Eight nonces kept: a HEAD that recorded one would evict the first.
	for _, target := range []string{link, link, link + "/go"} {
		rec := w.do("HEAD", target, nil)
		if rec.Code != http.StatusOK || rec.Body.Len() != 0 || rec.Header().Get("Set-Cookie") != "" {
			t.Fatalf("HEAD %s: %d, body %q, Set-Cookie %q", target, rec.Code, rec.Body, rec.Header().Get("Set-Cookie"))
		}
	}
	if rec := w.spend(link, first, form); rec.Code != http.StatusSeeOther {
		t.Fatalf("the first nonce after HEADs: %d, want 303", rec.Code)
	}
}

func TestForgetRevokesTheMembersSessions(t *testing.T) {
	w := newWorld(t, base)
	s := w.login(w.link("tg:5"))
	if rec := w.do("GET", "/d/", nil, s); rec.Code != http.StatusOK {
		t.Fatalf("before: %d", rec.Code)
	}
	if err := w.st.Forget(t.Context(), "tg:5"); err != nil {
		t.Fatal(err)
	}
	// 401: the session is gone (the member re-check alone would say 403).
	if rec := w.do("GET", "/d/", nil, s); rec.Code != http.StatusUnauthorized {
		t.Fatalf("after Forget: %d, want 401", rec.Code)
	}
}

func TestAreasGainedAfterLoginAreNotShown(t *testing.T) {
	w := newWorld(t, base)
	w.begin("tg:20", "a-2", "demo")
	w.begin("tg:21", "a-1", "demo")
	s := w.login(w.link("tg:5"))
	if err := w.st.PutMember(t.Context(), flows.Member{ID: "tg:5", Role: flows.RoleTeam, Areas: []string{"a-1", "a-2"}}); err != nil {
		t.Fatal(err)
	}
	rec := w.do("GET", "/d/", nil, s)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "Xóm 1") || strings.Contains(rec.Body.String(), "Xóm 2") {
		t.Errorf("the overview after gaining a-2: %d, Xóm 2 shown: %v", rec.Code, strings.Contains(rec.Body.String(), "Xóm 2"))
	}
	if rec := w.do("GET", "/d/?area=a-2", nil, s); rec.Code != http.StatusForbidden {
		t.Errorf("?area=a-2 after gaining it: %d, want 403", rec.Code)
	}
	// A new login sees it.
	if page := w.do("GET", "/d/", nil, w.login(w.link("tg:5"))).Body.String(); !strings.Contains(page, "Xóm 2") {
		t.Errorf("a new login does not see the gained a-2")
	}
}

func TestAMaskedFlowIsShownForTheWholeYearOnly(t *testing.T) {
	w := newWorld(t, base)
	w.now = time.Date(2026, 10, 15, 9, 0, 0, 0, time.UTC)
	for i := range 5 {
		w.begin("tg:"+strconv.Itoa(30+i), "a-1", "other")
	}
	w.begin("tg:40", "a-1", "demo")
	w.now = flowstest.T0
	for i := range 2 {
		w.begin("tg:"+strconv.Itoa(50+i), "a-1", "other")
	}
	w.begin("tg:41", "a-1", "demo")
	for _, tt := range []struct{ who, q, other, demo string }{
		{"tg:5", "", "7", "2"},
		// October minus the year would give November's 2 away.
		{"tg:5", "?from=2026-10&to=2026-10", "7", "1"},
		{"tg:5", "?from=2026-11&to=2026-11", "7", "1"},
		{"tg:7", "?from=2026-10&to=2026-10", "5", "1"}, // may name: the range applies
	} {
		page := w.do("GET", "/d/"+tt.q, nil, w.login(w.link(tt.who))).Body.String()
		if got := cells(t, page, "other.title", "Xóm 1")[0]; got != tt.other {
			t.Errorf("%s %q: other started = %s, want %s", tt.who, tt.q, got, tt.other)
		}
		if got := cells(t, page, "demo.title", "Xóm 1")[0]; got != tt.demo {
			t.Errorf("%s %q: demo started = %s, want %s", tt.who, tt.q, got, tt.demo)
		}
		note := strings.Contains(page, "dashboard.since_only{Flow=other.title,From=2026-10}")
		if want := tt.who == "tg:5" && tt.q != ""; note != want {
			t.Errorf("%s %q: the whole-year note shown: %v, want %v", tt.who, tt.q, note, want)
		}
	}
}

func TestTheRangeDefaultsToThisYearAndIsCappedAt24Months(t *testing.T) {
	w := newWorld(t, base)
	w.desk.Stats.Since = "2023-01"
	s := w.login(w.link("tg:5"))
	page := w.do("GET", "/d/", nil, s).Body.String()
	if !strings.Contains(page, "dashboard.caption{From=2026-01,To=2026-11}") {
		t.Errorf("the default range is not January to this month")
	}
	page = w.do("GET", "/d/?from=2023-01&to=2026-11", nil, s).Body.String()
	if !strings.Contains(page, "dashboard.caption{From=2024-12,To=2026-11}") {
		t.Errorf("a 47-month range is not cut to 24")
	}
	page = w.do("GET", "/d/?from=2023-01&to=2024-12", nil, s).Body.String()
	if !strings.Contains(page, "dashboard.caption{From=2023-01,To=2024-12}") {
		t.Errorf("a 24-month range was cut")
	}
}
