// Package content holds what Hàng xóm số guides residents through, as data:
// the flows (content/flows/*.yaml, one flow each), the administrative areas
// (content/areas.yaml) and the adoption targets (content/targets.yaml),
// embedded in the binary.
//
// Files are decoded strictly: an unknown field is an error. Check validates
// the content together with the message files of package locales and
// reports every problem with its file, line and path, the way a compiler
// does; Load refuses content that has any. Content names message ids, never
// user-facing text: the words live in locales.
package content

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/hangxomso/hangxom/flows"
	yaml "go.yaml.in/yaml/v3"
)

// FS holds the shipped content: flows/*.yaml, areas.yaml and targets.yaml.
//
//go:embed flows/*.yaml areas.yaml targets.yaml
var FS embed.FS

// Where the files live, inside the content file system and in the repository
// (the latter only to name files in problems).
const (
	FlowsDir    = "flows"
	AreasFile   = "areas.yaml"
	TargetsFile = "targets.yaml"

	contentRoot = "content"
	localesRoot = "locales"
)

// Target is an adoption goal: the share of an area's population or
// households that should complete a flow.
type Target struct {
	Flow   string  `yaml:"flow"`  // flow id
	Area   string  `yaml:"area"`  // area id
	Pct    float64 `yaml:"pct"`   // 0 < Pct <= 100
	Basis  string  `yaml:"basis"` // BasisPopulation or BasisHouseholds
	Note   string  `yaml:"note"`
	Source string  `yaml:"source"` // where the goal comes from

	Line int `yaml:"-"` // source line, filled by the loader
}

// Target bases: what Target.Pct is a share of.
const (
	BasisPopulation = "population"
	BasisHouseholds = "households"
)

// Problems is the error Load returns when Check finds problems.
type Problems []Problem

func (ps Problems) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "content: %d problem(s):", len(ps))
	for _, p := range ps {
		b.WriteString("\n\t")
		b.WriteString(p.String())
	}
	return b.String()
}

// Load checks the content in contentFS (laid out like FS) against the
// message files in localesFS (laid out like locales.FS) and returns the
// flows, areas and targets. If Check finds any problem it returns them all
// as a Problems error and nothing else.
func Load(contentFS, localesFS fs.FS) (*flows.Library, []flows.Area, []Target, error) {
	return load(contentFS, localesFS, flows.ContentFields(), systemMessages())
}

func load(contentFS, localesFS fs.FS, contentFields []string, system map[string][]string) (*flows.Library, []flows.Area, []Target, error) {
	if ps := slices.DeleteFunc(check(contentFS, localesFS, contentFields, system), func(p Problem) bool { return p.Style }); len(ps) > 0 {
		return nil, nil, nil, Problems(ps)
	}
	fl, err := LoadFlows(contentFS, FlowsDir)
	if err != nil {
		return nil, nil, nil, err
	}
	for _, f := range fl {
		f.File = path.Join(contentRoot, f.File)
	}
	lib, err := flows.NewLibrary(fl...)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("content: %w", err)
	}
	areas, err := LoadAreas(contentFS, AreasFile)
	if err != nil {
		return nil, nil, nil, err
	}
	targets, err := LoadTargets(contentFS, TargetsFile)
	if err != nil {
		return nil, nil, nil, err
	}
	return lib, areas, targets, nil
}

// LoadFlows decodes every *.yaml file in dir of fsys, strictly, one flow
// per file, in file name order. It fills Flow.File (the path in fsys),
// Flow.Line and Step.Line. It validates nothing beyond the decoding: that
// is Check's job.
func LoadFlows(fsys fs.FS, dir string) ([]*flows.Flow, error) {
	names, err := fs.Glob(fsys, path.Join(dir, "*.yaml"))
	if err != nil {
		return nil, fmt.Errorf("content: list %s: %w", dir, err)
	}
	slices.Sort(names)
	var out []*flows.Flow
	for _, name := range names {
		src, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("content: %w", err)
		}
		f, _, ps := decodeFlow(name, src)
		if len(ps) > 0 {
			return nil, Problems(ps)
		}
		out = append(out, f)
	}
	return out, nil
}

// LoadAreas decodes the areas file name of fsys strictly.
func LoadAreas(fsys fs.FS, name string) ([]flows.Area, error) {
	src, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("content: %w", err)
	}
	areas, _, ps := decodeAreas(name, src)
	if len(ps) > 0 {
		return nil, Problems(ps)
	}
	return areas, nil
}

// LoadTargets decodes the targets file name of fsys strictly and fills
// Target.Line.
func LoadTargets(fsys fs.FS, name string) ([]Target, error) {
	src, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, fmt.Errorf("content: %w", err)
	}
	ts, _, ps := decodeTargets(name, src)
	if len(ps) > 0 {
		return nil, Problems(ps)
	}
	return ts, nil
}

func decodeFlow(file string, src []byte) (*flows.Flow, *yaml.Node, []Problem) {
	f := &flows.Flow{File: file}
	root, ps := decodeStrict(file, src, f)
	if root == nil {
		return nil, nil, ps
	}
	f.Line = root.Line
	if seq := mapValue(root, "steps"); seq != nil && seq.Kind == yaml.SequenceNode {
		f.Steps = decodeItems[flows.Step](seq)
		for i, n := range seq.Content {
			f.Steps[i].Line = n.Line
			if b := mapValue(n, "buttons"); b != nil && b.Kind == yaml.SequenceNode {
				f.Steps[i].Buttons = decodeItems[flows.Button](b)
			}
		}
	}
	return f, root, ps
}

