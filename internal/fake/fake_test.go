package fake

import (
	"strings"
	"sync"
	"testing"
	"time"
)

func TestLoopbackClientRefusesTheRealPlatform(t *testing.T) {
	_, err := LoopbackClient("x", time.Second).Get("http://192.0.2.1/")
	if err == nil || !strings.Contains(err.Error(), "x: refusing to dial non-loopback address 192.0.2.1") {
		t.Errorf("err = %v", err)
	}
}

// Wait returns once a change makes the condition true, without polling.
func TestWaitWakesOnNotify(t *testing.T) {
	var mu sync.Mutex
	var c Changes
	n := 0
	go func() {
		for range 3 {
			time.Sleep(5 * time.Millisecond)
			mu.Lock()
			n++
			c.Notify()
			mu.Unlock()
		}
	}()
	c.Wait(t, &mu, "fake", "three changes", 5*time.Second, nil, func() bool { return n == 3 }, func() string { return "" })
	mu.Lock()
	defer mu.Unlock()
	if n != 3 {
		t.Errorf("n = %d", n)
	}
}
