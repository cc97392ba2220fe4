package flows_test

import (
	"testing"
	"time"

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

// The first screen never announces a shorter retention than the one kept:
// under 60 days it says days, otherwise months rounded up.
func TestWelcomeAnnouncesTheRetention(t *testing.T) {
	for _, tt := range []struct {
		retention time.Duration
		want      string
	}{
		{0, "common.retention_months{Count=12}"},
		{365 * 24 * time.Hour, "common.retention_months{Count=12}"},
		{366 * 24 * time.Hour, "common.retention_months{Count=12}"},
		{45 * 24 * time.Hour, "common.retention_days{Count=45}"},
		{36 * time.Hour, "common.retention_days{Count=2}"},
		{60 * 24 * time.Hour, "common.retention_months{Count=2}"},
		{90 * 24 * time.Hour, "common.retention_months{Count=3}"},
		{100 * 24 * time.Hour, "common.retention_months{Count=4}"},
	} {
		t.Run(tt.retention.String(), func(t *testing.T) {
			c := newConv(t)
			c.e.Retention = tt.retention
			got := texts(c.text("alo"))[0]
			if want := "common.welcome{Period=" + tt.want + "}"; got != want {
				t.Errorf("welcome: %s, want %s", got, want)
			}
		})
	}
}
