package store

import (
	"fmt"
	"time"
)

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

// When Redis forgets the last second. With appendfsync everysec a crash of
// Redis loses up to a second of writes, and a Sentinel failover loses what
// the replica had not received. On one node (or one Sentinel master) the
// keys roll back together to an earlier state, a prefix of the write
// stream, while the bot keeps its memory (held finishes, lost claim
// tokens, kept sessions, a refreshed Zalo pair) and the world keeps what
// the bot did (messages sent, reminders sent, tokens Zalo rotated). Each key
// below says, after "Lost second:", what that does; docs/operations.md has
// the table, and store/rollback_test.go rolls the keys back in the cases
// that could leave a resident or a reminder stuck. On a Cluster each node
// loses its own second, so keys in different slots (a resident's outbox and
// the global outbox index, an effect and its hamlet's counters) may roll
// back to different moments: the cases that prefix rule makes safe are
// marked "(one node)".
//
// Keys builds every Redis key of the store. It is the only place key names
// are spelled. Keys that one Lua script touches share a hash tag, so they
// land in one cluster slot:
//
//   - {r:<resident>}  a resident's keys (resident ids look like "tg:123");
//   - {h:<hamlet>}    a hamlet's keys;
//   - {p:<pseudonym>} the reverse map of one pseudonym;
//   - {c:<commune>}   a commune's hamlet requests;
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
// Lost second: a lock taken and released in it may be back, holding a
// token whose turn is over; it frees by PX (kept as an absolute time by
// AOF and replicas), so the resident's next turns wait up to LockTTL (their
// updates are retried meanwhile) and then run. Never stuck: tested by
// TestRolledBackTurnLockFreesByItself.
func (k Keys) Lock(resident string) string { return k.resident(resident, "lock") }

// Session is STRING JSON flows.Session, no TTL; written only by Commit.
// Lost second: the turns written in it are forgotten; the resident was
// maybe answered from them. Their next message runs on the older session
// (a tap on a newer screen's button is answered as an old button, with
// the current screen). Not stuck. A replica that kept the newer session
// (flows.SessionCache) finds the version or its token (flows.Session.Token)
// moved, even when a later write reused the forgotten version number, and
// reads Redis again (TestLostWriteDoesNotFoolAReplicasCache). A /forget whose
// turn is forgotten is undone: the resident was told their data was
// deleted, and it is back until their next /forget or retention.
func (k Keys) Session(resident string) string { return k.resident(resident, "session") }

// Processed is STRING "1", EX ProcessedTTL; written by Commit when the commit
// carries an update id.
// Lost second: the update ids are forgotten with the turns they marked.
// Telegram's polling offset lives in the poller's memory and Telegram
// forgets confirmed updates, and an acknowledged webhook call is not sent
// again: the update is simply lost with its turn. A platform retry that
// does come runs the turn again; its replies have the same ids, so one
// already marked sent is not sent twice. Lost or repeated, not stuck.
func (k Keys) Processed(resident, updateID string) string {
	return k.resident(resident, "upd:"+updateID)
}

// Outbox is LIST of JSON flows.Reply, oldest first, EX OutboxTTL refreshed on
// push; RPUSHed by Commit, LPOPed by AckOutbox.
// Lost second: replies written and sent in it come back if the pops were
// lost and the push was not: their markers decide (see Sent); replies
// whose push was lost are never sent (the resident's message goes
// unanswered; their next is answered). The index entry rolls back with the
// push (one node: Commit's MULTI/EXEC), so a reply that comes back is found
// by the recovery scan. Not stuck: TestRolledBackFinishIsNotSentAgainNorStuck.
func (k Keys) Outbox(resident string) string { return k.resident(resident, "outbox") }

