package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hangxomso/hangxom/delivery"
	"github.com/hangxomso/hangxom/flows"
)

// paceMarkLua is one GCRA step of the chat's pace (gcraLua) and, when the
// pace allows, BeginSend's attempt marker for the reply id in the Lua
// variable id, with KEYS sent, pace and kbmsg and ARGV now, interval and
// burst at the indexes given, and mark the Lua expression of the marker's
// value (attemptLua). It sets state ("new", "attempt", "sent" or "wait")
// and extra (µs to wait, or the message now carrying the resident's
// buttons, or ""). claimScript and paceMarkScript share it.
func paceMarkLua(sent, pace, kbmsg, now, interval, burst, ttl int, mark string) string {
	arg := func(i int) string { return fmt.Sprintf("ARGV[%d]", i) }
	return fmt.Sprintf(`
local state, extra = redis.call('HGET', KEYS[%[1]d], id), ''
if state and string.sub(state, 1, 8) == 'attempt:' then
  state = 'attempt'
end
if not state then
%[4]s
  if not gcraOK then
    state, extra = 'wait', gcraWait
  else
    redis.call('HSET', KEYS[%[1]d], id, %[5]s)
    redis.call('PEXPIRE', KEYS[%[1]d], ARGV[%[3]d])
    state, extra = 'new', redis.call('GET', KEYS[%[2]d]) or ''
  end
end
`, sent, kbmsg, ttl, gcraLua(fmt.Sprintf("KEYS[%d]", pace), arg(now), arg(interval), arg(burst)), mark)
}

// attemptLua is the attempt marker's value as paceMarkLua writes it:
// "attempt", or under claimScript "attempt:" and the claim's lock token,
// so that a claim whose answer was lost can later tell the head's marker
// it wrote from one another sender left (see Redis.lost). Every reader
// takes "attempt:…" for "attempt".
const attemptLua = `'attempt'`

// claimScript takes the resident's send lock and reads the outbox in one
// round trip; an empty outbox releases the lock at once. When the head
// reply is a plain one (not bulk, one message: at most maxText bytes), it
// also paces and marks it as paceMarkScript would, so that delivering a
// one-message reply costs this and finishScript only.
//
//	KEYS[1] Keys.SendLock
//	KEYS[2] Keys.Outbox
//	KEYS[3] Keys.Sent
//	KEYS[4] Keys.Pace
//	KEYS[5] Keys.ButtonsMessage
//	ARGV[1] the lock token
//	ARGV[2] LockTTL in ms
//	ARGV[3] now, unix µs
//	ARGV[4] the pace's emission interval in µs
//	ARGV[5] the pace's burst, ≥ 1
//	ARGV[6] OutboxTTL in ms
//	ARGV[7] the most bytes a one-message reply has
//	ARGV[9] the most bytes a one-message reply with an image or a
//	        document has (negative: none is one message)
//	ARGV[10] the most buttons one message carries (0: no limit)
//	ARGV[11] the most characters of a button's label (0: no limit): past
//	        it the screen is numbered, and must still be one message
//	ARGV[8] the lock tokens of this process's earlier claims of the
//	        resident whose answer was lost, space-separated, or '': a
//	        head's marker one of them wrote is taken back (that claim's
//	        sender never saw the reply, so it was not sent)
//
// It returns false when the lock is held by someone else, otherwise {the
// head's state or "none", extra (see paceMarkLua), the outbox's replies…}.
var claimScript = newScript("claim", `
-- oneScreen: the reply is one message with its buttons. More than most
-- buttons are paged by delivery.Plan (the reply's id then on a later
-- message); a label past title characters numbers the screen, its list
-- added to the text, which must then still be one message: counted in
-- bytes (at least the characters), with room for each line's number.
local function oneScreen(text, buttons, most, title, one)
  if type(buttons) ~= 'table' then
    return true
  end
  if most > 0 and #buttons > most then
    return false
  end
  if title > 0 then
    local n = string.len(text) + 2
    for _, b in ipairs(buttons) do
      if type(b) == 'table' and type(b.l) == 'string' then
        n = n + string.len(b.l) + 6
      end
    end
    return n <= one
  end
  return true
end
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return false
end
local replies = redis.call('LRANGE', KEYS[2], 0, -1)
if #replies == 0 then
  redis.call('DEL', KEYS[1])
  return {'none', ''}
end
local out = {'none', ''}
local ok, head = pcall(cjson.decode, replies[1])
if ok and type(head) == 'table' and type(head.id) == 'string' and type(head.text) == 'string'
    and head.bulk ~= true and string.len(head.text) <= tonumber(ARGV[7])
    and ((head.image == nil or head.image == '') and head.document == nil
         or string.len(head.text) <= tonumber(ARGV[9]))
    and oneScreen(head.text, head.buttons, tonumber(ARGV[10]), tonumber(ARGV[11]), tonumber(ARGV[7])) then
  local id = head.id
  if ARGV[8] ~= '' then
    local m = redis.call('HGET', KEYS[3], id)
    if m and string.sub(m, 1, 8) == 'attempt:'
        and string.find(' ' .. ARGV[8] .. ' ', ' ' .. string.sub(m, 9) .. ' ', 1, true) then
      redis.call('HDEL', KEYS[3], id)
    end
  end
`+paceMarkLua(3, 4, 5, 3, 4, 5, 6, `'attempt:' .. ARGV[1]`)+`
  if state ~= 'attempt' then
    -- An attempt found is looked at again by Begin: the sender may know it
    -- never left (and unmark it first).
    out = {state, extra}
  end
end
for _, r in ipairs(replies) do
  out[#out + 1] = r
end
return out
`)

