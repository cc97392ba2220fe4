package store

import (
	"fmt"

	"github.com/redis/go-redis/v9"
)

// The Lua scripts. Every key a script touches is passed in KEYS and all of
// them share one hash tag (see Keys), so they run on a cluster. They use only
// Redis 7.0 commands and Lua 5.1 with cjson (miniredis has no bit library).
// Each is made with newScript, which names it where it is defined.

// storeScripts are the store's Lua scripts by name, as newScript records
// them: LoadScripts loads them all.
var storeScripts = map[string]*redis.Script{}

// scriptNames names the store's Lua scripts by their SHA1, as newScript
// records them, so that a script's round trips are counted under its name
// ("script:commit"), not "evalsha".
var scriptNames = map[string]string{}

// newScript makes the store's Lua script src and records it under name, for
// LoadScripts and the round trips counted by operation. Only package
// variables call it, while the package is initialised; a name or a source
// given twice is a programming error and panics then, so no test can pass
// with it.
func newScript(name, src string) *redis.Script {
	sc := redis.NewScript(src)
	if _, ok := storeScripts[name]; ok {
		panic("store: two scripts named " + name)
	}
	if other, ok := scriptNames[sc.Hash()]; ok {
		panic("store: script " + name + " has the source of " + other)
	}
	storeScripts[name] = sc
	scriptNames[sc.Hash()] = "script:" + name
	return sc
}

// compareDeleteScript deletes a key only while it still holds the caller's
// value: a lock or lease holder whose key expired cannot release the next
// holder's, and a keyboard message id is cleared only if no newer one
// replaced it.
//
//	KEYS[1] the key (Keys.Lock, Keys.SendLock, Keys.SweepLock, Keys.Lease or
//	        Keys.ButtonsMessage)
//	ARGV[1] the token (the message id for Keys.ButtonsMessage)
//
// It returns 1 if the key was deleted, 0 otherwise.
var compareDeleteScript = newScript("compare-delete", `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`)

// renewScript extends a lease only while it still holds the caller's token;
// an expired lease is not revived, even when nobody took it.
//
//	KEYS[1] Keys.Lease
//	ARGV[1] the token
//	ARGV[2] the TTL in ms
//
// It returns 1 if the lease was extended, 0 otherwise.
var renewScript = newScript("renew", `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`)

// commitScript is the one atomic per-resident write.
//
//	KEYS[1] Keys.Session
//	KEYS[2] Keys.Outbox
//	KEYS[3] Keys.Effects
//	KEYS[4] Keys.Lock
//	KEYS[5] Keys.Processed, absent when the commit has no update id
//	ARGV[1] the session the caller loaded: "<Expect>:<ExpectToken>"
//	ARGV[2] the new session, JSON, its version already Expect+1
//	ARGV[3] ProcessedTTL in ms
//	ARGV[4] OutboxTTL in ms
//	ARGV[5] n, the number of replies
//	ARGV[6] the lock token to release with the write, or '' to keep the lock
//	ARGV[7 .. 6+n] the replies, JSON
//	ARGV[7+n ..] the effects, JSON
//
// It returns 0 when the stored version is not Expect, 2 when committed and
// the replies went into an empty outbox (Commit then indexes the resident
// again, see Keys.OutboxIndex), 1 when committed otherwise, 3 when this
// very write was done before (sent again: see commitVersionLua). The lock is
// released only by a write that happened, and only if it still holds the
// token.
var commitScript = newScript("commit", commitVersionLua("0", "3")+commitWriteLua(7)+`
if ARGV[6] ~= '' and redis.call('GET', KEYS[4]) == ARGV[6] then
  redis.call('DEL', KEYS[4])
end
if filled then
  return 2
end
return 1
`)

