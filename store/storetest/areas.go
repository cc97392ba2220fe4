package storetest

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/store"
)

// testPutAreasAndTargets covers what `hangxom areas import` and `hangxom
// targets import` write: batches that land whole or not at all.
func testPutAreasAndTargets(t *testing.T, s *store.Redis) {
	t.Run("PutAreas", func(t *testing.T) { testPutAreas(t, s) })
	t.Run("PutAreasSeenWhole", func(t *testing.T) { testPutAreasSeenWhole(t, s) })
	t.Run("Targets", func(t *testing.T) { testTargets(t, s) })
}

func areas(t *testing.T, s *store.Redis) []flows.Area {
	t.Helper()
	got, err := s.Areas(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// noCodes returns areas without their hamlet codes, for tests about the
// rest (testAreaCodes is about them).
func noCodes(as []flows.Area) []flows.Area {
	out := make([]flows.Area, len(as))
	for i, a := range as {
		a.Code = ""
		out[i] = a
	}
	return out
}

func testPutAreas(t *testing.T, s *store.Redis) {
	ctx := t.Context()
	hh, pop := 170, 700
	seed := []flows.Area{
		{ID: "pa-c", Level: flows.LevelCommune, Name: "Xã Một"},
		{ID: "pa-h1", Level: flows.LevelHamlet, Name: "Xóm Một", ParentID: "pa-c", Aliases: []string{"xom 1"}},
	}
	if _, err := s.SeedAreas(ctx, seed); err != nil {
		t.Fatal(err)
	}
	updated := seed[1]
	updated.Households, updated.Population = &hh, &pop
	added := flows.Area{ID: "pa-h2", Level: flows.LevelHamlet, Name: "Xóm Hai", ParentID: "pa-c",
		ValidTo: "2026-01-31", Successor: "pa-h1"}
	if err := s.PutAreas(ctx, []flows.Area{updated, added}); err != nil {
		t.Fatal(err)
	}
	want := []flows.Area{seed[0], updated, added}
	diff(t, "after PutAreas", want, noCodes(areas(t, s)))

	bad := []struct {
		name  string
		batch []flows.Area
	}{
		{"empty id last", []flows.Area{{ID: "pa-h3", Level: flows.LevelHamlet, Name: "Ba", ParentID: "pa-c"}, {Name: "no id"}}},
		{"an id twice", []flows.Area{{ID: "pa-h4", Name: "Bốn"}, {ID: "pa-h1", Name: "Một"}, {ID: "pa-h4", Name: "Bốn lại"}}},
	}
	for _, tt := range bad {
		if err := s.PutAreas(ctx, tt.batch); err == nil {
			t.Errorf("%s: PutAreas succeeded", tt.name)
		}
		diff(t, tt.name+": areas unchanged", want, noCodes(areas(t, s)))
	}
	if err := s.PutAreas(ctx, nil); err != nil {
		t.Errorf("an empty batch: %v", err)
	}
}

// testPutAreasSeenWhole writes large batches while another client reads:
// a reader sees a batch entirely or not at all.
func testPutAreasSeenWhole(t *testing.T, s *store.Redis) {
	ctx := t.Context()
	const batches, size = 5, 300
	before := len(areas(t, s))
	var wg sync.WaitGroup
	done := make(chan struct{})
	var torn []int
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			n, err := s.Client().HLen(ctx, s.Keys().Areas()).Result()
			if err != nil {
				return
			}
			if (int(n)-before)%size != 0 {
				torn = append(torn, int(n)-before)
			}
		}
	}()
	for b := range batches {
		batch := make([]flows.Area, size)
		for i := range batch {
			batch[i] = flows.Area{ID: fmt.Sprintf("sw-%d-%d", b, i), Level: flows.LevelHamlet, Name: "Xóm", ParentID: "sw"}
		}
		if err := s.PutAreas(ctx, batch); err != nil {
			close(done)
			wg.Wait()
			t.Fatal(err)
		}
	}
	close(done)
	wg.Wait()
	if len(torn) > 0 {
		t.Errorf("a reader saw %d half-written batches, e.g. %d areas into one", len(torn), torn[0])
	}
	diff(t, "areas written", before+batches*size, len(areas(t, s)))
}

