package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/hangxomso/hangxom/flows"
)

// chromium is the browser the dashboard's browser test drives: $CHROME_PATH,
// else Debian's chromium on the PATH. Missing, the test is skipped on a
// newcomer's machine and fails in CI (.ci/run installs it).
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROME_PATH"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium must be installed when CI=true (see .ci/run)")
	}
	t.Skip("no chromium: apt-get install chromium, or set CHROME_PATH")
	return ""
}

// screenshotDir is where the browser test saves its screenshots:
// $SCREENSHOTS_DIR (CI lists it in its log), else the test's temporary
// directory.
func screenshotDir(t *testing.T) string {
	if d := os.Getenv("SCREENSHOTS_DIR"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// TestDashboardInABrowser: a coordinator opens the link the bot sent in a
// real browser (headless chromium) at a phone's width, taps the page's one
// button, lands on the overview whose numbers are what the test drove, at a
// phone's width and a PC's, is told of the session in the chat, logs out;
// the spent link, a forged session cookie and the pages after logging out
// are refused.
func TestDashboardInABrowser(t *testing.T) {
	bin := chromium(t)
	// The public address is the one served (no proxy in between), as the
	// browser's Origin on a POST must match it.
	listen := freePort(t)
	base := "http://" + listen + "/bang/"
	tt := startServe(t, false, nil, nil, "", "COORDINATOR_IDS", "tg:555001", "HTTP_LISTEN", listen, "DASHBOARD_URL", base)
	if tt.addr != listen {
		t.Fatalf("serve listens on %s, not %s", tt.addr, listen)
	}
	tt.walkEwallet() // one resident of TDP 1 finishes the e-wallet guide
	// Another starts it and asks for a person at its first screen.
	coordinator := tt.chat
	tt.chat = coordinator + 1
	tt.say("/start h_"+tdp1, "Bác muốn được hướng dẫn việc gì?")
	tt.tap("💳", "Điện thoại của bác có màn hình cảm ứng")
	tt.say("giúp tôi với", "Đã ghi lại yêu cầu của bác.")
	tt.chat = coordinator
	msg := tt.say("/dashboard", "/bang/login/")
	link := regexp.MustCompile(regexp.QuoteMeta(base) + `login/[A-Za-z0-9_-]{43}`).FindString(msg.Text)
	if link == "" || !msg.PreviewOff() {
		t.Fatalf("no plain link sent with previews off in %+v", msg)
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(t.Context(), opts...)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	// The first run starts the browser, whose life is that context's: no
	// deadline on it. Each step below has its own.
	if err := chromedp.Do(browser, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	step := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		ctx, cancel := context.WithTimeout(browser, 60*time.Second)
		defer cancel()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	html := func() string {
		t.Helper()
		ctx, cancel := context.WithTimeout(browser, 30*time.Second)
		defer cancel()
		h, err := chromedp.Run(ctx, chromedp.OuterHTML("html"))
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	shots := screenshotDir(t)
	shoot := func(name string, w, h int64) {
		t.Helper()
		step("viewport "+name, chromedp.EmulateViewport(w, h))
		ctx, cancel := context.WithTimeout(browser, 30*time.Second)
		defer cancel()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(90))
		if err != nil || len(png) < 1000 {
			t.Fatalf("screenshot %s: %d bytes, %v", name, len(png), err)
		}
		if err := os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// Every request's Referer, to check that no request carries the live
	// link (a proxy's access log records Referers).
	var refMu sync.Mutex
	referers := map[string]string{}
	if err := chromedp.Listen(browser, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			ref, _ := e.Request.Headers["Referer"].(string)
			refMu.Lock()
			referers[e.Request.Method+" "+e.Request.URL] = ref
			refMu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}

	// The link: a page with one button, which stays put until tapped (no
	// refresh, no script), big enough for a thumb on a 360 px phone.
	step("open the link", chromedp.EmulateViewport(360, 740), chromedp.Navigate(link), chromedp.WaitVisible("form.login button"))
	if page := html(); !strings.Contains(page, "Mở bảng số liệu") || strings.Contains(page, "http-equiv") {
		t.Errorf("the link's page:\n%s", page)
	}
	ctx, cancel := context.WithTimeout(browser, 30*time.Second)
	box, err := chromedp.Run(ctx, chromedp.Dimensions("form.login button"))
	cancel()
	if err != nil || box.Height < 44 || box.Width < 200 || box.Width > 360 {
		t.Errorf("the button at 360 px: %+v, %v; want at least 44 px high, within the screen", box, err)
	}
	shoot("login-360x740", 360, 740)
	n := len(tt.fake.Messages(tt.chat))
	time.Sleep(300 * time.Millisecond) // a person reads the sentence first
	ctx, cancel = context.WithTimeout(browser, 30*time.Second)
	at, err := chromedp.Run(ctx, chromedp.Location())
	cancel()
	if err != nil || at != link {
		t.Fatalf("the link's page went on by itself, to %q (%v)", at, err)
	}
	step("tap the button", chromedp.Click("form.login button[type=submit]"), chromedp.WaitVisible("form.range"))
	// Only the button's POST, to the login's own path (which the proxy
	// keeps out of its log), carries the link as its Referer: not the
	// style sheet, the icon or the overview after the redirect.
	refMu.Lock()
	posted := false
	for req, ref := range referers {
		if strings.HasPrefix(req, "POST ") && strings.HasSuffix(req, "/go") {
			posted = ref == link
			continue
		}
		if strings.Contains(ref, "/login/") {
			t.Errorf("a request carries the link as its Referer: %s", regexp.MustCompile(`[A-Za-z0-9_-]{43}`).ReplaceAllString(req, "<token>"))
		}
	}
	refMu.Unlock()
	if !posted {
		t.Error("the button's POST was not seen with the link as its Referer: the check above sees nothing")
	}
	step("viewport 1280x800", chromedp.EmulateViewport(1280, 800))
	page := html()
	got := tableRow(t, page, "💳 Mở tài khoản thanh toán", "Xã Võ Nhai")
	if got[1] != "1" {
		t.Errorf("the overview's e-wallet completions in Xã Võ Nhai: %v, want 1 (what the test drove)", got)
	}
	if !strings.Contains(page, "<svg") || !strings.Contains(page, `role="img"`) {
		t.Error("the overview has no chart")
	}
	shoot("overview-1280x800", 1280, 800)
	shoot("overview-360x740", 360, 740)

	// A hamlet: the same figures as the chat's /stats for it.
	step("open the hamlet", chromedp.Navigate(base+"?area="+tdp1), chromedp.WaitVisible("form.range"))
	if got := tableRow(t, html(), "💳 Mở tài khoản thanh toán", "Tổ dân phố 1 (Đình Cả)"); got[0] != "2" || got[1] != "1" || got[5] != "1" {
		t.Errorf("the hamlet's e-wallet row: %v, want started 2, completed 1, help 1 (what the test drove)", got)
	}
	shoot("hamlet-360x740", 360, 740)

	// The hamlet's page: the e-wallet guide's funnel is what the test
	// drove — both residents reached its first screen, one went on to
	// the end, the other asked for help at the first; nobody has been
	// idle long enough to count as stalled.
	step("open the hamlet's funnel", chromedp.Navigate(base+"h/"+tdp1), chromedp.WaitVisible(`section[data-flow="ewallet"]`))
	page = html()
	for step, want := range map[string][3]string{"intro": {"2", "0", "1"}, "mm_intro": {"1", "0", "0"}, "mm_viettel_pin": {"1", "0", "0"}, "mm_vnpt": {"0", "0", "0"}} {
		if got := funnelRow(t, page, "ewallet", step); got != want {
			t.Errorf("the e-wallet funnel's %s: reached, stalled, help = %v, want %v", step, got, want)
		}
	}
	if !strings.Contains(page, "Chưa ai nhận") {
		t.Error("the hamlet's page does not list the open help request")
	}
	shoot("hamlet-funnel-1280x800", 1280, 800)
	shoot("hamlet-funnel-360x740", 360, 740)

	// The CSV, downloaded from the page, is the file /export sends in the
	// chat for the same months.
	months := regexp.MustCompile(`href="[^"]*export\.csv\?from=(\d{4}-\d{2})&amp;to=(\d{4}-\d{2})"`).FindStringSubmatch(page)
	if months == nil {
		t.Fatal("the hamlet's page has no CSV download")
	}
	before := len(tt.fake.Messages(tt.chat))
	tt.fake.PushText(tt.chat, "/export "+months[1]+" "+months[2])
	var exported []byte
	tt.waitFor(func() bool {
		for _, m := range tt.fake.Messages(tt.chat)[before:] {
			if m.Document != "" {
				exported, _ = tt.fake.File(m.FileID)
				return exported != nil
			}
		}
		return false
	}, "the /export file")
	downloads := t.TempDir()
	ctx, cancel = context.WithTimeout(browser, 60*time.Second)
	_, err = chromedp.Call(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
		Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads})
	cancel()
	if err != nil {
		t.Fatalf("allow downloads: %v", err)
	}
	step("download the CSV", chromedp.Click(`a[href*="export.csv"]`))
	var downloaded []byte
	for deadline := time.Now().Add(30 * time.Second); downloaded == nil; time.Sleep(100 * time.Millisecond) {
		files, _ := filepath.Glob(filepath.Join(downloads, "*.csv"))
		if len(files) == 1 {
			downloaded, _ = os.ReadFile(files[0])
		}
		if time.Now().After(deadline) {
			t.Fatalf("no CSV downloaded into %s", downloads)
		}
	}
	if !bytes.Equal(downloaded, exported) {
		t.Errorf("the downloaded CSV is not /export's file:\n%s\n---\n%s", downloaded, exported)
	}

	// The chat says a session was opened, once.
	tt.expect(n, "vừa được mở trên web lúc")
	told := 0
	for _, m := range tt.fake.Messages(tt.chat)[n:] {
		if strings.Contains(m.Text, "vừa được mở trên web lúc") {
			told++
		}
	}
	if told != 1 {
		t.Errorf("the chat has %d notices of the session, want 1", told)
	}

	// The spent link, opened again in the same browser (either address):
	// refused.
	for name, u := range map[string]string{"step 1": link, "step 2": link + "/go"} {
		ctx, cancel = context.WithTimeout(browser, 60*time.Second)
		resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(u))
		cancel()
		if err != nil || resp.Status != http.StatusGone {
			t.Errorf("the spent link's %s: %v, %v; want 410", name, statusOf(resp), err)
		}
	}

	// Logging out (a POST with the page's CSRF token): the overview is
	// refused afterwards.
	step("log out", chromedp.Navigate(base), chromedp.WaitVisible("form.range"),
		chromedp.Click(`form[action*="logout"] button`))
	for deadline := time.Now().Add(60 * time.Second); ; {
		ctx, cancel := context.WithTimeout(browser, 10*time.Second)
		at, err := chromedp.Run(ctx, chromedp.Location())
		cancel()
		if err == nil && strings.Contains(at, "/logout") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("logging out went nowhere: at %q, %v", at, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if page := html(); !strings.Contains(page, "Bác đã đăng xuất") {
		t.Errorf("the page after logging out does not say so:\n%s", page)
	}
	ctx, cancel = context.WithTimeout(browser, 60*time.Second)
	resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(base))
	cancel()
	if err != nil || resp.Status != http.StatusUnauthorized {
		t.Errorf("the overview after logging out: %v, %v; want 401", statusOf(resp), err)
	}

	// A forged session cookie: refused.
	ctx, cancel = context.WithTimeout(browser, 60*time.Second)
	_, err = chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: "hx_s", Value: strings.Repeat("A", 43), URL: base})
	if err == nil {
		resp, err = chromedp.Run(ctx, chromedp.NavigateResponse(base))
	}
	cancel()
	if err != nil || resp.Status != http.StatusUnauthorized {
		t.Errorf("a forged cookie: %v, %v; want 401", statusOf(resp), err)
	}

	// A team member of another hamlet, signed in with their own link,
	// sees their hamlet and is refused TDP 1's page and its charts.
	if err := tt.store().PutMember(t.Context(), flows.Member{ID: fmt.Sprintf("tg:%d", coordinator+2), Role: flows.RoleTeam, Areas: []string{"vo-nhai-chua-xep"}}); err != nil {
		t.Fatal(err)
	}
	tt.chat = coordinator + 2
	msg = tt.say("/dashboard", "/bang/login/")
	tt.chat = coordinator
	other := regexp.MustCompile(regexp.QuoteMeta(base) + `login/[A-Za-z0-9_-]{43}`).FindString(msg.Text)
	step("another hamlet's member logs in", chromedp.Navigate(other), chromedp.WaitVisible("form.login button"),
		chromedp.Click("form.login button[type=submit]"), chromedp.WaitVisible("form.range"))
	for _, path := range []string{"h/" + tdp1, "h/" + tdp1 + "/chart/ewallet/funnel.png", "c/vo-nhai/f/ewallet"} {
		ctx, cancel = context.WithTimeout(browser, 60*time.Second)
		resp, err = chromedp.Run(ctx, chromedp.NavigateResponse(base+path))
		cancel()
		if err != nil || resp.Status != http.StatusForbidden {
			t.Errorf("%s for a member of another hamlet: %v, %v; want 403", path, statusOf(resp), err)
		}
	}
	t.Logf("screenshots in %s", shots)
}

// funnelRow returns the reached, stalled and help cells of step's row in
// guide flow's section of a funnel page.
func funnelRow(t *testing.T, page, flow, step string) [3]string {
	t.Helper()
	i := strings.Index(page, `data-flow="`+flow+`"`)
	if i < 0 {
		t.Fatalf("no section of %s", flow)
	}
	sec := page[i:]
	if j := strings.Index(sec, "</section>"); j >= 0 {
		sec = sec[:j]
	}
	m := regexp.MustCompile(`(?s)<tr data-step="` + regexp.QuoteMeta(step) + `"[^>]*>.*?<td class="reached">(.*?)</td><td class="stalled">(.*?)</td><td class="help">(.*?)</td>`).FindStringSubmatch(sec)
	if m == nil {
		t.Fatalf("no row of step %q in %s", step, flow)
	}
	return [3]string{m[1], m[2], m[3]}
}

func statusOf(r *network.Response) string {
	if r == nil {
		return "no response"
	}
	return strconv.FormatInt(r.Status, 10)
}
