package flows

import (
	"context"
	"time"
)

// FunnelRow is one line of a hamlet's funnel of a guide: a step, how many
// residents reached it (once per resident and month, summed over the
// months asked for), how many of those whose run is still open stopped
// there and are stalled (the /stats rule: idle since before WAIT_EXPIRY),
// and how many help requests were made at it.
type FunnelRow struct {
	// Step is the step id; "" for the stalled residents whose step is not
	// known (their run was last moved before the funnel was recorded).
	Step string
	// Retired is set for an id that is not a step of the guide any more
	// (Flow.Retired, or any other id its counts were kept under).
	Retired bool
	Reached int64
	Stalled int64
	Help    int64
}

// FunnelReader reads the funnels the store keeps.
type FunnelReader interface {
	// Funnels returns, per hamlet, the funnel of f over months (YYYY-MM in
	// the bot's time zone): the guide's steps in file order, then retired
	// and unknown ids that have counts, then the stalled whose step is not
	// known. It costs a fixed number of round trips, whatever the number
	// of hamlets and months.
	Funnels(ctx context.Context, hamlets []string, f *Flow, months []string, stalledBefore time.Time) (map[string][]FunnelRow, error)
}
