// Package flows is the conversation engine of Hàng xóm số: the definitions of
// the guided flows, the per-resident session, the pure engine that turns one
// input into replies and effects, and the service that wraps the engine with
// locking and one atomic write.
//
// The package is the domain: it imports nothing else of this module and does
// no I/O of its own. It declares the small interfaces it consumes (Store,
// Localizer, Directory, Clock, Checker, TeamDesk) and the store, locales,
// desk and channel packages satisfy them; only cmd/hangxom wires concrete
// types together.
//
// Data flows one way:
//
//	channel → Input → Service.Handle: lock chat, load session, Engine.Handle,
//	          Store.Commit(session, update id, outbox, effects) atomically
//	        → Store.ApplyEffects (hamlet counters, idempotent)
//	        → the channel drains the outbox.
package flows
