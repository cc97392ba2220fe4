package storetest

import (
	"fmt"
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
	diff(t, "after PutAreas", want, areas(t, s))

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
		diff(t, tt.name+": areas unchanged", want, areas(t, s))
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
