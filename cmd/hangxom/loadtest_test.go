package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestLoadtestSmoke runs every phase of `hangxom loadtest` at a tiny size
// against a redis-server it starts: the tool that produces the README's
// figures must keep working. The figures themselves are not judged here.
func TestLoadtestSmoke(t *testing.T) {
	bin := loadtestBinary(t)
	cmd := exec.CommandContext(t.Context(), bin, "loadtest", "--residents", "40", "--memory-residents", "30",
		"--hamlets", "150", "--warmup", "1s", "--duration", "2s", "--latency-rate", "50", "--latency-residents", "30",
		"--report-residents", "200,400", "--reminders", "60", "--bulk-limit", "60")
	cmd.Env = append(os.Environ(), "REDIS_URL=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("loadtest: %v\n%s", err, out)
	}
	for _, want := range []string{
		"30 residents in 1 hamlets each finished ewallet",
		"hamlet counters: 30 completions of ewallet (checked)",
		"Redis used_memory per resident",
		"sustained updates/s:",
		"Redis round trips per update:",
		"latency webhook request → first API call",
		"p99 latency at 50 updates/s",
		"the box's CPU busy, second by second",
		"seconds with p99 ≤ 10.00 ms: ",
		"(the counts were timed in turns, 30 rounds",
		"coordinator report at 200 residents",
		"coordinator report at 400 residents",
		"reminders: 60 of 60 sent",
		"reminders lost: 0, sent twice: 0",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("no %q in the output:\n%s", want, out)
		}
	}
	// The round trips come from the bot's /metrics (METRICS_LISTEN): none
	// read would print zero.
	if strings.Contains(string(out), "Redis round trips per update: 0.00") {
		t.Errorf("no round trips read from the bot's /metrics:\n%s", out)
	}
	t.Logf("loadtest at a tiny size:\n%s", out)
}

// TestLoadtestZaloSmoke runs the throughput phase on Zalo at a tiny size:
// residents who are Zalo users, writing to the OA's signed webhook and
// tapping the payloads of the buttons the fake OA API received, must walk
// the guides to their end.
func TestLoadtestZaloSmoke(t *testing.T) {
	bin := loadtestBinary(t)
	cmd := exec.CommandContext(t.Context(), bin, "loadtest", "--phases", "throughput", "--channel", "zalo",
		"--residents", "20", "--hamlets", "150", "--warmup", "1s", "--duration", "2s")
	cmd.Env = append(os.Environ(), "REDIS_URL=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("loadtest: %v\n%s", err, out)
	}
	for _, want := range []string{
		"-- residents on Zalo",
		"sustained updates/s:",
		"Zalo API calls per update: ",
		"Zalo API calls per update by method: /v3.0/oa/message/cs ",
		"Redis round trips per update:",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("no %q in the output:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "Redis round trips per update: 0.00") {
		t.Errorf("no round trips read from the bot's /metrics:\n%s", out)
	}
	m := regexp.MustCompile(`guides finished by the residents: (\d+) `).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no count of the guides finished:\n%s", out)
	}
	if n, _ := strconv.Atoi(string(m[1])); n == 0 {
		t.Errorf("no Zalo resident finished a guide:\n%s", out)
	}
	t.Logf("loadtest on Zalo at a tiny size:\n%s", out)
}

// TestLoadtestChaos runs the chaos phase at CI's size: 10 residents walk a
// guide through two serve replicas on a Sentinel setup of the run's own
// while the master is failed over, then killed (its AOF cut back a second)
// and restarted, and a replica is killed and restarted. It fails if any of
// the phase's goals is missed: no resident stuck, completions counted as
// the residents finished, no reply twice, replies lost only in a lost
// window, no wrong turn, and each lost write logged by the bots.
func TestLoadtestChaos(t *testing.T) {
	bin := loadtestBinary(t)
	cmd := exec.CommandContext(t.Context(), bin, "loadtest", "--phases", "chaos", "--hamlets", "100",
		"--chaos-residents", "10", "--chaos-first", "3s", "--chaos-gap", "4s", "--chaos-deadline", "25s")
	cmd.Env = append(os.Environ(), "REDIS_URL=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("loadtest: %v\n%s", err, out)
	}
	for _, want := range []string{
		"3.0 s: failover: SENTINEL FAILOVER: master ",
		"7.0 s: kill-master: SIGKILL of the master ",
		"11.0 s: kill-bot: SIGKILL of bot replica 2",
		"residents stuck (",
		"longest run of consecutive \"old button\" answers",
		"completions in the hamlets' counts",
		"replies sent twice",
		"replies lost (",
		"wrong turns (",
		"lost writes logged: ",
		"hangxom_lost_writes_seen_total",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("no %q in the output:\n%s", want, out)
		}
	}
	if !strings.Contains(string(out), "every goal measured was met") {
		t.Errorf("a chaos goal was missed:\n%s", out)
	} else {
		t.Logf("the chaos phase at CI's size:\n%s", out)
	}
}

// loadtestBinary builds the program for a load-test run, which starts a
// redis-server of its own: required under CI (.ci/run installs it), and
// the test skipped without one on a newcomer's machine.
func loadtestBinary(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-server must be installed when CI=true (see .ci/run)")
		}
		t.Skip("redis-server is not installed")
	}
	bin := filepath.Join(t.TempDir(), "hangxom")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}
