package flows

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Fold turns text as villagers type it into a form for matching: Unicode
// NFC or NFD alike, any case, with or without Vietnamese diacritics, with
// zero-width characters removed, runs of spaces collapsed and surrounding
// punctuation dropped. "  Đã XONG rồi!! " and "da xong roi" fold the same.
func Fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range norm.NFD.String(strings.ToValidUTF8(s, "")) {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue // combining diacritic
		case isInvisible(r):
			continue
		case r == 'đ' || r == 'Đ':
			r = 'd'
		case unicode.IsSpace(r):
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(unicode.ToLower(r))
	}
	return strings.TrimFunc(b.String(), func(r rune) bool {
		return unicode.IsPunct(r) || unicode.IsSpace(r)
	})
}

// FoldLabel folds a button label and also drops leading emoji and symbols,
// so "✅ Xong rồi" matches a typed "xong roi".
func FoldLabel(s string) string {
	f := Fold(s)
	return strings.TrimLeftFunc(f, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

func isInvisible(r rune) bool {
	switch r {
	case '\u200b', '\u200c', '\u200d', '\u2060', '\ufeff', '\u00ad', '\u200e', '\u200f':
		return true
	}
	return unicode.Is(unicode.Cf, r) && r != '\u200d'
}

// words maps folded phrases to what they mean at any step.
var intentWords = map[string]string{
	// done
	"xong": "done", "xong roi": "done", "da xong": "done", "lam xong roi": "done", "xong r": "done",
	"ok": "done", "oke": "done", "okay": "done", "duoc roi": "done", "da duoc": "done", "duoc": "done",
	"done": "done", "it worked": "done", "yes": "done", "co": "done", "roi": "done",
	// stuck
	"chua": "stuck", "chua duoc": "stuck", "chua xong": "stuck", "loi": "stuck", "bi loi": "stuck",
	"khong duoc": "stuck", "ko duoc": "stuck", "k duoc": "stuck", "khong": "stuck", "ko": "stuck",
	"stuck": "stuck", "no": "stuck", "not yet": "stuck", "error": "stuck", "bi vuong": "stuck",
	// skip
	"bo qua": "skip", "skip": "skip",
	// commands as words
	"menu": "/menu", "quay lai": "/back", "tro lai": "/back", "back": "/back",
	"huy": "/cancel", "huy bo": "/cancel", "cancel": "/cancel",
	"dung": "/stop", "dung nhac": "/stop", "stop": "/stop",
	"giup": "/help", "tro giup": "/help", "help": "/help",
	"tien do": "/progress", "progress": "/progress",
	"ngon ngu": "/lang", "doi ngon ngu": "/lang", "tieng anh": "/lang", "english": "/lang", "language": "/lang",
}

// Intent returns what text means regardless of the step: "done", "stuck",
// "skip", or a command such as "/menu"; "" when it means none. Leading
// emoji, a leading "đã"/"tôi" and trailing politeness particles ("rồi", "ạ",
// "nhé") are tolerated: "Tôi đã xong rồi ạ" means done.
func Intent(text string) string {
	f := FoldLabel(text)
	for i := 0; i < 4; i++ {
		if w, ok := intentWords[f]; ok {
			return w
		}
		g := f
		for _, p := range []string{"toi ", "em ", "minh ", "chau ", "bac ", "da "} {
			g = strings.TrimPrefix(g, p)
		}
		for _, p := range []string{" a", " nhe", " nha", " roi", " r", " ha"} {
			g = strings.TrimSuffix(g, p)
		}
		if g == f {
			break
		}
		f = g
	}
	return ""
}
