package main

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/hangxomso/hangxom/bot/telegram/telegramtest"
	"github.com/hangxomso/hangxom/store"
)

// The replica and fault tests drive several residents at once through the
// webhook of one or more serve replicas, as Telegram would: an update is
// posted again until some replica answers 200. Each resident walks a fixed
// path of buttons; what every resident saw and what the hamlet counters say
// must equal what one healthy replica alone produces.

// paths are the residents' walks: the first finishes ewallet on a basic
// phone, the second stops in the middle of it.
var paths = [][]string{
	{"💳", "☎️", "📶 Viettel", "✅", "✅", "✅", "✅", "✅"},
	{"💳", "📱", "✅"},
}

const walkSecret = "s3cret_token-1"

// walker posts updates for many residents to a set of webhook URLs.
type walker struct {
	t    testing.TB
	fake *telegramtest.Server
	hc   *http.Client

	mu      sync.Mutex
	rng     *rand.Rand
	targets []string // webhook URLs, one per replica
	dup     float64  // share of updates posted to two replicas at once
	nextID  atomic.Int64

	refused atomic.Int64 // posts that failed (connection refused, 503): posted again
	twice   atomic.Int64 // updates posted to two replicas

	// tapAgain, when set, makes a resident who got no answer within it tap
	// the same button again, as a person would; lost counts those times and
	// retapped records the chats.
	tapAgain time.Duration
	lost     atomic.Int64
	retapped sync.Map
	// think is how long a resident reads before tapping.
	think time.Duration
}

func newWalker(t testing.TB, fake *telegramtest.Server, seed uint64, targets ...string) *walker {
	return &walker{t: t, fake: fake, hc: telegramtest.LoopbackClient(30 * time.Second),
		rng: rand.New(rand.NewPCG(seed, seed+1)), targets: targets}
}

// pick returns one target, or two distinct ones when the update is to be
// duplicated.
func (w *walker) pick() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	ts := slices.Clone(w.targets)
	w.rng.Shuffle(len(ts), func(i, j int) { ts[i], ts[j] = ts[j], ts[i] })
	if len(ts) > 1 && w.rng.Float64() < w.dup {
		return ts[:2]
	}
	return ts[:1]
}

