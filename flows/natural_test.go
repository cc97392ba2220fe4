package flows_test

import (
	"testing"

	"github.com/hangxomso/hangxom/flows"
)

func TestNaturalCompare(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"tdp 2", "tdp 10", -1},
		{"tdp 10", "tdp 2", 1},
		{"tdp 02", "tdp 2", 0},
		{"xom 3a", "xom 3b", -1},
		{"", "a", -1},
		{"ấp 1", "ấp 1", 0},
		{"ấp", "ập", -1},
		// Numbers longer than any integer type compare by value too.
		{"a 99999999999999999999999", "a 100000000000000000000000", -1},
		// Digits of other scripts are letters here: they ended the loop
		// only by luck before (found by FuzzCheckFlowFile: it spun forever).
		{"xóm ٣", "xóm ٣", 0},
		{"xóm ٣", "xóm ٤", -1},
		{"\xff1", "\xff2", -1},
	} {
		if got := flows.NaturalCompare(tc.a, tc.b); got != tc.want {
			t.Errorf("NaturalCompare(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
