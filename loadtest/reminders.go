package loadtest

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hangxomso/hangxom/flows"
)

// reminders: a team member reminds n residents; the fake enforces a global
// limit L and the bot is configured to L.
func (r *runner) reminders(ctx context.Context, n int, limit float64) error {
	prefix := r.prefix + "n"
	st := r.store(prefix)
	hamlet := r.hamlets[0]
	if err := st.PutAreas(ctx, r.areasFor(hamlet)); err != nil {
		return err
	}
	t0 := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	errc := make(chan error, 32)
	base := r.nextTG.Add(int64(n)) - int64(n)
	now := time.Now().Add(-time.Hour)
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) || ctx.Err() != nil {
					return
				}
				resident := "tg:" + strconv.FormatInt(base+i+1, 10)
				s := flows.Session{Lang: "vi", Commune: hamlet[:len("lt-xa-000")], Hamlet: hamlet, Seen: now,
					Active: &flows.Run{Flow: "ewallet", Step: "intro", Started: now, Last: now}}
				err := st.Commit(ctx, flows.Commit{Resident: resident, Session: s, Effects: []flows.Effect{
					{Kind: flows.EffectFiled, Hamlet: hamlet, At: now},
					{Kind: flows.EffectStarted, Flow: "ewallet", Hamlet: hamlet, At: now}}})
				if err == nil {
					err = st.ApplyEffects(ctx, resident)
				}
				if err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return err
	}
	member := r.nextTG.Add(1)
	if err := st.PutMember(ctx, flows.Member{ID: "tg:" + strconv.FormatInt(member, 10), Role: flows.RoleTeam, Areas: []string{hamlet}, Name: "Tổ", Since: now}); err != nil {
		return err
	}
	fmt.Fprintf(r.out, "seeded %d residents with ewallet unfinished in %s, and a team member, through the store in %s\n", n, hamlet, time.Since(t0).Round(time.Millisecond))

	b, err := r.startBot(ctx, prefix, "SEND_RATE_BULK="+strconv.FormatFloat(limit, 'f', -1, 64))
	if err != nil {
		return err
	}
	defer b.stop()
	r.api.SetLimits(Limits{GlobalRate: limit})
	defer r.api.SetLimits(Limits{})
	r.api.ResetBulk()
	team := &Resident{Chat: member}
	start := time.Now()
	status, err := r.api.Deliver(ctx, r.hc, team.TextUpdate("/remind"))
	if err != nil || status != http.StatusOK {
		return fmt.Errorf("/remind: status %d, %v\n%s", status, err, b.output())
	}
	fmt.Fprintf(r.out, "/remind answered by the webhook in %s\n", time.Since(start).Round(time.Millisecond))
	lastCount := int64(0)
	stall := time.Now()
	for {
		sent := r.api.BulkSent.Load()
		if sent != lastCount {
			lastCount, stall = sent, time.Now()
		}
		if sent >= int64(n) || time.Since(stall) > 30*time.Second {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	firstAt, lastAt := r.api.BulkSpan()
	thr := r.api.BulkThrottled.Load()
	lost, twice := 0, 0
	for i := 0; i < n; i++ {
		sent, texts := r.api.SentTo(base + int64(i) + 1)
		if sent == 0 {
			lost++
		}
		for _, c := range texts {
			if c > 1 {
				twice++
			}
		}
	}
	span := lastAt.Sub(firstAt).Seconds()
	rate := 0.0
	if span > 0 {
		rate = float64(lastCount-1) / span
	}
	share := float64(thr) / math.Max(1, float64(lastCount+thr))
	fmt.Fprintf(r.out, "reminders: %d of %d sent in %.1f s at %.1f/s with L = %.0f/s (%.1f%% of L)  goal ≥ 95%%: %s\n",
		lastCount, n, span, rate, limit, 100*rate/limit, r.verdict(rate >= 0.95*limit, "reminders at ≥ 95% of L"))
	fmt.Fprintf(r.out, "reminders lost: %d, sent twice: %d  goal 0: %s\n", lost, twice, r.verdict(lost == 0 && twice == 0, "no reminder lost or doubled"))
	fmt.Fprintf(r.out, "answered 429: %d (%.2f%% of attempts)  goal ≤ 1%%: %s\n", thr, 100*share, r.verdict(share <= 0.01, "≤ 1% of reminder sends answered 429"))
	return nil
}

// areasFor returns the province, the commune and the hamlet h, for a
// prefix of its own.
func (r *runner) areasFor(h string) []flows.Area {
	pop := 1000
	commune := h[:len("lt-xa-000")]
	return []flows.Area{
		{ID: commune, Level: flows.LevelCommune, Name: "Xã Thử", ParentID: "thai-nguyen"},
		{ID: h, Level: flows.LevelHamlet, Name: "Xóm 1", ParentID: commune, Population: &pop},
	}
}
