package main

import (
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hangxomso/hangxom/bot/telegram/telegramtest"
	"github.com/hangxomso/hangxom/loadtest"
	"github.com/hangxomso/hangxom/store"
)

// TestBotAPIFaultsLoseNothing walks residents while the Bot API answers a
// tenth of the calls 500, throttles in bursts of 429, and loses answers
// after the call took effect: every resident sees exactly what they see
// from a healthy API, no reply lost, none twice.
func TestBotAPIFaultsLoseNothing(t *testing.T) {
	want, wantCounts := reference(t, residentsAtOnce)
	fake := telegramtest.NewServer(t, "")
	rng := rand.New(rand.NewPCG(3, 5))
	faults := map[string]int{}
	// editMessageReplyMarkup is now called only for a tap on an old
	// screen's button (docs/design/delivery-core.md §5, B), which this walk
	// does not make: its faults stay queued, unmet, and keep the others'
	// draws as they were.
	for _, method := range []string{"sendMessage", "editMessageReplyMarkup", "answerCallbackQuery"} {
		for i := 0; i < 400; i++ {
			var f telegramtest.Fault
			switch x := rng.Float64(); {
			case i%60 == 30:
				// A burst: the next three calls are throttled.
				fake.Fail(method, 3, telegramtest.Fault{Code: 429, RetryAfter: 1})
				faults["429"] += 3
				continue
			case x < 0.10:
				f = telegramtest.Fault{Code: 500}
				faults["500"]++
			case x < 0.15:
				f = telegramtest.Fault{LoseAnswer: true}
				faults["lost answer"]++
			}
			fake.Fail(method, 1, f)
		}
	}
	client, prefix := newRedisForTest(t)
	a := startServeAt(t, true, fake, client, prefix, nil)
	w := newWalker(t, fake, 5, a.webhook)
	w.crowd(0, residentsAtOnce)
	settleAll(t, client, prefix)
	sameAsReference(t, fake, client, prefix, want, wantCounts)
	var faulted int
	for _, c := range fake.Calls("") {
		if c.Faulted {
			faulted++
		}
	}
	if faulted == 0 {
		t.Fatal("no call met a fault: the test tested nothing")
	}
	t.Logf("Bot API faults queued %v; %d calls met one; every conversation and count equals a healthy run's", faults, faulted)
}

// startRedis starts a redis-server of the test's own with appendonly yes
// and appendfsync everysec; it is skipped without redis-server, except in
// CI, where that is a failure.
func startRedis(t *testing.T) *loadtest.RedisServer {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("redis-server must be installed when CI=true (see .ci/run)")
		}
		t.Skip("redis-server is not installed")
	}
	srv, err := loadtest.StartRedis(t.Context(), t.TempDir(), "--appendonly", "yes", "--appendfsync", "everysec")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	return srv
}

