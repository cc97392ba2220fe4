package delivery

import (
	"strings"
	"unicode/utf8"

	"github.com/hangxomso/hangxom/flows"
)

// Plan is the messages a reply goes out as on a channel with these limits,
// in order, each with its delivery id (PartID: the reply's own id on the
// last). A text longer than MaxText is cut into parts; the buttons, image
// and document go with the last part. An image or document whose text is
// longer than a caption may be goes as a message of its own: an image
// before the text (a picture, then what to do with it), a document after
// it. Each message is then one platform call, so a retry repeats nothing
// that was shown.
func Plan(r flows.Reply, l Limits) []Message {
	media := r.Image != "" || r.Document != nil
	fits := l.MaxCaption == 0 || (l.MaxCaption > 0 && utf8.RuneCountInString(r.Text) <= l.MaxCaption)
	var ms []Message
	if media && !fits && r.Image != "" {
		ms = append(ms, Message{Image: r.Image})
	}
	texts := Split(r.Text, l.MaxText)
	for _, t := range texts {
		ms = append(ms, Message{Text: t})
	}
	last := &ms[len(ms)-1]
	last.Buttons = r.Buttons
	switch {
	case !media:
	case fits:
		last.Image, last.Document = r.Image, r.Document
	case r.Document != nil:
		ms = append(ms, Message{Document: r.Document})
	}
	for i := range ms {
		ms[i].ID = PartID(r.ID, i, len(ms))
		ms[i].Bulk = r.Bulk
	}
	return ms
}

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
