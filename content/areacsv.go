package content

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hangxomso/hangxom/flows"
)

// The columns of an areas CSV file (`hangxom areas import`): one row per
// hamlet. The first four are required in the header; their cells may be
// empty.
var (
	AreaCSVRequired = []string{"commune", "hamlet", "households", "population"}
	AreaCSVOptional = []string{"hamlet_id", "aliases", "valid_from", "valid_to", "successor_id"}
)

// maxHamletName bounds a hamlet's name: it is shown on a button.
const maxHamletName = 100

// ParseAreasCSV reads a coordinators' list of hamlets (see AreaCSVRequired
// and AreaCSVOptional) and returns the hamlets to write: the new ones and
// the existing ones the file changes, in file order. Hamlets the file
// leaves as they are not returned. If anything is wrong it returns no
// areas and every problem found, each located as name:line, so a file is
// imported whole or not at all.
//
// existing is every area stored now; today (YYYY-MM-DD) decides which
// communes are current. A row names its commune by id, name or alias,
// compared with flows.Fold (with or without diacritics), among the
// communes valid today. A row updates the hamlet with its hamlet_id, or
// else the hamlet of that commune with the same folded name, rather than
// add a second one; a new hamlet gets the hamlet_id given or
// "<commune id>-<folded name as ASCII>", made unique with "-2", "-3"….
//
// A cell left empty, or a column left out, keeps what is stored (a new
// hamlet's numbers stay unknown); aliases (";"-separated) are added to the
// stored ones. A row with the hamlet_id of a stored hamlet may rename it:
// the old name becomes an alias. Counts are whole numbers and may carry thousands separators
// ("1.200", "1,200", "1 200"); dates are YYYY-MM-DD; successor_id names a
// hamlet, stored or in the file, and needs valid_to: a merged hamlet is
// kept, with its history, and ends on valid_to.
//
// The file is UTF-8 (a byte-order mark is skipped); a file in another
// encoding is refused at its first line that is not UTF-8. The separator
// is "," or, as spreadsheets in a Vietnamese locale write, ";" (taken from
// the header line).
func ParseAreasCSV(r io.Reader, name string, existing []flows.Area, today string) ([]flows.Area, []Problem) {
	t, ps := readCSV(r, name, AreaCSVRequired, AreaCSVOptional)
	if t == nil {
		return nil, ps
	}
	im := newAreaImport(name, existing, today)
	im.probs = ps
	// Explicit ids first, so that a generated id never takes one that a
	// later row asks for.
	for _, row := range t.rows {
		if id := t.get(row, "hamlet_id"); id != "" {
			im.reserved[id] = true
		}
	}
	for _, row := range t.rows {
		im.row(t, row)
	}
	im.successors()
	if len(im.probs) > 0 {
		sortProblems(im.probs)
		return nil, im.probs
	}
	var out []flows.Area
	for _, id := range im.order {
		a := im.byID[id]
		if old, ok := im.before[id]; ok && reflect.DeepEqual(old, a) {
			continue
		}
		out = append(out, a)
	}
	return out, nil
}

// areaImport is the state of one ParseAreasCSV: a working copy of the
// areas, changed row by row.
type areaImport struct {
	file, today string
	before      map[string]flows.Area // as stored
	byID        map[string]flows.Area // as the file leaves them so far
	// names indexes the hamlets of each commune by folded name.
	names    map[string]map[string][]string
	reserved map[string]bool // hamlet_ids some row gives
	written  map[string]int  // hamlet id → the line that wrote it
	order    []string        // hamlet ids written, in file order
	pending  []successorRef
	communes []flows.Area // current communes
	former   []flows.Area // communes that are not current today
	probs    []Problem
}

type successorRef struct {
	line     int
	id, succ string
}

