package loadtest

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"time"
)

// BoxCPU is the machine's CPU time so far, from the first line of
// /proc/stat, in clock ticks summed over every CPU.
type BoxCPU struct {
	Busy, Total, Steal int64
}

// ReadBoxCPU reads the machine's CPU time so far.
func ReadBoxCPU() (BoxCPU, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return BoxCPU{}, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return parseProcStat(line)
}

// parseProcStat reads the "cpu" line of /proc/stat: user nice system idle
// iowait irq softirq steal [guest guest_nice]. Busy is everything but idle
// and iowait (steal included: time the host gave to someone else). Guest
// time is already counted in user and nice.
func parseProcStat(line string) (BoxCPU, error) {
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return BoxCPU{}, errors.New("loadtest: unreadable /proc/stat cpu line")
	}
	var v [8]int64
	for i := range v {
		n, err := strconv.ParseInt(f[i+1], 10, 64)
		if err != nil {
			return BoxCPU{}, errors.New("loadtest: unreadable /proc/stat cpu line")
		}
		v[i] = n
	}
	var c BoxCPU
	for i, n := range v {
		c.Total += n
		if i != 3 && i != 4 { // idle, iowait
			c.Busy += n
		}
	}
	c.Steal = v[7]
	return c, nil
}

// BoxBusy samples the machine's CPU every interval until ctx ends, and
// returns the fraction of it busy in each interval (steal included) and
// the fraction stolen by the host. It returns nothing where /proc/stat
// cannot be read.
func BoxBusy(ctx context.Context, interval time.Duration) (busy, steal []float64) {
	prev, err := ReadBoxCPU()
	if err != nil {
		return nil, nil
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return busy, steal
		case <-t.C:
		}
		cur, err := ReadBoxCPU()
		if err != nil {
			return busy, steal
		}
		if d := cur.Total - prev.Total; d > 0 {
			busy = append(busy, float64(cur.Busy-prev.Busy)/float64(d))
			steal = append(steal, float64(cur.Steal-prev.Steal)/float64(d))
		}
		prev = cur
	}
}

// Second is one second of a run: the updates posted in it and the p99 of
// their latency to the first API call.
type Second struct {
	Updates int
	P99     time.Duration
}

// PerSecond groups samples by the second, counted from start, they were
// posted in; seconds from n on are left out.
func PerSecond(samples []Sample, start time.Time, n int) []Second {
	byS := make([][]time.Duration, n)
	for _, s := range samples {
		i := int(s.At.Sub(start) / time.Second)
		if s.At.Before(start) || i >= n {
			continue
		}
		byS[i] = append(byS[i], s.First)
	}
	out := make([]Second, n)
	for i, ds := range byS {
		_, p99, _ := Percentiles(ds)
		out[i] = Second{Updates: len(ds), P99: p99}
	}
	return out
}
