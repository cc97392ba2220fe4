package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hangxomso/hangxom/content"
	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/store"
)

// csvFixture is a file of content/testdata/csv.
func csvFixture(name string) string {
	return filepath.Join("..", "..", "content", "testdata", "csv", name)
}

// command runs one of the area commands as run would, on p's Redis.
func (p *program) command(stdin string, args ...string) (stdout, stderr string, err error) {
	p.t.Helper()
	var out, errb bytes.Buffer
	opts := appOptions{clock: p.clock, client: p.client, prefix: "test"}
	err = runWith(p.t.Context(), args, env(), strings.NewReader(stdin), &out, &errb, opts)
	return out.String(), errb.String(), err
}

// listAreas runs `areas list --format json` and returns the objects.
func (p *program) listAreas() []map[string]any {
	p.t.Helper()
	out, stderr, err := p.command("", "areas", "list", "--format", "json")
	if err != nil {
		p.t.Fatalf("areas list: %v\n%s", err, stderr)
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		p.t.Fatalf("areas list is not a JSON array: %v\n%s", err, out)
	}
	return list
}

func listedArea(list []map[string]any, id string) map[string]any {
	for _, a := range list {
		if a["id"] == id {
			return a
		}
	}
	return nil
}

func TestAreasImportEndToEnd(t *testing.T) {
	p := newProgram(t)
	before := p.listAreas()

	out, stderr, err := p.command("", "areas", "import", csvFixture("good.csv"))
	if err != nil {
		t.Fatalf("import: %v\n%s%s", err, out, stderr)
	}
	want := `added   vo-nhai-xom-na-rang  Xóm Na Rang (Xã Võ Nhai)
updated vo-nhai-tdp-1-dinh-ca  Tổ dân phố 1 (Đình Cả) (Xã Võ Nhai)
added   than-sa-khuoi-meo  Xóm Khuổi Mèo (Xã Thần Sa)
added   than-sa-xom-cu  Xóm Cũ (Xã Thần Sa)
added   la-hien-xom-hai  Xóm Hai (Xã La Hiên)
areas import: 4 hamlet(s) added, 1 updated
`
	if d := cmp.Diff(want, out); d != "" {
		t.Errorf("import output (-want +got):\n%s", d)
	}

	list := p.listAreas()
	if len(list) != len(before)+4 {
		t.Errorf("%d areas after the import, want %d", len(list), len(before)+4)
	}
	keys := []string{"code", "households", "id", "level", "name", "parent_id", "population", "valid_from", "valid_to"}
	for _, a := range list {
		var got []string
		for k := range a {
			got = append(got, k)
		}
		slices.Sort(got)
		if d := cmp.Diff(keys, got); d != "" {
			t.Fatalf("keys of %v (-want +got):\n%s", a["id"], d)
		}
	}
	wantRows := map[string]map[string]any{
		// An imported hamlet gets a code, its first candidate (none of
		// the others took it).
		"vo-nhai-xom-na-rang": {"id": "vo-nhai-xom-na-rang", "name": "Xóm Na Rang", "level": "hamlet", "parent_id": "vo-nhai",
			"households": 120.0, "population": 1200.0, "valid_from": "", "valid_to": "",
			"code": flows.HamletCodeCandidates("vo-nhai-xom-na-rang", 1)[0]},
		"than-sa-xom-cu": {"id": "than-sa-xom-cu", "name": "Xóm Cũ", "level": "hamlet", "parent_id": "than-sa",
			"households": nil, "population": nil, "valid_from": "", "valid_to": "2025-12-31",
			"code": flows.HamletCodeCandidates("than-sa-xom-cu", 1)[0]},
		"thai-nguyen": {"id": "thai-nguyen", "name": "Thái Nguyên", "level": "province", "parent_id": "",
			"households": nil, "population": nil, "valid_from": "", "valid_to": "", "code": ""},
	}
	for id, w := range wantRows {
		if d := cmp.Diff(w, listedArea(list, id)); d != "" {
			t.Errorf("%s (-want +got):\n%s", id, d)
		}
	}

	// The same file again: nothing added, nothing duplicated.
	out, _, err = p.command("", "areas", "import", csvFixture("good.csv"))
	if err != nil || out != "areas import: 0 hamlet(s) added, 0 updated\n" {
		t.Errorf("re-import: %v\n%s", err, out)
	}
	if again := p.listAreas(); len(again) != len(list) {
		t.Errorf("%d areas after the re-import, want %d", len(again), len(list))
	}
	// Other spellings update rather than add.
	out, _, err = p.command("", "areas", "import", csvFixture("reimport.csv"))
	if err != nil || !strings.HasSuffix(out, "areas import: 1 hamlet(s) added, 1 updated\n") {
		t.Errorf("re-import with other spellings: %v\n%s", err, out)
	}
	after := p.listAreas()
	if got := listedArea(after, "vo-nhai-xom-na-rang")["population"]; got != 1250.0 {
		t.Errorf("population after the update = %v, want 1250", got)
	}

	// The stats see the imported hamlets and their numbers.
	r := row(t, p.stats(), "vo-nhai-xom-na-rang", "ewallet")
	if r.Population == nil || *r.Population != 1250 || r.TargetPct == nil || *r.TargetPct != 50 {
		t.Errorf("stats row = %+v", r)
	}
}

