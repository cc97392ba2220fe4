package locales

import (
	"errors"
	"fmt"
	"sync"

	"github.com/nicksnyder/go-i18n/v2/i18n"
)

// Localizer renders messages from a bundle. It keeps one go-i18n localizer
// per language of the bundle and is safe for concurrent use once built, as
// long as nobody adds messages to the bundle afterwards. It satisfies
// flows.Localizer.
type Localizer struct {
	byLang map[string]*i18n.Localizer
	def    *i18n.Localizer
	// plain keeps the renders without template data (labels, most
	// prompts), which never change: plainKey → string. Rendering through
	// go-i18n each time was 3% of the bot's CPU under load.
	plain sync.Map
}

// plainKey is a message in one of the bundle's languages.
type plainKey struct{ lang, id string }

// NewLocalizer returns a Localizer over every language loaded in b.
func NewLocalizer(b *i18n.Bundle) *Localizer {
	l := &Localizer{byLang: map[string]*i18n.Localizer{}}
	for _, tag := range b.LanguageTags() {
		l.byLang[tag.String()] = i18n.NewLocalizer(b, tag.String())
	}
	l.def = l.byLang[Default]
	if l.def == nil {
		// A bundle without any default-language file still falls back to
		// its default language; the matcher does that for any language.
		l.def = i18n.NewLocalizer(b, Default)
	}
	return l
}

// Localize renders message id in lang with data as template data. A lang the
// bundle does not have gets the default language, without an error.
//
// If data holds an integer Count it is the plural count. A plain message
// given a count is rendered as it is: go-i18n would otherwise report that it
// lacks the plural form the count asks for.
//
// As with go-i18n, a message missing in lang comes back in the default
// language together with an error wrapping *i18n.MessageNotFoundErr: log the
// error and use the text if it is not empty.
func (l *Localizer) Localize(lang, id string, data map[string]any) (string, error) {
	loc, ok := l.byLang[lang]
	key := plainKey{lang, id}
	if !ok {
		loc, key.lang = l.def, Default
	}
	if data == nil {
		if t, ok := l.plain.Load(key); ok {
			return t.(string), nil
		}
	}
	cfg := &i18n.LocalizeConfig{MessageID: id, TemplateData: data}
	count, counted := intCount(data)
	if counted {
		cfg.PluralCount = count
	}
	text, err := loc.Localize(cfg)
	var notFound *i18n.MessageNotFoundErr
	if err != nil && counted && !errors.As(err, &notFound) {
		// Either a plain message was given a count or a counted message
		// lacks a form: render without the count, which picks "other".
		// Content check rejects counted messages that lack a form, so
		// success here means the message is plain.
		cfg.PluralCount = nil
		if t, err2 := loc.Localize(cfg); err2 == nil {
			return t, nil
		}
	}
	if err != nil {
		return text, fmt.Errorf("locales: localize %q in %s: %w", id, lang, err)
	}
	if data == nil {
		l.plain.Store(key, text)
	}
	return text, nil
}

// intCount returns data["Count"] if it is an integer.
func intCount(data map[string]any) (any, bool) {
	switch c := data["Count"].(type) {
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return c, true
	}
	return nil, false
}
