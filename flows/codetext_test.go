package flows_test

import (
	"strings"
	"testing"

	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/flows/vietqr"
)

// A VietQR transfer code of ACB, as a bank app prints it.
const acbCode = "00020101021138530010A0000007270123000697041601092576788590208QRIBFTTA53037045802VN6304AE9F"

// codeTextCases are what a resident pastes where a QR code is checked, and
// whether the QR checker reads it before the secret filter.
var codeTextCases = []struct {
	name, text string
	code       bool // read as a code or a link; otherwise Sensitive decides first
	secret     bool // Sensitive, so warned and never sent anywhere (when not code)
}{
	{"a VietQR code", acbCode, true, false},
	{"a VietQR code with a bad crc", acbCode[:len(acbCode)-1] + "0", true, false},
	{"a code cut short", acbCode[:40], true, false},
	{"a code with payload format indicator 00", "00020001021238570010A000000727012700069704030113", true, false},
	{"a code pasted with spaces and a byte-order mark", " \ufeff" + acbCode + "\n", true, false},
	{"a link with a year and an id", "https://hocphi-dinhca.example/thanh-toan/2026/48392", true, false},
	{"a link with an 8-digit id", "http://qr.example.vn/p?id=20261120", true, false},
	{"a link in upper case", "HTTPS://EXAMPLE.VN/PAY?ID=123456", true, false},

	{"an OTP", "483920", false, true},
	{"an OTP in words", "mã OTP là 483920", false, true},
	{"a link with an OTP written after it", "https://bank.example/xac-thuc ma 483920", false, true},
	{"a card number", "4111 1111 1111 1111", false, true},
	{"an ID number starting like a code", "000201012345", false, true},
	{"a sentence", "Chuyển khoản cho cô giáo giúp tôi", false, false},
	{"a link without http", "www.vietqr.example/pay", false, false},
}

func TestCodeText(t *testing.T) {
	for _, tc := range codeTextCases {
		t.Run(tc.name, func(t *testing.T) {
			if got := flows.CodeText(tc.text); got != tc.code {
				t.Errorf("CodeText(%q) = %v, want %v", tc.text, got, tc.code)
			}
			if !tc.code {
				if got := flows.Sensitive(tc.text); got != tc.secret {
					t.Errorf("Sensitive(%q) = %v, want %v: the case tests something else than it says", tc.text, got, tc.secret)
				}
			}
		})
	}
}

// TestCheckQRReadsAPastedCodeFirst: inside /checkqr and at the qr-pay
// flow's check step, a pasted code or link goes to the QR checker whatever
// digits it holds (a link's year was taken for an OTP: deleted, and the
// web-link warning never shown); other text meets the secret filter, and a
// real OTP is warned about and sent nowhere.
func TestCheckQRReadsAPastedCodeFirst(t *testing.T) {
	atCheckQR := func(c *conv) {
		c.cmd("checkqr", "")
	}
	atStep := func(c *conv) {
		c.tap("demo.title")
		c.tap("demo.btn.android")
		c.text("xong")
		res := c.text("0912 345 678")
		if c.s.Active == nil || c.s.Active.Step != "scan" {
			c.t.Fatalf("not at the check step: %q", texts(res))
		}
	}
	for where, reach := range map[string]func(*conv){"/checkqr": atCheckQR, "external step": atStep} {
		for _, tc := range codeTextCases {
			t.Run(where+"/"+tc.name, func(t *testing.T) {
				c := newConv(t)
				onboard(c)
				reach(c)
				res := c.text(tc.text)
				toChecker := res.Check != nil && res.Check.Input.Text == tc.text
				if want := tc.code || !tc.secret; toChecker != want {
					t.Errorf("sent to the checker: %v, want %v (%+v)", toChecker, want, res.Check)
				}
				if res.Sensitive != (!tc.code && tc.secret) {
					t.Errorf("sensitive: %v, want %v", res.Sensitive, !tc.code && tc.secret)
				}
				if res.Sensitive && strings.Contains(strings.Join(texts(res), "\n"), tc.text) {
					t.Errorf("a secret was repeated back: %q", texts(res))
				}
				if !toChecker {
					return
				}
				// The checker's answer comes back with the text: no second filter.
				res = c.send(flows.Input{Kind: flows.InputCheck, Data: "url", Text: tc.text})
				if res.Sensitive {
					t.Errorf("the checker's answer on %q was taken for a secret", tc.text)
				}
			})
		}
	}
}

// FuzzCodeTextIsReadAsACode holds the engine and the checker to one line:
// whatever the engine lets past the secret filter as a code, the checker
// reads as a payment code (sound or broken) or a link, never as "not a
// payment code"; and no number alone of a secret's length passes.
func FuzzCodeTextIsReadAsACode(f *testing.F) {
	for _, tc := range codeTextCases {
		f.Add(tc.text)
	}
	for _, s := range []string{"0002", "000201", "0002010102113853001234", "https://", "http://x y", "\ufeff0002010102113853001234"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !flows.CodeText(s) {
			return
		}
		if r := vietqr.Parse(s); r.Kind == vietqr.KindText {
			t.Errorf("CodeText(%q), but the checker reads it as not a payment code: %q", s, r.Problems)
		}
		digits := strings.TrimFunc(s, func(r rune) bool { return r == ' ' || r == '\ufeff' || r == '\n' || r == '\t' || r == '\r' })
		if len(digits) <= 19 && strings.Trim(digits, "0123456789") == "" {
			t.Errorf("CodeText(%q): a number of a secret's length passes as a code", s)
		}
	})
}
