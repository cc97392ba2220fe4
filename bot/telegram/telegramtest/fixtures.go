package telegramtest

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// fixtureDir is where the shared fixtures live, beside the project's
// checkout (the steering repository's shared/ directory; CI has it too).
const fixtureDir = "shared/data/telegram-updates"

// Fixtures returns the real Telegram Update fixtures shared with the
// project (shared/data/telegram-updates; its README gives each one's
// source): one JSON update per file named "NN-what.json", update_id
// 8000000NN. It looks for the directory from the working directory up, and
// fails the test if it is not there. Read them with fs.ReadFile or
// fs.Glob(Fixtures(tb), "*.json") and give them to PushUpdate or Deliver.
func Fixtures(tb testing.TB) fs.FS {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		p := filepath.Join(dir, fixtureDir)
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			return os.DirFS(p)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatalf("telegramtest: no %s above the working directory", fixtureDir)
		}
		dir = parent
	}
}
