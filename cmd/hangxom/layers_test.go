package main

import (
	"os/exec"
	"strings"
	"testing"
)

// The layers of issue 16: a channel (bot/…) never reaches the store, even in
// its tests; the delivery core reaches neither the store nor a channel. Only
// cmd/hangxom joins them. Read from `go list`, so a new import anywhere
// below is caught.
func TestChannelsAndTheCoreDoNotImportTheStore(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatal("the go command is needed to list imports: ", err)
	}
	const mod = "github.com/hangxomso/hangxom/"
	list := func(test bool, pkgs ...string) map[string][]string {
		args := []string{"list", "-deps=false", "-f", `{{.ImportPath}} {{join .Deps " "}}`}
		if test {
			args = append(args, "-test")
		}
		out, err := exec.Command("go", append(args, pkgs...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("go list: %v\n%s", err, out)
		}
		deps := map[string][]string{}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			f := strings.Fields(line)
			if len(f) > 0 {
				deps[f[0]] = f[1:]
			}
		}
		return deps
	}
	forbid := func(deps map[string][]string, bad ...string) {
		for pkg, ds := range deps {
			for _, d := range ds {
				for _, b := range bad {
					if d == mod+b || strings.HasPrefix(d, mod+b+"/") {
						t.Errorf("%s depends on %s", pkg, d)
					}
				}
			}
		}
	}
	bot := list(true, "../../bot/...")
	if len(bot) < 5 {
		t.Fatalf("go list found %d packages under bot/: %v", len(bot), bot)
	}
	forbid(bot, "store")
	core := list(false, "../../delivery", "../../delivery/...")
	forbid(core, "store", "bot", "desk", "cmd")
}

// A send rate that is not a number (NaN, Inf) is refused like a negative
// one: the pace would otherwise silently switch off (a review found NaN
// accepted).
func TestSendRatesMustBeNumbers(t *testing.T) {
	for _, kv := range [][2]string{{"SEND_RATE_CHAT", "NaN,3"}, {"SEND_RATE_CHAT", "+Inf,3"}, {"SEND_RATE_CHAT", "0,3"},
		{"SEND_RATE_BULK", "NaN"}, {"SEND_RATE_BULK", "Inf"}} {
		raw := map[string]string{}
		for _, s := range settings {
			raw[s.env] = s.def
		}
		raw[kv[0]] = kv[1]
		if _, err := parseConfig(raw); err == nil || !strings.Contains(err.Error(), kv[0]) {
			t.Errorf("%s=%s: %v, want refused naming it", kv[0], kv[1], err)
		}
	}
}