func newAreaImport(file string, existing []flows.Area, today string) *areaImport {
	im := &areaImport{
		file: file, today: today,
		before:   make(map[string]flows.Area, len(existing)),
		byID:     make(map[string]flows.Area, len(existing)),
		names:    map[string]map[string][]string{},
		reserved: map[string]bool{},
		written:  map[string]int{},
	}
	for _, a := range existing {
		im.before[a.ID] = a
		im.byID[a.ID] = a
		switch {
		case a.Level == flows.LevelHamlet:
			im.index(a)
		case a.Level == flows.LevelCommune && a.ValidOn(today):
			im.communes = append(im.communes, a)
		case a.Level == flows.LevelCommune:
			im.former = append(im.former, a)
		}
	}
	flows.SortAreas(im.communes)
	return im
}

func (im *areaImport) index(h flows.Area) {
	m := im.names[h.ParentID]
	if m == nil {
		m = map[string][]string{}
		im.names[h.ParentID] = m
	}
	k := flows.Fold(h.Name)
	if !slices.Contains(m[k], h.ID) {
		m[k] = append(m[k], h.ID)
	}
}

func (im *areaImport) unindex(h flows.Area) {
	m := im.names[h.ParentID]
	k := flows.Fold(h.Name)
	m[k] = slices.DeleteFunc(m[k], func(id string) bool { return id == h.ID })
}

func (im *areaImport) add(line int, col, format string, args ...any) {
	im.probs = append(im.probs, Problem{File: im.file, Line: line, Path: col, Msg: fmt.Sprintf(format, args...)})
}

// row applies one row to the working copy, or records its problems.
func (im *areaImport) row(t *csvTable, row csvRow) {
	l := row.line
	commune, ok := im.commune(l, t.get(row, "commune"))

	name := strings.Join(strings.Fields(t.get(row, "hamlet")), " ")
	switch {
	case name == "":
		im.add(l, "hamlet", "the hamlet's name is missing")
	case utf8.RuneCountInString(name) > maxHamletName:
		im.add(l, "hamlet", "name is longer than %d characters", maxHamletName)
	case flows.Fold(name) == "":
		im.add(l, "hamlet", "name %q has no letters or digits", name)
	}
	households := im.count(l, "households", t.get(row, "households"))
	population := im.count(l, "population", t.get(row, "population"))
	validFrom := im.date(l, "valid_from", t.get(row, "valid_from"))
	validTo := im.date(l, "valid_to", t.get(row, "valid_to"))
	succ := t.get(row, "successor_id")
	if succ != "" && !areaID.MatchString(succ) {
		im.add(l, "successor_id", "%q is not an area id (lower-case letters, digits and -, at most 40)", succ)
	}
	var aliases []string
	for _, a := range strings.Split(t.get(row, "aliases"), ";") {
		if a = strings.Join(strings.Fields(a), " "); a != "" {
			aliases = append(aliases, a)
		}
	}
	id := t.get(row, "hamlet_id")
	if id != "" && !areaID.MatchString(id) {
		im.add(l, "hamlet_id", "%q is not an area id (lower-case letters, digits and -, at most 40)", id)
		return
	}
	if !ok || name == "" {
		return
	}

	beforeFind := len(im.probs)
	h, found := im.find(l, id, name, commune)
	if len(im.probs) > beforeFind {
		return
	}
	if prev, dup := im.written[h.ID]; found && dup {
		im.add(l, "", "hamlet %q (%s) is already in this file, at line %d", h.Name, h.ID, prev)
		return
	}
	if found {
		im.unindex(h)
		if id != "" && flows.Fold(h.Name) != flows.Fold(name) {
			// The id names the hamlet, so the name may change; residents
			// who still type the old one find it as an alias.
			aliases = append([]string{h.Name}, aliases...)
			h.Name = name
		}
	} else {
		h = flows.Area{ID: id, Level: flows.LevelHamlet, Name: name, ParentID: commune.ID}
		if h.ID == "" {
			h.ID = im.newID(commune.ID, name)
		}
	}
	if households != nil {
		h.Households = households
	}
	if population != nil {
		h.Population = population
	}
	if validFrom != "" {
		h.ValidFrom = validFrom
	}
	if validTo != "" {
		h.ValidTo = validTo
	}
	if succ != "" {
		h.Successor = succ
	}
	h.Aliases = mergeAliases(h.Name, h.Aliases, aliases)
	if h.Households != nil && h.Population != nil && *h.Households > *h.Population {
		im.add(l, "households", "%d households but a population of %d: a household has at least one person", *h.Households, *h.Population)
	}
	if h.ValidFrom != "" && h.ValidTo != "" && h.ValidTo < h.ValidFrom {
		im.add(l, "valid_to", "%s is before valid_from %s", h.ValidTo, h.ValidFrom)
	}
	if h.Successor != "" {
		im.pending = append(im.pending, successorRef{line: l, id: h.ID, succ: h.Successor})
	}
	im.byID[h.ID] = h
	im.index(h)
	im.written[h.ID] = l
	im.order = append(im.order, h.ID)
}

