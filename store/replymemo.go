package store

import (
	"slices"
	"sync"

	"github.com/hangxomso/hangxom/flows"
)

// replyMemo keeps the replies this process encoded into outboxes, by their
// JSON, so that a claim here takes them back without decoding (decoding
// them was 3% of the bot's CPU under load: a commit's replies are nearly
// always claimed by the same process at once). It holds memoMax replies at
// most and forgets them all when full (those claimed elsewhere are never
// taken here).
type replyMemo struct {
	mu sync.Mutex
	m  map[string]flows.Reply
}

const memoMax = 10000

// put keeps reply under raw, its JSON, when decoding raw gives reply back
// exactly: no document (bytes), and no empty button list (omitted, so
// decoded as none).
func (m *replyMemo) put(raw string, reply flows.Reply) {
	if reply.Document != nil {
		return
	}
	if len(reply.Buttons) == 0 {
		reply.Buttons = nil
	} else {
		reply.Buttons = slices.Clone(reply.Buttons)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil || len(m.m) >= memoMax {
		m.m = make(map[string]flows.Reply)
	}
	m.m[raw] = reply
}

// take returns and forgets the reply kept under raw.
func (m *replyMemo) take(raw string) (flows.Reply, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return pop(m.m, raw)
}
