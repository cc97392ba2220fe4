package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/google/go-cmp/cmp"
	"github.com/redis/go-redis/v9"

	"github.com/hangxomso/hangxom/content"
	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/locales"
)

var update = flag.Bool("update", false, "rewrite the golden transcripts")

// fixedNow is the clock of every end-to-end test.
var fixedNow = time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

// program runs the whole program as main would, on a shared in-process
// Redis, with a fixed clock.
type program struct {
	t      *testing.T
	mini   *miniredis.Miniredis
	client redis.UniversalClient
	clock  flows.Clock
}

func newProgram(t *testing.T) *program {
	t.Helper()
	m := miniredis.RunT(t)
	c := redis.NewClient(&redis.Options{Addr: m.Addr()})
	t.Cleanup(func() { _ = c.Close() })
	return &program{t: t, mini: m, client: c, clock: flows.ClockFunc(func() time.Time { return fixedNow })}
}

func (p *program) run(stdin string, args ...string) (stdout, stderr string, err error) {
	p.t.Helper()
	var out, errb bytes.Buffer
	err = runWith(p.t.Context(), args, env(), strings.NewReader(stdin), &out, &errb,
		appOptions{clock: p.clock, client: p.client, prefix: "test"})
	return out.String(), errb.String(), err
}

func inputsOf(transcript string) string {
	var in []string
	for _, l := range strings.Split(transcript, "\n") {
		if s, ok := strings.CutPrefix(l, "> "); ok {
			in = append(in, s)
		}
	}
	return strings.Join(in, "\n") + "\n"
}

// TestTranscripts replays each golden conversation through the console
// channel, the engine, the real content and words, and the store, and
// compares the whole exchange. `go test ./cmd/hangxom -run Transcripts
// -update` rewrites them; review the diff like code.
func TestTranscripts(t *testing.T) {
	files, err := filepath.Glob("testdata/transcripts/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no transcripts: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			p := newProgram(t)
			got, stderr, err := p.run(inputsOf(string(want)), "chat", "--user", "lan")
			if err != nil {
				t.Fatalf("chat: %v\n%s", err, stderr)
			}
			if *update {
				if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if d := cmp.Diff(string(want), got); d != "" {
				t.Errorf("transcript differs (-want +got); run with -update and review:\n%s", d)
			}
		})
	}
}

type statsJSON struct {
	GeneratedAt string     `json:"generated_at"`
	Rows        []statsRow `json:"rows"`
}

func (p *program) stats(args ...string) statsJSON {
	p.t.Helper()
	out, stderr, err := p.run("", append([]string{"stats", "--format", "json"}, args...)...)
	if err != nil {
		p.t.Fatalf("stats: %v\n%s", err, stderr)
	}
	var s statsJSON
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		p.t.Fatalf("stats output is not JSON: %v\n%s", err, out)
	}
	return s
}

func row(t *testing.T, s statsJSON, hamlet, flow string) statsRow {
	t.Helper()
	for _, r := range s.Rows {
		if r.HamletID == hamlet && r.Flow == flow {
			return r
		}
	}
	t.Fatalf("no row for %s/%s", hamlet, flow)
	return statsRow{}
}

const tdp1 = "vo-nhai-tdp-1-dinh-ca"

func TestCompletionCountedOncePerResident(t *testing.T) {
	p := newProgram(t)
	script, err := os.ReadFile("testdata/transcripts/ewallet_vi_android_chip.txt")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ { // the same resident, the same script, twice
		if _, stderr, err := p.run(inputsOf(string(script)), "chat", "--user", "lan"); err != nil {
			t.Fatalf("chat: %v\n%s", err, stderr)
		}
	}
	if _, stderr, err := p.run(inputsOf(string(script)), "chat", "--user", "binh"); err != nil {
		t.Fatalf("chat: %v\n%s", err, stderr)
	}
	s := p.stats()
	if s.GeneratedAt != fixedNow.Format(time.RFC3339) {
		t.Errorf("generated_at = %q", s.GeneratedAt)
	}
	r := row(t, s, tdp1, "ewallet")
	if r.Completed != 2 || r.CompletedSelf != 2 || r.Started != 2 || r.Stalled != 0 {
		t.Errorf("row = %+v, want 2 residents started and completed", r)
	}
	if r.Households == nil || *r.Households != 170 || r.TargetPct == nil || r.SharePct == nil {
		t.Fatalf("row lacks households/target/share: %+v", r)
	}
	if want := 0.3; *r.SharePct != want { // 2 of 700 people
		t.Errorf("share_pct = %v, want %v", *r.SharePct, want)
	}
	// Zero rows are included: every hamlet has a row for every flow.
	other := row(t, s, "sang-moc-chua-xep", "ewallet")
	if other.Completed != 0 || other.Population != nil || other.SharePct != nil {
		t.Errorf("zero row = %+v", other)
	}
}