// commune finds the current commune a row names.
func (im *areaImport) commune(line int, v string) (flows.Area, bool) {
	if v == "" {
		im.add(line, "commune", "the commune is missing")
		return flows.Area{}, false
	}
	if m := matchArea(im.communes, v); len(m) == 1 {
		return m[0], true
	} else if len(m) > 1 {
		im.add(line, "commune", "%q matches %d communes (%s); use the id", v, len(m), areaIDs(m))
		return flows.Area{}, false
	}
	if m := matchArea(im.former, v); len(m) > 0 {
		a := m[0]
		if a.Successor != "" {
			im.add(line, "commune", "%q (%s) no longer exists (until %s); its hamlets belong to %q now", v, a.ID, a.ValidTo, a.Successor)
		} else {
			im.add(line, "commune", "%q (%s) is not a commune on %s", v, a.ID, im.today)
		}
		return flows.Area{}, false
	}
	im.add(line, "commune", "%q is not a commune; give the id, the name or an alias of one (hangxom areas list)", v)
	return flows.Area{}, false
}

// matchArea returns the areas whose id is v, or else whose folded name or
// alias is v folded, or else whose name without its "xã"/"phường"/"thị
// trấn" is.
func matchArea(as []flows.Area, v string) []flows.Area {
	id := strings.ToLower(strings.TrimSpace(v))
	for _, a := range as {
		if a.ID == id {
			return []flows.Area{a}
		}
	}
	f := flows.Fold(v)
	var out []flows.Area
	for _, a := range as {
		if flows.Fold(a.Name) == f || slices.ContainsFunc(a.Aliases, func(x string) bool { return flows.Fold(x) == f }) {
			out = append(out, a)
		}
	}
	if len(out) > 0 {
		return out
	}
	f = stripUnitWord(f)
	for _, a := range as {
		if stripUnitWord(flows.Fold(a.Name)) == f {
			out = append(out, a)
		}
	}
	return out
}

// stripUnitWord drops the kind of unit from a folded commune name.
func stripUnitWord(f string) string {
	for _, p := range []string{"xa ", "phuong ", "thi tran ", "tt "} {
		if s, ok := strings.CutPrefix(f, p); ok {
			return s
		}
	}
	return f
}

func areaIDs(as []flows.Area) string {
	ids := make([]string, len(as))
	for i, a := range as {
		ids[i] = a.ID
	}
	return strings.Join(ids, ", ")
}

// find returns the hamlet a row updates, found by id or by name within the
// commune; found is false for a new hamlet.
func (im *areaImport) find(line int, id, name string, commune flows.Area) (h flows.Area, found bool) {
	if id != "" {
		a, ok := im.byID[id]
		switch {
		case !ok:
		case a.Level != flows.LevelHamlet:
			im.add(line, "hamlet_id", "%q is a %s, not a hamlet", id, a.Level)
			return flows.Area{}, false
		case a.ParentID != commune.ID:
			im.add(line, "hamlet_id", "%q belongs to commune %q, not %q", id, a.ParentID, commune.ID)
			return flows.Area{}, false
		default:
			return a, true
		}
	}
	var same []flows.Area
	for _, hid := range im.names[commune.ID][flows.Fold(name)] {
		same = append(same, im.byID[hid])
	}
	if len(same) > 1 {
		var current []flows.Area
		for _, a := range same {
			if a.ValidOn(im.today) {
				current = append(current, a)
			}
		}
		if len(current) > 0 {
			same = current
		}
	}
	switch {
	case len(same) > 1:
		im.add(line, "hamlet", "%q matches %d hamlets of %s (%s); give the hamlet_id", name, len(same), commune.ID, areaIDs(same))
		return flows.Area{}, false
	case len(same) == 1 && id != "":
		// A new id for a hamlet the commune has: a duplicate in the making.
		im.add(line, "hamlet_id", "%q is new, but %s already has hamlet %q as %q; use that id, or leave hamlet_id empty", id, commune.ID, same[0].Name, same[0].ID)
		return flows.Area{}, false
	case len(same) == 1:
		return same[0], true
	}
	return flows.Area{}, false
}

