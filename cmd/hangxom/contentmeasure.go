package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/BurntSushi/toml"

	"github.com/hangxomso/hangxom/content"
	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/locales"
)

// measureRow is one flow in one language, measured on the golden
// transcripts that walk it.
type measureRow struct {
	Flow, Lang  string
	Steps       int // steps in the flow's definition
	Transcripts int
	Reached     int // steps the engine walk reached
	Screens     int // distinct screens with buttons inside the guide
	LongestTurn int // runes of the bot's text in answer to one input
	MaxButtons  int
	Over3       int     // screens with more than three buttons
	AvgButtons  float64 // buttons per screen, over Screens
	// StepScreens and AvgStep leave out the screens a step's ❓ and ℹ️
	// open (engine walk only): the average of the steps' own screens.
	StepScreens  int
	AvgStep      float64
	FirstScreenM int // messages the first screen sends before its question
}

// turn is the bot's answer to one input in a console transcript.
type turn struct {
	input   string
	texts   []string // one line a message
	buttons []string
}

// parseTranscript splits console output ("> input", then the bot's lines,
// buttons as "1. label") into turns.
func parseTranscript(s string) []turn {
	var turns []turn
	for _, line := range strings.Split(s, "\n") {
		if in, ok := strings.CutPrefix(line, "> "); ok {
			turns = append(turns, turn{input: in})
			continue
		}
		if len(turns) == 0 || line == "" {
			continue
		}
		t := &turns[len(turns)-1]
		if label, ok := buttonLabel(line); ok {
			t.buttons = append(t.buttons, label)
		} else {
			t.texts = append(t.texts, line)
		}
	}
	return turns
}

func buttonLabel(line string) (string, bool) {
	i := 0
	for i < len(line) && line[i] >= '0' && line[i] <= '9' {
		i++
	}
	if i == 0 || !strings.HasPrefix(line[i:], ". ") {
		return "", false
	}
	return line[i+2:], true
}

func hasButton(t turn, label string) bool {
	for _, b := range t.buttons {
		if b == label || strings.HasSuffix(b, label) { // "▶️ Continue: " + title
			return true
		}
	}
	return false
}

// guideTurns returns the turns inside the guide: from the one after the
// first menu (a screen offering title) to the one before the next menu.
func guideTurns(turns []turn, title string) []turn {
	start := -1
	for i, t := range turns {
		if hasButton(t, title) {
			start = i + 1
			break
		}
	}
	if start < 0 {
		return nil
	}
	end := len(turns)
	for i := start; i < len(turns); i++ {
		if hasButton(turns[i], title) {
			end = i
			break
		}
	}
	return turns[start:end]
}

// measureFlow measures one flow in one language over its transcripts.
func measureFlow(flow, lang, title string, steps int, transcripts []string) measureRow {
	r := measureRow{Flow: flow, Lang: lang, Steps: steps, Transcripts: len(transcripts)}
	seen := map[string]bool{}
	total := 0
	first := false
	for _, tr := range transcripts {
		g := guideTurns(parseTranscript(tr), title)
		for i, t := range g {
			n := utf8.RuneCountInString(strings.Join(t.texts, "\n"))
			r.LongestTurn = max(r.LongestTurn, n)
			if i == 0 && !first && len(t.buttons) > 0 {
				first = true
				r.FirstScreenM = max(len(t.texts)-1, 0)
			}
			if len(t.buttons) == 0 || len(t.texts) == 0 {
				continue
			}
			key := t.texts[len(t.texts)-1] + "\x00" + strings.Join(t.buttons, "\x00")
			if seen[key] {
				continue
			}
			seen[key] = true
			r.Screens++
			total += len(t.buttons)
			r.MaxButtons = max(r.MaxButtons, len(t.buttons))
			if len(t.buttons) > 3 {
				r.Over3++
			}
		}
	}
	if r.Screens > 0 {
		r.AvgButtons = float64(total) / float64(r.Screens)
	}
	return r
}

// countHedges counts the hedges in every value of a locale file.
func countHedges(data []byte) (int, error) {
	var m map[string]any
	if err := toml.Unmarshal(data, &m); err != nil {
		return 0, err
	}
	n := 0
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			n += content.Hedges(v)
		case map[string]any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(m)
	return n, nil
}

