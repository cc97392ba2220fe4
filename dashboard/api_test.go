package dashboard_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hangxomso/hangxom/dashboard"
	"github.com/hangxomso/hangxom/flows"
)

// apiKey makes a key for area in the world's store, as `hangxom apikey
// create` does.
func (w *world) apiKey(area string) (key, id string) {
	w.t.Helper()
	key, h, err := dashboard.NewAPIKey(nil)
	if err != nil {
		w.t.Fatal(err)
	}
	k, err := w.st.CreateAPIKey(w.t.Context(), h, area, "test", w.now)
	if err != nil {
		w.t.Fatal(err)
	}
	return key, k.ID
}

// api GETs path (relative to base) with the key, if any, as a bearer.
func (w *world) api(key, path string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	w.t.Helper()
	r := httptest.NewRequest("GET", base+path, nil)
	if key != "" {
		r.Header.Set("Authorization", "Bearer "+key)
	}
	for _, c := range cookies {
		r.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	w.h.ServeHTTP(rec, r)
	if ct := rec.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
		w.t.Errorf("GET %s: Content-Type %q", path, ct)
	}
	if sc := rec.Header().Get("Set-Cookie"); sc != "" {
		w.t.Errorf("GET %s set a cookie: %s", path, sc)
	}
	return rec
}

// tap presses the button labelled label among the replies rs, as who.
func (w *world) tap(who string, rs []flows.Reply, label string) []flows.Reply {
	w.t.Helper()
	for _, r := range rs {
		for _, b := range r.Buttons {
			if b.Label == label {
				return w.send(who, flows.Input{Kind: flows.InputChoice, Data: b.Data})
			}
		}
	}
	w.t.Fatalf("%s: no button %s in %+v", who, label, rs)
	return nil
}

// statsDoc is /api/v1/stats as a reader decodes it: counts may be null.
type statsDoc struct {
	Area        struct{ ID, Name, Level string }
	From, To    string
	GeneratedAt string `json:"generated_at"`
	Rows        []struct {
		HamletID      string `json:"hamlet_id"`
		Flow          string
		Started       *int64
		Completed     *int64
		CompletedSelf *int64 `json:"completed_self"`
		CompletedTeam *int64 `json:"completed_team"`
		Stalled       *int64
		HelpRequests  *int64 `json:"help_requests"`
		SharePct      *float64
		Masked        bool
		From, To      string
	}
}

type funnelDoc struct {
	Hamlet      struct{ ID, Name string }
	Flow        string
	From, To    string
	GeneratedAt string `json:"generated_at"`
	Steps       []struct {
		Step         string
		Reached      *int64
		Stalled      *int64
		HelpRequests *int64 `json:"help_requests"`
		Masked       bool
	}
	RetiredSteps       []json.RawMessage `json:"retired_steps"`
	StalledStepUnknown *int64            `json:"stalled_step_unknown"`
	Masked             bool
}

func decode[T any](t *testing.T, rec *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if rec.Code != http.StatusOK {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		t.Fatalf("%v: %s", err, rec.Body)
	}
	return v
}

func n(p *int64) string {
	if p == nil {
		return "null"
	}
	return strconv.FormatInt(*p, 10)
}

// syncWriter is a log's buffer safe for the handler's writes.
type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// drive makes three residents of Xóm 1 start demo: one goes on past "why"
// (an information step) to "install", one asks for help at "phone"; then three days pass, so all three are
// stalled where they stopped. Three more start the private flow "other".
func (w *world) drive() {
	w.t.Helper()
	for i := range 3 {
		w.begin("tg:"+strconv.Itoa(30+i), "a-1", "demo")
	}
	rs := w.send("tg:30", flows.Input{Kind: flows.InputText, Text: "x"}) // no answer: the phone screen again
	w.tap("tg:30", rs, "demo.btn.android")
	w.send("tg:31", flows.Input{Kind: flows.InputText, Text: "giúp tôi"})
	for i := range 3 {
		w.begin("tg:"+strconv.Itoa(40+i), "a-1", "other")
	}
	w.now = w.now.Add(73 * time.Hour)
}