func TestAreasListOrder(t *testing.T) {
	p := newProgram(t)
	if _, stderr, err := p.command("", "areas", "import", csvFixture("good.csv")); err != nil {
		t.Fatal(err, stderr)
	}
	var ids []string
	for _, a := range p.listAreas() {
		ids = append(ids, a["id"].(string))
	}
	// Than Sa's part: the commune, its hamlets by name, the unassigned one
	// last; then the former commune of the same name.
	i := slices.Index(ids, "than-sa")
	if i < 0 || len(ids) < i+5 {
		t.Fatalf("than-sa not listed: %v", ids)
	}
	if d := cmp.Diff([]string{"than-sa", "than-sa-xom-cu", "than-sa-khuoi-meo", "than-sa-chua-xep", "than-sa-cu"}, ids[i:i+5]); d != "" {
		t.Errorf("order (-want +got):\n%s", d)
	}
	if ids[0] != "thai-nguyen" {
		t.Errorf("the province is not first: %v", ids[:3])
	}

	out, _, err := p.command("", "areas", "list")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(out, "\n")
	if !strings.HasPrefix(lines[0], "ID") || !strings.Contains(lines[0], "POPULATION") || !strings.HasPrefix(lines[1], "thai-nguyen ") {
		t.Errorf("table:\n%s", out)
	}
	if !strings.Contains(out, "2025-12-31  than-sa-khuoi-meo") {
		t.Errorf("the table does not show the merger:\n%s", out)
	}
}

func TestAreasImportRefused(t *testing.T) {
	tests := []struct {
		name  string
		file  string
		lines []string // each printed problem starts with file:line
	}{
		{"every error listed", "many_errors.csv", []string{":1: ", ":3: ", ":4: ", ":5: ", ":6: ", ":7: ", ":8: ", ":9: ", ":10: "}},
		{"not UTF-8", "latin1.csv", []string{":3: not UTF-8 text"}},
		{"missing column", "missing_header.csv", []string{`:1: the header lacks column "households"`}},
		{"unknown commune", "unknown_commune.csv", []string{":2: commune: ", ":3: commune: ", ":4: commune: ", ":5: hamlet: "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProgram(t)
			before := p.listAreas()
			dump := p.mini.Dump()
			path := csvFixture(tt.file)
			out, errb, err := p.command("", "areas", "import", path)
			if code := exitCode(err, &bytes.Buffer{}); code != 1 {
				t.Fatalf("exit %d, want 1: %v", code, err)
			}
			got := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if len(got) != len(tt.lines) {
				t.Fatalf("%d problems printed, want %d:\n%s", len(got), len(tt.lines), out)
			}
			for i, l := range got {
				if !strings.HasPrefix(l, path+tt.lines[i]) {
					t.Errorf("problem %d = %q, want it to start %q", i, l, path+tt.lines[i])
				}
			}
			if !strings.Contains(err.Error(), "nothing was imported") {
				t.Errorf("error %q does not say nothing was imported (%s)", err, errb)
			}
			if d := cmp.Diff(before, p.listAreas()); d != "" {
				t.Errorf("areas changed (-before +after):\n%s", d)
			}
			if after := p.mini.Dump(); after != dump {
				t.Errorf("Redis changed:\n%s", cmp.Diff(dump, after))
			}
		})
	}
}

