package store

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// LibraryLogger carries go-redis's own log lines (connection pool, cluster
// and Sentinel notices, which the library otherwise prints to stderr) into a
// slog.Logger. Give it to redis.SetLogger. A failed dial is logged at debug:
// the callers' own errors and /healthz already report an unreachable Redis,
// and an outage of a few seconds makes dozens of them. Everything else is
// logged at warn. Each of Secrets is replaced by "<secret>" first, so that a
// password the library might print never reaches the log.
type LibraryLogger struct {
	Logger  *slog.Logger
	Secrets []string
}

// Printf logs one of the library's lines.
func (l LibraryLogger) Printf(ctx context.Context, format string, v ...any) {
	if l.Logger == nil {
		return
	}
	msg := strings.TrimSpace(fmt.Sprintf(format, v...))
	for _, s := range l.Secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "<secret>")
		}
	}
	level := slog.LevelWarn
	if strings.Contains(msg, "failed to dial") {
		level = slog.LevelDebug
	}
	l.Logger.Log(ctx, level, "redis library", "msg", msg)
}