// Sent is HASH reply id → "attempt" or "sent", PX OutboxTTL renewed by
// BeginSend and SendClaim.Finish: the at-most-once markers of the resident's
// replies. HSETNX "attempt" by BeginSend ("attempt:<lock token>" when
// ClaimOutbox marks the head, so that the claim can be told apart if its
// answer is lost), HSET "sent" by SendClaim.Finish, HDEL of an "attempt" by
// AbortSend. Fields cannot expire one by one on Redis 7.0
// (HEXPIRE is 7.4), so the hash grows by some 30 bytes a reply until the
// resident is quiet for OutboxTTL.
// Lost second: a "sent" lost with its pop leaves the claim's "attempt:…"
// (the reply is taken as uncertain: not repeated, popped: right, it was
// sent); lost with the claim too, the reply is sent again (a duplicate).
// An AbortSend lost brings back an "attempt" of a send that never left:
// that reply is dropped as uncertain (lost). Duplicate or lost, not stuck.
func (k Keys) Sent(resident string) string { return k.resident(resident, "sent") }

// Pace is STRING the theoretical arrival time (µs) of the chat's next
// message, PX until then: the per-chat pace (GCRA) of ClaimOutbox's Begin,
// under the resident's hash tag so one script paces and marks.
// Lost second: the chat's pace forgets some sends; the next few may go a
// little faster than SEND_RATE_CHAT (a platform 429 is waited out).
func (k Keys) Pace(resident string) string { return k.resident(resident, "pace") }

// SendLock is STRING random token, PX LockTTL: the lock of the resident's
// outbox sender, apart from Lock so that sending never delays processing;
// written by ClaimOutbox, deleted by the claim's last Finish or Release only
// while it holds the token.
// Lost second: a claim's lock whose release (its last Finish, held or
// not) was lost is back with the claim's token; it frees by PX within
// LockTTL, and the drain that meets it comes back (delivery.Later); the
// recovery scan finds the outbox. Not stuck: tested by
// TestRolledBackFinishIsNotSentAgainNorStuck.
func (k Keys) SendLock(resident string) string { return k.resident(resident, "sendlock") }

// Unreachable is STRING the unix ms when the resident was found unable to
// be messaged (blocked the bot; "1" when written before it held the time),
// no TTL; SET and DEL by SetReachable. Reachable takes the resident for
// reachable again once they wrote after it (Session.Seen).
// Lost second: a lost "blocked" heals at the next send (the platform
// refuses it and marks them again). A lost "came back" (an unblock event)
// would leave the resident out of every reminder with nothing to clear it,
// so Reachable also takes a resident who wrote (Session.Seen) after the
// mark was set for reachable: see Redis.Reachable and
// TestLostUnblockDoesNotStopRemindersForGood.
func (k Keys) Unreachable(resident string) string { return k.resident(resident, "unreachable") }

// ButtonsMessage is STRING the channel's opaque handle (delivery.Handle) of
// the last message sent with buttons, PX OutboxTTL; SET by SendClaim.Finish, read by ClaimOutbox and
// SendClaim.Begin, deleted by Forget.
// Lost second: an older handle is back; only the optional take-off of
// old buttons reads it (a stale tap is answered by the engine anyway).
func (k Keys) ButtonsMessage(resident string) string { return k.resident(resident, "kbmsg") }

// Effects is LIST of JSON effects with their ids, oldest first, no TTL;
// RPUSHed by Commit, LPOPed by ApplyEffects once applied.
// Lost second (one node): effects applied in it come back to the list, and
// the counters and dedupe markers they changed roll back with them, so the
// next ApplyEffects or Sweep applies them again exactly once; the work
// index rolls back with the commit (its MULTI/EXEC). Not stuck:
// TestRolledBackEffectsAreAppliedAgainOnce. On a Cluster the hamlet's node
// may keep what the resident's forgot (applied again: a help effect is
// guarded by its Dedupe marker, the others are idempotent), or forget what
// the resident's kept (the effect popped, its counts lost for good).
func (k Keys) Effects(resident string) string { return k.resident(resident, "effects") }

// Resident is STRING resident id, no TTL: the reverse map of one pseudonym;
// written by a Commit with effects, deleted by Forget.
// Lost second: written with the commit's effects, lost with them.
func (k Keys) Resident(pseudonym string) string {
	return k.prefix + ":{p:" + pseudonym + "}:resident"
}

