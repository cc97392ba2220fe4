package telegramtest

import (
	"net/http"
	"time"

	"github.com/hangxomso/hangxom/internal/fake"
)

// LoopbackClient returns an HTTP client for the code under test whose
// transport refuses to connect anywhere but loopback (127.0.0.0/8, ::1), so
// a test that forgot to point the bot at the fake fails instead of calling
// api.telegram.org with a real token. Proxies from the environment are
// ignored. timeout is the client's overall timeout (0: none); it must exceed
// any long-poll timeout the client uses.
func LoopbackClient(timeout time.Duration) *http.Client {
	return fake.LoopbackClient("telegramtest", timeout)
}
