package flows_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hangxomso/hangxom/flows"
)

// plainDirectory hides an AreaIndex's kept ranks: StatsRows then sorts
// with the comparison itself.
type plainDirectory struct{ x *flows.AreaIndex }

func (d plainDirectory) Area(id string) (flows.Area, bool)        { return d.x.Area(id) }
func (d plainDirectory) Children(id string) []flows.Area          { return d.x.Children(id) }
func (d plainDirectory) Communes() []flows.Area                   { return d.x.Communes() }
func (d plainDirectory) HamletByCode(c string) (flows.Area, bool) { return d.x.HamletByCode(c) }

// TestStatsRowsRankedOrder checks that the order an AreaIndex ranks once
// is the order StatsRows sorts to without it: names with numbers, marks
// and ties, hamlets given in any order, and hamlets the index does not
// know as given (which fall back to sorting).
func TestStatsRowsRankedOrder(t *testing.T) {
	rnd := rand.New(rand.NewPCG(7, 11))
	names := []string{"Thôn 1", "Thôn 2", "Thôn 10", "thon 3", "Xóm Đông", "Xom Dong", "Ấp Bắc", "Ap bac", "Khu 2A", "Khu 2"}
	communes := []string{"Xã An Hòa", "Xa An Hoa", "Phường 3", "Phường 12", "Thị trấn"}
	var areas []flows.Area
	for i, c := range communes {
		areas = append(areas, flows.Area{ID: fmt.Sprintf("c%d", i), Level: flows.LevelCommune, Name: c})
	}
	for i := range 300 {
		areas = append(areas, flows.Area{ID: fmt.Sprintf("h%03d", rnd.IntN(1000)*1000+i), Level: flows.LevelHamlet,
			Name: names[rnd.IntN(len(names))], ParentID: fmt.Sprintf("c%d", rnd.IntN(len(communes))),
			Unassigned: rnd.IntN(20) == 0})
	}
	x := flows.NewAreaIndex(areas)
	var hamlets []flows.Area
	for _, a := range areas {
		if a.Level == flows.LevelHamlet {
			hamlets = append(hamlets, a)
		}
	}
	order := func(rows []flows.StatsRow) []string {
		var ids []string
		for _, r := range rows {
			ids = append(ids, r.HamletID)
		}
		return ids
	}
	for round := range 3 {
		rnd.Shuffle(len(hamlets), func(i, j int) { hamlets[i], hamlets[j] = hamlets[j], hamlets[i] })
		given := hamlets
		if round == 2 {
			// One hamlet renamed since the index was built: not ranked.
			given = append([]flows.Area(nil), hamlets...)
			given[0].Name = "Thôn 0"
		}
		ranked := flows.StatsRows(flows.StatsScope{Areas: x, Hamlets: given, Flows: []string{"f"}}, nil)
		sorted := flows.StatsRows(flows.StatsScope{Areas: plainDirectory{x}, Hamlets: given, Flows: []string{"f"}}, nil)
		if diff := cmp.Diff(order(sorted), order(ranked)); diff != "" {
			t.Fatalf("round %d: the ranked order differs from the sorted one (-sorted +ranked):\n%s", round, diff)
		}
		if len(ranked) != len(given) {
			t.Fatalf("round %d: %d rows for %d hamlets", round, len(ranked), len(given))
		}
	}
}
