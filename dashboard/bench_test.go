package dashboard_test

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/hangxomso/hangxom/content"
	"github.com/hangxomso/hangxom/dashboard"
	"github.com/hangxomso/hangxom/dashboard/chart"
	"github.com/hangxomso/hangxom/desk"
	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/locales"
	"github.com/hangxomso/hangxom/store"
)

// The pages at province scale (issue 20: ≤ 50 ms and ≤ 2 Redis round trips
// per page for 1,000 hamlets): 20 communes of 50 hamlets, the shipped
// guides, a year of counts, funnels, stalled residents and help requests
// in every hamlet, and the sweep's stalled snapshot as serve keeps it.
//
//	go test ./dashboard -run '^$' -bench Pages -benchtime 20x
//	TEST_REDIS_URL=redis://127.0.0.1:6379/0 go test ./dashboard -run '^$' -bench Pages
//
// ns/op is the server's time for a page, from the request to its last byte;
// trips/op the Redis round trips it took (store.RoundTrips).

const (
	bigCommunes   = 20
	bigPerCommune = 50
)

// bigPages are the pages measured, as whom: tg:1 is a configured
// coordinator of the province, tg:5 a team member of two hamlets.
var bigPages = []struct {
	name, who, path string
	maxTrips        int64 // TestPagesRoundTripsFor1000Hamlets's bound
}{
	{"overview/province", "tg:1", "/d/", 2},
	{"overview/commune", "tg:1", "/d/?area=xa-03", 2},
	{"commune-flow", "tg:1", "/d/c/xa-03/f/ewallet", 3},
	{"hamlet", "tg:1", "/d/h/xa-03-h07", 3},
	{"hamlet/team", "tg:5", "/d/h/xa-03-h07", 4},
	{"chart.png", "tg:1", "/d/h/xa-03-h07/chart/ewallet/funnel.png", 3},
}

// newBigWorld builds the province on TEST_REDIS_URL (flushed first) when
// set, else on miniredis; trips counts every round trip of its client.
func newBigWorld(tb testing.TB, months int) (*world, *store.RoundTrips) {
	tb.Helper()
	var c *redis.Client
	if u := os.Getenv("TEST_REDIS_URL"); u != "" {
		opt, err := redis.ParseURL(u)
		if err != nil {
			tb.Fatal(err)
		}
		c = redis.NewClient(opt)
		if err := c.FlushDB(tb.Context()).Err(); err != nil {
			tb.Fatal(err)
		}
	} else {
		c = redis.NewClient(&redis.Options{Addr: miniredis.RunT(tb).Addr()})
	}
	tb.Cleanup(func() { _ = c.Close() })
	trips := &store.RoundTrips{}
	c.AddHook(trips)
	w := &world{t: tb, now: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)}
	clock := flows.ClockFunc(func() time.Time { return w.now })
	w.st = store.New(c, store.Options{Prefix: "big:v1", DataKey: []byte("k"), Clock: clock})
	lib, _, _, err := content.Load(content.FS, locales.FS)
	if err != nil {
		tb.Fatal(err)
	}
	bundle, err := locales.NewBundle(locales.FS)
	if err != nil {
		tb.Fatal(err)
	}
	loc := locales.NewLocalizer(bundle)
	areas := []flows.Area{{ID: "prov", Level: flows.LevelProvince, Name: "Tỉnh Thái Nguyên"}}
	var hamlets []string
	for i := range bigCommunes {
		cm := fmt.Sprintf("xa-%02d", i)
		areas = append(areas, flows.Area{ID: cm, Level: flows.LevelCommune, ParentID: "prov", Name: fmt.Sprintf("Xã Nghinh Tường số %02d", i)})
		for j := range bigPerCommune {
			hh := 100 + j
			id := fmt.Sprintf("%s-h%02d", cm, j)
			hamlets = append(hamlets, id)
			areas = append(areas, flows.Area{ID: id, Level: flows.LevelHamlet, ParentID: cm,
				Name: fmt.Sprintf("Tổ dân phố số %d (Khu tái định cư Đình Cả)", j), Households: &hh})
		}
	}
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatal(err)
	}
	links := &dashboard.Links{Store: w.st, BaseURL: u, Clock: clock}
	w.desk = &desk.Desk{Store: w.st, Areas: flows.NewAreaIndex(areas), Loc: loc, FollowUp: w.st, Library: lib,
		WaitExpiry: 72 * time.Hour, Coordinators: []string{"tg:1"},
		Stats:     desk.Stats{Counts: w.st, Funnels: w.st, Views: w.st, Since: "2026-01"},
		Dashboard: links}
	w.svc = &flows.Service{Engine: &flows.Engine{Library: lib, Areas: w.desk.Areas, Loc: loc}, Store: w.st, Clock: clock, Desk: w.desk}
	charts, err := chart.New()
	if err != nil {
		tb.Fatal(err)
	}
	w.srv = &dashboard.Server{Store: w.st, Desk: w.desk, Library: lib, Loc: loc, Charts: charts, BaseURL: u, Clock: clock}
	w.h = w.srv.Handler()
	if err := w.st.PutMember(tb.Context(), flows.Member{ID: "tg:5", Role: flows.RoleTeam, Areas: []string{"xa-03-h07", "xa-04-h01"}}); err != nil {
		tb.Fatal(err)
	}
	seedBig(tb, w, c, lib, hamlets, months)
	return w, trips
}