func (w *walker) post(url string, raw []byte) int {
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Telegram-Bot-Api-Secret-Token", walkSecret)
	resp, err := w.hc.Do(req)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// deliver posts raw until a replica answers 200, as Telegram does; one
// update in dup goes to two replicas at once.
func (w *walker) deliver(raw []byte) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		ts := w.pick()
		codes := make([]int, len(ts))
		var wg sync.WaitGroup
		for i, u := range ts {
			wg.Add(1)
			go func() { defer wg.Done(); codes[i] = w.post(u, raw) }()
		}
		wg.Wait()
		if len(ts) > 1 {
			w.twice.Add(1)
		}
		if slices.Contains(codes, http.StatusOK) {
			return nil
		}
		w.refused.Add(1)
		if time.Now().After(deadline) {
			return fmt.Errorf("no replica took the update for 60 s (last answers %v)", codes)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (w *walker) update(fields map[string]any) []byte {
	id := w.nextID.Add(1)
	fields["update_id"] = 200000 + id
	b, _ := json.Marshal(fields)
	return b
}

func (w *walker) text(chat int64, text string) []byte {
	msg := map[string]any{"message_id": 50000 + w.nextID.Load(), "date": time.Now().Unix(), "text": text,
		"chat": map[string]any{"id": chat, "type": "private", "first_name": "Bác"},
		"from": map[string]any{"id": chat, "is_bot": false, "first_name": "Bác"}}
	if strings.HasPrefix(text, "/") {
		cmd, _, _ := strings.Cut(text, " ")
		msg["entities"] = []any{map[string]any{"type": "bot_command", "offset": 0, "length": len(cmd)}}
	}
	return w.update(map[string]any{"message": msg})
}

func (w *walker) callback(chat int64, messageID int, data string) []byte {
	return w.update(map[string]any{"callback_query": map[string]any{
		"id": fmt.Sprintf("cb%d", w.nextID.Load()), "data": data, "chat_instance": "1",
		"from":    map[string]any{"id": chat, "is_bot": false, "first_name": "Bác"},
		"message": map[string]any{"message_id": messageID, "date": time.Now().Unix(), "chat": map[string]any{"id": chat, "type": "private"}},
	}})
}

// latestButtons returns the newest message of chat with buttons, and how
// many messages the chat has.
func (w *walker) latestButtons(chat int64) (telegramtest.Message, int) {
	ms := w.fake.Messages(chat)
	for i := len(ms) - 1; i >= 0; i-- {
		if len(ms[i].Buttons) > 0 {
			return ms[i], len(ms)
		}
	}
	return telegramtest.Message{}, len(ms)
}

// waitButton waits until the chat's newest message with buttons, newer
// than message index after, has a button starting with label.
func (w *walker) waitButton(chat int64, after int, label string) (telegramtest.Message, telegramtest.Button, error) {
	wait := 45 * time.Second
	if w.tapAgain > 0 {
		wait = w.tapAgain
	}
	return w.waitButtonFor(chat, after, label, wait)
}

func (w *walker) waitButtonFor(chat int64, after int, label string, wait time.Duration) (telegramtest.Message, telegramtest.Button, error) {
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		ms := w.fake.Messages(chat)
		for i := len(ms) - 1; i >= after; i-- {
			if len(ms[i].Buttons) == 0 {
				continue
			}
			for _, row := range ms[i].Buttons {
				for _, b := range row {
					if strings.HasPrefix(b.Text, label) {
						return ms[i], b, nil
					}
				}
			}
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	last, n := w.latestButtons(chat)
	return telegramtest.Message{}, telegramtest.Button{}, fmt.Errorf("chat %d: no button %q after message %d in 45 s (%d messages; newest with buttons: %.60q)", chat, label, after, n, last.Text)
}

// walk takes one resident from /start through path, each tap after the
// bot answered the one before; it then waits for the answer to the last.
func (w *walker) walk(chat int64, path []string) error {
	before := len(w.fake.Messages(chat))
	if err := w.deliver(w.text(chat, "/start h_"+tdp1)); err != nil {
		return err
	}
	var last []byte // the last tap, to tap again
	for _, label := range path {
		m, b, err := w.waitButton(chat, before, label)
		if err != nil && w.tapAgain > 0 && last != nil {
			// No answer: the resident taps the same button again.
			w.lost.Add(1)
			w.retapped.Store(chat, true)
			var prev map[string]any
			_ = json.Unmarshal(last, &prev)
			cq := prev["callback_query"].(map[string]any)
			msg := cq["message"].(map[string]any)
			if err := w.deliver(w.callback(chat, int(msg["message_id"].(float64)), cq["data"].(string))); err != nil {
				return err
			}
			m, b, err = w.waitButton(chat, before, label)
		}
		if err != nil {
			return err
		}
		time.Sleep(w.think)
		before = len(w.fake.Messages(chat))
		last = w.callback(chat, m.MessageID, b.CallbackData)
		if err := w.deliver(last); err != nil {
			return err
		}
	}
	// The last answer: a new message with buttons.
	deadline := time.Now().Add(45 * time.Second)
	for time.Now().Before(deadline) {
		ms := w.fake.Messages(chat)
		if len(ms) > before && len(ms[len(ms)-1].Buttons) > 0 {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("chat %d: no answer to the last tap", chat)
}

// crowd walks n residents at once (chats base+1…base+n, paths in turn).
func (w *walker) crowd(base int64, n int) {
	w.t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.walk(base+int64(i)+1, paths[i%len(paths)]); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		w.t.Error(err)
	}
}

// conversation is what a resident saw: the text of every message, in order.
func conversation(fake *telegramtest.Server, chat int64) []string {
	var out []string
	for _, m := range fake.Messages(chat) {
		out = append(out, m.Text+m.Caption)
	}
	return out
}

// hamletCounts reads the counts of tdp1 for ewallet, this month.
func hamletCounts(t testing.TB, client redis.UniversalClient, prefix string) store.Counts {
	t.Helper()
	st := store.New(client, store.Options{Prefix: prefix, DataKey: []byte("test-data-key-0123456789")})
	months := []string{time.Now().In(mustLoc()).Format("2006-01")}
	c, err := st.Counts(t.Context(), []store.HamletFlow{{Hamlet: tdp1, Flow: "ewallet"}}, months, time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return c[store.HamletFlow{Hamlet: tdp1, Flow: "ewallet"}]
}

// settleAll waits until no outbox waits: every reply is sent.
func settleAll(t testing.TB, client redis.UniversalClient, prefix string) {
	t.Helper()
	st := store.New(client, store.Options{Prefix: prefix, DataKey: []byte("test-data-key-0123456789")})
	deadline := time.Now().Add(30 * time.Second)
	for {
		rs, err := st.PendingOutboxes(context.Background(), time.Now().Add(time.Hour), 0)
		if err == nil && len(rs) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("outboxes still waiting after 30 s: %v (%v)", rs, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// reference runs the residents through one healthy replica and returns
// what each saw and the counts.
func reference(t *testing.T, n int) ([][]string, store.Counts) {
	t.Helper()
	fake := telegramtest.NewServer(t, "")
	one := startServeAt(t, true, fake, nil, "", nil)
	w := newWalker(t, fake, 1, one.webhook)
	w.crowd(0, n)
	settleAll(t, one.client, one.prefix)
	one.stop()
	var convs [][]string
	for i := range n {
		convs = append(convs, conversation(fake, int64(i)+1))
	}
	return convs, hamletCounts(t, one.client, one.prefix)
}

// sameAsReference compares every resident's conversation and the counts.
func sameAsReference(t *testing.T, fake *telegramtest.Server, client redis.UniversalClient, prefix string, want [][]string, wantCounts store.Counts) {
	t.Helper()
	for i, w := range want {
		got := conversation(fake, int64(i)+1)
		if !slices.Equal(got, w) {
			t.Errorf("resident %d saw %d messages, want %d as with one replica:\n got %q\nwant %q", i+1, len(got), len(w), got, w)
		}
	}
	if got := hamletCounts(t, client, prefix); got != wantCounts {
		t.Errorf("counts %+v, want %+v as with one replica", got, wantCounts)
	}
}

// residentsAtOnce is how many residents the replica and fault tests walk
// together.
const residentsAtOnce = 8

// twoReplicasWalk starts two webhook replicas on client, walks the
// residents through both (each update to a random one, a fifth to both at
// once), and compares what they saw and the counts with one replica's.
func twoReplicasWalk(t *testing.T, client redis.UniversalClient, prefix string, seed uint64, want [][]string, wantCounts store.Counts) (*walker, []*tgTest) {
	t.Helper()
	fake := telegramtest.NewServer(t, "")
	a := startServeAt(t, true, fake, client, prefix, nil)
	b := startServeAt(t, true, fake, client, prefix, nil)
	w := newWalker(t, fake, seed, a.webhook, b.webhook)
	w.dup = 0.2
	w.crowd(0, residentsAtOnce)
	settleAll(t, client, prefix)
	sameAsReference(t, fake, client, prefix, want, wantCounts)
	return w, []*tgTest{a, b}
}

// TestTwoReplicasMatchOneReplica delivers each update to a random one of
// two replicas on one Redis, a fifth of them to both at once, for several
// residents together: every conversation and count equals one replica's.
func TestTwoReplicasMatchOneReplica(t *testing.T) {
	want, wantCounts := reference(t, residentsAtOnce)
	if wantCounts.CompletedSelf != residentsAtOnce/2 || wantCounts.Started != residentsAtOnce {
		t.Fatalf("reference counts %+v: want %d started, %d completed", wantCounts, residentsAtOnce, residentsAtOnce/2)
	}

	client, prefix := newRedisForTest(t)
	w, _ := twoReplicasWalk(t, client, prefix, 7, want, wantCounts)
	t.Logf("two replicas: %d residents, %d updates, %d posted to both replicas at once; conversations and counts equal one replica's",
		residentsAtOnce, w.nextID.Load(), w.twice.Load())
	if w.twice.Load() == 0 {
		t.Error("no update was posted to both replicas: the test did not test duplicates")
	}
}

// TestTwoReplicasOnTheCluster is the same on the 3-master Redis Cluster:
// no CROSSSLOT error anywhere (any error fails a walk or shows in the log).
func TestTwoReplicasOnTheCluster(t *testing.T) {
	addrs := os.Getenv("TEST_REDIS_CLUSTER_ADDRS")
	if addrs == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("TEST_REDIS_CLUSTER_ADDRS must be set when CI=true (see .ci/run)")
		}
		t.Skip("set TEST_REDIS_CLUSTER_ADDRS to run against a real Redis Cluster")
	}
	want, wantCounts := reference(t, residentsAtOnce)
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: strings.Split(addrs, ",")})
	t.Cleanup(func() { _ = cc.Close() })
	var b [6]byte
	_, _ = crand.Read(b[:])
	prefix := fmt.Sprintf("cltest-%x:v1", b)
	t.Cleanup(func() {
		_ = cc.ForEachMaster(context.Background(), func(ctx context.Context, c *redis.Client) error {
			iter := c.Scan(ctx, 0, strings.TrimSuffix(prefix, ":v1")+"*", 1000).Iterator()
			for iter.Next(ctx) {
				c.Del(ctx, iter.Val())
			}
			return nil
		})
	})
	w, replicas := twoReplicasWalk(t, cc, prefix, 11, want, wantCounts)
	for _, r := range replicas {
		if log := r.log.String(); strings.Contains(log, "CROSSSLOT") {
			t.Errorf("a replica met CROSSSLOT:\n%s", log)
		}
	}
	t.Logf("cluster: two replicas, %d residents, %d updates (%d to both); conversations and counts equal one replica's, no CROSSSLOT",
		residentsAtOnce, w.nextID.Load(), w.twice.Load())
}