// Started is SET of pseudonyms who ever started a flow in a hamlet, no TTL;
// written by ApplyEffects.
// Lost second: rolls back with the effects that changed it, which are
// applied again (see Effects).
func (k Keys) Started(hamlet, flow string) string {
	return k.hamlet(hamlet, "started:"+flowName(flow))
}

// Done is SET of pseudonyms who completed a flow in a hamlet, no TTL; written
// by ApplyEffects.
// Lost second: rolls back with the effects that changed it, which are
// applied again (see Effects).
func (k Keys) Done(hamlet, flow string) string {
	return k.hamlet(hamlet, "done:"+flowName(flow))
}

// Open is ZSET pseudonym → unix ms of the last activity in an unfinished
// flow, no TTL; written by ApplyEffects, trimmed by Sweep.
// Lost second: rolls back with the effects that changed it, which are
// applied again (see Effects).
func (k Keys) Open(hamlet, flow string) string {
	return k.hamlet(hamlet, "open:"+flowName(flow))
}

// MonthCounts is HASH of a hamlet's counts in one month, fields
// "<flow>:<count>" with count one of started, completed_self,
// completed_team, help, abandoned; no TTL; written by ApplyEffects and
// Sweep. Month is YYYY-MM in the bot's time zone. One key per hamlet and
// month, not per flow: a report reads one key per hamlet and month.
// Lost second: rolls back with the effects that changed it, which are
// applied again (see Effects).
func (k Keys) MonthCounts(hamlet, month string) string {
	return k.hamlet(hamlet, "counts:"+month)
}

// YearCounts is HASH of a hamlet's counts in one year (YYYY in the bot's
// time zone), the same fields as MonthCounts, holding the sum of that
// year's twelve MonthCounts; no TTL, like them (nothing deletes counts:
// retention forgets residents, not the anonymous counts). Written with the
// same increment in the same script as the month (effectScript,
// expireScript, migrateCounterScript), and SET to the sum of the months by
// yearCountsScript (the sweep's backfill, once per process). Counts reads
// it instead of seven or more months of a year, only while YearCountsReady
// is present. On a Cluster it shares the hamlet's slot with the months.
// Lost second: rolls back with the months it sums (one slot, one script),
// so the sum stays exact.
func (k Keys) YearCounts(hamlet, year string) string {
	return k.hamlet(hamlet, "counts:"+year)
}

// YearCountsReady is STRING "v1", no TTL, global, used alone: the mark
// that every hamlet's YearCounts was rebuilt from its months, so that
// counts written before the year keys existed are in them; SET by Sweep
// after the backfill of every hamlet and year (yearCountsScript), read by
// Counts in the pipeline of the counts. Absent, Counts reads months only
// (one more round trip when it asked for a year).
// Lost second: a lost mark makes reports read months (exact, one more
// round trip) until a process's first Sweep sets it again. On a Cluster
// the mark's node may keep it while a hamlet's node lost the backfill of
// its last second: that hamlet's year keys then miss counts written before
// the upgrade until the next process start runs the backfill again (it
// runs once per process, mark or not).
func (k Keys) YearCountsReady() string { return k.prefix + ":yearcounts" }

// yearOf is the year (YYYY) of a month (YYYY-MM).
func yearOf(month string) string { return month[:min(4, len(month))] }

// countField is the MonthCounts field of one count of a flow.
func countField(flow, count string) string { return flowName(flow) + ":" + count }

// countersPattern matches, for one SCAN, the counters of the layout before
// MonthCounts, HASH P:{h:H}:count:<flow>:<YYYY-MM>, which Sweep moves into
// MonthCounts, and the MonthCounts and YearCounts keys, whose years Sweep
// rebuilds (yearCountsScript).
func (k Keys) countersPattern() string { return k.prefix + ":{h:*}:count*" }

// Stalled is STRING, 10 min TTL: the sweep's count of stalled residents per
// hamlet and flow (a header line with the cutoff, then one line per pair
// with any), which Counts uses while it is fresh; written by Sweep (SET).
// Lost second: a fresher count is lost; the next Sweep writes it again.
func (k Keys) Stalled() string { return k.prefix + ":stalled" }

