package content

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	yaml "go.yaml.in/yaml/v3"

	"github.com/hangxomso/hangxom/dashboard"
	"github.com/hangxomso/hangxom/desk"
	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/locales"
)

// MaxMessageRunes is the longest a flow message may be once rendered with
// sample data: a resident reads it on a phone, in one screen.
const MaxMessageRunes = 300

// Problem is one thing wrong with the content or the words, located the way
// a compiler locates an error: File is the path in the repository
// ("content/flows/ewallet.yaml", "locales/ewallet.vi.toml"), Line is 0 when
// unknown, Path names the element ("steps[3] (otp)", a message id).
type Problem struct {
	File string
	Line int
	Path string
	Msg  string
	// Style marks a rule of the words' house style (issue 19: four
	// buttons at most, no hedges, no 🙋 in a guide): content check fails
	// on it, but the bot still loads the content and runs.
	Style bool
}

// String formats p as "file:line: path: msg", leaving out what is unknown.
func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
	}
	b.WriteString(": ")
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Check validates the content in contentFS (laid out like FS) and the
// message files in localesFS (laid out like locales.FS) together and returns
// every problem found, sorted by file and line; none means the content is
// fit to ship. It checks:
//
//   - files: YAML and TOML syntax, unknown fields, one document per file,
//     message files named <name>.<lang>.toml in a language the bot speaks;
//   - flows: ids present, valid and unique (flow ids match the file name),
//     title and start present, start exists, known step types, only the
//     fields a type uses, the fields it needs, every target exists, button
//     ids unique, external steps with a checker and outcomes, questions with
//     a known validation, a "# source:" comment on every step, every step
//     reachable from start, an end step reachable from every step, no loop
//     of info steps that never waits;
//   - messages: every id a flow names and every system message present in
//     every language, every message present in all languages, no message
//     in a flow's own files (<flow id>.<lang>.toml) that the flow does not
//     use, templates that parse, render and use only the fields supplied
//     (flows.ContentFields for say and invalid, none for titles and button
//     labels, which the engine renders without data, the fields
//     flows.SystemMessages and desk.Messages list for system messages, plus Count for counted
//     ones), counted messages with the plural forms their language needs,
//     no counted flow message, no empty text, flow messages at most
//     MaxMessageRunes long when rendered with sample data;
//   - the words' house style (Problem.Style; issue 19): at most
//     flows.MaxButtons buttons on a step's screen, turns of at most
//     MaxTurnRunes, no hedges, no 🙋 in a guide's words, retired step ids
//     never used again, areas that exist;
//   - areas: ids, levels, names, parents (hamlet → commune → province),
//     successors, dates, counts, one unassigned hamlet per current commune;
//   - targets: flow and area exist, 0 < pct <= 100, a known basis, a
//     source, one target per flow and area.
func Check(contentFS, localesFS fs.FS) []Problem {
	return check(contentFS, localesFS, flows.ContentFields(), systemMessages())
}

// systemMessages are the messages the engine and the team desk render
// themselves, with the fields each supplies.
func systemMessages() map[string][]string {
	m := flows.SystemMessages()
	for id, fields := range desk.Messages() {
		m[id] = fields
	}
	for id, fields := range dashboard.Messages() {
		m[id] = fields
	}
	return m
}

// check is Check with the engine's fields and system messages as arguments,
// so that tests do not depend on what the engine happens to render today.
func check(contentFS, localesFS fs.FS, contentFields []string, system map[string][]string) []Problem {
	c := &checker{contentFields: contentFields, system: system, refs: map[string][]msgRef{}}
	c.loadLocales(localesFS)
	c.flowIDs = c.checkFlows(contentFS)
	c.checkMessages()
	areas := c.checkAreas(contentFS)
	for _, u := range c.flowAreas {
		switch a, ok := areas[u.id]; {
		case !ok:
			c.add(u.file, u.line, "", "areas: %q is not an area of areas.yaml", u.id)
		case a.Level == flows.LevelHamlet:
			c.add(u.file, u.line, "", "areas: %q is a hamlet; name a commune or a province", u.id)
		case a.ValidTo != "":
			c.add(u.file, u.line, "", "areas: %q is a former area (valid_to %s); name the one it became", u.id, a.ValidTo)
		}
	}
	c.checkTargets(contentFS, c.flowIDs, areas)
	slices.SortStableFunc(c.probs, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Path, b.Path), cmp.Compare(a.Msg, b.Msg))
	})
	return c.probs
}

type checker struct {
	contentFields []string
	system        map[string][]string
	probs         []Problem

	cat     map[string]map[string]locales.Message // by language, then id
	refs    map[string][]msgRef                   // message ids named by flows
	flowIDs map[string]bool                       // flows defined
	// flowAreas are the areas flows are limited to, checked once the
	// areas are read.
	flowAreas []areaUse
}

type areaUse struct {
	file, id string
	line     int
}

// msgRef is a place in a flow file that names a message.
type msgRef struct {
	file, path string
	field      string // "say", "buttons[1].label", …
	line       int
	data       []string // the template fields the engine supplies there
}

// use names how the engine renders a message: "say" and "invalid" with the
// content fields, "title" and "label" with none.
func (r msgRef) use() string {
	if strings.HasSuffix(r.field, ".label") {
		return "label"
	}
	return r.field
}

