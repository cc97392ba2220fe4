package flows

import (
	"sync"
	"time"
)

// SessionCache keeps the sessions a process wrote last, for Service.Cache:
// at most about Size of them, the least recently used going first, none
// older than MaxAge. It is safe for concurrent use; a nil *SessionCache
// keeps nothing.
type SessionCache struct {
	// Size bounds the sessions kept; default 50,000 (a resident's session
	// is some hundreds of bytes to a few kilobytes in memory).
	Size int
	// MaxAge bounds how long a session is kept; default 1 h. It also
	// bounds how long a resident who asked another replica to forget them
	// stays in this one's memory.
	MaxAge time.Duration

	mu       sync.Mutex
	cur, old map[string]cached
}

type cached struct {
	s  Session
	at time.Time
}

// Get returns a copy of the session kept for resident, if any.
func (c *SessionCache) Get(resident string) (Session, bool) {
	if c == nil {
		return Session{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.cur[resident]
	if !ok {
		if e, ok = c.old[resident]; ok {
			// Used again: it moves to the current generation.
			delete(c.old, resident)
			c.putLocked(resident, e)
		}
	}
	maxAge := c.MaxAge
	if maxAge <= 0 {
		maxAge = time.Hour
	}
	if !ok || time.Since(e.at) > maxAge {
		return Session{}, false
	}
	return e.s.Clone(), true
}

// Put keeps a copy of s as written at version.
func (c *SessionCache) Put(resident string, s Session, version int64) {
	if c == nil {
		return
	}
	s = s.Clone()
	s.Version = version
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.old, resident)
	c.putLocked(resident, cached{s: s, at: time.Now()})
}

// Drop forgets resident's session.
func (c *SessionCache) Drop(resident string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.cur, resident)
	delete(c.old, resident)
}

// putLocked adds to the current generation; a full one becomes the old
// generation and the old one is let go (two generations: an entry used in
// either survives the next turn-over).
func (c *SessionCache) putLocked(resident string, e cached) {
	size := c.Size
	if size <= 0 {
		size = 50000
	}
	if c.cur == nil {
		c.cur = map[string]cached{}
	}
	if len(c.cur) >= max(1, size/2) {
		c.old, c.cur = c.cur, map[string]cached{}
	}
	c.cur[resident] = e
}