// Completions is STREAM (pseud, flow, via, at), MAXLEN ~100000; XADDed by
// ApplyEffects on a first completion.
// Lost second: entries lost with the effects that wrote them, which are
// applied again (see Effects).
func (k Keys) Completions(hamlet string) string { return k.hamlet(hamlet, "completions") }

// Helps is STREAM (pseud, flow, step, at), MAXLEN ~100000; XADDed by
// ApplyEffects for every help request.
func (k Keys) Helps(hamlet string) string { return k.hamlet(hamlet, "helps") }

// HelpTotal is STRING integer, no TTL: help requests ever made in a hamlet;
// INCRed by ApplyEffects.
// Lost second: rolls back with the effects that changed it, which are
// applied again (see Effects).
func (k Keys) HelpTotal(hamlet string) string { return k.hamlet(hamlet, "help_total") }

// Dedupe is STRING "1", EX DedupeTTL: the marker that one help effect of
// one resident was applied; SET NX by ApplyEffects (the other kinds are
// idempotent without it: see effectScript).
// Lost second: lost with the counters it guards (one node), so the help
// is counted again once, as it should be.
func (k Keys) Dedupe(hamlet, pseudonym, effectID string) string {
	return k.hamlet(hamlet, "dedupe:"+pseudonym+":"+effectID)
}

// Work is ZSET resident → unix ms of the oldest unapplied commit, no TTL,
// global; ZADD NX by Commit, ZREM by ApplyEffects when the resident's effects
// list is empty, read by Sweep.
// Lost second: rolls back with the effects list on one node (the add
// shares the commit's MULTI/EXEC, with or without Options.WaitReplicas),
// so an effect that comes back is listed here again and found by Sweep. On
// a Cluster, effects can be kept while their entry here is lost: they wait
// for the resident's next turn, which applies them.
func (k Keys) Work() string { return k.prefix + ":work" }

// OutboxIndex is ZSET resident → unix ms when its outbox became non-empty,
// no TTL, global; ZADD NX by Commit (before its script, and again after it
// when the commit filled an empty outbox), ZREM by AckOutbox,
// SendClaim.Finish, DropReply and PendingOutboxes once the outbox is empty; read by
// PendingOutboxes.
// Lost second (one node): Commit adds the resident in the same MULTI/EXEC
// as its push, and the finish removes it in the script that empties the
// outbox, so any earlier state that has replies waiting has the resident
// here: the recovery scan (delivery.Core, every RecoverEvery) drains them.
// Not stuck: TestRolledBackFinishIsNotSentAgainNorStuck. With
// Options.WaitReplicas (REDIS_WAIT_REPLICAS) the add keeps its MULTI/EXEC
// (WAIT follows the EXEC). On a Cluster the index's node may have lost the
// add while the outbox's kept the push: nothing repairs that but the
// resident's next commit.
func (k Keys) OutboxIndex() string { return k.prefix + ":outboxes" }

// RetentionCursor is HASH Redis node address → SCAN cursor, no TTL,
// global: where the retention step of Sweep goes on reading the sessions
// on each node; HSET by Sweep (0 once a pass ended).
// Lost second: an older cursor; a stretch of sessions is read again.
func (k Keys) RetentionCursor() string { return k.prefix + ":retention:cursor" }

// Lease is STRING random token, PX the lease's TTL, global: one single-runner
// job; SET NX by AcquireLease, PEXPIREd by Renew and deleted by Release only
// while it holds the token.
// Lost second: a lease taken in it is gone (its holder's next Renew says
// lost: it stops, and anyone may take it) or a released one is back with
// its old holder's token (it frees by PX). Two pollers may overlap for up
// to a renewal; Telegram answers one of them 409 and it backs off. Never
// stuck: TestRolledBackLeaseFreesByItself.
func (k Keys) Lease(name string) string { return k.prefix + ":lease:" + name }

// Rate is STRING the theoretical arrival time of a GCRA limiter in unix µs,
// PX the time to drain a full burst, global, one key per limiter; written by
// Allow.
// Lost second: a limiter forgets some sends and allows a little more
// than its rate for a moment; a platform 429 is waited out.
func (k Keys) Rate(key string) string { return k.prefix + ":rate:" + key }

