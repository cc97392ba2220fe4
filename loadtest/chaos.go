package loadtest

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/store"
)

// ChaosEvents are the chaos phase's events, in the order they run.
// double-tap, no fault of Redis or the bots, is not in DefaultChaos: each
// resident taps their next button twice at once, as a person may.
var ChaosEvents = []string{"failover", "kill-master", "kill-bot", "double-tap"}

// DefaultChaos are the events run unless others are named.
var DefaultChaos = ChaosEvents[:3]

// ChaosOptions are the chaos phase's settings (Options.Chaos).
type ChaosOptions struct {
	// Residents each walk the ewallet guide to its end.
	Residents int
	// Events are those of ChaosEvents to run, in their order.
	Events []string
	// First is when the first event comes, from the residents' start;
	// Gap is the time between events.
	First, Gap time.Duration
	// Think is how long a resident reads a screen before tapping.
	Think time.Duration
	// TapAgain: a tap with no answer within it is tapped again.
	TapAgain time.Duration
	// Deadline: a resident not at the guide's end this long after the
	// last event is stuck.
	Deadline time.Duration
	// AOFLoss is how much of the killed master's AOF is cut before its
	// restart (kill-master): the data a power cut loses under
	// appendfsync everysec. Zero: a bare SIGKILL, which loses nothing the
	// process had written to the file.
	AOFLoss time.Duration
	// LogLevel is the bots' LOG_LEVEL (default warn).
	LogLevel string
}

// Texts the chaos residents read (locales/*.vi.toml; TestChaosTexts
// checks them against the files).
const (
	// oldButtonText starts common.stale_button: a tap on a button of an
	// earlier screen.
	oldButtonText = "Nút đó ở tin nhắn cũ"
	// guideDoneText starts ewallet.done: the guide's end.
	guideDoneText = "🎉 Chúc mừng bác đã có tài khoản thanh toán điện tử"
	// lostWriteLog is what a bot logs (WARN) when a resident taps a screen
	// newer than their stored session: Redis lost writes.
	lostWriteLog = "redis lost writes"
)

// botLockTTL is how long a lock of a killed replica, or one whose release
// was lost with Redis's writes, holds a resident's turns and sends
// (store.Options.LockTTL's default).
const botLockTTL = 10 * time.Second

// lossLogs are the bot log lines that say a reply may be lost: the reply
// was attempted by a replica that died or lost its answer, and is not
// repeated (delivery's at-most-once).
var lossLogs = []string{"reply not repeated after an uncertain attempt", "send outcome unknown; not repeated"}

// chaosResident is one resident of the chaos run and what befell them.
type chaosResident struct {
	*Resident
	started     bool // tapped the guide's button at the menu
	finished    time.Time
	taps        int // updates sent, retaps included
	retaps      int // taps again after no answer
	lostAt      []time.Time
	stale       int  // "old button" answers to a first tap
	behind      int  // of them, with the bot's session behind the tapped screen
	staleRetap  int  // to a tap made again (or the second of a double tap)
	late        bool // the guide's end came after the deadline, as the sends settled
	streak, max int  // consecutive "old button" answers
	doubled     bool // tapped twice at once (double-tap)
	answeredAt  []time.Time
}

// turns counts, for each screen a resident tapped forward on (its text),
// the screens that answered it: every resident walks the same way, so all
// but one answer per screen are wrong turns.
type turns struct {
	mu sync.Mutex
	m  map[string]map[string]int
}

func (t *turns) add(from, to string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[string]map[string]int{}
	}
	if t.m[from] == nil {
		t.m[from] = map[string]int{}
	}
	t.m[from][to]++
}

// wrong counts the answers that are not the most frequent one of their
// screen.
func (t *turns) wrong() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, tos := range t.m {
		most, all := 0, 0
		for _, c := range tos {
			most, all = max(most, c), all+c
		}
		n += all - most
	}
	return n
}

// chaosEvent is one event as it ran.
type chaosEvent struct {
	name     string
	at       time.Duration // from the start
	from, to time.Time     // the window in which writes may be lost
	what     string
}

// replicas are the bots' webhook URLs; a restarted one changes.
type replicas struct {
	mu   sync.Mutex
	urls []string
	rng  *mrand.Rand
}

