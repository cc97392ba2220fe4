package flows

import (
	"crypto/sha256"
	"encoding/binary"
	"regexp"
	"strconv"
	"strings"
)

// A hamlet code is what a resident on a channel without deep links (Zalo)
// sends to be filed under a hamlet, as /start h_<hamlet id> does on
// Telegram: four characters printed on the hamlet's poster ("XAK7").
//
// The alphabet leaves out the characters read or typed as another (0 and
// O, 1, I and L). A code has at least one digit and one letter, so no word
// is a code: Vietnamese and English words have no digits, and a lone
// number ("2025", an amount) has no letters, so neither is ever taken for
// a code, whatever hamlets exist. That leaves 31⁴ − 23⁴ − 8⁴ = 639,584
// codes. A code is never a secret by Sensitive's rules: its at most three
// digits are glued to a letter, it is shorter than any secret word with its
// secret, and it has no symbol (TestCodesAreNotSensitive).
const (
	HamletCodeAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
	HamletCodeLen      = 4
)

// HamletCodeOf reads text as a hamlet code: the code alone, in any case,
// with white space around it ("  xak7 " is "XAK7"). It says nothing of
// whether a hamlet has that code.
func HamletCodeOf(text string) (string, bool) {
	c := strings.TrimSpace(text)
	if len(c) != HamletCodeLen { // first, as it costs nothing: every message is asked
		return "", false
	}
	c = strings.ToUpper(c)
	if !wellFormedCode(c) {
		return "", false
	}
	return c, true
}

// wellFormedCode: HamletCodeLen characters of the alphabet, at least one
// digit and one letter.
func wellFormedCode(c string) bool {
	var digit, letter bool
	for i := 0; i < len(c); i++ {
		b := c[i]
		if strings.IndexByte(HamletCodeAlphabet, b) < 0 {
			return false
		}
		if '0' <= b && b <= '9' {
			digit = true
		} else {
			letter = true
		}
	}
	return digit && letter
}

// HamletCodeCandidates returns the first n codes a hamlet may get, in
// order, derived from its id alone: the store gives a new hamlet the first
// one no other hamlet holds, and keeps it (store.Redis.Areas). Deriving
// them makes every replica and every fresh deployment of the same seed
// agree; storing the one taken keeps it when a hamlet added later derives
// the same first code.
func HamletCodeCandidates(hamletID string, n int) []string {
	out := make([]string, 0, n)
	for k := 0; len(out) < n; k++ {
		sum := sha256.Sum256([]byte(hamletID + "\x00" + strconv.Itoa(k)))
		v := binary.BigEndian.Uint64(sum[:8])
		var b [HamletCodeLen]byte
		for i := range b {
			b[i] = HamletCodeAlphabet[v%uint64(len(HamletCodeAlphabet))]
			v /= uint64(len(HamletCodeAlphabet))
		}
		if c := string(b[:]); wellFormedCode(c) {
			out = append(out, c)
		}
	}
	return out
}

// InviteCodePattern is the form of a team invite code (desk.InviteCode):
// 16 characters of lower-case base32.
var InviteCodePattern = regexp.MustCompile(`^[a-z2-7]{16}$`)

// InviteCodeOf reads text as an invite code typed alone, in any case, with
// white space around it. Only a code with a digit and a letter counts, and
// never one Sensitive takes for a secret: a 16-letter word
// ("responsibilities") is no code, and a secret is never handed to /join.
// desk.InviteCode makes only codes that pass.
func InviteCodeOf(text string) (string, bool) {
	c := strings.TrimSpace(text)
	if len(c) != 16 {
		return "", false
	}
	c = strings.ToLower(c)
	if !InviteCodePattern.MatchString(c) || !strings.ContainsAny(c, "234567") ||
		!strings.ContainsFunc(c, func(r rune) bool { return 'a' <= r && r <= 'z' }) || Sensitive(c) {
		return "", false
	}
	return c, true
}

// typedCode reads a text that is exactly a hamlet code of a hamlet that
// exists today, or an invite code, as the command a Telegram deep link
// would have sent (/start h_<id>, /join CODE): channels without deep links
// (Zalo) print the code instead. Any other text is left as it is.
func (t *turn) typedCode(in Input) Input {
	if in.Kind != InputText {
		return in
	}
	// A message being written for someone else (to the resident one
	// helps, where one lives for the helper) is sent as it is, even a code.
	if (t.s.Stage == StageCompose && t.s.Compose != "") || (t.s.Stage == StageNote && t.s.NoteFor != "") {
		return in
	}
	if c, ok := HamletCodeOf(in.Text); ok {
		if h, ok := t.e.Areas.HamletByCode(c); ok && h.Level == LevelHamlet && h.ValidOn(t.today()) {
			return Input{Kind: InputCommand, Command: "start", Text: "h_" + h.ID,
				UpdateID: in.UpdateID, Lang: in.Lang, Name: in.Name}
		}
		return in
	}
	// At a login screen 16 letters and digits are more likely the
	// password than an invite: not handed to /join.
	if step := t.waitingStep(); step != nil && step.Secret {
		return in
	}
	if c, ok := InviteCodeOf(in.Text); ok {
		return Input{Kind: InputCommand, Command: "join", Text: c, UpdateID: in.UpdateID, Lang: in.Lang, Name: in.Name}
	}
	return in
}
