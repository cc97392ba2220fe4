package telegram

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/metrics"
)

// SendState is what the store knows of one reply's delivery.
type SendState int

// Delivery states of a reply.
const (
	SendNew       SendState = iota // never attempted: now marked as attempted
	SendDone                       // Telegram accepted it earlier
	SendUncertain                  // attempted before, outcome unknown: not repeated
)

// SendStore is what the sender needs from Redis. The store keeps, per
// resident, the outbox written atomically with the session, a delivery
// marker per reply, and an index of residents with replies waiting.
type SendStore interface {
	// ClaimOutbox takes the send lock and reads the outbox in one round
	// trip, without waiting (flows.ErrLocked when another sender has it).
	// It may pace and mark the first reply as Begin would (rate, burst).
	ClaimOutbox(ctx context.Context, resident string, rate float64, burst int) (SendClaim, error)
	BeginSend(ctx context.Context, resident, replyID string) (SendState, error)
	AbortSend(ctx context.Context, resident, replyID string) error
	DropReply(ctx context.Context, resident, replyID string) error
	PendingOutboxes(ctx context.Context, olderThan time.Time, limit int) ([]string, error)
	SetReachable(ctx context.Context, resident string, ok bool) error
	Allow(ctx context.Context, key string, ratePerSec float64, burst int) (bool, time.Duration, error)
}

// SendClaim is an outbox taken under the resident's send lock (see
// store.SendClaim): its replies, and the two round trips per reply that
// deliver one: Begin paces the chat, marks the attempt and tells which
// message carries the resident's buttons now; Finish marks the reply sent,
// pops it, records the message with the new buttons and, on the last,
// releases the lock.
type SendClaim interface {
	Replies() []flows.Reply
	Begin(ctx context.Context, replyID string, rate float64, burst int) (state SendState, wait time.Duration, keyboardMsg int, err error)
	Finish(ctx context.Context, replyID string, sent bool, keyboardMsg int, release bool) error
	// Next makes the next Finish that keeps the claim also pace and mark
	// replyID, so that its Begin asks nothing (one round trip a message).
	Next(replyID string, rate float64, burst int)
	Release(ctx context.Context)
	// Recheck makes the next Begin of replyID ask the store again.
	Recheck(replyID string)
}

// FinishDeferrer is a SendStore that can hold the Finish that ends a claim
// (see store.Redis.DeferFinishes): until ctx is done, it is written with the
// resident's next claim, or after delay together with the others held.
type FinishDeferrer interface {
	DeferFinishes(ctx context.Context, delay time.Duration)
}

// Sender drains residents' outboxes into Telegram messages: one resident
// at a time under a send lock (so replicas never interleave one chat),
// paced per chat, 429s waited out, blocked residents marked unreachable.
type Sender struct {
	Client *Client
	Store  SendStore
	Logger *slog.Logger
	Clock  flows.Clock
	// ChatRate and ChatBurst pace messages to one chat (SEND_RATE_CHAT),
	// across replicas.
	ChatRate  float64
	ChatBurst int
	// BulkRate paces messages the bot sends on its own (reminders),
	// all replicas together (SEND_RATE_BULK); default 25/s.
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
	// runs, when the store can hold it (FinishDeferrer): the resident's
	// next drain carries it, or it goes with every other one held in one
	// round trip; default 20 ms. Negative: written at once.
	FinishDelay time.Duration

	once   sync.Once
	direct chan struct{} // Kick's slots
	idle   chan string   // Kick's goroutines waiting for a resident
	runMu  sync.RWMutex
	runCtx context.Context // set while Run runs; nil after
	kicks  sync.WaitGroup
	// unsent holds "resident|reply id" of attempts this process marked (or
	// may have marked: the answer was lost) but surely did not send, whose
	// marker it could not remove then (Redis away). The next drain removes
	// the marker first, so the reply is sent rather than taken for an
	// uncertain attempt and dropped. After a crash nothing is known, and
	// the marker stays: at most once.
	unsent sync.Map
	// sentOpen holds "resident|reply id" of replies this process sent but
	// could not mark sent (Redis away): they must never count as unsent.
	sentOpen sync.Map
	chat     lane // replies to residents' own messages
	bulk     lane // messages the bot sends on its own
}

