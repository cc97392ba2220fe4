package telegramtest

import (
	"embed"
	"io/fs"
	"testing"
)

// fixtureFiles holds the real Telegram Update fixtures, copied into
// testdata/telegram-updates (testdata/README.md says from where) and embedded
// so that a test finds them from any package on a bare clone.
//
//go:embed testdata/telegram-updates/*.json
var fixtureFiles embed.FS

// Fixtures returns the real Telegram Update fixtures (their README,
// testdata/telegram-updates/README.md, gives each one's source): one JSON
// update per file named "NN-what.json", update_id 8000000NN. Read them with
// fs.ReadFile or fs.Glob(Fixtures(tb), "*.json") and give them to PushUpdate
// or Deliver.
func Fixtures(tb testing.TB) fs.FS {
	tb.Helper()
	sub, err := fs.Sub(fixtureFiles, "testdata/telegram-updates")
	if err != nil {
		tb.Fatalf("telegramtest: fixtures: %v", err)
	}
	return sub
}
