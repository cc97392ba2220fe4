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

// words maps folded phrases to what they mean at any step. Teen code
// ("dc" for được, "ko"/"k"/"kh" for không) is spelled out as residents
// type it.
var intentWords = map[string]string{
	// done
	"xong": "done", "xong roi": "done", "da xong": "done", "lam xong roi": "done", "xong r": "done",
	"ok": "done", "oke": "done", "okay": "done", "duoc roi": "done", "da duoc": "done", "duoc": "done",
	"done": "done", "it worked": "done", "yes": "done", "co": "done", "roi": "done",
	"dc": "done", "dc roi": "done", "duoc r": "done", "dc r": "done", "da dc": "done", "lam duoc roi": "done",
	"lam dc roi": "done", "ok roi": "done", "xong xuoi": "done", "lam xong": "done", "lam duoc": "done", "lam dc": "done",
	// stuck
	"chua": "stuck", "chua duoc": "stuck", "chua xong": "stuck", "loi": "stuck", "bi loi": "stuck",
	"khong duoc": "stuck", "ko duoc": "stuck", "k duoc": "stuck", "khong": "stuck", "ko": "stuck",
	"stuck": "stuck", "no": "stuck", "not yet": "stuck", "error": "stuck", "bi vuong": "stuck",
	"ko dc": "stuck", "k dc": "stuck", "kh dc": "stuck", "khong dc": "stuck", "chua dc": "stuck",
	"chua lam duoc": "stuck", "chua lam dc": "stuck", "lam khong duoc": "stuck", "lam ko duoc": "stuck",
	"lam ko dc": "stuck", "khong lam duoc": "stuck", "ko lam dc": "stuck", "van chua duoc": "stuck",
	"van loi": "stuck", "it did not work": "stuck", "didnt work": "stuck", "doesnt work": "stuck",
	// a plea for a person: help at once, whatever the step ("giúp" alone
	// stays the usage help, which names the 🙋 button)
	"giup": "/help", "giup toi": "human", "giup em": "human", "giup voi": "human", "giup bac": "human",
	"giup minh": "human", "giup chau": "human", "giup con": "human", "giup toi voi": "human", "giup em voi": "human",
	"giup do": "human", "can giup": "human", "can nguoi giup": "human", "nho nguoi giup": "human",
	"khong biet": "human", "ko biet": "human", "k biet": "human", "kh biet": "human", "khong biet lam": "human",
	"khong biet lam sao": "human", "khong biet lam the nao": "human", "ko biet lam": "human",
	"khong hieu": "human", "ko hieu": "human", "khong hieu gi": "human", "kho qua": "human",
	"help me": "human", "i dont know": "human", "i do not know": "human", "i need help": "human",
	// skip
	"bo qua": "skip", "skip": "skip",
	// greetings
	"xin chao": "hello", "chao": "hello", "chao bac": "hello", "chao ban": "hello", "chao em": "hello",
	"chao chau": "hello", "alo": "hello", "a lo": "hello", "hello": "hello", "hi": "hello", "good morning": "hello",
	// commands as words
	"menu": "/menu", "quay lai": "/back", "tro lai": "/back", "back": "/back",
	"huy": "/cancel", "huy bo": "/cancel", "cancel": "/cancel",
	"dung": "/stop", "dung nhac": "/stop", "stop": "/stop",
	"tro giup": "/help", "help": "/help", "huong dan": "/help",
	"tien do": "/progress", "progress": "/progress",
	"ngon ngu": "/lang", "doi ngon ngu": "/lang", "tieng anh": "/lang", "english": "/lang", "language": "/lang",
}

// intentEmoji maps a message of emoji alone, as some residents answer.
var intentEmoji = map[string]string{
	"✅": "done", "✔️": "done", "✔": "done", "👍": "done", "👌": "done", "🆗": "done",
	"❌": "stuck", "❓": "stuck", "❔": "stuck", "😢": "stuck", "😭": "stuck",
	"🙋": "human", "🙋‍♀️": "human", "🙋‍♂️": "human", "🆘": "human", "🙏": "human",
}

// Intent returns what text means regardless of the step: "done", "stuck",
// "skip", "human" (a plea for a person), "hello" (a greeting), or a
// command such as "/menu"; "" when it means none. Leading emoji, a leading
// "đã"/"tôi"/"bác ơi" and trailing politeness particles ("rồi", "ạ",
// "nhé", "với") are tolerated: "Tôi đã xong rồi ạ" means done, "bác ơi
// tôi không biết làm" a plea for help. A message of one emoji means what
// intentEmoji says.
func Intent(text string) string {
	if w, ok := intentEmoji[strings.TrimSpace(text)]; ok {
		return w
	}
	f := FoldLabel(text)
	for i := 0; i < 6; i++ {
		if w, ok := intentWords[f]; ok {
			return w
		}
		g := f
		for _, p := range []string{"bac oi ", "chau oi ", "em oi ", "co oi ", "oi ", "lam on ", "xin ",
			"toi ", "em ", "minh ", "chau ", "bac ", "con ", "da ", "van "} {
			g = strings.TrimPrefix(g, p)
		}
		for _, p := range []string{" a", " nhe", " nha", " roi", " r", " ha", " voi", " di", " oi", " please", " pls"} {
			g = strings.TrimSuffix(g, p)
		}
		if g == f {
			break
		}
		f = g
	}
	return ""
}
