package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hangxomso/hangxom/bot/zalo"
	"github.com/hangxomso/hangxom/bot/zalo/zalotest"
	"github.com/hangxomso/hangxom/delivery"
	"github.com/hangxomso/hangxom/delivery/deliverytest"
	"github.com/hangxomso/hangxom/flows"
)

// ---- Zalo ------------------------------------------------------------------

type zaloHarness struct{}

func (zaloHarness) Name() string { return "zalo" }

func (zaloHarness) New(t *testing.T) deliverytest.Rig {
	a, clock := rigApp(t)
	fake := zalotest.NewServer(t)
	access, refresh := fake.IssueTokens()
	if _, err := a.store.ReplaceZaloTokens(t.Context(), "", access, refresh, time.Now().Add(25*time.Hour)); err != nil {
		t.Fatal(err)
	}
	cfg := mustConfig(t)
	cfg.ZaloAppID, cfg.ZaloAppSecret, cfg.ZaloOASecretKey, cfg.ZaloOAID = fake.AppID, fake.AppSecret, fake.OASecretKey, fake.OAID
	cfg.ZaloAPIURL, cfg.ZaloOAuthURL = fake.URL, fake.URL
	r := &zaloRig{t: t, a: a, clock: clock, fake: fake, bodies: map[string][]byte{}}
	r.hc = zalotest.LoopbackClient(10 * time.Second)
	r.tokens = newZaloTokens(cfg, a.store, r.hc, nil, nil)
	r.core = r.newCore()
	a.assemble(channel{})
	hook := func(sender interface{ Kick(string) }) string {
		w := &zalo.Webhook{Service: a.service, Store: a.store, AppID: fake.AppID, OASecretKey: fake.OASecretKey,
			OAID: fake.OAID, Sender: sender}
		srv := httptest.NewServer(w)
		t.Cleanup(srv.Close)
		return srv.URL
	}
	r.url = hook(nil)       // the rig drains itself after each update
	r.storedURL = hook(nil) // the same: nothing is kicked
	return r
}

type zaloRig struct {
	t              *testing.T
	a              *app
	clock          flows.Clock
	fake           *zalotest.Server
	hc             *http.Client
	tokens         *zalo.Tokens
	core           *delivery.Core
	url, storedURL string
	bodies         map[string][]byte // events given, by msg_id
}

func (r *zaloRig) newCore() *delivery.Core {
	tr := &zalo.Transport{Client: &zalo.Client{APIURL: r.fake.URL, Tokens: r.tokens, HTTP: r.hc}, RateWait: 100 * time.Millisecond}
	return &delivery.Core{Store: r.a.store, Clock: r.clock, Chat: rigPace, FinishDelay: -1, Transports: []delivery.Transport{tr}}
}

func (r *zaloRig) Resident(i int) string { return zalo.ResidentID("84" + strconv.Itoa(900100+i)) }

func (r *zaloRig) user(who string) string {
	id, ok := zalo.UserID(who)
	if !ok {
		r.t.Fatalf("not a Zalo resident: %s", who)
	}
	return id
}

// give delivers an event body to the webhook, signed, and wants 200.
func (r *zaloRig) give(url string, body []byte, retry int) {
	r.t.Helper()
	resp, err := r.fake.Deliver(r.t.Context(), url, body, retry)
	if err != nil {
		r.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		r.t.Fatalf("webhook answered %d", resp.StatusCode)
	}
}

func msgID(t *testing.T, body []byte) string {
	var ev struct {
		Message struct {
			MsgID string `json:"msg_id"`
		} `json:"message"`
	}
	if err := json.Unmarshal(body, &ev); err != nil || ev.Message.MsgID == "" {
		t.Fatalf("no msg_id in %s", body)
	}
	return ev.Message.MsgID
}

func (r *zaloRig) Say(who, line string) string {
	body := r.fake.Text(r.user(who), line)
	id := msgID(r.t, body)
	r.bodies[id] = body
	r.give(r.url, body, 0)
	deliverytest.Drain(r.t, r.core, who)
	return id
}

func (r *zaloRig) Again(who, id string) {
	r.give(r.url, r.bodies[id], 1) // Zalo's own retry: the same body, num_retry set
	deliverytest.Drain(r.t, r.core, who)
}

// payloads are the button payloads of the screen at index i, in order
// across its pages.
func (r *zaloRig) payloads(who string, i int) []string {
	starts, _ := r.screens(who)
	if i < 0 || i >= len(starts) {
		return nil
	}
	return starts[i]
}

func (r *zaloRig) tap(who string, payloads []string, n int) bool {
	if n > len(payloads) {
		return false
	}
	r.give(r.url, r.fake.Text(r.user(who), payloads[n-1]), 0)
	deliverytest.Drain(r.t, r.core, who)
	return true
}

func (r *zaloRig) Tap(who string, n int) bool {
	ps, ss := r.screens(who)
	for i := len(ss) - 1; i >= 0; i-- {
		if len(ss[i].Choices) > 0 {
			return r.tap(who, ps[i], n)
		}
	}
	return false
}

// TapOld implements deliverytest.OldTapper: Zalo's old buttons stay.
func (r *zaloRig) TapOld(who string, i, n int) bool { return r.tap(who, r.payloads(who, i), n) }

// TakesOff implements deliverytest.OldTapper: a Zalo message cannot be
// edited.
func (r *zaloRig) TakesOff() bool { return false }

// NoFiles implements deliverytest.NoFiles.
func (r *zaloRig) NoFiles() {}

