package store

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

func TestLibraryLoggerLevelsAndRedaction(t *testing.T) {
	tests := []struct {
		name      string
		format    string
		args      []any
		wantLevel string
		wantMsg   string
	}{
		{"a failed dial is debug", "redis: connection pool: failed to dial after %d attempts: %v", []any{5, "dial tcp 127.0.0.1:1: connect: connection refused"},
			"DEBUG", "failed to dial after 5 attempts"},
		{"anything else is a warning", "redis: discarding bad PubSub connection: %v", []any{"EOF"}, "WARN", "discarding bad PubSub connection"},
		{"a secret is replaced", "sentinel: auth %s failed", []any{"hunter2-long-password"}, "WARN", "auth <secret> failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			l := LibraryLogger{
				Logger:  slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})),
				Secrets: []string{"", "hunter2-long-password"},
			}
			l.Printf(context.Background(), tt.format, tt.args...)
			got := buf.String()
			if !strings.Contains(got, "level="+tt.wantLevel) || !strings.Contains(got, tt.wantMsg) {
				t.Errorf("logged %q, want level %s and %q", got, tt.wantLevel, tt.wantMsg)
			}
			if strings.Contains(got, "hunter2") {
				t.Errorf("logged the secret: %q", got)
			}
		})
	}
}
