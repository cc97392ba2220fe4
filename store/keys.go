package store

import "time"

// DefaultPrefix starts every key. The version lets a new key schema live next
// to the old one while data is migrated.
const DefaultPrefix = "hx:v1"

// Lifetimes of the keys that expire.
const (
	// ProcessedTTL keeps an update id: Telegram redelivers for 24 h, so keep
	// twice that.
	ProcessedTTL = 48 * time.Hour
	// OutboxTTL bounds an outbox no channel drains (refreshed on every push).
	OutboxTTL = 7 * 24 * time.Hour
	// DedupeTTL keeps the marker of an applied effect; an effect left in a
	// resident's list is re-applied by the next ApplyEffects or Sweep, well
	// within it.
	DedupeTTL = 7 * 24 * time.Hour
	// sweepLockTTL bounds one Sweep run; a crashed sweeper frees it by expiry.
	sweepLockTTL = 5 * time.Minute
	// streamMaxLen caps the hamlet streams (MAXLEN ~).
	streamMaxLen = 100000
)

// noFlow stands for an empty flow or hamlet id in keys (a help request from
// the menu, an effect of a resident who has not chosen a hamlet yet). Valid
// flow ids never start with "_".
const noFlow = "_"

// Keys builds every Redis key of the store. It is the only place key names
// are spelled. Keys that one Lua script touches share a hash tag, so they
// land in one cluster slot:
//
//   - {r:<resident>}  a resident's keys (resident ids look like "tg:123");
//   - {h:<hamlet>}    a hamlet's keys;
//   - {p:<pseudonym>} the reverse map of one pseudonym;
//   - no tag          the few global keys, each used alone.
//
// Each builder says the Redis type, the lifetime and who writes the key.
type Keys struct{ prefix string }

// NewKeys returns the key builder for a prefix ("" means DefaultPrefix).
func NewKeys(prefix string) Keys {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	return Keys{prefix: prefix}
}

// Prefix returns the prefix every key starts with.
func (k Keys) Prefix() string { return k.prefix }

func (k Keys) resident(resident, name string) string {
	return k.prefix + ":{r:" + resident + "}:" + name
}

func (k Keys) hamlet(hamlet, name string) string {
	if hamlet == "" {
		hamlet = noFlow
	}
	return k.prefix + ":{h:" + hamlet + "}:" + name
}

func flowName(flow string) string {
	if flow == "" {
		return noFlow
	}
	return flow
}

// Lock is STRING random token, PX LockTTL; written by Lock, deleted by its
// unlock only while it still holds the token.
func (k Keys) Lock(resident string) string { return k.resident(resident, "lock") }

// Session is STRING JSON flows.Session, no TTL; written only by Commit.
func (k Keys) Session(resident string) string { return k.resident(resident, "session") }

// Processed is STRING "1", EX ProcessedTTL; written by Commit when the commit
// carries an update id.
func (k Keys) Processed(resident, updateID string) string {
	return k.resident(resident, "upd:"+updateID)
}

// Outbox is LIST of JSON flows.Reply, oldest first, EX OutboxTTL refreshed on
// push; RPUSHed by Commit, LPOPed by AckOutbox.
func (k Keys) Outbox(resident string) string { return k.resident(resident, "outbox") }

// Sent is HASH reply id → "attempt" or "sent", PX OutboxTTL renewed by
// BeginSend and SendClaim.Finish: the at-most-once markers of the resident's
// replies. HSETNX "attempt" by BeginSend ("attempt:<lock token>" when
// ClaimOutbox marks the head, so that the claim can be told apart if its
// answer is lost), HSET "sent" by SendClaim.Finish, HDEL of an "attempt" by
// AbortSend. Fields cannot expire one by one on Redis 7.0
// (HEXPIRE is 7.4), so the hash grows by some 30 bytes a reply until the
// resident is quiet for OutboxTTL.
func (k Keys) Sent(resident string) string { return k.resident(resident, "sent") }

// Pace is STRING the theoretical arrival time (µs) of the chat's next
// message, PX until then: the per-chat pace (GCRA) of ClaimOutbox's Begin,
// under the resident's hash tag so one script paces and marks.
func (k Keys) Pace(resident string) string { return k.resident(resident, "pace") }

