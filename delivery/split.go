package delivery

import (
	"strconv"
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
// it. Choices a channel cannot show as they are (more than MaxButtons, or a
// label longer than MaxTitle) are numbered in the text, as the console
// shows them, and their buttons carry the number and a short label, paged
// MaxButtons to a message (Numbered). Each message is then one platform
// call, so a retry repeats nothing that was shown. Bulk and NoPreview go
// with every message: a link in any part must stay unpreviewed.
func Plan(r flows.Reply, l Limits) []Message {
	text, buttons := r.Text, r.Buttons
	if needsNumbers(buttons, l) {
		text, buttons = Numbered(text, buttons, l.MaxTitle)
	}
	media := r.Image != "" || r.Document != nil
	fits := l.MaxCaption == 0 || (l.MaxCaption > 0 && utf8.RuneCountInString(text) <= l.MaxCaption)
	var ms []Message
	if media && !fits && r.Image != "" {
		ms = append(ms, Message{Image: r.Image})
	}
	for _, t := range Split(text, l.MaxText) {
		ms = append(ms, Message{Text: t})
	}
	last := len(ms) - 1
	for page := 0; len(buttons) > 0; page++ {
		n := len(buttons)
		if l.MaxButtons > 0 {
			n = min(n, l.MaxButtons)
		}
		if page > 0 {
			ms = append(ms, Message{Text: MoreChoices})
			last = len(ms) - 1
		}
		ms[last].Buttons = buttons[:n:n]
		buttons = buttons[n:]
	}
	switch {
	case !media:
	case fits:
		ms[last].Image, ms[last].Document = r.Image, r.Document
	case r.Document != nil:
		ms = append(ms, Message{Document: r.Document})
	}
	for i := range ms {
		ms[i].ID = PartID(r.ID, i, len(ms))
		ms[i].Bulk = r.Bulk
		ms[i].NoPreview = r.NoPreview
	}
	return ms
}

// MoreChoices is the text of a message that only carries more of the
// screen's buttons (a channel showing at most Limits.MaxButtons at once):
// a sign, in no language, that the list goes on.
const MoreChoices = "⋯"

func needsNumbers(cs []flows.Choice, l Limits) bool {
	if l.MaxButtons > 0 && len(cs) > l.MaxButtons {
		return true
	}
	if l.MaxTitle > 0 {
		for _, c := range cs {
			if utf8.RuneCountInString(c.Label) > l.MaxTitle {
				return true
			}
		}
	}
	return false
}

// Numbered writes the choices under the text as the console prints them
// ("N. label", numbered from 1 in the reply's order, so a typed number picks
// the same one everywhere) and returns buttons labelled "N. label", cut to
// maxTitle characters (0: not cut). A phone-number request is not listed:
// it is a button only (the console cannot show it either).
func Numbered(text string, cs []flows.Choice, maxTitle int) (string, []flows.Choice) {
	var b strings.Builder
	b.WriteString(text)
	out := make([]flows.Choice, len(cs))
	sep := "\n\n"
	for i, c := range cs {
		out[i] = c
		if c.Contact {
			continue
		}
		n := strconv.Itoa(i + 1)
		b.WriteString(sep + n + ". " + c.Label)
		sep = "\n"
		out[i].Label = cut(n+". "+c.Label, maxTitle)
	}
	return b.String(), out
}

// cut shortens s to max characters, the last one an ellipsis; 0: as is.
func cut(s string, max int) string {
	if max <= 0 || utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return strings.TrimRight(string(r[:max-1]), " ") + "…"
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
