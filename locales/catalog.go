package locales

import (
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/nicksnyder/go-i18n/v2/i18n"
)

// Message is one message of one language as written in its file.
type Message struct {
	File string // name of the file in the file system given to Catalog
	Line int    // line of the message's key in File, 0 if it was not found
	// Texts holds the string of a plain message, or each plural form of a
	// counted one in CLDR order (zero, one, two, few, many, other).
	Texts []string
	// Forms names the plural form of each of Texts; nil for a plain message.
	Forms       []string
	Description string
}

// Counted reports whether the message has plural forms: it is rendered with
// a count and each language needs the forms its plural rules use.
func (m Message) Counted() bool { return m.Forms != nil }

// Form returns the text of a plural form, and whether the message has it.
func (m Message) Form(form string) (string, bool) {
	for i, f := range m.Forms {
		if f == form {
			return m.Texts[i], true
		}
	}
	return "", false
}

// FileError is a problem with a message file, located by file and line
// (0 when the line is unknown).
type FileError struct {
	File string
	Line int
	Err  error
}

func (e *FileError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

func (e *FileError) Unwrap() error { return e.Err }

// DuplicateError says that a message id is defined in two files of one
// language; go-i18n would silently keep the one loaded last. File and Line
// locate the first definition.
type DuplicateError struct {
	ID   string
	File string
	Line int
}

func (e *DuplicateError) Error() string {
	return fmt.Sprintf("message %q is also defined at %s:%d", e.ID, e.File, e.Line)
}

// Catalog reads every message file at the root of fsys the way go-i18n
// does and returns the messages by language and id, with the file and line
// of each.
//
// It reads every file even when some are broken. The error, if any, joins
// one *FileError per problem (a TOML syntax error, a message go-i18n
// rejects, an id defined twice in one language: *DuplicateError); the catalog returned
// alongside holds every message that could be read.
func Catalog(fsys fs.FS) (map[string]map[string]Message, error) {
	names, err := Files(fsys)
	if err != nil {
		return nil, err
	}
	cat := map[string]map[string]Message{}
	var errs []error
	for _, name := range names {
		buf, err := fs.ReadFile(fsys, name)
		if err != nil {
			errs = append(errs, &FileError{File: name, Err: err})
			continue
		}
		var raw map[string]any
		if _, err := toml.Decode(string(buf), &raw); err != nil {
			line := 0
			var pe toml.ParseError
			if errors.As(err, &pe) {
				line = pe.Position.Line
				err = errors.New(pe.Message)
			}
			errs = append(errs, &FileError{File: name, Line: line, Err: err})
			continue
		}
		mf, err := i18n.ParseMessageFileBytes(buf, name, map[string]i18n.UnmarshalFunc{"toml": toml.Unmarshal})
		if err != nil {
			errs = append(errs, &FileError{File: name, Err: err})
			continue
		}
		lines := keyLines(string(buf))
		lang := FileLang(name)
		if cat[lang] == nil {
			cat[lang] = map[string]Message{}
		}
		for _, m := range mf.Messages {
			msg := newMessage(name, lines[m.ID], m)
			if prev, dup := cat[lang][m.ID]; dup {
				errs = append(errs, &FileError{File: name, Line: msg.Line,
					Err: &DuplicateError{ID: m.ID, File: prev.File, Line: prev.Line}})
				continue
			}
			cat[lang][m.ID] = msg
		}
	}
	return cat, errors.Join(errs...)
}

func newMessage(file string, line int, m *i18n.Message) Message {
	msg := Message{File: file, Line: line, Description: m.Description}
	forms := []struct {
		name, text string
	}{{"zero", m.Zero}, {"one", m.One}, {"two", m.Two}, {"few", m.Few}, {"many", m.Many}, {"other", m.Other}}
	counted := false
	for _, f := range forms[:5] {
		counted = counted || f.text != ""
	}
	if !counted {
		msg.Texts = []string{m.Other}
		return msg
	}
	msg.Forms = []string{}
	for _, f := range forms {
		if f.text != "" {
			msg.Forms = append(msg.Forms, f.name)
			msg.Texts = append(msg.Texts, f.text)
		}
	}
	return msg
}

// keyLines finds, in the text of a TOML file, the line of every key and table
// header, by its full dotted path: `"a.b" = "x"` gives "a.b", `[c]` then
// `d = "y"` gives "c" and "c.d". It is a line scanner, not a parser; it skips
// the bodies of multi-line strings and is good enough to point a person at a
// message.
func keyLines(src string) map[string]int {
	lines := map[string]int{}
	var table []string
	inMulti := "" // the delimiter of the multi-line string being skipped
	for i, line := range strings.Split(src, "\n") {
		n := i + 1
		if inMulti != "" {
			if strings.Count(line, inMulti)%2 == 1 {
				inMulti = ""
			}
			continue
		}
		s := strings.TrimSpace(line)
		switch {
		case s == "" || s[0] == '#':
			continue
		case strings.HasPrefix(s, "[["):
			continue // arrays of tables hold no messages
		case s[0] == '[':
			keys, rest, ok := parseKey(s[1:])
			if !ok || !strings.HasPrefix(strings.TrimSpace(rest), "]") {
				continue
			}
			table = keys
			setLine(lines, table, n)
			continue
		}
		keys, rest, ok := parseKey(s)
		if !ok || !strings.HasPrefix(strings.TrimSpace(rest), "=") {
			continue
		}
		setLine(lines, append(append([]string(nil), table...), keys...), n)
		for _, delim := range []string{`"""`, `'''`} {
			if strings.Count(rest, delim)%2 == 1 {
				inMulti = delim
			}
		}
	}
	return lines
}

func setLine(lines map[string]int, keys []string, n int) {
	k := strings.Join(keys, ".")
	if _, seen := lines[k]; !seen {
		lines[k] = n
	}
}

// parseKey reads a dotted TOML key (bare, "basic" or 'literal' parts) from
// the start of s and returns its parts and the rest of s.
func parseKey(s string) (keys []string, rest string, ok bool) {
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			return nil, "", false
		}
		switch s[0] {
		case '"':
			end := 1
			for end < len(s) && s[end] != '"' {
				if s[end] == '\\' {
					end++
				}
				end++
			}
			if end >= len(s) {
				return nil, "", false
			}
			k, err := strconv.Unquote(s[:end+1])
			if err != nil {
				return nil, "", false
			}
			keys = append(keys, k)
			s = s[end+1:]
		case '\'':
			end := strings.IndexByte(s[1:], '\'')
			if end < 0 {
				return nil, "", false
			}
			keys = append(keys, s[1:end+1])
			s = s[end+2:]
		default:
			end := 0
			for end < len(s) && isBare(s[end]) {
				end++
			}
			if end == 0 {
				return nil, "", false
			}
			keys = append(keys, s[:end])
			s = s[end:]
		}
		s = strings.TrimLeft(s, " \t")
		if !strings.HasPrefix(s, ".") {
			return keys, s, true
		}
		s = s[1:]
	}
}

func isBare(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}
