package flows_test

import (
	"testing"

	"github.com/hangxomso/hangxom/flows"
)

// A team member's /move of a resident is not a message from them: it does
// not restart their retention period.
func TestMoveDoesNotRestartRetention(t *testing.T) {
	c := newConv(t)
	onboard(c)
	seen := c.s.Seen
	c.send(flows.Input{Kind: flows.InputMoved, Data: "a-2"})
	if !c.s.Seen.Equal(seen) {
		t.Errorf("Seen moved from %v to %v on a team member's /move", seen, c.s.Seen)
	}
}
