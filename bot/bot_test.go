package bot_test

import (
	"testing"
	"time"

	"github.com/hangxomso/hangxom/bot"
)

func TestParseCommand(t *testing.T) {
	for _, tc := range []struct {
		in, name, args string
		ok             bool
	}{
		{"/start", "start", "", true},
		{"/start h_vo-nhai-tdp-1", "start", "h_vo-nhai-tdp-1", true},
		{"/start@hangxom_bot ref_AbC-123_x", "start", "ref_AbC-123_x", true},
		{"/menu   ", "menu", "", true},
		{"/", "", "", false},
		{"/@bot", "", "", false},
		{"menu", "", "", false},
		{"", "", "", false},
	} {
		name, args, ok := bot.ParseCommand(tc.in)
		if name != tc.name || args != tc.args || ok != tc.ok {
			t.Errorf("ParseCommand(%q) = %q, %q, %v; want %q, %q, %v", tc.in, name, args, ok, tc.name, tc.args, tc.ok)
		}
	}
}

func TestOutageTellsOncePerResidentAWhile(t *testing.T) {
	var o bot.Outage
	t0 := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	if !o.First("tg:1", t0) || o.First("tg:1", t0.Add(time.Minute)) || !o.First("zl:2", t0.Add(time.Minute)) {
		t.Fatal("a resident told twice in a moment, or another one not told")
	}
	if !o.First("tg:1", t0.Add(bot.TellAgainAfter)) {
		t.Error("not told again after TellAgainAfter")
	}
}
