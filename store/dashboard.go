package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// The dashboard's one-time links and sessions (issue 20, package
// dashboard). Every secret arrives here already hashed: the store never sees
// a link's token, a nonce or a session id.

// maxLoginNonces bounds the browsers (and preview robots) whose nonces one
// link keeps before it is spent: a ninth fetch evicts the oldest nonce, so
// robots fetching a link over and over cannot lock its person out, and the
// key cannot grow without end.
const maxLoginNonces = 8

// loginSeeScript records a nonce for a live login link: the first step of
// the exchange, which never spends the link. Each nonce's value is its
// order (the link's seq field, incremented); when the link already holds
// ARGV[3] nonces, the oldest is deleted first.
// KEYS[1] DashLogin. ARGV[1] now (unix ms), ARGV[2] "n:<nonce hash>",
// ARGV[3] maxLoginNonces. Returns 1 when recorded, 0 when the link is
// unknown, spent or stale.
var loginSeeScript = newScript("dashLoginSee", `
local exp = redis.call('HGET', KEYS[1], 'exp')
if not exp or tonumber(exp) <= tonumber(ARGV[1]) then return 0 end
if redis.call('HEXISTS', KEYS[1], ARGV[2]) == 1 then return 1 end
local all = redis.call('HGETALL', KEYS[1])
local n, oldest, oldestSeq = 0, nil, nil
for i = 1, #all, 2 do
  if string.sub(all[i], 1, 2) == 'n:' then
    n = n + 1
    local seq = tonumber(all[i + 1]) or 0
    if not oldestSeq or seq < oldestSeq then oldest, oldestSeq = all[i], seq end
  end
end
if n >= tonumber(ARGV[3]) and oldest then redis.call('HDEL', KEYS[1], oldest) end
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('HSET', KEYS[1], ARGV[2], seq)
return 1
`)

// loginSpendScript spends a live login link for the browser holding one of
// its nonces, atomically: two requests racing with the same cookie get one
// session between them.
// KEYS[1] DashLogin. ARGV[1] now (unix ms), ARGV[2] "n:<nonce hash>".
// Returns {member, lang}, or false.
var loginSpendScript = newScript("dashLoginSpend", `
local v = redis.call('HMGET', KEYS[1], 'exp', 'm', 'lang', ARGV[2])
if not v[1] or tonumber(v[1]) <= tonumber(ARGV[1]) or not v[4] then return false end
redis.call('DEL', KEYS[1])
return {v[2], v[3] or ''}
`)

// CreateDashLogin stores a one-time dashboard link for member, by the hash
// of its token, valid until exp (by the app's clock; the key's TTL is the
// same span from now on Redis's).
func (r *Redis) CreateDashLogin(ctx context.Context, tokenHash, member, lang string, exp time.Time) error {
	key := r.keys.DashLogin(tokenHash)
	ttl := max(exp.Sub(r.opts.Clock.Now()), time.Second)
	_, err := r.c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, key, "m", member, "lang", lang, "exp", strconv.FormatInt(exp.UnixMilli(), 10))
		p.PExpire(ctx, key, ttl)
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: create dashboard login: %w", err)
	}
	return nil
}

// SeeDashLogin records nonceHash for the link tokenHash if it is live, and
// reports whether it did. The link is not spent.
func (r *Redis) SeeDashLogin(ctx context.Context, tokenHash, nonceHash string, now time.Time) (bool, error) {
	n, err := loginSeeScript.Run(ctx, r.c, []string{r.keys.DashLogin(tokenHash)},
		now.UnixMilli(), "n:"+nonceHash, maxLoginNonces).Int()
	if err != nil {
		return false, fmt.Errorf("store: see dashboard login: %w", err)
	}
	return n == 1, nil
}

// SpendDashLogin spends the link tokenHash for the holder of nonceHash: the
// member and language it was made for, ok false if it is unknown, spent,
// stale or the nonce is not one it gave.
func (r *Redis) SpendDashLogin(ctx context.Context, tokenHash, nonceHash string, now time.Time) (member, lang string, ok bool, err error) {
	v, err := loginSpendScript.Run(ctx, r.c, []string{r.keys.DashLogin(tokenHash)}, now.UnixMilli(), "n:"+nonceHash).StringSlice()
	if errors.Is(err, redis.Nil) {
		return "", "", false, nil
	}
	if err != nil {
		return "", "", false, fmt.Errorf("store: spend dashboard login: %w", err)
	}
	if len(v) != 2 || v[0] == "" {
		return "", "", false, nil
	}
	return v[0], v[1], true, nil
}

// maxDashSessions is how many live dashboard sessions one member keeps: a
// sixth login ends the oldest.
const maxDashSessions = 5