// Pairs is SET of JSON [hamlet, flow] pairs that have counters, no TTL,
// global; SADDed by ApplyEffects, read by Sweep and HelpRequests.
// Lost second: a process that added a pair takes it to be here for
// pairKnownFor (10 min), so a pair first added in the lost second is
// missing until a commit after that adds it again: HelpRequests (`hangxom
// stats`'s help total) and a Sweep given no Hamlets and Flows skip it
// meanwhile. No resident or reminder waits on it.
func (k Keys) Pairs() string { return k.prefix + ":pairs" }

// SweepLock is STRING random token, PX 5 min, global; written by Sweep,
// deleted by it only while it holds the token.
// Lost second: a lock back from the past frees by PX (5 min at most):
// one sweep skipped.
func (k Keys) SweepLock() string { return k.prefix + ":sweep:lock" }

// Help is a STRING: JSON flows.HelpRequest, kept 90 days. Written by
// CreateHelp (SET NX) and UpdateHelp (WATCH/MULTI).
// Lost second: a request created in it is gone though the team was
// alerted (a claim then finds no request), or a claim or a close is undone
// (the request is open again: escalated to the coordinators after 24 h,
// offered again); the resident may be told twice who comes. Lost or
// repeated, not stuck.
func (k Keys) Help(id string) string { return k.prefix + ":help:" + id }

// HelpOpen is a ZSET of a hamlet's open and claimed help request ids by
// time. No TTL. Written by CreateHelp, UpdateHelp (removed when closed).
// Lost second: rolls back with Help (see there).
func (k Keys) HelpOpen(hamlet string) string { return k.hamlet(hamlet, "helps_open") }

// HelpQueue is a ZSET of every open or claimed help request id by time,
// for escalation. No TTL. Written like HelpOpen.
// Lost second: rolls back with Help (see there).
func (k Keys) HelpQueue() string { return k.prefix + ":helpq" }

// ReminderQueue is a ZSET of JSON flows.Reminder by due time (ms): reminders
// wait here through the quiet hours. No TTL. Written by QueueReminders,
// taken by TakeDueReminders (Lua).
// Lost second: a take lost brings the reminder back here; it is taken and
// sent again (a duplicate unless the sent marker of "remind:<id>" was
// kept, which it cannot be when the take was lost). Not stuck:
// TestRolledBackReminderIsTakenAgain.
func (k Keys) ReminderQueue() string { return k.prefix + ":remindq" }

// ReminderInFlight is a ZSET of taken reminders by lease end (ms): a taker
// that crashes leaves them here, and the next take puts them back. No TTL.
// Written by TakeDueReminders (Lua) and AckReminder.
// Lost second: an ack lost leaves the reminder here: it goes back to the
// queue when its lease ends (5 min) and is sent at most once more. Not
// stuck: TestRolledBackReminderIsTakenAgain.
func (k Keys) ReminderInFlight() string { return k.prefix + ":remindq:inflight" }

// Reminded is a STRING holding the id of the resident's last reminder,
// present while they may not be reminded again (TTL = the gap, 3 days).
// Written by MarkReminded.
// Lost second: a lost mark lets the resident be reminded again within the
// three days (a duplicate); a kept mark whose reminder was lost holds the
// reminder's own id, which may mark again, so its retry is still sent.
func (k Keys) Reminded(resident string) string { return k.resident(resident, "reminded") }

// KeptAlive is a STRING holding the window (the unix ms of the member's
// last message, flows.Session.Seen) whose keep-alive message a team member
// was sent, PX until that window closes: one message per window however
// many replicas run the minute loop. Written by MarkKeptAlive, read by
// KeptAlive, deleted by Forget.
// Lost second: the mark is written after the message is enqueued, so it
// is lost with the message's sent marker: the next minute's loop sends the
// keep-alive again (a duplicate), never none.
func (k Keys) KeptAlive(resident string) string { return k.resident(resident, "keptalive") }

// Targets is HASH "<flow>|<area>" → JSON of one adoption target, no TTL,
// global; written by PutTargets (HSET), read by (*Redis).Targets.
// Lost second: an import is undone though the command said it was done:
// run it again. Members, invites, payees, areas the same.
func (k Keys) Targets() string { return k.prefix + ":targets" }

