package delivery

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hangxomso/hangxom/metrics"
)

// sendOutcomes lists every metrics.SendOutcome, in order.
var sendOutcomes = [...]metrics.SendOutcome{metrics.Sent, metrics.Uncertain, metrics.Throttled,
	metrics.Blocked, metrics.Rejected, metrics.Retry}

// Metrics count the core's sends by channel and outcome, registered on a
// metrics.Metrics. Every labelled child is resolved at construction, so
// counting a send is an atomic add. A nil *Metrics counts nothing.
type Metrics struct {
	channels map[string]*channelMetrics
}

type channelMetrics struct {
	sends     [len(sendOutcomes)]prometheus.Counter
	histogram *metrics.Channel
}

// NewMetrics registers the send counters of the channels named on m:
// hangxom_sends_total{channel,result}, and each channel's send-time
// histogram (metrics.Channel).
func NewMetrics(m *metrics.Metrics, channels ...string) *Metrics {
	sends := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hangxom_sends_total", Help: "Outgoing messages, by channel and result.",
	}, []string{"channel", "result"})
	d := &Metrics{channels: map[string]*channelMetrics{}}
	for _, name := range channels {
		c := &channelMetrics{histogram: m.Channel(name)}
		for i, o := range sendOutcomes {
			c.sends[i] = sends.WithLabelValues(name, o.String())
		}
		d.channels[name] = c
	}
	m.Register(sends)
	return d
}

// send counts one send of channel; seconds < 0 when no call was made.
func (m *Metrics) send(channel string, o metrics.SendOutcome, seconds float64) {
	if m == nil {
		return
	}
	c := m.channels[channel]
	if c == nil {
		return
	}
	c.sends[o].Inc()
	if seconds >= 0 {
		c.histogram.Send(o, seconds)
	}
}
