package telegram

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/hangxomso/hangxom/delivery"
)

// Lease is a Redis lease held by one replica at a time.
type Lease interface {
	Renew(ctx context.Context) (bool, error)
	Release(ctx context.Context) error
}

// LeaseStore hands out leases.
type LeaseStore interface {
	AcquireLease(ctx context.Context, name string, ttl time.Duration) (Lease, bool, error)
}

// LeasesFunc is a function that hands out leases: a LeaseStore.
type LeasesFunc func(ctx context.Context, name string, ttl time.Duration) (Lease, bool, error)

// AcquireLease implements LeaseStore.
func (f LeasesFunc) AcquireLease(ctx context.Context, name string, ttl time.Duration) (Lease, bool, error) {
	return f(ctx, name, ttl)
}

// Poller is the long-polling loop. Only the replica holding the polling
// lease polls; the others wait. The offset moves past an update only after
// Receive stored it (Telegram confirms an update when getUpdates is next
// called with a higher offset), so a crash loses nothing: unconfirmed
// updates come again and the store's update ids make them no-ops.
type Poller struct {
	Client   *Client
	Receiver *Receiver
	Leases   LeaseStore
	Logger   *slog.Logger
	// Timeout is the long-poll timeout; default 50 s.
	Timeout time.Duration
	// LeaseTTL is how long the polling lease lives without renewal;
	// default 30 s (renewed every third of it).
	LeaseTTL time.Duration
	// Grace bounds finishing the update in hand after ctx is done; the
	// process must exit within 10 s of SIGTERM.
	Grace time.Duration
	// Healthy, when set, tells whether the store answers. An update that
	// failed GiveUpAfter times (default 10: one to two minutes of retries)
	// while it does is dropped with an error logged, as Telegram drops a
	// webhook update that keeps failing: one update that can never be
	// stored (a corrupt session) must not stop every resident's. While the
	// store is away, updates are kept and retried.
	Healthy     func(context.Context) error
	GiveUpAfter int
}

const leaseName = "telegram-poll"

// Run polls until ctx is done. It returns nil on a clean stop and an error
// only for a failure that retrying cannot fix (a rejected token).
func (p *Poller) Run(ctx context.Context) error {
	if p.Timeout <= 0 {
		p.Timeout = 50 * time.Second
	}
	if p.LeaseTTL <= 0 {
		p.LeaseTTL = 30 * time.Second
	}
	if p.Grace <= 0 {
		p.Grace = 8 * time.Second
	}
	waiting := false
	for ctx.Err() == nil {
		lease, ok, err := p.Leases.AcquireLease(ctx, leaseName, p.LeaseTTL)
		if err != nil || !ok {
			if err != nil {
				p.logger().Warn("polling lease", "err", err)
			} else if !waiting {
				p.logger().Info("another replica is polling Telegram; waiting for its lease")
			}
			waiting = true
			if delivery.Sleep(ctx, p.LeaseTTL/3) != nil {
				return nil
			}
			continue
		}
		if waiting {
			p.logger().Info("took the polling lease")
		}
		waiting = false
		err = p.hold(ctx, lease)
		_ = lease.Release(context.WithoutCancel(ctx))
		if err != nil {
			return err
		}
	}
	return nil
}

// hold polls while the lease is held. If Redis forgets its last second,
// the lease may vanish (the next Renew says lost: this replica stops and
// tries to take it again) or come back with an earlier holder's token (it
// expires within LeaseTTL): two replicas may poll for up to a renewal, and
// Telegram answers one of them 409, which is backed off. The offset is in
// memory, so updates confirmed to Telegram are not fetched again; turns
// Redis forgot are lost with it (see store.Keys.Processed).
func (p *Poller) hold(ctx context.Context, lease Lease) error {
	pollCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		t := time.NewTicker(p.LeaseTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-pollCtx.Done():
				return
			case <-t.C:
				if ok, err := lease.Renew(pollCtx); err != nil || !ok {
					if pollCtx.Err() == nil {
						p.logger().Warn("lost the polling lease", "err", err)
					}
					cancel()
					return
				}
			}
		}
	}()
	if err := p.Client.DeleteWebhook(pollCtx); err != nil && pollCtx.Err() == nil {
		if fatal(err) {
			return err
		}
		p.logger().Warn("delete webhook", "err", err)
	}
	offset, failures := 0, 0
	for pollCtx.Err() == nil {
		raws, err := p.Client.GetUpdates(pollCtx, offset, p.Timeout, allowedUpdates)
		if err != nil {
			if pollCtx.Err() != nil {
				break
			}
			if fatal(err) {
				return err
			}
			failures++
			p.logger().Warn("getUpdates failed; backing off", "err", err, "failures", failures)
			if delivery.Sleep(pollCtx, delivery.Backoff(min(failures, 6))) != nil {
				break
			}
			continue
		}
		failures = 0
		for _, raw := range raws {
			id := updateID(raw)
			if !p.receive(pollCtx, raw) {
				// Stopped before this update was stored: it stays
				// unconfirmed and comes back to whoever polls next.
				p.confirm(ctx, offset)
				return nil
			}
			if id >= 0 {
				offset = id + 1
			}
		}
	}
	p.confirm(ctx, offset)
	return nil
}

// receive stores one update, retrying transient failures with backoff. It
// reports false if polling must stop before the update was stored.
func (p *Poller) receive(ctx context.Context, raw []byte) bool {
	for attempt := 0; ; attempt++ {
		// The update in hand is finished even if a stop is requested,
		// within Grace.
		hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.Grace)
		err := p.Receiver.Receive(hctx, raw)
		cancel()
		if err == nil {
			return true
		}
		if p.Healthy != nil && attempt+1 >= cmp.Or(p.GiveUpAfter, 10) && p.Healthy(ctx) == nil {
			p.logger().Error("update dropped: it keeps failing while the store answers", "update", updateID(raw),
				"attempts", attempt+1, "err", err)
			return true
		}
		p.logger().Warn("update not stored; will retry", "update", updateID(raw), "err", err)
		if delivery.Sleep(ctx, delivery.Backoff(min(attempt, 6))) != nil {
			return false
		}
	}
}

// confirm tells Telegram, on the way out, which updates are done, so a
// restart does not receive them again (they would be no-ops anyway).
func (p *Poller) confirm(ctx context.Context, offset int) {
	if offset == 0 {
		return
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if _, err := p.Client.GetUpdates(cctx, offset, 0, allowedUpdates); err != nil {
		p.logger().Debug("confirm offset", "err", err)
	}
}

// fatal reports errors that retrying cannot fix.
func fatal(err error) bool {
	var ae *APIError
	if errors.As(err, &ae) && (ae.Code == 401 || ae.Code == 404) {
		return true
	}
	return false
}

func (p *Poller) logger() *slog.Logger {
	if p.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return p.Logger
}
