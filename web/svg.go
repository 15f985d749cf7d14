package web

import (
	"fmt"
	"html/template"
	"math"
	"strings"

	"github.com/crmsync/crmsync/insights"
)

// Charts are drawn here as inline SVG: no script, no external asset.
// Every text in them goes through template.HTMLEscapeString, so a CRM
// name such as "<script>" stays text. Each chart's page also shows the
// table it is drawn from.

// chart sizes, in SVG user units (the SVG scales to its container).
const (
	chartW, chartH = 640.0, 320.0
	padL, padB     = 56.0, 40.0
	padT, padR     = 16.0, 16.0
)

// paretoSVG draws the Pareto curve with the A and B cut-offs.
func paretoSVG(p insights.Pareto) template.HTML {
	var b strings.Builder
	svgOpen(&b, "Pareto curve: share of revenue by share of accounts, ranked by revenue")
	axes(&b, "share of accounts", "share of revenue_12m")
	pts := make([]string, len(p.Points))
	for i, pt := range p.Points {
		x, y := plot(pt.Accounts, pt.Revenue)
		pts[i] = fmt.Sprintf("%.1f,%.1f", x, y)
	}
	fmt.Fprintf(&b, `<polyline fill="none" stroke="#1f5fa8" stroke-width="2.5" points="%s"/>`, strings.Join(pts, " "))
	for _, cut := range []struct {
		label string
		pt    insights.ParetoPoint
	}{{"A", p.EndA}, {"A+B", p.EndB}} {
		x, y := plot(cut.pt.Accounts, cut.pt.Revenue)
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#999" stroke-dasharray="4 3"/>`, x, chartH-padB, x, y)
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="4" fill="#c0392b"/>`, x, y)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="12">%s: %.0f%% of accounts, %.0f%% of revenue</text>`,
			x+6, y+14, esc(cut.label), cut.pt.Accounts*100, cut.pt.Revenue*100)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// bar is one bar of a bar chart.
type bar struct {
	Label string
	Value float64
}

// barsSVG draws horizontal bars, labelled with format's rendering of the
// value.
func barsSVG(title string, bars []bar, format func(float64) string) template.HTML {
	var b strings.Builder
	h := padT + float64(len(bars))*28 + 8
	fmt.Fprintf(&b, `<svg viewBox="0 0 %.0f %.0f" role="img" aria-label="%s" class="chart">`, chartW, h, esc(title))
	maxV := 0.0
	for _, x := range bars {
		maxV = math.Max(maxV, x.Value)
	}
	for i, x := range bars {
		y := padT + float64(i)*28
		w := 0.0
		if maxV > 0 {
			w = (chartW - 260) * x.Value / maxV
		}
		fmt.Fprintf(&b, `<text x="0" y="%.1f" font-size="13">%s</text>`, y+15, esc(x.Label))
		fmt.Fprintf(&b, `<rect x="130" y="%.1f" width="%.1f" height="20" fill="#1f5fa8"/>`, y, w)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="13">%s</text>`, 136+w, y+15, esc(format(x.Value)))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// line is one series of a line chart.
type line struct {
	Label  string
	Color  string
	Values []float64
}

// linesSVG draws series over the labels of the x axis (months).
func linesSVG(title string, xs []string, series []line, format func(float64) string) template.HTML {
	var b strings.Builder
	svgOpen(&b, title)
	maxV := 0.0
	for _, s := range series {
		for _, v := range s.Values {
			maxV = math.Max(maxV, v)
		}
	}
	if maxV == 0 {
		maxV = 1
	}
	axes(&b, "", format(maxV))
	step := (chartW - padL - padR) / math.Max(1, float64(len(xs)-1))
	for i, x := range xs {
		if len(xs) > 12 && i%2 == 1 {
			continue
		}
		anchor := "middle"
		if i == len(xs)-1 {
			anchor = "end"
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="11" text-anchor="%s">%s</text>`, padL+float64(i)*step, chartH-padB+16, anchor, esc(x))
	}
	for k, s := range series {
		pts := make([]string, len(s.Values))
		for i, v := range s.Values {
			pts[i] = fmt.Sprintf("%.1f,%.1f", padL+float64(i)*step, chartH-padB-(chartH-padB-padT)*v/maxV)
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`, esc(s.Color), strings.Join(pts, " "))
		// the legend sits at the top right, clear of the y axis' label
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="12" fill="%s">%s</text>`, chartW-padR-float64(len(series)-k)*110, padT+4, esc(s.Color), esc(s.Label))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func svgOpen(b *strings.Builder, title string) {
	fmt.Fprintf(b, `<svg viewBox="0 0 %.0f %.0f" role="img" aria-label="%s" class="chart"><title>%s</title>`, chartW, chartH, esc(title), esc(title))
}

// axes draws the frame with a label on each axis; y's is the value at
// the top.
func axes(b *strings.Builder, xLabel, yLabel string) {
	fmt.Fprintf(b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#333"/>`, padL, chartH-padB, chartW-padR, chartH-padB)
	fmt.Fprintf(b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#333"/>`, padL, padT, padL, chartH-padB)
	if xLabel != "" {
		fmt.Fprintf(b, `<text x="%.0f" y="%.0f" font-size="12" text-anchor="middle">%s</text>`, (chartW+padL)/2, chartH-6, esc(xLabel))
	}
	fmt.Fprintf(b, `<text x="4" y="%.0f" font-size="12">%s</text>`, padT+4, esc(yLabel))
}

// plot maps shares (0 to 1) onto the chart area.
func plot(x, y float64) (float64, float64) {
	return padL + (chartW-padL-padR)*x, chartH - padB - (chartH-padB-padT)*y
}

func esc(s string) string { return template.HTMLEscapeString(s) }

// heat is the background of a grid cell holding n of max accounts.
func heat(n, maxN int) template.CSS {
	if maxN <= 0 || n == 0 {
		return "background:#fff"
	}
	a := 0.12 + 0.78*float64(n)/float64(maxN)
	return template.CSS(fmt.Sprintf("background:rgba(31,95,168,%.2f)", a))
}
