package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hangxomso/hangxom/bot/telegram/telegramtest"
)

// TestRedisOnlyCommandsRefuseTheEmbeddedStore: a command whose work only a
// Redis keeps (counts, invites, imported areas and targets) refuses, in one
// line naming REDIS_URL, when no Redis is set, instead of printing a code
// that vanishes or counts that read zero. STORE=memory runs it anyway, and
// chat keeps the embedded store by default.
func TestRedisOnlyCommandsRefuseTheEmbeddedStore(t *testing.T) {
	dir := t.TempDir()
	areasCSV := filepath.Join(dir, "areas.csv")
	targetsCSV := filepath.Join(dir, "targets.csv")
	if err := os.WriteFile(areasCSV, []byte("commune,hamlet,households,population\nvo-nhai,Xóm Mới,10,40\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(targetsCSV, []byte("flow,area_id,unit,pct,source\newallet,vo-nhai,population,50,plan\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"stats", []string{"stats"}},
		{"invite", []string{"invite", "--area", tdp1, "--role", "team"}},
		{"apikey create", []string{"apikey", "create", "--area", tdp1}},
		{"apikey list", []string{"apikey", "list"}},
		{"areas import", []string{"areas", "import", areasCSV}},
		{"areas list", []string{"areas", "list"}},
		{"targets import", []string{"targets", "import", targetsCSV}},
		{"targets list", []string{"targets", "list"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			err := run(t.Context(), tc.args, env(), strings.NewReader(""), &out, &errb)
			code := exitCode(err, &errb)
			lines := strings.Split(strings.TrimSpace(errb.String()), "\n")
			if code != 2 || len(lines) != 1 || !strings.Contains(lines[0], "REDIS_URL") || !strings.Contains(lines[0], "STORE=memory") {
				t.Errorf("exit %d, stderr:\n%s\nwant exit 2 and one line naming REDIS_URL and STORE=memory", code, errb.String())
			}
			if out.Len() > 0 {
				t.Errorf("printed %q", out.String())
			}
			out.Reset()
			errb.Reset()
			err = run(t.Context(), tc.args, env("STORE", "memory"), strings.NewReader(""), &out, &errb)
			if code := exitCode(err, &errb); code != 0 {
				t.Errorf("STORE=memory: exit %d: %s", code, errb.String())
			}
		})
	}
	t.Run("chat keeps the embedded store", func(t *testing.T) {
		var out, errb bytes.Buffer
		err := run(t.Context(), []string{"chat"}, env(), strings.NewReader("/start\n"), &out, &errb)
		if code := exitCode(err, &errb); code != 0 || out.Len() == 0 {
			t.Errorf("exit %d: %s", code, errb.String())
		}
	})
}

// TestInviteSecretaryIsShownAndExpiryHasAZone: `hangxom help` names
// --secretary; the invite says the role is a party-cell secretary's (text
// and JSON), and its expiry names the time zone.
func TestInviteSecretaryIsShownAndExpiryHasAZone(t *testing.T) {
	var help bytes.Buffer
	if err := run(t.Context(), []string{"help"}, env(), nil, &help, &help); err != nil || !strings.Contains(help.String(), "--secretary") {
		t.Errorf("hangxom help does not name --secretary (%v):\n%s", err, help.String())
	}
	p := newProgram(t)
	out, errs, err := p.run("", "invite", "--area", tdp1, "--role", "team", "--secretary", "--ttl", "3d")
	if err != nil {
		t.Fatalf("invite: %v\n%s", err, errs)
	}
	// fixedNow + 3 days is 2026-11-23 09:30 UTC: 16:30 in Hanoi.
	for _, want := range []string{"party-cell secretary", "until 2026-11-23 16:30 +07 (Asia/Ho_Chi_Minh)"} {
		if !strings.Contains(out, want) {
			t.Errorf("invite output does not say %q:\n%s", want, out)
		}
	}
	out, errs, err = p.run("", "invite", "--area", tdp1, "--role", "team", "--secretary", "--format", "json")
	if err != nil {
		t.Fatalf("invite json: %v\n%s", err, errs)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if got["secretary"] != true {
		t.Errorf("json secretary = %v, want true: %s", got["secretary"], out)
	}
}

// TestContentCheckNamesTheMissingDirectory: a --content or --locales
// directory that does not exist is named as such (exit 2), not reported as
// missing files under content/.
func TestContentCheckNamesTheMissingDirectory(t *testing.T) {
	for _, flag := range []string{"--content", "--locales"} {
		var out, errb bytes.Buffer
		err := run(t.Context(), []string{"content", "check", flag, "/nonexistent/dir"}, env(), nil, &out, &errb)
		code := exitCode(err, &errb)
		if code != 2 || !strings.Contains(errb.String(), flag+" /nonexistent/dir") || strings.Contains(out.String()+errb.String(), "content/areas.yaml") {
			t.Errorf("%s: exit %d\nstdout:\n%s\nstderr:\n%s", flag, code, out.String(), errb.String())
		}
	}
	// Problems in a directory on disk are reported under that directory.
	dir := t.TempDir()
	var out, errb bytes.Buffer
	err := run(t.Context(), []string{"content", "check", "--content", dir}, env(), nil, &out, &errb)
	if code := exitCode(err, &errb); code != 1 || !strings.Contains(out.String(), filepath.Join(dir, "areas.yaml")) {
		t.Errorf("empty content dir: exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
}

// TestSubcommandHelpShowsItsOwnFlagsFirst: `hangxom invite --help` lists
// invite's flags, then only points at the shared settings.
func TestSubcommandHelpShowsItsOwnFlagsFirst(t *testing.T) {
	var out, errb bytes.Buffer
	err := run(t.Context(), []string{"invite", "--help"}, env(), nil, &out, &errb)
	if code := exitCode(err, &errb); code != 0 {
		t.Fatalf("exit %d", code)
	}
	help := errb.String()
	own := strings.Index(help, "-secretary")
	shared := strings.Index(help, "redis-url")
	if own < 0 || shared < 0 || own > shared {
		t.Errorf("invite's own flags do not come before the settings:\n%s", help)
	}
	if n := strings.Count(help, "\n"); n > 25 {
		t.Errorf("invite --help is %d lines:\n%s", n, help)
	}
	if strings.Contains(help, "webhook") || strings.Contains(help, "pprof") {
		t.Errorf("invite --help describes serve's settings:\n%s", help)
	}
}

// TestPosterAsksTelegramForTheUsername: without --bot or
// TELEGRAM_BOT_USERNAME, a configured token gives the username (getMe).
func TestPosterAsksTelegramForTheUsername(t *testing.T) {
	fake := telegramtest.NewServer(t, "")
	out := filepath.Join(t.TempDir(), "p.png")
	var stdout, errb bytes.Buffer
	err := runWith(t.Context(), []string{"poster", "--hamlet", tdp1, "--out", out},
		env("TELEGRAM_BOT_TOKEN", fake.Token, "TELEGRAM_API_URL", fake.URL), nil, &stdout, &errb,
		appOptions{httpClient: telegramtest.LoopbackClient(0)})
	if code := exitCode(err, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if want := "https://t.me/" + fake.BotUsername() + "?start=h_" + tdp1; !strings.Contains(stdout.String(), want) {
		t.Errorf("poster output does not give %s:\n%s", want, stdout.String())
	}
}
