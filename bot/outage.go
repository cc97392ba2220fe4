package bot

import (
	"sync"
	"time"
)

// TellAgainAfter: a resident told "try again" during a store outage is not
// told again this soon, so they hear it once even while it comes and goes.
const TellAgainAfter = 10 * time.Minute

// Outage remembers whom a channel told "try again" while the store was
// away: that note cannot go through the outbox (Redis is what failed), so
// the channel sends it directly, once per resident per TellAgainAfter. The
// zero Outage is ready to use and safe for concurrent use.
type Outage struct {
	mu   sync.Mutex
	told map[string]time.Time
}

// First reports whether resident should be told now, and if so records it.
// Past 10,000 residents told, those told long enough ago are forgotten.
func (o *Outage) First(resident string, now time.Time) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.told == nil {
		o.told = map[string]time.Time{}
	}
	if at, ok := o.told[resident]; ok && now.Sub(at) < TellAgainAfter {
		return false
	}
	o.told[resident] = now
	if len(o.told) > 10000 {
		for id, at := range o.told {
			if now.Sub(at) >= TellAgainAfter {
				delete(o.told, id)
			}
		}
	}
	return true
}
