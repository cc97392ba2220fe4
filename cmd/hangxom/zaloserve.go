package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hangxomso/hangxom/bot/zalo"
	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/qrcheck"
)

// zaloChannel is the Zalo OA channel as serve runs it: the transport on the
// delivery core, the webhook on HTTP_LISTEN, the OA's tokens in Redis.
type zaloChannel struct {
	transport *zalo.Transport
	webhook   *zalo.Webhook
	tokens    *zalo.Tokens
	a         *app
	hc        *http.Client
}

// newZaloChannel builds the Zalo channel; notify wakes the delivery core
// for a resident's outbox (the coordinators told of a disconnected OA).
func newZaloChannel(cfg config, a *app, hc *http.Client, logger *slog.Logger, notify func(string)) *zaloChannel {
	tokens := newZaloTokens(cfg, a.store, hc, logger, a.clock)
	tokens.OnDisconnect = func(ctx context.Context, reason string) { tellCoordinators(ctx, cfg, a, notify) }
	client := &zalo.Client{APIURL: cfg.ZaloAPIURL, Tokens: tokens, HTTP: hc}
	z := &zaloChannel{a: a, hc: hc, tokens: tokens, transport: &zalo.Transport{Client: client},
		webhook: &zalo.Webhook{Store: a.store, AppID: cfg.ZaloAppID, OASecretKey: cfg.ZaloOASecretKey, OAID: cfg.ZaloOAID,
			Clock: a.clock.Now, Logger: logger, Metrics: a.metrics.Channel("zalo"), Loc: a.loc,
			// The outage note ("try again") goes straight out: Redis is
			// what failed, so it has no outbox.
			Tell: func(ctx context.Context, resident, text string) error {
				id, _ := zalo.UserID(resident)
				_, err := client.Send(ctx, id, map[string]any{"text": text})
				return err
			}}}
	connected := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "hangxom_zalo_connected",
		Help: "1 while the Zalo OA has a usable token pair; 0 when it must be linked again (hangxom zalo connect).",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if st, err := a.store.ZaloStatus(ctx); err == nil && st.Linked && st.Disconnected == "" {
			return 1
		}
		return 0
	})
	a.metrics.Register(connected)
	return z
}

// health is /healthz's line for the OA: linked, or why not.
func (z *zaloChannel) health(ctx context.Context) string {
	st, err := z.a.store.ZaloStatus(ctx)
	switch {
	case err != nil:
		return "zalo: unknown (" + err.Error() + ")"
	case !st.Linked:
		return "zalo: not linked; run hangxom zalo connect"
	case st.Disconnected != "":
		return "zalo: disconnected since " + st.DisconnectedAt.UTC().Format("2006-01-02 15:04") + " UTC; run hangxom zalo connect"
	}
	return "zalo: linked"
}

// download fetches a photo a resident sent on Zalo (its attachment's URL,
// from a signed event), at most qrcheck.MaxPhotoBytes, over https only.
func (z *zaloChannel) download(ctx context.Context, ref string) ([]byte, error) {
	u, err := url.Parse(ref)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, errors.New("zalo: a photo's address that is not https")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	hc := *z.hc
	hc.CheckRedirect = func(r *http.Request, via []*http.Request) error {
		if r.URL.Scheme != "https" || len(via) >= 3 {
			return errors.New("a redirect off https, or too many")
		}
		return nil
	}
	resp, err := hc.Do(req)
	if err != nil {
		// Without the address: it is the resident's photo.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("zalo: download a photo: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("zalo: download a photo: HTTP %d", resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, qrcheck.MaxPhotoBytes+1))
	if err != nil {
		return nil, fmt.Errorf("zalo: download a photo: %w", err)
	}
	if len(b) > qrcheck.MaxPhotoBytes {
		return nil, fmt.Errorf("zalo: a photo over %d bytes", qrcheck.MaxPhotoBytes)
	}
	return b, nil
}

// tellCoordinators tells the coordinators in COORDINATOR_IDS who are on
// Telegram that the OA is disconnected, each in their language, once per
// disconnection (the message id is the mark's time): Zalo residents get no
// answer until someone links it again.
func tellCoordinators(ctx context.Context, cfg config, a *app, notify func(string)) {
	if cfg.TelegramToken == "" {
		return
	}
	st, err := a.store.ZaloStatus(ctx)
	if err != nil {
		a.logger.Warn("zalo: coordinators not told of the disconnection", "err", err)
		return
	}
	id := "zalo-down:" + strconv.FormatInt(st.DisconnectedAt.UnixMilli(), 10)
	for _, who := range cfg.Coordinators {
		if !strings.HasPrefix(who, "tg:") {
			continue
		}
		s, _ := a.store.Session(ctx, who)
		text, err := a.loc.Localize(flows.LangOrDefault(s.Lang), "staff.zalo_disconnected", nil)
		if err != nil {
			continue
		}
		if err := a.store.Enqueue(ctx, who, flows.Reply{ID: id, Text: text}); err != nil {
			a.logger.Warn("zalo: a coordinator not told of the disconnection", "coordinator", who, "err", err)
			continue
		}
		notify(who)
	}
}
