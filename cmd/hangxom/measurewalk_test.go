package main

import (
	"io/fs"
	"os"
	"testing"
	"testing/fstest"
	"time"
	"unicode/utf8"

	"github.com/hangxomso/hangxom/content"
	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/locales"
)

// TestMeasureWalkFixture walks testdata/measure/flows/demo.yaml, whose shape
// is known, through the engine with the shipped common words.
func TestMeasureWalkFixture(t *testing.T) {
	fl, err := content.LoadFlows(os.DirFS("testdata/measure"), "flows")
	if err != nil {
		t.Fatal(err)
	}
	lib, err := flows.NewLibrary(fl...)
	if err != nil {
		t.Fatal(err)
	}
	areas, err := content.LoadAreas(content.FS, content.AreasFile)
	if err != nil {
		t.Fatal(err)
	}
	words := fstest.MapFS{}
	for _, dir := range []fs.FS{locales.FS, os.DirFS("testdata/measure/locales")} {
		names, err := fs.Glob(dir, "*.toml")
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			b, err := fs.ReadFile(dir, n)
			if err != nil {
				t.Fatal(err)
			}
			words[n] = &fstest.MapFile{Data: b}
		}
	}
	bundle, err := locales.NewBundle(words)
	if err != nil {
		t.Fatal(err)
	}
	eng := &flows.Engine{Library: lib, Areas: flows.NewAreaIndex(areas), Loc: locales.NewLocalizer(bundle),
		WaitExpiry: 72 * time.Hour, SessionExpiry: 720 * time.Hour, Location: time.UTC}
	for _, lang := range []string{"vi", "en"} {
		got, err := walkFlow(eng, "demo", lang)
		if err != nil {
			t.Fatal(err)
		}
		// The longest turn is ❓'s screen (its one message) or step two
		// (57 runes).
		stuck, err := eng.Loc.Localize(lang, "common.stuck_ask", nil)
		if err != nil {
			t.Fatal(err)
		}
		want := measureRow{Flow: "demo", Lang: lang,
			Reached: 3, // intro, one, two: hello is an info message, end leaves the guide
			// intro (✅ Yes, 🚫 No, ❓, ↩), one and two (✅ ❓ ↩), and ❓'s
			// screen at each (🔁, 🙋)
			Screens:     6,
			LongestTurn: max(utf8.RuneCountInString(stuck), 57),
			MaxButtons:  4, Over3: 1, AvgButtons: (4 + 3 + 3 + 2 + 2 + 2) / 6.0,
			StepScreens: 3, AvgStep: (4 + 3 + 3) / 3.0,
			FirstScreenM: 1, // "Hello, ééé." before "Ready?"
		}
		if got != want {
			t.Errorf("%s:\ngot  %+v\nwant %+v", lang, got, want)
		}
	}
}