// SendLock is STRING random token, PX LockTTL: the lock of the resident's
// outbox sender, apart from Lock so that sending never delays processing;
// written by ClaimOutbox, deleted by the claim's last Finish or Release only
// while it holds the token.
func (k Keys) SendLock(resident string) string { return k.resident(resident, "sendlock") }

// Unreachable is STRING "1", no TTL, present while the resident cannot be
// messaged (blocked the bot); SET and DEL by SetReachable.
func (k Keys) Unreachable(resident string) string { return k.resident(resident, "unreachable") }

// ButtonsMessage is STRING the channel's opaque handle (delivery.Handle) of
// the last message sent with buttons, PX OutboxTTL; SET by SendClaim.Finish, read by ClaimOutbox and
// SendClaim.Begin, deleted by Forget.
func (k Keys) ButtonsMessage(resident string) string { return k.resident(resident, "kbmsg") }

// Effects is LIST of JSON effects with their ids, oldest first, no TTL;
// RPUSHed by Commit, LPOPed by ApplyEffects once applied.
func (k Keys) Effects(resident string) string { return k.resident(resident, "effects") }

// Resident is STRING resident id, no TTL: the reverse map of one pseudonym;
// written by a Commit with effects, deleted by Forget.
func (k Keys) Resident(pseudonym string) string {
	return k.prefix + ":{p:" + pseudonym + "}:resident"
}

// Started is SET of pseudonyms who ever started a flow in a hamlet, no TTL;
// written by ApplyEffects.
func (k Keys) Started(hamlet, flow string) string {
	return k.hamlet(hamlet, "started:"+flowName(flow))
}

// Done is SET of pseudonyms who completed a flow in a hamlet, no TTL; written
// by ApplyEffects.
func (k Keys) Done(hamlet, flow string) string {
	return k.hamlet(hamlet, "done:"+flowName(flow))
}

// Open is ZSET pseudonym → unix ms of the last activity in an unfinished
// flow, no TTL; written by ApplyEffects, trimmed by Sweep.
func (k Keys) Open(hamlet, flow string) string {
	return k.hamlet(hamlet, "open:"+flowName(flow))
}

// MonthCounts is HASH of a hamlet's counts in one month, fields
// "<flow>:<count>" with count one of started, completed_self,
// completed_team, help, abandoned; no TTL; written by ApplyEffects and
// Sweep. Month is YYYY-MM in the bot's time zone. One key per hamlet and
// month, not per flow: a report reads one key per hamlet and month.
func (k Keys) MonthCounts(hamlet, month string) string {
	return k.hamlet(hamlet, "counts:"+month)
}

// countField is the MonthCounts field of one count of a flow.
func countField(flow, count string) string { return flowName(flow) + ":" + count }

// legacyCounters matches the counters of the layout before MonthCounts:
// HASH P:{h:H}:count:<flow>:<YYYY-MM>. Sweep moves them into MonthCounts.
func (k Keys) legacyCounters() string { return k.prefix + ":{h:*}:count:*" }

// Stalled is STRING, 10 min TTL: the sweep's count of stalled residents per
// hamlet and flow (a header line with the cutoff, then one line per pair
// with any), which Counts uses while it is fresh; written by Sweep (SET).
func (k Keys) Stalled() string { return k.prefix + ":stalled" }

// Completions is STREAM (pseud, flow, via, at), MAXLEN ~100000; XADDed by
// ApplyEffects on a first completion.
func (k Keys) Completions(hamlet string) string { return k.hamlet(hamlet, "completions") }

// Helps is STREAM (pseud, flow, step, at), MAXLEN ~100000; XADDed by
// ApplyEffects for every help request.
func (k Keys) Helps(hamlet string) string { return k.hamlet(hamlet, "helps") }

// HelpTotal is STRING integer, no TTL: help requests ever made in a hamlet;
// INCRed by ApplyEffects.
func (k Keys) HelpTotal(hamlet string) string { return k.hamlet(hamlet, "help_total") }

