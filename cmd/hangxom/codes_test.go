package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/hangxomso/hangxom/delivery/deliverytest"
	"github.com/hangxomso/hangxom/flows"
)

// TestSeedHamletCodes: every hamlet of the seed has a code, unique, the
// same on every start, and shown by `areas list`.
func TestSeedHamletCodes(t *testing.T) {
	codes := func(p *program) map[string]string {
		t.Helper()
		m := map[string]string{}
		seen := map[string]string{}
		for _, a := range p.listAreas() {
			code, _ := a["code"].(string)
			id, _ := a["id"].(string)
			if a["level"] != flows.LevelHamlet {
				if code != "" {
					t.Errorf("%s, not a hamlet, has the code %q", id, code)
				}
				continue
			}
			if c, ok := flows.HamletCodeOf(code); !ok || c != code {
				t.Errorf("%s: %q is not a hamlet code", id, code)
			}
			if other, ok := seen[code]; ok {
				t.Errorf("%s and %s share the code %s", other, id, code)
			}
			seen[code], m[id] = id, code
		}
		if len(m) == 0 {
			t.Fatal("no hamlet listed")
		}
		return m
	}
	p := newProgram(t)
	first := codes(p)
	if again := codes(p); !equalMaps(first, again) {
		t.Errorf("codes changed across a restart: %v, then %v", first, again)
	}
	// Another deployment of the same seed (another store) derives the same.
	if other := codes(newProgram(t)); !equalMaps(first, other) {
		t.Errorf("another store gave other codes: %v, then %v", first, other)
	}
	out, _, err := p.command("", "areas", "list")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.SplitN(out, "\n", 2)[0], "CODE") || !strings.Contains(out, first[tdp1]) {
		t.Errorf("the table shows no codes:\n%s", out)
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestTypedHamletCodeInChat: in the console, as a resident on Zalo would,
// a hamlet's code typed alone (any case, spaces around) files the resident
// under it, as the Telegram poster's link does; words do not.
func TestTypedHamletCodeInChat(t *testing.T) {
	p := newProgram(t)
	var code string
	for _, a := range p.listAreas() {
		if a["id"] == tdp1 {
			code, _ = a["code"].(string)
		}
	}
	if code == "" {
		t.Fatalf("%s has no code", tdp1)
	}
	chat, stderr, err := p.run("  "+strings.ToLower(code)+" \n", "chat", "--user", "zl-lan")
	if err != nil {
		t.Fatalf("chat: %v\n%s", err, stderr)
	}
	link, _, err := p.run("/start h_"+tdp1+"\n", "chat", "--user", "tg-lan")
	if err != nil {
		t.Fatal(err)
	}
	after := func(s string) string { _, rest, _ := strings.Cut(s, "\n"); return rest }
	if !strings.Contains(chat, "Đã ghi bác ở Tổ dân phố 1 (Đình Cả), Xã Võ Nhai.") || after(chat) != after(link) {
		t.Errorf("the code typed:\n%s\nthe link:\n%s", chat, link)
	}
	for i, words := range []string{"xin chào", "xong", "2025", "NHA1"} {
		chat, _, err := p.run(words+"\n", "chat", "--user", "zl-"+strconv.Itoa(i))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(chat, "Đã ghi bác ở") {
			t.Errorf("%q filed the resident:\n%s", words, chat)
		}
	}
}

// TestZaloResidentSendsThePostersCode: on the fake Zalo, a resident who
// follows the OA (the poster's QR code) and sends the hamlet's code is
// filed under it.
func TestZaloResidentSendsThePostersCode(t *testing.T) {
	r := zaloHarness{}.New(t).(*zaloRig)
	who := r.Resident(1)
	h, ok := r.a.live.Area(tdp1)
	if !ok || h.Code == "" {
		t.Fatalf("%s has no code: %+v", tdp1, h)
	}
	r.give(r.url, r.fake.Event("follow", r.user(who), nil), 0)
	deliverytest.Drain(t, r.core, who)
	r.Say(who, " "+strings.ToLower(h.Code)+" ")
	var texts []string
	for _, s := range r.Screens(who) {
		texts = append(texts, s.Text)
	}
	if !strings.Contains(strings.Join(texts, "\n"), "Đã ghi bác ở Tổ dân phố 1 (Đình Cả), Xã Võ Nhai.") {
		t.Errorf("no hamlet_set among the screens:\n%s", strings.Join(texts, "\n---\n"))
	}
	s, err := r.a.store.Session(t.Context(), who)
	if err != nil || s.Hamlet != tdp1 {
		t.Errorf("session hamlet %q (%v), want %s", s.Hamlet, err, tdp1)
	}
}
