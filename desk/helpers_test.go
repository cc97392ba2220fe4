package desk_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hangxomso/hangxom/store"
)

// check reports a difference between want and got as "(-want +got)".
func check(t *testing.T, what string, want, got any) {
	t.Helper()
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("%s (-want +got):\n%s", what, d)
	}
}

// outboxTexts takes the texts waiting in resident's outbox, as if sent.
func outboxTexts(t *testing.T, st *store.Redis, resident string) []string {
	t.Helper()
	rs, err := st.Outbox(t.Context(), resident)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rs {
		out = append(out, r.Text)
		if err := st.AckOutbox(t.Context(), resident, r.ID); err != nil {
			t.Fatal(err)
		}
	}
	return out
}
