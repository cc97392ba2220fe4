package content

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/hangxomso/hangxom/flows"
)

// BasisPopulation15Plus is the basis of a target measured on the people
// aged 15 and over, such as Decision 411/QĐ-TTg's 80% with a payment
// account. No 15+ counts are stored, so a report can only compare it with
// the whole population, which understates progress.
const BasisPopulation15Plus = "population_15plus"

// The columns of a targets CSV file (`hangxom targets import`): one row per
// flow and area. unit is what pct is a share of (Target.Basis).
var (
	TargetCSVRequired = []string{"flow", "area_id", "unit", "pct", "source"}
	TargetCSVOptional = []string{"note"}
)

// TargetBases returns the values Target.Basis and a CSV's unit may take.
func TargetBases() []string { return []string{BasisHouseholds, BasisPopulation, BasisPopulation15Plus} }

// ParseTargetsCSV reads adoption targets (see TargetCSVRequired): flow and
// area_id must name a flow in flowIDs and an area in areas, unit is one of
// TargetBases(), pct a number in (0, 100] written with a decimal point or
// comma ("50", "12,5", "80%"), source says where the goal comes from, and
// each (flow, area) has one row. It returns the targets, with Line set,
// or, if anything is wrong, none and every problem found, as name:line.
// The file is read as ParseAreasCSV reads one.
func ParseTargetsCSV(r io.Reader, name string, flowIDs []string, areas []flows.Area) ([]Target, []Problem) {
	t, ps := readCSV(r, name, TargetCSVRequired, TargetCSVOptional)
	if t == nil {
		return nil, ps
	}
	known := make(map[string]bool, len(areas))
	for _, a := range areas {
		known[a.ID] = true
	}
	add := func(line int, col, format string, args ...any) {
		ps = append(ps, Problem{File: name, Line: line, Path: col, Msg: fmt.Sprintf(format, args...)})
	}
	seen := map[[2]string]int{}
	var out []Target
	for _, row := range t.rows {
		l := row.line
		tg := Target{
			Flow:   t.get(row, "flow"),
			Area:   t.get(row, "area_id"),
			Basis:  strings.ToLower(t.get(row, "unit")),
			Source: t.get(row, "source"),
			Note:   t.get(row, "note"),
			Line:   l,
		}
		switch {
		case tg.Flow == "":
			add(l, "flow", "the flow is missing")
		case !slices.Contains(flowIDs, tg.Flow):
			add(l, "flow", "%q is not a flow (%s)", tg.Flow, strings.Join(flowIDs, ", "))
		}
		switch {
		case tg.Area == "":
			add(l, "area_id", "the area is missing")
		case !known[tg.Area]:
			add(l, "area_id", "%q is not an area id (hangxom areas list)", tg.Area)
		}
		switch {
		case tg.Basis == "":
			add(l, "unit", "the unit is missing (%s)", strings.Join(TargetBases(), ", "))
		case !slices.Contains(TargetBases(), tg.Basis):
			add(l, "unit", "%q is not one of %s", tg.Basis, strings.Join(TargetBases(), ", "))
		}
		pct, err := parsePct(t.get(row, "pct"))
		if err != nil {
			add(l, "pct", "%v", err)
		}
		tg.Pct = pct
		if tg.Source == "" {
			add(l, "source", "the source is missing: say where the goal comes from")
		}
		if tg.Flow != "" && tg.Area != "" {
			k := [2]string{tg.Flow, tg.Area}
			if prev, dup := seen[k]; dup {
				add(l, "", "flow %q and area %q already have a target, at line %d", tg.Flow, tg.Area, prev)
			} else {
				seen[k] = l
			}
		}
		out = append(out, tg)
	}
	if len(ps) > 0 {
		sortProblems(ps)
		return nil, ps
	}
	return out, nil
}

// parsePct reads a percentage in (0, 100]: "50", "12.5", "12,5", "80%".
func parsePct(v string) (float64, error) {
	s := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "%"))
	if s == "" {
		return 0, fmt.Errorf("the percentage is missing")
	}
	if strings.Count(s, ",") == 1 && !strings.Contains(s, ".") {
		s = strings.Replace(s, ",", ".", 1)
	}
	p, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(p) || math.IsInf(p, 0) || strings.ContainsAny(s, "eExXpP_") {
		return 0, fmt.Errorf("%q is not a number", v)
	}
	if !(p > 0 && p <= 100) {
		return 0, fmt.Errorf("%s is not in (0, 100]", v)
	}
	return p, nil
}

// targetJSON is a Target as it is kept outside the content files: the
// store holds it as JSON it does not read (MarshalTarget).
type targetJSON struct {
	Flow   string  `json:"flow"`
	Area   string  `json:"area_id"`
	Unit   string  `json:"unit"`
	Pct    float64 `json:"pct"`
	Source string  `json:"source"`
	Note   string  `json:"note,omitempty"`
}

// MarshalTarget encodes t for the store, without its Line.
func MarshalTarget(t Target) ([]byte, error) {
	b, err := json.Marshal(targetJSON{Flow: t.Flow, Area: t.Area, Unit: t.Basis, Pct: t.Pct, Source: t.Source, Note: t.Note})
	if err != nil {
		return nil, fmt.Errorf("content: encode target %s/%s: %w", t.Flow, t.Area, err)
	}
	return b, nil
}

// UnmarshalTarget decodes what MarshalTarget encoded.
func UnmarshalTarget(b []byte) (Target, error) {
	var j targetJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return Target{}, fmt.Errorf("content: decode target: %w", err)
	}
	return Target{Flow: j.Flow, Area: j.Area, Basis: j.Unit, Pct: j.Pct, Source: j.Source, Note: j.Note}, nil
}
