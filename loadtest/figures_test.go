package loadtest

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The bot's /metrics comes from Prometheus's client, which writes a large
// count in exponent form: it must still read as the count.
func TestParseRoundTripsReadsPrometheusNumbers(t *testing.T) {
	page := `# HELP hangxom_redis_round_trips_total Redis round trips (a pipeline or a script is one), by operation.
# TYPE hangxom_redis_round_trips_total counter
hangxom_redis_round_trips_total{op="get"} 12
hangxom_redis_round_trips_total{op="pipeline(get,script:effect)"} 1.234567e+06
hangxom_redis_round_trips_totally{op="x"} 1
`
	got, err := parseRoundTrips(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{"get": 12, "pipeline(get,script:effect)": 1234567}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("round trips (-want +got):\n%s", diff)
	}
}
