package flows

import (
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Sensitive reports whether text looks like a secret a resident must never
// share: an OTP, a PIN, a password, an ID-card or a payment-card number.
// A miss could cost a resident their savings, and a false alarm deletes a
// message they meant to send (a phone number for their helper, an amount),
// so the rules are these, pinned by TestSensitive:
//
//  1. The text is read in NFKC form, so full-width digits ("４８３９２０") and
//     letters count as plain ones. Web links and e-mail addresses are set
//     aside first: a link is not a secret (the QR checker warns about it).
//  2. Digits joined by spaces (any number of them), a dot or a dash are one
//     number ("483  920", "4111-1111-…"). A number is a secret when it has
//     4–8 digits (an OTP or a PIN), 9 (an old ID card, CMND), 12 (a citizen
//     ID, CCCD), or 13–19 passing the Luhn check (a payment card), unless
//     it is
//     - a phone number: 10 digits starting with 0, or the country code
//     84 ("+84", "(+84)", "(84)", or "84" written apart) and then a
//     mobile's 9 digits or those 10 ("(+84) 912 345 678", "+84 0912
//     345 678"); after a "+84" or "(84)" that is no phone, the digits
//     are read without the country code ("(+84) 123456" is an OTP);
//     - a year: 4 digits from 1900 to 2099;
//     - an amount: followed by a currency word (đ, đồng, vnd, k, nghìn,
//     ngàn, triệu, tr), or written in thousands ("500.000");
//     - a quantity: followed by a unit (kg, km, m, ha, mAh, kWh, hộ,
//     người, tuổi);
//     - a date: day, month and year joined by dots or dashes;
//     - a house or lane number: after "nhà", "ngõ", "ngách", "hẻm",
//     "kiệt";
//     - part of a word (letters right before or after it: "xom-1234",
//     "Hè2025", an invite code), unless it has an ID card's 9 or 12
//     digits or is a card number.
//  3. A secret word ("mật khẩu", "password", "passcode", "pw", "mã pin",
//     "OTP", "mã xác thực", "mã xác nhận", "mã bảo mật", "CVV"; "mk",
//     "pin" and "pass" only as below) followed, past small words such as
//     "của tôi", by a word that has a digit and 4 or more characters and
//     is not a year; or, when a ":", "=", "là" or "is" marks the word as
//     the secret, by a word of 6 or more characters, or 4 or more with a
//     digit or a symbol ("mật khẩu: hoamai", "password:hunter22", "mã PIN
//     là 1985"). A phone number there is the account, not its secret
//     ("quên mật khẩu 0912345678"), unless marked ("mật khẩu là
//     0912345678": many keep their number as their password).
//     "mk" is also chat for "mình" (me), by residents and volunteers alike
//     ("gọi cho mk 0912345678", "mk là Phương"), so after it only a word
//     with a digit counts, marked or not, and never a phone number: "mk:
//     hoamai99" is caught, "mk: hoamai" is the miss this costs. "pin" and
//     "pass" also mean a battery and "to sell on" ("pass: 0912345678"), so
//     they count only when marked, and never with a phone number.
//     A word that starts with a secret word and goes on with 3 or more
//     characters including a digit is one too ("matkhau123", "mk123456",
//     "pass1234").
//  4. A password-like word: 8 to 32 ASCII characters with a symbol and
//     two more of lower case, upper case and digits ("MyP@ssw0rd!"). The
//     symbol is required because letters of both cases and digits alone
//     are a phone's model or a name with a year ("iPhone11", "SamsungA50",
//     "ThanhHoa1990"), which residents name in the guides. Dashes,
//     underscores and dots are not symbols here, so a hamlet id or an
//     invite code is not one, nor is an "@" that starts the word (a
//     Telegram handle, "@Hoa_Nguyen1990"); a word with ":" or ";" is the
//     text of some other code ("WIFI:S:…;P:…;;", a contact card), which
//     the QR checker answers.
//
// At a step whose screen asks for a login (Step.Secret), PasswordLike
// catches more: see there.
func Sensitive(text string) bool {
	text = nfkc(text)
	if mayHoldLink(text) {
		text = links.ReplaceAllString(text, " ")
	}
	for _, n := range numbers(text) {
		if n.secret() {
			return true
		}
	}
	if secretWordNear(text) {
		return true
	}
	for _, w := range strings.Fields(text) {
		if passwordMix(w) {
			return true
		}
	}
	return false
}

// PasswordLike reports whether text, typed at a step whose screen asks for
// a login (Step.Secret), may be the password itself: a secret by Sensitive,
// or one word (no space) of 6 or more characters, or of 4 or more with a
// digit or a symbol ("hoamai", "matkhau123"). The engine asks it only after
// the text matched no button, command or known word ("xong", "menu").
func PasswordLike(text string) bool {
	if Sensitive(text) {
		return true
	}
	t := strings.TrimSpace(nfkc(text))
	if t == "" || strings.ContainsFunc(t, unicode.IsSpace) || (mayHoldLink(t) && links.MatchString(t)) {
		return false
	}
	n := len([]rune(t))
	return n >= 6 || (n >= 4 && strings.ContainsFunc(t, func(r rune) bool { return !unicode.IsLetter(r) }))
}

// nfkc returns text as valid UTF-8 in NFKC form; most text already is, and
// is returned as it is, without a copy.
func nfkc(text string) string {
	text = strings.ToValidUTF8(text, "")
	if norm.NFKC.IsNormalString(text) {
		return text
	}
	return norm.NFKC.String(text)
}

// mayHoldLink is a cheap test before the links expression, which costs a
// few microseconds on every message: each of its forms has a "/", an "@"
// or "www.".
func mayHoldLink(text string) bool {
	if strings.ContainsAny(text, "/@") {
		return true
	}
	for i := 0; i+4 <= len(text); i++ {
		if strings.EqualFold(text[i:i+4], "www.") {
			return true
		}
	}
	return false
}

// links matches web links and e-mail addresses.
var links = regexp.MustCompile(`(?i)(?:https?://|www\.)\S+|[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}/\S*`)

// number is a run of digits as typed, with what stands around it.
type number struct {
	digits string
	groups []string // the digit groups, in order
	seps   []rune   // the separator between each two groups: ' ', '.', '-' or ')' after "(84" or "(+84"
	plus   bool     // a "+" right before it
	paren  bool     // it starts with the country code in parentheses, "(84)" or "(+84)"
	inWord bool     // letters glued before or after it
	after  string   // the folded word right after it (glued or not)
	before string   // the folded word right before it
}

func (n number) secret() bool {
	if n.isPhone() {
		return false
	}
	if m, ok := n.local(); ok {
		return m.secret()
	}
	d := len(n.digits)
	switch {
	case d == 9 || d == 12:
	case d >= 13 && d <= 19:
		return luhn(n.digits)
	case d >= 4 && d <= 8:
	default:
		return false
	}
	if currencies[n.after] || units[n.after] {
		return false
	}
	if d >= 9 {
		return true // an ID card's length, even glued to a word ("CCCD001…")
	}
	if n.inWord || addressWords[n.before] || n.thousands() || n.date() {
		return false
	}
	return !(d == 4 && isYear(n.digits))
}

func (n number) isPhone() bool {
	d := n.digits
	if national(d) {
		return true
	}
	// No citizen ID starts with 84 (their first three digits are a
	// province, 001–096), so the 0-prefixed form after it is no CCCD.
	if !n.country() {
		return false
	}
	rest := d[2:]
	return national(rest) || (len(rest) == 9 && strings.IndexByte(mobileFirst, rest[0]) >= 0)
}

// country reports whether the number starts with the country code: "+84…",
// "(+84) …", "(84) …" or "84 …".
func (n number) country() bool {
	g := n.groups[0]
	return strings.HasPrefix(g, "84") && (n.plus || n.paren || g == "84")
}

// mobileFirst are the digits a mobile number starts with after 84 (since
// 2018: 3, 5, 7, 8, 9). An old ID card (CMND) starts with its province's
// code, 01 to 38, so one written after "+84" is still caught unless it
// starts with 3.
const mobileFirst = "35789"

// local returns the number after its country code, when one is marked as
// such ("+84", "(84)") and the number is no phone: "(+84) 123456" holds the
// OTP 123456, not the 8 digits 84123456.
func (n number) local() (number, bool) {
	if !(n.plus || n.paren) || !n.country() || len(n.digits) == 2 {
		return n, false
	}
	m := n
	m.plus, m.paren = false, false
	m.digits = n.digits[2:]
	if n.groups[0] == "84" {
		m.groups, m.seps = n.groups[1:], n.seps[1:]
	} else {
		m.groups = append([]string{n.groups[0][2:]}, n.groups[1:]...)
	}
	return m, true
}

// national: a phone number as dialled at home, 10 digits starting with 0
// ("0912345678").
func national(d string) bool {
	return len(d) == 10 && d[0] == '0' && d[1] != '0'
}

// thousands: "500.000", "1.250.000".
func (n number) thousands() bool {
	if len(n.groups) < 2 || len(n.groups[0]) > 3 {
		return false
	}
	for i, g := range n.groups[1:] {
		if len(g) != 3 || n.seps[i] != '.' {
			return false
		}
	}
	return true
}

// date: "07.12.2025", "7-12-2025", "2025-12-07".
func (n number) date() bool {
	if len(n.groups) != 3 || n.seps[0] == ' ' || n.seps[0] != n.seps[1] {
		return false
	}
	g := n.groups
	short := func(s string) bool { return len(s) <= 2 }
	return (short(g[0]) && short(g[1]) && isYear(g[2])) || (isYear(g[0]) && short(g[1]) && short(g[2]))
}

func isYear(s string) bool {
	y, err := strconv.Atoi(s)
	return err == nil && len(s) == 4 && y >= 1900 && y <= 2099
}

var currencies = map[string]bool{"d": true, "dong": true, "vnd": true, "k": true, "nghin": true, "ngan": true,
	"trieu": true, "tr": true, "ty": true, "ti": true}

var units = map[string]bool{"kg": true, "km": true, "m": true, "ha": true, "mah": true, "kwh": true, "ho": true,
	"nguoi": true, "tuoi": true}

var addressWords = map[string]bool{"nha": true, "ngo": true, "ngach": true, "hem": true, "kiet": true}

// numbers finds the numbers in text (rule 2 of Sensitive).
func numbers(text string) []number {
	rs := []rune(text)
	var out []number
	for i := 0; i < len(rs); {
		if !isDigit(rs[i]) {
			i++
			continue
		}
		n := number{plus: i > 0 && rs[i-1] == '+'}
		start := i
		var g strings.Builder
		for {
			for i < len(rs) && isDigit(rs[i]) {
				g.WriteRune(rs[i])
				i++
			}
			n.groups = append(n.groups, g.String())
			g.Reset()
			// A separator continues the number only when a digit follows.
			j, sep := i, rune(0)
			switch {
			case j < len(rs) && (rs[j] == '.' || rs[j] == '-'):
				sep = rs[j]
				j++
			case j < len(rs) && rs[j] == ')' && countryInParens(rs, start, n.groups):
				sep, n.paren = ')', true
				for j++; j < len(rs) && unicode.IsSpace(rs[j]); j++ {
				}
			default:
				for j < len(rs) && unicode.IsSpace(rs[j]) {
					sep = ' '
					j++
				}
			}
			if sep == 0 || j >= len(rs) || !isDigit(rs[j]) {
				break
			}
			n.seps = append(n.seps, sep)
			i = j
		}
		n.digits = strings.Join(n.groups, "")
		n.inWord = glued(rs, start-1, -1) || glued(rs, i, +1)
		n.before = Fold(wordAt(rs, start-1, -1))
		n.after = Fold(wordAt(rs, i, +1))
		out = append(out, n)
	}
	return out
}

// countryInParens reports whether the number that starts at start is so
// far the country code in parentheses, "(84" or "(+84", whose ")" then
// joins it to the number after it.
func countryInParens(rs []rune, start int, groups []string) bool {
	if len(groups) != 1 || groups[0] != "84" {
		return false
	}
	i := start - 1
	if i >= 0 && rs[i] == '+' {
		i--
	}
	return i >= 0 && rs[i] == '('
}

// glued reports whether the rune at i (going in direction dir) ties the
// number to a word: a letter, an underscore, or a dash or "@" next to one.
func glued(rs []rune, i, dir int) bool {
	if i < 0 || i >= len(rs) {
		return false
	}
	r := rs[i]
	if unicode.IsLetter(r) || r == '_' {
		return true
	}
	if r == '-' || r == '@' {
		j := i + dir
		return j >= 0 && j < len(rs) && (unicode.IsLetter(rs[j]) || isDigit(rs[j]))
	}
	return false
}

// wordAt returns the word of letters nearest to i in direction dir, past
// spaces only.
func wordAt(rs []rune, i, dir int) string {
	for i >= 0 && i < len(rs) && unicode.IsSpace(rs[i]) {
		i += dir
	}
	j := i
	for j >= 0 && j < len(rs) && unicode.IsLetter(rs[j]) {
		j += dir
	}
	if dir < 0 {
		return string(rs[j+1 : i+1])
	}
	return string(rs[i:j])
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }

// strength says how surely a secret word announces a secret (rule 3).
type strength int

const (
	strong strength = iota // a word with a digit, or any marked word
	slang                  // "mk", also "mình": only a word with a digit, never a phone number
	weak                   // "pin", "pass": only a marked word, never a phone number
)

// secretWords are the words of rule 3, folded.
var secretWords = []struct {
	words    []string
	strength strength
	// password: a phone number marked as this word's secret ("mật khẩu
	// là 0912…") is one, since many people use their number as their
	// password; an OTP, a PIN or a CVV is never a phone number ("số nhận
	// OTP là 0912…" names the phone the code goes to).
	password bool
}{
	{words: []string{"mat", "khau"}, password: true}, {words: []string{"matkhau"}, password: true},
	{words: []string{"mk"}, strength: slang},
	{words: []string{"password"}, password: true}, {words: []string{"passcode"}, password: true},
	{words: []string{"pw"}, password: true},
	{words: []string{"ma", "pin"}}, {words: []string{"otp"}}, {words: []string{"cvv"}}, {words: []string{"cvc"}},
	{words: []string{"ma", "xac", "thuc"}}, {words: []string{"ma", "xac", "nhan"}}, {words: []string{"ma", "bao", "mat"}},
	{words: []string{"pin"}, strength: weak}, {words: []string{"pass"}, strength: weak},
}

// gluedPrefixes start a word that is a secret with its digits (rule 3).
var gluedPrefixes = []string{"matkhau", "password", "passcode", "pass", "mk", "pw", "pin", "otp", "cvv"}

// fillers are the small words between a secret word and the secret.
var fillers = map[string]bool{"cua": true, "toi": true, "minh": true, "em": true, "chau": true, "bac": true,
	"con": true, "anh": true, "chi": true, "moi": true, "my": true, "the": true, "new": true, "ma": true}

// markers say that the next word is the secret.
var markers = map[string]bool{":": true, "=": true, "la": true, "is": true}

// spaceMarks puts spaces around the marks that say "the secret follows".
var spaceMarks = strings.NewReplacer(":", " : ", "=", " = ")

// secretWordNear applies rule 3 of Sensitive.
func secretWordNear(text string) bool {
	f := Fold(spaceMarks.Replace(text))
	words := strings.Fields(f)
	// The words without their punctuation, trimmed once (not once per
	// secret word).
	bare := make([]string, len(words))
	for i, w := range words {
		bare[i] = strings.Trim(w, ",.;!?()\"'")
	}
	for i, w := range bare {
		for _, p := range gluedPrefixes {
			if rest, ok := strings.CutPrefix(w, p); ok && len(rest) >= 3 && strings.ContainsFunc(rest, isDigit) {
				return true
			}
		}
		for _, kw := range secretWords {
			if !hasWords(bare[i:], kw.words) {
				continue
			}
			marked := false
			for j := i + len(kw.words); j < min(len(words), i+len(kw.words)+5); j++ {
				next := words[j]
				if markers[next] {
					marked = true
					continue
				}
				if fillers[next] {
					continue
				}
				if secretAfterWord(next, marked, kw.strength) &&
					!(phoneAt(words[j:]) && !(kw.password && marked)) {
					return true
				}
				break // the first word that is not small decides
			}
		}
	}
	return false
}

// hasWords reports whether words (trimmed) begin with want.
func hasWords(words, want []string) bool {
	if len(words) < len(want) {
		return false
	}
	for i, w := range want {
		if words[i] != w {
			return false
		}
	}
	return true
}

// secretAfterWord says whether w, the first word after a secret word, is
// the secret.
func secretAfterWord(w string, marked bool, s strength) bool {
	w = strings.TrimRight(w, ",.;!?)\"'")
	n := len([]rune(w))
	digit := strings.ContainsFunc(w, isDigit)
	switch {
	case s == slang:
		return digit && n >= 4 && (marked || !isYear(w))
	case marked:
		other := strings.ContainsFunc(w, func(r rune) bool { return !unicode.IsLetter(r) })
		return n >= 6 || (n >= 4 && other)
	}
	return s == strong && digit && n >= 4 && !isYear(w)
}

// phoneAt reports whether words (folded) begin with a phone number as rule
// 2 reads one, over as many words as it is written in ("0912 345 678",
// "(+84) 912 345 678"). It runs only on a word that rule 3 would take for
// the secret, so it costs nothing on most messages.
func phoneAt(words []string) bool {
	w := strings.TrimLeft(words[0], "+(")
	if w == "" || !isDigit(rune(w[0])) {
		return false
	}
	ns := numbers(strings.Join(words[:min(len(words), 5)], " "))
	return len(ns) > 0 && ns[0].isPhone()
}

// passwordMix applies rule 4 of Sensitive to one word.
func passwordMix(w string) bool {
	w = strings.Trim(w, ",.;:!?()\"'«»")
	if len(w) < 8 || len(w) > 32 || strings.ContainsAny(w, ":;") {
		return false
	}
	var lower, upper, digit, symbol bool
	for i, r := range w {
		switch {
		case r > unicode.MaxASCII:
			return false
		case unicode.IsLower(r):
			lower = true
		case unicode.IsUpper(r):
			upper = true
		case isDigit(r):
			digit = true
		case r == '-' || r == '_' || r == '.' || (i == 0 && r == '@'):
		default:
			symbol = true
		}
	}
	classes := 0
	for _, b := range []bool{lower, upper, digit} {
		if b {
			classes++
		}
	}
	return symbol && classes >= 2
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