// style adds a problem of the words' house style (Problem.Style).
func (c *checker) style(file string, line int, path, format string, args ...any) {
	c.add(file, line, path, format, args...)
	c.probs[len(c.probs)-1].Style = true
}

func (c *checker) add(file string, line int, path, format string, args ...any) {
	c.probs = append(c.probs, Problem{File: file, Line: line, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// ---- locales ---------------------------------------------------------------

func (c *checker) loadLocales(fsys fs.FS) {
	names, err := locales.Files(fsys)
	if err != nil {
		c.add(localesRoot, 0, "", "%v", err)
		return
	}
	if len(names) == 0 {
		c.add(localesRoot, 0, "", "no message files (*.toml)")
	}
	for _, name := range names {
		if lang := locales.FileLang(name); !slices.Contains(locales.Languages(), lang) {
			c.add(path.Join(localesRoot, name), 0, "", "language %q is not one of %s; name files <name>.<lang>.toml",
				lang, strings.Join(locales.Languages(), ", "))
		}
	}
	cat, err := locales.Catalog(fsys)
	for _, e := range unjoin(err) {
		var fe *locales.FileError
		if !errors.As(e, &fe) {
			c.add(localesRoot, 0, "", "%v", e)
			continue
		}
		var dup *locales.DuplicateError
		if errors.As(fe.Err, &dup) {
			c.add(path.Join(localesRoot, fe.File), fe.Line, dup.ID, "also defined at %s:%d",
				path.Join(localesRoot, dup.File), dup.Line)
			continue
		}
		c.add(path.Join(localesRoot, fe.File), fe.Line, "", "%v", fe.Err)
	}
	c.cat = cat
	for _, lang := range locales.Languages() {
		if len(names) > 0 && len(cat[lang]) == 0 {
			c.add(localesRoot, 0, "", "no messages in %s", lang)
		}
	}
}

func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// requiredForms returns the plural forms a counted message needs in lang.
func requiredForms(lang string) []string {
	switch lang {
	case "vi", "en": // go-i18n v2.7.0 (CLDR): vi one = i=0 or n=1; en one = i=1 and v=0
		return []string{"one", "other"}
	}
	return []string{"other"}
}

// checkMessages checks every message on its own and against the flows and
// the engine; it runs after checkFlows has collected the references.
func (c *checker) checkMessages() {
	langs := locales.Languages()
	ids := map[string]bool{}
	for _, lang := range langs {
		for id := range c.cat[lang] {
			ids[id] = true
		}
	}
	for id := range c.refs {
		ids[id] = true
	}
	for id := range c.system {
		ids[id] = true
	}
	for _, id := range slices.Sorted(maps.Keys(ids)) {
		c.checkUsed(id)
		var missing []string
		var first *locales.Message
		for _, lang := range langs {
			m, ok := c.cat[lang][id]
			if !ok {
				missing = append(missing, lang)
				continue
			}
			if first == nil {
				first = &m
			}
			c.checkMessage(lang, id, m)
		}
		if len(missing) == 0 {
			continue
		}
		list := strings.Join(missing, ", ")
		for _, r := range c.refs[id] {
			c.add(r.file, r.line, r.path, "%s %q is missing in %s", r.field, id, list)
		}
		_, isSystem := c.system[id]
		if isSystem {
			c.add(localesRoot, 0, id, "system message is missing in %s", list)
		}
		if _, isContent := c.refs[id]; first != nil && !isContent && !isSystem {
			c.add(path.Join(localesRoot, first.File), first.Line, id, "missing in %s", list)
		}
	}
}

// checkUsed reports a message that lives in a flow's own files
// (<flow id>.<lang>.toml) but that the flow does not name: a leftover, or a
// typo on one side.
func (c *checker) checkUsed(id string) {
	if _, used := c.refs[id]; used {
		return
	}
	if _, system := c.system[id]; system {
		return
	}
	for _, lang := range locales.Languages() {
		m, ok := c.cat[lang][id]
		if !ok {
			continue
		}
		flow := strings.TrimSuffix(m.File, "."+lang+".toml")
		if c.flowIDs[flow] {
			c.add(path.Join(localesRoot, m.File), m.Line, id, "flow %q does not use this message", flow)
		}
	}
}

// checkMessage checks one message of one language.
func (c *checker) checkMessage(lang, id string, m locales.Message) {
	file := path.Join(localesRoot, m.File)
	_, isSystem := c.system[id]
	_, isContent := c.refs[id]
	if m.Counted() {
		for _, f := range requiredForms(lang) {
			if _, ok := m.Form(f); !ok {
				c.add(file, m.Line, id, "counted message lacks plural form %q, which %s needs", f, lang)
			}
		}
		if isContent {
			c.add(file, m.Line, id, "flow messages are rendered without a Count; give it no plural forms")
		}
	}
	for i, text := range m.Texts {
		where := id
		if m.Counted() {
			where = id + "." + m.Forms[i]
		}
		if strings.TrimSpace(text) == "" {
			c.add(file, m.Line, where, "text is empty")
			continue
		}
		fields, err := templateFields(id, text)
		if err != nil {
			c.add(file, m.Line, where, "%v", err)
			continue
		}
		if (isContent || strings.HasPrefix(id, "common.")) && Hedges(text) > 0 {
			c.style(file, m.Line, where, "says something is not known (%q…): say what is known and whom to ask", strings.Join(hedgeWords[:2], ", "))
		}
		if isContent && strings.Contains(text, "🙋") {
			c.style(file, m.Line, where, "names 🙋, which a guide's screens do not show: a person is asked for through ❓")
		}
		if isContent {
			reported := map[string]bool{}
			for _, r := range c.refs[id] {
				for _, f := range fields {
					if !slices.Contains(r.data, f) && !reported[r.use()+"."+f] {
						reported[r.use()+"."+f] = true
						c.add(file, m.Line, where, "template field .%s is not supplied to a flow's %s (it gets %s)", f, r.use(), fieldList(r.data))
					}
				}
			}
			if n, err := renderedRunes(id, text, c.contentFields); err != nil {
				c.add(file, m.Line, where, "%v", err)
			} else if n > MaxMessageRunes {
				c.add(file, m.Line, where, "renders to %d characters, more than %d", n, MaxMessageRunes)
			}
		}
		if isSystem {
			allowed := c.system[id]
			if m.Counted() {
				allowed = append(slices.Clone(allowed), "Count")
			}
			for _, f := range fields {
				if !slices.Contains(allowed, f) {
					c.add(file, m.Line, where, "template field .%s is not supplied to this system message (it gets %s)", f, fieldList(allowed))
				}
			}
		}
	}
}

func fieldList(fields []string) string {
	if len(fields) == 0 {
		return "nothing"
	}
	dotted := make([]string, len(fields))
	for i, f := range fields {
		dotted[i] = "." + f
	}
	return strings.Join(dotted, ", ")
}

// ---- flows -----------------------------------------------------------------

// stepFields lists, for each step type, the fields it may have beyond id,
// type, say and image.
var stepFields = map[flows.StepType][]string{
	flows.StepInfo:       {"next"},
	flows.StepChoice:     {"buttons", "more", "secret"},
	flows.StepCheckpoint: {"next", "skip", "stuck", "more", "secret", "urgent"},
	flows.StepQuestion:   {"validate", "invalid", "save", "next", "more", "secret"},
	flows.StepExternal:   {"checker", "outcomes", "buttons", "more", "secret"},
	flows.StepEnd:        {},
}

// stepKeys are the fields of a step in YAML.
var stepKeys = []string{"id", "type", "say", "next", "skip", "stuck", "buttons", "validate", "invalid",
	"save", "checker", "outcomes", "image", "more", "secret", "urgent"}

// hedgeWords tell a resident that something is not known: a guide says
// what is known and, for the rest, whom to ask (issue 19). Matched
// case-insensitively.
var hedgeWords = []string{"chưa rõ", "hiện chưa", "chưa có thông tin", "not clear", "unclear", "not yet known"}

// Hedges counts the hedge words in text.
func Hedges(text string) int {
	low, n := strings.ToLower(text), 0
	for _, h := range hedgeWords {
		n += strings.Count(low, h)
	}
	return n
}

var stepTypes = []flows.StepType{flows.StepInfo, flows.StepChoice, flows.StepCheckpoint,
	flows.StepQuestion, flows.StepExternal, flows.StepEnd}

var (
	sourceComment = regexp.MustCompile(`(?m)^#\s*source:\s*\S`)
	varName       = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)
)

// checkFlows checks every flow file and returns the flow ids defined.
func (c *checker) checkFlows(fsys fs.FS) map[string]bool {
	ids := map[string]bool{}
	names, err := fs.Glob(fsys, path.Join(FlowsDir, "*.yaml"))
	if err != nil {
		c.add(path.Join(contentRoot, FlowsDir), 0, "", "%v", err)
		return ids
	}
	if len(names) == 0 {
		c.add(path.Join(contentRoot, FlowsDir), 0, "", "no flow files (*.yaml)")
	}
	slices.Sort(names)
	idFile := map[string]string{}
	for _, name := range names {
		file := path.Join(contentRoot, name)
		src, err := fs.ReadFile(fsys, name)
		if err != nil {
			c.add(file, 0, "", "%v", err)
			continue
		}
		f, root, ps := decodeFlow(file, src)
		c.probs = append(c.probs, ps...)
		if f == nil {
			continue
		}
		if f.ID != "" {
			if prev, dup := idFile[f.ID]; dup {
				c.add(file, keyLine(root, "id", f.Line), "", "flow id %q is also used by %s", f.ID, prev)
			} else {
				idFile[f.ID] = file
				ids[f.ID] = true
			}
		}
		c.checkFlow(file, f, root)
	}
	return ids
}

func (c *checker) checkFlow(file string, f *flows.Flow, root *yaml.Node) {
	line := func(key string) int { return keyLine(root, key, f.Line) }
	switch {
	case f.ID == "":
		c.add(file, f.Line, "", "id is missing")
	case !flows.ValidID(f.ID):
		c.add(file, line("id"), "", "id %q is not a valid id (lower-case letters, digits, _ and -, at most 32)", f.ID)
	case f.ID+".yaml" != path.Base(file):
		c.add(file, line("id"), "", "id %q does not match the file name %s", f.ID, path.Base(file))
	}
	if f.Title == "" {
		c.add(file, f.Line, "", "title is missing")
	} else {
		c.ref(f.Title, msgRef{file: file, line: line("title"), field: "title"})
	}
	if len(f.Steps) == 0 {
		c.add(file, f.Line, "", "the flow has no steps")
		return
	}

	for _, id := range f.Areas {
		c.flowAreas = append(c.flowAreas, areaUse{file: file, id: id, line: line("areas")})
	}
	retired := map[string]bool{}
	for _, id := range f.Retired {
		if !flows.ValidID(id) {
			c.add(file, line("retired"), "", "retired: %q is not a valid step id", id)
		}
		retired[id] = true
	}

	// The funnel tells a resident's steps of a month apart by their codes
	// (flows.StepCode): two ids of one flow, live or retired, with one code
	// would count as one step.
	codes := map[string]string{}
	codeOf := func(id string, at int, p string) {
		code := flows.StepCode(f.ID, id)
		if other, ok := codes[code]; ok && other != id {
			c.add(file, at, p, "id %q has the funnel code of %q (flows.StepCode): the funnel would count them as one step; give the step another id", id, other)
			return
		}
		codes[code] = id
	}
	for _, id := range f.Retired {
		codeOf(id, line("retired"), "")
	}
	for i := range f.Steps {
		codeOf(f.Steps[i].ID, f.Steps[i].Line, stepPath(i, &f.Steps[i]))
	}

	stepsNode := mapValue(root, "steps")
	index := map[string]int{}
	broken := map[int]bool{} // steps with a problem that makes them a dead end already reported
	for i := range f.Steps {
		s := &f.Steps[i]
		node := seqItem(stepsNode, i)
		p := stepPath(i, s)
		at := func(key string) int { return keyLine(node, key, s.Line) }
		switch {
		case s.ID == "":
			c.add(file, s.Line, p, "id is missing")
		case !flows.ValidID(s.ID):
			c.add(file, at("id"), p, "id %q is not a valid id (lower-case letters, digits, _ and -, at most 32)", s.ID)
		}
		if retired[s.ID] {
			c.add(file, at("id"), p, "id %q is retired (the flow's retired list): give the step a new id, so counts kept under the old one keep their meaning", s.ID)
		}
		if s.ID != "" {
			if j, dup := index[s.ID]; dup {
				c.add(file, at("id"), p, "id %q is also used by steps[%d]", s.ID, j)
			} else {
				index[s.ID] = i
			}
		}
		if !hasSource(node) {
			c.add(file, s.Line, p, `no "# source:" comment; say where this step's instructions come from`)
		}
		if s.Say == "" {
			c.add(file, s.Line, p, "say is missing")
		} else {
			c.ref(s.Say, msgRef{file: file, line: at("say"), path: p, field: "say", data: c.contentFields})
			c.checkFinish(file, at("say"), p, s)
		}
		allowed, known := stepFields[s.Type]
		switch {
		case s.Type == "":
			c.add(file, s.Line, p, "type is missing (one of %s)", typeList())
			broken[i] = true
			continue
		case !known:
			c.add(file, at("type"), p, "type %q is not one of %s", s.Type, typeList())
			broken[i] = true
			continue
		}
		if node != nil && node.Kind == yaml.MappingNode {
			for k := 0; k+1 < len(node.Content); k += 2 {
				key := node.Content[k]
				switch key.Value {
				case "id", "type", "say", "image":
				default:
					// An unknown field is yaml's to report.
					if slices.Contains(stepKeys, key.Value) && !slices.Contains(allowed, key.Value) {
						c.add(file, key.Line, p, "field %q does not belong to a step of type %s", key.Value, s.Type)
					}
				}
			}
		}
		if s.More != "" && slices.Contains(allowed, "more") {
			c.ref(s.More, msgRef{file: file, line: at("more"), path: p, field: "more", data: c.contentFields})
		}
		if n := flows.StepButtons(s); n > flows.MaxButtons {
			c.style(file, s.Line, p, "its screen shows %d buttons (back, ❓, ⏭ and ℹ️ included), more than %d", n, flows.MaxButtons)
		}
		if c.checkStepType(file, p, s, node, at) {
			broken[i] = true
		}
	}

	// Targets, in a stable order.
	edges := make([][]int, len(f.Steps))
	leaves := make([]bool, len(f.Steps)) // a way out to the menu: not a dead end
	for i := range f.Steps {
		s := &f.Steps[i]
		if _, known := stepFields[s.Type]; !known {
			continue
		}
		node := seqItem(stepsNode, i)
		targets := s.Targets()
		for _, field := range slices.Sorted(maps.Keys(targets)) {
			if !slices.Contains(stepFields[s.Type], fieldRoot(field)) {
				continue // reported as a field that does not belong
			}
			to := targets[field]
			if to == flows.LeaveTarget {
				leaves[i] = true
				continue
			}
			j, ok := index[to]
			if !ok {
				c.add(file, fieldLine(node, field, s.Line), stepPath(i, s), "%s %q does not exist", field, to)
				broken[i] = true
				continue
			}
			edges[i] = append(edges[i], j)
		}
	}

	// Reachability from start.
	reachable := make([]bool, len(f.Steps))
	startOK := false
	switch j, ok := index[f.Start]; {
	case f.Start == "":
		c.add(file, f.Line, "", "start is missing")
	case !ok:
		c.add(file, line("start"), "", "start %q does not exist", f.Start)
	default:
		startOK = true
		walk(j, edges, reachable)
		for i := range f.Steps {
			if !reachable[i] {
				c.add(file, f.Steps[i].Line, stepPath(i, &f.Steps[i]), "step is unreachable from start %q", f.Start)
			}
		}
	}

	// Dead ends: steps from which no end step can be reached. Steps whose
	// way on is broken are reported already, and so is whatever leads to
	// them.
	var ends []int
	for i := range f.Steps {
		if f.Steps[i].Type == flows.StepEnd {
			ends = append(ends, i)
		}
	}
	if len(ends) == 0 {
		c.add(file, line("steps"), "", "no step has type end: the flow can never be completed")
	} else {
		rev := make([][]int, len(f.Steps))
		for i, out := range edges {
			for _, j := range out {
				rev[j] = append(rev[j], i)
			}
		}
		live := make([]bool, len(f.Steps))
		for _, e := range ends {
			walk(e, rev, live)
		}
		for i := range f.Steps {
			if leaves[i] {
				walk(i, rev, live)
			}
		}
		for i := range f.Steps {
			if broken[i] {
				walk(i, rev, live)
			}
		}
		for i := range f.Steps {
			if !live[i] && (!startOK || reachable[i]) {
				c.add(file, f.Steps[i].Line, stepPath(i, &f.Steps[i]), "no end step can be reached from this step")
			}
		}
	}

	c.checkInfoLoops(file, f, index)
	c.checkTurns(file, f, index)
	c.checkUrgent(file, f)
}

// checkUrgent reports an urgent step that the engine would enter without
// filing its request: the request is filed when a waiting step leads to
// it (flows.turn.advance), not when the guide starts there or an info
// step walks into it, and its words say the team was told.
func (c *checker) checkUrgent(file string, f *flows.Flow) {
	urgent := map[string]bool{}
	for _, s := range f.Steps {
		if s.Urgent {
			urgent[s.ID] = true
		}
	}
	if urgent[f.Start] {
		c.add(file, f.Line, "", "start %q is urgent: an urgent step files its request when a step leads to it, so it cannot be the first", f.Start)
	}
	for i := range f.Steps {
		s := &f.Steps[i]
		if s.Type == flows.StepInfo && urgent[s.Next] {
			c.add(file, s.Line, stepPath(i, s), "an info step leads to the urgent step %q: its request would not be filed; lead there from a step that waits", s.Next)
		}
	}
}

// MaxTurnRunes is about the most a resident should read between two taps
// (issue 19): the messages of the info steps a tap walks through and of
// the step that then waits, joined by line breaks.
const MaxTurnRunes = 350

// checkTurns reports a turn longer than MaxTurnRunes in any language: from
// the flow's start, or from a step a waiting step leads to, through info
// steps to the next step that waits (or ends the guide).
func (c *checker) checkTurns(file string, f *flows.Flow, index map[string]int) {
	entries := map[string]bool{f.Start: true}
	for i := range f.Steps {
		s := &f.Steps[i]
		if s.Type == flows.StepInfo {
			continue
		}
		for _, t := range []string{s.Next, s.Skip, s.Stuck} {
			entries[t] = true
		}
		for _, b := range s.Buttons {
			entries[b.Next] = true
		}
		for _, t := range s.Outcomes {
			entries[t] = true
		}
	}
	for i := range f.Steps {
		if !entries[f.Steps[i].ID] {
			continue
		}
		var chain []int
		for j, ok := i, true; ok && len(chain) <= len(f.Steps); j, ok = index[f.Steps[j].Next] {
			chain = append(chain, j)
			if f.Steps[j].Type != flows.StepInfo {
				break
			}
		}
		for _, lang := range locales.Languages() {
			n, ids := 0, make([]string, 0, len(chain))
			for k, j := range chain {
				m, ok := c.cat[lang][f.Steps[j].Say]
				if !ok || len(m.Texts) == 0 {
					continue // reported elsewhere
				}
				r, err := renderedRunes(f.Steps[j].Say, m.Texts[0], c.contentFields)
				if err != nil {
					continue // reported elsewhere
				}
				if k > 0 {
					n++ // the line break between messages
				}
				n += r
				ids = append(ids, f.Steps[j].ID)
			}
			if n > MaxTurnRunes {
				c.style(file, f.Steps[i].Line, stepPath(i, &f.Steps[i]), "a turn of %d characters in %s (%s), more than %d: one action a message, background behind ℹ️ (more:)",
					n, lang, strings.Join(ids, " → "), MaxTurnRunes)
			}
		}
	}
}

// checkStepType checks the fields a step's type needs. It reports whether
// the step is a dead end because of it (its way on is missing).
func (c *checker) checkStepType(file, p string, s *flows.Step, node *yaml.Node, at func(string) int) (deadEnd bool) {
	switch s.Type {
	case flows.StepInfo, flows.StepCheckpoint:
		if s.Next == "" {
			c.add(file, s.Line, p, "next is missing: the step is a dead end")
			deadEnd = true
		}
	case flows.StepQuestion:
		if s.Next == "" {
			c.add(file, s.Line, p, "next is missing: the step is a dead end")
			deadEnd = true
		}
		switch {
		case s.Validate == "":
			c.add(file, s.Line, p, "validate is missing (one of %s)", strings.Join(flows.Validators(), ", "))
		case !slices.Contains(flows.Validators(), s.Validate):
			c.add(file, at("validate"), p, "validate %q is not one of %s", s.Validate, strings.Join(flows.Validators(), ", "))
		}
		// Without invalid the engine says common.invalid.<validate>, a
		// system message.
		if s.Invalid != "" {
			c.ref(s.Invalid, msgRef{file: file, line: at("invalid"), path: p, field: "invalid", data: c.contentFields})
		}
		if s.Save != "" && !varName.MatchString(s.Save) {
			c.add(file, at("save"), p, "save %q is not a valid variable name (lower-case letters, digits and _, at most 32)", s.Save)
		}
	case flows.StepChoice:
		if len(s.Buttons) == 0 {
			c.add(file, s.Line, p, "choice has no buttons: the step is a dead end")
			deadEnd = true
		}
		if c.buttons(file, node, p, s) {
			deadEnd = true
		}
	case flows.StepExternal:
		// Buttons are optional here: ways on without the input (skip the check).
		if c.buttons(file, node, p, s) {
			deadEnd = true
		}
		switch {
		case s.Checker == "":
			c.add(file, s.Line, p, "checker is missing")
		case !flows.ValidID(s.Checker):
			c.add(file, at("checker"), p, "checker %q is not a valid name", s.Checker)
		}
		if len(s.Outcomes) == 0 {
			c.add(file, s.Line, p, "outcomes are missing: the step is a dead end")
			deadEnd = true
		}
		for _, k := range slices.Sorted(maps.Keys(s.Outcomes)) {
			if !flows.ValidID(k) {
				c.add(file, fieldLine(node, "outcomes."+k, s.Line), p, "outcome %q is not a valid name", k)
			}
		}
	}
	return deadEnd
}

// checkInfoLoops reports loops made of info steps only: the engine would
// walk them until its step budget runs out, without waiting for the resident.
func (c *checker) checkInfoLoops(file string, f *flows.Flow, index map[string]int) {
	reported := map[int]bool{}
	for i := range f.Steps {
		if f.Steps[i].Type != flows.StepInfo || reported[i] {
			continue
		}
		chain := []int{i}
		onChain := map[int]bool{i: true}
		for {
			j, ok := index[f.Steps[chain[len(chain)-1]].Next]
			if !ok || f.Steps[j].Type != flows.StepInfo {
				break
			}
			if onChain[j] {
				if j == i {
					names := make([]string, 0, len(chain)+1)
					for _, k := range chain {
						names = append(names, f.Steps[k].ID)
						reported[k] = true
					}
					names = append(names, f.Steps[i].ID)
					c.add(file, f.Steps[i].Line, stepPath(i, &f.Steps[i]), "info steps loop without waiting for the resident: %s",
						strings.Join(names, " → "))
				}
				break
			}
			chain = append(chain, j)
			onChain[j] = true
		}
	}
}

// ref records that a flow names message id.
// Finish is how a guide's last message begins, and no other step's: residents
// (and tools) can tell a guide finished.
const Finish = "🎉"

// checkFinish: an end step's message begins with Finish in every language,
// and no other step's does.
func (c *checker) checkFinish(file string, line int, p string, s *flows.Step) {
	for _, lang := range locales.Languages() {
		m, ok := c.cat[lang][s.Say]
		if !ok || len(m.Texts) == 0 {
			continue // a missing message is reported elsewhere
		}
		starts := strings.HasPrefix(strings.TrimSpace(m.Texts[0]), Finish)
		switch {
		case s.Type == flows.StepEnd && !starts:
			c.add(file, line, p, "the guide's last message (%s, %s) must begin with %q", s.Say, lang, Finish)
		case s.Type != flows.StepEnd && starts:
			c.add(file, line, p, "only a guide's last message begins with %q; %s (%s) does", Finish, s.Say, lang)
		}
	}
}

func (c *checker) ref(id string, r msgRef) { c.refs[id] = append(c.refs[id], r) }

func stepPath(i int, s *flows.Step) string {
	if s.ID == "" {
		return fmt.Sprintf("steps[%d]", i)
	}
	return fmt.Sprintf("steps[%d] (%s)", i, s.ID)
}

func typeList() string {
	names := make([]string, len(stepTypes))
	for i, t := range stepTypes {
		names[i] = string(t)
	}
	return strings.Join(names, ", ")
}

// fieldRoot returns the step field a Targets label comes from:
// "buttons[2].next" → "buttons", "outcomes.ok" → "outcomes".
func fieldRoot(label string) string {
	if i := strings.IndexAny(label, "[."); i >= 0 {
		return label[:i]
	}
	return label
}

// fieldLine finds the line of a Targets label in a step node.
func fieldLine(step *yaml.Node, label string, def int) int {
	var i int
	if _, err := fmt.Sscanf(label, "buttons[%d].next", &i); err == nil {
		b := seqItem(mapValue(step, "buttons"), i)
		if b == nil {
			return def
		}
		return keyLine(b, "next", b.Line)
	}
	if k, ok := strings.CutPrefix(label, "outcomes."); ok {
		return keyLine(mapValue(step, "outcomes"), k, keyLine(step, "outcomes", def))
	}
	return keyLine(step, label, def)
}

// walk marks every node reachable from i along edges.
func walk(i int, edges [][]int, seen []bool) {
	if seen[i] {
		return
	}
	seen[i] = true
	for _, j := range edges[i] {
		walk(j, edges, seen)
	}
}

// hasSource reports whether a "# source:" comment is attached to a step:
// above it, or on or between its lines.
func hasSource(n *yaml.Node) bool {
	if n == nil {
		return false
	}
	for _, c := range []string{n.HeadComment, n.LineComment, n.FootComment} {
		if sourceComment.MatchString(c) {
			return true
		}
	}
	for _, k := range n.Content {
		if hasSource(k) {
			return true
		}
	}
	return false
}

// ---- areas -----------------------------------------------------------------

var (
	areaID     = regexp.MustCompile(`^[a-z0-9-]{1,40}$`)
	areaLevels = []string{flows.LevelProvince, flows.LevelCommune, flows.LevelHamlet}
	// parentLevel is the level an area's parent must have; "" means none.
	parentLevel = map[string]string{
		flows.LevelProvince: "",
		flows.LevelCommune:  flows.LevelProvince,
		flows.LevelHamlet:   flows.LevelCommune,
	}
)

// checkAreas checks the areas file and returns the areas by id.
func (c *checker) checkAreas(fsys fs.FS) map[string]flows.Area {
	file := path.Join(contentRoot, AreasFile)
	byID := map[string]flows.Area{}
	src, err := fs.ReadFile(fsys, AreasFile)
	if err != nil {
		c.add(file, 0, "", "cannot read: %v", errors.Unwrap(err))
		return byID
	}
	areas, root, ps := decodeAreas(file, src)
	c.probs = append(c.probs, ps...)
	if root == nil {
		return byID
	}
	seq := mapValue(root, "areas")
	lines := make([]int, len(areas))
	nodes := make([]*yaml.Node, len(areas))
	for i, a := range areas {
		nodes[i] = seqItem(seq, i)
		lines[i] = root.Line
		if nodes[i] != nil {
			lines[i] = nodes[i].Line
		}
		p := areaPath(i, a)
		switch {
		case a.ID == "":
			c.add(file, lines[i], p, "id is missing")
		case !areaID.MatchString(a.ID):
			c.add(file, keyLine(nodes[i], "id", lines[i]), p, "id %q is not a valid area id (lower-case letters, digits and -, at most 40)", a.ID)
		default:
			if _, dup := byID[a.ID]; dup {
				c.add(file, keyLine(nodes[i], "id", lines[i]), p, "id %q is used twice", a.ID)
			} else {
				byID[a.ID] = a
			}
		}
	}
	unassigned := map[string]string{} // commune id → its unassigned hamlet
	for i, a := range areas {
		p, n, l := areaPath(i, a), nodes[i], lines[i]
		at := func(key string) int { return keyLine(n, key, l) }
		if a.Name == "" {
			c.add(file, l, p, "name is missing")
		}
		if !slices.Contains(areaLevels, a.Level) {
			if a.Level == "" {
				c.add(file, l, p, "level is missing (one of %s)", strings.Join(areaLevels, ", "))
			} else {
				c.add(file, at("level"), p, "level %q is not one of %s", a.Level, strings.Join(areaLevels, ", "))
			}
		} else {
			want := parentLevel[a.Level]
			parent, ok := byID[a.ParentID]
			switch {
			case want == "" && a.ParentID != "":
				c.add(file, at("parent_id"), p, "a %s has no parent, but parent_id is %q", a.Level, a.ParentID)
			case a.ParentID == "" && a.Level == flows.LevelHamlet:
				c.add(file, l, p, "parent_id is missing: a hamlet belongs to a commune")
			case a.ParentID == "":
			case !ok:
				c.add(file, at("parent_id"), p, "parent_id %q does not exist", a.ParentID)
			case parent.Level != want:
				c.add(file, at("parent_id"), p, "parent %q is a %s; the parent of a %s must be a %s", a.ParentID, parent.Level, a.Level, want)
			}
		}
		datesOK := true
		for _, d := range []struct{ key, val string }{{"valid_from", a.ValidFrom}, {"valid_to", a.ValidTo}} {
			if d.val == "" {
				continue
			}
			if t, err := time.Parse(time.DateOnly, d.val); err != nil || t.Format(time.DateOnly) != d.val {
				c.add(file, at(d.key), p, "%s %q is not a date YYYY-MM-DD", d.key, d.val)
				datesOK = false
			}
		}
		if datesOK && a.ValidFrom != "" && a.ValidTo != "" && a.ValidTo < a.ValidFrom {
			c.add(file, at("valid_to"), p, "valid_to %s is before valid_from %s", a.ValidTo, a.ValidFrom)
		}
		if a.Successor != "" {
			succ, ok := byID[a.Successor]
			switch {
			case a.Successor == a.ID:
				c.add(file, at("successor_id"), p, "successor_id is the area itself")
			case !ok:
				c.add(file, at("successor_id"), p, "successor_id %q does not exist", a.Successor)
			case succ.Level != a.Level:
				c.add(file, at("successor_id"), p, "successor %q is a %s, not a %s", a.Successor, succ.Level, a.Level)
			}
			if a.ValidTo == "" {
				c.add(file, at("successor_id"), p, "successor_id is set but valid_to is not: say when the area ended")
			}
		}
		for _, n := range []struct {
			key string
			val *int
		}{{"households", a.Households}, {"population", a.Population}} {
			if n.val != nil && *n.val < 0 {
				c.add(file, at(n.key), p, "%s is negative", n.key)
			}
		}
		if a.Unassigned {
			switch {
			case a.Level != flows.LevelHamlet:
				c.add(file, at("unassigned"), p, "only a hamlet can be a commune's unassigned hamlet")
			case unassigned[a.ParentID] != "":
				c.add(file, at("unassigned"), p, "commune %q already has an unassigned hamlet, %q", a.ParentID, unassigned[a.ParentID])
			default:
				unassigned[a.ParentID] = a.ID
			}
		}
	}
	// The engine files a resident whose hamlet is not listed under the
	// commune's unassigned hamlet; a current commune needs one.
	for i, a := range areas {
		if a.Level == flows.LevelCommune && a.ID != "" && a.ValidTo == "" && unassigned[a.ID] == "" {
			c.add(file, lines[i], areaPath(i, a), "commune has no unassigned hamlet (unassigned: true) for residents whose hamlet is not listed")
		}
	}
	return byID
}

func areaPath(i int, a flows.Area) string {
	if a.ID == "" {
		return fmt.Sprintf("areas[%d]", i)
	}
	return fmt.Sprintf("areas[%d] (%s)", i, a.ID)
}

// ---- targets ---------------------------------------------------------------

func (c *checker) checkTargets(fsys fs.FS, flowIDs map[string]bool, areas map[string]flows.Area) {
	file := path.Join(contentRoot, TargetsFile)
	src, err := fs.ReadFile(fsys, TargetsFile)
	if err != nil {
		c.add(file, 0, "", "cannot read: %v", errors.Unwrap(err))
		return
	}
	ts, root, ps := decodeTargets(file, src)
	c.probs = append(c.probs, ps...)
	if root == nil {
		return
	}
	seq := mapValue(root, "targets")
	seen := map[[2]string]int{}
	for i, t := range ts {
		n := seqItem(seq, i)
		l := t.Line
		if l == 0 {
			l = root.Line
		}
		at := func(key string) int { return keyLine(n, key, l) }
		p := fmt.Sprintf("targets[%d]", i)
		switch {
		case t.Flow == "":
			c.add(file, l, p, "flow is missing")
		case !flowIDs[t.Flow]:
			c.add(file, at("flow"), p, "flow %q does not exist", t.Flow)
		}
		switch _, ok := areas[t.Area]; {
		case t.Area == "":
			c.add(file, l, p, "area is missing")
		case !ok:
			c.add(file, at("area"), p, "area %q does not exist", t.Area)
		}
		switch v := mapValue(n, "pct"); {
		case v == nil:
			c.add(file, l, p, "pct is missing")
		case v.Tag != "!!int" && v.Tag != "!!float":
			// not a number: yaml has said so
		case !(t.Pct > 0 && t.Pct <= 100):
			c.add(file, at("pct"), p, "pct %v is not in (0, 100]", t.Pct)
		}
		switch t.Basis {
		case BasisPopulation, BasisHouseholds, BasisPopulation15Plus:
			// The numbers come from the hamlets the target covers, and
			// many are not known yet: that is for the report to say.
		case "":
			c.add(file, l, p, "basis is missing (%s)", strings.Join(TargetBases(), ", "))
		default:
			c.add(file, at("basis"), p, "basis %q is not one of %s", t.Basis, strings.Join(TargetBases(), ", "))
		}
		if strings.TrimSpace(t.Source) == "" {
			c.add(file, l, p, "source is missing: say where the goal comes from")
		}
		if t.Flow != "" && t.Area != "" {
			key := [2]string{t.Flow, t.Area}
			if j, dup := seen[key]; dup {
				c.add(file, l, p, "flow %q and area %q already have a target, targets[%d]", t.Flow, t.Area, j)
			} else {
				seen[key] = i
			}
		}
	}
}

// buttons checks a step's buttons and reports whether one leads nowhere.
func (c *checker) buttons(file string, node *yaml.Node, p string, s *flows.Step) (deadEnd bool) {
	seen := map[string]int{}
	buttons := mapValue(node, "buttons")
	for j, b := range s.Buttons {
		bn := seqItem(buttons, j)
		bl := s.Line
		if bn != nil {
			bl = bn.Line
		}
		bp := fmt.Sprintf("buttons[%d]", j)
		switch {
		case b.ID == "":
			c.add(file, bl, p, "%s: id is missing", bp)
		case !flows.ValidID(b.ID):
			c.add(file, keyLine(bn, "id", bl), p, "%s: id %q is not a valid id (lower-case letters, digits, _ and -, at most 32)", bp, b.ID)
		default:
			if k, dup := seen[b.ID]; dup {
				c.add(file, keyLine(bn, "id", bl), p, "%s: id %q is also used by buttons[%d]", bp, b.ID, k)
			} else {
				seen[b.ID] = j
			}
		}
		if b.Label == "" {
			c.add(file, bl, p, "%s: label is missing", bp)
		} else {
			c.ref(b.Label, msgRef{file: file, line: keyLine(bn, "label", bl), path: p, field: bp + ".label"})
		}
		if b.Next == "" {
			c.add(file, bl, p, "%s: next is missing", bp)
			deadEnd = true
		}
	}
	return deadEnd
}
