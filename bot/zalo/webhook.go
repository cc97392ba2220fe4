package zalo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/hangxomso/hangxom/bot"
	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/metrics"
)

// Defaults and bounds of the webhook.
const (
	// DefaultTimeout bounds the handling of one event: Zalo wants its 200
	// within 2 s, and a late answer counts as a failure all the same, so
	// the turn gets 1.5 s and the rest is for the network.
	DefaultTimeout = 1500 * time.Millisecond
	// DefaultMaxBody bounds a request body; events are a few hundred
	// bytes (a text is at most 2,000 characters).
	DefaultMaxBody = 1 << 20
	// MaxSkew is how far a first delivery's timestamp may be from the
	// clock: a signed body replayed later is refused.
	MaxSkew = 5 * time.Minute
	// MaxRetryAge is how old an event Zalo retries may be. Zalo retries
	// for about two hours (a blog says 12 h); the store remembers an
	// update id for 48 h (store.ProcessedTTL), so a replayed retry within
	// a day is still a duplicate, and an older one is refused.
	MaxRetryAge = 24 * time.Hour
)

// Webhook is the HTTP handler for the events Zalo POSTs to the OA's
// webhook (ZALO_WEBHOOK_URL). It checks the signature (401 without a good
// one) and the event's age (403 for a stale first delivery), hands a
// resident's input to the conversation service, and answers 200 only once
// the service's atomic write stored the turn, or the event is one to
// ignore; 503 when storing failed or took too long, so that Zalo delivers
// the event again (the msg_id makes the second delivery a duplicate).
//
// Zalo cannot delete a resident's message, so flows.Handled.Sensitive is
// not acted on; tapped buttons need no answer (a tap is the user's text).
type Webhook struct {
	Service bot.Handler
	// Sender delivers the replies the event left in the outbox (the
	// delivery core); nil: someone else drains them.
	Sender interface{ Kick(resident string) }
	// Store records who unfollowed (unreachable) and who followed again;
	// nil: reachability is not tracked.
	Store interface {
		SetReachable(ctx context.Context, resident string, ok bool) error
	}
	// AppID and OASecretKey check the signature (the OA Secret Key of the
	// app's webhook settings, not the app secret); OAID drops the OA's own
	// echoes and other OAs' events.
	AppID, OASecretKey, OAID string
	// Clock judges an event's age; nil means time.Now.
	Clock func() time.Time
	// Timeout bounds the handling of one event; default DefaultTimeout.
	Timeout time.Duration
	// MaxBody bounds a request body; default DefaultMaxBody.
	MaxBody int64
	Logger  *slog.Logger
	// Metrics times events; nil counts nothing.
	Metrics *metrics.Channel
	// Tell, when set with Loc, sends text to a resident directly, not
	// through the outbox: it tells a resident whose message could not be
	// stored (Redis is what failed) to try again in a moment, once per
	// resident per outage, in Vietnamese (their session is out of reach).
	Tell func(ctx context.Context, resident, text string) error
	Loc  flows.Localizer

	told bot.Outage // residents told "try again"
}