func (r *zaloRig) Stored(who, line string) { r.give(r.storedURL, r.fake.Text(r.user(who), line), 0) }

func (r *zaloRig) Core() *delivery.Core    { return r.core }
func (r *zaloRig) Restart() *delivery.Core { return r.newCore() }

func (r *zaloRig) Enqueue(who string, replies ...flows.Reply) {
	// Zalo reaches only those who wrote within 7 days: the resident
	// interacted just now.
	r.fake.Interact(r.user(who), time.Now())
	if err := r.a.store.Enqueue(r.t.Context(), who, replies...); err != nil {
		r.t.Fatal(err)
	}
}

func (r *zaloRig) Fail(f deliverytest.Fault, times int) {
	fault := map[deliverytest.Fault]zalotest.Fault{
		deliverytest.RateLimit:  {Error: -32, Message: "Exceeded the rate limit"},
		deliverytest.Transient:  {HTTPStatus: 502, Body: "<html>bad gateway</html>"},
		deliverytest.LoseAnswer: {LoseAnswer: true},
		deliverytest.Block:      {Error: -213, Message: "User has not followed the OA"},
	}[f]
	r.fake.Fail(zalotest.PathSend, times, fault)
}

// screens reads the user's messages back as screens: a picture (sent
// before its text) joins the text after it; a message carrying only more
// buttons (delivery.MoreChoices) joins the screen before it; a numbered
// screen's choices are its list, its text what comes before the list. It
// also returns each screen's button payloads, in order.
func (r *zaloRig) screens(who string) ([][]string, []deliverytest.Screen) {
	var ps [][]string
	var ss []deliverytest.Screen
	var listed []bool // the screen's choices are its numbered list
	image := false
	for _, m := range r.fake.Messages(r.user(who)) {
		if m.Image != "" && m.Text == "" {
			image = true
			continue
		}
		var payloads, titles []string
		for _, b := range m.Buttons {
			payloads = append(payloads, b.Payload)
			titles = append(titles, b.Title)
		}
		if m.Text == delivery.MoreChoices && len(ss) > 0 {
			last := len(ss) - 1
			ps[last] = append(ps[last], payloads...)
			if !listed[last] {
				ss[last].Choices = append(ss[last].Choices, titles...)
			}
			continue
		}
		s := deliverytest.Screen{Text: m.Text, Image: image, Choices: titles}
		image = false
		list := false
		if numbered(titles) {
			if i := strings.LastIndex(m.Text, "\n\n1. "); i >= 0 {
				list = true
				s.Text, s.Choices = m.Text[:i], nil
				for _, line := range strings.Split(m.Text[i+2:], "\n") {
					_, label, _ := strings.Cut(line, ". ")
					s.Choices = append(s.Choices, label)
				}
			}
		}
		ps = append(ps, payloads)
		ss = append(ss, s)
		listed = append(listed, list)
	}
	return ps, ss
}

// numbered reports whether button titles are "1. …", "2. …" (Plan's
// numbered screen).
func numbered(titles []string) bool {
	return len(titles) > 0 && strings.HasPrefix(titles[0], "1. ")
}

func (r *zaloRig) Screens(who string) []deliverytest.Screen {
	_, ss := r.screens(who)
	return ss
}

func (r *zaloRig) Reachable(who string) bool { return reachable(r.t, r.a, who) }

func (r *zaloRig) Remind(who, flow string) int {
	n := remind(r.t, r.a, r.clock, who, flow)
	deliverytest.Drain(r.t, r.core, who)
	return n
}

// When Zalo refuses the refresh token, the coordinators on Telegram are
// told (once per disconnection, in their language); those on no Telegram
// id are not.
func TestCoordinatorsAreToldTheOAIsDisconnected(t *testing.T) {
	a, _ := rigApp(t)
	cfg := mustConfig(t)
	cfg.TelegramToken, cfg.Coordinators = "123:abc", []string{"tg:501", "zl:502"}
	if _, err := a.store.ReplaceZaloTokens(t.Context(), "", "acc", "ref", time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.store.SetZaloDisconnected(t.Context(), "ref", "refused"); err != nil {
		t.Fatal(err)
	}
	var woken []string
	for range 2 { // two replicas, say
		tellCoordinators(t.Context(), cfg, a, func(r string) { woken = append(woken, r) })
	}
	rs, err := a.store.Outbox(t.Context(), "tg:501")
	if err != nil || len(rs) == 0 || !strings.Contains(rs[0].Text, "hangxom zalo connect") {
		t.Fatalf("the coordinator's outbox: %+v %v", rs, err)
	}
	for _, r := range rs {
		if r.ID != rs[0].ID {
			t.Errorf("two different notices for one disconnection: %s, %s", rs[0].ID, r.ID)
		}
	}
	if rs, _ := a.store.Outbox(t.Context(), "zl:502"); len(rs) != 0 {
		t.Errorf("a coordinator on Zalo was told through Zalo: %+v", rs)
	}
	if len(woken) != 2 || woken[0] != "tg:501" {
		t.Errorf("woken %v", woken)
	}
}

var _ deliverytest.Pictures = (*zaloRig)(nil)

// Pictures implements deliverytest.Pictures: an image is a picture, a file
// attachment a file.
func (r *zaloRig) Pictures(who string) []bool {
	var ps []bool
	for _, m := range r.fake.Messages(r.user(who)) {
		if m.Image != "" || m.File != "" {
			ps = append(ps, m.Image != "")
		}
	}
	return ps
}
