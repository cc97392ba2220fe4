package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hangxomso/hangxom/desk"
	"github.com/hangxomso/hangxom/flows"
)

var _ desk.StaffStore = (*Redis)(nil)

// Member returns a team member or coordinator.
func (r *Redis) Member(ctx context.Context, id string) (flows.Member, bool, error) {
	raw, err := r.c.HGet(ctx, r.keys.Members(), id).Result()
	if errors.Is(err, redis.Nil) {
		return flows.Member{}, false, nil
	}
	if err != nil {
		return flows.Member{}, false, fmt.Errorf("store: member %s: %w", id, err)
	}
	var m flows.Member
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return flows.Member{}, false, fmt.Errorf("store: member %s: %w", id, err)
	}
	return m, true, nil
}

// PutMember stores a member.
func (r *Redis) PutMember(ctx context.Context, m flows.Member) error {
	raw, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("store: put member %s: %w", m.ID, err)
	}
	if err := r.c.HSet(ctx, r.keys.Members(), m.ID, raw).Err(); err != nil {
		return fmt.Errorf("store: put member %s: %w", m.ID, err)
	}
	return nil
}

// RemoveMember takes a member's role away.
func (r *Redis) RemoveMember(ctx context.Context, id string) error {
	if err := r.c.HDel(ctx, r.keys.Members(), id).Err(); err != nil {
		return fmt.Errorf("store: remove member %s: %w", id, err)
	}
	return r.revokeDashboard(ctx, id)
}

// Members returns every member, sorted by id.
func (r *Redis) Members(ctx context.Context) ([]flows.Member, error) {
	all, err := r.c.HGetAll(ctx, r.keys.Members()).Result()
	if err != nil {
		return nil, fmt.Errorf("store: members: %w", err)
	}
	out := make([]flows.Member, 0, len(all))
	for id, raw := range all {
		var m flows.Member
		if err := json.Unmarshal([]byte(raw), &m); err != nil {
			return nil, fmt.Errorf("store: member %s: %w", id, err)
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// CreateInvite stores an invite until it expires.
func (r *Redis) CreateInvite(ctx context.Context, inv flows.Invite) error {
	ttl := inv.ExpiresAt.Sub(r.opts.Clock.Now())
	if ttl <= 0 || inv.Uses <= 0 {
		return fmt.Errorf("store: create invite: already expired or used up")
	}
	raw, err := json.Marshal(inv)
	if err != nil {
		return fmt.Errorf("store: create invite: %w", err)
	}
	ok, err := r.c.SetNX(ctx, r.keys.Invite(inv.Code), raw, ttl).Result()
	if err != nil {
		return fmt.Errorf("store: create invite: %w", err)
	}
	if !ok {
		return fmt.Errorf("store: create invite: code already in use")
	}
	return nil
}

// RedeemInvite uses one use of an invite, atomically: two people racing for
// the last use cannot both get it.
func (r *Redis) RedeemInvite(ctx context.Context, code string) (flows.Invite, error) {
	raw, err := redeemScript.Run(ctx, r.c, []string{r.keys.Invite(code)}).Text()
	if errors.Is(err, redis.Nil) {
		return flows.Invite{}, flows.ErrInviteInvalid
	}
	if err != nil {
		return flows.Invite{}, fmt.Errorf("store: redeem invite: %w", err)
	}
	var inv flows.Invite
	if err := json.Unmarshal([]byte(raw), &inv); err != nil {
		return flows.Invite{}, fmt.Errorf("store: redeem invite: %w", err)
	}
	return inv, nil
}

// redeemScript takes one use of an invite.
//
//	KEYS[1] Keys.Invite(code)
//
// It returns the invite as it was (JSON), or nil if there is none; the key
// is deleted with its last use and otherwise keeps its TTL.
var redeemScript = newScript("redeem", `
local raw = redis.call('GET', KEYS[1])
if not raw then
  return false
end
local inv = cjson.decode(raw)
local uses = tonumber(inv.uses) or 0
if uses <= 1 then
  redis.call('DEL', KEYS[1])
  if uses < 1 then
    return false
  end
else
  inv.uses = uses - 1
  redis.call('SET', KEYS[1], cjson.encode(inv), 'KEEPTTL')
end
return raw
`)

// Open returns the residents (by pseudonym) with an unfinished flow in a
// hamlet, with their last activity, oldest first.
func (r *Redis) Open(ctx context.Context, hamlet, flow string) ([]flows.OpenEntry, error) {
	zs, err := r.c.ZRangeWithScores(ctx, r.keys.Open(hamlet, flow), 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("store: open %s/%s: %w", hamlet, flow, err)
	}
	out := make([]flows.OpenEntry, 0, len(zs))
	for _, z := range zs {
		p, _ := z.Member.(string)
		out = append(out, flows.OpenEntry{Pseudonym: p, Last: time.UnixMilli(int64(z.Score))})
	}
	return out, nil
}

// HamletResidents returns the pseudonyms of the residents filed under a
// hamlet.
func (r *Redis) HamletResidents(ctx context.Context, hamlet string) ([]string, error) {
	ps, err := r.c.SMembers(ctx, r.keys.HamletResidents(hamlet)).Result()
	if err != nil {
		return nil, fmt.Errorf("store: residents of %s: %w", hamlet, err)
	}
	sort.Strings(ps)
	return ps, nil
}