func TestResumeAfterRestart(t *testing.T) {
	p := newProgram(t)
	// First run stops mid-flow (as if killed), at the "phone_own" checkpoint.
	if _, _, err := p.run("xin chào\nVõ Nhai\n1\n1\n1\n", "chat", "--user", "lan"); err != nil {
		t.Fatal(err)
	}
	out, _, err := p.run("xong\n", "chat", "--user", "lan")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "Android hay iPhone") {
		t.Errorf("did not continue at the next step:\n%s", out)
	}
	s := p.stats()
	if r := row(t, s, tdp1, "ewallet"); r.Started != 1 || r.Completed != 0 {
		t.Errorf("row = %+v", r)
	}
}

func TestStatsFormats(t *testing.T) {
	p := newProgram(t)
	out, _, err := p.run("", "stats", "--format", "csv")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "\ufeffcommune_id,commune,hamlet_id,hamlet,flow,started,completed,completed_self,completed_team,stalled,help_requests,households,population,share_pct,target_pct\n") {
		t.Errorf("csv header: %q", strings.SplitN(out, "\n", 2)[0])
	}
	lib, _, _, err := content.Load(content.FS, locales.FS)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if want := 1 + 8*len(lib.Flows()); len(lines) != want { // 7 unassigned hamlets + TDP 1, every flow
		t.Errorf("csv has %d lines, want %d:\n%s", len(lines), want, out)
	}
	out, _, err = p.run("", "stats")
	if err != nil || !strings.Contains(out, "Tổ dân phố 1 (Đình Cả)") {
		t.Errorf("table: %v\n%s", err, out)
	}
	var raw map[string]any
	js, _, _ := p.run("", "stats", "--format", "json")
	if err := json.Unmarshal([]byte(js), &raw); err != nil {
		t.Fatal(err)
	}
	first := raw["rows"].([]any)[0].(map[string]any)
	var keys []string
	for k := range first {
		keys = append(keys, k)
	}
	if len(keys) != len(statsColumns) {
		t.Errorf("json row keys %v, want %v", keys, statsColumns)
	}
	if _, ok := first["population"]; !ok || first["share_pct"] != nil {
		t.Errorf("unknown numbers must be null: %v", first)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"two stores", []string{"stats"}, []string{"REDIS_URL", "redis://127.0.0.1:1", "REDIS_CLUSTER_ADDRS", "127.0.0.1:7001"}, "REDIS_URL and REDIS_CLUSTER_ADDRS"},
		{"memory and redis", []string{"stats"}, []string{"STORE", "memory", "REDIS_URL", "redis://x:1"}, "REDIS_URL and STORE=memory"},
		{"bad duration", []string{"chat"}, []string{"WAIT_EXPIRY", "soon"}, "WAIT_EXPIRY"},
		{"bad flag value", []string{"chat", "--session-expiry", "1h"}, nil, "SESSION_EXPIRY"},
		{"retention shorter than a session", []string{"chat", "--retention", "10d"}, nil, "RETENTION"},
		{"bad retention", []string{"chat"}, []string{"RETENTION", "a year"}, "RETENTION"},
		{"retention under two days", []string{"chat", "--wait-expiry", "1h", "--session-expiry", "2h", "--retention", "36h"}, nil, "at least 2 days"},
		{"bad tz", []string{"stats"}, []string{"BOT_TZ", "Mars/Base"}, "BOT_TZ"},
		{"bad store", []string{"stats"}, []string{"STORE", "disk"}, "STORE"},
		{"sentinel without master", []string{"stats"}, []string{"REDIS_SENTINEL_ADDRS", "a:1"}, "REDIS_MASTER_NAME"},
		{"bad url", []string{"stats"}, []string{"REDIS_URL", "http://x"}, "REDIS_URL"},
		{"bad user", []string{"chat", "--user", "a b"}, nil, "--user"},
		{"bad lang", []string{"chat", "--lang", "fr"}, nil, "--lang"},
		{"bad format", []string{"stats", "--format", "xml"}, nil, "--format"},
		{"bad month", []string{"stats", "--from", "2025-13"}, nil, "--from"},
		{"months reversed", []string{"stats", "--from", "2025-05", "--to", "2025-01"}, nil, "--to"},
		{"bad key prefix", []string{"stats"}, []string{"KEY_PREFIX", "a b"}, "KEY_PREFIX"},
		{"short data key", []string{"stats"}, []string{"DATA_KEY", "short"}, "DATA_KEY"},
		{"bad metrics address", []string{"stats"}, []string{"METRICS_LISTEN", "9090"}, "METRICS_LISTEN"},
		{"unknown flag", []string{"chat", "--colour"}, nil, "colour"},
		{"unknown private flow", []string{"stats"}, []string{"STORE", "memory", "PRIVATE_FLOWS", "party-handbook,secret-club"}, "PRIVATE_FLOWS"},
		{"unknown command", []string{"fly"}, nil, "unknown command"},
		{"no command", nil, nil, "no command"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			err := run(t.Context(), tc.args, env(tc.env...), strings.NewReader(""), &out, &errb)
			code := exitCode(err, &errb)
			if code != 2 {
				t.Fatalf("exit %d, want 2; err=%v", code, err)
			}
			lines := strings.Split(strings.TrimSpace(errb.String()), "\n")
			if last := lines[len(lines)-1]; !strings.Contains(last, tc.want) {
				t.Errorf("message %q does not name %q", last, tc.want)
			}
		})
	}
}

