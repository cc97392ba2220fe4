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
		{"Menu", "/menu"}, {"quay lại", "/back"}, {"hủy", "/cancel"}, {"trợ giúp", "/help"}, {"giúp", "/help"},
		{"con mèo", ""}, {"xong việc nhà chưa", ""},
	} {
		if got := flows.Intent(tc.in); got != tc.want {
			t.Errorf("Intent(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestSensitive pins the rules of flows.Sensitive (see its doc comment):
// what a resident may type on purpose, and the secrets they must not.
func TestSensitive(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		// OTPs and PINs: 4–8 digits, however spaced or wide.
		{"123456", true},
		{"mã là 4821", true},
		{"12 34 56", true},
		{"483  920", true}, // two spaces
		{"483\u00a0920", true},
		{"４８３９２０", true}, // full-width digits
		{"mã OTP 8 8 1 2 3 4", true},
		{"OTP: 998877", true},
		{"mã xác thực là 2019", true}, // a year-like code, but marked as the code
		{"Your code is 55 66 77", true},
		{"48392017", true},
		{"my PIN is 1985", true},
		// ID and card numbers.
		{"123456789", true},           // 9-digit old ID card (CMND)
		{"001234567890", true},        // 12-digit citizen ID (CCCD)
		{"001 234 567 890", true},     // CCCD, spaced
		{"CCCD001234567890", true},    // glued to a word, still an ID's length
		{"4111 1111 1111 1111", true}, // card passing Luhn
		{"4111-1111-1111-1111", true},
		{"(84) 123456", true},   // an OTP after the country code is no phone
		{"+84 123456789", true}, // nor a 9-digit CMND (no mobile number starts with 1)
		{"+84 001234567890", true},
		{"(+84) 001234567890", true}, // nor a CCCD
		{"(12) 345678", true},        // only "(84" or "(+84" is joined by ")"
		{"+8 4123456", true},         // no country code: 8 digits
		// Passwords after a secret word.
		{"mật khẩu: hoamai", true},
		{"mat khau: hoamai", true},
		{"mk: hoamai99", true},
		{"password:hunter22", true},
		{"Password = sunflower", true},
		{"mật khẩu là Abc@2024", true},
		{"mật khẩu của tôi là hoamai", true},
		{"mk abc12345", true},
		{"matkhau123", true},
		{"mk123456", true},
		{"pass1234", true},
		{"mã PIN là 1985", true},
		{"mật khẩu là 0912345678", true}, // a phone number kept as the password
		{"mk: abc12345", true},
		{"mk là hoa1990", true},
		{"pin: 1985", true},
		{"CVV 123a", true},
		// Password-like words on their own.
		{"MyP@ssw0rd!", true},
		{"Hoamai@99", true},
		{"tôi gõ Xuan#2024ab rồi", true},
		{"@Hoa#1990x", true}, // a leading "@" is no symbol, the "#" is

		// Phone numbers given on purpose.
		{"0912345678", false},
		{"0912 345 678", false},
		{"0912.345.678", false},
		{"+84 912 345 678", false},
		{"+84912345678", false},
		{"Số em 0987654321, bác gọi nhé", false},
		{"(+84) 912 345 678", false}, // not "84" and a 9-digit CMND
		{"(+84)912345678", false},
		{"(84) 912 345 678", false},
		{"84 912 345 678", false},
		{"+84 0912 345 678", false}, // not a 12-digit CCCD
		{"+840912345678", false},
		{"(+84) 0912 345 678", false},
		{"84 0912 345 678", false},
		{"Số cháu (+84) 912 345 678, bà gọi nhé", false},
		// Amounts, years, dates, house numbers.
		{"500000 đồng", false},
		{"500.000đ", false},
		{"500000đ", false},
		{"1.250.000", false},
		{"học phí 350000 VND", false},
		{"150k", false},
		{"2 triệu 500 nghìn", false},
		{"2025", false},
		{"tôi sinh năm 1958", false},
		{"07.12.2025", false},
		{"7-12-2025", false},
		{"2025-12-07", false},
		{"số nhà 1234, xóm 3", false},
		{"ngõ 4567 đường Lê Lợi", false},
		{"nhà 12/3, xóm Nà Lưu", false},
		// Codes of the bot: invite codes and hamlet ids typed alone.
		{"mfrgg4ltmnqw4zlb", false},
		{"ab234567cdefghij", false},
		{"j_ab234567cdefghij", false},
		{"h_vo-nhai-tdp-1-dinh-ca", false},
		{"xom-1234", false},
		{"XOM-04512", false},
		// Hamlet codes typed alone (TestCodesAreNotSensitive walks them),
		// and an invite code with /join or alone, in capitals.
		{"XAK7", false}, {" xak7 ", false}, {"2K3M", false}, {"Z789", false},
		{"/join ab234567cdefghij", false}, {"AB234567CDEFGHIJ", false},
		// Web links and e-mail addresses: not secrets.
		{"https://example.com/tin-tuc/2025/12/07/bai-483920.html", false},
		{"www.vneid.gov.vn/p?id=48392017", false},
		{"xem dichvucong.gov.vn/p/home/12345678", false},
		{"lan1985@gmail.com", false},
		{"WIFI:S:NhaVanHoa;T:WPA;P:xomdinhca;;", false}, // a Wi-Fi code's text: the QR checker answers it
		// Words about secrets, without one.
		{"Tôi quên mật khẩu rồi", false},
		{"mật khẩu là gì?", false},
		{"mật khẩu: quên rồi", false},
		{"Mã OTP chưa về", false},
		{"OTP là mã gì", false},
		{"OTP của tôi hết hạn sau 5 phút", false},
		{"I forgot my password", false},
		{"tôi đổi mật khẩu năm 2024", false},
		{"pin điện thoại yếu quá", false}, // "pin" is also a battery
		{"pin 5000 mAh", false},
		{"xóm có 1250 hộ, 4800 người", false},
		{"pass lại xe máy", false},
		{"pass: 0912345678", false},          // "to sell on", and whom to call
		{"quên mật khẩu 0912345678", false},  // the account, not its password
		{"số nhận OTP là 0912345678", false}, // the phone the OTP goes to
		{"OTP: 0912345678", false},           // an OTP is never a phone number
		{"mã xác thực gửi về 0912 345 678", false},
		{"OTP: 482913", true},
		{"password: 0912345678", true}, // a phone number kept as the password
		{"số nhận OTP 0912345678", false},
		// "mk" is also chat for "mình" (me): only a word with a digit after
		// it counts, and no phone number. "mk: hoamai" is the miss this
		// costs; "mk: hoamai99" above is still caught.
		{"gọi cho mk 0912345678", false},
		{"gọi cho mk 0912 345 678 nhé", false},
		{"số của mk là (+84) 912 345 678", false},
		{"mk là Phương", false},
		{"mk: Phương ở xóm 3", false},
		{"tối nay mk gọi lại", false},
		{"mk sinh năm 1990", false},
		{"mk: hoamai", false},
		{"passport", false},
		// Phones' models and names with a year: no symbol, no password.
		{"iPhone11", false},
		{"Iphone12", false},
		{"SamsungA50", false},
		{"RedmiNote8", false},
		{"ThanhHoa1990", false},
		{"máy cháu là iPhone11, cài VNeID được không?", false},
		{"@Hoa_Nguyen1990", false}, // a Telegram handle
		{"nhắn @ThanhHoa1990 nhé", false},
		// Everyday messages.
		{"3", false},
		{"xong rồi", false},
		{"Nguyễn Thị Hoa", false},
		{"Xóm 3, gần trường tiểu học", false},
		{"tôi 65 tuổi, có 2 con", false},
		{"4111 1111 1111 1112", false}, // 16 digits failing Luhn
		{"*998#", false},               // a USSD code
		{"1234567890", false},          // 10 digits: not an OTP, an ID or a card
	} {
		if got := flows.Sensitive(tc.in); got != tc.want {
			t.Errorf("Sensitive(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestPasswordLike(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"matkhau123", true},
		{"hoamai", true},
		{"hoa99", true},
		{"Abc@2024", true},
		{"123456", true},
		{"xong", false},
		{"được", false},
		{"chưa được", false},
		{"cảm ơn bác", false},
		{"", false},
		{"https://vneid.gov.vn", false},
	} {
		if got := flows.PasswordLike(tc.in); got != tc.want {
			t.Errorf("PasswordLike(%q) = %v, want %v", tc.in, got, tc.want)
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

// TestTypedPhrases is the table of what residents type instead of
// tapping (issue 19): with and without diacritics, teen code, emoji, and
// what each means at any step ("" is nothing: at a question it is the
// answer, elsewhere "tap a button").
func TestTypedPhrases(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		// done
		{"xong rồi", "done"}, {"xong roi", "done"}, {"ok", "done"}, {"OK ạ", "done"}, {"dc roi", "done"},
		{"đc rồi", "done"}, {"dc", "done"}, {"được r", "done"}, {"làm được rồi", "done"}, {"✅", "done"},
		{"👍", "done"}, {"Tôi làm xong rồi nhé", "done"},
		// stuck
		{"chưa được", "stuck"}, {"chua duoc", "stuck"}, {"ko đc", "stuck"}, {"k dc", "stuck"},
		{"không đc", "stuck"}, {"chưa làm được", "stuck"}, {"chua lam dc", "stuck"}, {"bị vướng", "stuck"},
		{"bi vuong", "stuck"}, {"vẫn lỗi", "stuck"}, {"làm không được ạ", "stuck"}, {"❌", "stuck"}, {"❓", "stuck"},
		// a plea for a person: help at once
		{"giúp tôi", "human"}, {"giup toi voi", "human"}, {"bác ơi tôi không biết làm", "human"},
		{"không biết", "human"}, {"ko biết", "human"}, {"k biet", "human"}, {"tôi không hiểu", "human"},
		{"khó quá", "human"}, {"cần người giúp", "human"}, {"🙋", "human"}, {"🆘", "human"}, {"help me", "human"},
		{"giúp em với ạ", "human"},
		// greetings
		{"xin chào", "hello"}, {"Xin chao", "hello"}, {"chào bác", "hello"}, {"alo", "hello"}, {"hello", "hello"},
		// words for commands
		{"menu", "/menu"}, {"quay lại", "/back"}, {"quay lai", "/back"}, {"hủy", "/cancel"}, {"bỏ qua", "skip"},
		{"hướng dẫn", "/help"},
		// nothing
		{"con mèo", ""}, {"xong việc nhà chưa", ""}, {"Vietcombank", ""}, {"0912345678", ""}, {"🐱", ""},
	} {
		if got := flows.Intent(tc.in); got != tc.want {
			t.Errorf("Intent(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
