// Package vietqr reads the text of a payment QR code, as a resident pastes it
// or a photo decoder returns it, and says what it is: a VietQR transfer to a
// bank account or card, a merchant or bill code of another scheme, a web link,
// or something broken. It backs the "check this QR before paying" step of the
// qr-pay flow (research §5.5).
//
// A VietQR code is an EMVCo merchant-presented payload: a flat list of
// tag-length-value fields (2-digit tag, 2-digit decimal length, value), some
// of them templates holding a nested list with the same rules. The transfer
// details sit in tag 38 under the NAPAS GUID A000000727: 38.01.00 is the
// bank's BIN, 38.01.01 the account or card number, 38.02 the service code.
// Tag 63, always last, is the CRC-16/CCITT-FALSE of everything before its
// value (research §5.1, §5.2).
//
// A well-formed code proves only that nobody mistyped it. A code pasted over
// a shop's real one is just as well-formed, and a personal VietQR carries no
// holder name, so the conversation still asks the payer to compare the name
// their bank app shows (research §5.5, §5.6).
//
// The package is pure: no I/O beyond the embedded bank list, and it imports
// nothing else of this module.
package vietqr

import (
	"fmt"
	"strings"
)

// Kind is what a code turned out to be.
type Kind string

// The kinds of code Parse tells apart.
const (
	KindAccount  Kind = "vietqr-account" // VietQR transfer to a bank account (service QRIBFTTA)
	KindCard     Kind = "vietqr-card"    // VietQR transfer to a card number (service QRIBFTTC)
	KindMerchant Kind = "merchant"       // merchant or bill code with no bank account inside (VNPAY-QR, EVN bills, NAPAS QRPUSH)
	KindURL      Kind = "url"            // a web link, not a payment code
	KindOther    Kind = "other"          // an EMVCo payload with no merchant account, or too damaged to tell which
	KindText     Kind = "text"           // not a payment code at all: a sentence, a number, another scheme's link, nothing
)

// Verdict is Parse's judgement of a code.
type Verdict string

// The verdicts. Invalid always comes with Problems, Warning with Warnings;
// Valid has neither.
const (
	Valid   Verdict = "valid"
	Warning Verdict = "warning"
	Invalid Verdict = "invalid"
)

// Warning codes, stable strings for the conversation to branch on.
const (
	WarnUnknownBank       = "unknown-bank"        // the BIN is not in the bank list
	WarnURL               = "url"                 // the text is a web link
	WarnMerchantNoAccount = "merchant-no-account" // a merchant/bill code: no bank account to show
	WarnDynamicAmount     = "dynamic-amount"      // point of initiation 12 (one payment) but no amount in tag 54
	WarnNotVietQR         = "not-vietqr"          // well-formed EMVCo, but no merchant account of any scheme
	WarnCurrency          = "currency-not-vnd"    // tag 53 is missing or not 704
)

// NAPASGUID is the globally unique identifier of NAPAS (VietQR) in tag 38.00.
const NAPASGUID = "A000000727"

// Service codes of tag 38.02 (research §5.1).
const (
	ServiceAccount  = "QRIBFTTA" // 24/7 transfer to an account
	ServiceCard     = "QRIBFTTC" // 24/7 transfer to a card
	ServiceMerchant = "QRPUSH"   // merchant payment (listed by unicubevn/vietqr-payment-js)
)

// Result is what Parse found. Fields are filled as far as the code could be
// decoded, also when it is Invalid: check Verdict before showing any of them.
type Result struct {
	Kind     Kind
	Verdict  Verdict
	Static   bool   // point of initiation 11 (reusable) vs 12 (one payment)
	BIN      string // tag 38.01.00
	Bank     string // short name from the bank list; "" if the BIN is unknown
	BankName string // full name
	Account  string // account number, or card number (tag 38.01.01)
	Amount   string // whole VND digits; "" if none
	Currency string // tag 53, ISO 4217 numeric
	Purpose  string // tag 62.08
	Bill     string // tag 62.01

	MerchantName, MerchantCity string // tags 59, 60

	Scheme   string   // GUID of a non-VietQR merchant account (tag 26…51), e.g. A000000775
	URL      string   // the link, for KindURL
	Problems []string // why Invalid, short English phrases for logs
	Warnings []string // machine codes, the Warn… constants
}