// TestRedisRestartUnderLoad stops Redis while residents are walking and
// starts it again: the bot keeps running, answers 503 meanwhile (Telegram
// delivers again), tells each resident at most once to wait, and recovers
// by itself; no update it acknowledged is lost.
func TestRedisRestartUnderLoad(t *testing.T) {
	want, wantCounts := reference(t, residentsAtOnce)
	srv := startRedis(t)
	client := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { _ = client.Close() })
	prefix := "restart:v1"
	fake := telegramtest.NewServer(t, "")
	a := startServeAt(t, true, fake, client, prefix, nil)
	w := newWalker(t, fake, 9, a.webhook)
	w.think = 250 * time.Millisecond // the walks outlast the outage
	done := make(chan struct{})
	go func() { w.crowd(0, residentsAtOnce); close(done) }()
	waitUpdates(t, w, 12)
	srv.Stop()
	stopped := time.Now()
	// Longer than a write's retries (go-redis tries a MULTI/EXEC again for
	// about 2 s while the server refuses connections): a shorter outage is
	// waited out, and the update is stored late rather than refused.
	time.Sleep(4 * time.Second)
	if err := srv.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()
	refusedBefore := w.refused.Load()
	<-done
	settleAll(t, client, prefix)
	// Effects whose application Redis's stop interrupted, for a resident with
	// no turn after it, are the sweep's (every minute in serve); run it now.
	st := store.New(client, store.Options{Prefix: prefix, DataKey: []byte("test-data-key-0123456789")})
	rep, err := st.Sweep(t.Context(), time.Now().Add(time.Hour), store.SweepOptions{})
	if err != nil {
		t.Fatal(err)
	}

	tryAgain, _ := a.tryAgainText()
	told := 0
	for i := range residentsAtOnce {
		chat := int64(i) + 1
		got := conversation(fake, chat)
		n := 0
		var rest []string
		for _, m := range got {
			if m == tryAgain {
				n++
				continue
			}
			rest = append(rest, m)
		}
		if n > 1 {
			t.Errorf("resident %d was told %d times to wait during one outage", chat, n)
		}
		told += n
		if !slices.Equal(rest, want[i]) {
			t.Errorf("resident %d saw (besides the wait notice):\n got %q\nwant %q", chat, rest, want[i])
		}
	}
	if got := hamletCounts(t, client, prefix); got != wantCounts {
		t.Errorf("counts %+v, want %+v", got, wantCounts)
	}
	if refusedBefore == 0 {
		t.Error("no update was refused while Redis was down: the outage missed the load")
	}
	if t.Failed() {
		return
	}
	t.Logf("Redis down %.1f s under load: %d posts answered 503 and posted again, %d residents told once to wait, "+
		"all finished after the restart (%s after it), the sweep applied %d effects the outage left, conversations and counts equal a healthy run's",
		restarted.Sub(stopped).Seconds(), w.refused.Load(), told, time.Since(restarted).Round(time.Millisecond), rep.Effects)
}

// tryAgainText is the notice a resident gets when Redis is down.
func (tt *tgTest) tryAgainText() (string, error) {
	a, err := openApp(tt.t.Context(), mustConfig(tt.t), appOptions{client: tt.client, prefix: tt.prefix}, io.Discard)
	if err != nil {
		return "", err
	}
	defer a.Close()
	return a.loc.Localize("vi", "common.try_again", nil)
}