// newID makes the id of a new hamlet: "<commune id>-<slug>", at most 40
// characters, unique among the areas and the ids the file gives.
func (im *areaImport) newID(commune, name string) string {
	base := commune + "-" + slug(name)
	base = strings.TrimRight(base[:min(len(base), 40)], "-")
	taken := func(id string) bool { _, ok := im.byID[id]; return ok || im.reserved[id] }
	if !taken(base) {
		return base
	}
	for n := 2; ; n++ {
		suffix := "-" + strconv.Itoa(n)
		b := strings.TrimRight(base[:min(len(base), 40-len(suffix))], "-")
		if id := b + suffix; !taken(id) {
			return id
		}
	}
}

// slug turns a name into lower-case ASCII words joined by hyphens:
// "Xóm Nà Rạng 2" → "xom-na-rang-2".
func slug(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range flows.Fold(name) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
			continue
		}
		dash = true
	}
	if b.Len() == 0 {
		return "xom"
	}
	return b.String()
}

// mergeAliases adds the new aliases to the old, skipping any that fold
// like the name or an alias already there.
func mergeAliases(name string, old, add []string) []string {
	seen := map[string]bool{flows.Fold(name): true}
	out := old
	for _, a := range old {
		seen[flows.Fold(a)] = true
	}
	for _, a := range add {
		if f := flows.Fold(a); !seen[f] {
			seen[f] = true
			out = append(slices.Clip(out), a)
		}
	}
	return out
}

// successors checks the successor_ids once every row is in: a successor
// may come later in the file.
func (im *areaImport) successors() {
	for _, p := range im.pending {
		h := im.byID[p.id]
		s, ok := im.byID[p.succ]
		switch {
		case p.succ == p.id:
			im.add(p.line, "successor_id", "is the hamlet itself")
			continue
		case !ok:
			im.add(p.line, "successor_id", "%q is not a hamlet, stored or in this file", p.succ)
			continue
		case s.Level != flows.LevelHamlet:
			im.add(p.line, "successor_id", "%q is a %s, not a hamlet", p.succ, s.Level)
			continue
		}
		if h.ValidTo == "" {
			im.add(p.line, "successor_id", "is set but valid_to is not: say when the hamlet ended")
		}
		// Counts roll up along the chain of successors: it must end.
		seen := map[string]bool{p.id: true}
		for id := p.succ; id != ""; id = im.byID[id].Successor {
			if seen[id] {
				im.add(p.line, "successor_id", "%q leads back to %q: successors form a loop", p.succ, id)
				break
			}
			seen[id] = true
		}
	}
}

// count parses a count of households or people: empty is unknown (nil).
func (im *areaImport) count(line int, col, v string) *int {
	if v == "" {
		return nil
	}
	n, err := parseCount(v)
	if err != nil {
		im.add(line, col, "%q %v", v, err)
		return nil
	}
	return &n
}

var (
	plainCount = regexp.MustCompile(`^[0-9]+$`)
	// groupedCount is a number with one kind of thousands separator.
	groupedCount = regexp.MustCompile(`^[0-9]{1,3}(?:(?:\.[0-9]{3})+|(?:,[0-9]{3})+|(?: [0-9]{3})+)$`)
	decimalish   = regexp.MustCompile(`^[0-9]*[.,][0-9]+$`)
)