func testTargets(t *testing.T, s *store.Redis) {
	ctx := t.Context()
	got, err := s.Targets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "no targets yet", []store.TargetRecord{}, got)

	first := []store.TargetRecord{
		{Flow: "vneid", Area: "vo-nhai", JSON: []byte(`{"pct":30}`)},
		{Flow: "ewallet", Area: "vo-nhai", JSON: []byte(`{"pct":50}`)},
		{Flow: "ewallet", Area: "thai-nguyen", JSON: []byte(`{"pct":80,"note":"15+"}`)},
	}
	if err := s.PutTargets(ctx, first); err != nil {
		t.Fatal(err)
	}
	// A second import replaces the targets it names and keeps the others.
	if err := s.PutTargets(ctx, []store.TargetRecord{{Flow: "ewallet", Area: "vo-nhai", JSON: []byte(`{"pct":60}`)}}); err != nil {
		t.Fatal(err)
	}
	want := []store.TargetRecord{
		{Flow: "ewallet", Area: "thai-nguyen", JSON: []byte(`{"pct":80,"note":"15+"}`)},
		{Flow: "ewallet", Area: "vo-nhai", JSON: []byte(`{"pct":60}`)},
		{Flow: "vneid", Area: "vo-nhai", JSON: []byte(`{"pct":30}`)},
	}
	got, err = s.Targets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "targets", want, got)

	for _, bad := range [][]store.TargetRecord{
		{{Flow: "qr-pay", Area: "vo-nhai", JSON: []byte(`{}`)}, {Flow: "qr|pay", Area: "vo-nhai", JSON: []byte(`{}`)}},
		{{Flow: "qr-pay", Area: "vo-nhai", JSON: []byte(`{}`)}, {Flow: "qr-pay", Area: "", JSON: []byte(`{}`)}},
		{{Flow: "qr-pay", Area: "vo-nhai", JSON: []byte(`{}`)}, {Flow: "qr-pay", Area: "than-sa", JSON: []byte(`{not json`)}},
		{{Flow: "qr-pay", Area: "vo-nhai", JSON: []byte(`{}`)}, {Flow: "qr-pay", Area: "vo-nhai", JSON: []byte(`{}`)}},
	} {
		if err := s.PutTargets(ctx, bad); err == nil {
			t.Errorf("PutTargets(%s/%s) succeeded", bad[1].Flow, bad[1].Area)
		}
	}
	got, err = s.Targets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	diff(t, "targets after refused batches", want, got)
}

// testAreaCodes: every hamlet gets a code, first its first candidate; a
// code is unique and kept, through edits, imports and a later hamlet that
// derives the same code; replicas giving codes at once agree.
func testAreaCodes(t *testing.T, s *store.Redis) {
	ctx := t.Context()
	first := func(id string) string { return flows.HamletCodeCandidates(id, 1)[0] }
	// Two ids whose first candidates are the same code.
	var a, b string
	byCode := map[string]string{}
	for i := 0; a == ""; i++ {
		id := fmt.Sprintf("ac-h%d", i)
		if other, ok := byCode[first(id)]; ok {
			a, b = other, id
		}
		byCode[first(id)] = id
	}
	seed := []flows.Area{
		{ID: "ac-c", Level: flows.LevelCommune, Name: "Xã"},
		{ID: a, Level: flows.LevelHamlet, Name: "Xóm A", ParentID: "ac-c"},
		{ID: "ac-x", Level: flows.LevelHamlet, Name: "Xóm X", ParentID: "ac-c", Unassigned: true},
	}
	if _, err := s.SeedAreas(ctx, seed); err != nil {
		t.Fatal(err)
	}
	codes := func() map[string]string {
		t.Helper()
		m := map[string]string{}
		seen := map[string]string{}
		for _, x := range areas(t, s) {
			if x.Level != flows.LevelHamlet {
				if x.Code != "" {
					t.Errorf("%s, a %s, has the code %q", x.ID, x.Level, x.Code)
				}
				continue
			}
			if c, ok := flows.HamletCodeOf(x.Code); !ok || c != x.Code {
				t.Errorf("%s has the code %q, not a hamlet code", x.ID, x.Code)
			}
			if other, ok := seen[x.Code]; ok {
				t.Errorf("%s and %s share the code %s", other, x.ID, x.Code)
			}
			seen[x.Code] = x.ID
			m[x.ID] = x.Code
		}
		return m
	}
	got := codes()
	diff(t, "first codes", map[string]string{a: first(a), "ac-x": first("ac-x")}, got)
	diff(t, "read again", got, codes())

	// An edit, an import and a hamlet added later whose first code is a's.
	if err := s.PutArea(ctx, flows.Area{ID: a, Level: flows.LevelHamlet, Name: "Xóm A mới", ParentID: "ac-c"}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutAreas(ctx, []flows.Area{{ID: b, Level: flows.LevelHamlet, Name: "Xóm B", ParentID: "ac-c"}}); err != nil {
		t.Fatal(err)
	}
	got = codes()
	diff(t, "a keeps its code", first(a), got[a])
	diff(t, "b takes its second", flows.HamletCodeCandidates(b, 2)[1], got[b])
	raw, err := s.Client().HGet(ctx, s.Keys().Areas(), a).Result()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(raw, got[a]) {
		t.Errorf("the area's JSON holds its code: %s", raw)
	}

	// Replicas reading at once, with many hamlets new.
	var batch []flows.Area
	for i := range 200 {
		batch = append(batch, flows.Area{ID: fmt.Sprintf("ac-n%d", i), Level: flows.LevelHamlet, Name: "Xóm", ParentID: "ac-c"})
	}
	if err := s.PutAreas(ctx, batch); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	results := make([][]flows.Area, 4)
	for i := range results {
		wg.Go(func() {
			var err error
			if results[i], err = s.Areas(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	for i := range results[1:] {
		diff(t, "replicas agree", results[0], results[i+1])
	}
	all := codes()
	diff(t, "hamlets with codes", 203, len(all))
	diff(t, "a still", first(a), all[a])
}
