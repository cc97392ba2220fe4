// Package bot holds what every channel adapter shares: the interface a
// channel hands inputs to the conversation service by, and command parsing.
// Adapters live in sub-packages (console, telegram); each is a receiver,
// turning platform updates into flows.Input values, and a transport for the
// delivery core (package delivery), turning replies into platform messages.
package bot

import (
	"context"

	"github.com/hangxomso/hangxom/flows"
)

// Handler processes one input for a resident and leaves the replies in the
// resident's outbox. *flows.Service satisfies it.
type Handler interface {
	Handle(ctx context.Context, resident string, in flows.Input) (flows.Handled, error)
}

// ParseCommand splits "/start h_abc" into ("start", "h_abc"). It also strips
// a "@botname" suffix. ok is false when text is not a command.
func ParseCommand(text string) (name, args string, ok bool) {
	if len(text) < 2 || text[0] != '/' {
		return "", "", false
	}
	rest := text[1:]
	name, args = rest, ""
	for i, r := range rest {
		if r == ' ' || r == '\t' || r == '\n' {
			name, args = rest[:i], trimSpace(rest[i+1:])
			break
		}
	}
	for i := 0; i < len(name); i++ {
		if name[i] == '@' {
			name = name[:i]
			break
		}
	}
	if name == "" {
		return "", "", false
	}
	return name, args, true
}

func trimSpace(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t' || s[len(s)-1] == '\r') {
		s = s[:len(s)-1]
	}
	return s
}