// lane is a queue of residents whose outboxes wait, each resident once.
type lane struct {
	ready   chan struct{} // signalled when fifo is not empty
	mu      sync.Mutex
	fifo    []string
	pending map[string]bool // residents in fifo
}

// maxText is Telegram's limit for one message; maxCaption for a photo's.
const (
	maxText    = 4096
	maxCaption = 1024
	maxRetries = 5
)

func (s *Sender) init() {
	s.once.Do(func() {
		for _, l := range []*lane{&s.chat, &s.bulk} {
			l.ready = make(chan struct{}, 1)
			l.pending = map[string]bool{}
		}
		if s.Workers <= 0 {
			s.Workers = 16
		}
		if s.BulkWorkers <= 0 {
			s.BulkWorkers = 4
		}
		if s.Direct <= 0 {
			s.Direct = 256
		}
		s.direct = make(chan struct{}, s.Direct)
		s.idle = make(chan string)
		if s.FinishDelay == 0 {
			s.FinishDelay = 20 * time.Millisecond
		}
		if s.RecoverEvery <= 0 {
			s.RecoverEvery = 10 * time.Second
		}
		if s.ChatRate <= 0 {
			s.ChatRate, s.ChatBurst = 1, 3
		}
		if s.BulkRate <= 0 {
			s.BulkRate = 25
		}
		if s.Logger == nil {
			s.Logger = slog.New(slog.DiscardHandler)
		}
		if s.Clock == nil {
			s.Clock = flows.ClockFunc(time.Now)
		}
	})
}

// Notify asks for resident's outbox to be drained soon. It never blocks
// and never drops a notice: the queue holds each waiting resident once.
func (s *Sender) Notify(resident string) {
	s.init()
	s.chat.push(resident)
}

