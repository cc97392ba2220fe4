package locales_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hangxomso/hangxom/flows"
	"github.com/hangxomso/hangxom/locales"
	"github.com/nicksnyder/go-i18n/v2/i18n"
)

var _ flows.Localizer = (*locales.Localizer)(nil)

func newLocalizer(t testing.TB, fsys fs.FS) *locales.Localizer {
	t.Helper()
	b, err := locales.NewBundle(fsys)
	if err != nil {
		t.Fatalf("NewBundle: %v", err)
	}
	return locales.NewLocalizer(b)
}

func testdata(dir string) fs.FS { return os.DirFS("testdata/" + dir) }

func TestFileLang(t *testing.T) {
	for name, want := range map[string]string{
		"ewallet.vi.toml":    "vi",
		"common.en.toml":     "en",
		"vi.toml":            "vi",
		"a.b.en.toml":        "en",
		"dir/common.vi.toml": "vi",
	} {
		if got := locales.FileLang(name); got != want {
			t.Errorf("FileLang(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestNewBundle(t *testing.T) {
	tests := []struct {
		name    string
		dir     string
		wantErr string
	}{
		{"good", "good", ""},
		{"language not spoken", "fr", `locales: load demo.fr.toml: language "fr" is not one of [vi en]`},
		{"syntax error", "broken", "locales: load a.vi.toml: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := locales.NewBundle(testdata(tt.dir))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("NewBundle: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.wantErr)):
				t.Fatalf("NewBundle error = %v, want prefix %q", err, tt.wantErr)
			}
		})
	}
}

func TestLocalize(t *testing.T) {
	good := newLocalizer(t, testdata("good"))
	partial := newLocalizer(t, testdata("partial"))
	tests := []struct {
		name     string
		l        *locales.Localizer
		lang, id string
		data     map[string]any
		want     string
		notFound bool // the error wraps *i18n.MessageNotFoundErr
	}{
		{"vi plain with data", good, "vi", "demo.hello", map[string]any{"Hamlet": "Thôn Đông"}, "Xin chào bà con Thôn Đông!", false},
		{"en plain with data", good, "en", "demo.hello", map[string]any{"Hamlet": "Dong hamlet"}, "Hello, neighbours of Dong hamlet!", false},
		{"missing field renders no value", good, "en", "demo.hello", nil, "Hello, neighbours of <no value>!", false},
		{"table with description", good, "vi", "demo.described", nil, "Chọn một mục bên dưới.", false},
		{"nested key", good, "en", "demo.nested.leaf", nil, "A nested message.", false},
		{"multi-line string", good, "en", "demo.multi", nil, "Line one.\n\"not.a.key\" = \"x\"\nLine three.", false},
		{"vi count 0 is one", good, "vi", "demo.count", map[string]any{"Count": 0}, "0 người hàng xóm đã xong.", false},
		{"vi count 1", good, "vi", "demo.count", map[string]any{"Count": 1}, "1 người hàng xóm đã xong.", false},
		{"vi count 2", good, "vi", "demo.count", map[string]any{"Count": 2}, "2 người hàng xóm đã xong.", false},
		{"en count 1", good, "en", "demo.count", map[string]any{"Count": 1}, "1 neighbour has finished.", false},
		{"en count 0 is other", good, "en", "demo.count", map[string]any{"Count": 0}, "0 neighbours have finished.", false},
		{"en count int64", good, "en", "demo.count", map[string]any{"Count": int64(7)}, "7 neighbours have finished.", false},
		{"plain message given a count", good, "vi", "demo.described", map[string]any{"Count": 1}, "Chọn một mục bên dưới.", false},
		{"unknown language gets vi", good, "fr", "demo.described", nil, "Chọn một mục bên dưới.", false},
		{"empty language gets vi", good, "", "demo.described", nil, "Chọn một mục bên dưới.", false},
		{"in both", partial, "en", "demo.both", nil, "Both.", false},
		{"fallback to vi: text and error", partial, "en", "demo.only_vi", nil, "Chỉ có tiếng Việt.", true},
		{"missing everywhere", partial, "en", "demo.nowhere", nil, "", true},
		{"missing in vi", partial, "vi", "demo.nowhere", nil, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Twice: a render without data is kept, and the kept one must
			// be the same, errors included (those are not kept).
			for round := range 2 {
				localizeCase(t, tt.l, tt.lang, tt.id, tt.data, tt.want, tt.notFound, round)
			}
		})
	}
}

func localizeCase(t *testing.T, l *locales.Localizer, lang, id string, data map[string]any, want string, notFound bool, round int) {
	t.Helper()
	got, err := l.Localize(lang, id, data)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("round %d: Localize(%q, %q) text (-want +got):\n%s", round, lang, id, diff)
	}
	var nf *i18n.MessageNotFoundErr
	if gotNF := errors.As(err, &nf); gotNF != notFound {
		t.Errorf("round %d: Localize(%q, %q) error = %v, want MessageNotFoundErr: %v", round, lang, id, err, notFound)
	}
	if !notFound && err != nil {
		t.Errorf("round %d: Localize(%q, %q) error = %v, want nil", round, lang, id, err)
	}
	if err != nil && !strings.HasPrefix(err.Error(), "locales: localize ") {
		t.Errorf("error %q is not wrapped by locales", err)
	}
}

