package chart

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"regexp"
	"strconv"
)

//go:embed svg.tmpl
var svgSource string

// svgTemplate is parsed once: it is constant, so a parse error is a
// programming error that every test run would show.
var svgTemplate = template.Must(template.New("svg").Parse(svgSource))

type svgData struct {
	ID, Title, Desc, W, H string
	Rects                 []svgRect
	Texts                 []svgText
}

type svgRect struct {
	X, Y, W, H, Fill, Stroke string
	Dashed                   bool
}

type svgText struct {
	X, Y, Size, S, Anchor string
	Bold, Gray            bool
}

// num writes a coordinate with at most two decimals, without trailing
// zeros, so that golden files stay readable and stable.
func num(f float64) string {
	return strconv.FormatFloat(float64(int64(f*100+0.5))/100, 'f', -1, 64)
}

// SVG returns c as an inline <svg> element for a page.
func (r *Renderer) SVG(c Chart) (template.HTML, error) {
	cv, err := r.layout(c)
	if err != nil {
		return "", err
	}
	d := svgData{ID: cv.id, Title: cv.title, Desc: cv.desc, W: num(width), H: num(cv.h)}
	fills := map[fill]string{
		fillWhite: "#fff", fillLight: "#d9d9d9", fillMid: "#888", fillBlack: "#000",
		fillHatch: "url(#" + cv.id + "-h)", fillCross: "url(#" + cv.id + "-x)",
	}
	for _, x := range cv.rects {
		sr := svgRect{X: num(x.x), Y: num(x.y), W: num(x.w), H: num(x.h), Fill: fills[x.fill], Dashed: x.dashed}
		if x.stroke > 0 {
			sr.Stroke = num(x.stroke)
		}
		d.Rects = append(d.Rects, sr)
	}
	anchors := map[anchor]string{anchorStart: "", anchorMiddle: "middle", anchorEnd: "end"}
	for _, t := range cv.texts {
		d.Texts = append(d.Texts, svgText{X: num(t.x), Y: num(t.y), Size: num(t.size), S: t.s, Anchor: anchors[t.anchor], Bold: t.bold, Gray: t.gray})
	}
	var b bytes.Buffer
	if err := svgTemplate.Execute(&b, d); err != nil {
		return "", fmt.Errorf("chart: svg %q: %w", cv.title, err)
	}
	// The output is html/template's, escaped as it was written.
	return template.HTML(b.String()), nil
}

var viewBox = regexp.MustCompile(`^<svg viewBox="0 0 ([0-9.]+) ([0-9.]+)" width="100%"`)

// Standalone turns an SVG from Renderer.SVG into a .svg file: the XML
// prolog, the SVG namespace, and a size in millimetres (half a unit each:
// 180 mm wide, inside A4's printable width) instead of the page's 100%.
// html/template's escapes (&lt; &#34; …) are all valid XML.
func Standalone(svg template.HTML) []byte {
	s := string(svg)
	if m := viewBox.FindStringSubmatch(s); m != nil {
		w, _ := strconv.ParseFloat(m[1], 64)
		h, _ := strconv.ParseFloat(m[2], 64)
		s = fmt.Sprintf(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %s %s" width="%smm" height="%smm"`, m[1], m[2], num(w/2), num(h/2)) + s[len(m[0]):]
	}
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + s)
}