func TestFlagWinsOverEnvironment(t *testing.T) {
	p := newProgram(t)
	var out, errb bytes.Buffer
	err := runWith(t.Context(), []string{"stats", "--wait-expiry", "48h"}, env("WAIT_EXPIRY", "nonsense"),
		strings.NewReader(""), &out, &errb, appOptions{clock: p.clock, client: p.client})
	if err != nil {
		t.Fatalf("flag did not override env: %v", err)
	}
}

func TestEmbeddedStoreByDefault(t *testing.T) {
	var out, errb bytes.Buffer
	err := run(t.Context(), []string{"chat"}, env(), strings.NewReader("xin chào\n"), &out, &errb)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errb.String(), "in memory only") {
		t.Errorf("no notice about the embedded store on stderr: %q", errb.String())
	}
	if !strings.Contains(out.String(), "Bác ở xã nào?") || strings.Contains(out.String(), "in memory only") {
		t.Errorf("stdout should hold the conversation only:\n%s", out.String())
	}
}

func TestUnreachableRedis(t *testing.T) {
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	err := run(ctx, []string{"stats"}, env("REDIS_URL", "redis://user:secretpw@127.0.0.1:1/0"), strings.NewReader(""), &out, &errb)
	if code := exitCode(err, &errb); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if strings.Contains(errb.String(), "secretpw") {
		t.Errorf("password printed: %s", errb.String())
	}
}

