package content

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestMergeTargetsLetsAnImportWin: an imported target replaces the
// content's for the same flow and area, the content's others stay, and the
// result is ordered by flow, then area.
func TestMergeTargetsLetsAnImportWin(t *testing.T) {
	shipped := []Target{
		{Flow: "vneid", Area: "xa-a", Pct: 40, Source: "content"},
		{Flow: "ewallet", Area: "xa-b", Pct: 50, Source: "content"},
		{Flow: "ewallet", Area: "xa-a", Pct: 60, Source: "content"},
	}
	imported := []Target{
		{Flow: "ewallet", Area: "xa-a", Pct: 75, Source: "import"},
		{Flow: "qr-pay", Area: "xa-a", Pct: 20, Source: "import"},
	}
	want := []Target{
		{Flow: "ewallet", Area: "xa-a", Pct: 75, Source: "import"},
		{Flow: "ewallet", Area: "xa-b", Pct: 50, Source: "content"},
		{Flow: "qr-pay", Area: "xa-a", Pct: 20, Source: "import"},
		{Flow: "vneid", Area: "xa-a", Pct: 40, Source: "content"},
	}
	if diff := cmp.Diff(want, MergeTargets(imported, shipped)); diff != "" {
		t.Errorf("merged targets (-want +got):\n%s", diff)
	}
}
