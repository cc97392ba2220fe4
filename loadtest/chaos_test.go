package loadtest

import (
	"os"
	"strings"
	"testing"
)

// TestChaosTexts checks the words the chaos residents read against the
// locale files: a reworded message would otherwise make every answer look
// new and no guide ever end.
func TestChaosTexts(t *testing.T) {
	for file, want := range map[string]string{
		"../locales/common.vi.toml":  `"common.stale_button" = "` + oldButtonText,
		"../locales/ewallet.vi.toml": `"ewallet.done" = "` + guideDoneText,
	} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), want) {
			t.Errorf("%s has no line starting %s", file, want)
		}
	}
}

// TestSentTwice: a screen sent again is counted, whatever came between; a
// new drawing of the same screen (another keyboard number), the screen
// drawn again after the "old button" note (the same keyboard number: the
// answer to an old tap) and repeated words without buttons are not.
func TestSentTwice(t *testing.T) {
	screen := func(text, data string) Entry { return Entry{Text: text, Buttons: []Button{{Text: "✅", Data: data}}} }
	log := []Entry{
		{Update: true}, screen("A", "1.1"),
		{Update: true}, {Text: oldButtonText}, screen("A", "2.1"),
		{Update: true}, {Text: oldButtonText}, screen("B", "3.1"),
		{Update: true}, {Text: oldButtonText}, screen("B", "3.1"),
		{Update: true}, screen("B", "3.1"),
	}
	if n := len(sentTwice(log)); n != 1 {
		t.Errorf("sentTwice = %d, want 1", n)
	}
	if n := len(sentTwice(log[:11])); n != 0 {
		t.Errorf("sentTwice without the repeat = %d, want 0", n)
	}
}

// TestWrongTurns: the answers to a screen that are not its most frequent
// one are wrong turns.
func TestWrongTurns(t *testing.T) {
	var tr turns
	for range 5 {
		tr.add("SIM", "Android?")
	}
	tr.add("SIM", "CH Play")
	tr.add("Android?", "CH Play")
	if n := tr.wrong(); n != 1 {
		t.Errorf("wrong = %d, want 1", n)
	}
}

// TestBehindOf: an old-button answer that draws again a screen shown
// before the tapped one comes from a session behind it (a lost write); one
// that draws the tapped screen again, or a screen not shown before it,
// from a session ahead.
func TestBehindOf(t *testing.T) {
	before := map[string]bool{"SIM": true, "Android?": true}
	for _, c := range []struct {
		redrawn, tapped string
		want            bool
	}{{"SIM", "Android?", true}, {"Android?", "Android?", false}, {"CH Play", "Android?", false}, {"", "Android?", false}} {
		if got := behindOf(c.redrawn, c.tapped, before); got != c.want {
			t.Errorf("behindOf(%q, %q) = %v, want %v", c.redrawn, c.tapped, got, c.want)
		}
	}
}