func TestAPIAnswersTheCountsTheResidentsMade(t *testing.T) {
	w := newWorld(t, base)
	log := &syncWriter{}
	w.srv.Logger = slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	w.drive()
	key, id := w.apiKey("a-1")

	st := decode[statsDoc](t, w.api(key, "api/v1/stats"))
	if st.Area.ID != "a-1" || st.Area.Name != "Xóm 1" || st.Area.Level != "hamlet" || st.From != "2026-10" || st.To != "2026-11" ||
		st.GeneratedAt != w.now.Format(time.RFC3339) {
		t.Errorf("stats head: %+v %s %s %s", st.Area, st.From, st.To, st.GeneratedAt)
	}
	got := map[string]string{}
	for _, r := range st.Rows {
		if r.HamletID != "a-1" {
			t.Errorf("a hamlet key of a-1 sees %s", r.HamletID)
		}
		got[r.Flow] = strings.Join([]string{n(r.Started), n(r.Completed), n(r.CompletedSelf), n(r.CompletedTeam),
			n(r.Stalled), n(r.HelpRequests), strconv.FormatBool(r.Masked)}, " ")
	}
	// demo: 3 started, none completed, 3 stalled, 1 help; other (private):
	// 3 started and 3 stalled hidden, the zeros shown.
	for flow, want := range map[string]string{"demo": "3 0 0 0 3 1 false", "other": "null 0 0 0 null 0 true", "loop": "0 0 0 0 0 0 false"} {
		if got[flow] != want {
			t.Errorf("%s: started completed self team stalled help masked = %s, want %s", flow, got[flow], want)
		}
	}

	fu := decode[funnelDoc](t, w.api(key, "api/v1/funnel?hamlet=a-1&flow=demo"))
	var steps []string
	for _, s := range fu.Steps {
		steps = append(steps, s.Step+":"+n(s.Reached)+"/"+n(s.Stalled)+"/"+n(s.HelpRequests))
	}
	want := "phone:3/2/1 why:1/0/0 install:1/1/0 install_help:0/0/0 ask:0/0/0 scan:0/0/0 end:0/0/0"
	if strings.Join(steps, " ") != want {
		t.Errorf("funnel steps (reached/stalled/help):\n %s\nwant\n %s", strings.Join(steps, " "), want)
	}
	if fu.Hamlet.ID != "a-1" || fu.Hamlet.Name != "Xóm 1" || fu.Flow != "demo" || fu.From != "2026-10" || fu.To != "2026-11" ||
		fu.Masked || len(fu.RetiredSteps) != 0 || n(fu.StalledStepUnknown) != "0" {
		t.Errorf("funnel head: %s", w.api(key, "api/v1/funnel?hamlet=a-1&flow=demo").Body)
	}
	// A month with nothing in it.
	fu = decode[funnelDoc](t, w.api(key, "api/v1/funnel?hamlet=a-1&flow=demo&from=2026-10&to=2026-10"))
	if fu.From != "2026-10" || fu.To != "2026-10" || n(fu.Steps[0].Reached) != "0" || n(fu.Steps[0].Stalled) != "2" {
		t.Errorf("October's funnel: %+v", fu)
	}

	logs := log.String()
	if strings.Contains(logs, key) || strings.Contains(logs, strings.TrimPrefix(key, dashboard.APIKeyPrefix)) {
		t.Errorf("the key is in the logs:\n%s", logs)
	}
	if !strings.Contains(logs, "key="+id) {
		t.Errorf("the logs do not name the key's id %s:\n%s", id, logs)
	}
}

