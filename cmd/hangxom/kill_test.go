package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// realRedisURL returns TEST_REDIS_URL; without it the test is skipped, except
// in CI, where a missing server is a failure.
func realRedisURL(t *testing.T) string {
	t.Helper()
	url := os.Getenv("TEST_REDIS_URL")
	if url == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("TEST_REDIS_URL must be set when CI=true (see .ci/run)")
		}
		t.Skip("set TEST_REDIS_URL to run against a real redis-server")
	}
	return url
}

// TestKill9MidFlowResumes builds the real binary, chats on a real Redis,
// kills the process with SIGKILL mid-flow, and checks that the same --user
// continues at the same step.
func TestKill9MidFlowResumes(t *testing.T) {
	url := realRedisURL(t)
	bin := filepath.Join(t.TempDir(), "hangxom")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := "kill9test-" + hex.EncodeToString(b[:])
	t.Cleanup(func() { deletePrefix(t, url, prefix) })
	environ := append(os.Environ(), "REDIS_URL="+url, "KEY_PREFIX="+prefix, "DATA_KEY=test-data-key-0123456789")

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "chat", "--user", "lan")
	cmd.Env = environ
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 256)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	for _, in := range []string{"xin chào", "Võ Nhai", "1", "1", "1"} {
		if _, err := io.WriteString(stdin, in+"\n"); err != nil {
			t.Fatal(err)
		}
	}
	// Wait until the last answer was processed: the phone_own checkpoint shows.
	waitFor(t, lines, "SIM đứng tên chính bác")
	if err := cmd.Process.Kill(); err != nil { // SIGKILL: no clean shutdown
		t.Fatal(err)
	}
	_ = cmd.Wait()

	again := exec.CommandContext(ctx, bin, "chat", "--user", "lan")
	again.Env = environ
	again.Stdin = strings.NewReader("xong\n")
	out, err := again.Output()
	if err != nil {
		t.Fatalf("second run: %v", err)
	}
	if !strings.Contains(string(out), "Android hay iPhone") {
		t.Errorf("the resident did not continue at the same step:\n%s", out)
	}
}

func waitFor(t *testing.T, lines <-chan string, want string) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("output ended before %q", want)
			}
			if strings.Contains(l, want) {
				return
			}
		case <-deadline:
			t.Fatalf("no %q within 30s", want)
		}
	}
}

// deletePrefix removes the test's keys and nothing else.
func deletePrefix(t *testing.T, url, prefix string) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Error(err)
		return
	}
	c := redis.NewClient(opt)
	defer c.Close()
	ctx := context.Background()
	iter := c.Scan(ctx, 0, prefix+":*", 500).Iterator()
	for iter.Next(ctx) {
		c.Del(ctx, iter.Val())
	}
	// Hash-tagged keys start with the prefix too; nothing else is touched.
	if err := iter.Err(); err != nil {
		t.Error(err)
	}
}