// order returns the URLs, starting with one picked at random.
func (r *replicas) order() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := slices.Clone(r.urls)
	i := r.rng.IntN(len(out))
	return append(out[i:], out[:i]...)
}

func (r *replicas) set(i int, url string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.urls[i] = url
}

// chaos: residents chatting through two serve replicas on a Sentinel
// setup of the phase's own while the master is failed over, then killed
// and restarted, and a bot replica killed and restarted.
func (r *runner) chaos(ctx context.Context, o ChaosOptions) error {
	if o.LogLevel == "" {
		o.LogLevel = "warn"
	}
	dir, err := os.MkdirTemp("", "hangxom-chaos-")
	if err != nil {
		return err
	}
	if r.keep {
		defer fmt.Fprintf(r.out, "the chaos run's files (Redis nodes, sentinel, bot logs, residents.txt) kept in %s\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	// go-redis prints the Sentinel's notices (a new master) to stderr: the
	// report says what happened, in its place.
	redis.SetLogger(store.LibraryLogger{})
	sen, err := StartSentinel(ctx, dir)
	if err != nil {
		return err
	}
	defer sen.Stop()
	client, err := store.Connect(store.ConnectConfig{SentinelAddrs: sen.Addrs(), MasterName: SentinelMaster})
	if err != nil {
		return err
	}
	defer client.Close()
	prefix := r.prefix + "c"
	st := store.New(client, store.Options{Prefix: prefix + ":v1", DataKey: []byte(dataKey)})
	if err := st.PutAreas(ctx, r.areas); err != nil {
		return err
	}
	fmt.Fprintf(r.out, "Sentinel setup of the phase's own: master %s and replica %s (appendonly yes, appendfsync everysec), one sentinel %s (quorum 1, down-after %s, failover-timeout 5 s)\n",
		sen.Nodes[0].Addr, sen.Nodes[1].Addr, sen.Sentinel.Addr, secs(sen.DownAfter))

	r.api.SetLimits(Limits{ChatRate: 1, ChatBurst: 3, GlobalRate: 30})
	defer r.api.SetLimits(Limits{})
	r.api.KeepLog(true)
	defer r.api.KeepLog(false)
	var secret [16]byte
	_, _ = rand.Read(secret[:])
	env := []string{"REDIS_URL=", "REDIS_SENTINEL_ADDRS=" + strings.Join(sen.Addrs(), ","), "REDIS_MASTER_NAME=" + SentinelMaster,
		"WEBHOOK_SECRET=" + hex.EncodeToString(secret[:]), "LOG_LEVEL=" + o.LogLevel}
	bots := make([]*bot, 2)
	var dead []*bot // killed replicas: their logs count too
	for i := range bots {
		if bots[i], err = r.startBot(ctx, prefix, env...); err != nil {
			return err
		}
	}
	defer func() {
		for _, b := range bots {
			if b != nil {
				b.stop()
			}
		}
	}()
	reps := &replicas{rng: mrand.New(mrand.NewPCG(17, 18))}
	for _, b := range bots {
		reps.urls = append(reps.urls, "http://"+b.http+"/telegram")
	}
	fmt.Fprintf(r.out, "two `hangxom serve` replicas on it (REDIS_SENTINEL_ADDRS, LOG_LEVEL=%s), each update posted to one at random and to the other when it fails, as Telegram delivers again\n", o.LogLevel)
	fmt.Fprintf(r.out, "%d residents each walk ewallet to its end, reading each answer %s, then tapping the newest screen's forward button; tapping again when nothing came within %s; Telegram's pace: the bot's default SEND_RATE_CHAT, the fake's flood limits 1 message/s a chat (bursts of 3), 30/s in all\n",
		o.Residents, secs(o.Think), secs(o.TapAgain))

	residents := make([]*chaosResident, o.Residents)
	for i, res := range r.newResidents(o.Residents) {
		residents[i] = &chaosResident{Resident: res}
	}
	start := time.Now()
	last := o.First + o.Gap*time.Duration(max(len(o.Events)-1, 0))
	wctx, cancel := context.WithDeadline(ctx, start.Add(last+o.Deadline))
	defer cancel()
	var wg sync.WaitGroup
	double := new(atomic.Bool)
	tr := new(turns)
	for _, cr := range residents {
		wg.Add(1)
		go func() { defer wg.Done(); r.chaosWalk(wctx, cr, reps, o, double, tr) }()
	}

	// The events, in order, each at its time.
	var events []chaosEvent
	var evErr error
	for i, name := range o.Events {
		at := o.First + o.Gap*time.Duration(i)
		select {
		case <-time.After(time.Until(start.Add(at))):
		case <-wctx.Done():
		}
		if wctx.Err() != nil {
			break
		}
		ev := chaosEvent{name: name, at: time.Since(start)}
		switch name {
		case "failover":
			ev.from = time.Now()
			from, to, err := sen.Failover(ctx)
			if err != nil {
				evErr = err
				break
			}
			done := time.Now()
			// The clients move on the sentinel's +switch-master message
			// or their first error: writes to the old master until it is
			// made a replica are lost, among them the release of a lock
			// the new master has: it holds until it expires (LockTTL).
			ev.to = done.Add(botLockTTL)
			ev.what = fmt.Sprintf("SENTINEL FAILOVER: master %s → %s, reported by the sentinel and ROLE master after %s", from.Addr, to.Addr, secs(done.Sub(ev.from)))
		case "kill-master":
			ev.from = time.Now().Add(-o.AOFLoss - 100*time.Millisecond)
			m, cut, err := sen.KillMaster(ctx, o.AOFLoss)
			if err != nil {
				evErr = err
				break
			}
			killed := time.Now()
			if err := sen.RestartNode(ctx, m); err != nil {
				evErr = err
				break
			}
			up := time.Now()
			// The state it came back with may hold locks taken in the lost
			// second (a resident's turn or send lock): they hold until they
			// expire, the store's LockTTL.
			ev.to = up.Add(botLockTTL)
			lost := fmt.Sprintf("its AOF cut back to its size %s before (%d bytes: what a power cut loses under appendfsync everysec; SIGKILL alone loses nothing written)", secs(o.AOFLoss), cut)
			if o.AOFLoss == 0 {
				lost = "its AOF as SIGKILL left it"
			}
			// Give the sentinel its down-after to decide, then say who
			// is the master.
			time.Sleep(sen.DownAfter + 500*time.Millisecond)
			now, err := sen.Master(ctx)
			after := "came back as the master before the sentinel's down-after (" + secs(sen.DownAfter) + "): the writes of the cut are lost"
			switch {
			case err != nil:
				after = "the sentinel's master unknown: " + err.Error()
			case now != m:
				after = "the sentinel failed over to " + now.Addr + " first: the restarted node is its replica, the writes of the cut kept"
			}
			ev.what = fmt.Sprintf("SIGKILL of the master %s, %s, restarted on its port %s after the kill (answering in %s); it %s",
				m.Addr, lost, secs(killed.Sub(ev.from.Add(o.AOFLoss+100*time.Millisecond))), secs(up.Sub(killed)), after)
		case "double-tap":
			double.Store(true)
			ev.from, ev.to = time.Now(), time.Now()
			ev.what = "each resident taps their next button twice at once (two updates), as a person may; no fault"
		case "kill-bot":
			i := 1
			b := bots[i]
			// Its counters, read before it dies.
			b.lastMetrics = chaosCounters(ctx, r.hc, b)
			ev.from = time.Now().Add(-2 * time.Second)
			b.kill()
			killed := time.Now()
			dead = append(dead, b)
			bots[i] = nil
			time.Sleep(time.Second)
			nb, err := r.startBot(ctx, prefix, env...)
			if err != nil {
				evErr = err
				break
			}
			bots[i] = nb
			reps.set(i, "http://"+nb.http+"/telegram")
			ev.what = fmt.Sprintf("SIGKILL of bot replica %d, started again 1 s later (answering %s after the kill)", i+1, secs(time.Since(killed)))
			// What it held (a resident's send lock, a claimed reply) is
			// free when its lock expires: the store's LockTTL, 10 s.
			ev.to = killed.Add(botLockTTL)
		}
		if evErr != nil {
			break
		}
		events = append(events, ev)
		fmt.Fprintf(r.out, "%s: %s: %s\n", secs(ev.at), name, ev.what)
	}
	if evErr != nil {
		cancel()
		wg.Wait()
		return evErr
	}
	wg.Wait()
	end := time.Since(start)

	// Every reply sent, every effect applied, before the counts are read.
	k := st.Keys()
	settle := time.Now().Add(30 * time.Second)
	for time.Now().Before(settle) {
		a, err1 := client.ZCard(ctx, k.OutboxIndex()).Result()
		b, err2 := client.ZCard(ctx, k.Work()).Result()
		if err1 == nil && err2 == nil && a == 0 && b == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	completed, err := completions(ctx, st, r.areas, "ewallet")
	if err != nil {
		return err
	}

	var finished, late, looping, stuck, staleFirst, behind, staleRetap, lost, lostIn, taps, inWindow, twice, twiceIn int
	var longest []int
	lastDone := time.Duration(0)
	in := func(t time.Time) bool {
		for _, ev := range events {
			if !t.Before(ev.from) && !t.After(ev.to) {
				return true
			}
		}
		return false
	}
	for _, cr := range residents {
		log := r.api.ChatLog(cr.Chat, 0)
		switch {
		case !cr.finished.IsZero():
			finished++
			lastDone = max(lastDone, cr.finished.Sub(start))
		case slices.ContainsFunc(log, func(e Entry) bool { return strings.HasPrefix(e.Text, guideDoneText) }):
			cr.late = true
			late++
			stuck++
		default:
			stuck++
			if oldButtonLoop(log) {
				looping++
			}
		}
		staleFirst += cr.stale
		behind += cr.behind
		staleRetap += cr.staleRetap
		longest = append(longest, cr.max)
		lost += len(cr.lostAt)
		for _, t := range cr.lostAt {
			if in(t) {
				lostIn++
			}
		}
		taps += cr.taps
		for _, t := range cr.answeredAt {
			if in(t) {
				inWindow++
			}
		}
		for _, first := range sentTwice(log) {
			twice++
			if in(first) {
				twiceIn++
			}
		}
	}
	lostLines, lossLines := 0, 0
	var seen, streaks float64
	for _, b := range append(slices.Clone(dead), bots...) {
		if b == nil {
			continue
		}
		log := b.fullLog()
		lostLines += strings.Count(log, lostWriteLog)
		for _, l := range lossLogs {
			lossLines += strings.Count(log, l)
		}
		m := b.lastMetrics
		if slices.Contains(bots, b) {
			m = chaosCounters(ctx, r.hc, b)
		}
		seen += m[0]
		streaks += m[1]
	}
	if err := r.chaosFiles(ctx, dir, st, residents, bots, dead); err != nil {
		fmt.Fprintf(r.out, "residents.txt and the bot logs not written: %v\n", err)
	}

	fmt.Fprintf(r.out, "residents at the guide's end: %d of %d (the last at %s; the run ended at %s)\n", finished, len(residents), secs(lastDone), secs(end))
	fmt.Fprintf(r.out, "residents stuck (not at the guide's end %s after the last event, no bot restarted but the scripted one): %d (%d of them in an \"old button\" loop: 3 of the chat's last 6 messages or more, %d reached the end as the sends settled)  goal 0: %s\n",
		secs(o.Deadline), stuck, looping, late, r.verdict(stuck == 0, "chaos: no resident stuck"))
	slices.Sort(longest)
	slices.Reverse(longest)
	fmt.Fprintf(r.out, "longest run of consecutive \"old button\" answers (%q…): %d; per resident, longest first: %s\n",
		oldButtonText, longest[0], joinInts(longest))
	fmt.Fprintf(r.out, "\"old button\" answers to a first tap: %d; of them with the bot's session behind the tapped screen (a lost write: the screen drawn again is one shown before the tapped one): %d, ahead of it (a newer screen was on its way): %d; to a tap made again or the second of a double tap: %d\n",
		staleFirst, behind, staleFirst-behind, staleRetap)
	wrong := tr.wrong()
	fmt.Fprintf(r.out, "wrong turns (a forward tap answered by another screen than the one every other such tap led to: the tap run on another screen's buttons): %d  goal 0: %s\n",
		wrong, r.verdict(wrong == 0, "chaos: no wrong turn"))
	fmt.Fprintf(r.out, "completions in the hamlets' counts (ewallet, first completions): %d; residents whose chat shows the guide's end once the sends settled: %d (%d of them after the deadline)  goal equal: %s\n",
		completed, finished+late, late, r.verdict(completed == int64(finished+late), "chaos: completions counted = residents finished"))
	fmt.Fprintf(r.out, "replies sent twice (a screen sent again: the same text and buttons; messages without buttons not judged): %d, of them first sent in a lost window (its \"sent\" marks lost with Redis's writes: at-most-once rests on them): %d  goal none outside a window: %s\n",
		twice, twiceIn, r.verdict(twice == twiceIn, "chaos: no reply twice outside a lost window"))
	fmt.Fprintf(r.out, "replies lost (taps answered by nothing within %s, tapped again): %d, of them in a lost window: %d; taps %d, answered 200 in a lost window: %d (windows: %s)  goal every lost one in a window: %s\n",
		secs(o.TapAgain), lost, lostIn, taps, inWindow, windows(events, start),
		r.verdict(lost == lostIn && lost <= inWindow, "chaos: replies lost only in a lost window"))
	fmt.Fprintf(r.out, "lost writes logged: %d %q lines in the bots' logs; \"old button\" answers with the session behind: %d  goal each logged: %s; replies the bots logged as not repeated (a replica died or lost its answer mid-send): %d\n",
		lostLines, lostWriteLog, behind, r.verdict(lostLines >= behind, "chaos: each lost write logged"), lossLines)
	fmt.Fprintf(r.out, "the bots' /metrics, summed over the replicas (0 when absent): hangxom_lost_writes_seen_total %.0f, hangxom_old_button_streaks_total %.0f\n", seen, streaks)
	return nil
}

// chaosWalk walks one resident through the ewallet guide to its end, or
// until ctx ends.
func (r *runner) chaosWalk(ctx context.Context, cr *chaosResident, reps *replicas, o ChaosOptions, double *atomic.Bool, tr *turns) {
	from := len(r.api.ChatLog(cr.Chat, 0))
	raw := cr.TextUpdate("/start h_" + cr.Hamlet)
	var again func() []byte // the last tap, as a new update
	retap := false
	var tappedOn string            // the text of the screen tapped
	seen := map[string]bool{}      // the screens' texts shown so far
	var seenBefore map[string]bool // those shown before the tapped one
	ahead := false                 // the last answer was an old-button one with the session ahead
	for ctx.Err() == nil {
		r.api.Note(cr.Chat, time.Now())
		cr.taps++
		at, ok := r.chaosPost(ctx, reps, raw)
		if !ok {
			return
		}
		cr.answeredAt = append(cr.answeredAt, at)
		if again != nil && !retap && !cr.doubled && double.Load() {
			cr.doubled, retap = true, true
			r.api.Note(cr.Chat, time.Now())
			cr.taps++
			if at, ok = r.chaosPost(ctx, reps, again()); !ok {
				return
			}
			cr.answeredAt = append(cr.answeredAt, at)
		}
		if !r.chaosAnswered(ctx, cr.Chat, from, o.TapAgain) {
			if ctx.Err() != nil {
				return
			}
			cr.lostAt = append(cr.lostAt, at)
			if again == nil {
				raw = cr.TextUpdate("/start h_" + cr.Hamlet)
			} else {
				raw = again()
			}
			cr.retaps++
			retap = true
			continue
		}
		// The guide's end is reached when it shows; otherwise the resident
		// reads, then looks at everything that came since the tap and taps
		// the newest screen: an answer that came late and the answer to
		// the tap made again may both be there.
		if !slices.ContainsFunc(r.api.ChatLog(cr.Chat, from), func(e Entry) bool { return strings.HasPrefix(e.Text, guideDoneText) }) {
			select {
			case <-ctx.Done():
				return
			case <-time.After(o.Think):
			}
		}
		answer := r.api.ChatLog(cr.Chat, from)
		from += len(answer)
		stale, done := false, false
		redrawn := "" // the text of the screen after the "old button" note
		var screen *Entry
		screens := 0
		for i, e := range answer {
			if e.Update {
				continue
			}
			if strings.HasPrefix(e.Text, oldButtonText) {
				stale = true
			}
			done = done || strings.HasPrefix(e.Text, guideDoneText)
			if len(e.Buttons) > 0 {
				screens++
				screen = &answer[i]
				if stale && redrawn == "" {
					redrawn = e.Text
				}
			}
		}
		switch {
		case stale && retap:
			cr.staleRetap++
		case stale:
			cr.stale++
			if behindOf(redrawn, tappedOn, seenBefore) {
				cr.behind++
			}
		}
		// ahead: this answer is an "old button" one with the session ahead
		// of the tapped screen, for the next turn's judging.
		wasAhead := ahead
		ahead = stale && !behindOf(redrawn, tappedOn, seenBefore)
		for _, e := range answer {
			if len(e.Buttons) > 0 {
				seen[e.Text] = true
			}
		}
		// A turn is judged only when its answer is one screen and the one
		// before was no "old button" answer with the session ahead (whose
		// screen drawn again was still on its way): nothing else pending,
		// that screen answers the tap.
		if !stale && !retap && screens == 1 && !wasAhead && tappedOn != "" {
			tr.add(tappedOn, screen.Text)
		}
		if stale {
			cr.streak++
			cr.max = max(cr.max, cr.streak)
		} else {
			cr.streak = 0
		}
		if done {
			cr.finished = time.Now()
			return
		}
		b := cr.forward(screen)
		if b == nil {
			return
		}
		m := *screen
		tappedOn = m.Text
		seenBefore = maps.Clone(seen)
		again = func() []byte { return cr.CallbackUpdate(m.ID, b.Data) }
		raw, retap = again(), false
	}
}

// behindOf tells whether an "old button" answer came from a session
// behind the screen the resident tapped (a lost write) rather than ahead of
// it (a newer screen on its way): behind, the screen drawn again is one the
// resident was shown before the tapped one, and not the tapped one; ahead,
// it is the newer screen, which the resident had not been shown (or, in an
// old-button loop, the same screen drawn again). Text, not keyboard
// numbers: a bot may number its keyboards after a lost write past the
// tapped one, or from the clock.
func behindOf(redrawn, tapped string, before map[string]bool) bool {
	return redrawn != "" && redrawn != tapped && before[redrawn]
}

// forward is the button that takes the resident on through the guide:
// ewallet's at the menu, else the first one but the help button.
func (cr *chaosResident) forward(m *Entry) *Button {
	for i, b := range m.Buttons {
		if !cr.started && strings.HasPrefix(b.Text, "💳") {
			cr.started = true
			return &m.Buttons[i]
		}
	}
	for i, b := range m.Buttons {
		if !strings.Contains(b.Text, "🙋") {
			return &m.Buttons[i]
		}
	}
	return nil
}

// chaosPost delivers raw to a replica picked at random, to the other when
// it fails, and again, as Telegram does, until one answers 200 or ctx
// ends; it returns when the 200 came.
func (r *runner) chaosPost(ctx context.Context, reps *replicas, raw []byte) (time.Time, bool) {
	for ctx.Err() == nil {
		for _, url := range reps.order() {
			if st, err := r.api.DeliverTo(ctx, r.hc, url, raw); err == nil && st == http.StatusOK {
				return time.Now(), true
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
	return time.Time{}, false
}

// chaosAnswered waits up to wait for a message with buttons in the chat
// after entry from.
func (r *runner) chaosAnswered(ctx context.Context, chat int64, from int, wait time.Duration) bool {
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		for _, e := range r.api.ChatLog(chat, from) {
			if len(e.Buttons) > 0 {
				return true
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// oldButtonLoop tells whether 3 or more of the last 6 messages of a chat
// are "old button" answers: a resident whose every tap lands on the screen
// before the newest (the answers' messages interleave with the taps, so
// the answers as the resident read them need not all show the note).
func oldButtonLoop(log []Entry) bool {
	n, seen := 0, 0
	for i := len(log) - 1; i >= 0 && seen < 6; i-- {
		if log[i].Update {
			continue
		}
		seen++
		if strings.HasPrefix(log[i].Text, oldButtonText) {
			n++
		}
	}
	return n >= 3
}

// sentTwice returns, for each screen (message with buttons) in a chat's
// log that equals, text and every button's data, one sent before, when
// that one was first sent: a keyboard's number is in its buttons' data,
// so each screen the bot draws is new, and a repeat is the same reply sent
// again. A message without buttons is not judged: the same words come
// again rightly (an "old button" answer to each of two taps), and one
// answer's messages may come after the resident's next update.
func sentTwice(log []Entry) []time.Time {
	var out []time.Time
	var screens []Entry
	afterNote := false // the last message sent was the "old button" note
	for _, e := range log {
		if e.Update {
			continue
		}
		note := afterNote
		afterNote = strings.HasPrefix(e.Text, oldButtonText)
		if len(e.Buttons) == 0 {
			continue
		}
		// The screen drawn again after the note is the answer to an old
		// tap, not a repeat: it keeps the current screen's buttons.
		if i := slices.IndexFunc(screens, func(p Entry) bool { return p.Text == e.Text && slices.Equal(p.Buttons, e.Buttons) }); i >= 0 && !note {
			out = append(out, screens[i].At)
		}
		screens = append(screens, e)
	}
	return out
}

// chaosCounters reads a bot's hangxom_lost_writes_seen_total and
// hangxom_old_button_streaks_total (0 when absent or unreadable).
func chaosCounters(ctx context.Context, hc *http.Client, b *bot) [2]float64 {
	var out [2]float64
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+b.metrics+"/metrics", nil)
	if err != nil {
		return out
	}
	resp, err := hc.Do(req)
	if err != nil {
		return out
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		for i, name := range []string{"hangxom_lost_writes_seen_total", "hangxom_old_button_streaks_total"} {
			rest, ok := strings.CutPrefix(line, name)
			if !ok || (rest != "" && rest[0] != ' ' && rest[0] != '{') {
				continue
			}
			f := strings.Fields(rest[strings.LastIndexByte(rest, '}')+1:])
			if len(f) > 0 {
				if v, err := strconv.ParseFloat(f[0], 64); err == nil {
					out[i] += v
				}
			}
		}
	}
	return out
}

// chaosFiles writes the bots' logs and, per resident, what became of them,
// their stored session and their chat, to dir (kept with --keep).
func (r *runner) chaosFiles(ctx context.Context, dir string, st *store.Redis, residents []*chaosResident, bots, dead []*bot) error {
	for i, b := range bots {
		if b != nil {
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("bot-%d.log", i+1)), []byte(b.fullLog()), 0o644); err != nil {
				return err
			}
		}
	}
	for i, b := range dead {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("bot-killed-%d.log", i+1)), []byte(b.fullLog()), 0o644); err != nil {
			return err
		}
	}
	var sb strings.Builder
	for _, cr := range residents {
		fmt.Fprintf(&sb, "== tg:%d finished=%v late=%v taps=%d retaps=%d stale=%d behind=%d stale-after-retap=%d longest=%d\n",
			cr.Chat, !cr.finished.IsZero(), cr.late, cr.taps, cr.retaps, cr.stale, cr.behind, cr.staleRetap, cr.max)
		s, err := st.Session(ctx, "tg:"+strconv.FormatInt(cr.Chat, 10))
		if err != nil {
			fmt.Fprintf(&sb, "session: %v\n", err)
		} else {
			fmt.Fprintf(&sb, "session: v=%d kbseq=%d stage=%s active=%s done=%v kb=%s\n", s.Version, s.KeyboardSeq, s.Stage, activeStep(s), len(s.Done) > 0, choices(s.Keyboard))
		}
		for _, e := range r.api.ChatLog(cr.Chat, 0) {
			t := e.At.Format("15:04:05.000")
			if e.Update {
				fmt.Fprintf(&sb, "%s  > update\n", t)
				continue
			}
			text := e.Text
			if rs := []rune(text); len(rs) > 50 {
				text = string(rs[:50]) + "…"
			}
			var data []string
			for _, b := range e.Buttons {
				data = append(data, b.Data)
			}
			fmt.Fprintf(&sb, "%s  < #%d %q %s\n", t, e.ID, text, strings.Join(data, " "))
		}
	}
	return os.WriteFile(filepath.Join(dir, "residents.txt"), []byte(sb.String()), 0o644)
}

func activeStep(s flows.Session) string {
	if s.Active == nil {
		return "-"
	}
	return s.Active.Flow + "/" + s.Active.Step
}

func choices(cs []flows.Choice) string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Data)
	}
	return strings.Join(out, " ")
}

func windows(events []chaosEvent, start time.Time) string {
	var out []string
	for _, ev := range events {
		out = append(out, fmt.Sprintf("%s %s–%s", ev.name, secs(ev.from.Sub(start)), secs(ev.to.Sub(start))))
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}

func secs(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + " s" }

func joinInts(ns []int) string {
	var out []string
	for _, n := range ns {
		out = append(out, strconv.Itoa(n))
	}
	return strings.Join(out, " ")
}