// field is one decoded tag-length-value field.
type field struct {
	tag   string
	value string
}

// tlvError says where a list of fields stopped making sense.
type tlvError struct {
	off    int
	reason string
}

func (e *tlvError) Error() string {
	return fmt.Sprintf("malformed tlv at offset %d: %s", e.off, e.reason)
}

// parseTLV splits s into fields: a 2-digit tag, a 2-digit decimal length and
// that many bytes of value, repeated to the end. Lengths count bytes, so a
// value with diacritics must have declared its UTF-8 length (research §5.2).
func parseTLV(s string) ([]field, error) {
	var fields []field
	for i := 0; i < len(s); {
		if len(s)-i < 4 {
			return fields, &tlvError{i, "truncated field header"}
		}
		tag, length := s[i:i+2], s[i+2:i+4]
		if !isDigits(tag) {
			return fields, &tlvError{i, fmt.Sprintf("tag %q is not 2 digits", tag)}
		}
		if !isDigits(length) {
			return fields, &tlvError{i + 2, fmt.Sprintf("tag %s: length %q is not 2 decimal digits", tag, length)}
		}
		n := int(length[0]-'0')*10 + int(length[1]-'0')
		start := i + 4
		if n > len(s)-start {
			return fields, &tlvError{i, fmt.Sprintf("tag %s: length %d runs past the end", tag, n)}
		}
		fields = append(fields, field{tag: tag, value: s[start : start+n]})
		i = start + n
	}
	return fields, nil
}

// template is a nested list of fields, indexed by tag.
type template map[string]string

// parseTemplate decodes a nested TLV value. A repeated sub-tag is an error:
// two readers could take different values from it.
func parseTemplate(v string) (template, error) {
	fields, err := parseTLV(v)
	if err != nil {
		return nil, err
	}
	t := make(template, len(fields))
	for _, f := range fields {
		if _, dup := t[f.tag]; dup {
			return nil, fmt.Errorf("duplicate sub-tag %s", f.tag)
		}
		t[f.tag] = f.value
	}
	return t, nil
}

// Parse decodes and judges the text of a QR code. It never panics. Leading
// and trailing white space is trimmed. http/https links come back as KindURL
// with the "url" warning. Text that is no EMVCo payload at all (see
// looksEMV), empty text included, comes back as KindText, Invalid: "not a
// payment code", which a conversation must tell apart from a payment code
// that is damaged (any other Kind, Invalid).
func Parse(text string) Result {
	s := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(text), "\uFEFF"))
	var r Result
	switch {
	case s == "":
		r.Kind = KindText
		r.problem("empty input")
	case hasPrefixFold(s, "http://") || hasPrefixFold(s, "https://"):
		r.Kind = KindURL
		r.URL = s
		r.warn(WarnURL)
	case !looksEMV(s):
		r.Kind = KindText
		r.problem("not an emvco payload")
	default:
		r.parsePayload(s)
	}
	r.judge()
	return r
}

// looksEMV reports whether s is meant as an EMVCo payload, sound or not. Every
// EMVCo merchant-presented code begins with its payload format indicator,
// tag 00 of length 02 ("0002", then the version "01"), so a code cut short,
// mistyped or with a wrong CRC still begins so; one that lost its first
// characters still holds the NAPAS GUID (VietQR) or ends with its CRC field
// ("6304" and 4 hex digits); one whose fields were put in another order
// reads, whole, as a list of fields. A sentence, a number or a link of
// another scheme does none of these: it is not a payment code, rather than a
// broken one.
func looksEMV(s string) bool {
	if strings.HasPrefix(s, "0002") || strings.Contains(strings.ToUpper(s), NAPASGUID) {
		return true
	}
	if n := len(s); n >= 8 && s[n-8:n-4] == "6304" && isHex(s[n-4:]) {
		return true
	}
	// Three fields at least: a 4- to 8-digit number such as "10001000"
	// reads as two empty fields by accident.
	fields, err := parseTLV(s)
	return err == nil && len(fields) >= 3
}

