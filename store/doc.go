// Package store keeps the bot's state in Redis: residents' sessions, the
// outbox channels drain, the hamlet counters coordinators read, and the
// areas. Redis implements flows.Store; it works on a single node, behind
// Sentinel and on a Redis Cluster, and OpenEmbedded runs it in-process.
//
// # Writes
//
// One input ends in one atomic per-resident write (Commit: session, processed
// update id, replies, effects; or CommitUnlocked, the same write for a turn
// taken without the lock on a session the process kept, which also checks
// the lock, the update id and the version), then ApplyEffects moves the
// effects to the hamlet counters, each effect in one hamlet-level script made
// idempotent by a dedupe key; the last effect's pop releases the turn's lock. A resident's keys share the hash tag {r:<resident>} and a
// hamlet's keys share {h:<hamlet>}, so every script touches one cluster slot.
// A commit with effects first puts the resident in a global work index, so
// that Sweep finds and applies effects a crash left behind; a commit with
// replies likewise puts it in the outbox index (see Sending).
//
// Hamlet keys never hold a resident id, only a pseudonym: the first 8 bytes
// of HMAC-SHA256(data key, resident id) as a decimal number below 2⁶³ (so
// that a hamlet's sets are arrays of integers; see Pseudonym). One key per
// pseudonym maps it back; Forget drops it.
//
// # Sending
//
// Every resident whose outbox holds replies is in the outbox index, which
// Commit fills and the senders empty; PendingOutboxes lists those waiting for
// long, which is how replies a crash left behind get sent. The delivery core
// (package delivery, whose Store and Claim this store implements) drains an
// outbox under the send lock a ClaimOutbox takes (not Lock: sending never
// delays processing), oldest reply first, and guards each send with a marker
// so that no reply goes out twice:
//
//	switch claim.Begin(reply id) {
//	case StateNew:       send; then claim.Finish (sent), or AbortSend if it
//	                     surely did not go out, or DropReply if it never will
//	case StateDone:      claim.Finish (a crash came between the send and the pop)
//	case StateUncertain: claim.Finish (not sent), as DropReply (an earlier
//	                     attempt's outcome is unknown)
//	}
//
// The store knows no channel: a message's size limit comes with the claim
// (delivery.Limits) and the message with live buttons is the channel's opaque
// delivery.Handle.
//
// # Keys
//
// P is the prefix (default "hx:v1"); keys.go is the only place they are
// spelled.
//
//	key                                   type    TTL          written by
//	P:{r:R}:lock                          STRING  LockTTL      Lock, Begin, CommitUnlocked when effects wait (token);
//	                                                           unlock, the last effect's pop (compare-and-delete)
//	P:{r:R}:session                       STRING  none         Commit, CommitUnlocked (JSON flows.Session, "v" first)
//	P:{r:R}:upd:<update id>               STRING  48 h         Commit
//	P:{r:R}:outbox                        LIST    7 d, renewed Commit (RPUSH), AckOutbox, SendClaim.Finish, DropReply
//	                                                           (LPOP of the head with the given reply id)
//	P:{r:R}:effects                       LIST    none         Commit (RPUSH), ApplyEffects (LPOP)
//	P:{r:R}:sent                          HASH    7 d, renewed BeginSend (HSETNX attempt), ClaimOutbox (attempt:<token>),
//	                                                           SendClaim.Finish (HSET sent), AbortSend (HDEL attempt)
//	P:{r:R}:pace                          STRING  until due    ClaimOutbox, SendClaim.Begin and Finish (GCRA arrival time, µs)
//	P:{r:R}:sendlock                      STRING  LockTTL      ClaimOutbox (token), SendClaim.Finish and Release
//	                                                           (compare-and-delete)
//	P:{r:R}:unreachable                   STRING  none         SetReachable
//	P:{r:R}:kbmsg                         STRING  7 d          SendClaim.Finish (the message now carrying buttons)
//	P:{p:X}:resident                      STRING  none         ApplyEffects, Forget (DEL)
//	P:{h:H}:started:<flow>                SET     none         ApplyEffects (pseudonyms)
//	P:{h:H}:done:<flow>                   SET     none         ApplyEffects (pseudonyms)
//	P:{h:H}:open:<flow>                   ZSET    none         ApplyEffects (pseudonym → last activity ms), Sweep
//	P:{h:H}:counts:<YYYY-MM>              HASH    none         ApplyEffects, Sweep ("<flow>:started",
//	                                                           completed_self, completed_team, help, abandoned)
//	P:{h:H}:counts:<YYYY>                 HASH    none         ApplyEffects, Sweep (the sum of the year's months, same
//	                                                           fields and scripts; Sweep's backfill sets it to the sum)
//	P:{h:H}:completions                   STREAM  ~100000 ids  ApplyEffects (pseud, flow, via, at)
//	P:{h:H}:helps                         STREAM  ~100000 ids  ApplyEffects (pseud, flow, step, at)
//	P:{h:H}:help_total                    STRING  none         ApplyEffects (INCR)
//	P:{h:H}:dedupe:<pseud>:<effect id>    STRING  7 d          ApplyEffects (SET NX)
//	P:{h:H}:funnel:<flow>:<YYYY-MM>       HASH    none         Commit (funnel script: step id → residents who reached it)
//	P:{h:H}:seen:<flow>:<YYYY-MM>:<b>     HASH    month+2      Commit (funnel script: pseudonym → codes of the steps
//	                                                           reached that month; b = pseudonym mod 8)
//	P:{h:H}:at:<flow>                     HASH    none         Commit (funnel script: pseudonym → step last shown; HDEL
//	                                                           at the end step)
//	P:work                                ZSET    none         Commit (ZADD NX), ApplyEffects (ZREM)
//	P:outboxes                            ZSET    none         Commit (ZADD NX), AckOutbox, SendClaim.Finish, DropReply,
//	                                                           PendingOutboxes (ZREM when the outbox is empty)
//	P:retention:cursor                    HASH    none         Sweep (node address → SCAN cursor over the sessions)
//	P:lease:<name>                        STRING  lease TTL    AcquireLease (SET NX), Renew, Release (token)
//	P:rate:<key>                          STRING  burst drain  Allow (GCRA arrival time, µs)
//	P:pairs                               SET     none         ApplyEffects (JSON [hamlet, flow])
//	P:sweep:lock                          STRING  5 min        Sweep
//	P:stalled                             STRING  10 min       Sweep (stalled residents per hamlet and flow)
//	P:yearcounts                          STRING  none         Sweep ("v1" once every year key was rebuilt from its
//	                                                           months; Counts reads year keys only while it is set)
//	P:areas                               HASH    none         SeedAreas (HSETNX), PutArea (HSET)
//	P:areacodes                           HASH    none         Areas (script: "id:<hamlet>" → code, "code:<code>" → hamlet)
//	P:help:<id>                           STRING  90 d         CreateHelp (SET NX), UpdateHelp (WATCH/MULTI)
//	P:{h:H}:helps_open                    ZSET    none         CreateHelp, UpdateHelp (ZREM when closed)
//	P:helpq                               ZSET    none         CreateHelp, UpdateHelp (ZREM when closed)
//	P:remindq                             ZSET    none         QueueReminders, TakeDueReminders (Lua: take due)
//	P:remindq:inflight                    ZSET    none         TakeDueReminders (lease), AckReminder
//	P:{r:R}:reminded                      STRING  3 days       MarkReminded (SET NX EX)
//	P:{r:R}:keptalive                     STRING  until window MarkKeptAlive (the window whose keep-alive was sent)
//	P:targets                             HASH    none         PutTargets (HSET "<flow>|<area>" → JSON target)
//	P:{r:R}:helps                         SET     none         CreateHelp (the resident's help request ids, for Forget)
//	P:{h:H}:residents                     SET     none         ApplyEffects (filed / unfiled: pseudonyms filed under H)
//	P:{c:C}:hamlet_requests               HASH    90 d, renewed ApplyEffects (hamlet_asked), DropHamletRequest
//	P:{c:C}:hamlet_askers                 HASH    90 d, renewed ApplyEffects (hamlet_asked: pseudonym → requested name)
//	P:payees                              HASH    none         PutPayee, RemovePayee (id → JSON flows.Payee)
//	P:payees:log                          STREAM  MAXLEN ~     PutPayee, RemovePayee (who changed what, when)
//	P:members                             HASH    none         PutMember, RemoveMember (member id → JSON flows.Member)
//	P:invite:<code>                       STRING  until expiry CreateInvite (SET NX PX), RedeemInvite (Lua: one use, DEL at the last)
//	P:zalo:tokens                         HASH    none         ReplaceZaloTokens (Lua: compare-and-set on refresh),
//	                                                           SetZaloDisconnected (Lua: compare-and-mark); access,
//	                                                           refresh, expires, gen, disconnected, disconnected_at
//	P:dash:login:<hash>                   HASH    10 min       CreateDashLogin, SeeDashLogin (Lua: add a nonce), SpendDashLogin (Lua: DEL)
//	P:dash:s:<hash>                       STRING  12 h         CreateDashSession, DeleteDashSession, revokeDashboard (JSON session)
//	P:dash:member:<member>                ZSET    12 h         CreateDashSession (a member's session hashes by expiry, at most 5; revokeDashboard)
//	P:apikeys                             HASH    none         CreateAPIKey, APIKey, APIKeys, RevokeAPIKey (Lua: HDEL by id): key hash → JSON {id, area, name, created}
//
// R is a resident id ("tg:123"), H a hamlet id, X a pseudonym, <name> and
// <key> the caller's names for a lease and a rate limiter; an empty
// hamlet or flow id is spelled "_".
//
// # Tests
//
// Package storetest is the conformance suite; it runs against miniredis, a
// real server (TEST_REDIS_URL) and a real cluster (TEST_REDIS_CLUSTER_ADDRS).
package store