func TestAreasImportArguments(t *testing.T) {
	good, err := os.ReadFile(csvFixture("good.csv"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
	}{
		{"flags before the file", "", []string{"areas", "import", "--log-level", "warn", csvFixture("good.csv")}},
		{"flags after the file", "", []string{"areas", "import", csvFixture("good.csv"), "--log-level", "warn"}},
		{"standard input", string(good), []string{"areas", "import", "-"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newProgram(t)
			out, stderr, err := p.command(tc.stdin, tc.args...)
			if err != nil || !strings.HasSuffix(out, "areas import: 4 hamlet(s) added, 1 updated\n") {
				t.Errorf("%v\n%s%s", err, out, stderr)
			}
		})
	}

	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no subcommand", []string{"areas"}, 2, "import FILE.csv, or list"},
		{"unknown subcommand", []string{"areas", "delete"}, 2, `unknown subcommand "delete"`},
		{"no file", []string{"areas", "import"}, 2, "give the CSV file"},
		{"two files", []string{"areas", "import", "a.csv", "b.csv"}, 2, `unexpected argument "b.csv"`},
		{"bad flag", []string{"areas", "import", "a.csv", "--colour"}, 2, "colour"},
		{"bad format", []string{"areas", "list", "--format", "xml"}, 2, "--format"},
		{"list takes no file", []string{"areas", "list", "a.csv"}, 2, `unexpected argument "a.csv"`},
		{"targets without subcommand", []string{"targets"}, 2, "import FILE.csv, or list"},
		{"targets bad format", []string{"targets", "list", "--format", "csv"}, 2, "--format"},
		{"missing file", []string{"areas", "import", filepath.Join(t.TempDir(), "none.csv")}, 1, "none.csv"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newProgram(t)
			_, _, err := p.command("", tc.args...)
			var errb bytes.Buffer
			if code := exitCode(err, &errb); code != tc.code {
				t.Fatalf("exit %d, want %d: %v", code, tc.code, err)
			}
			if !strings.Contains(errb.String(), tc.want) {
				t.Errorf("message %q does not name %q", errb.String(), tc.want)
			}
		})
	}
}

type targetRow struct {
	Flow   string  `json:"flow"`
	AreaID string  `json:"area_id"`
	Unit   string  `json:"unit"`
	Pct    float64 `json:"pct"`
	Source string  `json:"source"`
	Note   string  `json:"note"`
	From   string  `json:"from"`
}