// Kick drains resident's outbox at once, on a goroutine of its own, when
// Run is running and one of the Direct slots is free; otherwise it queues
// the resident as Notify does. The receiver kicks after each update, so a
// reply leaves as soon as it is stored, never behind a queue.
//
// A kicked goroutine that is done waits kickIdle for the next kick before
// it ends: a new goroutine would have to grow its stack again through the
// whole send path (about 5% of the bot's CPU under load, measured).
func (s *Sender) Kick(resident string) {
	s.init()
	s.runMu.RLock()
	ctx := s.runCtx
	ok := ctx != nil && ctx.Err() == nil
	if ok {
		select {
		case s.idle <- resident:
			s.runMu.RUnlock()
			return
		default:
		}
		select {
		case s.direct <- struct{}{}:
			s.kicks.Add(1)
		default:
			ok = false
		}
	}
	s.runMu.RUnlock()
	if !ok {
		s.Notify(resident)
		return
	}
	go func() {
		defer func() { <-s.direct; s.kicks.Done() }()
		ctx := context.WithValue(ctx, chatLaneKey{}, true)
		idle := time.NewTimer(kickIdle)
		defer idle.Stop()
		for r := resident; ; {
			// Then help with the queue, so residents queued while every
			// slot was taken do not wait behind newer ones.
			for ok := true; ok && ctx.Err() == nil; r, ok = s.chat.next() {
				s.drainOne(ctx, r)
			}
			idle.Reset(kickIdle)
			select {
			case r = <-s.idle:
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
func (s *Sender) NotifyBulk(resident string) {
	s.init()
	s.bulk.push(resident)
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
func (s *Sender) later(ctx context.Context, resident string, d time.Duration) {
	bulk := ctx.Value(bulkLaneKey{}) != nil
	time.AfterFunc(d, func() {
		switch {
		case ctx.Err() != nil:
		case bulk:
			s.NotifyBulk(resident) // a bulk reply's drain stays on its lane
		default:
			s.Notify(resident)
		}
	})
}

// Run drains notified outboxes and, periodically, outboxes left waiting
// (a crash between the atomic write and the send). It returns when ctx is
// done and every worker has stopped.
func (s *Sender) Run(ctx context.Context) error {
	s.init()
	s.runMu.Lock()
	s.runCtx = ctx
	s.runMu.Unlock()
	var wg sync.WaitGroup
	if d, ok := s.Store.(FinishDeferrer); ok && s.FinishDelay > 0 {
		// Ended after the workers and the kicked drains (its context
		// outlives theirs, and this defer runs after theirs), so that what
		// they hold last is written.
		fctx, stop := context.WithCancel(context.WithoutCancel(ctx))
		done := make(chan struct{})
		go func() { defer close(done); d.DeferFinishes(fctx, s.FinishDelay) }()
		defer func() { stop(); <-done }()
	}
	defer func() {
		s.runMu.Lock()
		s.runCtx = nil
		s.runMu.Unlock()
		s.kicks.Wait()
	}()
	work := func(l *lane) {
		defer wg.Done()
		lane := any(bulkLaneKey{})
		if l == &s.chat {
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
			s.drainOne(ctx, r)
		}
	}
	for i := 0; i < s.Workers; i++ {
		wg.Add(1)
		go work(&s.chat)
	}
	for i := 0; i < s.BulkWorkers; i++ {
		wg.Add(1)
		go work(&s.bulk)
	}
	s.recover(ctx, s.Clock.Now().Add(time.Second)) // everything left by a previous run
	t := time.NewTicker(s.RecoverEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return nil
		case <-t.C:
			// Outboxes that waited a while: the usual path is Notify.
			s.recover(ctx, s.Clock.Now().Add(-5*time.Second))
		}
	}
}

// drainOne drains one outbox and, if it cannot finish now, queues the
// resident again: after the pace's wait, or a second after a failure.
func (s *Sender) drainOne(ctx context.Context, r string) {
	err := s.Drain(ctx, r)
	var wait *paceWait
	switch {
	case err == nil || ctx.Err() != nil:
	case errors.As(err, &wait):
		s.later(ctx, r, wait.d)
	default:
		s.Logger.Warn("drain outbox; trying again soon", "resident", r, "err", err)
		// Redis or Telegram had a moment: try again soon rather than wait
		// for the recovery scan.
		s.later(ctx, r, time.Second)
	}
}

// paceWait is Drain's answer when the chat's (or the bulk) pace allows no
// message now: the resident is queued again for after d.
type paceWait struct{ d time.Duration }

func (p *paceWait) Error() string { return "telegram: paced; again in " + p.d.String() }

// recover queues outboxes waiting since before olderThan.
func (s *Sender) recover(ctx context.Context, olderThan time.Time) {
	rs, err := s.Store.PendingOutboxes(ctx, olderThan, 5000)
	if err != nil {
		if ctx.Err() == nil {
			s.Logger.Warn("list pending outboxes", "err", err)
		}
		return
	}
	for _, r := range rs {
		s.Notify(r)
	}
}

// Drain sends every reply waiting for resident, in order.
func (s *Sender) Drain(ctx context.Context, resident string) error {
	s.init()
	chatID, ok := ChatID(resident)
	if !ok {
		return nil // not a Telegram resident
	}
	claim, err := s.Store.ClaimOutbox(ctx, resident, s.ChatRate, s.ChatBurst)
	if err != nil {
		if errors.Is(err, flows.ErrLocked) {
			// Another worker or replica is draining it; replies it did
			// not read are ours: look again in a moment.
			return &paceWait{d: 50 * time.Millisecond}
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
		if err := s.deliver(ctx, claim, resident, chatID, r, next); err != nil {
			if errors.Is(err, errBulkLane) {
				s.NotifyBulk(resident) // after this claim's release (deferred)
				return nil
			}
			if errors.Is(err, errTooLate) {
				// Not sent, and never will be: out of the outbox, so that
				// the resident's own replies behind it go on.
				if err := s.Store.DropReply(ctx, resident, r.ID); err != nil {
					return err
				}
				s.Logger.Info("telegram: a reminder not sent: the quiet hours began before its turn", "resident", resident)
				continue
			}
			if errors.Is(err, errBlocked) {
				for _, rest := range replies[i:] {
					_ = s.Store.DropReply(ctx, resident, rest.ID)
				}
				return nil
			}
			return err
		}
	}
	return nil
}

var errBlocked = errors.New("telegram: resident unreachable")

// errTooLate is a bulk reply's NotAfter passed before it could be sent.
var errTooLate = errors.New("telegram: past the reply's last moment")

// errBulkLane is a bulk reply met by a drain of the chat lane: the bulk
// lane sends it (see chatLaneKey).
var errBulkLane = errors.New("telegram: a bulk reply, for the bulk lane")

// chatLaneKey marks the context of the chat lane's drains (its workers and
// the kicked ones). They never wait on the bulk pace: an outbox whose next
// reply is a reminder goes to the bulk lane, so that a reminder run (whose
// outboxes the recovery scan finds, and queues on the chat lane) does not
// hold up residents' replies.
type chatLaneKey struct{}

// bulkLaneKey marks the context of the bulk lane's workers.
type bulkLaneKey struct{}

// partID is the delivery id of part i of a reply in n parts: the reply's
// own id for the last part.
func partID(r flows.Reply, i, n int) string {
	if i == n-1 {
		return r.ID
	}
	return r.ID + "~" + string(rune('a'+i))
}

// deliver sends one reply (split into parts if it is long) at most once;
// the last part of the last reply (next is nil) releases the claim.
func (s *Sender) deliver(ctx context.Context, claim SendClaim, resident string, chatID int64, r flows.Reply, next *flows.Reply) error {
	parts := splitText(r.Text, maxText)
	lastReply := next == nil
	for i, part := range parts {
		id := partID(r, i, len(parts))
		last := i == len(parts)-1
		release := last && lastReply
		if r.Bulk {
			if ctx.Value(chatLaneKey{}) != nil {
				return errBulkLane
			}
			if err := s.wait(ctx, "bulk", s.BulkRate, bulkBurst(s.BulkRate)); err != nil {
				return err
			}
			if r.NotAfter != 0 && !s.Clock.Now().Before(time.Unix(r.NotAfter, 0)) {
				return errTooLate
			}
		}
		key := resident + "|" + id
		if _, ok := s.unsent.Load(key); ok {
			if err := s.Store.AbortSend(ctx, resident, id); err != nil {
				return err
			}
			s.unsent.Delete(key)
			claim.Recheck(id)
		}
		state, wait, prev, err := claim.Begin(ctx, id, s.ChatRate, s.ChatBurst)
		if err != nil {
			// The marker may be set though the answer was lost; nothing
			// was sent.
			s.markUnsent(resident, id)
			return err
		}
		if wait > 0 {
			// The chat's pace: the worker moves on, the resident comes back.
			return &paceWait{d: wait}
		}
		switch state {
		case SendDone:
			if last {
				return claim.Finish(ctx, r.ID, true, 0, release)
			}
			continue
		case SendUncertain:
			// An earlier attempt was written but its answer was lost: it
			// may have been shown. A missing message costs the resident a
			// tap ("menu"); a doubled one costs trust. Do not repeat.
			s.Logger.Warn("reply not repeated after an uncertain attempt", "resident", resident, "reply", id)
			s.Metrics.send(metrics.Uncertain, -1) // no call now: nothing to time
			if last {
				return claim.Finish(ctx, r.ID, false, 0, release)
			}
			continue
		}
		var kb *tgbotapi.InlineKeyboardMarkup
		image := ""
		var doc *flows.Document
		contact := ""
		if last {
			kb = keyboard(r.Buttons)
			image = r.Image
			doc = r.Document
			contact = contactButton(r.Buttons)
		}
		msgID, err := s.send(ctx, resident, chatID, id, part, image, kb, r.Bulk, doc, contact)
		if err != nil {
			return err
		}
		kbMsg := 0
		if kb != nil && msgID != 0 {
			kbMsg = msgID
		}
		finishID := id
		if last {
			finishID = r.ID
		}
		if kbMsg != 0 && prev != 0 && prev != kbMsg {
			// The earlier step's buttons go, so they cannot be tapped
			// twice; before the reply is marked sent, so a reply counted
			// sent has the old buttons gone.
			if err := s.Client.RemoveKeyboard(ctx, chatID, prev); err != nil {
				s.Logger.Debug("remove old keyboard", "resident", resident, "err", err)
			}
		}
		// The message that follows at once (a part, or the next reply's
		// first) is paced and marked by this Finish: unless it is a bulk
		// one (its own pace is waited for first) or one to unmark first.
		nextID := ""
		switch {
		case !last:
			nextID = partID(r, i+1, len(parts))
		case next != nil && !next.Bulk:
			nextID = partID(*next, 0, len(splitText(next.Text, maxText)))
		}
		if nextID != "" && !r.Bulk {
			if _, unsent := s.unsent.Load(resident + "|" + nextID); !unsent {
				claim.Next(nextID, s.ChatRate, s.ChatBurst)
			}
		}
		if err := claim.Finish(ctx, finishID, true, kbMsg, release); err != nil {
			s.sentOpen.Store(resident+"|"+id, true) // sent: never to be unmarked
			if nextID != "" {
				// The next may be marked though nothing was sent.
				s.markUnsent(resident, nextID)
			}
			return err
		}
		s.sentOpen.Delete(resident + "|" + id)
	}
	return nil
}

// send makes one API call for a part, with pacing and retries. The
// delivery marker is already set; it is removed when the call certainly
// did not happen, so a later drain may try again.
func (s *Sender) send(ctx context.Context, resident string, chatID int64, id, text, image string, kb *tgbotapi.InlineKeyboardMarkup, bulk bool, doc *flows.Document, contact string) (int, error) {
	for attempt := 0; ; attempt++ {
		if attempt > 0 { // the first attempt was paced by deliver
			if err := s.pace(ctx, resident, bulk); err != nil {
				s.abort(context.WithoutCancel(ctx), resident, id)
				return 0, err
			}
		}
		var msgID int
		var err error
		start := time.Now()
		if contact != "" {
			msgID, err = s.Client.SendContactRequest(ctx, chatID, text, contact)
		} else if doc != nil {
			if utf8.RuneCountInString(text) > maxCaption {
				if _, err = s.Client.SendText(ctx, chatID, text, nil); err == nil {
					msgID, err = s.Client.SendDocument(ctx, chatID, doc.Name, doc.Data, "")
				}
			} else {
				msgID, err = s.Client.SendDocument(ctx, chatID, doc.Name, doc.Data, text)
			}
		} else if image != "" && utf8.RuneCountInString(text) <= maxCaption {
			msgID, err = s.Client.SendPhoto(ctx, chatID, image, text, kb)
		} else {
			if image != "" {
				if _, err = s.Client.SendPhoto(ctx, chatID, image, "", nil); err != nil {
					image = ""
				}
			}
			msgID, err = s.Client.SendText(ctx, chatID, text, kb)
		}
		took := time.Since(start).Seconds()
		if err == nil {
			s.Metrics.send(metrics.Sent, took)
			return msgID, nil
		}
		var ae *APIError
		switch {
		case errors.Is(err, ErrUncertain):
			s.Metrics.send(metrics.Uncertain, took)
			s.Logger.Warn("send outcome unknown; not repeated", "resident", resident, "reply", id, "err", err)
			return 0, nil // treated as sent: the marker stays "attempt"
		case errors.As(err, &ae) && ae.Code == 429:
			s.Metrics.send(metrics.Throttled, took)
			s.abort(ctx, resident, id)
			if err := sleep(ctx, ae.RetryAfter+time.Duration(rand.N(250))*time.Millisecond); err != nil {
				return 0, err
			}
			if _, err := s.Store.BeginSend(ctx, resident, id); err != nil {
				s.markUnsent(resident, id) // marked or not, not sent
				return 0, err
			}
			attempt-- // a 429 is not a failure: it does not use up a retry
			continue
		case errors.As(err, &ae) && ae.Blocked():
			s.Metrics.send(metrics.Blocked, took)
			s.abort(ctx, resident, id)
			if err := s.Store.SetReachable(ctx, resident, false); err != nil {
				return 0, err
			}
			s.Logger.Info("resident unreachable", "resident", resident, "reason", ae.Description)
			return 0, errBlocked
		case errors.As(err, &ae) && ae.Code >= 400 && ae.Code < 500:
			// A message Telegram will never take (bad markup, too long):
			// dropped so it cannot block the chat.
			s.Metrics.send(metrics.Rejected, took)
			s.Logger.Error("reply rejected by Telegram; dropped", "resident", resident, "reply", id, "err", err)
			return 0, nil
		}
		s.Metrics.send(metrics.Retry, took)
		s.abort(ctx, resident, id)
		if attempt+1 >= maxRetries {
			return 0, err // left in the outbox for the recovery scan
		}
		if err := sleep(ctx, backoff(attempt)); err != nil {
			return 0, err
		}
		if _, err := s.Store.BeginSend(ctx, resident, id); err != nil {
			s.markUnsent(resident, id) // marked or not, not sent
			return 0, err
		}
	}
}

// markUnsent records that the attempt at reply id may be marked but was
// surely not sent by this process (unless it was sent and only its finish
// failed: see sentOpen).
func (s *Sender) markUnsent(resident, id string) {
	key := resident + "|" + id
	if _, sent := s.sentOpen.Load(key); !sent {
		s.unsent.Store(key, true)
	}
}

// abort removes the attempt marker of a send that surely did not happen;
// if Redis cannot be told now, the next drain does it (see unsent).
func (s *Sender) abort(ctx context.Context, resident, id string) {
	if err := s.Store.AbortSend(ctx, resident, id); err != nil {
		s.markUnsent(resident, id)
	}
}

// bulkBurst is the burst allowed above the bulk rate: a tenth of a
// second's worth. Telegram counts messages a second; sending at the rate
// with little burst leaves its bucket slack for the jitter between our
// clock and its own (hangxom loadtest's reminders run: a burst of a whole
// second had 1.7% of sends answered 429).
func bulkBurst(rate float64) int { return max(1, int(rate/10)) }

// pace waits until the chat's rate, and for a bulk message the bulk rate,
// allows one more message.
func (s *Sender) pace(ctx context.Context, resident string, bulk bool) error {
	if bulk {
		if err := s.wait(ctx, "bulk", s.BulkRate, bulkBurst(s.BulkRate)); err != nil {
			return err
		}
	}
	return s.wait(ctx, "chat:"+resident, s.ChatRate, s.ChatBurst)
}

func (s *Sender) wait(ctx context.Context, key string, rate float64, burst int) error {
	for {
		ok, wait, err := s.Store.Allow(ctx, key, rate, burst)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if err := sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// keyboard renders buttons one per row; the callback data is the engine's
// short token, never content. A button asking for the resident's phone
// number is sent as a reply keyboard instead (see contactLabel).
func keyboard(cs []flows.Choice) *tgbotapi.InlineKeyboardMarkup {
	if len(cs) == 0 {
		return nil
	}
	rows := make([][]tgbotapi.InlineKeyboardButton, 0, len(cs))
	for _, c := range cs {
		if c.Contact {
			continue // sent as a reply keyboard: see contactButton
		}
		rows = append(rows, tgbotapi.NewInlineKeyboardRow(tgbotapi.NewInlineKeyboardButtonData(c.Label, c.Data)))
	}
	if len(rows) == 0 {
		return nil
	}
	kb := tgbotapi.NewInlineKeyboardMarkup(rows...)
	return &kb
}

// contactButton returns the label of a button asking for the resident's
// phone number, if any: Telegram can only ask through a reply keyboard.
func contactButton(cs []flows.Choice) string {
	for _, c := range cs {
		if c.Contact {
			return c.Label
		}
	}
	return ""
}

// splitText cuts text into parts of at most max characters, at paragraph
// breaks if it can, else at line breaks, else at spaces, else anywhere.
func splitText(text string, max int) []string {
	if utf8.RuneCountInString(text) <= max {
		return []string{text}
	}
	var parts []string
	for utf8.RuneCountInString(text) > max {
		cut := cutAt(text, max)
		parts = append(parts, strings.TrimRight(text[:cut], " \n"))
		text = strings.TrimLeft(text[cut:], " \n")
	}
	if text != "" {
		parts = append(parts, text)
	}
	return parts
}

// cutAt returns a byte index ≤ the max-th character, at the best boundary.
func cutAt(text string, max int) int {
	limit := len(text)
	n := 0
	for i := range text {
		if n == max {
			limit = i
			break
		}
		n++
	}
	head := text[:limit]
	for _, sep := range []string{"\n\n", "\n", " "} {
		if i := strings.LastIndex(head, sep); i > limit/2 {
			return i + len(sep)
		}
	}
	return limit
}

func backoff(attempt int) time.Duration {
	d := 500 * time.Millisecond << attempt
	if d > 30*time.Second {
		d = 30 * time.Second
	}
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
