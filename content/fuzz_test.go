package content_test

import (
	"io/fs"
	"testing"
	"testing/fstest"

	"github.com/hangxomso/hangxom/content"
	"github.com/hangxomso/hangxom/locales"
)

// FuzzCheckFlowFile feeds arbitrary bytes as a flow file to the loader and
// the checker: they may report problems, never panic.
func FuzzCheckFlowFile(f *testing.F) {
	shipped, err := fs.ReadFile(content.FS, "flows/ewallet.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(shipped)
	f.Add([]byte("id: x\nsteps: [{id: a, type: end}]\n"))
	f.Add([]byte("id: [\n"))
	f.Add([]byte("steps:\n  - {id: a, type: choice, buttons: [{id: b, next: a}]}\n"))
	areas, _ := fs.ReadFile(content.FS, "areas.yaml")
	targets, _ := fs.ReadFile(content.FS, "targets.yaml")
	f.Fuzz(func(t *testing.T, flow []byte) {
		fsys := fstest.MapFS{
			"flows/x.yaml": {Data: flow},
			"areas.yaml":   {Data: areas},
			"targets.yaml": {Data: targets},
		}
		_, _ = content.LoadFlows(fsys, "flows")
		_ = content.Check(fsys, locales.FS)
	})
}
