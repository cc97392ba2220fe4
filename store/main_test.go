package store

import (
	"os"
	"testing"

	"github.com/redis/go-redis/v9"
)

// TestMain silences go-redis's process-wide logger: tests that reach a
// stopped Redis on purpose would otherwise print its "failed to dial" lines.
func TestMain(m *testing.M) {
	redis.SetLogger(LibraryLogger{})
	os.Exit(m.Run())
}