// seedBig writes the last months of the year of each hamlet's counts and funnels of every
// guide, five stalled residents per guide and two open help requests.
func seedBig(tb testing.TB, w *world, c *redis.Client, lib *flows.Library, hamlets []string, months int) {
	tb.Helper()
	ctx := tb.Context()
	k := w.st.Keys()
	old := float64(w.now.Add(-100 * time.Hour).UnixMilli())
	for hi, h := range hamlets {
		p := c.Pipeline()
		for fi, f := range lib.Flows() {
			for m := 13 - months; m <= 12; m++ {
				month := fmt.Sprintf("2026-%02d", m)
				p.HSet(ctx, k.MonthCounts(h, month), f.ID+":started", 10+m, f.ID+":completed_self", 5+m%4, f.ID+":completed_team", 2, f.ID+":help", 1)
				fields := []any{}
				for si, st := range f.Steps {
					fields = append(fields, st.ID, max(1, 12+m-si))
				}
				p.HSet(ctx, k.Funnel(h, f.ID, month), fields...)
			}
			for r := range 5 {
				ps := "p" + strconv.Itoa(hi) + "-" + strconv.Itoa(fi) + "-" + strconv.Itoa(r)
				p.ZAdd(ctx, k.Open(h, f.ID), redis.Z{Score: old, Member: ps})
				p.HSet(ctx, k.FunnelAt(h, f.ID), ps, f.Steps[(r*3)%len(f.Steps)].ID)
			}
			p.XAdd(ctx, &redis.XAddArgs{Stream: k.Helps(h), Values: map[string]any{"flow": f.ID, "step": f.Steps[1].ID, "at": "2026-11-20T08:00:00Z"}})
		}
		if _, err := p.Exec(ctx); err != nil {
			tb.Fatal(err)
		}
		for r := range 2 {
			req := flows.HelpRequest{ID: h + "-r" + strconv.Itoa(r), Hamlet: h, Flow: "ewallet", Step: "intro", Resident: "tg:9",
				At: w.now.Add(-time.Duration(r+1) * time.Hour), Status: flows.HelpOpen}
			if _, err := w.st.CreateHelp(ctx, req); err != nil {
				tb.Fatal(err)
			}
		}
	}
	var ids []string
	for _, f := range lib.Flows() {
		ids = append(ids, f.ID)
	}
	if _, err := w.st.Sweep(ctx, w.now, store.SweepOptions{StalledAfter: w.desk.WaitExpiry, Hamlets: hamlets, Flows: ids}); err != nil {
		tb.Fatal(err)
	}
}

func BenchmarkPages(b *testing.B) {
	w, trips := newBigWorld(b, 12)
	sessions := map[string]*http.Cookie{}
	for _, p := range bigPages {
		if sessions[p.who] == nil {
			sessions[p.who] = w.login(w.link(p.who))
		}
	}
	for _, p := range bigPages {
		b.Run(p.name, func(b *testing.B) {
			before := trips.Total()
			for b.Loop() {
				if rec := w.do("GET", p.path, nil, sessions[p.who]); rec.Code != http.StatusOK {
					b.Fatalf("%s: %d", p.path, rec.Code)
				}
			}
			b.ReportMetric(float64(trips.Total()-before)/float64(b.N), "trips/op")
		})
	}
}

// TestPagesRoundTripsFor1000Hamlets keeps each page's round trips at what
// BenchmarkPages measured (the bounds in bigPages), whatever the number of
// hamlets, guides and months.
func TestPagesRoundTripsFor1000Hamlets(t *testing.T) {
	if testing.Short() {
		t.Skip("builds 1,000 hamlets")
	}
	// Two months of data: the round trips do not depend on them, and the
	// seeding is most of the test's time.
	w, trips := newBigWorld(t, 2)
	sessions := map[string]*http.Cookie{}
	for _, p := range bigPages {
		if sessions[p.who] == nil {
			sessions[p.who] = w.login(w.link(p.who))
		}
	}
	for _, p := range bigPages {
		before := trips.ByOp()
		n := trips.Total()
		rec := w.do("GET", p.path, nil, sessions[p.who])
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d", p.name, rec.Code)
		}
		if got := trips.Total() - n; got > p.maxTrips {
			after := trips.ByOp()
			for op := range before {
				after[op] -= before[op]
			}
			t.Errorf("%s took %d round trips, want at most %d: %v", p.name, got, p.maxTrips, after)
		}
	}
}
