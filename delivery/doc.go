// Package delivery sends what the engine wrote to residents' outboxes, once
// and in order, on every channel. It owns what is the same everywhere: the
// drain of one resident's outbox under the send lock, the attempt and sent
// markers that make a send happen at most once, the per-chat and bulk pace
// shared by replicas, the retry ladder, the held finish, and the recovery of
// outboxes a crash left behind.
//
// A channel brings a Transport: it renders a Message for its platform, calls
// the platform, and classifies the answer into an Outcome. The core never
// knows which platform it talks to, and the store never knows either: it
// implements Store, declared here, and keeps a channel's message Handle as
// an opaque string.
//
// The protocol, per resident (see store's doc for the keys):
//
//	claim   = Store.ClaimOutbox      lock, read the outbox, pace and mark the head
//	for each message:
//	  Begin                          pace the chat and mark the attempt (often free)
//	  New       → Transport.Send     then Finish (sent), or unmark and retry
//	  Done      → Finish             a crash came between the send and the pop
//	  Uncertain → Finish (not sent)  an earlier attempt may have been shown
//	last Finish releases the lock (held a few ms to share a round trip)
package delivery
