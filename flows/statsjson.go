package flows

import "time"

// StatsJSON is the JSON document of `hangxom stats --format json`; the open
// feed's /api/v1/stats (package dashboard) writes the same document with its
// area and range added, so a province's system reads one format from both.
type StatsJSON struct {
	GeneratedAt string         `json:"generated_at"`
	Rows        []StatsJSONRow `json:"rows"`
}

// StatsJSONRow is a StatsRow as the JSON writes it: the keys are
// StatsColumns, in order. A count is a pointer so that a reader who may not
// see a private flow's small numbers gets null for it (and Masked set)
// rather than a number; `hangxom stats` never masks, so its counts are
// always numbers and Masked, From and To never appear.
type StatsJSONRow struct {
	CommuneID     string   `json:"commune_id"`
	Commune       string   `json:"commune"`
	HamletID      string   `json:"hamlet_id"`
	Hamlet        string   `json:"hamlet"`
	Flow          string   `json:"flow"`
	Started       *int64   `json:"started"`
	Completed     *int64   `json:"completed"`
	CompletedSelf *int64   `json:"completed_self"`
	CompletedTeam *int64   `json:"completed_team"`
	Stalled       *int64   `json:"stalled"`
	HelpRequests  *int64   `json:"help_requests"`
	Households    *int     `json:"households"`
	Population    *int     `json:"population"`
	SharePct      *float64 `json:"share_pct"`
	TargetPct     *float64 `json:"target_pct"`
	// Masked says some count of the row is null because it is hidden.
	Masked bool `json:"masked,omitempty"`
	// From and To are the months a row counts when they are not the
	// document's: a masked flow's rows are always the same range, since
	// two ranges subtracted would undo the mask.
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
}

// NewStatsJSON is the document of rows generated at now; an empty list is
// written [] (never null).
func NewStatsJSON(rows []StatsRow, now time.Time) StatsJSON {
	out := StatsJSON{GeneratedAt: now.Format(time.RFC3339), Rows: make([]StatsJSONRow, len(rows))}
	for i, r := range rows {
		out.Rows[i] = r.JSON()
	}
	return out
}

// JSON is r as the JSON writes it, every count a number.
func (r StatsRow) JSON() StatsJSONRow {
	n := func(v int64) *int64 { return &v }
	return StatsJSONRow{CommuneID: r.CommuneID, Commune: r.Commune, HamletID: r.HamletID, Hamlet: r.Hamlet, Flow: r.Flow,
		Started: n(r.Started), Completed: n(r.Completed), CompletedSelf: n(r.CompletedSelf), CompletedTeam: n(r.CompletedTeam),
		Stalled: n(r.Stalled), HelpRequests: n(r.HelpRequests), Households: r.Households, Population: r.Population,
		SharePct: r.SharePct, TargetPct: r.TargetPct}
}
