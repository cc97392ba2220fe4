package content

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hangxomso/hangxom/flows"
)

// csvToday is the day the CSV tests import on: after the 2025 merger.
const csvToday = "2026-11-20"

// seedAreas returns the shipped areas, which the imports start from.
func seedAreas(t *testing.T) []flows.Area {
	t.Helper()
	areas, err := LoadAreas(FS, AreasFile)
	if err != nil {
		t.Fatal(err)
	}
	return areas
}

func parseAreasFile(t *testing.T, file string, existing []flows.Area) ([]flows.Area, []Problem) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "csv", file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return ParseAreasCSV(f, file, existing, csvToday)
}

// wantGood is what good.csv writes over the seed.
func wantGood() []flows.Area {
	return []flows.Area{
		{ID: "vo-nhai-xom-na-rang", Level: flows.LevelHamlet, Name: "Xóm Na Rang", Aliases: []string{"Na Rang", "Nà Rạng cũ"},
			ParentID: "vo-nhai", Households: intp(120), Population: intp(1200)},
		{ID: "vo-nhai-tdp-1-dinh-ca", Level: flows.LevelHamlet, Name: "Tổ dân phố 1 (Đình Cả)",
			Aliases:  []string{"TDP 1", "TDP 1 Đình Cả", "Tổ dân phố 1", "TDP một"}, // "tdp 1" is "TDP 1" folded
			ParentID: "vo-nhai", Households: intp(175), Population: intp(1205)},
		{ID: "than-sa-khuoi-meo", Level: flows.LevelHamlet, Name: "Xóm Khuổi Mèo", ParentID: "than-sa",
			Households: intp(85), Population: intp(410), ValidFrom: "2025-07-01"},
		{ID: "than-sa-xom-cu", Level: flows.LevelHamlet, Name: "Xóm Cũ", ParentID: "than-sa",
			ValidTo: "2025-12-31", Successor: "than-sa-khuoi-meo"},
		{ID: "la-hien-xom-hai", Level: flows.LevelHamlet, Name: "Xóm Hai", ParentID: "la-hien",
			Households: intp(1050), Population: intp(4800)},
	}
}

func TestParseAreasCSVGood(t *testing.T) {
	seed := seedAreas(t)
	got, ps := parseAreasFile(t, "good.csv", seed)
	if len(ps) > 0 {
		t.Fatalf("problems: %v", ps)
	}
	if d := cmp.Diff(wantGood(), got); d != "" {
		t.Errorf("areas (-want +got):\n%s", d)
	}
	// The seed is not changed in place: its TDP 1 keeps its numbers.
	for _, a := range seed {
		if a.ID == "vo-nhai-tdp-1-dinh-ca" && (*a.Households != 170 || len(a.Aliases) != 3) {
			t.Errorf("the existing areas were modified: %+v", a)
		}
	}
}

// apply returns existing with the written areas replacing or added.
func apply(existing, written []flows.Area) []flows.Area {
	out := append([]flows.Area(nil), existing...)
	for _, w := range written {
		found := false
		for i := range out {
			if out[i].ID == w.ID {
				out[i], found = w, true
			}
		}
		if !found {
			out = append(out, w)
		}
	}
	return out
}

func TestParseAreasCSVReimport(t *testing.T) {
	first, ps := parseAreasFile(t, "good.csv", seedAreas(t))
	if len(ps) > 0 {
		t.Fatal(ps)
	}
	stored := apply(seedAreas(t), first)

	// The same file again changes nothing.
	again, ps := parseAreasFile(t, "good.csv", stored)
	if len(ps) > 0 || len(again) != 0 {
		t.Errorf("re-importing good.csv: %d areas, problems %v; want nothing to write", len(again), ps)
	}

	// Names in other spellings update the hamlets they fold to.
	got, ps := parseAreasFile(t, "reimport.csv", stored)
	if len(ps) > 0 {
		t.Fatal(ps)
	}
	naRang := wantGood()[0]
	naRang.Households, naRang.Population = intp(125), intp(1250)
	want := []flows.Area{
		naRang,
		{ID: "vo-nhai-xom-na-rang-moi", Level: flows.LevelHamlet, Name: "xóm na rang mới", ParentID: "vo-nhai",
			Households: intp(10), Population: intp(40)},
		// line 4 leaves Khuổi Mèo as it is: not written.
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("re-import (-want +got):\n%s", d)
	}
	if n := len(apply(stored, got)); n != len(stored)+1 {
		t.Errorf("after the re-import there are %d areas, want %d: one new hamlet, no duplicates", n, len(stored)+1)
	}
}

