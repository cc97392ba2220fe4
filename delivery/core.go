package delivery

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/hangxomso/hangxom/flows"
)

// Core drains residents' outboxes into their channels' messages: one
// resident at a time under a send lock (so replicas never interleave one
// chat), paced per chat, rate limits waited out, unreachable residents
// marked. A resident belongs to the first Transport that Owns them.
type Core struct {
	Store      Store
	Transports []Transport
	Logger     *slog.Logger
	Clock      flows.Clock
	// Chat paces messages to one chat (SEND_RATE_CHAT), across replicas;
	// the zero Pace is 1 a second, bursts of 3; Unpaced does not pace.
	Chat Pace
	// BulkRate paces messages the bot sends on its own (reminders), all
	// replicas together (SEND_RATE_BULK); default 25/s.
	BulkRate float64
	// Workers drain different residents in parallel; default 16. A worker
	// never sleeps on a chat's pace: the resident is queued again for when
	// the pace allows, and the worker takes the next one.
	Workers int
	// RecoverEvery is how often outboxes left by a crash are looked for.
	RecoverEvery time.Duration
	Metrics      *Metrics

	// BulkWorkers drain the residents queued with NotifyBulk (reminders),
	// waiting on the bulk pace; default 4.
	BulkWorkers int

	// Direct bounds the drains started at once by Kick, each on a
	// goroutine of its own; default 256. Past it, Kick queues.
	Direct int

	// FinishDelay is how long, at most, the write that ends a drain (the
	// last reply marked sent, the send lock released) may wait while Run
	// runs (Store.DeferFinishes): the resident's next drain carries it, or
	// it goes with every other one held in one round trip; default 20 ms.
	// Negative: written at once.
	FinishDelay time.Duration

	// TakeOffOldButtons, when set, takes the buttons off the resident's
	// previous message with buttons whenever a new message with buttons is
	// sent (Transport.TakeOffButtons: one more platform request a turn,
	// editMessageReplyMarkup on Telegram). Off by default: old buttons stay
	// on screen; a tap on one is answered by the engine as stale, with the
	// current screen, and the channel takes that message's buttons off then
	// (docs/design/delivery-core.md §5, option B). Either way the handle of
	// the message with live buttons is recorded (Claim.Finish).
	TakeOffOldButtons bool

	once   sync.Once
	direct chan struct{} // Kick's slots
	idle   chan string   // Kick's goroutines waiting for a resident
	runMu  sync.RWMutex
	runCtx context.Context // set while Run runs; nil after
	kicks  sync.WaitGroup
	// unsent holds "resident|message id" of attempts this process marked
	// (or may have marked: the answer was lost) but surely did not send,
	// whose marker it could not remove then (the store away). The next
	// drain removes the marker first, so the message is sent rather than
	// taken for an uncertain attempt and dropped. After a crash nothing is
	// known, and the marker stays: at most once. If Redis forgets its last
	// second after an abort was written, the "attempt" is back with nobody
	// here to remove it: that reply is dropped as uncertain (lost, not
	// stuck); if it forgets the attempt itself, the abort written later
	// finds nothing, which is harmless.
	unsent sync.Map
	// sentOpen holds "resident|message id" of messages this process sent
	// but could not mark sent (the store away): never to count as unsent.
	sentOpen sync.Map
	chat     lane // replies to residents' own messages
	bulk     lane // messages the bot sends on its own
}

// transport is the channel that owns resident, or nil.
func (c *Core) transport(resident string) Transport {
	for _, t := range c.Transports {
		if t.Owns(resident) {
			return t
		}
	}
	return nil
}

// maxRetries is how many times a transient failure is tried in one drain.
const maxRetries = 5

// lane is a queue of residents whose outboxes wait, each resident once.
type lane struct {
	ready   chan struct{} // signalled when fifo is not empty
	mu      sync.Mutex
	fifo    []string
	pending map[string]bool // residents in fifo
}

func (c *Core) init() {
	c.once.Do(func() {
		for _, l := range []*lane{&c.chat, &c.bulk} {
			l.ready = make(chan struct{}, 1)
			l.pending = map[string]bool{}
		}
		if c.Workers <= 0 {
			c.Workers = 16
		}
		if c.BulkWorkers <= 0 {
			c.BulkWorkers = 4
		}
		if c.Direct <= 0 {
			c.Direct = 256
		}
		c.direct = make(chan struct{}, c.Direct)
		c.idle = make(chan string)
		if c.FinishDelay == 0 {
			c.FinishDelay = 20 * time.Millisecond
		}
		if c.RecoverEvery <= 0 {
			c.RecoverEvery = 10 * time.Second
		}
		if c.Chat == (Pace{}) {
			c.Chat = Pace{Rate: 1, Burst: 3}
		}
		if c.BulkRate <= 0 {
			c.BulkRate = 25
		}
		if c.Logger == nil {
			c.Logger = slog.New(slog.DiscardHandler)
		}
		if c.Clock == nil {
			c.Clock = flows.ClockFunc(time.Now)
		}
	})
}

