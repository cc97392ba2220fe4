package chart

import (
	"bytes"
	"encoding/xml"
	"flag"
	"html/template"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/text/unicode/norm"
)

var update = flag.Bool("update", false, "rewrite the golden SVG files in testdata")

func newRenderer(t testing.TB) *Renderer {
	t.Helper()
	r, err := New()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func mustSVG(t testing.TB, r *Renderer, c Chart) template.HTML {
	t.Helper()
	s, err := r.SVG(c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSVGMatchesGoldenFiles compares each chart with its file in testdata.
// `go test ./dashboard/chart -run Golden -update` rewrites them; open them
// in a browser and review the diff like code.
func TestSVGMatchesGoldenFiles(t *testing.T) {
	r := newRenderer(t)
	for _, tc := range []struct {
		name string
		file func() []byte
	}{
		{"bars", func() []byte { return []byte(mustSVG(t, r, sampleBars())) }},
		{"funnel", func() []byte { return []byte(mustSVG(t, r, sampleFunnel(7))) }},
		{"trend", func() []byte { return []byte(mustSVG(t, r, sampleTrend())) }},
		{"funnel-standalone", func() []byte { return Standalone(mustSVG(t, r, sampleFunnel(7))) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.file()
			path := filepath.Join("testdata", tc.name+".svg")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to write it)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("%s differs (-want +got):\n%s", path, diff)
			}
		})
	}
}

// svgDoc is what a reader of the SVG gets: the title, the desc, and the
// text of every <text>.
type svgDoc struct {
	root  xml.StartElement
	title string
	desc  string
	texts []string
	elems []xml.StartElement
}

// parseSVG reads a standalone SVG strictly as XML, which also proves that
// html/template's escaping left it well-formed.
func parseSVG(t *testing.T, b []byte) svgDoc {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	var doc svgDoc
	var stack []string
	for {
		tok, err := d.Token()
		if err != nil {
			if err.Error() == "EOF" {
				break
			}
			t.Fatalf("not well-formed XML: %v\n%s", err, b)
		}
		switch x := tok.(type) {
		case xml.StartElement:
			if len(stack) == 0 {
				doc.root = x.Copy()
			}
			doc.elems = append(doc.elems, x.Copy())
			stack = append(stack, x.Name.Local)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) == 0 {
				continue
			}
			s := string(x)
			switch stack[len(stack)-1] {
			case "title":
				doc.title += s
			case "desc":
				doc.desc += s
			case "text":
				doc.texts = append(doc.texts, s)
			}
		}
	}
	return doc
}

func attr(e xml.StartElement, name string) (string, bool) {
	for _, a := range e.Attr {
		if a.Name.Local == name {
			return a.Value, true
		}
	}
	return "", false
}

// tokens splits written text into the words a reader sees: "48 / 120" is
// 48, / and 120.
func tokens(texts []string) []string {
	var out []string
	for _, s := range texts {
		out = append(out, strings.Fields(s)...)
	}
	return out
}

// numbers lists every figure a chart must write, one entry per bar or
// cell, as the model states it, independently of the layout.
func numbers(c Chart) []string {
	var out []string
	switch c := c.(type) {
	case Bars:
		for _, b := range c.Bars {
			out = append(out, b.Value.Text())
			if b.Target > 0 {
				out = append(out, formatNumber(b.Target))
			}
		}
	case Funnel:
		for _, r := range c.Rows {
			out = append(out, r.Reached.Text(), r.Stalled.Text(), r.Help.Text())
		}
	case Trend:
		for _, m := range c.Months {
			out = append(out, m.Started.Text(), m.Completed.Text())
		}
	}
	return out
}

// missing returns the entries of want that got lacks, counting repeats:
// ten rows of 0 need ten 0s.
func missing(want, got []string) []string {
	left := slices.Clone(got)
	var out []string
	for _, w := range want {
		if i := slices.Index(left, w); i >= 0 {
			left = slices.Delete(left, i, i+1)
			continue
		}
		out = append(out, w)
	}
	return out
}

func charts() map[string]Chart {
	return map[string]Chart{"bars": sampleBars(), "funnel": sampleFunnel(7), "funnel-20": sampleFunnel(20), "trend": sampleTrend()}
}

