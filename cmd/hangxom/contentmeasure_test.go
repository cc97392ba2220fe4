package main

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/hangxomso/hangxom/content"
	"github.com/hangxomso/hangxom/locales"
)

func TestMeasureFixture(t *testing.T) {
	b, err := os.ReadFile("testdata/measure/fixture.txt")
	if err != nil {
		t.Fatal(err)
	}
	got := measureFlow("test", "en", "🧪 Test guide", 3, []string{string(b)})
	want := measureRow{Flow: "test", Lang: "en", Steps: 3, Transcripts: 1, Screens: 3,
		LongestTurn: 53, // "Step three … ééééé.": 53 runes, 58 bytes
		MaxButtons:  5, Over3: 2, AvgButtons: 4, FirstScreenM: 2}
	if got != want {
		t.Errorf("measureFlow = %+v\nwant         %+v", got, want)
	}
}

func TestCountHedges(t *testing.T) {
	n, err := countHedges([]byte("a = \"Hiện chưa có, CHƯA RÕ\"\nb = \"It is unclear, not yet known\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if n != 4 {
		t.Errorf("hedges = %d, want 4", n)
	}
}

func TestMeasureShipped(t *testing.T) {
	var out bytes.Buffer
	if err := measure(&out, content.FS, locales.FS, "testdata/transcripts"); err != nil {
		t.Fatal(err)
	}
	rows := 0
	for _, line := range strings.Split(out.String(), "\n") {
		f := strings.Split(line, " | ")
		// The engine's table has two more columns (the steps' own screens).
		if (len(f) != 10 && len(f) != 12) || (f[1] != "vi" && f[1] != "en") {
			continue
		}
		rows++
		n := func(i int) float64 {
			v, err := strconv.ParseFloat(strings.TrimSuffix(f[i], " |"), 64)
			if err != nil {
				t.Fatalf("%q: column %d: %v", line, i, err)
			}
			return v
		}
		steps, screens, longest, maxB, over3, avg := n(2), n(4), n(5), n(6), n(7), n(8)
		// Screens: a step's own, and those its ❓ and ℹ️ open.
		if steps < 5 || screens < 3 || screens > 3*steps || longest < 50 || longest > 3000 ||
			maxB < 3 || maxB > 12 || over3 > screens || avg < 1 || avg > maxB {
			t.Errorf("implausible row: %s", line)
		}
	}
	fl, err := content.LoadFlows(content.FS, content.FlowsDir)
	if err != nil {
		t.Fatal(err)
	}
	if want := len(fl) * 2 * 2; rows != want {
		t.Errorf("%d rows, want %d (%d guides × 2 languages, walked and from the transcripts):\n%s", rows, want, len(fl), out.String())
	}
	if !strings.Contains(out.String(), "| total | ") {
		t.Errorf("no hedge total:\n%s", out.String())
	}
}
