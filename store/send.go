package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hangxomso/hangxom/flows"
)

// claimScript takes the resident's send lock and reads the outbox in one
// round trip; an empty outbox releases the lock at once.
//
//	KEYS[1] Keys.SendLock
//	KEYS[2] Keys.Outbox
//	ARGV[1] the lock token
//	ARGV[2] LockTTL in ms
//
// It returns false when the lock is held by someone else, otherwise the
// outbox's replies (possibly none).
var claimScript = redis.NewScript(`
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return false
end
local replies = redis.call('LRANGE', KEYS[2], 0, -1)
if #replies == 0 then
  redis.call('DEL', KEYS[1])
end
return replies
`)

// paceMarkScript is one GCRA step of the chat's pace (as rateScript) and,
// when the pace allows, BeginSend's attempt marker, in one round trip.
//
//	KEYS[1] Keys.Sent
//	KEYS[2] Keys.Pace
//	KEYS[3] Keys.KeyboardMessage
//	ARGV[1] the reply id
//	ARGV[2] OutboxTTL in ms
//	ARGV[3] now, unix µs
//	ARGV[4] the emission interval in µs
//	ARGV[5] the burst, ≥ 1
//
// It returns {"wait", µs} when the pace allows nothing now (no marker is
// set), otherwise {"new", the message now carrying the resident's buttons
// or ""} or the marker found ({"attempt"} or {"sent"}).
var paceMarkScript = redis.NewScript(`
local state = redis.call('HGET', KEYS[1], ARGV[1])
if state then
  return {state}
end
local now, interval, burst = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local tat = tonumber(redis.call('GET', KEYS[2]) or '')
if not tat or tat < now then
  tat = now
end
local nextTat = tat + interval
local allowAt = nextTat - burst * interval
if now < allowAt then
  return {'wait', string.format('%.0f', math.ceil(allowAt - now))}
end
redis.call('SET', KEYS[2], string.format('%.0f', nextTat), 'PX', string.format('%.0f', math.ceil((nextTat - now) / 1000)))
redis.call('HSET', KEYS[1], ARGV[1], 'attempt')
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {'new', redis.call('GET', KEYS[3]) or ''}
`)

// finishScript ends one reply's delivery: popReplyScript's work (mark,
// pop, a conversation reply's markers dropped), then, when asked, records
// the message now carrying the resident's buttons and releases the send
// lock, in one round trip.
//
//	KEYS[1] Keys.Outbox
//	KEYS[2] Keys.Sent
//	KEYS[3] Keys.KeyboardMessage
//	KEYS[4] Keys.SendLock
//	ARGV[1] the reply id
//	ARGV[2] "sent" to mark the reply sent first, "" to leave the markers
//	ARGV[3] OutboxTTL in ms
//	ARGV[4] the message id now carrying buttons, or ""
//	ARGV[5] the lock token to release, or ""
//	KEYS[5] Keys.OutboxIndex, on a single node only
//	ARGV[6] the resident, with KEYS[5]
//
// With KEYS[5] an outbox left empty leaves the outbox index in the same
// script (no Commit can come between on one node); on a cluster the index
// is elsewhere and the caller runs unindexOutbox. It returns the outbox's
// length afterwards.
var finishScript = redis.NewScript(`
if ARGV[2] ~= '' then
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
end
local head = redis.call('LINDEX', KEYS[1], 0)
if head then
  local ok, reply = pcall(cjson.decode, head)
  if ok and type(reply) == 'table' and reply.id == ARGV[1] then
    redis.call('LPOP', KEYS[1])
    if string.find(ARGV[1], '#', 1, true) then
      local id = ARGV[1]
      redis.call('HDEL', KEYS[2], id, id .. '~a', id .. '~b', id .. '~c', id .. '~d', id .. '~e')
    end
  end
end
if ARGV[4] ~= '' then
  redis.call('SET', KEYS[3], ARGV[4], 'PX', ARGV[3])
end
if ARGV[5] ~= '' and redis.call('GET', KEYS[4]) == ARGV[5] then
  redis.call('DEL', KEYS[4])
end
local left = redis.call('LLEN', KEYS[1])
if left == 0 and KEYS[5] then
  redis.call('ZREM', KEYS[5], ARGV[6])
end
return left
`)

// SendClaim is a resident's outbox taken for sending under the send lock
// (ClaimOutbox): the replies read, and the calls that deliver them in as few
// round trips as the protocol allows (one to pace and mark a reply, one to
// finish it, the last finish also releasing the lock).
type SendClaim struct {
	r        *Redis
	resident string
	token    string
	replies  []flows.Reply
	once     sync.Once
}

