package chart

import (
	"bytes"
	_ "embed"
	"fmt"
	"html/template"
	"regexp"
	"strconv"
	"strings"
)

//go:embed svg.tmpl
var svgSource string

// svgTemplate is parsed once: it is constant, so a parse error is a
// programming error that every test run would show.
var svgTemplate = template.Must(template.New("svg").Parse(svgSource))

type svgData struct {
	ID, Title, Desc, W, H string
	Rects                 []template.HTMLAttr
	Texts                 []svgText
}

type svgText struct {
	Attrs template.HTMLAttr
	S     string
}

// num writes a coordinate with at most two decimals, without trailing
// zeros, so that golden files stay readable and stable.
func num(f float64) string {
	return strconv.FormatFloat(float64(int64(f*100+0.5))/100, 'f', -1, 64)
}

// SVG returns c as an inline <svg> element for a page.
//
// The shapes' attributes are written here, not by the template, because
// they are numbers and fixed words only (the id is reduced to letters,
// digits, - and _): letting html/template escape each of them was half of
// a 20-step funnel's time. Every text from the caller — title, desc,
// labels, displays — goes through the template's escaping.
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
	var b strings.Builder
	for _, x := range cv.rects {
		b.Reset()
		fmt.Fprintf(&b, `x="%s" y="%s" width="%s" height="%s" fill="%s"`, num(x.x), num(x.y), num(x.w), num(x.h), fills[x.fill])
		if x.stroke > 0 {
			fmt.Fprintf(&b, ` stroke="#000" stroke-width="%s"`, num(x.stroke))
			if x.dashed {
				b.WriteString(` stroke-dasharray="3 2"`)
			}
		}
		d.Rects = append(d.Rects, template.HTMLAttr(b.String()))
	}
	anchors := map[anchor]string{anchorMiddle: ` text-anchor="middle"`, anchorEnd: ` text-anchor="end"`}
	for _, t := range cv.texts {
		b.Reset()
		fmt.Fprintf(&b, `x="%s" y="%s" font-size="%s"%s`, num(t.x), num(t.y), num(t.size), anchors[t.anchor])
		if t.bold {
			b.WriteString(` font-weight="bold"`)
		}
		if t.gray {
			b.WriteString(` fill="#333"`)
		}
		d.Texts = append(d.Texts, svgText{Attrs: template.HTMLAttr(b.String()), S: t.s})
	}
	var out bytes.Buffer
	if err := svgTemplate.Execute(&out, d); err != nil {
		return "", fmt.Errorf("chart: svg %q: %w", cv.title, err)
	}
	// The output is html/template's, escaped as it was written.
	return template.HTML(out.String()), nil
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