// Notify asks for resident's outbox to be drained soon. It never blocks
// and never drops a notice: the queue holds each waiting resident once.
func (c *Core) Notify(resident string) {
	c.init()
	c.chat.push(resident)
}

// Kick drains resident's outbox at once, on a goroutine of its own, when
// Run is running and one of the Direct slots is free; otherwise it queues
// the resident as Notify does. The receiver kicks after each update, so a
// reply leaves as soon as it is stored, never behind a queue.
//
// A kicked goroutine that is done waits kickIdle for the next kick before
// it ends: a new goroutine would have to grow its stack again through the
// whole send path (about 5% of the bot's CPU under load, measured).
func (c *Core) Kick(resident string) {
	c.init()
	c.runMu.RLock()
	ctx := c.runCtx
	ok := ctx != nil && ctx.Err() == nil
	if ok {
		select {
		case c.idle <- resident:
			c.runMu.RUnlock()
			return
		default:
		}
		select {
		case c.direct <- struct{}{}:
			c.kicks.Add(1)
		default:
			ok = false
		}
	}
	c.runMu.RUnlock()
	if !ok {
		c.Notify(resident)
		return
	}
	go func() {
		defer func() { <-c.direct; c.kicks.Done() }()
		ctx := context.WithValue(ctx, chatLaneKey{}, true)
		idle := time.NewTimer(kickIdle)
		defer idle.Stop()
		for r := resident; ; {
			// Then help with the queue, so residents queued while every
			// slot was taken do not wait behind newer ones.
			for ok := true; ok && ctx.Err() == nil; r, ok = c.chat.next() {
				c.drainOne(ctx, r)
			}
			idle.Reset(kickIdle)
			select {
			case r = <-c.idle:
			case <-idle.C:
				return
			case <-ctx.Done():
				return
			}
		}
	}()
}

// kickIdle is how long a kicked goroutine waits for the next kick.
const kickIdle = 2 * time.Second

// NotifyBulk is Notify for an outbox holding a message the bot sends on its
// own (a reminder): it is drained by the bulk workers, which wait on the
// bulk pace, so replies to residents never queue behind a reminder run.
func (c *Core) NotifyBulk(resident string) {
	c.init()
	c.bulk.push(resident)
}

func (l *lane) push(resident string) {
	l.mu.Lock()
	if l.pending[resident] {
		l.mu.Unlock()
		return
	}
	l.pending[resident] = true
	l.fifo = append(l.fifo, resident)
	l.mu.Unlock()
	l.signal()
}

func (l *lane) signal() {
	select {
	case l.ready <- struct{}{}:
	default:
	}
}

// next takes the oldest resident from the queue.
func (l *lane) next() (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.fifo) == 0 {
		return "", false
	}
	r := l.fifo[0]
	l.fifo[0] = ""
	l.fifo = l.fifo[1:]
	if len(l.fifo) == 0 {
		l.fifo = nil // let the array go
	}
	delete(l.pending, r)
	if len(l.fifo) > 0 {
		l.signal() // wake another worker for the rest
	}
	return r, true
}

// later queues resident again after d, unless ctx is done by then.
func (c *Core) later(ctx context.Context, resident string, d time.Duration) {
	bulk := ctx.Value(bulkLaneKey{}) != nil
	time.AfterFunc(d, func() {
		switch {
		case ctx.Err() != nil:
		case bulk:
			c.NotifyBulk(resident) // a bulk reply's drain stays on its lane
		default:
			c.Notify(resident)
		}
	})
}

