package loadtest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Percentiles returns the p50, p99 and max of ds (zero when empty).
func Percentiles(ds []time.Duration) (p50, p99, maxD time.Duration) {
	if len(ds) == 0 {
		return 0, 0, 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(q float64) time.Duration {
		i := int(q*float64(len(s))+0.5) - 1
		return s[min(max(i, 0), len(s)-1)]
	}
	return at(0.50), at(0.99), s[len(s)-1]
}

// Ms prints a duration in milliseconds with two decimals.
func Ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 2, 64) + " ms" }

// RoundTrips reads hangxom_redis_round_trips_total from a /metrics page,
// by operation.
func RoundTrips(ctx context.Context, hc *http.Client, metricsURL string) (map[string]int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, metricsURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", metricsURL, resp.Status)
	}
	return parseRoundTrips(resp.Body)
}

func parseRoundTrips(r io.Reader) (map[string]int64, error) {
	out := map[string]int64{}
	sc := bufio.NewScanner(r)
	const name = `hangxom_redis_round_trips_total{op="`
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), name)
		if !ok {
			continue
		}
		op, rest, ok := strings.Cut(line, `"} `)
		if !ok {
			continue
		}
		// The exposition format writes a float: a large count may come
		// as 1.234567e+06.
		n, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
		if err != nil {
			return nil, fmt.Errorf("metrics line %q: %w", sc.Text(), err)
		}
		out[op] = int64(n)
	}
	return out, sc.Err()
}

// Delta is after − before, per operation, dropping zeros.
func Delta(before, after map[string]int64) map[string]int64 {
	out := map[string]int64{}
	for k, v := range after {
		if d := v - before[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}

// Sum adds up the values of m.
func Sum(m map[string]int64) int64 {
	var n int64
	for _, v := range m {
		n += v
	}
	return n
}

// Top lists the n largest entries of m as "op ×per-update" lines.
func Top(m map[string]int64, per float64, n int) []string {
	type kv struct {
		k string
		v int64
	}
	var all []kv
	for k, v := range m {
		all = append(all, kv{k, v})
	}
	slices.SortFunc(all, func(a, b kv) int {
		if a.v != b.v {
			return int(b.v - a.v)
		}
		return strings.Compare(a.k, b.k)
	})
	var out []string
	for i, e := range all {
		if i == n {
			break
		}
		out = append(out, fmt.Sprintf("%-50s %6.2f", e.k, float64(e.v)/per))
	}
	return out
}

// DeltaByMethod is after − before, per Bot API method, dropping methods
// not called in between.
func DeltaByMethod(before, after map[string]MethodCount) map[string]MethodCount {
	out := map[string]MethodCount{}
	for k, v := range after {
		d := MethodCount{Calls: v.Calls - before[k].Calls, InResponse: v.InResponse - before[k].InResponse}
		if d != (MethodCount{}) {
			out[k] = d
		}
	}
	return out
}

// ByMethodLine tells the Bot API calls per update by method, sorted by
// name, with those given in the webhook's answer marked:
// "Bot API calls per update by method: answerCallbackQuery 1.00 (1.00 in
// the webhook's answer), sendMessage 1.20".
func ByMethodLine(m map[string]MethodCount, updates float64) string {
	return byMethodLine("Bot API", m, updates)
}

// byMethodLine is ByMethodLine for the calls of api ("Bot API", "Zalo
// API"), by method or path.
func byMethodLine(api string, m map[string]MethodCount, updates float64) string {
	var b strings.Builder
	b.WriteString(api + " calls per update by method:")
	if len(m) == 0 || updates <= 0 {
		b.WriteString(" none")
		return b.String()
	}
	for i, k := range slices.Sorted(maps.Keys(m)) {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, " %s %.2f", k, float64(m[k].Calls)/updates)
		if m[k].InResponse > 0 {
			fmt.Fprintf(&b, " (%.2f in the webhook's answer)", float64(m[k].InResponse)/updates)
		}
	}
	return b.String()
}