func waitUpdates(t *testing.T, w *walker, n int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for w.nextID.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d updates in 30 s", w.nextID.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestKill9AReplicaUnderLoad runs two replicas, the first as a process of
// the real binary, kills it with SIGKILL while residents walk, and starts
// it again: no completion lost or counted twice, no reply sent twice, every
// resident goes on. Redis runs with appendonly yes, appendfsync everysec.
//
// Replies are sent at most once: a reply whose attempt was recorded by the
// killed replica just before its request left is not sent again (nobody
// can tell whether Telegram got it), so the resident may miss that one
// message; they tap again, get the step redrawn, and go on. Only such
// replies may be missed (one for each send the replica had in flight when
// it died, each logged by the replica that finds it); every other
// conversation must equal a healthy run's.
func TestKill9AReplicaUnderLoad(t *testing.T) {
	srv := startRedis(t)
	want, wantCounts := reference(t, residentsAtOnce)
	bin := filepath.Join(t.TempDir(), "hangxom")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	client := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { _ = client.Close() })
	const prefix = "kill9"
	fake := telegramtest.NewServer(t, "")
	addr := freePort(t)
	hook := "http://" + addr + "/tg/hook"
	logs := filepath.Join(t.TempDir(), "replica-a.log")
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "serve")
		cmd.Env = append(os.Environ(), "TELEGRAM_BOT_TOKEN="+fake.Token, "TELEGRAM_API_URL="+fake.URL,
			"WEBHOOK_URL="+hook, "WEBHOOK_SECRET="+walkSecret, "HTTP_LISTEN="+addr, "REDIS_URL="+srv.URL(),
			"KEY_PREFIX="+prefix, "DATA_KEY=test-data-key-0123456789", "SEND_RATE_CHAT=50,20", "LOG_LEVEL=debug")
		f, err := os.OpenFile(logs, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		cmd.Stdout, cmd.Stderr = f, f
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			if code := newWalker(t, fake, 0).post("http://"+addr+"/healthz", nil); code == 200 || code == 405 {
				return cmd
			}
			if time.Now().After(deadline) {
				b, _ := os.ReadFile(logs)
				t.Fatalf("replica A did not start:\n%s", b)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	procA := start()
	t.Cleanup(func() { _ = procA.Process.Kill(); _, _ = procA.Process.Wait() })
	b := startServeAt(t, true, fake, client, prefix+":v1", nil)

	w := newWalker(t, fake, 13, hook, b.webhook)
	w.dup = 0.2
	w.tapAgain = 25 * time.Second // past the dead replica's locks (10 s) and the recovery scan (10 s)
	done := make(chan struct{})
	go func() { w.crowd(0, residentsAtOnce); close(done) }()
	waitUpdates(t, w, 15)
	if err := procA.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_, _ = procA.Process.Wait()
	killedAt := w.nextID.Load()
	time.Sleep(time.Second)
	procA = start()
	<-done
	settleAll(t, client, prefix+":v1")

	// A reply may be missed only if the killed replica had marked its
	// attempt and died before it was known to have left: the replica that
	// drains that resident next says so, and does not repeat it. Every
	// resident who missed a reply must be one of those.
	uncertain := map[string]bool{}
	logA, _ := os.ReadFile(logs)
	for _, line := range strings.Split(string(logA)+"\n"+b.log.String(), "\n") {
		if !strings.Contains(line, "reply not repeated after an uncertain attempt") {
			continue
		}
		if _, rest, ok := strings.Cut(line, "resident="); ok {
			res, _, _ := strings.Cut(rest, " ")
			uncertain[res] = true
		}
	}
	twice := 0
	for i := range residentsAtOnce {
		chat := int64(i) + 1
		got := conversation(fake, chat)
		// A turn of two replies whose first was in flight goes on with the
		// second: the resident misses one and need not tap again. That is
		// allowed only for a resident with an uncertain attempt logged,
		// and only as a gap (the rest in order, nothing else).
		missedInFlight := uncertain["tg:"+strconv.FormatInt(chat, 10)] && len(got) < len(want[i]) && subsequence(got, want[i])
		if _, again := w.retapped.Load(chat); !again && !slices.Equal(got, want[i]) && !missedInFlight {
			t.Errorf("resident %d:\n got %q\nwant %q", chat, got, want[i])
		}
		seen := map[string]int{}
		for _, m := range want[i] {
			seen[m]--
		}
		for j, m := range got {
			// A redraw after a second tap repeats a step's words; a reply
			// sent twice comes twice in a row.
			if seen[m]++; seen[m] > 0 && j > 0 && got[j-1] == m {
				twice++
			}
		}
	}
	if got := hamletCounts(t, client, prefix+":v1"); got != wantCounts {
		t.Errorf("counts %+v, want %+v (a completion lost or counted twice)", got, wantCounts)
	}
	if twice > 0 {
		t.Errorf("%d replies sent twice", twice)
	}
	w.retapped.Range(func(k, _ any) bool {
		if chat := k.(int64); !uncertain["tg:"+strconv.FormatInt(chat, 10)] {
			t.Errorf("resident %d missed a reply whose attempt no replica found in flight: a reply lost", chat)
		}
		return true
	})
	if n := w.lost.Load(); n > int64(len(uncertain)) {
		t.Errorf("%d replies missed, but only %d attempts were in flight when the replica died", n, len(uncertain))
	}
	if t.Failed() {
		log, _ := os.ReadFile(logs)
		t.Logf("replica A's log:\n%s", lastLines(string(log), 60))
	}
	if t.Failed() {
		return
	}
	t.Logf("replica A killed with SIGKILL after update %d of %d and started again; %d posts refused and posted again; "+
		"every resident finished; %d replies missed, each one whose attempt was in flight (%d such attempts found), the other conversations and the counts equal a healthy run's; 0 replies twice",
		killedAt, w.nextID.Load(), w.refused.Load(), w.lost.Load(), len(uncertain))
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// subsequence reports whether a is b with some of its elements left out.
func subsequence(a, b []string) bool {
	j := 0
	for _, x := range b {
		if j < len(a) && a[j] == x {
			j++
		}
	}
	return j == len(a)
}