func TestLocalizeConcurrent(t *testing.T) {
	l := newLocalizer(t, testdata("good"))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 50 {
				lang := locales.Languages()[(i+j)%2]
				if _, err := l.Localize(lang, "demo.count", map[string]any{"Count": j}); err != nil {
					t.Errorf("Localize: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestCatalog(t *testing.T) {
	cat, err := locales.Catalog(testdata("good"))
	if err != nil {
		t.Fatalf("Catalog: %v", err)
	}
	want := map[string]map[string]locales.Message{
		"vi": {
			"demo.hello": {File: "demo.vi.toml", Line: 2, Texts: []string{"Xin chào bà con {{.Hamlet}}!"}},
			"demo.described": {File: "demo.vi.toml", Line: 9, Texts: []string{"Chọn một mục bên dưới."},
				Description: "A plain message with a description for translators."},
			"demo.count": {File: "demo.vi.toml", Line: 13,
				Texts:       []string{"{{.Count}} người hàng xóm đã xong.", "{{.Count}} người hàng xóm đã xong."},
				Forms:       []string{"one", "other"},
				Description: "How many neighbours finished; Count is the number."},
			"demo.nested.leaf": {File: "demo.vi.toml", Line: 19, Texts: []string{"Tin nhắn lồng nhau."}},
			"demo.multi":       {File: "demo.vi.toml", Line: 3, Texts: []string{"Dòng một.\n\"not.a.key\" = \"x\"\nDòng ba."}},
			"demo.after_multi": {File: "demo.vi.toml", Line: 7, Texts: []string{"Sau."}},
		},
		"en": {
			"demo.hello":       {File: "demo.en.toml", Line: 1, Texts: []string{"Hello, neighbours of {{.Hamlet}}!"}},
			"demo.described":   {File: "demo.en.toml", Line: 8, Texts: []string{"Pick one below."}},
			"demo.count":       {File: "demo.en.toml", Line: 11, Texts: []string{"{{.Count}} neighbour has finished.", "{{.Count}} neighbours have finished."}, Forms: []string{"one", "other"}},
			"demo.nested.leaf": {File: "demo.en.toml", Line: 16, Texts: []string{"A nested message."}},
			"demo.multi":       {File: "demo.en.toml", Line: 2, Texts: []string{"Line one.\n\"not.a.key\" = \"x\"\nLine three."}},
			"demo.after_multi": {File: "demo.en.toml", Line: 6, Texts: []string{"After."}},
		},
	}
	if diff := cmp.Diff(want, cat); diff != "" {
		t.Errorf("Catalog (-want +got):\n%s", diff)
	}
	if !cat["vi"]["demo.count"].Counted() || cat["vi"]["demo.hello"].Counted() {
		t.Errorf("Counted is wrong")
	}
	if one, ok := cat["en"]["demo.count"].Form("one"); !ok || one != "{{.Count}} neighbour has finished." {
		t.Errorf(`Form("one") = %q, %v`, one, ok)
	}
}

func TestCatalogErrors(t *testing.T) {
	tests := []struct {
		dir  string
		want []string // each *FileError, as text
		ids  []string // vi ids still read
	}{
		{"broken", []string{
			"a.vi.toml:2: strings cannot contain newlines",
			"b.vi.toml: reserved keys [other] mixed with unreserved keys [stray]",
		}, nil},
		{"dup", []string{
			`b.vi.toml:2: message "x.same" is also defined at a.vi.toml:1`,
		}, []string{"x.other", "x.same"}},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			cat, err := locales.Catalog(testdata(tt.dir))
			var got []string
			for _, e := range unjoin(err) {
				var fe *locales.FileError
				if !errors.As(e, &fe) {
					t.Errorf("error %v is not a *FileError", e)
				}
				got = append(got, e.Error())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
			var ids []string
			for id := range cat["vi"] {
				ids = append(ids, id)
			}
			sort.Strings(ids)
			if diff := cmp.Diff(tt.ids, ids); diff != "" {
				t.Errorf("ids read (-want +got):\n%s", diff)
			}
		})
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

// TestEveryMessageLocalizes renders every message of every language, without
// a count and with counts 0, 1 and 2, with sample data, and wants text
// without an error. It runs on the shipped files and on the fixtures.
func TestEveryMessageLocalizes(t *testing.T) {
	for _, tt := range []struct {
		name string
		fsys fs.FS
	}{
		{"shipped", locales.FS},
		{"testdata/good", testdata("good")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cat, err := locales.Catalog(tt.fsys)
			if err != nil {
				t.Fatalf("Catalog: %v", err)
			}
			for _, lang := range locales.Languages() {
				if len(cat[lang]) == 0 {
					t.Fatalf("no messages in %s", lang)
				}
			}
			l := newLocalizer(t, tt.fsys)
			for lang, msgs := range cat {
				for id := range msgs {
					for _, c := range []any{nil, 0, 1, 2} {
						data := map[string]any{"Hamlet": "Thôn Đông", "Commune": "Xã Tân Phú", "Name": "Lan"}
						if c != nil {
							data["Count"] = c
						}
						t.Run(fmt.Sprintf("%s/%s/%v", lang, id, c), func(t *testing.T) {
							got, err := l.Localize(lang, id, data)
							if err != nil || got == "" {
								t.Errorf("Localize(%q, %q, Count %v) = %q, %v; want text and no error", lang, id, c, got, err)
							}
						})
					}
				}
			}
		})
	}
}

// BenchmarkLocalizePlain measures a render without template data (a
// button's label, most prompts), which the Localizer keeps after the first.
func BenchmarkLocalizePlain(b *testing.B) {
	l := newLocalizer(b, testdata("good"))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.Localize("vi", "demo.nested.leaf", nil); err != nil {
			b.Fatal(err)
		}
	}
}
