// Package locales holds the words of Hàng xóm số: go-i18n v2 message files,
// one per subject and language (locales/<name>.<lang>.toml, so that
// ewallet.vi.toml is Vietnamese), embedded in the binary.
//
// Vietnamese (vi) is the source and default language; English (en) is the
// translation. NewBundle loads the files, Localizer renders a message for the
// engine (it satisfies flows.Localizer), and Catalog reads the same files with
// the file and line of every message so that content check can name them.
//
// The package uses go-i18n only and imports nothing else of this module.
package locales

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

// FS holds the shipped message files at its root.
//
//go:embed *.toml
var FS embed.FS

// Default is the default language: the source of every message and the one
// go-i18n falls back to when a translation is missing.
const Default = "vi"

// Languages returns the languages the bot speaks, the default first.
func Languages() []string { return []string{"vi", "en"} }

// FileLang returns the language a message file is written in, as go-i18n
// reads it: the text between the last two dots of the base name
// ("ewallet.vi.toml" → "vi"), or the base name without its extension
// ("vi.toml" → "vi").
func FileLang(name string) string {
	base := strings.TrimSuffix(path.Base(name), path.Ext(name))
	if i := strings.LastIndexByte(base, '.'); i >= 0 {
		return base[i+1:]
	}
	return base
}

// Files returns the names of the message files at the root of fsys, sorted.
func Files(fsys fs.FS) ([]string, error) {
	names, err := fs.Glob(fsys, "*.toml")
	if err != nil {
		return nil, fmt.Errorf("locales: list message files: %w", err)
	}
	slices.Sort(names)
	return names, nil
}

// NewBundle loads every *.toml file at the root of fsys into a bundle whose
// default language is Default. A file in a language other than Languages()
// is an error: go-i18n would load it silently and nobody would ask for it.
func NewBundle(fsys fs.FS) (*i18n.Bundle, error) {
	b := i18n.NewBundle(language.MustParse(Default))
	b.RegisterUnmarshalFunc("toml", toml.Unmarshal)
	names, err := Files(fsys)
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		if lang := FileLang(name); !slices.Contains(Languages(), lang) {
			return nil, fmt.Errorf("locales: load %s: language %q is not one of %v", name, lang, Languages())
		}
		if _, err := b.LoadMessageFileFS(fsys, name); err != nil {
			return nil, fmt.Errorf("locales: load %s: %w", name, err)
		}
	}
	return b, nil
}