// fastCommitScript is commitScript for a turn taken without the resident's
// lock (Redis.CommitUnlocked): it writes only if no one holds the lock and
// the update id is new, and it takes the lock when effects wait afterwards.
//
//	KEYS as commitScript's
//	ARGV[1..5] as commitScript's
//	ARGV[6] a lock token, taken when effects wait after the write
//	ARGV[7] LockTTL in ms
//	ARGV[8 .. 7+n] the replies, JSON
//	ARGV[8+n ..] the effects, JSON
//
// It returns {code, effects waiting}: 0 when the version moved, -1 when
// the lock is held, -2 when the update id was processed (nothing written),
// 3 when this write was done before (its lock, if it took one, is still
// its own: effects waiting then), else as commitScript's answer.
var fastCommitScript = newScript("fastcommit", commitVersionLua("{0, 0}",
	"{3, redis.call('GET', KEYS[4]) == ARGV[6] and redis.call('LLEN', KEYS[3]) or 0}")+`
if redis.call('EXISTS', KEYS[4]) == 1 then
  return {-1, 0}
end
if KEYS[5] and redis.call('EXISTS', KEYS[5]) == 1 then
  return {-2, 0}
end
`+commitWriteLua(8)+`
local waiting = redis.call('LLEN', KEYS[3])
if waiting > 0 then
  redis.call('SET', KEYS[4], ARGV[6], 'PX', ARGV[7])
end
if filled then
  return {2, waiting}
end
return {1, waiting}
`)

// commitVersionLua ends the script with the answer stale when the stored
// session is not the one the caller loaded: ARGV[1] is its version and its
// token, "<version>:<token>" ("0:" for no session). The version alone could
// repeat after Redis forgot a write (flows.Session.Token). It ends it with
// the answer already when the stored session is the one this very write
// stores (ARGV[2], its version and token): the same write sent again
// (go-redis sends a command or pipeline again when its answer was lost)
// wrote it the first time, and must not be taken for another writer's.
func commitVersionLua(stale, already string) string {
	return `
local function ident(json)
  -- The session's JSON starts with its version and token (flows.Session's
  -- first fields): read them there rather than decode the whole session.
  local v, t = string.match(json, '^{"v":(%d+),"tok":"([^"\\]*)"')
  if not v then
    if string.find(json, '^{"v":%d+,"tok":') then
      v = nil -- a token with escapes: decode below
    else
      v, t = string.match(json, '^{"v":(%d+)[,}]'), ''
    end
  end
  if not v then
    local d = cjson.decode(json)
    v, t = tostring(tonumber(d.v) or 0), d.tok or ''
  end
  return v .. ':' .. t
end
local cur = redis.call('GET', KEYS[1])
local id = '0:'
if cur then
  id = ident(cur)
end
if id ~= ARGV[1] then
  if cur and id == ident(ARGV[2]) and not string.find(id, ':$') then
    return ` + already + `
  end
  return ` + stale + `
end
`
}

// commitWriteLua writes a turn: the session, the update id, the replies
// (ARGV[first ..], ARGV[5] of them) and then the effects, with KEYS and
// ARGV[2..5] as commitScript's. It sets the Lua local filled when the
// replies went into an empty outbox.
func commitWriteLua(first int) string {
	return fmt.Sprintf(`
redis.call('SET', KEYS[1], ARGV[2])
if KEYS[5] then
  redis.call('SET', KEYS[5], '1', 'PX', ARGV[3])
end
local n = tonumber(ARGV[5])
local filled = false
for i = %[1]d, %[1]d - 1 + n do
  if redis.call('RPUSH', KEYS[2], ARGV[i]) == 1 then
    filled = true
  end
end
if n > 0 then
  redis.call('PEXPIRE', KEYS[2], ARGV[4])
end
for i = %[1]d + n, #ARGV do
  redis.call('RPUSH', KEYS[3], ARGV[i])
end
`, first)
}

// popHeadScript removes the head of a list if it is still the given element,
// so two callers racing on one list never pop each other's element.
//
//	KEYS[1] Keys.Effects or Keys.Outbox
//	ARGV[1] the element expected at the head
//
// It returns the length of the list left after popping, or -1 if the head
// was not the element (nothing popped), so that the caller needs no further
// read to know the list is empty.
var popHeadScript = newScript("pophead", `
if redis.call('LINDEX', KEYS[1], 0) == ARGV[1] then
  redis.call('LPOP', KEYS[1])
  return redis.call('LLEN', KEYS[1])
end
return -1
`)

