package bot_test

import (
	"testing"

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
