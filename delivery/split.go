package delivery

import (
	"strings"
	"unicode/utf8"
)

// Split cuts text into parts of at most max characters, at paragraph
// breaks if it can, else at line breaks, else at spaces, else anywhere. A
// text within max is one part, even if empty.
func Split(text string, max int) []string {
	if max <= 0 || utf8.RuneCountInString(text) <= max {
		return []string{text}
	}
	var parts []string
	for utf8.RuneCountInString(text) > max {
		cut := cutAt(text, max)
		parts = append(parts, strings.TrimRight(text[:cut], " \n"))
		text = strings.TrimLeft(text[cut:], " \n")
	}
	if text != "" {
		parts = append(parts, text)
	}
	return parts
}

// cutAt returns a byte index ≤ the max-th character, at the best boundary.
func cutAt(text string, max int) int {
	limit := len(text)
	n := 0
	for i := range text {
		if n == max {
			limit = i
			break
		}
		n++
	}
	head := text[:limit]
	for _, sep := range []string{"\n\n", "\n", " "} {
		if i := strings.LastIndex(head, sep); i > limit/2 {
			return i + len(sep)
		}
	}
	return limit
}

// PartID is the delivery id of part i of a reply with id in n parts: the
// reply's own id for the last part, id~a, id~b … for the others.
func PartID(id string, i, n int) string {
	if i == n-1 {
		return id
	}
	return id + "~" + string(rune('a'+i))
}