// popLastScript is popHeadScript for the element expected to be the last
// of the resident's effects: when the list is then empty and a token is
// given, it also releases the resident's lock if it still holds that token.
//
//	KEYS[1] Keys.Effects
//	KEYS[2] Keys.Lock
//	ARGV[1] the element expected at the head
//	ARGV[2] the lock token of the turn applying the effects, or ''
//
// It returns {the length left, or -1 if the head was not the element;
// 1 if the lock was released, else 0}.
var popLastScript = newScript("poplast", `
if redis.call('LINDEX', KEYS[1], 0) ~= ARGV[1] then
  return {-1, 0}
end
redis.call('LPOP', KEYS[1])
local left = redis.call('LLEN', KEYS[1])
if left == 0 and ARGV[2] ~= '' and redis.call('GET', KEYS[2]) == ARGV[2] then
  redis.call('DEL', KEYS[2])
  return {0, 1}
end
return {left, 0}
`)

// beginScript starts a resident's turn in one round trip: it takes the
// resident's lock, and if it got it, tells whether the update id was
// processed and returns the stored session, and how many effects of
// earlier turns still wait to be applied (a failure after their write).
//
//	KEYS[1] Keys.Lock
//	KEYS[2] Keys.Session
//	KEYS[3] Keys.Effects
//	KEYS[4] Keys.Processed, absent when the update has no id
//	ARGV[1] the lock token
//	ARGV[2] the lock TTL in ms
//
// It returns {0} when the lock is busy, otherwise {1, seen (0 or 1), the
// session JSON or false when there is none, effects waiting}.
var beginScript = newScript("begin", `
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {0}
end
local seen = 0
if KEYS[4] and redis.call('EXISTS', KEYS[4]) == 1 then
  seen = 1
end
return {1, seen, redis.call('GET', KEYS[2]), redis.call('LLEN', KEYS[3])}
`)

// popReplyScript removes the head of a resident's outbox if it is the reply
// with the given id (the "id" field of its JSON), and first marks that reply
// sent when asked: a Finish's mark and pop are one step, so a crash cannot
// leave a sent reply at the head without its marker. A head that does not
// decode never matches.
//
//	KEYS[1] Keys.Outbox
//	KEYS[2] Keys.Sent
//	ARGV[1] the reply id
//	ARGV[2] "sent" to mark the reply sent first, "" to leave the markers
//	ARGV[3] OutboxTTL in ms (the markers' TTL)
//
// A conversation reply (its id is the update's id, "#" and its place)
// loses its markers, and its parts', when it is popped: the update's
// processed key already keeps it from being queued again, so the markers
// would only hold memory for their 7 days. A reply queued by Enqueue (a
// reminder, a help notice) keeps its marker: it is what sends that reply
// once when a retry queues it again.
//
// It returns the length of the outbox afterwards.
var popReplyScript = newScript("popreply", popReplyLua+`
return redis.call('LLEN', KEYS[1])
`)

// popReplyLua is popReplyScript's work, shared with finishScript: KEYS[1]
// the outbox, KEYS[2] the markers, ARGV[1] the reply id, ARGV[2] the mark
// or "", ARGV[3] the markers' TTL in ms.
const popReplyLua = `
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
`

// beginSendScript records an attempt to send a reply unless one was
// recorded before, and renews the markers' TTL.
//
//	KEYS[1] Keys.Sent
//	ARGV[1] the reply id
//	ARGV[2] OutboxTTL in ms
//
// It returns "new" if it recorded the attempt, otherwise the marker found
// ("attempt", for "attempt:<token>" too, or "sent").
var beginSendScript = newScript("beginsend", `
local set = redis.call('HSETNX', KEYS[1], ARGV[1], 'attempt')
redis.call('PEXPIRE', KEYS[1], ARGV[2])
if set == 1 then
  return 'new'
end
local m = redis.call('HGET', KEYS[1], ARGV[1])
if string.sub(m, 1, 8) == 'attempt:' then
  return 'attempt'
end
return m
`)

