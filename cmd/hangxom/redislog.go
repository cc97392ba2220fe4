package main

import (
	"io"
	"net/url"

	"github.com/redis/go-redis/v9"

	"github.com/hangxomso/hangxom/store"
)

// routeRedisLog sends go-redis's own log lines, which it otherwise prints
// to stderr in its own format, through serve's slog logger (see
// store.LibraryLogger for the levels), with the Redis passwords removed.
// The library keeps one logger per process, as telegram-bot-api does.
func routeRedisLog(cfg config, stderr io.Writer) {
	secrets := []string{cfg.RedisPassword}
	if u, err := url.Parse(cfg.RedisURL); err == nil && u.User != nil {
		if p, ok := u.User.Password(); ok {
			secrets = append(secrets, p)
		}
	}
	redis.SetLogger(store.LibraryLogger{Logger: newLogger(cfg, stderr), Secrets: secrets})
}
