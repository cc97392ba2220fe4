package flows

import (
	"context"
	"crypto/sha256"
	"time"
)

// StepCode is a step's code in the funnel's record of the steps a resident
// reached in a month: the first 3 bytes of SHA-256("<flow>/<step>"). Two
// ids of one flow share a code with a chance of about n²/2²⁵ (1 in 37,000
// for a flow of 30 steps and retired ids); content check refuses a flow
// where they do. Three bytes, not the id: a resident's record of a month
// stays within the 64 bytes of a compact Redis hash value up to 21 steps.
func StepCode(flow, step string) string {
	sum := sha256.Sum256([]byte(flow + "/" + step))
	return string(sum[:3])
}

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

// HamletView is what a hamlet's dashboard page shows, read at once: each
// guide's funnel, each month's counts per guide (the trend; Stalled is not
// kept per month and is 0 there), and the open help requests.
type HamletView struct {
	// Funnels are by flow id, each as FunnelReader.Funnels gives it.
	Funnels map[string][]FunnelRow
	// Months are by month (YYYY-MM), then flow id.
	Months map[string]map[string]Counts
	// Open are the hamlet's open and claimed help requests, oldest first.
	Open []HelpRequest
}

// HamletViewReader reads a hamlet's page in a fixed number of round trips
// (two: the counts, funnels and the open requests' ids, then the requests).
type HamletViewReader interface {
	HamletView(ctx context.Context, hamlet string, fs []*Flow, months []string, stalledBefore time.Time) (HamletView, error)
}
