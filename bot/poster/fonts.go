package poster

import (
	"fmt"

	"github.com/go-fonts/dejavu/dejavusans"
	"github.com/go-fonts/dejavu/dejavusansbold"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/text/unicode/norm"
)

// Fonts are the two faces a poster is set in.
type Fonts struct {
	Regular, Bold *opentype.Font
}

// DejaVuSans returns DejaVu Sans and DejaVu Sans Bold, compiled into the
// binary from github.com/go-fonts/dejavu: Go's bundled fonts have no
// Vietnamese letters, and reading Debian's fonts-dejavu-core from
// /usr/share/fonts made the poster (and its tests) depend on a system
// package. TestPosterFontCoversSeedNames checks every Vietnamese letter.
func DejaVuSans() (Fonts, error) {
	regular, err := parseFont("DejaVuSans", dejavusans.TTF)
	if err != nil {
		return Fonts{}, err
	}
	bold, err := parseFont("DejaVuSans-Bold", dejavusansbold.TTF)
	if err != nil {
		return Fonts{}, err
	}
	return Fonts{Regular: regular, Bold: bold}, nil
}

func parseFont(name string, b []byte) (*opentype.Font, error) {
	f, err := opentype.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("poster: parse font %s: %w", name, err)
	}
	return f, nil
}

// Missing returns the characters of s, NFC-normalised, that the regular or
// the bold font has no glyph for, each once, in order of appearance. White
// space is not checked: it is never drawn.
func (f Fonts) Missing(s string) []rune {
	var buf sfnt.Buffer
	var missing []rune
	seen := map[rune]bool{}
	for _, r := range norm.NFC.String(s) {
		if seen[r] || !isDrawn(r) {
			continue
		}
		seen[r] = true
		for _, font := range []*opentype.Font{f.Regular, f.Bold} {
			if font == nil {
				continue
			}
			// Glyph index 0 is .notdef, the empty box fonts draw for
			// characters they lack.
			if i, err := font.GlyphIndex(&buf, r); err != nil || i == 0 {
				missing = append(missing, r)
				break
			}
		}
	}
	return missing
}
