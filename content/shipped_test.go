package content_test

import (
	"testing"

	"github.com/hangxomso/hangxom/content"
	"github.com/hangxomso/hangxom/locales"
)

// TestShippedContent checks the embedded content against the embedded
// message files: what ships must have no problem at all.
func TestShippedContent(t *testing.T) {
	for _, p := range content.Check(content.FS, locales.FS) {
		t.Errorf("%s", p)
	}
}

// TestLoadShipped loads what ships, as the binary does at start-up.
func TestLoadShipped(t *testing.T) {
	lib, areas, targets, err := content.Load(content.FS, locales.FS)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if len(lib.Flows()) == 0 || len(areas) == 0 || len(targets) == 0 {
		t.Errorf("Load = %d flows, %d areas, %d targets; want some of each", len(lib.Flows()), len(areas), len(targets))
	}
	for _, f := range lib.Flows() {
		if f.File == "" || f.Line == 0 {
			t.Errorf("flow %s: File %q Line %d not filled", f.ID, f.File, f.Line)
		}
	}
}

// The screens that ask for a login are marked Secret, so a password typed
// there by mistake is caught (flows.PasswordLike): the party handbook's
// login first of all.
func TestLoginStepsAreSecret(t *testing.T) {
	lib, _, _, err := content.Load(content.FS, locales.FS)
	if err != nil {
		t.Fatal(err)
	}
	for flow, steps := range map[string][]string{
		"party-handbook": {"login"},
		"vneid":          {"otp", "no_otp", "password", "passcode", "security_q", "portal_login"},
		"ewallet":        {"otp", "otp_missing"},
		"qr-pay":         {"open_app", "confirm_pay"},
	} {
		f, ok := lib.Flow(flow)
		if !ok {
			t.Fatalf("no flow %s", flow)
		}
		for _, id := range steps {
			if s, ok := f.Step(id); !ok || !s.Secret {
				t.Errorf("%s step %s: not marked secret", flow, id)
			}
		}
	}
}