// Run drains notified outboxes and, periodically, outboxes left waiting
// (a crash between the atomic write and the send). It returns when ctx is
// done and every worker has stopped.
func (c *Core) Run(ctx context.Context) error {
	c.init()
	c.runMu.Lock()
	c.runCtx = ctx
	c.runMu.Unlock()
	var wg sync.WaitGroup
	if c.FinishDelay > 0 {
		// Ended after the workers and the kicked drains (its context
		// outlives theirs, and this defer runs after theirs), so that what
		// they hold last is written.
		fctx, stop := context.WithCancel(context.WithoutCancel(ctx))
		done := make(chan struct{})
		go func() { defer close(done); c.Store.DeferFinishes(fctx, c.FinishDelay) }()
		defer func() { stop(); <-done }()
	}
	defer func() {
		c.runMu.Lock()
		c.runCtx = nil
		c.runMu.Unlock()
		c.kicks.Wait()
	}()
	work := func(l *lane) {
		defer wg.Done()
		lane := any(bulkLaneKey{})
		if l == &c.chat {
			lane = chatLaneKey{}
		}
		ctx := context.WithValue(ctx, lane, true)
		for ctx.Err() == nil {
			r, ok := l.next()
			if !ok {
				select {
				case <-ctx.Done():
					return
				case <-l.ready:
				}
				continue
			}
			c.drainOne(ctx, r)
		}
	}
	for i := 0; i < c.Workers; i++ {
		wg.Add(1)
		go work(&c.chat)
	}
	for i := 0; i < c.BulkWorkers; i++ {
		wg.Add(1)
		go work(&c.bulk)
	}
	c.recover(ctx, c.Clock.Now().Add(time.Second)) // everything left by a previous run
	t := time.NewTicker(c.RecoverEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return nil
		case <-t.C:
			// Outboxes that waited a while: the usual path is Notify.
			c.recover(ctx, c.Clock.Now().Add(-5*time.Second))
		}
	}
}

// drainOne drains one outbox and, if it cannot finish now, queues the
// resident again: after the pace's wait, or a second after a failure.
func (c *Core) drainOne(ctx context.Context, r string) {
	err := c.Drain(ctx, r)
	var wait *Later
	switch {
	case err == nil || ctx.Err() != nil:
	case errors.As(err, &wait):
		c.later(ctx, r, wait.After)
	default:
		c.Logger.Warn("drain outbox; trying again soon", "resident", r, "err", err)
		// Redis or Telegram had a moment: try again soon rather than wait
		// for the recovery scan.
		c.later(ctx, r, time.Second)
	}
}

// Later is Drain's answer when it could not go on now: the chat's (or the
// bulk) pace allows no message, or another sender holds the resident's
// lock. Nothing is lost; drain again After.
type Later struct{ After time.Duration }

func (p *Later) Error() string { return "delivery: not now; again in " + p.After.String() }

// recover queues outboxes waiting since before olderThan.
func (c *Core) recover(ctx context.Context, olderThan time.Time) {
	rs, err := c.Store.PendingOutboxes(ctx, olderThan, 5000)
	if err != nil {
		if ctx.Err() == nil {
			c.Logger.Warn("list pending outboxes", "err", err)
		}
		return
	}
	for _, r := range rs {
		c.Notify(r)
	}
}

// Drain sends every reply waiting for resident, in order, on the caller's
// goroutine (Run's workers call it; so does the console after each line).
// A *Later error means: nothing lost, drain again after its wait.
func (c *Core) Drain(ctx context.Context, resident string) error {
	c.init()
	t := c.transport(resident)
	if t == nil {
		return nil // no channel of this process owns the resident
	}
	claim, err := c.Store.ClaimOutbox(ctx, resident, c.Chat, t.Limits())
	if err != nil {
		if errors.Is(err, flows.ErrLocked) {
			// Another worker or replica is draining it; replies it did
			// not read are ours: look again in a moment.
			return &Later{After: 50 * time.Millisecond}
		}
		// A claim whose answer was lost after it marked the head: the
		// store's next claim of the resident takes that marker back.
		return err
	}
	defer claim.Release(context.WithoutCancel(ctx))
	replies := claim.Replies()
	for i, r := range replies {
		var next *flows.Reply
		if i+1 < len(replies) {
			next = &replies[i+1]
		}
		if err := c.deliver(ctx, t, claim, resident, r, next); err != nil {
			if errors.Is(err, errBulkLane) {
				c.NotifyBulk(resident) // after this claim's release (deferred)
				return nil
			}
			if errors.Is(err, errTooLate) {
				// Not sent, and never will be: out of the outbox, so that
				// the resident's own replies behind it go on.
				if err := c.Store.DropReply(ctx, resident, r.ID); err != nil {
					return err
				}
				c.Logger.Info("a reminder not sent: the quiet hours began before its turn", "channel", t.Name(), "resident", resident)
				continue
			}
			if errors.Is(err, errBlocked) {
				for _, rest := range replies[i:] {
					_ = c.Store.DropReply(ctx, resident, rest.ID)
				}
				return nil
			}
			return err
		}
	}
	return nil
}