func TestAPIMasksAPrivateFlowForEveryKeyEvenTheProvinces(t *testing.T) {
	w := newWorld(t, base)
	w.drive()
	key, _ := w.apiKey("prov")
	st := decode[statsDoc](t, w.api(key, "api/v1/stats?from=2026-11&to=2026-11"))
	hamlets := map[string]bool{}
	for _, r := range st.Rows {
		hamlets[r.HamletID] = true
		if r.HamletID != "a-1" || r.Flow != "other" {
			continue
		}
		if r.Started != nil || r.Stalled != nil || !r.Masked {
			t.Errorf("the province's key sees other in a-1: started %s stalled %s masked %v", n(r.Started), n(r.Stalled), r.Masked)
		}
		// Always the whole default range: November alone subtracted from
		// it would give October's hidden counts away.
		if r.From != "2026-10" || r.To != "2026-11" {
			t.Errorf("other's row counts %s to %s, want the default 2026-10 to 2026-11", r.From, r.To)
		}
	}
	if !hamlets["a-1"] || !hamlets["b-1"] {
		t.Errorf("the province's key does not see both communes' hamlets: %v", hamlets)
	}
	if st.Area.Level != "province" || st.From != "2026-11" {
		t.Errorf("head: %+v from %s", st.Area, st.From)
	}
	fu := decode[funnelDoc](t, w.api(key, "api/v1/funnel?hamlet=a-1&flow=other&from=2026-11&to=2026-11"))
	if len(fu.Steps) != 2 || fu.Steps[0].Step != "one" || fu.Steps[0].Reached != nil || !fu.Steps[0].Masked || !fu.Masked ||
		n(fu.Steps[1].Reached) != "0" || fu.Steps[1].Masked {
		t.Errorf("other's funnel for the province's key: %s", w.api(key, "api/v1/funnel?hamlet=a-1&flow=other").Body)
	}
	if fu.From != "2026-10" || fu.To != "2026-11" {
		t.Errorf("other's funnel counts %s to %s, want the default range", fu.From, fu.To)
	}
	// Five reached would be shown, but the three stalled are hidden, and
	// reached bounds the stalled (reached 5 at "one" and 0 at "fin": the
	// stalled are at most 5): with a stalled cell hidden, reached is too.
	for i := range 2 {
		w.begin("tg:"+strconv.Itoa(50+i), "a-1", "other")
	}
	fu = decode[funnelDoc](t, w.api(key, "api/v1/funnel?hamlet=a-1&flow=other"))
	if n(fu.Steps[0].Reached) != "null" || n(fu.Steps[0].Stalled) != "null" { // the first three, stalled
		t.Errorf("5 reached, 3 stalled: %s", w.api(key, "api/v1/funnel?hamlet=a-1&flow=other").Body)
	}
}

func TestAPIKeySeesOnlyItsArea(t *testing.T) {
	w := newWorld(t, base)
	commune, _ := w.apiKey("xa-a")
	st := decode[statsDoc](t, w.api(commune, "api/v1/stats"))
	seen := map[string]bool{}
	for _, r := range st.Rows {
		seen[r.HamletID] = true
	}
	if !seen["a-1"] || !seen["a-2"] || seen["b-1"] {
		t.Errorf("the commune key of xa-a sees %v", seen)
	}
	hamlet, _ := w.apiKey("a-1")
	for _, tt := range []struct {
		key, path string
		code      int
	}{
		{hamlet, "api/v1/funnel?hamlet=a-2&flow=demo", http.StatusForbidden},
		{commune, "api/v1/funnel?hamlet=b-1&flow=demo", http.StatusForbidden},
		{commune, "api/v1/funnel?hamlet=a-2&flow=demo", http.StatusOK},
		{hamlet, "api/v1/funnel?hamlet=a-1&flow=nope", http.StatusNotFound},
		{hamlet, "api/v1/funnel?hamlet=nowhere&flow=demo", http.StatusNotFound},
		{hamlet, "api/v1/funnel?hamlet=xa-a&flow=demo", http.StatusNotFound},
		{hamlet, "api/v1/funnel?flow=demo", http.StatusBadRequest},
		{hamlet, "api/v1/stats?from=2026-13", http.StatusBadRequest},
		{hamlet, "api/v1/stats?to=bad", http.StatusBadRequest},
		{hamlet, "api/v1/stats?from=2026-11&to=2026-10", http.StatusBadRequest},
		{hamlet, "api/v1/funnel?hamlet=a-1&flow=demo&from=26-01", http.StatusBadRequest},
		{hamlet, "api/v1/stats?from=2020-01&to=2026-11", http.StatusOK},
	} {
		rec := w.api(tt.key, tt.path)
		if rec.Code != tt.code {
			t.Errorf("%s: %d, want %d: %s", tt.path, rec.Code, tt.code, rec.Body)
		}
		var e map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || (tt.code != http.StatusOK && e["error"] == nil) {
			t.Errorf("%s: body %s", tt.path, rec.Body)
		}
	}
	// A range before the counts begin is cut to them.
	if st := decode[statsDoc](t, w.api(hamlet, "api/v1/stats?from=2020-01&to=2026-11")); st.From != "2026-10" {
		t.Errorf("from 2020-01: counted from %s, want 2026-10", st.From)
	}
}

