package telegramtest

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// LoopbackClient returns an HTTP client for the code under test whose
// transport refuses to connect anywhere but loopback (127.0.0.0/8, ::1), so
// a test that forgot to point the bot at the fake fails instead of calling
// api.telegram.org with a real token. Proxies from the environment are
// ignored. timeout is the client's overall timeout (0: none); it must exceed
// any long-poll timeout the client uses.
func LoopbackClient(timeout time.Duration) *http.Client {
	d := &net.Dialer{
		Timeout: 5 * time.Second,
		// Control runs after name resolution, on the address really dialled.
		Control: func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil || !ap.Addr().Unmap().IsLoopback() {
				return fmt.Errorf("telegramtest: refusing to dial non-loopback address %s", address)
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
