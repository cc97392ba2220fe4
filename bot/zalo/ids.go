package zalo

import "strings"

// ResidentID is the channel-qualified resident id of a Zalo user: "zl:"
// and the user's id as the OA sees it (a string: never parsed as a
// number). The same person on Telegram is another resident.
func ResidentID(userID string) string { return "zl:" + userID }

// UserID reads a Zalo user id back from a resident id.
func UserID(resident string) (string, bool) {
	id, ok := strings.CutPrefix(resident, "zl:")
	return id, ok && id != ""
}

// PayloadPrefix starts every button's payload. A tap on an oa.query button
// arrives as the user's text (there is no click event), so the payload is
// marked to be told from typed text; a resident who types one by hand gets
// what a tap gets, through the same engine checks (the keyboard's sequence,
// roles and areas).
const PayloadPrefix = "#hx:"