func TestAPIOpensOnlyToALiveKey(t *testing.T) {
	w := newWorld(t, base)
	key, id := w.apiKey("xa-a")
	if rec := w.api(key, "api/v1/stats"); rec.Code != http.StatusOK {
		t.Fatalf("the key: %d %s", rec.Code, rec.Body)
	}
	session := w.login(w.link("tg:2")) // the commune's coordinator, logged in
	revoked, rid := w.apiKey("xa-a")
	if ok, err := w.st.RevokeAPIKey(t.Context(), rid); err != nil || !ok {
		t.Fatal(ok, err)
	}
	for name, rec := range map[string]*httptest.ResponseRecorder{
		"no key":               w.api("", "api/v1/stats"),
		"a dashboard session":  w.api("", "api/v1/funnel?hamlet=a-1&flow=demo", session),
		"another scheme":       func() *httptest.ResponseRecorder { return w.apiAuth("Basic "+key, "api/v1/stats") }(),
		"a made-up key":        w.api("hxk_"+strings.Repeat("A", 43), "api/v1/stats"),
		"a malformed key":      w.api("hxk_short", "api/v1/stats"),
		"the key without hxk_": w.api(strings.TrimPrefix(key, dashboard.APIKeyPrefix), "api/v1/stats"),
		"a revoked key":        w.api(revoked, "api/v1/stats"),
	} {
		var e map[string]string
		_ = json.Unmarshal(rec.Body.Bytes(), &e)
		if rec.Code != http.StatusUnauthorized || !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") || e["error"] == "" {
			t.Errorf("%s: %d, WWW-Authenticate %q, body %s; want 401 with Bearer and an error", name, rec.Code,
				rec.Header().Get("WWW-Authenticate"), rec.Body)
		}
	}
	if ok, err := w.st.RevokeAPIKey(t.Context(), id); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if rec := w.api(key, "api/v1/stats"); rec.Code != http.StatusUnauthorized {
		t.Errorf("after revoking it: %d, want 401", rec.Code)
	}
}

// apiAuth GETs path with the Authorization header auth.
func (w *world) apiAuth(auth, path string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("GET", base+path, nil)
	r.Header.Set("Authorization", auth)
	rec := httptest.NewRecorder()
	w.h.ServeHTTP(rec, r)
	return rec
}

