package desk

import (
	"log/slog"

	"github.com/hangxomso/hangxom/flows"
)

// The picture /stats sends before its text (issue 20: "for those who never
// open a browser"): one chart of the area shown, drawn by Stats.Chart.
//
// When: with the first screen of /stats, and with a commune or a hamlet
// gone down to by its button; not with a page or back button, which would
// send the same picture again (a commune's chart does not change with the
// page of its hamlets' buttons) and flood the chat a tap at a time.
//
// What: a commune's or a hamlet's chart has one bar per flow, in the
// text's order: the share of households (or population) reached against
// the target when every flow's share is known, as the dashboard draws it,
// otherwise the finished counts. A list of communes or hamlets has one bar
// per area of the page shown (at most statsPage): the finished count of
// all guides together, the number its text line and its button show, so
// the picture and the words agree; a flow's numbers per area are the
// dashboard's, or a tap away. A count masked in the text is masked in the
// picture, and a flow left out of the text's totals is left out of its
// bars.

// picture ends the action of a button that goes down to a commune or a
// hamlet: its screen is sent with a picture.
const picture = "p"

// picture adds c, drawn, as a photo named name before the screen's text.
// Drawing that fails costs the picture only: the numbers still go, as
// text, and the failure is logged without the numbers or who asked.
func (k *desk) picture(name string, c flows.BarChart) {
	if k.d.Stats.Chart == nil || len(c.Bars) == 0 {
		return
	}
	png, err := k.d.Stats.Chart(c)
	if err != nil {
		k.d.logger().Warn("stats picture not drawn; the text is sent alone", "picture", name, "err", err)
		return
	}
	k.replies = append(k.replies, flows.Reply{Text: c.Title, Document: &flows.Document{Name: name, Data: png, Photo: true}})
}

func (d *Desk) logger() *slog.Logger {
	if d.Logger != nil {
		return d.Logger
	}
	return slog.Default()
}

// chartHead is a chart's title and caption, and its legend's words.
func (k *desk) chartHead(title string, months []string) flows.BarChart {
	return flows.BarChart{Title: title,
		Caption: k.text("stats.chart_caption", map[string]any{"From": months[0], "To": months[len(months)-1]}),
		Value:   k.text("stats.chart_value", nil)}
}

// flowChart is the chart of an area's flows (figs, as its text shows them).
func (k *desk) flowChart(area string, figs []flowFigure, months []string) flows.BarChart {
	c := k.chartHead(k.text("stats.chart_flows", map[string]any{"Area": area}), months)
	shares := len(figs) > 0
	for _, x := range figs {
		shares = shares && x.share != nil
	}
	if shares {
		c.Max = 100
	}
	for _, x := range figs {
		// The title's emoji ("📕 Dùng Sổ tay đảng viên") is the renderer's
		// to drop: its font has none.
		bar := flows.ChartBar{Label: k.text(x.f.Title, nil)}
		switch {
		case x.shown.GroupHidden:
			// "<5", or "—" for a count hidden with a small one of its
			// group; neither the number nor the share, which is computed
			// from it. The target is left off too: a tick beside a stub
			// reads as a share.
			bar.Masked, bar.Display = true, x.shown.Completed
		case shares:
			bar.N, bar.Display = *x.share, k.pct(*x.share)+"% ("+x.shown.Completed+")"
			if x.target != nil {
				bar.Target = *x.target
				c.Target = k.text("stats.chart_target", nil) // the tick's legend, only when one is drawn
			}
		default:
			bar.N = float64(x.t.Completed)
		}
		c.Bars = append(c.Bars, bar)
	}
	return c
}

// areaChart is the chart of a list's areas: their finished counts, all
// guides together, from totals (areaTotals: the masked flows left out).
func (k *desk) areaChart(title string, areas []flows.Area, totals map[string]flows.StatsTotal, months []string) flows.BarChart {
	c := k.chartHead(k.text(title, nil), months)
	for _, a := range areas {
		c.Bars = append(c.Bars, flows.ChartBar{Label: a.Name, N: float64(totals[a.ID].Completed)})
	}
	return c
}
