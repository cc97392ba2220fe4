// Package tgredis adapts the Redis store to what the Telegram channel
// consumes (telegram.SendStore, telegram.Leases). The channel never imports
// the store: the domain owns the interfaces, and this small package, used by
// cmd/hangxom and the channel's tests alike, joins the two.
package tgredis

import (
	"context"
	"time"

	"github.com/hangxomso/hangxom/bot/telegram"
	"github.com/hangxomso/hangxom/store"
)

// Store is the Redis store seen by the Telegram channel.
type Store struct{ *store.Redis }

// The Sender finds FinishDeferrer by type assertion: checked here, so that a
// drifted signature fails the build rather than silently costing a round
// trip per drain.
var (
	_ telegram.SendStore      = Store{}
	_ telegram.FinishDeferrer = Store{}
)

func state(s store.SendState) telegram.SendState {
	switch s {
	case store.SendDone:
		return telegram.SendDone
	case store.SendUncertain:
		return telegram.SendUncertain
	}
	return telegram.SendNew
}

// BeginSend implements telegram.SendStore.
func (s Store) BeginSend(ctx context.Context, resident, replyID string) (telegram.SendState, error) {
	st, err := s.Redis.BeginSend(ctx, resident, replyID)
	return state(st), err
}

// ClaimOutbox implements telegram.SendStore.
func (s Store) ClaimOutbox(ctx context.Context, resident string, rate float64, burst int) (telegram.SendClaim, error) {
	c, err := s.Redis.ClaimOutbox(ctx, resident, rate, burst)
	if err != nil {
		return nil, err
	}
	return claim{c}, nil
}

type claim struct{ *store.SendClaim }

func (c claim) Begin(ctx context.Context, replyID string, rate float64, burst int) (telegram.SendState, time.Duration, int, error) {
	st, wait, kb, err := c.SendClaim.Begin(ctx, replyID, rate, burst)
	return state(st), wait, kb, err
}

// AcquireLease implements telegram.Leases.
func (s Store) AcquireLease(ctx context.Context, name string, ttl time.Duration) (telegram.Lease, bool, error) {
	l, ok, err := s.Redis.AcquireLease(ctx, name, ttl)
	if l == nil {
		return nil, ok, err
	}
	return l, ok, err
}