// ServeHTTP handles one webhook call.
func (h *Webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	limit := h.MaxBody
	if limit <= 0 {
		limit = DefaultMaxBody
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
			// Never an event of Zalo's, and its signature cannot be
			// checked without the whole body.
			h.logger().Warn("zalo webhook body over the limit; refused", "limit", limit)
			http.Error(w, "too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "cannot read body", http.StatusBadRequest)
		return
	}
	if !Verify(body, r.Header.Get(SignatureHeader), h.AppID, h.OASecretKey) {
		// A wrong OA Secret Key or app id in the settings looks the same
		// as a forger: say so once per call, never with the body.
		h.logger().Warn("zalo webhook call with a bad or missing signature refused",
			"signature", r.Header.Get(SignatureHeader) != "")
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	start := time.Now()
	defer func() { h.Metrics.Update(time.Since(start).Seconds()) }()
	ev, err := Decode(body, h.OAID)
	if err != nil {
		// Signed, so Zalo's; sending it again will not make it readable.
		h.logger().Warn("unreadable zalo event acknowledged", "err", err)
		w.WriteHeader(http.StatusOK)
		return
	}
	retry := retries(r.Header)
	if !h.timely(ev.Timestamp, retry) {
		// 403, not 401: the signature is good (the body is Zalo's), but
		// the call comes too late or from a skewed clock; told apart in
		// the logs and in Zalo's console. Zalo's retry, marked, is taken.
		h.logger().Warn("zalo event outside the time window refused", "event", ev.ID, "name", ev.Name,
			"timestamp", ev.Timestamp, "num_retry", retry)
		http.Error(w, "stale event", http.StatusForbidden)
		return
	}
	timeout := h.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	// Zalo hanging up must not abandon an event half-stored.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), timeout)
	defer cancel()
	if err := h.process(ctx, ev); err != nil {
		h.logger().Warn("zalo event not stored; Zalo will retry", "event", ev.ID, "name", ev.Name,
			"resident", ev.Resident, "num_retry", retry, "err", err)
		http.Error(w, "try again", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// retries reads the num_retry header: 0 on a first delivery.
func retries(hd http.Header) int {
	n, err := strconv.Atoi(strings.TrimSpace(hd.Get(RetryHeader)))
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// timely reports whether an event's timestamp is acceptable: within
// MaxSkew of the clock on a first delivery; on a retry, which resends the
// original body, no more than MaxRetryAge old (nor from the future).
func (h *Webhook) timely(ts string, retry int) bool {
	at, ok := eventTime(ts)
	if !ok {
		return false
	}
	age := h.now().Sub(at)
	if age < -MaxSkew {
		return false
	}
	if retry > 0 {
		return age <= MaxRetryAge
	}
	return age <= MaxSkew
}

// process handles ev within ctx's deadline. A service that overruns it is
// left to finish on its own (its write, if it comes, makes Zalo's retry a
// duplicate), and the call answers 503 in time.
func (h *Webhook) process(ctx context.Context, ev Event) error {
	done := make(chan error, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				h.logger().Error("panic while handling a zalo event", "event", ev.ID, "name", ev.Name,
					"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				done <- nil // acknowledged: a retry would panic again
			}
		}()
		done <- h.handle(ctx, ev)
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		select {
		case err := <-done: // finished at the deadline
			return err
		default:
			return fmt.Errorf("zalo: event %s: %w", ev.ID, ctx.Err())
		}
	}
}

// handle does what ev asks; an error means the event should come again.
func (h *Webhook) handle(ctx context.Context, ev Event) error {
	switch ev.Action {
	case Ignore:
		h.logger().Debug("zalo event ignored", "event", ev.ID, "name", ev.Name)
		return nil
	case Blocked, Unblocked:
		if h.Store != nil {
			if err := h.Store.SetReachable(ctx, ev.Resident, ev.Action == Unblocked); err != nil {
				return fmt.Errorf("zalo: event %s: %w", ev.ID, err)
			}
		}
		h.logger().Info("resident reachability changed", "resident", ev.Resident, "reachable", ev.Action == Unblocked)
		if ev.Input.Kind == "" {
			return nil
		}
	}
	if _, err := h.Service.Handle(ctx, ev.Resident, ev.Input); err != nil {
		h.outage(ctx, ev.Resident, err)
		return fmt.Errorf("zalo: event %s: %w", ev.ID, err)
	}
	if h.Sender != nil {
		h.Sender.Kick(ev.Resident)
	}
	return nil
}

// outage tells a resident, once per outage (not again within
// bot.TellAgainAfter), that the bot will answer in a moment, on a goroutine of
// its own bounded to 10 s: the webhook's answer must not wait for it. A
// resident whose own earlier event is still being processed
// (flows.ErrLocked) is not told: that is no outage, and Zalo delivers the
// event again. Nor is one whose turn ran out of the webhook's time: the
// store waits for a busy resident's lock longer than Zalo waits for an
// answer, so a lock held by the resident's own photo check ends here as
// the deadline, not as ErrLocked (a review found "try again" said then).
func (h *Webhook) outage(ctx context.Context, resident string, err error) {
	if h.Tell == nil || h.Loc == nil || resident == "" || errors.Is(err, flows.ErrLocked) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return
	}
	if !h.told.First(resident, h.now()) {
		return
	}
	text, _ := h.Loc.Localize("vi", "common.try_again", nil)
	if text == "" {
		return
	}
	tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	go func() {
		defer cancel()
		if err := h.Tell(tctx, resident, text); err != nil {
			h.logger().Debug("tell a resident to try again", "resident", resident, "err", err)
		}
	}()
}

func (h *Webhook) now() time.Time {
	if h.Clock != nil {
		return h.Clock()
	}
	return time.Now()
}

func (h *Webhook) logger() *slog.Logger {
	if h.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Logger
}
