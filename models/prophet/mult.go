package prophet

import "github.com/train-prometheus/train-prometheus/models"

// Multiplicative mode, y = g(t)·(1 + Σ β_a f_a), is linear in the
// seasonal coefficients for a fixed trend g and in the trend's for fixed
// coefficients. Fit alternates the two regressions, starting from the
// additive fit's trend; each takes one pass over the rows.

// trendWalker evaluates the piecewise-linear trend m + k·t + Σ δ_j(t−s_j)+
// at increasing rows in O(1) each, keeping the slope and offset of the
// current segment.
type trendWalker struct {
	pr            *problem
	c             []float64 // m, k, δ...
	j             int       // changepoints passed
	slope, offset float64
}

func newTrendWalker(pr *problem, c []float64) *trendWalker {
	return &trendWalker{pr: pr, c: c, slope: c[colK], offset: c[colM]}
}

// at returns t and the trend at row; rows must not decrease.
func (w *trendWalker) at(row int) (t, g float64) {
	for w.j < len(w.pr.cpRow) && row >= w.pr.cpRow[w.j] {
		d := w.c[colD+w.j]
		w.slope += d
		w.offset -= d * w.pr.cpT[w.j]
		w.j++
	}
	t = float64(row) * w.pr.dt
	return t, w.offset + w.slope*t
}

// seasonalNormal returns the normal equations of y − g = Σ β_a·(g·f_a)
// for the trend coefficients c.
func (pr *problem) seasonalNormal(c []float64) *normal {
	nf := pr.nf
	ne := newNormal(nf)
	f := make([]float64, nf)
	gen := newFeatureGen(pr.seas, pr.start, pr.step)
	tw := newTrendWalker(pr, c)
	for r, v := range pr.values {
		if !models.IsObserved(v) {
			continue
		}
		_, g := tw.at(r)
		gen.at(r, f)
		res := v/pr.yScale - g
		ne.yy += res * res
		for a, fa := range f {
			za := g * fa
			ne.b[a] += za * res
			row := ne.g[a*nf : (a+1)*nf]
			for b := a; b < nf; b++ {
				row[b] += za * g * f[b]
			}
		}
	}
	for a := range nf {
		for b := a + 1; b < nf; b++ {
			ne.g[b*nf+a] = ne.g[a*nf+b]
		}
	}
	ne.n = float64(pr.observed)
	return ne
}

// multTrendNormal returns the normal equations of y = (1+s)·trend for the
// seasonal coefficients beta (s = Σ β_a f_a): the trend columns weighted
// row by row with 1+s, through the same per-segment sums as the additive
// fit.
func (pr *problem) multTrendNormal(beta []float64) *normal {
	nk := len(pr.cpT)
	ne := newNormal(colD + nk)
	const stride = sumF
	seg := make([]float64, (nk+1)*stride)
	f := make([]float64, pr.nf)
	gen := newFeatureGen(pr.seas, pr.start, pr.step)
	j := 0
	for r, v := range pr.values {
		if !models.IsObserved(v) {
			continue
		}
		for j < nk && r >= pr.cpRow[j] {
			j++
		}
		gen.at(r, f)
		a := 1.0
		for i, fa := range f {
			a += beta[i] * fa
		}
		t, y := float64(r)*pr.dt, v/pr.yScale
		w, wy := a*a, a*y
		acc := seg[j*stride : (j+1)*stride]
		acc[sumW] += w
		acc[sumWT] += w * t
		acc[sumWTT] += w * t * t
		acc[sumWY] += wy
		acc[sumWYT] += wy * t
		ne.yy += y * y
	}
	ne.n = float64(pr.observed)
	trendNormal(ne, seg, stride, pr.cpT, 0)
	return ne
}
