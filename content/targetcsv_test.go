package content

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var csvFlows = []string{"ewallet", "marketplace-shop", "party-handbook", "qr-pay", "vneid"}

func parseTargetsFile(t *testing.T, file string) ([]Target, []Problem) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "csv", file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return ParseTargetsCSV(f, file, csvFlows, seedAreas(t))
}

func TestParseTargetsCSV(t *testing.T) {
	tests := []struct {
		file     string
		want     []Target
		problems []Problem
	}{
		{file: "targets_good.csv", want: []Target{
			{Flow: "ewallet", Area: "thai-nguyen", Basis: BasisPopulation15Plus, Pct: 80, Source: "Quyết định 411/QĐ-TTg", Note: "80% người từ 15 tuổi", Line: 2},
			{Flow: "ewallet", Area: "vo-nhai", Basis: BasisPopulation, Pct: 50.5, Source: "Kế hoạch CĐS huyện Võ Nhai", Line: 3},
			{Flow: "vneid", Area: "vo-nhai-tdp-1-dinh-ca", Basis: BasisHouseholds, Pct: 60, Source: "Chi bộ TDP 1", Line: 4},
		}},
		{file: "targets_bad.csv", problems: []Problem{
			{File: "targets_bad.csv", Line: 2, Path: "unit", Msg: `"people" is not one of households, population, population_15plus`},
			{File: "targets_bad.csv", Line: 3, Path: "flow", Msg: `"nosuchflow" is not a flow (ewallet, marketplace-shop, party-handbook, qr-pay, vneid)`},
			{File: "targets_bad.csv", Line: 4, Path: "area_id", Msg: `"nowhere" is not an area id (hangxom areas list)`},
			{File: "targets_bad.csv", Line: 5, Path: "pct", Msg: "0 is not in (0, 100]"},
			{File: "targets_bad.csv", Line: 6, Path: "pct", Msg: "101 is not in (0, 100]"},
			{File: "targets_bad.csv", Line: 6, Path: "", Msg: `flow "ewallet" and area "vo-nhai" already have a target, at line 5`},
			{File: "targets_bad.csv", Line: 7, Path: "pct", Msg: `"abc" is not a number`},
			{File: "targets_bad.csv", Line: 7, Path: "source", Msg: "the source is missing: say where the goal comes from"},
			{File: "targets_bad.csv", Line: 8, Path: "", Msg: `flow "qr-pay" and area "vo-nhai" already have a target, at line 7`},
			{File: "targets_bad.csv", Line: 9, Path: "flow", Msg: "the flow is missing"},
			{File: "targets_bad.csv", Line: 9, Path: "area_id", Msg: "the area is missing"},
			{File: "targets_bad.csv", Line: 9, Path: "unit", Msg: "the unit is missing (households, population, population_15plus)"},
			{File: "targets_bad.csv", Line: 9, Path: "pct", Msg: "the percentage is missing"},
		}},
		{file: "missing_header.csv", problems: []Problem{
			{File: "missing_header.csv", Line: 1, Msg: `unknown column "commune"; the columns are flow,area_id,unit,pct,source, optionally note`},
			{File: "missing_header.csv", Line: 1, Msg: `unknown column "hamlet"; the columns are flow,area_id,unit,pct,source, optionally note`},
			{File: "missing_header.csv", Line: 1, Msg: `unknown column "population"; the columns are flow,area_id,unit,pct,source, optionally note`},
			{File: "missing_header.csv", Line: 1, Msg: `the header lacks column "flow", "area_id", "unit", "pct", "source"; it must name flow,area_id,unit,pct,source`},
		}},
	}
	for _, tt := range tests {
		t.Run(strings.TrimSuffix(tt.file, ".csv"), func(t *testing.T) {
			got, ps := parseTargetsFile(t, tt.file)
			if d := cmp.Diff(tt.problems, ps); d != "" {
				t.Errorf("problems (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("targets (-want +got):\n%s", d)
			}
		})
	}
}

func TestParsePct(t *testing.T) {
	tests := []struct {
		in   string
		want float64
		err  string
	}{
		{"50", 50, ""},
		{"12.5", 12.5, ""},
		{"12,5", 12.5, ""},
		{" 80 % ", 80, ""},
		{"100", 100, ""},
		{"0", 0, "0 is not in (0, 100]"},
		{"-5", 0, "-5 is not in (0, 100]"},
		{"1,234.5", 0, `"1,234.5" is not a number`},
		{"NaN", 0, `"NaN" is not a number`},
		{"Inf", 0, `"Inf" is not a number`},
		{"5e1", 0, `"5e1" is not a number`},
		{"", 0, "the percentage is missing"},
	}
	for _, tt := range tests {
		got, err := parsePct(tt.in)
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		if got != tt.want || msg != tt.err {
			t.Errorf("parsePct(%q) = %v, %q; want %v, %q", tt.in, got, msg, tt.want, tt.err)
		}
	}
}

func TestTargetJSONRoundTrip(t *testing.T) {
	in := Target{Flow: "ewallet", Area: "thai-nguyen", Basis: BasisPopulation15Plus, Pct: 80, Source: "QĐ 411", Note: "15+", Line: 7}
	b, err := MarshalTarget(in)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"flow":"ewallet","area_id":"thai-nguyen","unit":"population_15plus","pct":80,"source":"QĐ 411","note":"15+"}`
	if string(b) != want {
		t.Errorf("JSON = %s, want %s", b, want)
	}
	got, err := UnmarshalTarget(b)
	if err != nil {
		t.Fatal(err)
	}
	in.Line = 0 // not stored
	if d := cmp.Diff(in, got); d != "" {
		t.Errorf("round trip (-want +got):\n%s", d)
	}
	if _, err := UnmarshalTarget([]byte("{")); err == nil {
		t.Error("UnmarshalTarget accepted broken JSON")
	}
}