// paceMarkScript is claimScript's pace and mark for a later reply.
//
//	KEYS[1] Keys.Sent
//	KEYS[2] Keys.Pace
//	KEYS[3] Keys.ButtonsMessage
//	ARGV[1] the reply id
//	ARGV[2] OutboxTTL in ms
//	ARGV[3] now, unix µs
//	ARGV[4] the emission interval in µs
//	ARGV[5] the burst, ≥ 1
//
// It returns {state, extra} (see paceMarkLua).
var paceMarkScript = newScript("pacemark", `
local id = ARGV[1]
`+paceMarkLua(1, 2, 3, 3, 4, 5, 2, attemptLua)+`
return {state, extra}
`)

// finishScript ends one reply's delivery: popReplyScript's work (mark,
// pop, a conversation reply's markers dropped), then, when asked, records
// the message now carrying the resident's buttons and releases the send
// lock, in one round trip.
//
//	KEYS[1] Keys.Outbox
//	KEYS[2] Keys.Sent
//	KEYS[3] Keys.ButtonsMessage
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
var finishScript = newScript("finish", popReplyLua+`
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

// finishNextScript is finishScript for a reply that is not the last of the
// claim, without the lock's release and the outbox index: it also paces and
// marks the next reply (or part) as paceMarkScript would, so that sending a
// reply of several messages costs one round trip a message, not two.
//
//	KEYS[1] Keys.Outbox
//	KEYS[2] Keys.Sent
//	KEYS[3] Keys.ButtonsMessage
//	KEYS[4] Keys.Pace
//	ARGV[1] the reply id
//	ARGV[2] "sent" to mark the reply sent first, "" to leave the markers
//	ARGV[3] OutboxTTL in ms
//	ARGV[4] the message id now carrying buttons, or ""
//	ARGV[5] the next reply's (or part's) id
//	ARGV[6] now, unix µs
//	ARGV[7] the pace's emission interval in µs
//	ARGV[8] the pace's burst, ≥ 1
//
// It returns {the outbox's length, the next's state, extra} (see
// paceMarkLua).
var finishNextScript = newScript("finishnext", popReplyLua+`
if ARGV[4] ~= '' then
  redis.call('SET', KEYS[3], ARGV[4], 'PX', ARGV[3])
end
local id = ARGV[5]
`+paceMarkLua(2, 4, 3, 6, 7, 8, 3, attemptLua)+`
return {redis.call('LLEN', KEYS[1]), state, extra}
`)

// The store is delivery's store, and its claims delivery's claims.
var (
	_ delivery.Store = (*Redis)(nil)
	_ delivery.Claim = (*SendClaim)(nil)
)

// SendClaim is a resident's outbox taken for sending under the send lock
// (ClaimOutbox): the replies read, and the calls that deliver them in as few
// round trips as the protocol allows (the claim paces and marks the first
// reply; one more to pace and mark each later one; one to finish each, the
// last finish also releasing the lock).
type SendClaim struct {
	r        *Redis
	resident string
	token    string
	replies  []flows.Reply
	once     sync.Once
	first    *paced // the next reply's pace and mark, done by the claim or a Finish
	next     *nextReply
}

// nextReply is the reply the next Finish paces and marks (SendClaim.Next).
type nextReply struct {
	id   string
	pace delivery.Pace
}

// paced is the outcome of pacing and marking one reply.
type paced struct {
	id    string
	state delivery.State
	wait  time.Duration
	kb    delivery.Handle
}

// ClaimOutbox takes the resident's send lock and reads the outbox in one
// round trip, without waiting: flows.ErrLocked (wrapped) when another
// sender holds the lock. It also paces the chat (p) and marks the first
// reply, when that is surely one message on the channel (l: see
// delivery.Store), so that its Begin costs nothing. An empty outbox gives a claim with no
// replies whose lock is already released.
func (r *Redis) ClaimOutbox(ctx context.Context, resident string, p delivery.Pace, l delivery.Limits) (delivery.Claim, error) {
	c := &SendClaim{r: r, resident: resident, token: randomHex(16)}
	k := r.keys
	lost, _ := r.lost.LoadAndDelete(resident)
	lostTokens, _ := lost.(string)
	claim := &scriptCall{script: claimScript,
		keys: []string{k.SendLock(resident), k.Outbox(resident), k.Sent(resident), k.Pace(resident), k.ButtonsMessage(resident)},
		args: []any{c.token, r.opts.LockTTL.Milliseconds(), r.opts.Clock.Now().UnixMicro(), interval(p), max(p.Burst, 1),
			OutboxTTL.Milliseconds(), l.OneMessage, lostTokens, l.CaptionBytes(), l.MaxButtons, l.MaxTitle}}
	run := func() ([]string, error) {
		return claimScript.Run(ctx, r.c, claim.keys, claim.args...).StringSlice()
	}
	var res []string
	var err error
	if h, ok := r.fin.take(resident); ok {
		// The resident's last claim's Finish, held (DeferFinishes): first,
		// in the same round trip; it releases the lock this claim takes.
		fin := r.finishCall(resident, h)
		_ = r.evalAll(ctx, []*scriptCall{fin, claim}) // each call's error is in its cmd
		if fin.cmd.Err() != nil {
			r.fin.putBack(resident, h)
		} else if err := r.afterFinish(ctx, resident, fin.cmd); err != nil {
			r.log.Warn("store: outbox index left stale", "resident", resident, "err", err)
		}
		res, err = claim.cmd.StringSlice()
		if errors.Is(err, redis.Nil) && fin.cmd.Err() == nil {
			// Busy though the Finish released our lock: the Finish ran
			// after the claim (loaded again after NOSCRIPT), or the lock
			// had expired and another sender took it. Ask once more.
			res, err = run()
		}
	} else {
		res, err = run()
	}
	if errors.Is(err, redis.Nil) {
		if lostTokens != "" {
			r.lost.Store(resident, lostTokens) // the claim stopped at the lock
		}
		return nil, fmt.Errorf("store: claim outbox %s: %w", resident, flows.ErrLocked)
	}
	if err != nil {
		var refused redis.Error // Redis answered: the claim did not run
		if lostTokens != "" || !errors.As(err, &refused) {
			// The claim may have run and marked the head with its token,
			// its answer lost: the next claim takes that marker back. The
			// earlier lost tokens are kept, this claim maybe not having
			// run; a few at most, as the lock stops more claims running.
			r.lost.Store(resident, lastTokens(lostTokens, c.token, !errors.As(err, &refused)))
		}
		return nil, fmt.Errorf("store: claim outbox %s: %w", resident, err)
	}
	if len(res) < 2 {
		return nil, fmt.Errorf("store: claim outbox %s: short answer", resident)
	}
	raws := res[2:]
	if len(raws) == 0 {
		c.once.Do(func() {}) // released by the script
		return c, nil
	}
	c.replies = make([]flows.Reply, 0, len(raws))
	for _, raw := range raws {
		reply, ok := r.memo.take(raw)
		var err error
		if !ok {
			reply, err = decodeReply(raw)
		}
		if err != nil {
			c.Release(ctx)
			return nil, fmt.Errorf("store: claim outbox %s: %w", resident, err)
		}
		c.replies = append(c.replies, reply)
	}
	if res[0] != "none" {
		p := pacedFrom(res[0], res[1])
		p.id = c.replies[0].ID
		c.first = &p
	}
	return c, nil
}

// lastTokens is kept with token added (if add), the last four of them.
func lastTokens(kept, token string, add bool) string {
	ts := strings.Fields(kept)
	if add {
		ts = append(ts, token)
	}
	return strings.Join(ts[max(0, len(ts)-4):], " ")
}

// interval is p's emission interval in µs, as the scripts take it: "0" for
// a pace that does not pace (gcraLua allows everything).
func interval(p delivery.Pace) string {
	if p.Off() {
		return "0"
	}
	return strconv.FormatFloat(1e6/p.Rate, 'f', 3, 64)
}

// pacedFrom reads paceMarkLua's state and extra.
func pacedFrom(state, extra string) paced {
	switch state {
	case "wait":
		us, _ := strconv.ParseInt(extra, 10, 64)
		return paced{wait: max(time.Duration(us)*time.Microsecond, time.Millisecond)}
	case "new":
		if extra == "0" {
			extra = "" // written by a version that kept 0 for none
		}
		return paced{state: delivery.StateNew, kb: delivery.Handle(extra)}
	case "sent":
		return paced{state: delivery.StateDone}
	}
	return paced{state: delivery.StateUncertain}
}

// Recheck makes the next Begin of replyID ask Redis again rather than
// return what the claim found (the caller removed the marker meanwhile).
func (c *SendClaim) Recheck(replyID string) {
	if c.first != nil && c.first.id == replyID {
		c.first = nil
	}
}

// Replies are the replies read, oldest first.
func (c *SendClaim) Replies() []flows.Reply { return c.replies }

// Begin paces the chat (p) and, if the pace allows, marks an attempt at
// replyID, as BeginSend does, and returns the message now carrying the
// resident's buttons ("" when none), so the channel
// can take them off once the new ones are sent. A wait > 0 means the pace
// allows nothing for that long and nothing was marked; a reply marked
// before is reported without using the pace. For the first reply the claim
// did this already, and Begin returns its outcome without a round trip.
func (c *SendClaim) Begin(ctx context.Context, replyID string, p delivery.Pace) (delivery.State, time.Duration, delivery.Handle, error) {
	if f := c.first; f != nil && f.id == replyID {
		c.first = nil
		return f.state, f.wait, f.kb, nil
	}
	c.first = nil
	k := c.r.keys
	res, err := paceMarkScript.Run(ctx, c.r.c, []string{k.Sent(c.resident), k.Pace(c.resident), k.ButtonsMessage(c.resident)},
		replyID, OutboxTTL.Milliseconds(), c.r.opts.Clock.Now().UnixMicro(), interval(p), max(p.Burst, 1)).StringSlice()
	if err != nil {
		return 0, 0, "", fmt.Errorf("store: begin send %s %s: %w", c.resident, replyID, err)
	}
	if len(res) < 2 {
		return 0, 0, "", fmt.Errorf("store: begin send %s %s: short answer", c.resident, replyID)
	}
	f := pacedFrom(res[0], res[1])
	return f.state, f.wait, f.kb, nil
}

// Finish marks replyID sent (sent true) or leaves its markers (false, a
// reply given up) and pops it if it is at the head of the outbox; when
// buttons is not "" it records that message as the one with the resident's
// buttons; release ends the claim. An outbox left empty leaves the outbox
// index.
func (c *SendClaim) Finish(ctx context.Context, replyID string, sent bool, buttons delivery.Handle, release bool) error {
	if n := c.next; n != nil && !release {
		c.next = nil
		return c.finishNext(ctx, replyID, sent, buttons, n)
	}
	c.next = nil
	token := ""
	if release {
		token = c.token
	}
	h := heldFinishOf(replyID, sent, buttons, token)
	if release && c.r.fin.hold(c.resident, h) {
		c.once.Do(func() {}) // the held Finish releases the lock
		return nil
	}
	call := c.r.finishCall(c.resident, h)
	call.cmd = call.script.Run(ctx, c.r.c, call.keys, call.args...)
	if err := call.cmd.Err(); err != nil {
		return fmt.Errorf("store: finish send %s %s: %w", c.resident, replyID, err)
	}
	if release {
		c.once.Do(func() {})
	}
	if err := c.r.afterFinish(ctx, c.resident, call.cmd); err != nil {
		return fmt.Errorf("store: finish send %s %s: %w", c.resident, replyID, err)
	}
	return nil
}

// Next makes the next Finish (unless it releases the claim) also pace the
// chat and mark an attempt at replyID, as Begin would, in the same round
// trip; the Begin of replyID that follows then asks nothing. Call it for a
// reply that will be sent right after, with no wait in between.
func (c *SendClaim) Next(replyID string, p delivery.Pace) {
	c.next = &nextReply{id: replyID, pace: p}
}

// finishNext is Finish (without release) with the next reply's pace and
// mark.
func (c *SendClaim) finishNext(ctx context.Context, replyID string, sent bool, buttons delivery.Handle, n *nextReply) error {
	h := heldFinishOf(replyID, sent, buttons, "")
	k := c.r.keys
	res, err := finishNextScript.Run(ctx, c.r.c,
		[]string{k.Outbox(c.resident), k.Sent(c.resident), k.ButtonsMessage(c.resident), k.Pace(c.resident)},
		h.reply, h.mark, OutboxTTL.Milliseconds(), h.kb, n.id, c.r.opts.Clock.Now().UnixMicro(), interval(n.pace), max(n.pace.Burst, 1)).Slice()
	if err != nil {
		return fmt.Errorf("store: finish send %s %s: %w", c.resident, replyID, err)
	}
	var state, extra string
	if len(res) == 3 {
		state, _ = res[1].(string)
		extra, _ = res[2].(string)
	}
	if state == "" {
		return fmt.Errorf("store: finish send %s %s: unexpected answer %v", c.resident, replyID, res)
	}
	if state != "attempt" {
		// An attempt found is looked at again by Begin, as after a claim.
		p := pacedFrom(state, extra)
		p.id = n.id
		c.first = &p
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
