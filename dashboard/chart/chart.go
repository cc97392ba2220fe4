// Package chart draws the dashboard's charts — completed against target per
// flow, a guide's step funnel, the monthly trend — as SVG for the pages and
// as PNG for the chat, from one layout, so the picture a team leader gets in
// Telegram and the chart on the page say the same thing in the same places.
//
// A chart is a model (Bars, Funnel, Trend) handed to a Renderer:
//
//	r, err := chart.New()                  // parses DejaVu Sans once; safe for concurrent use
//	svg, err := r.SVG(chart.Funnel{…})      // template.HTML, inline in a page
//	file := chart.Standalone(svg)           // the .svg download: XML prolog, xmlns, A4 size
//	png, err := r.PNG(chart.Funnel{…})      // 1200 px wide, for sendPhoto
//
// The SVG comes from an embedded html/template, so hamlet names and labels
// are escaped; it uses presentation attributes only (the dashboard's CSP has
// no 'unsafe-inline' for style=""), role="img" with a <title> and a <desc>
// that repeats every number, and a <text> beside every bar with its number,
// so a screen reader reads the chart and a printer prints its figures. The
// layout is 360 units wide, the width of a cheap phone, and the SVG scales
// with width="100%". Everything is grayscale, told apart by hatching,
// outline and dashes rather than colour, so it prints on a black-and-white
// A4 printer.
//
// Masking (issue 20 §3.5) is the caller's decision: a Count with Masked set
// is written as its Display ("<5" by default) and drawn as a stub of one
// fixed length; its N is read by nothing, so neither the text, the desc nor
// the geometry can leak it.
//
// Text is NFC-normalised and measured with DejaVu Sans, the font the PNG is
// drawn in; browsers draw the SVG in their own sans-serif, which is no wider.
// PNG refuses text DejaVu has no glyph for, as bot/poster does, rather than
// send a picture with empty boxes; the SVG leaves such text to the browser.
package chart

import (
	"errors"
	"fmt"
	"math"
	"strconv"
)

// Count is one number on a chart.
type Count struct {
	N float64
	// Display, when set, is written instead of N (a share such as "12%",
	// a grouped figure such as "1.234").
	Display string
	// Masked hides N: the count is written as Display ("<5" when empty)
	// and drawn with one fixed stub length, whatever N is.
	Masked bool
}

// N returns the count n, written as a plain number.
func N[T ~int | ~int64 | ~float64](n T) Count { return Count{N: float64(n)} }

// Mask returns a masked count written as display ("<5" when empty).
func Mask(display string) Count { return Count{Display: display, Masked: true} }

// MaskText is what a masked Count without Display shows.
const MaskText = "<5"

// Text returns what the chart writes for c.
func (c Count) Text() string {
	switch {
	case c.Display != "":
		return c.Display
	case c.Masked:
		return MaskText
	}
	return formatNumber(c.N)
}

// value is the length c is drawn with; masked counts have none.
func (c Count) value() float64 {
	if c.Masked {
		return 0
	}
	return c.N
}

func (c Count) check(what string) error {
	if c.Masked {
		return nil
	}
	if math.IsNaN(c.N) || math.IsInf(c.N, 0) || c.N < 0 {
		return fmt.Errorf("%s: %v is not a count", what, c.N)
	}
	return nil
}

func formatNumber(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatFloat(f, 'f', 0, 64)
	}
	return strconv.FormatFloat(f, 'f', 1, 64)
}

// Chart is a model a Renderer draws: Bars, Funnel or Trend.
type Chart interface {
	layout(m *measurer) (*canvas, error)
}

var (
	_ Chart = Bars{}
	_ Chart = Funnel{}
	_ Chart = Trend{}
)

// Heading is what every chart has above its bars.
type Heading struct {
	// ID names the chart's elements (title, desc, patterns) in a page, so
	// two charts on one page never share a pattern; letters, digits, - and
	// _ are kept. Empty: derived from the chart's content.
	ID string
	// Title is drawn at the top and is the SVG's <title>.
	Title string
	// Caption, optional, is drawn under the title in smaller letters: the
	// area and the months, so a printed or forwarded chart says what it is.
	Caption string
	// Desc starts the SVG's <desc>; the chart appends every number to it.
	Desc string
}

