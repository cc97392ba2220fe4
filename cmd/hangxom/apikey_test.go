package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

var apiKeyLine = regexp.MustCompile(`^hxk_[A-Za-z0-9_-]{43}$`)

// `hangxom apikey create` prints the key alone on its last line; the
// running server's feed takes it; list shows it without the key; revoke
// makes the feed refuse it.
func TestAPIKeyCommandsCreateListAndRevokeAKeyTheFeedTakes(t *testing.T) {
	tt := startServe(t, false, nil, nil, "", "DASHBOARD_URL", "http://127.0.0.1/bang")
	tt.walkEwallet()
	apikey := func(args ...string) (string, string, int) {
		t.Helper()
		var out, errb bytes.Buffer
		err := runWith(t.Context(), append([]string{"apikey"}, args...), env("DATA_KEY", "test-data-key-0123456789"),
			strings.NewReader(""), &out, &errb, appOptions{client: tt.client, prefix: tt.prefix})
		code := exitCode(err, &errb) // writes the error to errb
		return out.String(), errb.String(), code
	}
	get := func(key, path string) (int, string) {
		t.Helper()
		req, err := http.NewRequest("GET", "http://"+tt.addr+"/bang/api/v1/"+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		return resp.StatusCode, b.String()
	}

	out, errs, code := apikey("create", "--area", tdp1, "--name", "Sở TT&TT")
	if code != 0 {
		t.Fatalf("create: exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	key := lines[len(lines)-1]
	if !apiKeyLine.MatchString(key) {
		t.Fatalf("the last line is not the key alone:\n%s", out)
	}
	m := regexp.MustCompile(`(?m)^id: ([0-9a-f]{12})$`).FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "Sở TT&TT") || !strings.Contains(out, tdp1) {
		t.Fatalf("create printed:\n%s", out)
	}
	id := m[1]

	code, body := get(key, "stats")
	var st struct {
		Area struct{ ID string }
		Rows []struct {
			HamletID  string `json:"hamlet_id"`
			Flow      string
			Completed *int64
		}
	}
	if err := json.Unmarshal([]byte(body), &st); code != http.StatusOK || err != nil || st.Area.ID != tdp1 {
		t.Fatalf("the feed with the new key: %d %v %s", code, err, body)
	}
	// The same figure as `hangxom stats` (the ewallet walk completed once).
	completed := int64(-1)
	for _, r := range st.Rows {
		if r.HamletID != tdp1 {
			t.Errorf("a key of %s sees %s", tdp1, r.HamletID)
		}
		if r.Flow == "ewallet" && r.Completed != nil {
			completed = *r.Completed
		}
	}
	if completed != 1 {
		t.Errorf("ewallet completed = %d in the feed, want 1", completed)
	}

	for _, format := range []string{"table", "json"} {
		out, errs, code := apikey("list", "--format", format)
		if code != 0 || !strings.Contains(out, id) || !strings.Contains(out, tdp1) || strings.Contains(out, key) ||
			strings.Contains(out, strings.TrimPrefix(key, "hxk_")) {
			t.Errorf("list --format %s: exit %d %s\n%s", format, code, errs, out)
		}
	}

	if out, errs, code := apikey("revoke", id); code != 0 || !strings.Contains(out, id) {
		t.Fatalf("revoke: exit %d %s %s", code, out, errs)
	}
	if code, body := get(key, "stats"); code != http.StatusUnauthorized {
		t.Errorf("the feed after revoke: %d %s, want 401", code, body)
	}
	if _, errs, code := apikey("revoke", id); code != 1 || !strings.Contains(errs, id) {
		t.Errorf("revoking it again: exit %d %s, want 1 naming the id", code, errs)
	}
	if out, _, _ := apikey("list"); strings.Contains(out, id) {
		t.Errorf("list after revoke still shows %s:\n%s", id, out)
	}
	if strings.Contains(tt.log.String(), strings.TrimPrefix(key, "hxk_")) {
		t.Errorf("the key is in serve's log")
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"create", "--area", "nowhere"}, "--area"},
		{[]string{"create"}, "--area"},
		{[]string{"revoke"}, "id"},
		{[]string{"rotate"}, "create, list or revoke"},
	} {
		if _, errs, code := apikey(tc.args...); code != 2 || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d: %s", tc.args, code, errs)
		}
	}
}