func TestContentCheckShipped(t *testing.T) {
	var out, errb bytes.Buffer
	err := run(t.Context(), []string{"content", "check"}, env(), nil, &out, &errb)
	if err != nil {
		t.Fatalf("content check: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "ok") {
		t.Errorf("output: %s", out.String())
	}
}

func TestVersionAndHelp(t *testing.T) {
	var out bytes.Buffer
	if err := run(t.Context(), []string{"version"}, env(), nil, &out, &out); err != nil || !strings.HasPrefix(out.String(), "hangxom ") {
		t.Errorf("version: %v %q", err, out.String())
	}
	out.Reset()
	if err := run(t.Context(), []string{"help"}, env(), nil, &out, &out); err != nil || !strings.Contains(out.String(), "REDIS_URL") {
		t.Errorf("help: %v", err)
	}
}

// TestSecretsAreStoredNowhere sends what looks like an OTP and a password
// mid-flow and checks that no Redis key or value holds them afterwards.
func TestSecretsAreStoredNowhere(t *testing.T) {
	p := newProgram(t)
	out, _, err := p.run("/start h_"+tdp1+"\n1\n1\n483920\nmật khẩu là Quy@2024\n4111 1111 1111 1111\n", "chat", "--user", "lan")
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out, "⚠️"); n != 3 {
		t.Errorf("%d warnings, want 3:\n%s", n, out)
	}
	dump := p.mini.Dump()
	if !strings.Contains(dump, tdp1) {
		t.Fatalf("the dump does not even hold the session; the check below would prove nothing:\n%s", dump)
	}
	for _, secret := range []string{"483920", "Quy@2024", "4111"} {
		if strings.Contains(dump, secret) {
			t.Errorf("%q is stored in Redis", secret)
		}
	}
}

// TestContentCheckOnDisk breaks a copy of the shipped content on disk and
// checks that content check names the file and line and exits 1.
func TestContentCheckOnDisk(t *testing.T) {
	dir := t.TempDir()
	if err := os.CopyFS(filepath.Join(dir, "content"), content.FS); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(filepath.Join(dir, "locales"), locales.FS); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "content", "flows", "ewallet.yaml")
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(src), "next: face_rule", "next: no_such_step", 1)
	if err := os.WriteFile(file, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	line := 1 + strings.Count(broken[:strings.Index(broken, "no_such_step")], "\n")
	var out, errb bytes.Buffer
	err = run(t.Context(), []string{"content", "check", "--content", filepath.Join(dir, "content"), "--locales", filepath.Join(dir, "locales")}, env(), nil, &out, &errb)
	if code := exitCode(err, &errb); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	// The file is named where it is on disk, so an editor can open it.
	want := file + ":" + strconv.Itoa(line) + ": "
	if !strings.HasPrefix(out.String(), want) || !strings.Contains(out.String(), `"no_such_step" does not exist`) {
		t.Errorf("output %q, want a line starting %q", out.String(), want)
	}
}

// TestEveryFlowIsWalkedInBothLanguages keeps the promise that every shipped
// flow has a golden transcript, in Vietnamese and in English, that reaches
// its end step (the "learn something else?" menu follows only an end step).
func TestEveryFlowIsWalkedInBothLanguages(t *testing.T) {
	lib, _, _, err := content.Load(content.FS, locales.FS)
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := locales.NewBundle(locales.FS)
	if err != nil {
		t.Fatal(err)
	}
	loc := locales.NewLocalizer(bundle)
	for _, f := range lib.Flows() {
		for _, lang := range locales.Languages() {
			marker, err := loc.Localize(lang, "common.menu_again", nil)
			if err != nil || marker == "" {
				t.Fatalf("common.menu_again in %s: %q %v", lang, marker, err)
			}
			files, _ := filepath.Glob("testdata/transcripts/" + f.ID + "_" + lang + "_*.txt")
			done := false
			for _, file := range files {
				b, err := os.ReadFile(file)
				if err != nil {
					t.Fatal(err)
				}
				done = done || strings.Contains(string(b), marker)
			}
			if !done {
				t.Errorf("flow %s has no %s transcript that reaches its end (%d files)", f.ID, lang, len(files))
			}
		}
	}
}