func TestTargetsImport(t *testing.T) {
	p := newProgram(t)
	out, stderr, err := p.command("", "targets", "import", csvFixture("targets_good.csv"))
	if err != nil || out != "targets import: 3 target(s) stored\n" {
		t.Fatalf("import: %v\n%s%s", err, out, stderr)
	}
	out, _, err = p.command("", "targets", "list", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var list []targetRow
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	// 8 targets in targets.yaml, 2 of them replaced, 1 new.
	if len(list) != 9 {
		t.Errorf("%d targets, want 9:\n%s", len(list), out)
	}
	pick := func(flow, area string) targetRow {
		for _, r := range list {
			if r.Flow == flow && r.AreaID == area {
				return r
			}
		}
		t.Fatalf("no target %s/%s", flow, area)
		return targetRow{}
	}
	for _, w := range []targetRow{
		{Flow: "ewallet", AreaID: "thai-nguyen", Unit: content.BasisPopulation15Plus, Pct: 80, Source: "Quyết định 411/QĐ-TTg", Note: "80% người từ 15 tuổi", From: "import"},
		{Flow: "ewallet", AreaID: "vo-nhai", Unit: "population", Pct: 50.5, Source: "Kế hoạch CĐS huyện Võ Nhai", From: "import"},
		{Flow: "vneid", AreaID: "vo-nhai-tdp-1-dinh-ca", Unit: "households", Pct: 60, Source: "Chi bộ TDP 1", From: "import"},
	} {
		if d := cmp.Diff(w, pick(w.Flow, w.AreaID)); d != "" {
			t.Errorf("%s/%s (-want +got):\n%s", w.Flow, w.AreaID, d)
		}
	}
	if r := pick("ewallet", "than-sa"); r.From != "content" || r.Pct != 50 {
		t.Errorf("a target no import names: %+v", r)
	}

	// The targets the stats would use, once the lead wires useStoredTargets.
	a, err := openApp(t.Context(), testConfig(t), appOptions{clock: p.clock, client: p.client, prefix: "test"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := a.useStoredTargets(t.Context()); err != nil {
		t.Fatal(err)
	}
	if tg, ok := flows.TargetFor(a.areas, content.StatsTargets(a.targets), "ewallet", tdp1); !ok || tg.Pct != 50.5 {
		t.Errorf("target for TDP 1 = %+v %v, want the imported 50.5%%", tg, ok)
	}
	if tg, ok := flows.TargetFor(a.areas, content.StatsTargets(a.targets), "vneid", tdp1); !ok || tg.Basis != "households" {
		t.Errorf("vneid target for TDP 1 = %+v %v", tg, ok)
	}

	// A bad file stores nothing.
	before := p.mini.Dump()
	out, _, err = p.command("", "targets", "import", csvFixture("targets_bad.csv"))
	if code := exitCode(err, &bytes.Buffer{}); code != 1 || strings.Count(out, "\n") != 13 {
		t.Errorf("exit %d, want 1, and 13 problems:\n%s", code, out)
	}
	if p.mini.Dump() != before {
		t.Errorf("a refused import changed Redis")
	}
}

// testConfig is the configuration the commands resolve with no flags and
// no environment.
func testConfig(t *testing.T) config {
	t.Helper()
	fs := newFlagSet("test")
	cfg, err := parseSettings(fs, nil, addSettings(fs, env()), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestRollUp(t *testing.T) {
	idx := flows.NewAreaIndex([]flows.Area{
		{ID: "c", Level: flows.LevelCommune, Name: "Xã"},
		{ID: "a", Level: flows.LevelHamlet, ParentID: "c", ValidTo: "2026-06-30", Successor: "b"},
		{ID: "b", Level: flows.LevelHamlet, ParentID: "c", ValidTo: "2026-09-30", Successor: "n"},
		{ID: "n", Level: flows.LevelHamlet, ParentID: "c"},
		{ID: "later", Level: flows.LevelHamlet, ParentID: "c", ValidTo: "2026-12-31", Successor: "n"}, // not ended yet
		{ID: "x", Level: flows.LevelHamlet, ParentID: "c", ValidTo: "2026-01-01", Successor: "y"},
		{ID: "y", Level: flows.LevelHamlet, ParentID: "c", ValidTo: "2026-01-01", Successor: "x"}, // a loop
	})
	hf := func(h, f string) store.HamletFlow { return store.HamletFlow{Hamlet: h, Flow: f} }
	in := map[store.HamletFlow]store.Counts{
		hf("a", "ewallet"):     {Started: 1, CompletedSelf: 1},
		hf("b", "ewallet"):     {Started: 2, CompletedTeam: 1, Help: 3},
		hf("n", "ewallet"):     {Started: 4, Stalled: 1, Abandoned: 1},
		hf("a", "vneid"):       {Started: 5},
		hf("later", "ewallet"): {Started: 7},
		hf("x", "ewallet"):     {Started: 9},
	}
	want := map[store.HamletFlow]store.Counts{
		hf("n", "ewallet"):     {Started: 7, CompletedSelf: 1, CompletedTeam: 1, Help: 3, Stalled: 1, Abandoned: 1},
		hf("n", "vneid"):       {Started: 5},
		hf("later", "ewallet"): {Started: 7},
		hf("x", "ewallet"):     {Started: 9}, // the loop leaves it somewhere on the loop, counted once
	}
	got := flows.RollUp(in, idx, "2026-11-20")
	// Where a loop stops is arbitrary; that it is counted once is not.
	if n, ok := got[hf("y", "ewallet")]; ok {
		delete(got, hf("y", "ewallet"))
		got[hf("x", "ewallet")] = n
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("rolled up (-want +got):\n%s", d)
	}
	for id, w := range map[string]bool{"a": true, "b": true, "n": false, "later": false} {
		h, _ := idx.Area(id)
		if flows.MergedAway(h, "2026-11-20") != w {
			t.Errorf("mergedAway(%s) = %v, want %v", id, !w, w)
		}
	}
}
