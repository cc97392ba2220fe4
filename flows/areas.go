package flows

import (
	"cmp"
	"slices"
	"strings"
	"sync/atomic"
	"unicode/utf8"
)

// AreaIndex is an in-memory Directory built from a list of areas. Children
// are ordered by name the way people read them: without regard to
// diacritics, and with numbers in numeric order ("TDP 2" before "TDP 10").
type AreaIndex struct {
	byID     map[string]Area
	byCode   map[string]Area // hamlets by Code
	children map[string][]Area
	communes []Area
	folded   map[string]string // Fold of each name
	// rank is each hamlet's place in a report (comparePlaces), ranked
	// once: sorting a province's thousand hamlets for every report cost
	// a fifth of its time.
	rank map[string]int
}

// foldedNamer is a Directory that keeps its names folded, which StatsRows
// finds by type assertion to skip folding every name again.
type foldedNamer interface{ FoldedName(name string) string }

var (
	_ Directory   = (*AreaIndex)(nil)
	_ foldedNamer = (*AreaIndex)(nil)
	_ foldedNamer = (*LiveAreas)(nil)
)

// NewAreaIndex indexes areas.
func NewAreaIndex(areas []Area) *AreaIndex {
	x := &AreaIndex{byID: make(map[string]Area, len(areas)), children: map[string][]Area{},
		folded: make(map[string]string, len(areas)), byCode: map[string]Area{}}
	for _, a := range areas {
		x.byID[a.ID] = a
		if a.Code != "" && a.Level == LevelHamlet {
			x.byCode[a.Code] = a
		}
		if _, ok := x.folded[a.Name]; !ok {
			x.folded[a.Name] = Fold(a.Name)
		}
	}
	for _, a := range x.byID {
		if a.ParentID != "" {
			x.children[a.ParentID] = append(x.children[a.ParentID], a)
		}
		if a.Level == LevelCommune {
			x.communes = append(x.communes, a)
		}
	}
	for k := range x.children {
		sortAreas(x.children[k], x.FoldedName)
	}
	sortAreas(x.communes, x.FoldedName)
	var places []place
	for _, a := range x.byID {
		if a.Level == LevelHamlet {
			places = append(places, newPlace(a, x, x.FoldedName))
		}
	}
	slices.SortFunc(places, comparePlaces)
	x.rank = make(map[string]int, len(places))
	for i, p := range places {
		x.rank[p.hamlet.ID] = i
	}
	return x
}

// reportRank returns h's place in a report's order, if h is the hamlet
// indexed under its id (the same name and commune).
func (x *AreaIndex) reportRank(h Area) (int, bool) {
	i, ok := x.rank[h.ID]
	if !ok {
		return 0, false
	}
	if a := x.byID[h.ID]; a.Name != h.Name || a.ParentID != h.ParentID {
		return 0, false
	}
	return i, true
}

// FoldedName returns Fold(name), kept for the names of the areas indexed:
// sorting a thousand hamlets for a report folds no name again.
func (x *AreaIndex) FoldedName(name string) string {
	if f, ok := x.folded[name]; ok {
		return f
	}
	return Fold(name)
}

// Area returns the area with the given id.
func (x *AreaIndex) Area(id string) (Area, bool) {
	a, ok := x.byID[id]
	return a, ok
}

// HamletByCode returns the hamlet whose Code is code.
func (x *AreaIndex) HamletByCode(code string) (Area, bool) {
	a, ok := x.byCode[code]
	return a, ok
}

// Children returns the areas under id, in display order.
func (x *AreaIndex) Children(id string) []Area { return x.children[id] }

// Communes returns every commune, in display order.
func (x *AreaIndex) Communes() []Area { return x.communes }

// All returns every area, in no particular order.
func (x *AreaIndex) All() []Area {
	out := make([]Area, 0, len(x.byID))
	for _, a := range x.byID {
		out = append(out, a)
	}
	return out
}

// SortAreas orders areas for display: unassigned hamlets last, then by name
// folded, numbers compared as numbers, then by id.
func SortAreas(as []Area) { sortAreas(as, Fold) }

// sortAreas is SortAreas with each name folded once, by fold.
func sortAreas(as []Area, fold func(string) string) {
	type keyed struct {
		a      Area
		folded string
	}
	ks := make([]keyed, len(as))
	for i, a := range as {
		ks[i] = keyed{a, fold(a.Name)}
	}
	slices.SortStableFunc(ks, func(x, y keyed) int {
		if x.a.Unassigned != y.a.Unassigned {
			if y.a.Unassigned {
				return -1
			}
			return 1
		}
		if c := NaturalCompare(x.folded, y.folded); c != 0 {
			return c
		}
		return strings.Compare(x.a.ID, y.a.ID)
	})
	for i, k := range ks {
		as[i] = k.a
	}
}

// NaturalCompare compares strings with runs of ASCII digits compared by
// value ("TDP 2" before "TDP 10", "02" equal to "2"), whatever their
// length; everything else rune by rune. It reads each string once: a
// report sorts a thousand hamlets with it.
func NaturalCompare(a, b string) int {
	for a != "" && b != "" {
		if isASCIIDigit(a[0]) && isASCIIDigit(b[0]) {
			da, resta := leadingDigits(a)
			db, restb := leadingDigits(b)
			da, db = strings.TrimLeft(da, "0"), strings.TrimLeft(db, "0")
			if len(da) != len(db) {
				return cmp.Compare(len(da), len(db))
			}
			if c := strings.Compare(da, db); c != 0 {
				return c
			}
			a, b = resta, restb
			continue
		}
		ra, na := utf8.DecodeRuneInString(a)
		rb, nb := utf8.DecodeRuneInString(b)
		if ra != rb {
			return cmp.Compare(ra, rb)
		}
		a, b = a[na:], b[nb:]
	}
	return strings.Compare(a, b)
}

func isASCIIDigit(c byte) bool { return '0' <= c && c <= '9' }

// leadingDigits splits s after its leading ASCII digits.
func leadingDigits(s string) (digits, rest string) {
	i := 0
	for i < len(s) && isASCIIDigit(s[i]) {
		i++
	}
	return s[:i], s[i:]
}

// LiveAreas is a Directory whose snapshot can be replaced while the bot
// runs (after a coordinator adds a hamlet, or an import): readers always see
// one whole snapshot.
type LiveAreas struct {
	cur atomic.Pointer[AreaIndex]
}

var _ Directory = (*LiveAreas)(nil)

// NewLiveAreas starts with areas.
func NewLiveAreas(areas []Area) *LiveAreas {
	l := &LiveAreas{}
	l.Set(areas)
	return l
}

// Set replaces the snapshot.
func (l *LiveAreas) Set(areas []Area) { l.cur.Store(NewAreaIndex(areas)) }

// FoldedName returns Fold(name), kept for the current snapshot's names.
func (l *LiveAreas) FoldedName(name string) string { return l.cur.Load().FoldedName(name) }

// Area returns the area with the given id.
func (l *LiveAreas) Area(id string) (Area, bool) { return l.cur.Load().Area(id) }

// HamletByCode returns the hamlet whose Code is code.
func (l *LiveAreas) HamletByCode(code string) (Area, bool) { return l.cur.Load().HamletByCode(code) }

// Children returns the areas under id, in display order.
func (l *LiveAreas) Children(id string) []Area { return l.cur.Load().Children(id) }

// Communes returns every commune, in display order.
func (l *LiveAreas) Communes() []Area { return l.cur.Load().Communes() }

// All returns every area.
func (l *LiveAreas) All() []Area { return l.cur.Load().All() }
