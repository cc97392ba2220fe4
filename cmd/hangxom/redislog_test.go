package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/hangxomso/hangxom/store"
)

// TestMain silences go-redis's process-wide logger: the tests stop and
// start Redis on purpose, and the library's "failed to dial" lines on
// stderr would read like failures. serve's own tests set it to their logger.
func TestMain(m *testing.M) {
	redis.SetLogger(store.LibraryLogger{})
	os.Exit(m.Run())
}

// TestServeRoutesRedisLibraryLogThroughSlog starts serve against a closed
// port: go-redis's complaint must arrive in serve's log as a slog record,
// without the password of the URL.
func TestServeRoutesRedisLibraryLogThroughSlog(t *testing.T) {
	t.Cleanup(func() { redis.SetLogger(store.LibraryLogger{}) })
	var out, errb bytes.Buffer
	err := run(t.Context(), []string{"serve"}, env("TELEGRAM_BOT_TOKEN", "1:x", "DATA_KEY", "0123456789abcdef0",
		"LOG_LEVEL", "debug", "REDIS_URL", "redis://u:pw-not-for-logs@127.0.0.1:1/0"), nil, &out, &errb)
	if err == nil {
		t.Fatal("serve ran without a Redis")
	}
	log := errb.String()
	if !strings.Contains(log, `msg="redis library"`) || !strings.Contains(log, "failed to dial") {
		t.Errorf("the library's lines are not in serve's log:\n%s", log)
	}
	if strings.Contains(log, "pw-not-for-logs") {
		t.Errorf("the password is in the log:\n%s", log)
	}
}