// ClaimOutbox takes the resident's send lock and reads the outbox in one
// round trip, without waiting: flows.ErrLocked (wrapped) when another
// sender holds the lock. An empty outbox gives a claim with no replies whose
// lock is already released.
func (r *Redis) ClaimOutbox(ctx context.Context, resident string) (*SendClaim, error) {
	c := &SendClaim{r: r, resident: resident, token: randomHex(16)}
	raws, err := claimScript.Run(ctx, r.c, []string{r.keys.SendLock(resident), r.keys.Outbox(resident)},
		c.token, r.opts.LockTTL.Milliseconds()).StringSlice()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("store: claim outbox %s: %w", resident, flows.ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("store: claim outbox %s: %w", resident, err)
	}
	if len(raws) == 0 {
		c.once.Do(func() {}) // released by the script
		return c, nil
	}
	c.replies = make([]flows.Reply, 0, len(raws))
	for _, raw := range raws {
		reply, err := decodeReply(raw)
		if err != nil {
			c.Release(ctx)
			return nil, fmt.Errorf("store: claim outbox %s: %w", resident, err)
		}
		c.replies = append(c.replies, reply)
	}
	return c, nil
}

// Replies are the replies read, oldest first.
func (c *SendClaim) Replies() []flows.Reply { return c.replies }

// Begin paces the chat (rate messages a second, burst) and, if the pace
// allows, marks an attempt at replyID, as BeginSend does, and returns the
// message now carrying the resident's buttons (0 when none), so the channel
// can take them off once the new ones are sent. A wait > 0 means the pace
// allows nothing for that long and nothing was marked; a reply marked
// before is reported without using the pace.
func (c *SendClaim) Begin(ctx context.Context, replyID string, rate float64, burst int) (SendState, time.Duration, int, error) {
	interval := 1e6 / rate
	now := c.r.opts.Clock.Now().UnixMicro()
	k := c.r.keys
	res, err := paceMarkScript.Run(ctx, c.r.c, []string{k.Sent(c.resident), k.Pace(c.resident), k.KeyboardMessage(c.resident)},
		replyID, OutboxTTL.Milliseconds(), now, strconv.FormatFloat(interval, 'f', 3, 64), max(burst, 1)).StringSlice()
	if err != nil {
		return 0, 0, 0, fmt.Errorf("store: begin send %s %s: %w", c.resident, replyID, err)
	}
	switch res[0] {
	case "wait":
		us, _ := strconv.ParseInt(res[1], 10, 64)
		return 0, max(time.Duration(us)*time.Microsecond, time.Millisecond), 0, nil
	case "new":
		kb := 0
		if len(res) > 1 {
			kb, _ = strconv.Atoi(res[1])
		}
		return SendNew, 0, kb, nil
	case "sent":
		return SendDone, 0, 0, nil
	}
	return SendUncertain, 0, 0, nil
}

// Finish marks replyID sent (sent true) or leaves its markers (false, a
// reply given up) and pops it if it is at the head of the outbox; when
// keyboardMsg > 0 it records that message as the one with the resident's
// buttons; release ends the claim. An outbox left empty leaves the outbox
// index.
func (c *SendClaim) Finish(ctx context.Context, replyID string, sent bool, keyboardMsg int, release bool) error {
	mark, kb, token := "", "", ""
	if sent {
		mark = "sent"
	}
	if keyboardMsg > 0 {
		kb = strconv.Itoa(keyboardMsg)
	}
	if release {
		token = c.token
	}
	k := c.r.keys
	keys := []string{k.Outbox(c.resident), k.Sent(c.resident), k.KeyboardMessage(c.resident), k.SendLock(c.resident)}
	args := []any{replyID, mark, OutboxTTL.Milliseconds(), kb, token}
	_, cluster := c.r.c.(*redis.ClusterClient)
	if !cluster {
		keys = append(keys, k.OutboxIndex())
		args = append(args, c.resident)
	}
	left, err := finishScript.Run(ctx, c.r.c, keys, args...).Int64()
	if err != nil {
		return fmt.Errorf("store: finish send %s %s: %w", c.resident, replyID, err)
	}
	if release {
		c.once.Do(func() {})
	}
	if left == 0 && cluster {
		if err := c.r.unindexOutbox(ctx, c.resident); err != nil {
			return fmt.Errorf("store: finish send %s %s: %w", c.resident, replyID, err)
		}
	}
	return nil
}

// Release frees the send lock if this claim still holds it; calling it
// again, or after a Finish that released, does nothing.
func (c *SendClaim) Release(ctx context.Context) {
	c.once.Do(func() {
		c.r.unlocker(ctx, c.r.keys.SendLock(c.resident), c.token)()
	})
}
