package flows_test

import (
	"bytes"
	"encoding/csv"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hangxomso/hangxom/flows"
)

func TestCSVCell(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"empty", "", ""},
		{"a hamlet", "Xóm Đồng Chè", "Xóm Đồng Chè"},
		{"a link formula", `=HYPERLINK("http://evil.example/x","Xom")`, `'=HYPERLINK("http://evil.example/x","Xom")`},
		{"a sum", "=1+2", "'=1+2"},
		{"plus", "+SUM(A1:A9)", "'+SUM(A1:A9)"},
		{"minus with a command", "-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"},
		{"at", "@SUM(1+1)", "'@SUM(1+1)"},
		{"tab", "\t=1+2", "'\t=1+2"},
		{"carriage return", "\r=1+2", "'\r=1+2"},
		{"a dash alone", "-", "'-"},
		{"a dash and a point", "-.", "'-."},
		{"minus infinity", "-Inf", "'-Inf"},
		{"minus hex", "-0x1F", "'-0x1F"},
		{"two points", "-1.2.3", "'-1.2.3"},
		{"an exponent without digits", "-1e", "'-1e"},
		{"a minus in words", "-Xóm Dưới", "'-Xóm Dưới"},
		{"a negative whole number", "-12", "-12"},
		{"a negative share", "-3.5", "-3.5"},
		{"a negative fraction", "-.5", "-.5"},
		{"a plus number", "+7", "+7"},
		{"an exponent", "-1e-3", "-1e-3"},
		{"a number", "12", "12"},
		{"a share", "41.2", "41.2"},
		{"a dash inside", "1-2", "1-2"},
		{"a space first", " =1+2", " =1+2"},
		{"an equals sign inside", "Xóm =1", "Xóm =1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := flows.CSVCell(tc.in); got != tc.want {
				t.Errorf("CSVCell(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// TestExportCSVWritesNoFormula: a hamlet or commune named like a formula
// comes out as text in the stats CSV; the numbers stay numbers.
func TestExportCSVWritesNoFormula(t *testing.T) {
	share := 41.2
	rows := []flows.StatsRow{{
		CommuneID: "xa-a", Commune: "@Xã A", HamletID: "xa-a-hyperlink", Hamlet: `=HYPERLINK("http://evil.example/x","Xom")`,
		Flow: "ewallet", Started: 3, Completed: 2, CompletedSelf: 2, SharePct: &share,
	}}
	data := flows.ExportCSV(rows)
	if !bytes.HasPrefix(data, []byte("\ufeff")) {
		t.Error("no byte-order mark")
	}
	recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\ufeff")))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{flows.StatsColumns(), {"xa-a", "'@Xã A", "xa-a-hyperlink", `'=HYPERLINK("http://evil.example/x","Xom")`,
		"ewallet", "3", "2", "2", "0", "0", "0", "", "", "41.2", ""}}
	if d := cmp.Diff(want, recs); d != "" {
		t.Errorf("CSV (-want +got):\n%s", d)
	}
}

func TestCSVWriter(t *testing.T) {
	var b bytes.Buffer
	w := flows.NewCSVWriter(&b)
	for _, rec := range [][]string{{"name", "delta"}, {"=1+2", "-12"}, {"Xóm, \"Chè\"", "+3.5"}} {
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if want := "name,delta\n'=1+2,-12\n\"Xóm, \"\"Chè\"\"\",+3.5\n"; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}