// abortSendScript forgets an attempt to send a reply, but never a reply
// marked sent: that would let it go out twice.
//
//	KEYS[1] Keys.Sent
//	ARGV[1] the reply id
//
// It returns 1 if it forgot an attempt, 0 otherwise.
var abortSendScript = newScript("abortsend", `
local m = redis.call('HGET', KEYS[1], ARGV[1])
if m == 'attempt' or (m and string.sub(m, 1, 8) == 'attempt:') then
  return redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0
`)

// gcraLua is one GCRA step (generic cell rate algorithm) in Lua, shared by
// rateScript and paceMarkLua: the key holds the theoretical arrival time
// (TAT) of the next request; a request at now is allowed if max(TAT, now) +
// interval − burst × interval ≤ now, and then moves the TAT by one interval
// (the key living until then). The caller passes now, so replicas share the
// limit as well as their clocks agree, and tests can fix it. key, now
// (unix µs), interval (µs, may have decimals) and burst (≥ 1) are Lua
// expressions. It sets the Lua locals gcraOK (allowed) and gcraWait (when
// not, the µs to wait, as a string). An interval of 0 allows everything and
// writes nothing (delivery.Unpaced). Numbers are written with %.0f:
// tostring would switch to exponents.
func gcraLua(key, now, interval, burst string) string {
	return fmt.Sprintf(`
local gcraOK, gcraWait = true, '0'
do
  local now, interval, burst = tonumber(%[2]s), tonumber(%[3]s), tonumber(%[4]s)
  if interval > 0 then
    local tat = tonumber(redis.call('GET', %[1]s) or '')
    if not tat or tat < now then
      tat = now
    end
    local nextTat = tat + interval
    local allowAt = nextTat - burst * interval
    if now < allowAt then
      gcraOK, gcraWait = false, string.format('%%.0f', math.ceil(allowAt - now))
    else
      redis.call('SET', %[1]s, string.format('%%.0f', nextTat), 'PX', string.format('%%.0f', math.ceil((nextTat - now) / 1000)))
    end
  end
end
`, key, now, interval, burst)
}

// rateScript is one GCRA step on a key of its own (see gcraLua).
//
//	KEYS[1] Keys.Rate
//	ARGV[1] now, unix µs
//	ARGV[2] the emission interval (1 / rate) in µs, may have decimals
//	ARGV[3] the burst, ≥ 1
//
// It returns {1, 0} when allowed, {0, µs to wait} when not.
var rateScript = newScript("rate", gcraLua("KEYS[1]", "ARGV[1]", "ARGV[2]", "ARGV[3]")+`
if gcraOK then
  return {1, '0'}
end
return {0, gcraWait}
`)

