package main

import (
	"context"
	"fmt"

	"github.com/hangxomso/hangxom/dashboard"
	"github.com/hangxomso/hangxom/desk"
	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/store"
)

var (
	_ dashboard.Store = (*store.Redis)(nil)
	_ dashboard.Desk  = (*desk.Desk)(nil)
	_ desk.Logins     = (*dashboard.Links)(nil)
)

// dashboardLinks makes /dashboard's links when DASHBOARD_URL is set; nil
// (the interface, not a nil pointer in it) otherwise, and /dashboard says
// the dashboard is not set up.
func (a *app) dashboardLinks() desk.Logins {
	if a.cfg.DashboardURL == nil {
		return nil
	}
	return &dashboard.Links{Store: a.store, BaseURL: a.cfg.DashboardURL, Clock: a.clock}
}

// dashboardServer is the dashboard's pages for HTTP_LISTEN, after
// assemble; nil when DASHBOARD_URL is unset. A session opened is told to
// the member in the chat through the desk, as a help alert is: their
// outbox, drained by the delivery core.
func (a *app) dashboardServer() (*dashboard.Server, error) {
	if a.cfg.DashboardURL == nil {
		return nil, nil
	}
	charts, err := a.charts()
	if err != nil {
		return nil, fmt.Errorf("dashboard: %w", err)
	}
	srv := &dashboard.Server{Store: a.store, Desk: a.desk, Library: a.library, Loc: a.loc, Charts: charts,
		BaseURL: a.cfg.DashboardURL, Clock: a.clock, Location: a.cfg.TZ, Logger: a.logger, OnSession: a.desk.SessionOpened,
		Poster: func(ctx context.Context, channel string, h flows.Area) (flows.Document, error) {
			c, _ := a.desk.Area(h.ParentID)
			doc, _, err := a.renderPoster(ctx, channel, h, c)
			return doc, err
		}}
	// A poster link per channel whose link a poster can carry: Telegram's
	// t.me link needs the bot's username, Zalo's the OA's id.
	if a.channel.username != "" {
		srv.PosterChannels = append(srv.PosterChannels, "tg")
	}
	if a.cfg.ZaloOAID != "" {
		srv.PosterChannels = append(srv.PosterChannels, desk.ChannelZalo)
	}
	return srv, nil
}
