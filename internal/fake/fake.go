// Package fake holds what the fakes of the platforms (telegramtest,
// zalotest) share: an HTTP client that can reach only loopback, and the
// wait for a fake's state to change.
package fake

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"syscall"
	"testing"
	"time"
)

// LoopbackClient returns an HTTP client whose transport refuses to connect
// anywhere but loopback (127.0.0.0/8, ::1), so a test that forgot to point
// the code under test at its fake fails instead of calling the real
// platform with a real token. Proxies from the environment are ignored.
// timeout is the client's overall timeout (0: none). name prefixes the
// refusal ("telegramtest").
func LoopbackClient(name string, timeout time.Duration) *http.Client {
	d := &net.Dialer{
		Timeout: 5 * time.Second,
		// Control runs after name resolution, on the address really dialled.
		Control: func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil || !ap.Addr().Unmap().IsLoopback() {
				return fmt.Errorf("%s: refusing to dial non-loopback address %s", name, address)
			}
			return nil
		},
	}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         d.DialContext,
			MaxIdleConnsPerHost: 16,
			IdleConnTimeout:     30 * time.Second,
		},
	}
}

// Changes wakes the tests waiting on a fake's state. Its zero value is
// ready; every method is called with the fake's own lock held.
type Changes struct{ ch chan struct{} }

// Notify wakes every waiter.
func (c *Changes) Notify() {
	if c.ch != nil {
		close(c.ch)
	}
	c.ch = make(chan struct{})
}

// Next is the channel the next Notify closes, for a fake that waits in a
// select of its own (a long poll).
func (c *Changes) Next() <-chan struct{} {
	if c.ch == nil {
		c.ch = make(chan struct{})
	}
	return c.ch
}

// Wait blocks until cond (called with mu held) is true, failing tb after
// limit or when done closes (the fake shut down). It never sleeps: it waits
// on the channel that Notify closes at every change. state (with mu held)
// says what there is instead, for the failure.
func (c *Changes) Wait(tb testing.TB, mu sync.Locker, name, what string, limit time.Duration, done <-chan struct{},
	cond func() bool, state func() string) {
	tb.Helper()
	timer := time.NewTimer(limit)
	defer timer.Stop()
	for {
		mu.Lock()
		ok := cond()
		ch := c.Next()
		mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-timer.C:
			mu.Lock()
			st := state()
			mu.Unlock()
			tb.Fatalf("%s: waited %v for %s: %s", name, limit, what, st)
		case <-done:
			tb.Fatalf("%s: server closed while waiting for %s", name, what)
		}
	}
}