// effectScript applies one effect to a hamlet's counters, at most once.
// Every kind but help is idempotent by itself: started and completed count
// only when SADD adds the resident, activity and filed re-add what is
// there, left counts only when ZREM removes. Effects are applied in order
// and popped one by one, so a crash can only make the next run re-apply
// the head effect, which then changes nothing. A help request counts on
// every call, so it alone sets a dedupe marker first (7 days), and a
// marker already present makes the script a no-op. (One marker per help
// request, rather than per effect, keeps a resident's share of Redis under
// a kilobyte.)
//
//	KEYS[1] Keys.Dedupe(hamlet, pseudonym, effect id)
//	KEYS[2] Keys.Started(hamlet, flow)
//	KEYS[3] Keys.Done(hamlet, flow)
//	KEYS[4] Keys.Open(hamlet, flow)
//	KEYS[5] Keys.MonthCounts(hamlet, month) (fields "<flow>:<count>", flow "" as "_")
//	KEYS[6] Keys.Completions(hamlet)
//	KEYS[7] Keys.Helps(hamlet)
//	KEYS[8] Keys.HelpTotal(hamlet)
//	KEYS[9] Keys.HamletResidents(hamlet)
//	KEYS[10] Keys.YearCounts(hamlet, year of KEYS[5]'s month): every
//	         HINCRBY of KEYS[5] is made to it too, so that it stays the sum
//	         of its months
//	ARGV[1] kind: started, activity, completed, help, left, filed, unfiled
//	ARGV[2] pseudonym
//	ARGV[3] at, unix ms
//	ARGV[4] at, RFC 3339
//	ARGV[5] flow id
//	ARGV[6] step id
//	ARGV[7] via: self or team
//	ARGV[8] reason (left)
//	ARGV[9] DedupeTTL in seconds
//	ARGV[10] stream MAXLEN (approximate)
//	ARGV[11] "1" when the effect carries the flow's start (Effect.Started,
//	         on a move): KEYS[5] is then the month of that start
//
// A move (issue 19) takes the flow's start with the resident: its left
// takes the resident out of the old hamlet's started set and that month's
// count, unless they finished the flow there, and its started (reason
// move) adds them to the new hamlet's as a start would. Only a pseudonym
// SREM removed is taken off the count, and never below 0: a flow started
// before this rule, or moved twice, leaves no negative count.
//
// It returns 1 when applied, 0 when it had been applied before.
var effectScript = newScript("effect", `
local kind, p = ARGV[1], ARGV[2]
local c = ARGV[5]
if c == '' then c = '_' end
c = c .. ':'
if kind == 'help' and not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[9]) then
  return 0
end
if kind == 'started' then
  if redis.call('SADD', KEYS[2], p) == 1 then
    redis.call('HINCRBY', KEYS[5], c .. 'started', 1)
    redis.call('HINCRBY', KEYS[10], c .. 'started', 1)
  end
  -- Someone who finished (alone or with the team) is not followed up again.
  if redis.call('SISMEMBER', KEYS[3], p) == 0 then
    redis.call('ZADD', KEYS[4], ARGV[3], p)
  end
elseif kind == 'activity' then
  if redis.call('SISMEMBER', KEYS[3], p) == 0 then
    redis.call('ZADD', KEYS[4], ARGV[3], p)
  end
elseif kind == 'completed' then
  redis.call('ZREM', KEYS[4], p)
  if redis.call('SADD', KEYS[3], p) == 1 then
    redis.call('HINCRBY', KEYS[5], c .. 'completed_' .. ARGV[7], 1)
    redis.call('HINCRBY', KEYS[10], c .. 'completed_' .. ARGV[7], 1)
    redis.call('XADD', KEYS[6], 'MAXLEN', '~', ARGV[10], '*',
      'pseud', p, 'flow', ARGV[5], 'via', ARGV[7], 'at', ARGV[4])
  end
elseif kind == 'help' then
  redis.call('HINCRBY', KEYS[5], c .. 'help', 1)
  redis.call('HINCRBY', KEYS[10], c .. 'help', 1)
  redis.call('INCR', KEYS[8])
  redis.call('XADD', KEYS[7], 'MAXLEN', '~', ARGV[10], '*',
    'pseud', p, 'flow', ARGV[5], 'step', ARGV[6], 'at', ARGV[4])
elseif kind == 'left' then
  if redis.call('ZREM', KEYS[4], p) == 1 and ARGV[8] == 'expired' then
    redis.call('HINCRBY', KEYS[5], c .. 'abandoned', 1)
    redis.call('HINCRBY', KEYS[10], c .. 'abandoned', 1)
  end
  if ARGV[8] == 'move' and ARGV[11] == '1' and redis.call('SISMEMBER', KEYS[3], p) == 0
      and redis.call('SREM', KEYS[2], p) == 1 then
    -- The month decides, the year follows: the year's count is at least
    -- the month's, so it never goes below 0 either.
    if (tonumber(redis.call('HGET', KEYS[5], c .. 'started')) or 0) > 0 then
      redis.call('HINCRBY', KEYS[5], c .. 'started', -1)
      redis.call('HINCRBY', KEYS[10], c .. 'started', -1)
    end
  end
elseif kind == 'filed' then
  redis.call('SADD', KEYS[9], p)
elseif kind == 'unfiled' then
  redis.call('SREM', KEYS[9], p)
end
return 1
`)

