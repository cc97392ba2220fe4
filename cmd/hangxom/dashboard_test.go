package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
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

// On Telegram, /dashboard gives a coordinator a link sent with previews
// off; a preview robot's fetches spend nothing; the browser logs in once;
// the page's numbers are `hangxom stats`'s for the same store.
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
	if code, _ := fetch(t, robot, link+"/go"); code != http.StatusGone {
		t.Fatalf("/go without the cookie: %d, want 410", code)
	}

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Timeout: 10 * time.Second, Jar: jar}
	if code, body := fetch(t, browser, link); code != http.StatusOK || !strings.Contains(body, `http-equiv="refresh"`) {
		t.Fatalf("the link in a browser: %d %s", code, body)
	}
	code, page := fetch(t, browser, link+"/go") // the refresh; then the 303 to the overview
	if code != http.StatusOK || !strings.Contains(page, "<h2>") {
		t.Fatalf("login: %d %s", code, page)
	}
	if code, _ := fetch(t, &http.Client{Timeout: 10 * time.Second, Jar: jar}, link); code != http.StatusGone {
		t.Errorf("the link once more: %d, want 410", code)
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