func TestAPIKeyIsLimitedTo5ASecondWithBurstsOf20(t *testing.T) {
	w := newWorld(t, base)
	key, _ := w.apiKey("a-1")
	other, _ := w.apiKey("a-1")
	for i := range 20 {
		if rec := w.api(key, "api/v1/funnel?hamlet=a-1&flow=demo"); rec.Code != http.StatusOK {
			t.Fatalf("request %d: %d", i+1, rec.Code)
		}
	}
	rec := w.api(key, "api/v1/stats")
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "1" {
		t.Fatalf("the 21st: %d, Retry-After %q; want 429 and 1", rec.Code, rec.Header().Get("Retry-After"))
	}
	if rec := w.api(other, "api/v1/stats"); rec.Code != http.StatusOK {
		t.Errorf("another key: %d", rec.Code)
	}
	w.now = w.now.Add(time.Second)
	if rec := w.api(key, "api/v1/stats"); rec.Code != http.StatusOK {
		t.Errorf("a second later: %d", rec.Code)
	}
}

func TestAPIAnswersHaveTheSecurityHeaders(t *testing.T) {
	w := newWorld(t, base)
	key, _ := w.apiKey("a-1")
	for _, rec := range []*httptest.ResponseRecorder{w.api(key, "api/v1/stats"), w.api("", "api/v1/stats")} {
		h := rec.Header()
		if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Cache-Control") != "no-store" || h.Get("Content-Security-Policy") == "" {
			t.Errorf("%d: headers %v", rec.Code, h)
		}
	}
}

// The range: the overview's default and limits; the answer says what it
// counted; a range with no month counted is refused.
func TestAPIMonthRange(t *testing.T) {
	w := newWorld(t, base)
	w.desk.Stats.Since = "2023-01"
	key, _ := w.apiKey("a-1")
	for q, want := range map[string]string{
		"":                          "2026-01 2026-11",
		"?to=2025-06":               "2025-01 2025-06",
		"?from=2026-03":             "2026-03 2026-11",
		"?from=2020-01&to=2023-05":  "2023-01 2023-05",
		"?from=2023-01&to=2026-11":  "2024-12 2026-11", // 47 months cut to the last 24
		"?from=2023-01&to=2024-12":  "2023-01 2024-12",
		"?from=2026-10&to=2030-01":  "2026-10 2026-11",
		"?from=2030-01":             "400",
		"?to=2022-12":               "400",
		"?from=2026-1&to=2026-11":   "400",
		"?from=2026-11&to=2026-10":  "400",
		"?from=2026-10&to=2026-10x": "400",
	} {
		rec := w.api(key, "api/v1/stats"+q)
		got := strconv.Itoa(rec.Code)
		if rec.Code == http.StatusOK {
			st := decode[statsDoc](t, rec)
			got = st.From + " " + st.To
		}
		if got != want {
			t.Errorf("%q: %s, want %s (%s)", q, got, want, rec.Body)
		}
	}
}

// A private guide's stats rows and funnel cover the same months, /stats'
// whole period, even when it starts in an earlier year: the funnel's
// reached subtracted from the row's started gave the earlier months'
// small count away (the review's finding).
func TestAPIPrivateStatsAndFunnelCoverTheSamePeriod(t *testing.T) {
	w := newWorld(t, base)
	w.desk.Stats.Since = "2025-06"
	t0 := w.now
	w.now = time.Date(2025, 9, 1, 9, 0, 0, 0, time.UTC)
	for i := range 2 {
		w.begin("tg:"+strconv.Itoa(30+i), "a-1", "other")
	}
	w.now = t0
	for i := range 5 {
		w.begin("tg:"+strconv.Itoa(40+i), "a-1", "other")
	}
	key, _ := w.apiKey("a-1")
	st := decode[statsDoc](t, w.api(key, "api/v1/stats"))
	fu := decode[funnelDoc](t, w.api(key, "api/v1/funnel?hamlet=a-1&flow=other"))
	found := false
	for _, r := range st.Rows {
		found = found || r.Flow == "other"
		if r.Flow == "other" && (r.From != fu.From || r.To != fu.To || r.From != "2025-06") {
			t.Errorf("other's row counts %s–%s, its funnel %s–%s; want both 2025-06 to now", r.From, r.To, fu.From, fu.To)
		}
	}
	if !found {
		t.Error("no row of the private guide")
	}
}
