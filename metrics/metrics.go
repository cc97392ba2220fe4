// Package metrics is what serve shows at /metrics: a Prometheus registry of
// the bot's own (never the library's global one, so tests and several bots
// in one process do not collide), with Go's runtime and process collectors,
// and the histograms every channel shares. Names and label values are fixed
// strings chosen by the code, never residents' data.
//
// The hot path only touches children resolved at construction: observing
// an update or a send is a few atomic adds, with no label lookup.
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Channels are the channel label's values.
var Channels = []string{"telegram", "console", "zalo"}

// SendOutcome is how one call that sends a message ended.
type SendOutcome int

// The outcomes of a send, the outcome label's values.
const (
	Sent      SendOutcome = iota // the platform took it
	Uncertain                    // the answer was lost: maybe shown, not repeated
	Throttled                    // too fast (Telegram's 429): tried again later
	Blocked                      // the resident blocked the bot
	Rejected                     // refused for good (bad markup, too long): dropped
	Retry                        // a transient failure: tried again
	numOutcomes
)

var outcomeNames = [numOutcomes]string{"sent", "uncertain", "throttled", "blocked", "rejected", "retry"}

func (o SendOutcome) String() string { return outcomeNames[o] }

// Metrics is the registry and the shared histograms.
type Metrics struct {
	reg        *prometheus.Registry
	collectors []prometheus.Collector
	channels   map[string]*Channel
	redisTime  prometheus.Histogram
}

// Channel holds one channel's histograms, resolved once.
type Channel struct {
	update prometheus.Observer
	send   [numOutcomes]prometheus.Observer
}

// New returns a registry with Go's runtime and process collectors, the
// update and send histograms of every channel and the Redis round-trip
// histogram.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), channels: map[string]*Channel{}}
	update := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "hangxom_update_seconds",
		Help: "Time to handle one update, from its arrival to its turn stored (the replies go out after), by channel.",
		// A turn is one Redis round trip or three (about a millisecond
		// on a quiet box); the tail is a lock wait or Redis away.
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 10},
	}, []string{"channel"})
	send := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "hangxom_send_seconds",
		Help: "Time of one call that sends a message, by channel and outcome.",
		// Telegram answers in tens to hundreds of milliseconds; the
		// client gives up on a call after a minute or so.
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
	}, []string{"channel", "outcome"})
	m.redisTime = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "hangxom_redis_round_trip_seconds",
		Help:    "Time of one Redis round trip (a command, a pipeline or a script), as go-redis sees it.",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .5, 1, 5},
	})
	for _, name := range Channels {
		c := &Channel{update: update.WithLabelValues(name)}
		for o := range numOutcomes {
			c.send[o] = send.WithLabelValues(name, o.String())
		}
		m.channels[name] = c
	}
	m.Register(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		update, send, m.redisTime)
	return m
}

// Register adds collectors to the registry; it panics on a name registered
// twice, which is a programming error found by every test that builds the
// metrics.
func (m *Metrics) Register(cs ...prometheus.Collector) {
	m.reg.MustRegister(cs...)
	m.collectors = append(m.collectors, cs...)
}

// Collectors returns every collector registered, for the test that checks
// each one shows on /metrics.
func (m *Metrics) Collectors() []prometheus.Collector {
	return append([]prometheus.Collector(nil), m.collectors...)
}

// Channel returns a channel's histograms; nil for an unknown channel (its
// observations are then dropped). A nil *Metrics gives nil.
func (m *Metrics) Channel(name string) *Channel {
	if m == nil {
		return nil
	}
	return m.channels[name]
}

// RedisTime is the Redis round-trip histogram, for the store's hook.
func (m *Metrics) RedisTime() prometheus.Observer { return m.redisTime }

// Handler serves the registry in the Prometheus exposition formats.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Update records the time to handle one update. A nil *Channel does
// nothing, so a channel built without metrics needs no check.
func (c *Channel) Update(seconds float64) {
	if c != nil {
		c.update.Observe(seconds)
	}
}

// Send records the time of one send call and its outcome.
func (c *Channel) Send(o SendOutcome, seconds float64) {
	if c != nil {
		c.send[o].Observe(seconds)
	}
}

// countsByLabel is a counter family whose values are read at scrape time
// from a counter kept elsewhere (the store's round trips), so counting
// costs the hot path nothing more than it did.
type countsByLabel struct {
	desc *prometheus.Desc
	read func() map[string]int64
}

// NewCounts returns a collector of the counter name, one series per key of
// what read returns, labelled label.
func NewCounts(name, help, label string, read func() map[string]int64) prometheus.Collector {
	return &countsByLabel{desc: prometheus.NewDesc(name, help, []string{label}, nil), read: read}
}

func (c *countsByLabel) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *countsByLabel) Collect(ch chan<- prometheus.Metric) {
	for k, v := range c.read() {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(v), k)
	}
}

// Turns counts the turns an operator should know of (flows.Watcher):
// hangxom_old_button_streaks_total, residents who tapped old buttons
// several times in a row (they may be stuck), and
// hangxom_lost_writes_seen_total, taps on a screen newer than the stored
// session (Redis forgot writes whose replies were sent).
type Turns struct {
	oldTaps, lostWrites prometheus.Counter
}

// NewTurns registers the counters of Turns on m.
func NewTurns(m *Metrics) *Turns {
	t := &Turns{
		oldTaps: prometheus.NewCounter(prometheus.CounterOpts{Name: "hangxom_old_button_streaks_total",
			Help: "Residents who tapped old buttons several times in a row (they may be stuck)."}),
		lostWrites: prometheus.NewCounter(prometheus.CounterOpts{Name: "hangxom_lost_writes_seen_total",
			Help: "Taps on a screen newer than the resident's stored session: Redis forgot writes whose replies were sent."}),
	}
	m.Register(t.oldTaps, t.lostWrites)
	return t
}

// OldTaps counts a resident tapping old buttons several times in a row.
func (t *Turns) OldTaps() { t.oldTaps.Inc() }

// LostWrite counts a tap on a screen newer than the stored session.
func (t *Turns) LostWrite() { t.lostWrites.Inc() }

// NewCounterFunc returns a collector of the counter name, read from read
// at each scrape.
func NewCounterFunc(name, help string, read func() int64) prometheus.Collector {
	return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(read()) })
}