// Dedupe is STRING "1", EX DedupeTTL: the marker that one help effect of
// one resident was applied; SET NX by ApplyEffects (the other kinds are
// idempotent without it: see effectScript).
func (k Keys) Dedupe(hamlet, pseudonym, effectID string) string {
	return k.hamlet(hamlet, "dedupe:"+pseudonym+":"+effectID)
}

// Work is ZSET resident → unix ms of the oldest unapplied commit, no TTL,
// global; ZADD NX by Commit, ZREM by ApplyEffects when the resident's effects
// list is empty, read by Sweep.
func (k Keys) Work() string { return k.prefix + ":work" }

// OutboxIndex is ZSET resident → unix ms when its outbox became non-empty,
// no TTL, global; ZADD NX by Commit (before its script, and again after it
// when the commit filled an empty outbox), ZREM by AckOutbox,
// SendClaim.Finish, DropReply and PendingOutboxes once the outbox is empty; read by
// PendingOutboxes.
func (k Keys) OutboxIndex() string { return k.prefix + ":outboxes" }

// RetentionCursor is HASH Redis node address → SCAN cursor, no TTL,
// global: where the retention step of Sweep goes on reading the sessions
// on each node; HSET by Sweep (0 once a pass ended).
func (k Keys) RetentionCursor() string { return k.prefix + ":retention:cursor" }

// Lease is STRING random token, PX the lease's TTL, global: one single-runner
// job; SET NX by AcquireLease, PEXPIREd by Renew and deleted by Release only
// while it holds the token.
func (k Keys) Lease(name string) string { return k.prefix + ":lease:" + name }

// Rate is STRING the theoretical arrival time of a GCRA limiter in unix µs,
// PX the time to drain a full burst, global, one key per limiter; written by
// Allow.
func (k Keys) Rate(key string) string { return k.prefix + ":rate:" + key }

// Pairs is SET of JSON [hamlet, flow] pairs that have counters, no TTL,
// global; SADDed by ApplyEffects, read by Sweep and HelpRequests.
func (k Keys) Pairs() string { return k.prefix + ":pairs" }

// SweepLock is STRING random token, PX 5 min, global; written by Sweep,
// deleted by it only while it holds the token.
func (k Keys) SweepLock() string { return k.prefix + ":sweep:lock" }

// Help is a STRING: JSON flows.HelpRequest, kept 90 days. Written by
// CreateHelp (SET NX) and UpdateHelp (WATCH/MULTI).
func (k Keys) Help(id string) string { return k.prefix + ":help:" + id }

// HelpOpen is a ZSET of a hamlet's open and claimed help request ids by
// time. No TTL. Written by CreateHelp, UpdateHelp (removed when closed).
func (k Keys) HelpOpen(hamlet string) string { return k.hamlet(hamlet, "helps_open") }

// HelpQueue is a ZSET of every open or claimed help request id by time,
// for escalation. No TTL. Written like HelpOpen.
func (k Keys) HelpQueue() string { return k.prefix + ":helpq" }

// ReminderQueue is a ZSET of JSON flows.Reminder by due time (ms): reminders
// wait here through the quiet hours. No TTL. Written by QueueReminders,
// taken by TakeDueReminders (Lua).
func (k Keys) ReminderQueue() string { return k.prefix + ":remindq" }

// ReminderInFlight is a ZSET of taken reminders by lease end (ms): a taker
// that crashes leaves them here, and the next take puts them back. No TTL.
// Written by TakeDueReminders (Lua) and AckReminder.
func (k Keys) ReminderInFlight() string { return k.prefix + ":remindq:inflight" }

// Reminded is a STRING holding the id of the resident's last reminder,
// present while they may not be reminded again (TTL = the gap, 3 days).
// Written by MarkReminded.
func (k Keys) Reminded(resident string) string { return k.resident(resident, "reminded") }

// KeptAlive is a STRING holding the window (the unix ms of the member's
// last message, flows.Session.Seen) whose keep-alive message a team member
// was sent, PX until that window closes: one message per window however
// many replicas run the minute loop. Written by MarkKeptAlive, read by
// KeptAlive, deleted by Forget.
func (k Keys) KeptAlive(resident string) string { return k.resident(resident, "keptalive") }

