package store

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Allow takes one request from the rate limiter key, shared by every replica
// on this Redis: on average ratePerSec requests a second, with bursts of up
// to burst (at least 1). It never waits: when the request is refused it says
// how long until the next one would be allowed. It is GCRA (rateScript) on
// one key, Keys.Rate(key), which lives as long as a full burst takes to
// drain. The time is Options.Clock's, so replicas' clocks must agree to well
// under one emission interval (NTP does, for Telegram's limits).
func (r *Redis) Allow(ctx context.Context, key string, ratePerSec float64, burst int) (allowed bool, retryAfter time.Duration, err error) {
	if !(ratePerSec > 0) || math.IsInf(ratePerSec, 1) {
		return false, 0, fmt.Errorf("store: rate %s: rate %v is not a positive number", key, ratePerSec)
	}
	burst = max(burst, 1)
	interval := 1e6 / ratePerSec // µs
	now := r.opts.Clock.Now().UnixMicro()
	res, err := rateScript.Run(ctx, r.c, []string{r.keys.Rate(key)},
		now, strconv.FormatFloat(interval, 'f', 3, 64), burst).Slice()
	if err != nil {
		return false, 0, fmt.Errorf("store: rate %s: %w", key, err)
	}
	if len(res) != 2 {
		return false, 0, fmt.Errorf("store: rate %s: unexpected reply %v", key, res)
	}
	ok, _ := res[0].(int64)
	wait, _ := res[1].(string)
	us, err := strconv.ParseInt(wait, 10, 64)
	if err != nil {
		return false, 0, fmt.Errorf("store: rate %s: unexpected reply %v", key, res)
	}
	return ok == 1, time.Duration(us) * time.Microsecond, nil
}