func (r *Result) parsePayload(s string) {
	r.Kind = KindOther
	fields, err := parseTLV(s)
	if err != nil {
		r.problem(err.Error())
		return
	}

	// Framing: 00 first with value 01, 63 last with the CRC.
	if fields[0].tag != "00" {
		r.problem(fmt.Sprintf("tag 00 is not first (found %s)", fields[0].tag))
	} else if fields[0].value != "01" {
		r.problem(fmt.Sprintf("payload format indicator is %q, want \"01\"", fields[0].value))
	}
	r.checkCRC(s, fields)

	tags := make(map[string]string, len(fields))
	for i, f := range fields {
		if _, dup := tags[f.tag]; dup {
			// A second 38 or 54 could show one thing here and pay another in a bank app.
			r.problem("duplicate tag " + f.tag)
			continue
		}
		tags[f.tag] = f.value
		if f.tag == "63" && i != len(fields)-1 {
			r.problem("tag 63 (crc) is not last")
		}
	}

	if poi, ok := tags["01"]; ok {
		switch poi {
		case "11":
			r.Static = true
		case "12":
		default:
			r.problem(fmt.Sprintf("point of initiation is %q, want 11 or 12", poi))
		}
	}

	// Merchant account templates 26–51, each with a GUID in sub-tag 00.
	accounts := map[string]template{}
	for _, f := range fields {
		if f.tag < "26" || f.tag > "51" {
			continue
		}
		t, err := parseTemplate(f.value)
		if err != nil {
			r.problem(fmt.Sprintf("tag %s: %v", f.tag, err))
			continue
		}
		accounts[f.tag] = t
	}
	if t, ok := tags["62"]; ok {
		add, err := parseTemplate(t)
		if err != nil {
			r.problem(fmt.Sprintf("tag 62: %v", err))
		}
		r.Bill, r.Purpose = add["01"], add["08"]
	}
	if t, ok := tags["64"]; ok {
		if _, err := parseTemplate(t); err != nil {
			r.problem(fmt.Sprintf("tag 64: %v", err))
		}
	}

	r.Currency = tags["53"]
	if r.Currency != "704" {
		r.warn(WarnCurrency)
	}
	if a, ok := tags["54"]; ok {
		r.Amount = a
		if !isDigits(a) || len(a) > 13 {
			r.problem("amount (tag 54) is not whole VND digits")
		}
	}
	if tags["01"] == "12" && r.Amount == "" {
		r.warn(WarnDynamicAmount)
	}
	r.MerchantName, r.MerchantCity = tags["59"], tags["60"]

	// Scheme: the GUID of the first merchant account that is not VietQR.
	first := ""
	for tag, t := range accounts {
		if tag == "38" && strings.EqualFold(t["00"], NAPASGUID) {
			continue
		}
		if first == "" || tag < first {
			first = tag
		}
	}
	if first != "" {
		r.Scheme = accounts[first]["00"]
	}

	if t, ok := accounts["38"]; ok && strings.EqualFold(t["00"], NAPASGUID) {
		r.parseNAPAS(t)
		return
	}
	if _, ok := tags["38"]; ok && accounts["38"] == nil {
		return // tag 38 is malformed (already a problem): do not guess what it was
	}
	for tag := range tags {
		if tag >= "02" && tag <= "51" {
			r.Kind = KindMerchant
			r.warn(WarnMerchantNoAccount)
			return
		}
	}
	r.warn(WarnNotVietQR)
}

