package flows_test

import (
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/hangxomso/hangxom/flows"
)

func TestFold(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Đã xong", "da xong"},
		{"ĐÃ XONG RỒI!!", "da xong roi"},
		{norm.NFD.String("Được rồi"), "duoc roi"},
		{"  xong \t  roi  ", "xong roi"},
		{"xo\u200bng", "xong"},
		{"\ufeffmenu", "menu"},
		{"Nà Lưu", "na luu"},
		{"", ""},
		{"...", ""},
	} {
		if got := flows.Fold(tc.in); got != tc.want {
			t.Errorf("Fold(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestIntent(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"xong", "done"}, {"xong roi", "done"}, {"Đã xong", "done"}, {"ok", "done"}, {"được rồi", "done"},
		{"Tôi đã xong rồi ạ", "done"}, {"✅ Xong rồi", "done"},
		{"chưa", "stuck"}, {"chua duoc", "stuck"}, {"lỗi", "stuck"}, {"không được", "stuck"},
		{"bỏ qua", "skip"},
		{"Menu", "/menu"}, {"quay lại", "/back"}, {"hủy", "/cancel"}, {"giúp", "/help"},
		{"con mèo", ""}, {"xong việc nhà chưa", ""},
	} {
		if got := flows.Intent(tc.in); got != tc.want {
			t.Errorf("Intent(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSensitive(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"123456", true},               // OTP
		{"mã là 4821", true},           // PIN
		{"12 34 56", true},             // spaced OTP
		{"001234567890", true},         // 12-digit citizen ID
		{"4111 1111 1111 1111", true},  // card passing Luhn
		{"mật khẩu là Abc@2024", true}, // password
		{"mk abc12345", true},          // password abbreviation with a digit
		{"OTP: 998877", true},
		{"0912345678", false},      // phone number
		{"+84 912 345 678", false}, // phone number, international
		{"3", false},               // a button number
		{"xong rồi", false},
		{"pin điện thoại yếu quá", false}, // "pin" is also a battery
		{"4111 1111 1111 1112", false},    // 16 digits failing Luhn
		{"*998#", false},                  // a USSD code
	} {
		if got := flows.Sensitive(tc.in); got != tc.want {
			t.Errorf("Sensitive(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func FuzzFold(f *testing.F) {
	for _, s := range []string{"Đã xong", norm.NFD.String("Được rồi"), "xo\u200bng", "  ", "\xff\xfe", "🙋 Cần người giúp", "4111 1111"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := flows.Fold(s)
		if utf8.ValidString(s) && !utf8.ValidString(got) {
			t.Fatalf("Fold(%q) = %q is not valid UTF-8", s, got)
		}
		if again := flows.Fold(got); again != got {
			t.Fatalf("Fold not idempotent: %q -> %q -> %q", s, got, again)
		}
		if utf8.ValidString(s) {
			if nfd := flows.Fold(norm.NFD.String(s)); nfd != flows.Fold(norm.NFC.String(s)) {
				t.Fatalf("NFC and NFD fold differently for %q", s)
			}
		}
		_ = flows.Intent(s)
		_ = flows.Sensitive(s)
	})
}