// parseCount reads a whole non-negative number, with or without thousands
// separators: "1200", "1.200", "1,200", "1 200" (one kind per number).
// A decimal ("1,5", "12.50") is refused rather than guessed at.
func parseCount(v string) (int, error) {
	v = strings.Map(func(r rune) rune {
		if r == '\u00a0' || r == '\u202f' || r == '\u2009' { // spreadsheets' non-breaking spaces
			return ' '
		}
		return r
	}, strings.TrimSpace(v))
	switch {
	case strings.HasPrefix(v, "-"):
		return 0, errors.New("is negative")
	case plainCount.MatchString(v):
	case groupedCount.MatchString(v):
		v = strings.NewReplacer(".", "", ",", "", " ", "").Replace(v)
	case decimalish.MatchString(v):
		return 0, errors.New("is not a whole number")
	default:
		return 0, errors.New("is not a number (write 1200, 1.200 or 1 200)")
	}
	n, err := strconv.Atoi(v)
	if err != nil || n > 100_000_000 {
		return 0, errors.New("is too large")
	}
	return n, nil
}

// date checks a YYYY-MM-DD date; empty stays empty.
func (im *areaImport) date(line int, col, v string) string {
	if v == "" {
		return ""
	}
	if t, err := time.Parse(time.DateOnly, v); err != nil || t.Format(time.DateOnly) != v {
		im.add(line, col, "%q is not a date YYYY-MM-DD", v)
		return ""
	}
	return v
}

// ---- CSV files ---------------------------------------------------------------

// csvTable is a CSV file read for an import: which column holds what, and
// the rows that are not blank, with their lines.
type csvTable struct {
	cols map[string]int
	rows []csvRow
}

type csvRow struct {
	line   int
	fields []string
}

// get returns the trimmed cell of col in row, "" if the file has no such
// column.
func (t *csvTable) get(row csvRow, col string) string {
	i, ok := t.cols[col]
	if !ok || i >= len(row.fields) {
		return ""
	}
	return strings.TrimSpace(row.fields[i])
}

var utf8BOM = []byte{0xef, 0xbb, 0xbf}

// maxCSVBytes bounds an import file: a province's hamlets fit in far less.
const maxCSVBytes = 16 << 20

// readCSV reads an import file: UTF-8 (a byte-order mark is skipped), a
// header naming every required column, and any of the optional ones. It
// returns nil and the problems when the file cannot be read as a table at
// all; otherwise the table, and a problem for each row that is broken (a
// bad quote, a wrong number of cells), which it leaves out.
func readCSV(r io.Reader, name string, required, optional []string) (*csvTable, []Problem) {
	src, err := io.ReadAll(io.LimitReader(r, maxCSVBytes+1))
	if err != nil {
		return nil, []Problem{{File: name, Msg: fmt.Sprintf("cannot read: %v", err)}}
	}
	if len(src) > maxCSVBytes {
		return nil, []Problem{{File: name, Msg: fmt.Sprintf("the file is larger than %d MiB; split it", maxCSVBytes>>20)}}
	}
	if bytes.HasPrefix(src, []byte{0xff, 0xfe}) || bytes.HasPrefix(src, []byte{0xfe, 0xff}) {
		return nil, []Problem{{File: name, Line: 1, Msg: `the file is UTF-16; save it as "CSV UTF-8"`}}
	}
	src = bytes.TrimPrefix(src, utf8BOM)
	if p, ok := firstNonUTF8(name, src); !ok {
		return nil, []Problem{p}
	}
	header := strings.Join(required, ",")
	if len(bytes.TrimSpace(src)) == 0 {
		return nil, []Problem{{File: name, Msg: "the file is empty; its first line must be the header " + header}}
	}
	cr := csv.NewReader(bytes.NewReader(src))
	cr.Comma = separator(src)
	cr.FieldsPerRecord = -1
	var ps []Problem
	var t *csvTable
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if pe := (*csv.ParseError)(nil); errors.As(err, &pe) {
			ps = append(ps, Problem{File: name, Line: pe.StartLine, Msg: pe.Err.Error()})
			if t == nil {
				return nil, ps
			}
			continue
		}
		if err != nil {
			return nil, append(ps, Problem{File: name, Msg: fmt.Sprintf("cannot read: %v", err)})
		}
		line, _ := cr.FieldPos(0)
		if t == nil {
			var hps []Problem
			t, hps = readHeader(name, line, rec, required, optional)
			ps = append(ps, hps...)
			if t == nil {
				return nil, ps
			}
			continue
		}
		if blank(rec) {
			continue
		}
		if len(rec) != len(t.cols) && !trailingBlank(rec, len(t.cols)) {
			ps = append(ps, Problem{File: name, Line: line, Msg: fmt.Sprintf("%d cells, but the header has %d columns", len(rec), len(t.cols))})
			continue
		}
		t.rows = append(t.rows, csvRow{line: line, fields: rec})
	}
	if t == nil { // only blank lines: csv skips them
		return nil, []Problem{{File: name, Msg: "the file is empty; its first line must be the header " + header}}
	}
	return t, ps
}

