package content

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/hangxomso/hangxom/flows"
)

func intp(n int) *int { return &n }

func TestLoadGood(t *testing.T) {
	c, l := fixture(t, "")
	lib, areas, targets, err := load(c, l, fixtureFields, fixtureSystem())
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	f, ok := lib.Flow("demo")
	if !ok {
		t.Fatalf("flow demo not in library")
	}
	type stepLine struct {
		ID   string
		Type flows.StepType
		Line int
	}
	var got []stepLine
	for _, s := range f.Steps {
		got = append(got, stepLine{s.ID, s.Type, s.Line})
	}
	want := []stepLine{
		{"intro", flows.StepChoice, 8}, {"why", flows.StepInfo, 15}, {"sim", flows.StepCheckpoint, 21},
		{"ask", flows.StepQuestion, 28}, {"qr", flows.StepExternal, 36}, {"done", flows.StepEnd, 43},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	if f.File != "content/flows/demo.yaml" || f.Line != 2 || f.Title != "demo.title" || f.Order != 1 {
		t.Errorf("flow = file %q line %d title %q order %d", f.File, f.Line, f.Title, f.Order)
	}
	qr, _ := f.Step("qr")
	if diff := cmp.Diff(map[string]string{"ok": "done", "bad": "sim"}, qr.Outcomes); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
	intro, _ := f.Step("intro")
	wantButtons := []flows.Button{{ID: "phone", Label: "demo.btn.phone", Next: "why"}, {ID: "nophone", Label: "demo.btn.nophone", Next: "ask"}}
	if diff := cmp.Diff(wantButtons, intro.Buttons); diff != "" {
		t.Errorf("buttons (-want +got):\n%s", diff)
	}

	wantAreas := []flows.Area{
		{ID: "p1", Level: "province", Name: "Tỉnh Một"},
		{ID: "c1", Level: "commune", Name: "Xã Một", Aliases: []string{"Một"}, ParentID: "p1", ValidFrom: "2025-07-01"},
		{ID: "h1", Level: "hamlet", Name: "Xóm Đầu", ParentID: "c1", Households: intp(10), Population: intp(40)},
		{ID: "c1-chua-xep", Level: "hamlet", Name: "Chưa xếp xóm", ParentID: "c1", Unassigned: true},
		{ID: "c0-cu", Level: "commune", Name: "Xã Cũ", ParentID: "p1", ValidFrom: "2000-01-01", ValidTo: "2025-06-30", Successor: "c1"},
	}
	if diff := cmp.Diff(wantAreas, areas); diff != "" {
		t.Errorf("areas (-want +got):\n%s", diff)
	}
	wantTargets := []Target{
		{Flow: "demo", Area: "c1", Pct: 50, Basis: BasisPopulation, Note: "Half of the people.", Source: "https://example.org/plan", Line: 2},
		{Flow: "demo", Area: "h1", Pct: 62.5, Basis: BasisHouseholds, Source: "https://example.org/plan", Line: 8},
	}
	if diff := cmp.Diff(wantTargets, targets); diff != "" {
		t.Errorf("targets (-want +got):\n%s", diff)
	}
}

func TestLoadBroken(t *testing.T) {
	for _, name := range []string{"dead_ends", "areas", "locale_files"} {
		t.Run(name, func(t *testing.T) {
			c, l := fixture(t, name)
			lib, _, _, err := load(c, l, fixtureFields, fixtureSystem())
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("load error = %v, want Problems", err)
			}
			if lib != nil {
				t.Errorf("load returned a library with problems")
			}
			want := check(c, l, fixtureFields, fixtureSystem())
			if diff := cmp.Diff(want, []Problem(ps)); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLoadersRefuseBrokenFiles checks that the loaders on their own decode
// strictly and report the file and line.
func TestLoadersRefuseBrokenFiles(t *testing.T) {
	tests := []struct {
		name string
		load func(t *testing.T) error
		want string
	}{
		{"flows", func(t *testing.T) error {
			c, _ := fixture(t, "unknown_fields")
			_, err := LoadFlows(c, FlowsDir)
			return err
		}, `flows/demo.yaml:3: unknown field "colour"`},
		{"areas", func(t *testing.T) error {
			c, _ := fixture(t, "areas_yaml")
			_, err := LoadAreas(c, AreasFile)
			return err
		}, `areas.yaml:5: unknown field "code"`},
		{"targets", func(t *testing.T) error {
			c, _ := fixture(t, "targets")
			_, err := LoadTargets(c, TargetsFile)
			return err
		}, "targets.yaml:21: cannot unmarshal !!str `half` into float64"},
		{"missing file", func(t *testing.T) error {
			c, _ := fixture(t, "areas_missing")
			_, err := LoadAreas(c, AreasFile)
			return err
		}, "content: open areas.yaml: file does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.load(t)
			if err == nil {
				t.Fatal("no error")
			}
			var ps Problems
			if errors.As(err, &ps) {
				if got := ps[0].String(); got != tt.want {
					t.Errorf("first problem = %q, want %q", got, tt.want)
				}
				return
			}
			if got := err.Error(); got != tt.want {
				t.Errorf("error = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLoadFlowsLines(t *testing.T) {
	c, _ := fixture(t, "")
	fl, err := LoadFlows(c, FlowsDir)
	if err != nil {
		t.Fatalf("LoadFlows: %v", err)
	}
	if len(fl) != 1 || fl[0].File != "flows/demo.yaml" || fl[0].Line != 2 {
		t.Fatalf("LoadFlows = %d flows, first %+v", len(fl), fl[0])
	}
	if diff := cmp.Diff([]int{8, 15, 21, 28, 36, 43}, stepLines(fl[0]), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("step lines (-want +got):\n%s", diff)
	}
}

func stepLines(f *flows.Flow) []int {
	var ls []int
	for _, s := range f.Steps {
		ls = append(ls, s.Line)
	}
	return ls
}
