package dashboard

import (
	"github.com/hangxomso/hangxom/dashboard/chart"
	"github.com/hangxomso/hangxom/flows"
)

// ChatChart returns what draws the chat's /stats pictures (desk.Stats.Chart)
// with r: the same bars as the overview's, as a PNG 1200 px wide, for
// sendPhoto. A masked bar becomes a chart.Mask, which reads no number.
func ChatChart(r *chart.Renderer) func(flows.BarChart) ([]byte, error) {
	return func(c flows.BarChart) ([]byte, error) {
		b := chart.Bars{Heading: chart.Heading{Title: c.Title, Caption: c.Caption, Desc: c.Title},
			Max: c.Max, Words: chart.BarsWords{Value: c.Value, Target: c.Target}}
		for _, x := range c.Bars {
			bar := chart.Bar{Label: x.Label, Target: x.Target}
			switch {
			case x.Masked:
				bar.Value = chart.Mask(x.Display)
			default:
				bar.Value = chart.Count{N: x.N, Display: x.Display}
			}
			b.Bars = append(b.Bars, bar)
		}
		return r.PNG(b)
	}
}
