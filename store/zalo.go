package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// The Zalo Official Account's OAuth v4 token pair lives in one hash
// (Keys.ZaloTokens), so that every replica uses the same pair and the
// single-use refresh token is spent once. These methods are what
// zalo.TokenStore needs; they take and return plain values because the
// store does not import a channel.

// ZaloStatus is what the store knows about the Zalo OA's link, without the
// tokens: what /healthz, a metric and `hangxom zalo connect` show.
type ZaloStatus struct {
	// Linked is true when a token pair is stored.
	Linked bool
	// Expires is when the stored access token expires.
	Expires time.Time
	// Gen counts the pairs written since the key was created (the first
	// link is 1, each refresh or relink adds one).
	Gen int64
	// Disconnected is the reason the refresh token was refused or lost;
	// "" while the OA is connected.
	Disconnected string
	// DisconnectedAt is when Disconnected was set.
	DisconnectedAt time.Time
}

// ZaloTokens reads the OA's token pair in one round trip. access and
// refresh are "" when no pair is stored; disconnected is the reason the OA
// was marked disconnected ("" while it is connected).
func (r *Redis) ZaloTokens(ctx context.Context) (access, refresh string, expires time.Time, disconnected string, err error) {
	m, err := r.c.HGetAll(ctx, r.keys.ZaloTokens()).Result()
	if err != nil {
		return "", "", time.Time{}, "", fmt.Errorf("store: read zalo tokens: %w", err)
	}
	return m["access"], m["refresh"], msTime(m["expires"]), m["disconnected"], nil
}

// ZaloStatus reads the link's state without the tokens, in one round trip.
func (r *Redis) ZaloStatus(ctx context.Context) (ZaloStatus, error) {
	m, err := r.c.HGetAll(ctx, r.keys.ZaloTokens()).Result()
	if err != nil {
		return ZaloStatus{}, fmt.Errorf("store: read zalo status: %w", err)
	}
	gen, _ := strconv.ParseInt(m["gen"], 10, 64)
	return ZaloStatus{Linked: m["refresh"] != "", Expires: msTime(m["expires"]), Gen: gen,
		Disconnected: m["disconnected"], DisconnectedAt: msTime(m["disconnected_at"])}, nil
}

// ReplaceZaloTokens writes a new pair if the stored refresh token is still
// oldRefresh (compare-and-set; oldRefresh "" overwrites whatever is stored,
// for a new link), clears the disconnected mark and counts the pair in
// gen, in one script. It reports whether it wrote. A replica that refreshed
// with a token another one had already replaced (or a relink overwrote)
// thus cannot put a stale pair back.
func (r *Redis) ReplaceZaloTokens(ctx context.Context, oldRefresh, access, refresh string, expires time.Time) (bool, error) {
	if access == "" || refresh == "" {
		return false, errors.New("store: replace zalo tokens: an empty token")
	}
	n, err := replaceZaloScript.Run(ctx, r.c, []string{r.keys.ZaloTokens()},
		oldRefresh, access, refresh, expires.UnixMilli()).Int64()
	if err != nil {
		return false, fmt.Errorf("store: replace zalo tokens: %w", err)
	}
	return n > 0, nil
}

// SetZaloDisconnected marks the OA disconnected with a reason (no token in
// it) and the time, if the stored refresh token is still refused (the one
// Zalo refused; "" marks it whatever is stored). It reports whether it
// marked: false means another replica or a relink stored a new pair
// meanwhile, which the caller should use instead. The pair is kept, for
// the record; ReplaceZaloTokens clears the mark.
func (r *Redis) SetZaloDisconnected(ctx context.Context, refused, reason string) (bool, error) {
	if reason == "" {
		reason = "disconnected"
	}
	n, err := disconnectZaloScript.Run(ctx, r.c, []string{r.keys.ZaloTokens()},
		refused, reason, r.opts.Clock.Now().UnixMilli()).Int()
	if err != nil {
		return false, fmt.Errorf("store: set zalo disconnected: %w", err)
	}
	return n == 1, nil
}

// msTime reads unix milliseconds; "" or garbage is the zero time.
func msTime(s string) time.Time {
	ms, err := strconv.ParseInt(s, 10, 64)
	if err != nil || ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// replaceZaloScript is ReplaceZaloTokens's compare-and-set. A missing field
// is false in Lua, never equal to a token, so a non-empty ARGV[1] fails on
// an empty hash.
//
//	KEYS[1] Keys.ZaloTokens
//	ARGV[1] the refresh token the pair must still hold ("" = any)
//	ARGV[2] the access token, ARGV[3] the refresh token, ARGV[4] the
//	        access token's expiry (unix ms)
//
// It returns the new gen, or 0 if the stored refresh token differed.
var replaceZaloScript = newScript("zalo-replace", `
if ARGV[1] ~= '' and redis.call('HGET', KEYS[1], 'refresh') ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], 'access', ARGV[2], 'refresh', ARGV[3], 'expires', ARGV[4])
redis.call('HDEL', KEYS[1], 'disconnected', 'disconnected_at')
return redis.call('HINCRBY', KEYS[1], 'gen', 1)
`)

// disconnectZaloScript is SetZaloDisconnected's compare-and-mark.
//
//	KEYS[1] Keys.ZaloTokens
//	ARGV[1] the refused refresh token the pair must still hold ("" = any)
//	ARGV[2] the reason, ARGV[3] the time (unix ms)
//
// It returns 1 if it marked, 0 if the stored refresh token differed.
var disconnectZaloScript = newScript("zalo-disconnect", `
if ARGV[1] ~= '' and redis.call('HGET', KEYS[1], 'refresh') ~= ARGV[1] then
  return 0
end
redis.call('HSET', KEYS[1], 'disconnected', ARGV[2], 'disconnected_at', ARGV[3])
return 1
`)