// ResidentHelps is a SET of a resident's help request ids, for /forget. No
// TTL. Written by CreateHelp.
// Lost second: rolls back with Help (see there).
func (k Keys) ResidentHelps(resident string) string { return k.resident(resident, "helps") }

// HamletResidents is a SET of the pseudonyms of the residents filed under a
// hamlet (for /move). No TTL. Written by ApplyEffects (filed, unfiled).
// Lost second: rolls back with the effects that changed it, which are
// applied again (see Effects).
func (k Keys) HamletResidents(hamlet string) string { return k.hamlet(hamlet, "residents") }

// Payees is a HASH: payee id → JSON flows.Payee, the genuine accounts of an
// area's school, health station, electricity or water agent. No TTL.
// Written by PutPayee and RemovePayee.
// Lost second: a payee added or removed in it is back as it was, though
// the team member was told it was done: a resident's QR check then says
// "matches no registered account" for a new payee (or matches a removed
// one) until the change is made again. PayeeLog rolls back with it.
func (k Keys) Payees() string { return k.prefix + ":payees" }

// PayeeLog is a STREAM of every change to the payees, with who made it
// (MAXLEN ~). Written by PutPayee and RemovePayee.
func (k Keys) PayeeLog() string { return k.prefix + ":payees:log" }

// Members is a HASH: member id → JSON flows.Member (team members and
// coordinators). No TTL. Written by PutMember and RemoveMember.
// Lost second: a join or removal is undone; a member told "welcome" is not
// one (their invite's use is back too: /join again).
func (k Keys) Members() string { return k.prefix + ":members" }

// Invite is a STRING: JSON flows.Invite, until it expires (TTL = its
// lifetime) or its last use is taken. Written by CreateInvite and
// RedeemInvite.
// Lost second: a use taken in it is back (the member it made is lost
// too: see Members); an invite created in it is gone though its code was
// printed: make another.
func (k Keys) Invite(code string) string { return k.prefix + ":invite:" + code }

// Areas is HASH area id → JSON flows.Area, no TTL, global; written by
// SeedAreas (HSETNX), PutArea and PutAreas (HSET).
// Lost second: an import or /addhamlet in it is undone though it was
// reported done: run it again.
func (k Keys) Areas() string { return k.prefix + ":areas" }

// AreaCodes is HASH "id:<hamlet id>" → hamlet code and "code:<code>" →
// hamlet id, no TTL, global: the codes residents send where there is no
// deep link (flows.Area.Code), both ways in one key so that one script
// gives a code and checks it is free. Written only by assignCodesScript
// (Areas); a code is never changed or given again, even when its hamlet
// ends, so an old poster never files anyone under another hamlet.
// Lost second: a code given in it is given again at the next read, the
// same one (derived from the hamlet id) unless another hamlet took it
// meanwhile; a poster printed from a lost code then files no one.
func (k Keys) AreaCodes() string { return k.prefix + ":areacodes" }

// ZaloTokens is HASH {access, refresh, expires (unix ms), gen (counter),
// disconnected (reason), disconnected_at (unix ms)}, no TTL, global: the
// Zalo OA's OAuth v4 token pair and its link state, one key so that each
// script touches one. Written by ReplaceZaloTokens (Lua compare-and-set on
// refresh; clears the mark) and SetZaloDisconnected (Lua compare-and-mark).
// Lost second: a refreshed pair lost brings back the refresh token Zalo
// already rotated (single-use: dead). The process that refreshed keeps the
// new pair and writes it back when it finds the token it spent here: at
// its next read, and every minute while it uses the token from memory
// (zalo.Tokens). Another replica that tries the dead token first marks the
// OA disconnected, logs an ERROR and tells the coordinators; the write
// back clears the mark. If that process is gone too, the OA must be
// linked again (`hangxom zalo connect`). Tested by
// TestZaloStoreThatForgotTheRefreshedPair.
func (k Keys) ZaloTokens() string { return k.prefix + ":zalo:tokens" }