// readHeader maps the columns of the header record; it returns nil when a
// required column is missing or a column is named twice.
func readHeader(name string, line int, rec, required, optional []string) (*csvTable, []Problem) {
	t := &csvTable{cols: map[string]int{}}
	var ps []Problem
	fatal := false
	for i, h := range rec {
		h = strings.ReplaceAll(strings.ToLower(strings.Join(strings.Fields(h), " ")), " ", "_")
		if h == "" && i == len(rec)-1 && i > 0 {
			continue // a trailing separator
		}
		if j, dup := t.cols[h]; dup {
			ps = append(ps, Problem{File: name, Line: line, Msg: fmt.Sprintf("column %q is named twice (columns %d and %d)", h, j+1, i+1)})
			fatal = true
			continue
		}
		t.cols[h] = i
		if !slices.Contains(required, h) && !slices.Contains(optional, h) {
			ps = append(ps, Problem{File: name, Line: line, Msg: fmt.Sprintf("unknown column %q; the columns are %s, optionally %s",
				h, strings.Join(required, ","), strings.Join(optional, ","))})
		}
	}
	var missing []string
	for _, c := range required {
		if _, ok := t.cols[c]; !ok {
			missing = append(missing, strconv.Quote(c))
		}
	}
	if len(missing) > 0 {
		ps = append(ps, Problem{File: name, Line: line, Msg: fmt.Sprintf("the header lacks column %s; it must name %s",
			strings.Join(missing, ", "), strings.Join(required, ","))})
		fatal = true
	}
	if fatal {
		return nil, ps
	}
	return t, ps
}

// firstNonUTF8 finds the first line that is not UTF-8.
func firstNonUTF8(name string, src []byte) (Problem, bool) {
	if utf8.Valid(src) {
		return Problem{}, true
	}
	for i, line := range bytes.SplitAfter(src, []byte("\n")) {
		if utf8.Valid(line) {
			continue
		}
		at := 0
		for at < len(line) {
			r, n := utf8.DecodeRune(line[at:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			at += n
		}
		before := []rune(string(line[:at]))
		if len(before) > 20 {
			before = before[len(before)-20:]
		}
		return Problem{File: name, Line: i + 1, Msg: fmt.Sprintf(`not UTF-8 text (byte 0x%02X after %q); save the file as "CSV UTF-8"`,
			line[at], string(before))}, false
	}
	return Problem{}, true
}

// separator guesses the separator from the header line: "," unless the
// line has none and has ";" or tabs.
func separator(src []byte) rune {
	line, _, _ := bytes.Cut(src, []byte("\n"))
	switch {
	case bytes.ContainsRune(line, ','):
		return ','
	case bytes.ContainsRune(line, ';'):
		return ';'
	case bytes.ContainsRune(line, '\t'):
		return '\t'
	}
	return ','
}

func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// trailingBlank reports whether rec has more than n cells only because of
// empty cells at its end, as spreadsheets write.
func trailingBlank(rec []string, n int) bool {
	return len(rec) > n && blank(rec[n:])
}

func sortProblems(ps []Problem) {
	slices.SortStableFunc(ps, func(a, b Problem) int { return a.Line - b.Line })
}
