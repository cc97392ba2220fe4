package flows

import (
	"strings"
	"unicode"
)

// Sensitive reports whether text looks like a secret a resident must never
// share: an OTP or PIN (4–8 digits), a 12-digit citizen ID number, a payment
// card number (13–19 digits passing the Luhn check), or a password given
// after a word such as "mật khẩu". Phone numbers (10 digits starting with 0,
// or +84) are not secrets. False positives only cost a warning; a miss could
// cost a resident their savings, so the rules lean towards warning.
func Sensitive(text string) bool {
	for _, run := range digitRuns(text) {
		n := len(run)
		switch {
		case n >= 4 && n <= 8:
			return true
		case n == 12:
			return true
		case n >= 13 && n <= 19 && luhn(run):
			return true
		}
	}
	f := Fold(text)
	for _, kw := range secretWords {
		i := strings.Index(" "+f+" ", " "+kw+" ")
		if i < 0 {
			continue
		}
		rest := strings.TrimLeft(f[i+len(kw):], " :=-")
		marked := len(rest) < len(strings.TrimLeft(f[i+len(kw):], " "))
		for _, p := range []string{"la ", "is ", "cua toi la "} {
			if strings.HasPrefix(rest, p) {
				rest, marked = strings.TrimLeft(rest[len(p):], " :"), true
			}
		}
		token, _, _ := strings.Cut(rest, " ")
		if len([]rune(token)) >= 4 && (marked || strings.ContainsAny(token, "0123456789")) {
			return true
		}
	}
	return false
}

var secretWords = []string{"mat khau", "password", "passcode", "ma pin", "pin", "otp", "cvv", "mk"}

// digitRuns returns the groups of digits in text, where digits separated
// only by single spaces, dots or dashes belong together ("123 456" is one
// OTP). A phone number is dropped.
func digitRuns(text string) []string {
	var runs []string
	var cur strings.Builder
	plus := false
	flush := func() {
		if cur.Len() > 0 {
			d := cur.String()
			if !isPhone(d, plus) {
				runs = append(runs, d)
			}
		}
		cur.Reset()
		plus = false
	}
	rs := []rune(text)
	for i, r := range rs {
		switch {
		case unicode.IsDigit(r) && r < 128:
			if cur.Len() == 0 && i > 0 && rs[i-1] == '+' {
				plus = true
			}
			cur.WriteRune(r)
		case (r == ' ' || r == '.' || r == '-') && cur.Len() > 0 && i+1 < len(rs) && unicode.IsDigit(rs[i+1]):
			// separator inside a number
		default:
			flush()
		}
	}
	flush()
	return runs
}

func isPhone(d string, plus bool) bool {
	if len(d) == 10 && d[0] == '0' && d[1] != '0' {
		return true
	}
	return plus && strings.HasPrefix(d, "84") && len(d) == 11
}

func luhn(d string) bool {
	sum := 0
	double := false
	for i := len(d) - 1; i >= 0; i-- {
		n := int(d[i] - '0')
		if double {
			n *= 2
			if n > 9 {
				n -= 9
			}
		}
		sum += n
		double = !double
	}
	return sum%10 == 0
}

// PaymentCode reports whether text is a pasted EMVCo merchant-presented QR
// payload, such as a VietQR code: it starts with the Payload Format
// Indicator "000201" (tag 00, length 02, value 01; NAPAS VietQR spec, see
// research §5.1). Its digits are not an OTP, so the safety filter lets it
// through to the step that checks it.
func PaymentCode(text string) bool {
	t := strings.TrimSpace(text)
	return len(t) > 20 && strings.HasPrefix(t, "000201")
}
