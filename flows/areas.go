package flows

import (
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"unicode"
)

// AreaIndex is an in-memory Directory built from a list of areas. Children
// are ordered by name the way people read them: without regard to
// diacritics, and with numbers in numeric order ("TDP 2" before "TDP 10").
type AreaIndex struct {
	byID     map[string]Area
	children map[string][]Area
	communes []Area
}

var _ Directory = (*AreaIndex)(nil)

// NewAreaIndex indexes areas.
func NewAreaIndex(areas []Area) *AreaIndex {
	x := &AreaIndex{byID: make(map[string]Area, len(areas)), children: map[string][]Area{}}
	for _, a := range areas {
		x.byID[a.ID] = a
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
		SortAreas(x.children[k])
	}
	SortAreas(x.communes)
	return x
}

// Area returns the area with the given id.
func (x *AreaIndex) Area(id string) (Area, bool) {
	a, ok := x.byID[id]
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
func SortAreas(as []Area) {
	sort.SliceStable(as, func(i, j int) bool {
		if as[i].Unassigned != as[j].Unassigned {
			return !as[i].Unassigned
		}
		if c := NaturalCompare(Fold(as[i].Name), Fold(as[j].Name)); c != 0 {
			return c < 0
		}
		return as[i].ID < as[j].ID
	})
}

// NaturalCompare compares strings with runs of digits compared by value.
func NaturalCompare(a, b string) int {
	for a != "" && b != "" {
		ra, rb := []rune(a)[0], []rune(b)[0]
		if unicode.IsDigit(ra) && unicode.IsDigit(rb) {
			na, resta := leadingNumber(a)
			nb, restb := leadingNumber(b)
			if na != nb {
				if na < nb {
					return -1
				}
				return 1
			}
			a, b = resta, restb
			continue
		}
		if ra != rb {
			if ra < rb {
				return -1
			}
			return 1
		}
		a, b = a[len(string(ra)):], b[len(string(rb)):]
	}
	return strings.Compare(a, b)
}

func leadingNumber(s string) (uint64, string) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	n, _ := strconv.ParseUint(s[:i], 10, 64)
	return n, s[i:]
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

// Index returns the current snapshot.
func (l *LiveAreas) Index() *AreaIndex { return l.cur.Load() }

// Area returns the area with the given id.
func (l *LiveAreas) Area(id string) (Area, bool) { return l.cur.Load().Area(id) }

// Children returns the areas under id, in display order.
func (l *LiveAreas) Children(id string) []Area { return l.cur.Load().Children(id) }

// Communes returns every commune, in display order.
func (l *LiveAreas) Communes() []Area { return l.cur.Load().Communes() }

// All returns every area.
func (l *LiveAreas) All() []Area { return l.cur.Load().All() }