// Bar is one flow's (or one area's) figure against its target.
type Bar struct {
	Label string
	Value Count
	// Target, when above 0, is marked by a tick across the bar and written
	// after the value ("48 / 400"). Targets are public: never masked.
	Target float64
	// Highlight draws the bar with the heavier pattern and a bold label.
	Highlight bool
}

// BarsWords are the legend's words; without them there is no legend.
type BarsWords struct {
	Value, Target string
}

// Bars is "completed against target": one horizontal bar per flow, on one
// scale, each with its number and its target tick.
type Bars struct {
	Heading
	Bars []Bar
	// Max is the value at the right end of the bars (100 for shares in
	// percent); 0 means the largest value or target.
	Max   float64
	Words BarsWords
}

// FunnelRow is one step of a guide.
type FunnelRow struct {
	// Step is the step's stable id; Label, what the guide calls it (the
	// id is written when Label is empty, e.g. for a retired step).
	Step, Label            string
	Reached, Stalled, Help Count
	// Top marks one of the MaxTop steps where most residents stop: ▲ before the
	// label, bold, and the heavier pattern (not told by colour alone).
	Top bool
}

// MaxTop is how many rows of a Funnel may be Top: "the three steps where
// most residents stop" (issue 20).
const MaxTop = 3

// FunnelWords are the column headings and the legend of a Funnel.
type FunnelWords struct {
	Reached, Stalled, Help string
	// Top explains ▲; needed only when a row is Top.
	Top string
}

// Funnel is a guide's step funnel: one row per step in the guide's order,
// a bar of the residents who reached it, and columns of those who stopped
// there and those who asked for help there.
type Funnel struct {
	Heading
	Rows  []FunnelRow
	Words FunnelWords
}

// Month is one month of a Trend.
type Month struct {
	Label              string // "11/2026"
	Started, Completed Count
}

// TrendWords are the legend of a Trend.
type TrendWords struct {
	Started, Completed string
}

// Trend is started and completed per month, as pairs of horizontal bars
// (twelve months of vertical pairs do not fit 360 px with their numbers).
type Trend struct {
	Heading
	Months []Month
	Words  TrendWords
}

var errWords = errors.New("words missing")

func (b Bars) check() error {
	if b.Max < 0 || math.IsNaN(b.Max) || math.IsInf(b.Max, 0) {
		return fmt.Errorf("chart: bars %q: max %v", b.Title, b.Max)
	}
	for i, x := range b.Bars {
		if err := x.Value.check(fmt.Sprintf("chart: bars %q: bar %d %q", b.Title, i+1, x.Label)); err != nil {
			return err
		}
		if x.Target < 0 || math.IsNaN(x.Target) || math.IsInf(x.Target, 0) {
			return fmt.Errorf("chart: bars %q: bar %d %q: target %v", b.Title, i+1, x.Label, x.Target)
		}
	}
	return nil
}

func (f Funnel) check() error {
	w := f.Words
	if w.Reached == "" || w.Stalled == "" || w.Help == "" {
		return fmt.Errorf("chart: funnel %q: %w (reached, stalled, help)", f.Title, errWords)
	}
	tops := 0
	for i, r := range f.Rows {
		what := fmt.Sprintf("chart: funnel %q: row %d %q", f.Title, i+1, r.Step)
		if r.Top {
			tops++
		}
		if tops > MaxTop {
			return fmt.Errorf("%s: more than %d top steps: a highlight on every row shows none", what, MaxTop)
		}
		if r.Top && w.Top == "" {
			return fmt.Errorf("%s: top step but %w (top)", what, errWords)
		}
		for _, c := range []Count{r.Reached, r.Stalled, r.Help} {
			if err := c.check(what); err != nil {
				return err
			}
		}
	}
	return nil
}

func (t Trend) check() error {
	if t.Words.Started == "" || t.Words.Completed == "" {
		return fmt.Errorf("chart: trend %q: %w (started, completed)", t.Title, errWords)
	}
	for i, m := range t.Months {
		what := fmt.Sprintf("chart: trend %q: month %d %q", t.Title, i+1, m.Label)
		for _, c := range []Count{m.Started, m.Completed} {
			if err := c.check(what); err != nil {
				return err
			}
		}
	}
	return nil
}
