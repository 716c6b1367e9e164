package web

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/train-prometheus/train-prometheus/models"
)

// Chart geometry, in SVG user units.
const (
	chartW, chartH       = 900.0, 320.0
	chartLeft, chartRght = 64.0, 16.0
	chartTop, chartBot   = 16.0, 36.0
	// maxChartCells bounds the history drawn; the forecast ahead takes at
	// most a quarter of that again.
	maxChartCells = 1200
)

// chart is an inline SVG of one series: the buffered history, the fitted
// model's forecast and band over it and ahead of now, and the cells whose
// actual value lies outside the band. Every field is ready for the template.
type chart struct {
	W, H       float64
	Actual     string // path data
	Yhat       string
	Band       string // closed path data of the band's polygons
	Anomalies  []point
	NowX       float64
	PlotTop    float64
	PlotBottom float64
	PlotLeft   float64
	PlotRight  float64
	YTicks     []tick
	XTicks     []tick
	Cells      int // history cells drawn
	Ahead      int // forecast cells ahead of the history
}

type point struct{ X, Y, V float64 }

type tick struct {
	Pos    float64
	Label  string
	Anchor string // text-anchor: "middle", or "start"/"end" near the plot's edges so no label is clipped
}

// buildChart draws history vals (cell i at start + i*step ms) and, when fit
// is not nil, its forecast from the first drawn cell to ahead cells past
// the last, marking now (ms).
func buildChart(start, step int64, vals []float64, fit models.Fitted, ahead int, now int64) *chart {
	if len(vals) > maxChartCells {
		start += int64(len(vals)-maxChartCells) * step
		vals = vals[len(vals)-maxChartCells:]
	}
	if fit == nil {
		ahead = 0
	}
	ahead = min(ahead, maxChartCells/4)
	n := len(vals) + ahead
	if n < 2 {
		return nil
	}
	preds := make([]models.Point, 0, n)
	if fit != nil {
		for i := range n {
			preds = append(preds, fit.Predict(start+int64(i)*step))
		}
	}

	lo, hi := math.Inf(1), math.Inf(-1)
	widen := func(v float64) {
		if models.IsObserved(v) {
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	for _, v := range vals {
		widen(v)
	}
	for _, p := range preds {
		widen(p.Yhat)
		widen(p.Lower)
		widen(p.Upper)
	}
	if math.IsInf(lo, 1) {
		return nil
	}
	if hi-lo < 1e-12*max(1, math.Abs(hi)) {
		lo, hi = lo-1, hi+1
	}
	pad := (hi - lo) * 0.05
	lo, hi = lo-pad, hi+pad

	c := &chart{
		W: chartW, H: chartH,
		PlotLeft: chartLeft, PlotRight: chartW - chartRght,
		PlotTop: chartTop, PlotBottom: chartH - chartBot,
		Cells: len(vals), Ahead: ahead,
	}
	t0, t1 := start, start+int64(n-1)*step
	x := func(t int64) float64 {
		return c.PlotLeft + (c.PlotRight-c.PlotLeft)*float64(t-t0)/float64(t1-t0)
	}
	y := func(v float64) float64 {
		return c.PlotBottom - (c.PlotBottom-c.PlotTop)*(v-lo)/(hi-lo)
	}
	at := func(i int) int64 { return start + int64(i)*step }

	c.Actual = linePath(len(vals), func(i int) (float64, float64, bool) {
		return x(at(i)), y(vals[i]), models.IsObserved(vals[i])
	})
	if len(preds) > 0 {
		c.Yhat = linePath(n, func(i int) (float64, float64, bool) {
			return x(at(i)), y(preds[i].Yhat), models.IsObserved(preds[i].Yhat)
		})
		c.Band = bandPath(n, func(i int) (float64, float64, float64, bool) {
			p := preds[i]
			return x(at(i)), y(p.Upper), y(p.Lower), models.IsObserved(p.Lower) && models.IsObserved(p.Upper)
		})
		for i, v := range vals {
			p := preds[i]
			// A tolerance: a perfect fit's zero-width band must not flag
			// rounding noise.
			tol := 1e-9 * max(1, math.Abs(v))
			if models.IsObserved(v) && (v > p.Upper+tol || v < p.Lower-tol) {
				c.Anomalies = append(c.Anomalies, point{X: x(at(i)), Y: y(v), V: v})
			}
		}
	}
	if now >= t0 && now <= t1 {
		c.NowX = math.Round(x(now))
	}
	for k := range 5 {
		v := lo + (hi-lo)*float64(k)/4
		c.YTicks = append(c.YTicks, tick{Pos: y(v), Label: formatValue(v)})
	}
	for _, t := range timeTicks(t0, t1) {
		c.XTicks = append(c.XTicks, c.xTick(x(t.ms), t.label))
	}
	return c
}

// xTick returns a time tick at x position pos, anchored so that its label
// stays inside the chart.
func (c *chart) xTick(pos float64, label string) tick {
	const half = 36 // about half the width of the longest label
	anchor := "middle"
	switch {
	case pos > c.W-half:
		anchor = "end"
	case pos < half:
		anchor = "start"
	}
	return tick{Pos: pos, Label: label, Anchor: anchor}
}

// tickSteps are the round intervals time ticks may be apart, in ms.
var tickSteps = []int64{
	60_000, 2 * 60_000, 5 * 60_000, 10 * 60_000, 15 * 60_000, 30 * 60_000,
	3_600_000, 2 * 3_600_000, 3 * 3_600_000, 6 * 3_600_000, 12 * 3_600_000,
	86_400_000, 2 * 86_400_000, 7 * 86_400_000,
}

type timeTick struct {
	ms    int64
	label string
}

// timeTicks returns ticks at round UTC times (whole minutes, hours, days)
// between t0 and t1 ms, three to six of them when the span allows. A label
// shows the date where it changes (and on the first tick), the time of day
// otherwise.
func timeTicks(t0, t1 int64) []timeTick {
	span := t1 - t0
	step := tickSteps[len(tickSteps)-1]
	for _, s := range tickSteps {
		if span/s <= 6 {
			step = s
			break
		}
	}
	var out []timeTick
	lastDay := ""
	for t := (t0 + step - 1) / step * step; t <= t1; t += step {
		tm := time.UnixMilli(t).UTC()
		day := tm.Format("01-02")
		label := tm.Format("15:04")
		switch {
		case step >= 86_400_000:
			label = day
		case day != lastDay:
			label = day + " " + label
		}
		lastDay = day
		out = append(out, timeTick{t, label})
	}
	return out
}

// linePath returns SVG path data through the n points pt gives, starting a
// new subpath after each gap.
func linePath(n int, pt func(i int) (x, y float64, ok bool)) string {
	var b strings.Builder
	pen := false
	for i := range n {
		px, py, ok := pt(i)
		if !ok {
			pen = false
			continue
		}
		if pen {
			b.WriteString(" L")
		} else {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteByte('M')
		}
		b.WriteString(coord(px))
		b.WriteByte(' ')
		b.WriteString(coord(py))
		pen = true
	}
	return b.String()
}

// bandPath returns closed SVG path data, one polygon per run of points
// with a band: along the upper edge, then back along the lower one.
func bandPath(n int, pt func(i int) (x, upper, lower float64, ok bool)) string {
	var b strings.Builder
	run := func(from, to int) {
		if to-from < 2 {
			return
		}
		for i := from; i < to; i++ {
			px, up, _, _ := pt(i)
			if i == from {
				if b.Len() > 0 {
					b.WriteByte(' ')
				}
				b.WriteByte('M')
			} else {
				b.WriteString(" L")
			}
			b.WriteString(coord(px) + " " + coord(up))
		}
		for i := to - 1; i >= from; i-- {
			px, _, low, _ := pt(i)
			b.WriteString(" L" + coord(px) + " " + coord(low))
		}
		b.WriteString(" Z")
	}
	from := -1
	for i := range n {
		_, _, _, ok := pt(i)
		switch {
		case ok && from < 0:
			from = i
		case !ok && from >= 0:
			run(from, i)
			from = -1
		}
	}
	if from >= 0 {
		run(from, n)
	}
	return b.String()
}

func coord(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// formatValue prints a value for an axis or a table: short, but exact for
// small integers.
func formatValue(v float64) string {
	switch {
	case math.IsNaN(v):
		return "–"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return fmt.Sprintf("%.4g", v)
}
