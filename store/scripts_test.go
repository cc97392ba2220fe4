package store

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// TestEveryScriptIsMadeByNewScript reads the package's source: a script made
// with redis.NewScript anywhere but in newScript would be left out of
// LoadScripts and counted as "evalsha" on /metrics.
func TestEveryScriptIsMadeByNewScript(t *testing.T) {
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	made := 0
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fn, isFunc := d.(*ast.FuncDecl)
			ast.Inspect(d, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				switch fun := call.Fun.(type) {
				case *ast.SelectorExpr:
					if x, ok := fun.X.(*ast.Ident); ok && x.Name == "redis" && fun.Sel.Name == "NewScript" &&
						(!isFunc || fn.Name.Name != "newScript") {
						t.Errorf("%s: redis.NewScript outside newScript: the script has no name", fset.Position(call.Pos()))
					}
				case *ast.Ident:
					if fun.Name == "newScript" {
						made++
					}
				}
				return true
			})
		}
	}
	if made == 0 || made != len(storeScripts) {
		t.Errorf("%d newScript calls in the source, %d scripts recorded", made, len(storeScripts))
	}
}

// TestScriptRoundTripsAreCountedByName checks that a call of each recorded
// script by its SHA1 (as Script.Run makes it) is counted under
// "script:<name>".
func TestScriptRoundTripsAreCountedByName(t *testing.T) {
	if storeScripts["commit"] != commitScript || storeScripts["finish"] != finishScript {
		t.Fatal("commitScript or finishScript is not recorded under its name")
	}
	for name, sc := range storeScripts {
		if got := opName(redis.NewCmd(t.Context(), "evalsha", sc.Hash(), 0)); got != "script:"+name {
			t.Errorf("script %s counted as %q, want %q", name, got, "script:"+name)
		}
	}
}
