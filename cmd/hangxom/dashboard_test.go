package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var dashboardLink = regexp.MustCompile(`http://127\.0\.0\.1/bang/login/[A-Za-z0-9_-]{43}`)

// fetch GETs url with client (which follows no redirect unless it has a
// jar) and returns the status and the body.
func fetch(t *testing.T, client *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// tableRow returns the cells after the row heading name in the table of
// the section whose heading starts with title.
func tableRow(t *testing.T, page, title, name string) []string {
	t.Helper()
	i := strings.Index(page, "<h2>"+title)
	if i < 0 {
		t.Fatalf("no section %q in the page", title)
	}
	sec := page[i:]
	if j := strings.Index(sec, "</section>"); j >= 0 {
		sec = sec[:j]
	}
	m := regexp.MustCompile(`(?s)<th scope="row">(?:<a [^>]*>)?` + regexp.QuoteMeta(name) + `(?:</a>)?</th>\s*(.*?)</tr>`).FindStringSubmatch(sec)
	if m == nil {
		t.Fatalf("no row %q in section %q", name, title)
	}
	var out []string
	for _, c := range regexp.MustCompile(`<td>(.*?)</td>`).FindAllStringSubmatch(m[1], -1) {
		out = append(out, c[1])
	}
	return out
}

// loginButton is step 1's form: its action and hidden field.
var loginButton = regexp.MustCompile(`<form class="login" method="post" action="([^"]+)">\s*<input type="hidden" name="form" value="([^"]+)">`)

// On Telegram, /dashboard gives a coordinator a link sent with previews
// off; robots' fetches spend nothing, whether they keep cookies or not; the
// browser logs in once, by the button, and the coordinator is told so in
// the chat, once; the page's numbers are `hangxom stats`'s for the same
// store.
func TestServeDashboardLinkLogsInOnceAndShowsTheStatsFigures(t *testing.T) {
	tt := startServe(t, true, nil, nil, "", "COORDINATOR_IDS", "tg:555001", "DASHBOARD_URL", "http://127.0.0.1/bang")
	tt.walkEwallet()
	msg := tt.say("/dashboard", "/bang/login/")
	if !msg.PreviewOff() || !msg.DisableWebPagePreview {
		t.Errorf("the link was sent with previews on: %+v", msg)
	}
	link := dashboardLink.FindString(msg.Text)
	if link == "" {
		t.Fatalf("no plain link in %q", msg.Text)
	}
	link = strings.Replace(link, "http://127.0.0.1/", "http://"+tt.addr+"/", 1)

	robot := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for range 2 {
		if code, _ := fetch(t, robot, link); code != http.StatusOK {
			t.Fatalf("a preview fetch: %d", code)
		}
	}
	// A scanner that keeps cookies and follows redirects, fetching both
	// addresses: pages, no session.
	scanJar, _ := cookiejar.New(nil)
	scanner := &http.Client{Timeout: 10 * time.Second, Jar: scanJar}
	for _, u := range []string{link, link + "/go", link + "/go"} {
		if code, body := fetch(t, scanner, u); code != http.StatusOK || strings.Contains(body, "http-equiv") || strings.Contains(body, "<h2>") {
			t.Fatalf("a scanner's fetch of %s: %d %s", u, code, body)
		}
	}
	if cs := scanJar.Cookies(mustParse(t, "http://"+tt.addr+"/bang/")); len(cs) != 0 {
		t.Fatalf("the scanner has a session: %v", cs)
	}

	n := len(tt.fake.Messages(tt.chat))
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Timeout: 10 * time.Second, Jar: jar}
	code, body := fetch(t, browser, link)
	m := loginButton.FindStringSubmatch(body)
	if code != http.StatusOK || m == nil {
		t.Fatalf("the link in a browser: %d %s", code, body)
	}
	// The button: a POST from the page's origin (DASHBOARD_URL's, as the
	// proxy would show it), then the 303 to the overview.
	code, page := postForm(t, browser, "http://"+tt.addr+m[1], "http://127.0.0.1", url.Values{"form": {m[2]}})
	if code != http.StatusOK || !strings.Contains(page, "<h2>") {
		t.Fatalf("login: %d %s", code, page)
	}
	if code, _ := fetch(t, &http.Client{Timeout: 10 * time.Second, Jar: jar}, link); code != http.StatusGone {
		t.Errorf("the link once more: %d, want 410", code)
	}
	// The coordinator is told in the chat, once.
	tt.expect(n, "vừa được mở trên web lúc")
	told := 0
	for _, msg := range tt.fake.Messages(tt.chat)[n:] {
		if strings.Contains(msg.Text, "vừa được mở trên web lúc") {
			told++
		}
	}
	if told != 1 {
		t.Errorf("the chat has %d notices of the session, want 1", told)
	}

	// The same figures as `hangxom stats`, hamlet by hamlet.
	var out, errb strings.Builder
	if err := runWith(context.Background(), []string{"stats", "--format", "json"}, env("DATA_KEY", "test-data-key-0123456789"),
		strings.NewReader(""), &out, &errb, appOptions{client: tt.client, prefix: tt.prefix}); err != nil {
		t.Fatalf("stats: %v\n%s", err, errb.String())
	}
	var stats statsJSON
	if err := json.Unmarshal([]byte(out.String()), &stats); err != nil {
		t.Fatal(err)
	}
	_, page = fetch(t, browser, "http://"+tt.addr+"/bang/?area="+tdp1)
	r := row(t, stats, tdp1, "ewallet")
	if r.Completed != 1 {
		t.Fatalf("stats: ewallet completed %d in %s, want 1", r.Completed, tdp1)
	}
	got := tableRow(t, page, "💳 Mở tài khoản thanh toán", r.Hamlet)
	want := []string{strconv.FormatInt(r.Started, 10), strconv.FormatInt(r.Completed, 10), strconv.FormatInt(r.CompletedSelf, 10),
		strconv.FormatInt(r.CompletedTeam, 10), strconv.FormatInt(r.Stalled, 10), strconv.FormatInt(r.HelpRequests, 10)}
	if strings.Join(got[:6], " ") != strings.Join(want, " ") {
		t.Errorf("the page's %s ewallet row: %v, hangxom stats: %v", r.Hamlet, got[:6], want)
	}
	// The overview's commune row sums the commune's hamlets.
	_, page = fetch(t, browser, "http://"+tt.addr+"/bang/")
	var started, completed int64
	for _, x := range stats.Rows {
		if x.CommuneID == r.CommuneID && x.Flow == "ewallet" {
			started += x.Started
			completed += x.Completed
		}
	}
	got = tableRow(t, page, "💳 Mở tài khoản thanh toán", r.Commune)
	if got[0] != strconv.FormatInt(started, 10) || got[1] != strconv.FormatInt(completed, 10) {
		t.Errorf("the page's %s ewallet row: started %s completed %s, hangxom stats: %d %d", r.Commune, got[0], got[1], started, completed)
	}
	if strings.Contains(tt.log.String(), strings.TrimPrefix(link, "http://"+tt.addr+"/bang/login/")) {
		t.Error("the token is in serve's log")
	}
}

