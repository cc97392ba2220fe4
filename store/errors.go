package store

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/redis/go-redis/v9"
)

// IsUnavailable reports whether err says Redis could not be reached or could
// not serve for now, so that the same call may succeed later: the channel
// then backs off and retries instead of giving up on the update. It is true
// for
//
//   - a connection refused, reset, aborted or broken, a dial that failed, a
//     connection the server closed (EOF), a network timeout and a context
//     deadline (a command that took too long);
//   - the client's connection pool timing out or running out;
//   - the server errors CLUSTERDOWN, LOADING, TRYAGAIN, MASTERDOWN, READONLY
//     (a failover under way) and "max number of clients reached".
//
// It is false for nil, a cancelled context (the caller gave up), redis.Nil,
// a closed client, and every other error (a bad command, a script error,
// flows.ErrStale, flows.ErrLocked).
func IsUnavailable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	switch {
	case errors.Is(err, redis.ErrPoolTimeout), errors.Is(err, redis.ErrPoolExhausted):
		return true
	case redis.IsClusterDownError(err), redis.IsLoadingError(err), redis.IsTryAgainError(err),
		redis.IsMasterDownError(err), redis.IsReadOnlyError(err), redis.IsMaxClientsError(err):
		return true
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH),
		errors.Is(err, syscall.ETIMEDOUT):
		return true
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return true
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	// net.Error's Timeout covers i/o timeouts (os.ErrDeadlineExceeded) and
	// context.DeadlineExceeded.
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
