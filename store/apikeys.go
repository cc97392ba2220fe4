package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hangxomso/hangxom/flows"
)

// The open feed's keys (issue 20, /api/v1 in package dashboard). Like the
// dashboard's secrets, a key arrives here already hashed (hex SHA-256):
// the store never sees it, and its id is the hash's first apiKeyIDLen hex
// digits, so the id names a key in lists and logs without giving it away.

// apiKeyIDLen is the length of a key's id: 48 bits of its hash, unique
// among the few keys a province makes (two would share one with a chance
// of about n²/2⁴⁹).
const apiKeyIDLen = 12

// revokeAPIKeyScript deletes every key whose hash starts with the id ARGV[1]
// (its id is that prefix), in one step, so a revocation racing a lookup
// leaves no moment in which half of it is done. It reads only the field
// names: the ids need no JSON decoding.
// KEYS[1] APIKeys. Returns how many keys it deleted (0: no such id).
var revokeAPIKeyScript = newScript("apiKeyRevoke", `
local n = 0
for _, h in ipairs(redis.call('HKEYS', KEYS[1])) do
  if string.sub(h, 1, string.len(ARGV[1])) == ARGV[1] then
    n = n + redis.call('HDEL', KEYS[1], h)
  end
end
return n
`)

// validKeyHash: 64 lowercase hex digits, what SHA-256 in hex is. The id is
// cut from it, so anything else is refused before Redis is asked.
func validKeyHash(h string) bool {
	if len(h) != 64 {
		return false
	}
	for _, c := range h {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// CreateAPIKey stores a key for area by its hash, named name (free text for
// the people who manage the keys, "" allowed), made at created, and
// returns what it stored. A hash already stored is an error: it is never
// replaced.
func (r *Redis) CreateAPIKey(ctx context.Context, keyHash, area, name string, created time.Time) (flows.APIKey, error) {
	if !validKeyHash(keyHash) {
		return flows.APIKey{}, fmt.Errorf("store: create API key: the hash is not hex SHA-256")
	}
	k := flows.APIKey{ID: keyHash[:apiKeyIDLen], Area: area, Name: name, Created: created.UTC().Truncate(time.Second)}
	b, err := json.Marshal(k)
	if err != nil {
		return flows.APIKey{}, fmt.Errorf("store: create API key %s: %w", k.ID, err)
	}
	ok, err := r.c.HSetNX(ctx, r.keys.APIKeys(), keyHash, b).Result()
	if err != nil {
		return flows.APIKey{}, fmt.Errorf("store: create API key %s: %w", k.ID, err)
	}
	if !ok {
		return flows.APIKey{}, fmt.Errorf("store: create API key %s: already stored", k.ID)
	}
	return k, nil
}

// APIKey finds the key whose hash is keyHash and, in the same round trip,
// takes one request from the rate limit of its id (Allow's GCRA, on
// Keys.Rate("api:"+id)): on average ratePerSec a second, bursts of burst.
// found is false for a key never made or revoked; allowed false, with the
// wait, when the key is over its rate. The limit is taken whether or not
// the key is found (the id is known from the hash before the answer), so
// an unknown key costs one short-lived rate key and nothing else.
func (r *Redis) APIKey(ctx context.Context, keyHash string, ratePerSec float64, burst int) (k flows.APIKey, found, allowed bool, retryAfter time.Duration, err error) {
	if !validKeyHash(keyHash) {
		return flows.APIKey{}, false, false, 0, nil
	}
	if !(ratePerSec > 0) || math.IsInf(ratePerSec, 1) {
		return flows.APIKey{}, false, false, 0, fmt.Errorf("store: API key: rate %v is not a positive number", ratePerSec)
	}
	id := keyHash[:apiKeyIDLen]
	var get *redis.StringCmd
	var rate *redis.Cmd
	_, err = r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		get = p.HGet(ctx, r.keys.APIKeys(), keyHash)
		// Eval, not EvalSha: a pipeline cannot fall back on NOSCRIPT.
		rate = rateScript.Eval(ctx, p, []string{r.keys.Rate("api:" + id)}, r.opts.Clock.Now().UnixMicro(),
			strconv.FormatFloat(1e6/ratePerSec, 'f', 3, 64), max(burst, 1))
		return nil
	})
	if err != nil && !isNil(err) {
		return flows.APIKey{}, false, false, 0, fmt.Errorf("store: API key %s: %w", id, err)
	}
	raw, err := get.Result()
	if errors.Is(err, redis.Nil) {
		return flows.APIKey{}, false, false, 0, nil
	}
	if err != nil {
		return flows.APIKey{}, false, false, 0, fmt.Errorf("store: API key %s: %w", id, err)
	}
	if err := json.Unmarshal([]byte(raw), &k); err != nil {
		return flows.APIKey{}, false, false, 0, fmt.Errorf("store: API key %s: %w", id, err)
	}
	res, err := rate.Slice()
	if err != nil {
		return flows.APIKey{}, false, false, 0, fmt.Errorf("store: API key %s: rate: %w", id, err)
	}
	if len(res) != 2 {
		return flows.APIKey{}, false, false, 0, fmt.Errorf("store: API key %s: rate: unexpected reply %v", id, res)
	}
	ok, _ := res[0].(int64)
	wait, _ := res[1].(string)
	us, err := strconv.ParseInt(wait, 10, 64)
	if err != nil {
		return flows.APIKey{}, false, false, 0, fmt.Errorf("store: API key %s: rate: unexpected reply %v", id, res)
	}
	return k, true, ok == 1, time.Duration(us) * time.Microsecond, nil
}

// APIKeys lists the stored keys, oldest first (then by id).
func (r *Redis) APIKeys(ctx context.Context) ([]flows.APIKey, error) {
	all, err := r.c.HGetAll(ctx, r.keys.APIKeys()).Result()
	if err != nil {
		return nil, fmt.Errorf("store: API keys: %w", err)
	}
	out := make([]flows.APIKey, 0, len(all))
	for h, raw := range all {
		var k flows.APIKey
		if err := json.Unmarshal([]byte(raw), &k); err != nil {
			return nil, fmt.Errorf("store: API key %s: %w", h[:min(len(h), apiKeyIDLen)], err)
		}
		out = append(out, k)
	}
	slices.SortFunc(out, func(a, b flows.APIKey) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// RevokeAPIKey deletes the key id; ok is false when there is none. The
// next request with it is refused (401).
func (r *Redis) RevokeAPIKey(ctx context.Context, id string) (bool, error) {
	id = strings.ToLower(strings.TrimSpace(id))
	if len(id) != apiKeyIDLen || !validKeyHash(id+strings.Repeat("0", 64-apiKeyIDLen)) {
		return false, nil
	}
	n, err := revokeAPIKeyScript.Run(ctx, r.c, []string{r.keys.APIKeys()}, id).Int()
	if err != nil {
		return false, fmt.Errorf("store: revoke API key %s: %w", id, err)
	}
	return n > 0, nil
}
