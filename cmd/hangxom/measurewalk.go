package main

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hangxomso/hangxom/flows"
)

// walkFlow measures one flow in one language by walking it through the
// engine in memory: the resident says hello, takes the last commune and its
// first hamlet, picks the flow in the menu, then every button of every
// screen inside the flow is tapped, breadth first, each screen once
// (a screen is a step with its buttons). 🙋 and the menu are not followed:
// they leave the guide.
func walkFlow(e *flows.Engine, flow, lang string) (measureRow, error) {
	r := measureRow{Flow: flow, Lang: lang}
	now := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	tick := func() time.Time { now = now.Add(time.Minute); return now }
	res, err := e.Handle(flows.Session{}, flows.Input{Kind: flows.InputText, Text: "hello", Lang: lang}, tick())
	if err != nil {
		return r, err
	}
	s := res.Session
	// Onboarding: tap the first commune, the first hamlet, then the flow.
	for i := 0; ; i++ {
		if i > 10 {
			return r, fmt.Errorf("%s/%s: no menu entry reached", flow, lang)
		}
		var pick *flows.Choice
		for _, c := range s.Keyboard {
			if c.Action == "flow:"+flow {
				pick = &c
				break
			}
		}
		if pick != nil {
			res, err = e.Handle(s, flows.Input{Kind: flows.InputChoice, Data: pick.Data}, tick())
			if err != nil {
				return r, err
			}
			break
		}
		for _, c := range s.Keyboard {
			// The last commune (Võ Nhai, as in the transcripts: the others
			// list no hamlet), the first hamlet.
			if strings.HasPrefix(c.Action, "commune:") || (pick == nil && strings.HasPrefix(c.Action, "hamlet:") && c.Action != "hamlet:-") {
				pick = &c
			}
		}
		if pick == nil {
			return r, fmt.Errorf("%s/%s: onboarding stopped at %v", flow, lang, s.Keyboard)
		}
		if res, err = e.Handle(s, flows.Input{Kind: flows.InputChoice, Data: pick.Data}, tick()); err != nil {
			return r, err
		}
		s = res.Session
	}
	if len(res.Replies) > 0 {
		r.FirstScreenM = len(res.Replies) - 1
	}
	inside := func(s flows.Session) bool {
		return s.Stage == flows.StageFlow && s.Active != nil && s.Active.Flow == flow
	}
	key := func(s flows.Session) string {
		labels := make([]string, len(s.Keyboard))
		for i, c := range s.Keyboard {
			labels[i] = c.Label
		}
		return s.Active.Step + "\x00" + strings.Join(labels, "\x00")
	}
	turnLen := func(res flows.Result) int {
		texts := make([]string, len(res.Replies))
		for i, m := range res.Replies {
			texts[i] = m.Text
		}
		return utf8.RuneCountInString(strings.Join(texts, "\n"))
	}
	if !inside(res.Session) {
		return r, fmt.Errorf("%s/%s: the menu did not start the flow", flow, lang)
	}
	r.LongestTurn = turnLen(res)
	seen := map[string]bool{key(res.Session): true}
	steps := map[string]bool{}
	type screen struct {
		s    flows.Session
		side bool // opened by ❓ or ℹ️, not the step's own screen
	}
	queue := []screen{{s: res.Session}}
	total, stepTotal := 0, 0
	for len(queue) > 0 {
		s, side := queue[0].s, queue[0].side
		queue = queue[1:]
		steps[s.Active.Step] = true
		if n := len(s.Keyboard); n > 0 {
			r.Screens++
			total += n
			r.MaxButtons = max(r.MaxButtons, n)
			if n > 3 {
				r.Over3++
			}
			if !side {
				r.StepScreens++
				stepTotal += n
			}
		}
		for _, c := range s.Keyboard {
			if c.Action == "human" || c.Action == "menu" || strings.HasPrefix(c.Action, "flow:") || c.Contact {
				continue
			}
			res, err := e.Handle(s, flows.Input{Kind: flows.InputChoice, Data: c.Data}, tick())
			if err != nil {
				return r, err
			}
			if !inside(res.Session) {
				continue
			}
			r.LongestTurn = max(r.LongestTurn, turnLen(res))
			if k := key(res.Session); !seen[k] {
				seen[k] = true
				// ❓'s screen offers "try again"; ℹ️'s shows the step's
				// background.
				side := c.Action == "ck:more" || slices.ContainsFunc(res.Session.Keyboard, func(c flows.Choice) bool { return c.Action == "ck:retry" })
				queue = append(queue, screen{s: res.Session, side: side})
			}
		}
	}
	r.Reached = len(steps)
	if r.Screens > 0 {
		r.AvgButtons = float64(total) / float64(r.Screens)
	}
	if r.StepScreens > 0 {
		r.AvgStep = float64(stepTotal) / float64(r.StepScreens)
	}
	return r, nil
}
