package store

import (
	"errors"
	"fmt"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// noMaint keeps the client from sending CLIENT MAINT_NOTIFICATIONS (Redis 8
// managed clusters) on every new connection; Redis 7.0 rejects it.
func noMaint() *maintnotifications.Config {
	return &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
}

// resp is the protocol the clients speak: RESP2. The store uses nothing of
// RESP3 (no client-side caching, no push messages), and with RESP3 the
// client looks for push notifications before every reply: 2% of the bot's
// CPU under load, measured.
const resp = 2

// ConnectConfig says where Redis is. Set exactly one of URL, ClusterAddrs or
// SentinelAddrs (with MasterName).
type ConnectConfig struct {
	// URL is redis://[user:password@]host:port/db or rediss:// for TLS.
	URL string
	// ClusterAddrs are seed nodes of a Redis Cluster.
	ClusterAddrs []string
	// SentinelAddrs are Sentinel nodes watching MasterName.
	SentinelAddrs []string
	MasterName    string
	// Password, if set, overrides the URL's and is used for cluster and
	// Sentinel-managed nodes.
	Password string
}

// Connect builds a client from cfg. Context deadlines bound every command
// (ContextTimeoutEnabled), and the client does not send CLIENT SETINFO on
// connect (DisableIdentity) nor CLIENT MAINT_NOTIFICATIONS: both are newer
// than Redis 7.0, the oldest server we support. It speaks RESP2 (resp). It
// does not dial: the first command does.
func Connect(cfg ConnectConfig) (redis.UniversalClient, error) {
	set := 0
	for _, ok := range []bool{cfg.URL != "", len(cfg.ClusterAddrs) > 0, len(cfg.SentinelAddrs) > 0} {
		if ok {
			set++
		}
	}
	if set != 1 {
		return nil, errors.New("store: connect: set exactly one of a URL, cluster addresses or sentinel addresses")
	}
	switch {
	case cfg.URL != "":
		opt, err := redis.ParseURL(cfg.URL)
		if err != nil {
			// The URL may hold a password: do not repeat it.
			return nil, errors.New("store: connect: bad redis URL")
		}
		if cfg.Password != "" {
			opt.Password = cfg.Password
		}
		opt.ContextTimeoutEnabled = true
		opt.DisableIdentity = true
		opt.Protocol = resp
		opt.MaintNotificationsConfig = noMaint()
		return redis.NewClient(opt), nil
	case len(cfg.ClusterAddrs) > 0:
		return redis.NewClusterClient(&redis.ClusterOptions{
			Addrs:                    cfg.ClusterAddrs,
			Password:                 cfg.Password,
			Protocol:                 resp,
			ContextTimeoutEnabled:    true,
			DisableIdentity:          true,
			MaintNotificationsConfig: noMaint(),
		}), nil
	default:
		if cfg.MasterName == "" {
			return nil, errors.New("store: connect: sentinel addresses need a master name")
		}
		return redis.NewFailoverClient(&redis.FailoverOptions{
			MasterName:            cfg.MasterName,
			SentinelAddrs:         cfg.SentinelAddrs,
			Password:              cfg.Password,
			Protocol:              resp,
			ContextTimeoutEnabled: true,
			DisableIdentity:       true,
		}), nil
	}
}

// OpenEmbedded starts an in-process Redis (miniredis) whose TTLs follow the
// wall clock, and returns a client to it and the function that closes both.
// The data lives in memory only: it suits the console channel and demos.
func OpenEmbedded() (redis.UniversalClient, func(), error) {
	m := miniredis.NewMiniRedis()
	m.ClockTTL(true)
	if err := m.Start(); err != nil {
		return nil, nil, fmt.Errorf("store: start embedded redis: %w", err)
	}
	c := redis.NewClient(&redis.Options{Addr: m.Addr(), ContextTimeoutEnabled: true, DisableIdentity: true,
		MaintNotificationsConfig: noMaint()})
	return c, func() {
		_ = c.Close()
		m.Close()
	}, nil
}
