package telegram

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
)

// Metrics is a small set of counters exposed in the Prometheus text format
// at /metrics. Names and label values are fixed strings chosen by the code,
// never residents' data.
type Metrics struct {
	mu       sync.Mutex
	counters map[string]float64 // key: name{labels}
	help     map[string]string
}

// NewMetrics returns empty metrics with their help texts.
func NewMetrics() *Metrics {
	return &Metrics{counters: map[string]float64{}, help: map[string]string{
		"hangxom_telegram_updates_total":               "Updates received, by kind and outcome.",
		"hangxom_telegram_sends_total":                 "Outgoing messages, by result.",
		"hangxom_telegram_panics_total":                "Updates whose handling panicked (recovered).",
		"hangxom_telegram_callbacks_in_response_total": "Button presses answered in the webhook's response (no request of the bot's).",
	}}
}

// Add increments a counter; labels are name, value pairs.
func (m *Metrics) Add(name string, labels ...string) {
	if m == nil {
		return
	}
	var b strings.Builder
	b.WriteString(name)
	if len(labels) > 0 {
		b.WriteByte('{')
		for i := 0; i+1 < len(labels); i += 2 {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "%s=%q", labels[i], labels[i+1])
		}
		b.WriteByte('}')
	}
	m.mu.Lock()
	m.counters[b.String()]++
	m.mu.Unlock()
}

// Get returns a counter's value (for tests).
func (m *Metrics) Get(series string) float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.counters[series]
}

// WriteTo writes every counter in the Prometheus text exposition format.
func (m *Metrics) WriteTo(w io.Writer) (int64, error) {
	m.mu.Lock()
	keys := make([]string, 0, len(m.counters))
	for k := range m.counters {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	names := make([]string, 0, len(m.help))
	for n := range m.help {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s counter\n", n, m.help[n], n)
		for _, k := range keys {
			if k == n || strings.HasPrefix(k, n+"{") {
				fmt.Fprintf(&b, "%s %g\n", k, m.counters[k])
			}
		}
	}
	m.mu.Unlock()
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}