func TestParseAreasCSVProblems(t *testing.T) {
	tests := []struct {
		file string
		want []Problem
	}{
		{"latin1.csv", []Problem{
			{File: "latin1.csv", Line: 3, Msg: `not UTF-8 text (byte 0xF3 after "vo-nhai,X"); save the file as "CSV UTF-8"`},
		}},
		{"missing_header.csv", []Problem{
			{File: "missing_header.csv", Line: 1, Msg: `the header lacks column "households"; it must name commune,hamlet,households,population`},
		}},
		{"empty.csv", []Problem{
			{File: "empty.csv", Msg: "the file is empty; its first line must be the header commune,hamlet,households,population"},
		}},
		{"bom_only.csv", []Problem{
			{File: "bom_only.csv", Msg: "the file is empty; its first line must be the header commune,hamlet,households,population"},
		}},
		{"bad_values.csv", []Problem{
			{File: "bad_values.csv", Line: 2, Path: "households", Msg: `"1,5" is not a whole number`},
			{File: "bad_values.csv", Line: 2, Path: "population", Msg: `"-3" is negative`},
			{File: "bad_values.csv", Line: 3, Path: "households", Msg: `"abc" is not a number (write 1200, 1.200 or 1 200)`},
			{File: "bad_values.csv", Line: 3, Path: "population", Msg: `"12.50" is not a whole number`},
			{File: "bad_values.csv", Line: 4, Path: "households", Msg: `"1.2000" is not a whole number`},
			{File: "bad_values.csv", Line: 4, Path: "valid_from", Msg: `"2025-13-01" is not a date YYYY-MM-DD`},
			{File: "bad_values.csv", Line: 4, Path: "valid_to", Msg: `"01/07/2025" is not a date YYYY-MM-DD`},
			{File: "bad_values.csv", Line: 5, Path: "households", Msg: "50 households but a population of 20: a household has at least one person"},
			{File: "bad_values.csv", Line: 5, Path: "valid_to", Msg: "2025-12-31 is before valid_from 2026-01-01"},
		}},
		{"unknown_commune.csv", []Problem{
			{File: "unknown_commune.csv", Line: 2, Path: "commune", Msg: `"Xã Không Có" is not a commune; give the id, the name or an alias of one (hangxom areas list)`},
			{File: "unknown_commune.csv", Line: 3, Path: "commune", Msg: `"Phú Thượng" (phu-thuong-cu) no longer exists (until 2025-06-30); its hamlets belong to "vo-nhai" now`},
			{File: "unknown_commune.csv", Line: 4, Path: "commune", Msg: "the commune is missing"},
			{File: "unknown_commune.csv", Line: 5, Path: "hamlet", Msg: "the hamlet's name is missing"},
		}},
		{"duplicates.csv", []Problem{
			{File: "duplicates.csv", Line: 3, Msg: `hamlet "Xóm Đồng" (vo-nhai-xom-dong) is already in this file, at line 2`},
			{File: "duplicates.csv", Line: 5, Msg: `hamlet "Tổ dân phố 1 (Đình Cả)" (vo-nhai-tdp-1-dinh-ca) is already in this file, at line 4`},
		}},
		{"successor_no_valid_to.csv", []Problem{
			{File: "successor_no_valid_to.csv", Line: 2, Path: "successor_id", Msg: "is set but valid_to is not: say when the hamlet ended"},
			{File: "successor_no_valid_to.csv", Line: 3, Path: "successor_id", Msg: `"no-such-hamlet" is not a hamlet, stored or in this file`},
			{File: "successor_no_valid_to.csv", Line: 4, Path: "successor_id", Msg: "is the hamlet itself"},
			{File: "successor_no_valid_to.csv", Line: 5, Path: "successor_id", Msg: `"vo-nhai" is a commune, not a hamlet`},
		}},
		{"many_errors.csv", []Problem{
			{File: "many_errors.csv", Line: 1, Msg: `unknown column "colour"; the columns are commune,hamlet,households,population, optionally hamlet_id,aliases,valid_from,valid_to,successor_id`},
			{File: "many_errors.csv", Line: 3, Path: "commune", Msg: `"Nowhere" is not a commune; give the id, the name or an alias of one (hangxom areas list)`},
			{File: "many_errors.csv", Line: 4, Path: "households", Msg: `"ten" is not a number (write 1200, 1.200 or 1 200)`},
			{File: "many_errors.csv", Line: 5, Path: "hamlet_id", Msg: `"Bad_ID!" is not an area id (lower-case letters, digits and -, at most 40)`},
			{File: "many_errors.csv", Line: 6, Path: "hamlet_id", Msg: `"than-sa-chua-xep" belongs to commune "than-sa", not "vo-nhai"`},
			{File: "many_errors.csv", Line: 7, Path: "successor_id", Msg: "is set but valid_to is not: say when the hamlet ended"},
			{File: "many_errors.csv", Line: 8, Msg: `hamlet "Xóm Tốt" (vo-nhai-xom-tot) is already in this file, at line 2`},
			{File: "many_errors.csv", Line: 9, Msg: `bare " in non-quoted-field`},
			{File: "many_errors.csv", Line: 10, Msg: "4 cells, but the header has 8 columns"},
		}},
	}
	for _, tt := range tests {
		t.Run(strings.TrimSuffix(tt.file, ".csv"), func(t *testing.T) {
			got, ps := parseAreasFile(t, tt.file, seedAreas(t))
			if got != nil {
				t.Errorf("areas returned despite problems: %v", got)
			}
			if d := cmp.Diff(tt.want, ps); d != "" {
				t.Errorf("problems (-want +got):\n%s", d)
			}
		})
	}
}

