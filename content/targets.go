package content

import (
	"cmp"
	"slices"
	"strings"

	"github.com/hangxomso/hangxom/flows"
)

// MergeTargets returns the targets in force: every imported one (`hangxom
// targets import`, kept in the store) and each shipped one (targets.yaml)
// for a flow and area no import names, ordered by flow, then area. An
// import wins because it is the province's word on its own areas, set after
// the content shipped.
func MergeTargets(imported, shipped []Target) []Target {
	named := make(map[[2]string]bool, len(imported))
	ts := make([]Target, 0, len(imported)+len(shipped))
	for _, t := range imported {
		named[[2]string{t.Flow, t.Area}] = true
		ts = append(ts, t)
	}
	for _, t := range shipped {
		if !named[[2]string{t.Flow, t.Area}] {
			ts = append(ts, t)
		}
	}
	slices.SortStableFunc(ts, func(x, y Target) int {
		return cmp.Or(strings.Compare(x.Flow, y.Flow), strings.Compare(x.Area, y.Area))
	})
	return ts
}

// StatsTargets gives targets to the stats, which need only the flow, the
// area, the share and what it is a share of.
func StatsTargets(ts []Target) []flows.Target {
	out := make([]flows.Target, len(ts))
	for i, t := range ts {
		out[i] = flows.Target{Flow: t.Flow, Area: t.Area, Pct: t.Pct, Basis: t.Basis}
	}
	return out
}