// postForm POSTs form to target as a browser's form from origin, and
// returns the status and the body after any redirect.
func postForm(t *testing.T, client *http.Client, target, origin string, form url.Values) (int, string) {
	t.Helper()
	req, err := http.NewRequest("POST", target, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", origin)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func mustParse(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// Without DASHBOARD_URL, /dashboard says the dashboard is not set up and
// nothing is served under the path.
func TestServeWithoutDashboardURL(t *testing.T) {
	tt := startServe(t, true, nil, nil, "", "COORDINATOR_IDS", "tg:555001")
	tt.say("/dashboard", "chưa được cài đặt")
	tt.get("http://"+tt.addr+"/login/x", http.StatusNotFound)
}

func TestDashboardURL(t *testing.T) {
	for raw, want := range map[string]string{
		"https://bot.example.org/bang":  "https://bot.example.org/bang/",
		"https://bot.example.org":       "https://bot.example.org/",
		"http://127.0.0.1:8080/d/":      "http://127.0.0.1:8080/d/",
		"http://localhost:8080":         "http://localhost:8080/",
		"http://bot.example.org/":       "",
		"https://bot.example.org/?a=1":  "",
		"https://u:p@bot.example.org/":  "",
		"ftp://bot.example.org/":        "",
		"/bang/":                        "",
		"https://bot.example.org/#frag": "",
	} {
		u, err := dashboardURL(raw)
		switch {
		case want == "" && err == nil:
			t.Errorf("%q: accepted as %s", raw, u)
		case want != "" && (err != nil || u.String() != want):
			t.Errorf("%q: %v %v, want %s", raw, u, err, want)
		}
	}
}

// The console gives a coordinator the link as well (the pages need serve).
func TestChatGivesADashboardLink(t *testing.T) {
	p := newProgram(t)
	var out, errb strings.Builder
	err := runWith(t.Context(), []string{"chat", "--user", "alice"},
		env("COORDINATOR_IDS", "console:alice", "DASHBOARD_URL", "http://127.0.0.1/bang/"),
		strings.NewReader("/start\n/dashboard\n"), &out, &errb, appOptions{clock: p.clock, client: p.client, prefix: "test"})
	if err != nil {
		t.Fatalf("chat: %v\n%s", err, errb.String())
	}
	if !dashboardLink.MatchString(out.String()) {
		t.Errorf("no link in the console's answer:\n%s", out.String())
	}
}

// A webhook or a redirect under the dashboard's path is refused at start:
// its requests would meet the dashboard's routes.
func TestDashboardPathOfItsOwn(t *testing.T) {
	for _, tc := range []struct {
		env, url, dashboard string
		ok                  bool
	}{
		{"WEBHOOK_URL", "https://bot.example.org/tg/hook", "https://bot.example.org/bang", true},
		{"WEBHOOK_URL", "https://bot.example.org/bang/hook", "https://bot.example.org/bang", false},
		{"WEBHOOK_URL", "https://bot.example.org/bang", "https://bot.example.org/bang/", false},
		{"WEBHOOK_URL", "https://bot.example.org/bangla", "https://bot.example.org/bang", true},
		{"WEBHOOK_URL", "https://bot.example.org/tg/hook", "https://bot.example.org/", false},
		{"ZALO_WEBHOOK_URL", "https://bot.example.org/bang/zalo", "https://bot.example.org/bang", false},
	} {
		raw := map[string]string{}
		for _, s := range settings {
			raw[s.env] = s.def
		}
		raw[tc.env], raw["DASHBOARD_URL"] = tc.url, tc.dashboard
		if tc.env == "ZALO_WEBHOOK_URL" {
			raw["ZALO_APP_ID"], raw["ZALO_APP_SECRET"] = "1", "s"
		}
		_, err := parseConfig(raw)
		if tc.ok != (err == nil) || (err != nil && !strings.Contains(err.Error(), "DASHBOARD_URL")) {
			t.Errorf("%s=%s with DASHBOARD_URL=%s: %v", tc.env, tc.url, tc.dashboard, err)
		}
	}
}
