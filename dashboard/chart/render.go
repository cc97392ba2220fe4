package chart

import (
	"fmt"

	"github.com/go-fonts/dejavu/dejavusans"
	"github.com/go-fonts/dejavu/dejavusansbold"
	"golang.org/x/image/font/opentype"
)

// Renderer draws charts. It holds the parsed fonts, which every chart uses
// to measure its text, and is safe for concurrent use.
type Renderer struct {
	regular, bold *opentype.Font
}

// New returns a Renderer with DejaVu Sans and DejaVu Sans Bold, compiled in
// from github.com/go-fonts/dejavu (as bot/poster does): Go's bundled fonts
// have no Vietnamese letters.
func New() (*Renderer, error) {
	regular, err := opentype.Parse(dejavusans.TTF)
	if err != nil {
		return nil, fmt.Errorf("chart: parse DejaVuSans: %w", err)
	}
	bold, err := opentype.Parse(dejavusansbold.TTF)
	if err != nil {
		return nil, fmt.Errorf("chart: parse DejaVuSans-Bold: %w", err)
	}
	return &Renderer{regular: regular, bold: bold}, nil
}

func (r *Renderer) layout(c Chart) (*canvas, error) {
	if c == nil {
		return nil, fmt.Errorf("chart: no chart")
	}
	return c.layout(&measurer{regular: r.regular, bold: r.bold})
}