// HamletRequests is HASH HamletKey of a typed name → JSON {name, commune,
// n (residents asking), first, last (unix ms)}: the hamlet names residents
// of a commune typed that it does not list (issue 19), at most
// MaxHamletRequests, PX HamletRequestTTL renewed by every request. Written
// by ApplyEffects (EffectAsked), DropHamletRequest (HDEL).
// Lost second: a request in it is lost, or an added hamlet's request
// comes back (dropped again when the desk shows the list).
func (k Keys) HamletRequests(commune string) string { return k.commune(commune, "hamlet_requests") }

// HamletAskers is HASH pseudonym → the HamletKey they asked for, PX
// HamletRequestTTL renewed with HamletRequests: one pending request a
// resident, a new name replacing theirs. Written by ApplyEffects.
// Lost second: rolls back with HamletRequests.
func (k Keys) HamletAskers(commune string) string { return k.commune(commune, "hamlet_askers") }

func (k Keys) commune(commune, name string) string {
	return k.prefix + ":{c:" + commune + "}:" + name
}

// askKeys are the KEYS of askScript.
func (k Keys) askKeys(commune string) []string {
	return []string{k.HamletRequests(commune), k.HamletAskers(commune)}
}

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
		k.YearCounts(hamlet, yearOf(month)),
	}
}

// expireKeys are the KEYS of expireScript.
func (k Keys) expireKeys(hamlet, flow, month string) []string {
	return []string{k.Open(hamlet, flow), k.MonthCounts(hamlet, month), k.YearCounts(hamlet, yearOf(month))}
}

// migrateCounterKeys are the KEYS of migrateCounterScript: old is a
// counter of the layout before MonthCounts, found by SCAN.
func (k Keys) migrateCounterKeys(old, hamlet, month string) []string {
	return []string{old, k.MonthCounts(hamlet, month), k.YearCounts(hamlet, yearOf(month))}
}

// yearCountsKeys are the KEYS of yearCountsScript: the year's key, then
// its twelve months.
func (k Keys) yearCountsKeys(hamlet, year string) []string {
	keys := []string{k.YearCounts(hamlet, year)}
	for m := 1; m <= 12; m++ {
		keys = append(keys, k.MonthCounts(hamlet, fmt.Sprintf("%s-%02d", year, m)))
	}
	return keys
}

// ---- The dashboard (issue 20; store/dashboard.go) ----------------------
//
// The dashboard's secrets are kept only as hex SHA-256 hashes: a copy of
// Redis (a dump, a replica, MONITOR) gives no link and no cookie that works.

// DashLogin is a HASH {m: member id, lang, exp: unix ms by the app's clock,
// seq: the last nonce's order, n:<hash of a nonce>: its order for each
// browser that fetched the link (the newest 8)}, PX 10 min (the exp field lets a test's clock make it stale; the TTL
// is the backstop), global, used alone: one one-time dashboard link.
// Written by CreateDashLogin, SeeDashLogin (loginSeeScript: a nonce) and
// SpendDashLogin (loginSpendScript: DEL).
// Lost second: a link made in it does not work (410: ask /dashboard again);
// a link spent in it works once more, for the browser holding a nonce
// cookie it set, within its 10 minutes.
func (k Keys) DashLogin(tokenHash string) string { return k.prefix + ":dash:login:" + tokenHash }

// DashSession is a STRING: JSON of a dashboard session (member, role and
// areas at login, lang, csrf, exp), PX 12 h, not sliding, global, used
// alone. Written by CreateDashSession, deleted by DeleteDashSession and
// revokeDashboard (RemoveMember, Forget).
// Lost second: a login in it is undone (the cookie no longer works: ask
// /dashboard again); a logout or revocation in it is undone, but every
// request re-checks the member, so a removed member stays refused.
func (k Keys) DashSession(idHash string) string { return k.prefix + ":dash:s:" + idHash }

