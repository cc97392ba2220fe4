package poster

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/text/unicode/norm"
)

// DefaultFontDir is where Debian's fonts-dejavu-core puts DejaVu Sans.
const DefaultFontDir = "/usr/share/fonts/truetype/dejavu"

// The files LoadFonts looks for in each directory.
const (
	regularFile = "DejaVuSans.ttf"
	boldFile    = "DejaVuSans-Bold.ttf"
)

// Fonts are the two faces a poster is set in.
type Fonts struct {
	Regular, Bold *opentype.Font
}

// FontsNotFoundError is LoadFonts' error when no directory has both DejaVu
// Sans files. It matches fs.ErrNotExist with errors.Is.
type FontsNotFoundError struct {
	Dirs []string
}

func (e *FontsNotFoundError) Error() string {
	return fmt.Sprintf("poster: no DejaVu Sans font (%s and %s) found in %s: install the Debian package fonts-dejavu-core",
		regularFile, boldFile, strings.Join(e.Dirs, ", "))
}

// Unwrap lets errors.Is(err, fs.ErrNotExist) match.
func (e *FontsNotFoundError) Unwrap() error { return fs.ErrNotExist }

// LoadFonts reads DejaVuSans.ttf and DejaVuSans-Bold.ttf from the first of
// dirs that has both (DefaultFontDir when dirs is empty). A directory with
// neither is skipped; a font file that cannot be read or parsed is an error.
func LoadFonts(dirs ...string) (Fonts, error) {
	if len(dirs) == 0 {
		dirs = []string{DefaultFontDir}
	}
	for _, dir := range dirs {
		regular, err := readFont(filepath.Join(dir, regularFile))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return Fonts{}, err
		}
		bold, err := readFont(filepath.Join(dir, boldFile))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return Fonts{}, err
		}
		return Fonts{Regular: regular, Bold: bold}, nil
	}
	return Fonts{}, &FontsNotFoundError{Dirs: dirs}
}

func readFont(path string) (*opentype.Font, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("poster: read font: %w", err)
	}
	f, err := opentype.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("poster: parse font %s: %w", path, err)
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
