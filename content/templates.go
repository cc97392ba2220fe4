package content

import (
	"fmt"
	"slices"
	"strings"
	"text/template"
	"text/template/parse"
	"unicode/utf8"
)

// templateFields parses a message text as go-i18n will (text/template,
// default delimiters) and returns the top-level fields it uses, sorted:
// {{.Hamlet}} and {{$.Hamlet.Name}} give "Hamlet".
func templateFields(id, text string) ([]string, error) {
	t, err := template.New(id).Parse(text)
	if err != nil {
		return nil, fmt.Errorf("template does not parse: %w", err)
	}
	seen := map[string]bool{}
	for _, tt := range t.Templates() {
		if tt.Tree != nil {
			collectFields(tt.Tree.Root, seen)
		}
	}
	fields := make([]string, 0, len(seen))
	for f := range seen {
		fields = append(fields, f)
	}
	slices.Sort(fields)
	return fields, nil
}

func collectFields(n parse.Node, seen map[string]bool) {
	switch n := n.(type) {
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			collectFields(c, seen)
		}
	case *parse.ActionNode:
		collectFields(n.Pipe, seen)
	case *parse.PipeNode:
		if n == nil {
			return
		}
		for _, c := range n.Cmds {
			collectFields(c, seen)
		}
	case *parse.CommandNode:
		for _, a := range n.Args {
			collectFields(a, seen)
		}
	case *parse.FieldNode:
		seen[n.Ident[0]] = true
	case *parse.VariableNode:
		if len(n.Ident) > 1 && n.Ident[0] == "$" {
			seen[n.Ident[1]] = true
		}
	case *parse.ChainNode:
		collectFields(n.Node, seen)
	case *parse.IfNode:
		collectBranch(&n.BranchNode, seen)
	case *parse.RangeNode:
		collectBranch(&n.BranchNode, seen)
	case *parse.WithNode:
		collectBranch(&n.BranchNode, seen)
	case *parse.TemplateNode:
		collectFields(n.Pipe, seen)
	}
}

func collectBranch(b *parse.BranchNode, seen map[string]bool) {
	collectFields(b.Pipe, seen)
	collectFields(b.List, seen)
	collectFields(b.ElseList, seen)
}

// sampleValues are plausible, longish values of the content fields, to
// measure rendered messages.
func sampleValue(field string) string {
	switch field {
	case "Hamlet":
		return "Thôn Đông Hòa Thượng"
	case "Commune":
		return "Xã Tân Phước Hưng"
	}
	return "Giá trị mẫu vừa phải"
}

// renderedRunes renders a message text with sample values for fields and
// returns its length in characters (runes).
func renderedRunes(id, text string, fields []string) (int, error) {
	t, err := template.New(id).Parse(text)
	if err != nil {
		return 0, fmt.Errorf("template does not parse: %w", err)
	}
	data := make(map[string]any, len(fields))
	for _, f := range fields {
		data[f] = sampleValue(f)
	}
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		return 0, fmt.Errorf("template does not render: %w", err)
	}
	return utf8.RuneCountInString(b.String()), nil
}