// TestParseAreasCSVInline covers what a file on disk cannot show well.
func TestParseAreasCSVInline(t *testing.T) {
	seed := seedAreas(t)
	long := strings.Repeat("Rất Dài ", 10)
	seedPlus := append(append([]flows.Area(nil), seed...),
		flows.Area{ID: "vo-nhai-xom-moi", Level: flows.LevelHamlet, Name: "Xóm Mới Cũ", ParentID: "vo-nhai"},
		flows.Area{ID: "nghinh-tuong-rat-dai-rat-dai-rat-dai-rat", Level: flows.LevelHamlet, Name: "Khác", ParentID: "nghinh-tuong"})
	tests := []struct {
		name     string
		src      string
		existing []flows.Area
		want     []flows.Area
		problems []Problem
	}{
		{
			name: "semicolons, as a Vietnamese-locale spreadsheet saves",
			src:  "commune;hamlet;households;population;aliases\nSảng Mộc;Bản Nà Dường;12;\"1.050\";\"Nà Dường, Na Duong\"\n",
			want: []flows.Area{{ID: "sang-moc-ban-na-duong", Level: flows.LevelHamlet, Name: "Bản Nà Dường", ParentID: "sang-moc",
				Households: intp(12), Population: intp(1050), Aliases: []string{"Nà Dường, Na Duong"}}},
		},
		{
			name: "a commune without its 'Xã', numbers with non-breaking spaces",
			src:  "commune,hamlet,households,population\nTRANG XA,Xóm Đèo,,1\u00a0200\n",
			want: []flows.Area{{ID: "trang-xa-xom-deo", Level: flows.LevelHamlet, Name: "Xóm Đèo", ParentID: "trang-xa", Population: intp(1200)}},
		},
		{
			name:     "generated ids are unique, ASCII and at most 40 characters",
			src:      "commune,hamlet,households,population\nvo-nhai,Xóm Mới!,,\nnghinh-tuong," + long + ",,\n",
			existing: seedPlus,
			want: []flows.Area{
				{ID: "vo-nhai-xom-moi-2", Level: flows.LevelHamlet, Name: "Xóm Mới!", ParentID: "vo-nhai"},
				{ID: "nghinh-tuong-rat-dai-rat-dai-rat-dai-r-2", Level: flows.LevelHamlet, Name: strings.TrimSpace(long), ParentID: "nghinh-tuong"},
			},
		},
		{
			name: "a generated id steps aside for an id a later row gives",
			src:  "commune,hamlet,households,population,hamlet_id\nvo-nhai,Xóm Lũng,,,\nvo-nhai,Xóm Lũng Trên,,,vo-nhai-xom-lung\n",
			want: []flows.Area{
				{ID: "vo-nhai-xom-lung-2", Level: flows.LevelHamlet, Name: "Xóm Lũng", ParentID: "vo-nhai"},
				{ID: "vo-nhai-xom-lung", Level: flows.LevelHamlet, Name: "Xóm Lũng Trên", ParentID: "vo-nhai"},
			},
		},
		{
			name: "an id renames; empty cells keep the stored numbers",
			src:  "commune,hamlet,households,population,hamlet_id\nvo-nhai,TDP 1 Đình Cả,,,vo-nhai-tdp-1-dinh-ca\n",
			want: []flows.Area{{ID: "vo-nhai-tdp-1-dinh-ca", Level: flows.LevelHamlet, Name: "TDP 1 Đình Cả",
				Aliases:  []string{"TDP 1", "TDP 1 Đình Cả", "Tổ dân phố 1", "Tổ dân phố 1 (Đình Cả)"}, // the old name
				ParentID: "vo-nhai", Households: intp(170), Population: intp(700)}},
		},
		{
			name: "a merger within the file, the successor on a later line",
			src: "commune,hamlet,households,population,valid_to,successor_id,hamlet_id\n" +
				"vo-nhai,Tổ dân phố 1 (Đình Cả),,,2026-06-30,vo-nhai-tdp-moi,\n" +
				"vo-nhai,Tổ dân phố Mới,300,1.200,,,vo-nhai-tdp-moi\n",
			want: []flows.Area{
				{ID: "vo-nhai-tdp-1-dinh-ca", Level: flows.LevelHamlet, Name: "Tổ dân phố 1 (Đình Cả)",
					Aliases: []string{"TDP 1", "TDP 1 Đình Cả", "Tổ dân phố 1"}, ParentID: "vo-nhai", Households: intp(170), Population: intp(700),
					ValidTo: "2026-06-30", Successor: "vo-nhai-tdp-moi"},
				{ID: "vo-nhai-tdp-moi", Level: flows.LevelHamlet, Name: "Tổ dân phố Mới", ParentID: "vo-nhai", Households: intp(300), Population: intp(1200)},
			},
		},
		{
			name: "successors that loop",
			src: "commune,hamlet,households,population,valid_to,successor_id,hamlet_id\n" +
				"vo-nhai,Xóm A,,,2026-01-01,vo-nhai-b,vo-nhai-a\n" +
				"vo-nhai,Xóm B,,,2026-01-01,vo-nhai-a,vo-nhai-b\n",
			problems: []Problem{
				{File: "inline.csv", Line: 2, Path: "successor_id", Msg: `"vo-nhai-b" leads back to "vo-nhai-a": successors form a loop`},
				{File: "inline.csv", Line: 3, Path: "successor_id", Msg: `"vo-nhai-a" leads back to "vo-nhai-b": successors form a loop`},
			},
		},
		{
			name: "a new id for a hamlet the commune has",
			src:  "commune,hamlet,households,population,hamlet_id\nvo-nhai,to dan pho 1 (dinh ca),,,tdp1\n",
			problems: []Problem{{File: "inline.csv", Line: 2, Path: "hamlet_id",
				Msg: `"tdp1" is new, but vo-nhai already has hamlet "Tổ dân phố 1 (Đình Cả)" as "vo-nhai-tdp-1-dinh-ca"; use that id, or leave hamlet_id empty`}},
		},
		{
			name:     "a commune that no longer exists",
			src:      "commune,hamlet,households,population\nthan-sa-cu,Xóm X,,\n",
			problems: []Problem{{File: "inline.csv", Line: 2, Path: "commune", Msg: `"than-sa-cu" (than-sa-cu) no longer exists (until 2025-06-30); its hamlets belong to "than-sa" now`}},
		},
		{
			name:     "an id that is not a hamlet",
			src:      "commune,hamlet,households,population,hamlet_id\nvo-nhai,Xóm X,,,thai-nguyen\n",
			problems: []Problem{{File: "inline.csv", Line: 2, Path: "hamlet_id", Msg: `"thai-nguyen" is a province, not a hamlet`}},
		},
		{
			name:     "UTF-16",
			src:      "\xff\xfec\x00o\x00",
			problems: []Problem{{File: "inline.csv", Line: 1, Msg: `the file is UTF-16; save it as "CSV UTF-8"`}},
		},
		{
			name:     "a column named twice",
			src:      "commune,hamlet,households,population,Hamlet\n",
			problems: []Problem{{File: "inline.csv", Line: 1, Msg: `column "hamlet" is named twice (columns 2 and 5)`}},
		},
		{
			name: "only a header",
			src:  "Commune, Hamlet ,HOUSEHOLDS,population\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			existing := tt.existing
			if existing == nil {
				existing = seed
			}
			got, ps := ParseAreasCSV(strings.NewReader(tt.src), "inline.csv", existing, csvToday)
			if d := cmp.Diff(tt.problems, ps); d != "" {
				t.Errorf("problems (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("areas (-want +got):\n%s", d)
			}
		})
	}
}