// runContentMeasure prints issue 19's figures: per flow and language, the
// guide's screens as a walk through the engine meets them (walkFlow), the
// same figures on the golden transcripts as a cross-check, and the hedges
// in the guides' and common locale files.
func runContentMeasure(_ context.Context, e *environ, args []string) error {
	flags := newFlagSet("content measure")
	dir := flags.String("transcripts", "cmd/hangxom/testdata/transcripts", "the golden transcripts (console output) to walk")
	contentDir := flags.String("content", "", "measure this content directory on disk instead of the built-in one")
	localesDir := flags.String("locales", "", "measure this locales directory on disk instead of the built-in one")
	if err := parseFlags(flags, args, e.stderr); err != nil {
		return err
	}
	var cfs, lfs fs.FS = content.FS, locales.FS
	if *contentDir != "" {
		cfs = os.DirFS(*contentDir)
	}
	if *localesDir != "" {
		lfs = os.DirFS(*localesDir)
	}
	return measure(e.stdout, cfs, lfs, *dir)
}

func measure(w io.Writer, cfs, lfs fs.FS, dir string) error {
	fl, err := content.LoadFlows(cfs, "flows")
	if err != nil {
		return err
	}
	sort.Slice(fl, func(i, j int) bool { return fl[i].Order < fl[j].Order })
	lib, areas, _, err := content.Load(cfs, lfs)
	if err != nil {
		return fmt.Errorf("invalid content (run \"hangxom content check\"): %w", err)
	}
	bundle, err := locales.NewBundle(lfs)
	if err != nil {
		return err
	}
	eng := &flows.Engine{Library: lib, Areas: flows.NewAreaIndex(areas), Loc: locales.NewLocalizer(bundle),
		WaitExpiry: 72 * time.Hour, SessionExpiry: 720 * time.Hour, Location: time.UTC}
	fmt.Fprintln(w, "Walked through the engine (every button of every screen inside the guide, each screen once):")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| flow | lang | steps | steps reached | screens | longest turn | max buttons | screens > 3 buttons | avg buttons | step screens | avg buttons, step screens | first screen: messages before the question |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, f := range fl {
		for _, lang := range []string{"vi", "en"} {
			r, err := walkFlow(eng, f.ID, lang)
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "| %s | %s | %d | %d | %d | %d | %d | %d | %.1f | %d | %.1f | %d |\n", r.Flow, r.Lang, len(f.Steps), r.Reached, r.Screens, r.LongestTurn, r.MaxButtons, r.Over3, r.AvgButtons, r.StepScreens, r.AvgStep, r.FirstScreenM)
		}
	}
	fmt.Fprintln(w)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		fmt.Fprintf(w, "No cross-check on the golden transcripts: %s is not a directory (run from the repository's root, or pass --transcripts).\n\n", dir)
		dir = ""
	} else {
		fmt.Fprintln(w, "Cross-check, on the golden transcripts (only the screens they reach):")
		fmt.Fprintln(w)
	}
	if dir != "" {
		fmt.Fprintln(w, "| flow | lang | steps | transcripts | screens | longest turn | max buttons | screens > 3 buttons | avg buttons | first screen: messages before the question |")
		fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|")
		for _, f := range fl {
			for _, lang := range []string{"vi", "en"} {
				var words map[string]any
				data, err := fs.ReadFile(lfs, f.ID+"."+lang+".toml")
				if err != nil {
					return err
				}
				if err := toml.Unmarshal(data, &words); err != nil {
					return fmt.Errorf("%s.%s.toml: %w", f.ID, lang, err)
				}
				title, _ := words[f.Title].(string)
				files, _ := filepath.Glob(filepath.Join(dir, f.ID+"_"+lang+"_*.txt"))
				var trs []string
				for _, p := range files {
					b, err := os.ReadFile(p)
					if err != nil {
						return err
					}
					trs = append(trs, string(b))
				}
				r := measureFlow(f.ID, lang, title, len(f.Steps), trs)
				fmt.Fprintf(w, "| %s | %s | %d | %d | %d | %d | %d | %d | %.1f | %d |\n", r.Flow, r.Lang, r.Steps, r.Transcripts, r.Screens, r.LongestTurn, r.MaxButtons, r.Over3, r.AvgButtons, r.FirstScreenM)
			}
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "| locale file | hedges |")
	fmt.Fprintln(w, "|---|---|")
	names := []string{"common"}
	for _, f := range fl {
		names = append(names, f.ID)
	}
	total := 0
	for _, n := range names {
		for _, lang := range []string{"vi", "en"} {
			name := n + "." + lang + ".toml"
			data, err := fs.ReadFile(lfs, name)
			if err != nil {
				return err
			}
			h, err := countHedges(data)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			total += h
			fmt.Fprintf(w, "| %s | %d |\n", name, h)
		}
	}
	fmt.Fprintf(w, "| total | %d |\n", total)
	return nil
}
