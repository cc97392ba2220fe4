package content_test

import (
	"testing"

	"github.com/hangxomso/hangxom/content"
	"github.com/hangxomso/hangxom/locales"
)

// TestShippedContent checks the embedded content against the embedded
// message files: what ships must have no problem at all.
func TestShippedContent(t *testing.T) {
	for _, p := range content.Check(content.FS, locales.FS) {
		t.Errorf("%s", p)
	}
}

// TestLoadShipped loads what ships, as the binary does at start-up.
func TestLoadShipped(t *testing.T) {
	lib, areas, targets, err := content.Load(content.FS, locales.FS)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(lib.Flows()) == 0 || len(areas) == 0 || len(targets) == 0 {
		t.Errorf("Load = %d flows, %d areas, %d targets; want some of each", len(lib.Flows()), len(areas), len(targets))
	}
	for _, f := range lib.Flows() {
		if f.File == "" || f.Line == 0 {
			t.Errorf("flow %s: File %q Line %d not filled", f.ID, f.File, f.Line)
		}
	}
}
