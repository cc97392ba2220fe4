package loadtest

import (
	"testing"
	"time"
)

func TestParseProcStat(t *testing.T) {
	c, err := parseProcStat("cpu  100 5 50 800 20 3 2 10 7 0")
	if err != nil {
		t.Fatal(err)
	}
	// busy: user 100 + nice 5 + system 50 + irq 3 + softirq 2 + steal 10
	if want := (BoxCPU{Busy: 170, Total: 990, Steal: 10}); c != want {
		t.Errorf("got %+v, want %+v", c, want)
	}
	for _, bad := range []string{"", "cpu0 1 2 3 4 5 6 7 8", "cpu 1 2 3", "cpu 1 2 x 4 5 6 7 8"} {
		if _, err := parseProcStat(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
	if _, err := ReadBoxCPU(); err != nil {
		t.Errorf("this machine's /proc/stat: %v", err)
	}
}

func TestPerSecond(t *testing.T) {
	start := time.Unix(1000, 0)
	ms := time.Millisecond
	var samples []Sample
	// second 0: 100 fast updates and one slow; second 2: one; second 3 is
	// past n; one before start.
	for i := range 100 {
		samples = append(samples, Sample{At: start.Add(time.Duration(i) * ms), First: 2 * ms})
	}
	samples = append(samples,
		Sample{At: start.Add(999 * ms), First: 900 * ms},
		Sample{At: start.Add(2500 * ms), First: 7 * ms},
		Sample{At: start.Add(3 * time.Second), First: time.Second},
		Sample{At: start.Add(-ms), First: time.Second})
	got := PerSecond(samples, start, 3)
	want := []Second{{Updates: 101, P99: 2 * ms}, {}, {Updates: 1, P99: 7 * ms}}
	if len(got) != len(want) {
		t.Fatalf("got %d seconds, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("second %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}
