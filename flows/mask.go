package flows

import (
	"bytes"
	"strconv"
)

// Masking (issue 20 §3.5): the counts of a private flow (PRIVATE_FLOWS)
// from 1 to MaskBelow-1 are not shown to someone who may not see its
// residents by name: in a village, "2 people did the party handbook in
// Xóm 3" names them. The dashboard, the chat's /stats and /export all
// mask through MaskTotal, so the three cannot drift apart and one of them
// undo what another hides.

// MaskBelow is the smallest count of a private flow shown as it is to
// someone who may not name its residents; 1 to MaskBelow-1 are MaskText.
const MaskBelow = 5

// MaskText is what a masked count from 1 to MaskBelow-1 is written as.
const MaskText = "<5"

// HiddenText is what a count hidden with a small one of its group is
// written as: never its number.
const HiddenText = "—"

// ShownTotal is a StatsTotal as one viewer is shown it: each count as text.
type ShownTotal struct {
	Started, Completed, Self, Team, Stalled, Help string
	// GroupHidden says Completed, Self and Team are hidden together (one
	// of them is 1 to MaskBelow-1). The share of households reached is
	// Completed over a public number, so it is hidden with them.
	GroupHidden bool
}

// Masked reports whether any count is not written as its number.
func (s ShownTotal) Masked() bool {
	for _, x := range []string{s.Started, s.Completed, s.Self, s.Team, s.Stalled, s.Help} {
		if x == MaskText || x == HiddenText {
			return true
		}
	}
	return false
}

// small reports whether n is a count masking hides.
func small(n int64) bool { return n > 0 && n < MaskBelow }

// MaskTotal writes t's counts for a viewer; masked says the viewer may not
// name the residents they count (the flow is private and the viewer is
// neither a coordinator nor the hamlet's party-cell secretary). Unmasked,
// every count is its number.
//
// Started, Stalled and Help are masked each alone: 1 to 4 is MaskText.
// Completed = Self + Team, so a small one of the three hides all three,
// or the other two would give it away: the small ones are MaskText, the
// others HiddenText (a 0 too: "3 = 3 + 0" names who did it alone).
func MaskTotal(t StatsTotal, masked bool) ShownTotal {
	one := func(n int64) string {
		if masked && small(n) {
			return MaskText
		}
		return strconv.FormatInt(n, 10)
	}
	s := ShownTotal{Started: one(t.Started), Completed: one(t.Completed), Self: one(t.CompletedSelf),
		Team: one(t.CompletedTeam), Stalled: one(t.Stalled), Help: one(t.HelpRequests)}
	if masked && (small(t.Completed) || small(t.CompletedSelf) || small(t.CompletedTeam)) {
		group := func(n int64) string {
			if small(n) {
				return MaskText
			}
			return HiddenText
		}
		s.Completed, s.Self, s.Team = group(t.Completed), group(t.CompletedSelf), group(t.CompletedTeam)
		s.GroupHidden = true
	}
	return s
}

// MaskRow is MaskTotal of one row.
func MaskRow(r StatsRow, masked bool) ShownTotal {
	var t StatsTotal
	t.Add(r)
	return MaskTotal(t, masked)
}

// MaskedCells is Cells as a viewer is shown the row: masked, through
// MaskRow, a count of 1 to 4 is MaskText and a count hidden with its group
// is empty, as an unknown number is (a dash in a number column would upset
// a spreadsheet's sums), and so is share_pct when hidden.
func (r StatsRow) MaskedCells(masked bool) []string {
	c := r.Cells()
	if !masked {
		return c
	}
	s := MaskRow(r, true)
	cell := func(x string) string {
		if x == HiddenText {
			return ""
		}
		return x
	}
	// The counts' columns in StatsColumns' order: started to help_requests.
	for i, x := range []string{s.Started, s.Completed, s.Self, s.Team, s.Stalled, s.Help} {
		c[5+i] = cell(x)
	}
	if s.GroupHidden {
		c[13] = "" // share_pct
	}
	return c
}

// ExportMaskedCSV is ExportCSV with each row masked for its viewer when
// masked(row) says so (see MaskedCells).
func ExportMaskedCSV(rows []StatsRow, masked func(StatsRow) bool) []byte {
	var b bytes.Buffer
	b.WriteString("\ufeff")
	w := NewCSVWriter(&b)
	_ = w.Write(StatsColumns()) // a bytes.Buffer does not fail
	for _, r := range rows {
		_ = w.Write(r.MaskedCells(masked != nil && masked(r)))
	}
	_ = w.Flush()
	return b.Bytes()
}
