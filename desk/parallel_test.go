package desk

import (
	"errors"
	"sync/atomic"
	"testing"
)

func TestParallel(t *testing.T) {
	var done [100]atomic.Int32
	var running, most atomic.Int32
	err := parallel(len(done), 4, func(i int) error {
		n := running.Add(1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		done[i].Add(1)
		running.Add(-1)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range done {
		if got := done[i].Load(); got != 1 {
			t.Fatalf("fn(%d) ran %d times, want 1", i, got)
		}
	}
	if m := most.Load(); m > 4 || m < 1 {
		t.Errorf("%d calls at once, want 1 to 4", m)
	}
	boom := errors.New("boom")
	err = parallel(1000, 3, func(i int) error {
		if i == 10 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) {
		t.Errorf("err = %v, want the failure", err)
	}
	if err := parallel(0, 4, func(int) error { t.Error("called for n = 0"); return nil }); err != nil {
		t.Error(err)
	}
}