// Targets is HASH "<flow>|<area>" → JSON of one adoption target, no TTL,
// global; written by PutTargets (HSET), read by (*Redis).Targets.
func (k Keys) Targets() string { return k.prefix + ":targets" }

// ResidentHelps is a SET of a resident's help request ids, for /forget. No
// TTL. Written by CreateHelp.
func (k Keys) ResidentHelps(resident string) string { return k.resident(resident, "helps") }

// HamletResidents is a SET of the pseudonyms of the residents filed under a
// hamlet (for /move). No TTL. Written by ApplyEffects (filed, unfiled).
func (k Keys) HamletResidents(hamlet string) string { return k.hamlet(hamlet, "residents") }

// Payees is a HASH: payee id → JSON flows.Payee, the genuine accounts of an
// area's school, health station, electricity or water agent. No TTL.
// Written by PutPayee and RemovePayee.
func (k Keys) Payees() string { return k.prefix + ":payees" }

// PayeeLog is a STREAM of every change to the payees, with who made it
// (MAXLEN ~). Written by PutPayee and RemovePayee.
func (k Keys) PayeeLog() string { return k.prefix + ":payees:log" }

// Members is a HASH: member id → JSON flows.Member (team members and
// coordinators). No TTL. Written by PutMember and RemoveMember.
func (k Keys) Members() string { return k.prefix + ":members" }

// Invite is a STRING: JSON flows.Invite, until it expires (TTL = its
// lifetime) or its last use is taken. Written by CreateInvite and
// RedeemInvite.
func (k Keys) Invite(code string) string { return k.prefix + ":invite:" + code }

// Areas is HASH area id → JSON flows.Area, no TTL, global; written by
// SeedAreas (HSETNX), PutArea and PutAreas (HSET).
func (k Keys) Areas() string { return k.prefix + ":areas" }

// AreaCodes is HASH "id:<hamlet id>" → hamlet code and "code:<code>" →
// hamlet id, no TTL, global: the codes residents send where there is no
// deep link (flows.Area.Code), both ways in one key so that one script
// gives a code and checks it is free. Written only by assignCodesScript
// (Areas); a code is never changed or given again, even when its hamlet
// ends, so an old poster never files anyone under another hamlet.
func (k Keys) AreaCodes() string { return k.prefix + ":areacodes" }

// ZaloTokens is HASH {access, refresh, expires (unix ms), gen (counter),
// disconnected (reason), disconnected_at (unix ms)}, no TTL, global: the
// Zalo OA's OAuth v4 token pair and its link state, one key so that each
// script touches one. Written by ReplaceZaloTokens (Lua compare-and-set on
// refresh; clears the mark) and SetZaloDisconnected (Lua compare-and-mark).
func (k Keys) ZaloTokens() string { return k.prefix + ":zalo:tokens" }

// The KEYS each multi-key script receives, built here so that a test can
// prove they share a slot.

// commitKeys are the KEYS of commitScript.
func (k Keys) commitKeys(resident, updateID string) []string {
	keys := []string{k.Session(resident), k.Outbox(resident), k.Effects(resident), k.Lock(resident)}
	if updateID != "" {
		keys = append(keys, k.Processed(resident, updateID))
	}
	return keys
}

// replyKeys are the KEYS of popReplyScript.
func (k Keys) replyKeys(resident string) []string {
	return []string{k.Outbox(resident), k.Sent(resident)}
}

// effectKeys are the KEYS of effectScript.
func (k Keys) effectKeys(hamlet, flow, month, pseudonym, effectID string) []string {
	return []string{
		k.Dedupe(hamlet, pseudonym, effectID),
		k.Started(hamlet, flow),
		k.Done(hamlet, flow),
		k.Open(hamlet, flow),
		k.MonthCounts(hamlet, month),
		k.Completions(hamlet),
		k.Helps(hamlet),
		k.HelpTotal(hamlet),
		k.HamletResidents(hamlet),
	}
}

// expireKeys are the KEYS of expireScript.
func (k Keys) expireKeys(hamlet, flow, month string) []string {
	return []string{k.Open(hamlet, flow), k.MonthCounts(hamlet, month)}
}