func TestInviteCommand(t *testing.T) {
	p := newProgram(t)
	var out, errb bytes.Buffer
	err := runWith(t.Context(), []string{"invite", "--area", tdp1, "--role", "team", "--uses", "2", "--ttl", "3d", "--format", "json"},
		env("TELEGRAM_BOT_USERNAME", "hangxom_bot"), nil, &out, &errb, appOptions{clock: p.clock, client: p.client, prefix: "test"})
	if err != nil {
		t.Fatalf("invite: %v\n%s", err, errb.String())
	}
	var got map[string]any
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range got {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if d := cmp.Diff([]string{"area_id", "area_level", "code", "expires_at", "link", "role", "secretary"}, keys); d != "" {
		t.Errorf("json keys (-want +got):\n%s", d)
	}
	code, _ := got["code"].(string)
	if got["link"] != "https://t.me/hangxom_bot?start=j_"+code || got["area_level"] != "hamlet" || got["role"] != "team" ||
		got["expires_at"] != fixedNow.Add(72*time.Hour).Format(time.RFC3339) || len(code) != 16 {
		t.Errorf("invite = %v", got)
	}
	// Two people may join with it; a third may not.
	for i, user := range []string{"an", "binh", "chi"} {
		chat, _, err := p.run("/join "+code+"\n", "chat", "--user", user, "--name", user)
		if err != nil {
			t.Fatal(err)
		}
		joined := strings.Contains(chat, "Bác đã vào tổ công nghệ số của Tổ dân phố 1 (Đình Cả)")
		if joined != (i < 2) {
			t.Errorf("%s joined=%v:\n%s", user, joined, chat)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"invite", "--area", "vo-nhai", "--role", "team"}, "--area"},
		{[]string{"invite", "--area", tdp1, "--role", "coordinator"}, "--area"},
		{[]string{"invite", "--area", "nowhere", "--role", "team"}, "--area"},
		{[]string{"invite", "--area", tdp1, "--role", "boss"}, "--role"},
		{[]string{"invite", "--area", tdp1, "--role", "team", "--ttl", "soon"}, "--ttl"},
	} {
		var out, errb bytes.Buffer
		err := runWith(t.Context(), tc.args, env(), nil, &out, &errb, appOptions{clock: p.clock, client: p.client, prefix: "test"})
		if code := exitCode(err, &errb); code != 2 || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%v: exit %d: %s", tc.args, code, errb.String())
		}
	}
}

// TestRegisteredPayeesInTheQRCheck registers a school's genuine code as a
// team member and checks codes as a resident of the same hamlet.
func TestRegisteredPayeesInTheQRCheck(t *testing.T) {
	p := newProgram(t)
	runAs := func(user, input string, kv ...string) string {
		var out, errb bytes.Buffer
		err := runWith(t.Context(), []string{"chat", "--user", user, "--name", user}, env(append([]string{"COORDINATOR_IDS", "console:co"}, kv...)...),
			strings.NewReader(input), &out, &errb, appOptions{clock: p.clock, client: p.client, prefix: "test"})
		if err != nil {
			t.Fatalf("%s: %v\n%s", user, err, errb.String())
		}
		return out.String()
	}
	const genuine = "00020101021138530010A0000007270123000697041601092576788590208QRIBFTTA53037045802VN6304AE9F"
	const other = "00020101021138580010A000000727012800069704070114190304136010180208QRIBFTTA53037045802VN63040283"
	out := runAs("co", "/invite team "+tdp1+"\n")
	i := strings.Index(out, "/join ")
	if i < 0 {
		t.Fatalf("no invite:\n%s", out)
	}
	code := strings.Fields(out[i+6:])[0]
	runAs("hoa", "/join "+code+"\n")
	out = runAs("hoa", "/payee add Trường Tiểu học Đình Cả\n"+genuine+"\n")
	if !strings.Contains(out, "Đã ghi «Trường Tiểu học Đình Cả»") {
		t.Fatalf("payee not added:\n%s", out)
	}
	out = runAs("lan", "/start h_"+tdp1+"\n/checkqr\n"+other+"\n"+genuine+"\n")
	if !strings.Contains(out, "KHÔNG khớp") || !strings.Contains(out, "Khớp tài khoản đã đăng ký của Trường Tiểu học Đình Cả") {
		t.Errorf("payee checks:\n%s", out)
	}
	if strings.Index(out, "KHÔNG khớp") > strings.Index(out, "Khớp tài khoản đã đăng ký") {
		t.Error("the answers came in the wrong order")
	}
}