// expireScript drops the residents idle since before a cutoff from a flow's
// open index and counts them abandoned, then counts the residents left in
// it idle since before the stalled cutoff. ZREMRANGEBYSCORE decides who is
// counted, so running it twice counts nobody twice.
//
//	KEYS[1] Keys.Open(hamlet, flow)
//	KEYS[2] Keys.MonthCounts(hamlet, month of now)
//	KEYS[3] Keys.YearCounts(hamlet, year of that month): the same increment
//	ARGV[1] expiry cutoff, unix ms (exclusive); "" expires nobody
//	ARGV[2] the flow's field prefix in KEYS[2]: countField(flow, "")
//	ARGV[3] stalled cutoff, unix ms (exclusive); "" counts nobody
//
// It returns {residents dropped, residents stalled}.
var expireScript = newScript("expire", `
local n = 0
if ARGV[1] ~= '' then
  n = redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
  if n > 0 then
    redis.call('HINCRBY', KEYS[2], ARGV[2] .. 'abandoned', n)
    redis.call('HINCRBY', KEYS[3], ARGV[2] .. 'abandoned', n)
  end
end
local stalled = 0
if ARGV[3] ~= '' then
  stalled = redis.call('ZCOUNT', KEYS[1], '-inf', '(' .. ARGV[3])
end
return {n, stalled}
`)

// askScript keeps a hamlet name a resident typed that their commune does
// not list (flows.EffectAsked): one request per name (by its key,
// flows.HamletKey) counting the residents asking, and one pending request
// per resident (a new name takes them off the old one, which goes when no
// one asks for it). At most ARGV[7] requests: when full, requests older
// than ARGV[6] go first, and a new name is otherwise not kept. Applying
// it again changes only the request's last time.
//
//	KEYS[1] Keys.HamletRequests(commune)
//	KEYS[2] Keys.HamletAskers(commune)
//	ARGV[1] pseudonym
//	ARGV[2] the name's key
//	ARGV[3] the name as typed
//	ARGV[4] commune id
//	ARGV[5] when asked, unix ms
//	ARGV[6] requests last asked before this (unix ms) are stale
//	ARGV[7] the most requests kept
//	ARGV[8] HamletRequestTTL in ms
//
// It returns 1 when the request is kept, 0 when the list was full.
var askScript = newScript("ask", `
local p, key, now = ARGV[1], ARGV[2], tonumber(ARGV[5])
local prev = redis.call('HGET', KEYS[2], p)
local raw = redis.call('HGET', KEYS[1], key)
local kept = 1
if prev == key and raw then
  local r = cjson.decode(raw)
  if now > r.last then r.last = now end
  redis.call('HSET', KEYS[1], key, cjson.encode(r))
else
  if prev and prev ~= key then
    local old = redis.call('HGET', KEYS[1], prev)
    if old then
      local r = cjson.decode(old)
      r.n = r.n - 1
      if r.n <= 0 then
        redis.call('HDEL', KEYS[1], prev)
      else
        redis.call('HSET', KEYS[1], prev, cjson.encode(r))
      end
    end
  end
  if raw then
    local r = cjson.decode(raw)
    r.n = r.n + 1
    if now > r.last then r.last = now end
    redis.call('HSET', KEYS[1], key, cjson.encode(r))
  else
    if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[7]) then
      local all = redis.call('HGETALL', KEYS[1])
      for i = 1, #all, 2 do
        local ok, r = pcall(cjson.decode, all[i + 1])
        if not ok or type(r) ~= 'table' or (tonumber(r.last) or 0) < tonumber(ARGV[6]) then
          redis.call('HDEL', KEYS[1], all[i])
        end
      end
    end
    if redis.call('HLEN', KEYS[1]) < tonumber(ARGV[7]) then
      redis.call('HSET', KEYS[1], key, cjson.encode({name = ARGV[3], commune = ARGV[4], n = 1, first = now, last = now}))
    else
      kept = 0
    end
  end
  if kept == 1 then
    redis.call('HSET', KEYS[2], p, key)
  else
    redis.call('HDEL', KEYS[2], p)
  end
end
redis.call('PEXPIRE', KEYS[1], ARGV[8])
redis.call('PEXPIRE', KEYS[2], ARGV[8])
return kept
`)
