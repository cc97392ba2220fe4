package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Lease is the right to run a single-runner job (the one long-polling
// replica, say) for a while: a key holding a random token that expires
// unless renewed. Renew and Release act only while the key still holds the
// token, so a holder that lost its lease (it expired and someone else took
// it) can neither extend nor drop the new holder's.
type Lease struct {
	r     *Redis
	name  string
	key   string
	token string
	ttl   time.Duration
}

// AcquireLease tries once, without waiting, to take the lease name for ttl
// (SET NX PX on Keys.Lease). It returns the lease and true if it took it,
// nil and false if someone holds it.
func (r *Redis) AcquireLease(ctx context.Context, name string, ttl time.Duration) (*Lease, bool, error) {
	if ttl < time.Millisecond {
		return nil, false, fmt.Errorf("store: acquire lease %s: ttl %v is under 1ms", name, ttl)
	}
	l := &Lease{r: r, name: name, key: r.keys.Lease(name), token: randomHex(16), ttl: ttl}
	ok, err := r.c.SetNX(ctx, l.key, l.token, ttl).Result()
	if err != nil {
		return nil, false, fmt.Errorf("store: acquire lease %s: %w", name, err)
	}
	if !ok {
		return nil, false, nil
	}
	return l, true, nil
}

// Name returns the lease's name.
func (l *Lease) Name() string { return l.name }

// Renew extends the lease by its TTL from now if it is still held, and
// reports whether it was. Once it reports false the lease is lost for good:
// stop the job, and acquire a new lease to run it again. Renew well within
// the TTL (a third of it, say).
func (l *Lease) Renew(ctx context.Context) (bool, error) {
	if l == nil {
		return false, errors.New("store: renew lease: nil lease")
	}
	n, err := renewScript.Run(ctx, l.r.c, []string{l.key}, l.token, l.ttl.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("store: renew lease %s: %w", l.name, err)
	}
	return n == 1, nil
}

// Release gives the lease up if it is still held, so that another runner
// need not wait for it to expire. Releasing a lost lease, or twice, does
// nothing.
func (l *Lease) Release(ctx context.Context) error {
	if l == nil {
		return nil
	}
	if err := compareDeleteScript.Run(ctx, l.r.c, []string{l.key}, l.token).Err(); err != nil {
		return fmt.Errorf("store: release lease %s: %w", l.name, err)
	}
	return nil
}
