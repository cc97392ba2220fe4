package telegram

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hangxomso/hangxom/metrics"
)

// updateKinds are the values of Event.Kind, plus "unreadable" for an update
// that could not be decoded: the kind label's values.
var updateKinds = []string{"unreadable", "unknown", "message", "edited_message", "callback_query",
	"my_chat_member", "channel_post", "inline", "poll", "chat_member", "payment"}

// numActions is the number of Action values.
const numActions = int(GroupHint) + 1

// Metrics are the Telegram receiver's counters and histograms (the sends
// are the delivery core's: delivery.Metrics), registered on
// a metrics.Metrics. Every labelled child is resolved at construction, so
// counting an update or a send is an atomic add (the kind is found in a map
// that is only read). A nil *Metrics counts nothing.
type Metrics struct {
	updates   map[string]*[numActions]prometheus.Counter
	panics    prometheus.Counter
	inResp    prometheus.Counter
	histogram *metrics.Channel
}

// NewMetrics registers the Telegram channel's metrics on m.
func NewMetrics(m *metrics.Metrics) *Metrics {
	updates := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "hangxom_telegram_updates_total", Help: "Updates received, by kind and action.",
	}, []string{"kind", "action"})
	t := &Metrics{
		updates: map[string]*[numActions]prometheus.Counter{},
		panics: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hangxom_telegram_panics_total", Help: "Updates whose handling panicked (recovered).",
		}),
		inResp: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hangxom_telegram_callbacks_in_response_total",
			Help: "Button presses answered in the webhook's response (no request of the bot's).",
		}),
		histogram: m.Channel("telegram"),
	}
	for _, k := range updateKinds {
		var byAction [numActions]prometheus.Counter
		for a := range Action(numActions) {
			byAction[a] = updates.WithLabelValues(k, a.String())
		}
		t.updates[k] = &byAction
	}
	m.Register(updates, t.panics, t.inResp)
	return t
}

func (m *Metrics) update(kind string, a Action) {
	if m == nil {
		return
	}
	if c, ok := m.updates[kind]; ok {
		c[a].Inc()
	}
}

func (m *Metrics) updateTime(seconds float64) {
	if m != nil {
		m.histogram.Update(seconds)
	}
}

func (m *Metrics) panicked() {
	if m != nil {
		m.panics.Inc()
	}
}

func (m *Metrics) callbackInResponse() {
	if m != nil {
		m.inResp.Inc()
	}
}
