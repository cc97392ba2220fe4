package zalo

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader carries a webhook event's signature.
const SignatureHeader = "X-ZEvent-Signature"

// RetryHeader is present, above 0, on Zalo's retries of an event.
const RetryHeader = "num_retry"

// Verify reports whether header, the X-ZEvent-Signature of a webhook call,
// signs raw, the body exactly as received: Zalo sends "mac=" and the hex
// SHA-256 (plain, not HMAC) of app_id, the raw body, timestamp and the OA
// Secret Key concatenated, with app_id and timestamp read from the body.
// The header is accepted with or without "mac=" and in either case of hex;
// the comparison takes constant time. The body's app_id must be appID, the
// app configured: another app's event, even one signed with a key that
// happens to match, is refused. An empty appID or key verifies nothing.
func Verify(raw []byte, header, appID, key string) bool {
	if appID == "" || key == "" {
		return false
	}
	got, ok := parseSignature(header)
	if !ok {
		return false
	}
	var body struct {
		AppID     flexString `json:"app_id"`
		Timestamp flexString `json:"timestamp"`
	}
	if json.Unmarshal(raw, &body) != nil {
		return false
	}
	// Signed with the configured id, so a body naming another app fails
	// the comparison below as well; the explicit check says why.
	if subtle.ConstantTimeCompare([]byte(body.AppID), []byte(appID)) != 1 {
		return false
	}
	h := sha256.New()
	h.Write([]byte(appID))
	h.Write(raw)
	h.Write([]byte(body.Timestamp))
	h.Write([]byte(key))
	return subtle.ConstantTimeCompare(got, h.Sum(nil)) == 1
}

// parseSignature reads "mac=<hex>" or "<hex>" into the 32 bytes of a
// SHA-256 sum.
func parseSignature(header string) ([]byte, bool) {
	s := strings.TrimSpace(header)
	if len(s) >= 4 && strings.EqualFold(s[:4], "mac=") {
		s = strings.TrimSpace(s[4:])
	}
	if len(s) != 2*sha256.Size {
		return nil, false
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, false
	}
	return b, true
}

// eventTime reads an event's timestamp, milliseconds since the epoch.
func eventTime(ts string) (time.Time, bool) {
	ms, err := strconv.ParseInt(strings.TrimSpace(ts), 10, 64)
	if err != nil || ms <= 0 {
		return time.Time{}, false
	}
	return time.UnixMilli(ms), true
}
