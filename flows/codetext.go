package flows

import "strings"

// CodeText reports whether text, pasted where a QR code is checked, is the
// text of a code that the QR checker must read before the secret filter
// sees it: an EMVCo payload (a VietQR code, sound or damaged: it begins with
// the payload format indicator "0002", and is longer than any OTP, card or
// ID number, so no secret typed alone passes for one) or a web link (one
// word, http:// or https://). A link's digits are a year or a page id, not an
// OTP, and a resident who scanned a fake code must see the web-link warning,
// not have the message deleted as a secret. Anything else, a real OTP
// included, goes through Sensitive first.
//
// The checker (flows/vietqr) reads everything CodeText passes as a payment
// code or a link, never as "not a payment code": the engine's tests hold
// the two to that.
func CodeText(text string) bool {
	s := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(text), "\uFEFF"))
	if len(s) > 20 && strings.HasPrefix(s, "0002") {
		return true
	}
	lower := strings.ToLower(s)
	if !strings.HasPrefix(lower, "http://") && !strings.HasPrefix(lower, "https://") {
		return false
	}
	return !strings.ContainsAny(s, " \t\n\r")
}
