package telegram

import (
	"context"
	"crypto/subtle"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"
)

// Webhook is the HTTP handler for Telegram's webhook calls. It answers 200
// only after the update is stored (or is one that can never be processed),
// 401 to a caller without the secret, and 503 when storing failed for a
// reason that may pass (Telegram then delivers the update again).
type Webhook struct {
	Receiver *Receiver
	Secret   string
	// MaxBody bounds a request body; default 1 MiB (updates are small).
	MaxBody int64
	// Timeout bounds the processing of one update; default 25 s.
	Timeout time.Duration
	Logger  *slog.Logger
}

func (h *Webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	got := r.Header.Get("X-Telegram-Bot-Api-Secret-Token")
	if h.Secret == "" || subtle.ConstantTimeCompare([]byte(got), []byte(h.Secret)) != 1 {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	limit := h.MaxBody
	if limit <= 0 {
		limit = 1 << 20
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			// Never a real update; 200 so it is not sent again.
			h.logger().Warn("webhook body over the limit; dropped", "limit", limit)
			w.WriteHeader(http.StatusOK)
			return
		}
		http.Error(w, "cannot read body", http.StatusBadRequest)
		return
	}
	timeout := h.Timeout
	if timeout <= 0 {
		timeout = 25 * time.Second
	}
	// Telegram hanging up must not abandon an update half-stored.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), timeout)
	defer cancel()
	answer, err := h.Receiver.ReceiveWebhook(ctx, body)
	if err != nil {
		h.logger().Warn("webhook update not stored; Telegram will retry", "err", err)
		http.Error(w, "try again", http.StatusServiceUnavailable)
		return
	}
	if answer != nil {
		// Telegram performs the method in the response (its result is not
		// known; a tap's answer needs none).
		if err := tgbotapi.WriteToHTTPResponse(w, answer); err != nil {
			h.logger().Debug("webhook response method", "err", err)
		}
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (h *Webhook) logger() *slog.Logger {
	if h.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Logger
}