// DashMemberSessions is a ZSET of the hashes of one member's dashboard
// sessions scored by their expiry (unix ms), at most 5 live ones,
// PEXPIRE 12 h on each add, global: the index revokeDashboard reads (and
// deletes). Written before the session it lists (CreateDashSession:
// sessionAddScript drops the expired entries and the oldest beyond 5,
// whose sessions are then deleted), so a revocation never misses a
// session. One written as a SET (before) is converted on the next add.
// Lost second: an index entry lost with its session is harmless; one lost
// alone leaves a session revocation misses, refused anyway by the re-check.
func (k Keys) DashMemberSessions(member string) string { return k.prefix + ":dash:member:" + member }

// APIKeys is a HASH hex SHA-256 of an open-feed key (hxk_…) → JSON of a
// flows.APIKey {id: the hash's first 12 hex digits, area, name, created},
// no TTL, global, used alone: the keys the province's own systems read
// /api/v1 with (issue 20, store/apikeys.go). Written by CreateAPIKey
// (HSETNX), fields deleted by RevokeAPIKey (revokeAPIKeyScript: by id);
// read by APIKey (HGET, pipelined with the key's rate limit) and APIKeys.
// Only the hash is here: a copy of Redis gives no key that works.
// Lost second: a key made in it is gone (the feed answers 401: make
// another); a key revoked in it works again and must be revoked again.
// docs/operations.md says to check "hangxom apikey list" after a failover.
func (k Keys) APIKeys() string { return k.prefix + ":apikeys" }

// Funnel is HASH step id → residents who reached the step of a flow in a
// hamlet in one month (YYYY-MM, BOT_TZ), each counted once (see
// FunnelSeen), no TTL; HINCRBY by funnelScript, in the MULTI/EXEC of the
// commit of the turn that showed the step (one node; on a Cluster right
// after it). A step taken out of the guide keeps its field (Flow.Retired).
// Lost second: on one node it rolls back with the commit that marked it,
// and with FunnelSeen (one slot): the turn is lost and so is its mark.
// On a Cluster the hamlet's node may keep a mark of a turn the resident's
// forgot (the step was shown), or forget one it kept (a resident missing
// from a step's count).
func (k Keys) Funnel(hamlet, flow, month string) string {
	return k.hamlet(hamlet, "funnel:"+flowName(flow)+":"+month)
}

// funnelBuckets is how many FunnelSeen keys share a hamlet's residents of
// a flow and month: Redis keeps a hash of at most hash-max-listpack-entries
// (128) small fields as one compact listpack, ~12 bytes a resident here; a
// larger one becomes a table of ~70 bytes a field. Eight buckets keep
// hamlets of up to ~1,000 residents in a guide a month compact.
const funnelBuckets = 8

// FunnelSeen is HASH pseudonym → the codes (flows.StepCode, 3 bytes each) of the
// steps of a flow the resident reached in a month, in a hamlet, one of
// funnelBuckets keys by pseudonym; EXPIREAT the first day of the month
// after next, 00:00 BOT_TZ, or 32 days after the write if that is later
// (a mark is never applied later than its turn);
// written by funnelScript, which counts a step in Funnel only when its
// code is new here.
// Lost second: rolls back with Funnel (one slot).
func (k Keys) FunnelSeen(hamlet, flow, month, bucket string) string {
	return k.hamlet(hamlet, "seen:"+flowName(flow)+":"+month+":"+bucket)
}

// FunnelAt is HASH pseudonym → the step id a resident was last shown in a
// flow, while the run is open, no TTL; HSET by funnelScript, HDEL by it
// when the resident reached the end step or left the run (cancel, a move,
// /forget, retention, an expiry the engine sees at their next message). A
// run the sweep expires keeps its field until then: the funnel's stalled
// column reads it only for residents still in Open.
// Lost second: rolls back with Funnel (one slot).
func (k Keys) FunnelAt(hamlet, flow string) string {
	return k.hamlet(hamlet, "at:"+flowName(flow))
}

// funnelKeys are the KEYS of funnelScript, without the session it may be
// guarded by (one node only).
func (k Keys) funnelKeys(hamlet, flow, month, bucket string) []string {
	return []string{k.Funnel(hamlet, flow, month), k.FunnelSeen(hamlet, flow, month, bucket), k.FunnelAt(hamlet, flow)}
}