func decodeAreas(file string, src []byte) ([]flows.Area, *yaml.Node, []Problem) {
	var doc struct {
		Areas []flows.Area `yaml:"areas"`
	}
	root, ps := decodeStrict(file, src, &doc)
	if root == nil {
		return nil, nil, ps
	}
	if seq := mapValue(root, "areas"); seq != nil && seq.Kind == yaml.SequenceNode {
		doc.Areas = decodeItems[flows.Area](seq)
	}
	return doc.Areas, root, ps
}

func decodeTargets(file string, src []byte) ([]Target, *yaml.Node, []Problem) {
	var doc struct {
		Targets []Target `yaml:"targets"`
	}
	root, ps := decodeStrict(file, src, &doc)
	if root == nil {
		return nil, nil, ps
	}
	if seq := mapValue(root, "targets"); seq != nil && seq.Kind == yaml.SequenceNode {
		doc.Targets = decodeItems[Target](seq)
		for i, n := range seq.Content {
			doc.Targets[i].Line = n.Line
		}
	}
	return doc.Targets, root, ps
}

// decodeItems decodes each item of a sequence node on its own. yaml drops
// the items it fails to decode from a slice, which would shift every later
// item against its node and line; decoded one by one, a broken item stays
// in its place, partly filled. decodeStrict has reported the errors.
func decodeItems[T any](seq *yaml.Node) []T {
	out := make([]T, len(seq.Content))
	for i, n := range seq.Content {
		_ = firstKeys(n).Decode(&out[i])
	}
	return out
}

// firstKeys returns a copy of n in which every mapping keeps only the first
// of duplicate keys: yaml refuses a whole mapping with a duplicate key.
func firstKeys(n *yaml.Node) *yaml.Node {
	if n == nil || len(n.Content) == 0 {
		return n
	}
	c := *n
	c.Content = make([]*yaml.Node, 0, len(n.Content))
	if n.Kind != yaml.MappingNode {
		for _, k := range n.Content {
			c.Content = append(c.Content, firstKeys(k))
		}
		return &c
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i].Value; !seen[k] {
			seen[k] = true
			c.Content = append(c.Content, n.Content[i], firstKeys(n.Content[i+1]))
		}
	}
	return &c
}

// decodeStrict decodes the single YAML document in src into v, rejecting
// unknown fields. It returns the document's top node, for lines and
// comments, or nil if src is not YAML at all, and a problem for each error
// yaml reports. A type error leaves v partly filled, good enough to check
// the rest.
func decodeStrict(file string, src []byte, v any) (*yaml.Node, []Problem) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, []Problem{yamlProblem(file, err.Error(), true)}
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, []Problem{{File: file, Msg: "file is empty"}}
	}
	var ps []Problem
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, []Problem{yamlProblem(file, err.Error(), false)}
		}
		for _, e := range te.Errors {
			ps = append(ps, yamlProblem(file, e, false))
		}
	}
	var more yaml.Node
	if err := dec.Decode(&more); err != io.EOF {
		ps = append(ps, Problem{File: file, Line: more.Line, Msg: "more than one YAML document; put one per file"})
	}
	return doc.Content[0], ps
}

var (
	yamlLine         = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	yamlUnknownField = regexp.MustCompile(`^field (\S+) not found in type \S+$`)
)

// yamlParserProblems are the syntax errors yaml's parser (as opposed to its
// scanner) reports; it numbers their lines from 0 (go.yaml.in/yaml/v3
// decode.go, parser.fail).
var yamlParserProblems = []string{
	"did not find expected ',' or ']'",
	"did not find expected ',' or '}'",
	"did not find expected '-' indicator",
	"did not find expected <document start>",
	"did not find expected <stream-start>",
	"did not find expected key",
	"did not find expected node content",
	"found duplicate %TAG directive",
	"found duplicate %YAML directive",
	"found incompatible YAML document",
	"found undefined tag handle",
}

// yamlProblem turns one yaml error text into a problem with its line.
func yamlProblem(file, text string, syntax bool) Problem {
	p := Problem{File: file, Msg: strings.TrimPrefix(text, "yaml: ")}
	if m := yamlLine.FindStringSubmatch(text); m != nil {
		p.Line, _ = strconv.Atoi(m[1])
		p.Msg = m[2]
		if syntax && slices.Contains(yamlParserProblems, p.Msg) {
			p.Line++
		}
	}
	if m := yamlUnknownField.FindStringSubmatch(p.Msg); m != nil {
		p.Msg = fmt.Sprintf("unknown field %q", m[1])
	}
	return p
}

// mapValue returns the value of key in mapping node n, or nil.
func mapValue(n *yaml.Node, key string) *yaml.Node {
	if _, v := mapEntry(n, key); v != nil {
		return v
	}
	return nil
}

// mapEntry returns the key and value nodes of key in mapping node n.
func mapEntry(n *yaml.Node, key string) (k, v *yaml.Node) {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i], n.Content[i+1]
		}
	}
	return nil, nil
}

// keyLine returns the line of key in mapping node n, or def.
func keyLine(n *yaml.Node, key string, def int) int {
	if k, _ := mapEntry(n, key); k != nil {
		return k.Line
	}
	return def
}

// seqItem returns item i of sequence node n, or nil.
func seqItem(n *yaml.Node, i int) *yaml.Node {
	if n == nil || n.Kind != yaml.SequenceNode || i >= len(n.Content) {
		return nil
	}
	return n.Content[i]
}