func TestSVGWritesEveryNumberAsText(t *testing.T) {
	r := newRenderer(t)
	for name, c := range charts() {
		t.Run(name, func(t *testing.T) {
			doc := parseSVG(t, Standalone(mustSVG(t, r, c)))
			want := numbers(c)
			if len(want) < 7 {
				t.Fatalf("only %d numbers: the sample is too small to test anything", len(want))
			}
			if m := missing(want, tokens(doc.texts)); len(m) > 0 {
				t.Errorf("numbers with no <text>: %q\ntexts: %q", m, doc.texts)
			}
			// The desc repeats them for a screen reader.
			descWords := strings.FieldsFunc(doc.desc, func(r rune) bool { return strings.ContainsRune(" ,;:/", r) })
			for i, w := range descWords {
				descWords[i] = strings.TrimSuffix(w, ".")
			}
			if m := missing(want, descWords); len(m) > 0 {
				t.Errorf("numbers missing from <desc>: %q\ndesc: %s", m, doc.desc)
			}
		})
	}
}

func TestSVGIsAnAccessibleImageWithoutInlineStyle(t *testing.T) {
	r := newRenderer(t)
	for name, c := range charts() {
		t.Run(name, func(t *testing.T) {
			inline := mustSVG(t, r, c)
			doc := parseSVG(t, Standalone(inline))
			if v, _ := attr(doc.root, "role"); v != "img" {
				t.Errorf("role = %q, want img", v)
			}
			if v, _ := attr(doc.root, "width"); !strings.HasSuffix(v, "mm") {
				t.Errorf("standalone width = %q, want millimetres", v)
			}
			if !strings.HasPrefix(string(inline), `<svg viewBox="0 0 360 `) || !strings.Contains(string(inline), `width="100%"`) {
				t.Errorf("inline svg does not scale from a 360 wide viewBox: %.120s", inline)
			}
			if doc.title == "" || doc.desc == "" {
				t.Errorf("title %q, desc %q: both needed", doc.title, doc.desc)
			}
			ids := map[string]bool{}
			for _, e := range doc.elems {
				if e.Name.Local == "style" || e.Name.Local == "script" || e.Name.Local == "foreignObject" {
					t.Errorf("<%s> in a chart", e.Name.Local)
				}
				for _, a := range e.Attr {
					if a.Name.Local == "style" || strings.HasPrefix(a.Name.Local, "on") {
						t.Errorf("<%s %s=%q>: the CSP forbids it", e.Name.Local, a.Name.Local, a.Value)
					}
					if v := a.Value; strings.Contains(v, "url(") && !strings.HasPrefix(v, "url(#") {
						t.Errorf("<%s %s=%q>: outside reference", e.Name.Local, a.Name.Local, v)
					}
				}
				if id, ok := attr(e, "id"); ok {
					ids[id] = true
				}
			}
			labelled, _ := attr(doc.root, "aria-labelledby")
			for _, id := range strings.Fields(labelled) {
				if !ids[id] {
					t.Errorf("aria-labelledby names %q, which is no element", id)
				}
			}
		})
	}
}

func TestSVGEscapesMaliciousText(t *testing.T) {
	r := newRenderer(t)
	evil := `<script>alert("x")</script>`
	f := sampleFunnel(3)
	f.Title = `</title><script>alert(1)</script>`
	f.Desc = `"><script>alert(2)</script>`
	f.ID = `x" onload="alert(3)`
	f.Rows[0].Label = evil
	f.Rows[1].Stalled = Mask(`<img src=x onerror=alert(4)>`)
	b := sampleBars()
	b.Bars[0].Label = evil
	b.Caption = "&amp; <b>"
	for name, c := range map[string]Chart{"funnel": f, "bars": b} {
		t.Run(name, func(t *testing.T) {
			svg := string(mustSVG(t, r, c))
			for _, bad := range []string{"<script", "<img", "</title><", `" onload`} {
				if strings.Contains(svg, bad) {
					t.Errorf("%q in the output:\n%s", bad, svg)
				}
			}
			if !strings.Contains(svg, "&lt;script&gt;") {
				t.Errorf("the label was not written escaped:\n%s", svg)
			}
			doc := parseSVG(t, Standalone(template.HTML(svg)))
			if name == "funnel" {
				if doc.title != f.Title {
					t.Errorf("title reads %q, want %q", doc.title, f.Title)
				}
				if !slices.Contains(doc.texts, evil) {
					t.Errorf("no <text> reads %q: %q", evil, doc.texts)
				}
			}
		})
	}
}

