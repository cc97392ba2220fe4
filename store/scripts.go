package store

import "github.com/redis/go-redis/v9"

// The Lua scripts. Every key a script touches is passed in KEYS and all of
// them share one hash tag (see Keys), so they run on a cluster. They use only
// Redis 7.0 commands and Lua 5.1 with cjson (miniredis has no bit library).

// unlockScript deletes a lock only while it still holds the caller's token, so
// a holder whose lock expired cannot release the next holder's lock.
//
//	KEYS[1] the lock (Keys.Lock or Keys.SweepLock)
//	ARGV[1] the token
//
// It returns 1 if the lock was deleted, 0 otherwise.
var unlockScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`)

// commitScript is the one atomic per-resident write.
//
//	KEYS[1] Keys.Session
//	KEYS[2] Keys.Outbox
//	KEYS[3] Keys.Effects
//	KEYS[4] Keys.Processed, absent when the commit has no update id
//	ARGV[1] the session version the caller loaded (Expect)
//	ARGV[2] the new session, JSON, its version already Expect+1
//	ARGV[3] ProcessedTTL in ms
//	ARGV[4] OutboxTTL in ms
//	ARGV[5] n, the number of replies
//	ARGV[6 .. 5+n] the replies, JSON
//	ARGV[6+n ..] the effects, JSON
//
// It returns 1 when committed, 0 when the stored version is not Expect.
var commitScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
local v = 0
if cur then
  v = tonumber(cjson.decode(cur).v) or 0
end
if v ~= tonumber(ARGV[1]) then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2])
if KEYS[4] then
  redis.call('SET', KEYS[4], '1', 'PX', ARGV[3])
end
local n = tonumber(ARGV[5])
for i = 6, 5 + n do
  redis.call('RPUSH', KEYS[2], ARGV[i])
end
if n > 0 then
  redis.call('PEXPIRE', KEYS[2], ARGV[4])
end
for i = 6 + n, #ARGV do
  redis.call('RPUSH', KEYS[3], ARGV[i])
end
return 1
`)

// popHeadScript removes the head of a list if it is still the given element,
// so two callers racing on one list never pop each other's element.
//
//	KEYS[1] Keys.Effects or Keys.Outbox
//	ARGV[1] the element expected at the head
//
// It returns 1 if it popped, 0 otherwise.
var popHeadScript = redis.NewScript(`
if redis.call('LINDEX', KEYS[1], 0) == ARGV[1] then
  redis.call('LPOP', KEYS[1])
  return 1
end
return 0
`)

// effectScript applies one effect to a hamlet's counters, at most once: the
// dedupe marker is set first, and a marker already present makes the whole
// script a no-op.
//
//	KEYS[1] Keys.Dedupe(hamlet, pseudonym, effect id)
//	KEYS[2] Keys.Started(hamlet, flow)
//	KEYS[3] Keys.Done(hamlet, flow)
//	KEYS[4] Keys.Open(hamlet, flow)
//	KEYS[5] Keys.Counter(hamlet, flow, month)
//	KEYS[6] Keys.Completions(hamlet)
//	KEYS[7] Keys.Helps(hamlet)
//	KEYS[8] Keys.HelpTotal(hamlet)
//	ARGV[1] kind: started, activity, completed, help, left
//	ARGV[2] pseudonym
//	ARGV[3] at, unix ms
//	ARGV[4] at, RFC 3339
//	ARGV[5] flow id
//	ARGV[6] step id
//	ARGV[7] via: self or team
//	ARGV[8] reason (left)
//	ARGV[9] DedupeTTL in seconds
//	ARGV[10] stream MAXLEN (approximate)
//
// It returns 1 when applied, 0 when it had been applied before.
var effectScript = redis.NewScript(`
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[9]) then
  return 0
end
local kind, p = ARGV[1], ARGV[2]
if kind == 'started' then
  if redis.call('SADD', KEYS[2], p) == 1 then
    redis.call('HINCRBY', KEYS[5], 'started', 1)
  end
  redis.call('ZADD', KEYS[4], ARGV[3], p)
elseif kind == 'activity' then
  redis.call('ZADD', KEYS[4], ARGV[3], p)
elseif kind == 'completed' then
  redis.call('ZREM', KEYS[4], p)
  if redis.call('SADD', KEYS[3], p) == 1 then
    redis.call('HINCRBY', KEYS[5], 'completed_' .. ARGV[7], 1)
    redis.call('XADD', KEYS[6], 'MAXLEN', '~', ARGV[10], '*',
      'pseud', p, 'flow', ARGV[5], 'via', ARGV[7], 'at', ARGV[4])
  end
elseif kind == 'help' then
  redis.call('HINCRBY', KEYS[5], 'help', 1)
  redis.call('INCR', KEYS[8])
  redis.call('XADD', KEYS[7], 'MAXLEN', '~', ARGV[10], '*',
    'pseud', p, 'flow', ARGV[5], 'step', ARGV[6], 'at', ARGV[4])
elseif kind == 'left' then
  if redis.call('ZREM', KEYS[4], p) == 1 and ARGV[8] == 'expired' then
    redis.call('HINCRBY', KEYS[5], 'abandoned', 1)
  end
end
return 1
`)

// expireScript drops the residents idle since before a cutoff from a flow's
// open index and counts them abandoned. ZREMRANGEBYSCORE decides who is
// counted, so running it twice counts nobody twice.
//
//	KEYS[1] Keys.Open(hamlet, flow)
//	KEYS[2] Keys.Counter(hamlet, flow, month of now)
//	ARGV[1] cutoff, unix ms (exclusive)
//
// It returns the number of residents dropped.
var expireScript = redis.NewScript(`
local n = redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1])
if n > 0 then
  redis.call('HINCRBY', KEYS[2], 'abandoned', n)
end
return n
`)