func TestParseCount(t *testing.T) {
	tests := []struct {
		in   string
		want int
		err  string
	}{
		{"0", 0, ""},
		{"1200", 1200, ""},
		{"1.200", 1200, ""},
		{"1,200", 1200, ""},
		{"1 200", 1200, ""},
		{"12.345.678", 12345678, ""},
		{" 45 ", 45, ""},
		{"1.200,5", 0, "is not a number (write 1200, 1.200 or 1 200)"},
		{"1.200 300", 0, "is not a number (write 1200, 1.200 or 1 200)"},
		{"1,5", 0, "is not a whole number"},
		{"1.50", 0, "is not a whole number"},
		{"12.", 0, "is not a number (write 1200, 1.200 or 1 200)"},
		{"-1", 0, "is negative"},
		{"1e3", 0, "is not a number (write 1200, 1.200 or 1 200)"},
		{"999999999999999999999", 0, "is too large"},
	}
	for _, tt := range tests {
		got, err := parseCount(tt.in)
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		if got != tt.want || msg != tt.err {
			t.Errorf("parseCount(%q) = %d, %q; want %d, %q", tt.in, got, msg, tt.want, tt.err)
		}
	}
}

func TestSlug(t *testing.T) {
	for in, want := range map[string]string{
		"Xóm Nà Rạng 2":          "xom-na-rang-2",
		"Tổ dân phố 1 (Đình Cả)": "to-dan-pho-1-dinh-ca",
		"  Bản   Đồng--Bo ":      "ban-dong-bo",
		"山":                      "xom",
		"Khuổi\u200bMèo":         "khuoimeo",
		"Ö Đồng/Ệ":               "o-dong-e",
	} {
		if got := slug(in); got != want {
			t.Errorf("slug(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseAreasCSVTooLarge(t *testing.T) {
	src := strings.NewReader("commune,hamlet,households,population\n" + strings.Repeat("vo-nhai,Xóm,,\n", maxCSVBytes/10))
	got, ps := ParseAreasCSV(src, "big.csv", seedAreas(t), csvToday)
	want := []Problem{{File: "big.csv", Msg: "the file is larger than 16 MiB; split it"}}
	if d := cmp.Diff(want, ps); d != "" || got != nil {
		t.Errorf("problems (-want +got):\n%s\nareas: %v", d, got)
	}
}
