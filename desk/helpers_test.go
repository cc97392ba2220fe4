package desk_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// check reports a difference between want and got as "(-want +got)".
func check(t *testing.T, what string, want, got any) {
	t.Helper()
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("%s (-want +got):\n%s", what, d)
	}
}