// parseNAPAS reads the VietQR template of tag 38.
func (r *Result) parseNAPAS(t template) {
	switch svc := t["02"]; svc {
	case ServiceAccount:
		r.Kind = KindAccount
	case ServiceCard:
		r.Kind = KindCard
	case ServiceMerchant:
		r.Kind = KindMerchant
	case "":
		r.Kind = KindAccount
		r.problem("tag 38: missing service code (38.02)")
	default:
		r.Kind = KindAccount
		r.problem(fmt.Sprintf("tag 38: unknown service code %q", svc))
	}
	ben, ok := t["01"]
	if !ok {
		r.problem("tag 38: missing beneficiary (38.01)")
		return
	}
	b, err := parseTemplate(ben)
	if err != nil {
		r.problem(fmt.Sprintf("tag 38.01: %v", err))
		return
	}
	r.BIN = b["00"]
	if len(r.BIN) != 6 || !isDigits(r.BIN) {
		r.problem("tag 38.01: bin (38.01.00) is not 6 digits")
	} else if bank, ok := BankByBIN(r.BIN); ok {
		r.Bank, r.BankName = bank.ShortName, bank.Name
	} else {
		r.warn(WarnUnknownBank)
	}
	if r.Kind == KindMerchant {
		// QRPUSH: 38.01.01 is a merchant id, not an account to show.
		r.warn(WarnMerchantNoAccount)
		return
	}
	r.Account = b["01"]
	switch {
	case r.Account == "":
		r.problem("tag 38.01: missing account or card number (38.01.01)")
	case len(r.Account) > 19:
		r.problem("tag 38.01: account or card number longer than 19")
	case r.Kind == KindCard && !isDigits(r.Account):
		r.problem("tag 38.01: card number is not digits")
	case !isAlnum(r.Account):
		// Letters are fine (MoMo PSP…, ZaloPay 99ZP…), anything else is not.
		r.problem("tag 38.01: account number has characters other than letters and digits")
	}
}

// checkCRC checks that the last field is tag 63 holding 4 hex digits equal
// to the CRC of everything before them, "6304" included.
func (r *Result) checkCRC(s string, fields []field) {
	last := fields[len(fields)-1]
	if last.tag != "63" {
		for _, f := range fields {
			if f.tag == "63" {
				return // reported as "not last" by the caller
			}
		}
		r.problem("missing crc (tag 63)")
		return
	}
	if len(last.value) != 4 || !isHex(last.value) {
		r.problem("crc (tag 63) is not 4 hex digits")
		return
	}
	want := fmt.Sprintf("%04X", CRC16([]byte(s[:len(s)-4])))
	if !strings.EqualFold(last.value, want) {
		r.problem(fmt.Sprintf("crc mismatch: have %s want %s", last.value, want))
	}
}

// judge sets the verdict from the problems and warnings found.
func (r *Result) judge() {
	switch {
	case len(r.Problems) > 0:
		r.Verdict = Invalid
	case len(r.Warnings) > 0:
		r.Verdict = Warning
	default:
		r.Verdict = Valid
	}
}

func (r *Result) problem(p string) { r.Problems = append(r.Problems, p) }

func (r *Result) warn(code string) {
	for _, w := range r.Warnings {
		if w == code {
			return
		}
	}
	r.Warnings = append(r.Warnings, code)
}

// CRC16 is CRC-16/CCITT-FALSE: polynomial 0x1021, initial value 0xFFFF, no
// reflection, no final XOR. Its check value over "123456789" is 0x29B1.
func CRC16(data []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, b := range data {
		crc ^= uint16(b) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// MaskCard hides all but the last four characters of a card number, as in
// "•••• 1234", so a card can be named in a message without being exposed.
// Spaces and hyphens are ignored; anything shorter than 4 is fully masked.
func MaskCard(n string) string {
	var keep []rune
	for _, c := range n {
		if c != ' ' && c != '-' && c != '\t' {
			keep = append(keep, c)
		}
	}
	if len(keep) < 4 {
		return "••••"
	}
	return "•••• " + string(keep[len(keep)-4:])
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

func isAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}