// TestMaskedCountsLeakNothing: a masked 1 and a masked 4 give the same
// bytes, SVG and PNG — text, desc, ids and geometry.
func TestMaskedCountsLeakNothing(t *testing.T) {
	r := newRenderer(t)
	with := func(n float64) []Chart {
		f := sampleFunnel(4)
		f.Rows[2].Reached = Count{N: n, Display: "<5", Masked: true}
		f.Rows[2].Help = Count{N: n, Masked: true}
		b := sampleBars()
		b.Bars[3].Value = Count{N: n, Masked: true}
		tr := sampleTrend()
		tr.Months[0].Started = Count{N: n, Masked: true}
		return []Chart{f, b, tr}
	}
	one, four := with(1), with(4)
	for i := range one {
		s1, s4 := mustSVG(t, r, one[i]), mustSVG(t, r, four[i])
		if s1 != s4 {
			t.Errorf("chart %d: a masked 1 and a masked 4 draw different SVGs:\n%s", i, cmp.Diff(string(s1), string(s4)))
		}
		p1, err1 := r.PNG(one[i])
		p4, err4 := r.PNG(four[i])
		if err1 != nil || err4 != nil {
			t.Fatal(err1, err4)
		}
		if !bytes.Equal(p1, p4) {
			t.Errorf("chart %d: a masked 1 and a masked 4 draw different PNGs", i)
		}
	}
}

func TestTextIsNormalisedAndWrapped(t *testing.T) {
	r := newRenderer(t)
	nfc := sampleFunnel(2)
	nfd := sampleFunnel(2)
	nfd.Title = norm.NFD.String(nfd.Title)
	nfd.Rows[0].Label = norm.NFD.String(nfd.Rows[0].Label) + "\n\t "
	if a, b := mustSVG(t, r, nfc), mustSVG(t, r, nfd); a != b {
		t.Errorf("decomposed marks draw differently:\n%s", cmp.Diff(string(a), string(b)))
	}

	long := sampleBars()
	long.Bars[0].Label = strings.Repeat("Tổ dân phố 1 (Đình Cả) ", 12)
	doc := parseSVG(t, Standalone(mustSVG(t, r, long)))
	var lines []string
	for _, s := range doc.texts {
		if len(s) > 10 && strings.Contains(long.Bars[0].Label, strings.TrimSuffix(s, "…")) {
			lines = append(lines, s)
		}
	}
	if len(lines) != 2 || !strings.HasSuffix(lines[1], "…") {
		t.Errorf("a long label drawn as %q, want two lines, the second ending in …", lines)
	}
	if !strings.Contains(doc.desc, strings.TrimSpace(long.Bars[0].Label)) {
		t.Error("the desc lacks the long label in full")
	}
}

func TestChartsOnOnePageHaveTheirOwnIDs(t *testing.T) {
	r := newRenderer(t)
	a, b := sampleFunnel(3), sampleFunnel(3)
	a.ID, b.ID = "", ""
	b.Title = "Thôn Làng Mười: Ví điện tử"
	sa, sb := mustSVG(t, r, a), mustSVG(t, r, b)
	ida, _ := attr(parseSVG(t, Standalone(sa)).root, "aria-labelledby")
	idb, _ := attr(parseSVG(t, Standalone(sb)).root, "aria-labelledby")
	if ida == idb {
		t.Errorf("two funnels both use ids %q", ida)
	}
	if again := mustSVG(t, r, a); again != sa {
		t.Error("the same chart drew twice differently")
	}
}

func TestChartsRefuseWhatTheyCannotDraw(t *testing.T) {
	r := newRenderer(t)
	noWords := sampleFunnel(2)
	noWords.Words.Stalled = ""
	noTop := sampleFunnel(3)
	noTop.Words.Top = ""
	nan := sampleBars()
	nan.Bars[1].Value = N(-1)
	trend := sampleTrend()
	trend.Words = TrendWords{}
	fourTops := sampleFunnel(5)
	fourTops.Rows[4].Top = true
	for name, tc := range map[string]struct {
		c    Chart
		want string
	}{
		"funnel without its words":  {noWords, "words missing"},
		"top step without its word": {noTop, `row 2 "mm_intro": top step`},
		"negative count":            {nan, `bar 2 "Dịch vụ công trực tuyến (nộp hồ sơ)": -1 is not a count`},
		"trend without its words":   {trend, "words missing"},
		"no chart":                  {nil, "no chart"},
		"four top steps":            {fourTops, `row 5 "otp": more than 3 top steps`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := r.SVG(tc.c)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("SVG: error %v, want one containing %q", err, tc.want)
			}
			if _, err := r.PNG(tc.c); err == nil {
				t.Error("PNG: no error")
			}
		})
	}
}