// sessionAddScript lists a new session in its member's index, atomically:
// drops the expired entries, adds the new one and, beyond ARGV[4] live
// sessions, drops the oldest and returns their hashes for the caller to
// delete. An index written as a SET (before it was a ZSET) is converted,
// its entries scored as the new session (an upper bound of their expiry).
// KEYS[1] DashMemberSessions. ARGV[1] now (unix ms), ARGV[2] the session's
// hash, ARGV[3] its expiry (unix ms), ARGV[4] maxDashSessions, ARGV[5] the
// index's TTL (ms).
var sessionAddScript = newScript("dashSessionAdd", `
if redis.call('TYPE', KEYS[1]).ok == 'set' then
  local old = redis.call('SMEMBERS', KEYS[1])
  redis.call('DEL', KEYS[1])
  for _, h in ipairs(old) do redis.call('ZADD', KEYS[1], ARGV[3], h) end
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
local over = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[4])
local evicted = {}
if over > 0 then
  evicted = redis.call('ZRANGE', KEYS[1], 0, over - 1)
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, over - 1)
end
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return evicted
`)

// sessionIndexTakeScript empties a member's index and returns its hashes
// (a ZSET, or a SET written before it was one). KEYS[1] DashMemberSessions.
var sessionIndexTakeScript = newScript("dashSessionIndexTake", `
local hs
if redis.call('TYPE', KEYS[1]).ok == 'set' then
  hs = redis.call('SMEMBERS', KEYS[1])
else
  hs = redis.call('ZRANGE', KEYS[1], 0, -1)
end
redis.call('DEL', KEYS[1])
return hs
`)

// sessionIndexRemoveScript removes one hash from a member's index (a ZSET,
// or a SET written before it was one). KEYS[1] DashMemberSessions, ARGV[1]
// the hash.
var sessionIndexRemoveScript = newScript("dashSessionIndexRemove", `
if redis.call('TYPE', KEYS[1]).ok == 'set' then
  return redis.call('SREM', KEYS[1], ARGV[1])
end
return redis.call('ZREM', KEYS[1], ARGV[1])
`)

// CreateDashSession stores a dashboard session of member by the hash of its
// id, data until exp. The member's index is written first, so that a
// revocation running meanwhile never misses the session; it keeps the
// member's newest maxDashSessions live sessions, and the ones it drops are
// deleted with the new one's write.
func (r *Redis) CreateDashSession(ctx context.Context, idHash, member string, data []byte, exp time.Time) error {
	now := r.opts.Clock.Now()
	ttl := exp.Sub(now)
	if ttl <= 0 {
		return fmt.Errorf("store: create dashboard session: expires at %s, in the past", exp.Format(time.RFC3339))
	}
	// The index and the sessions are in different slots: the script
	// first, then one pipeline of single-key commands.
	evicted, err := sessionAddScript.Run(ctx, r.c, []string{r.keys.DashMemberSessions(member)},
		now.UnixMilli(), idHash, exp.UnixMilli(), maxDashSessions, ttl.Milliseconds()).StringSlice()
	if err != nil {
		return fmt.Errorf("store: create dashboard session: %w", err)
	}
	if _, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, h := range evicted {
			p.Del(ctx, r.keys.DashSession(h))
		}
		p.Set(ctx, r.keys.DashSession(idHash), data, ttl)
		return nil
	}); err != nil {
		return fmt.Errorf("store: create dashboard session: %w", err)
	}
	return nil
}

// DashSession returns the data of the session idHash, ok false if there is
// none (never made, logged out, revoked or expired).
func (r *Redis) DashSession(ctx context.Context, idHash string) ([]byte, bool, error) {
	b, err := r.c.Get(ctx, r.keys.DashSession(idHash)).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("store: dashboard session: %w", err)
	}
	return b, true, nil
}

// DeleteDashSession ends the session idHash of member (logout).
func (r *Redis) DeleteDashSession(ctx context.Context, idHash, member string) error {
	if err := r.c.Del(ctx, r.keys.DashSession(idHash)).Err(); err != nil {
		return fmt.Errorf("store: delete dashboard session: %w", err)
	}
	if err := sessionIndexRemoveScript.Run(ctx, r.c, []string{r.keys.DashMemberSessions(member)}, idHash).Err(); err != nil {
		return fmt.Errorf("store: delete dashboard session: %w", err)
	}
	return nil
}

// revokeDashboard ends every dashboard session of member: called wherever a
// member is removed (RemoveMember, Forget), so a removed member's open page
// stops working at once. The dashboard's re-check of the member on every
// request refuses them anyway; this also frees the keys.
func (r *Redis) revokeDashboard(ctx context.Context, member string) error {
	hashes, err := sessionIndexTakeScript.Run(ctx, r.c, []string{r.keys.DashMemberSessions(member)}).StringSlice()
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("store: revoke dashboard sessions of %s: %w", member, err)
	}
	if len(hashes) == 0 {
		return nil
	}
	// One pipeline, one DEL a key: the sessions are in different slots.
	if _, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, h := range hashes {
			p.Del(ctx, r.keys.DashSession(h))
		}
		return nil
	}); err != nil {
		return fmt.Errorf("store: revoke dashboard sessions of %s: %w", member, err)
	}
	return nil
}
