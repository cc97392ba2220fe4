package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadtestSmoke runs every phase of `hangxom loadtest` at a tiny size
// against a redis-server it starts: the tool that produces the README's
// figures must keep working. The figures themselves are not judged here.
func TestLoadtestSmoke(t *testing.T) {
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
