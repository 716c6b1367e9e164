package prophet

import (
	"math"

	"github.com/train-prometheus/train-prometheus/models"
)

// problem is one fit's data in Prophet's scaling: y/yScale and t in [0,1]
// from the first to the last observed cell, the changepoints and the
// seasonal series. Rows are cells of values; unobserved rows are left out
// of every sum.
type problem struct {
	values   []float64 // the series from its first to its last observed cell
	start    int64     // grid time of values[0], ms
	step     int64     // ms
	observed int
	yScale   float64
	dt       float64 // t per row: 1/(len(values)-1)
	cpRow    []int   // row of each changepoint, increasing
	cpT      []float64
	seas     []seasonality
	nf       int // seasonal features
}

// newProblem trims s to its observed span and places the changepoints.
// It returns false when fewer than minObserved cells are observed.
func newProblem(s models.Series, p Options, period int) (*problem, bool) {
	first, last, observed := -1, -1, 0
	yScale := 0.0
	for i, v := range s.Values {
		if models.IsObserved(v) {
			if first < 0 {
				first = i
			}
			last = i
			observed++
			yScale = max(yScale, math.Abs(v))
		}
	}
	if observed < MinObserved {
		return nil, false
	}
	if yScale == 0 {
		yScale = 1 // as Prophet does for an all-zero history
	}
	pr := &problem{
		values:   s.Values[first : last+1],
		start:    s.Time(first),
		step:     s.Step,
		observed: observed,
		yScale:   yScale,
		dt:       1 / float64(last-first),
	}
	pr.placeChangepoints(p.Changepoints, p.ChangepointRange)
	pr.seas = seasonalities(int64(last-first)*s.Step, s.Step, period)
	pr.nf = numFeatures(pr.seas)
	return pr, true
}

// placeChangepoints puts n changepoints as Prophet does: at evenly spaced
// ranks (rounded half to even, like numpy) among the first share of the
// observed cells, excluding the first, and fewer when that share holds too
// few cells.
func (pr *problem) placeChangepoints(n int, share float64) {
	hist := int(math.Floor(float64(pr.observed) * share))
	n = max(0, min(n, hist-1))
	if n == 0 {
		return
	}
	pr.cpRow = make([]int, 0, n)
	pr.cpT = make([]float64, 0, n)
	j, rank := 1, 0
	want := func(j int) int { return int(math.RoundToEven(float64(j) * float64(hist-1) / float64(n))) }
	for r, v := range pr.values {
		if !models.IsObserved(v) {
			continue
		}
		for j <= n && want(j) == rank {
			pr.cpRow = append(pr.cpRow, r)
			pr.cpT = append(pr.cpT, float64(r)*pr.dt)
			j++
		}
		rank++
	}
}

// Column layout of the regression: offset m, slope k, one rate change per
// changepoint, then the seasonal features.
const (
	colM = 0
	colK = 1
	colD = 2
)

// segment sums, one block per stretch between changepoints: of the row
// weight w, w·t, w·t², of the weighted target wy, wy·t, and (additive
// passes only) of each feature f and f·t.
const (
	sumW = iota
	sumWT
	sumWTT
	sumWY
	sumWYT
	sumF // nf feature sums, then nf feature·t sums
)

// normal holds the normal equations G·c = b of one regression, with yy the
// weighted target's sum of squares and n the rows.
type normal struct {
	p    int
	g, b []float64 // p×p row-major (symmetric, both halves), p
	yy   float64
	n    float64
}

func newNormal(p int) *normal {
	buf := make([]float64, p*p+p)
	return &normal{p: p, g: buf[:p*p], b: buf[p*p:]}
}

// trendNormal fills the trend block (offset, slope, rate changes) of ne
// from segment sums seg (stride per segment, len(cpT)+1 segments), and,
// when nf > 0, the trend–feature cross terms. The hinge column of
// changepoint j is (t−s_j)+, which is zero before s_j, so each of its
// products is a polynomial in t summed over the segments after s_j:
// no pass over the rows is needed beyond the one that filled seg.
func trendNormal(ne *normal, seg []float64, stride int, cpT []float64, nf int) {
	nk := len(cpT)
	// Suffix sums: seg[j] becomes the sum of segments j..nk.
	for j := nk - 1; j >= 0; j-- {
		a, b := seg[j*stride:(j+1)*stride], seg[(j+1)*stride:(j+2)*stride]
		for i := range a {
			a[i] += b[i]
		}
	}
	p, g, rhs := ne.p, ne.g, ne.b
	set := func(i, j int, v float64) { g[i*p+j], g[j*p+i] = v, v }
	tot := seg[:stride]
	set(colM, colM, tot[sumW])
	set(colM, colK, tot[sumWT])
	set(colK, colK, tot[sumWTT])
	rhs[colM], rhs[colK] = tot[sumWY], tot[sumWYT]
	for a := range nf {
		set(colM, colD+nk+a, tot[sumF+a])
		set(colK, colD+nk+a, tot[sumF+nf+a])
	}
	for j, sj := range cpT {
		suf := seg[(j+1)*stride : (j+2)*stride] // rows after changepoint j
		cj := colD + j
		set(colM, cj, suf[sumWT]-sj*suf[sumW])
		set(colK, cj, suf[sumWTT]-sj*suf[sumWT])
		rhs[cj] = suf[sumWYT] - sj*suf[sumWY]
		for i := 0; i <= j; i++ {
			// Both hinges are live after the later changepoint j.
			si := cpT[i]
			set(colD+i, cj, suf[sumWTT]-(si+sj)*suf[sumWT]+si*sj*suf[sumW])
		}
		for a := range nf {
			set(cj, colD+nk+a, suf[sumF+nf+a]-sj*suf[sumF+a])
		}
	}
}

// additiveNormal builds the normal equations of the additive model
// y = m + k·t + Σ δ_j (t−s_j)+ + Σ β_a f_a in one pass over the rows: the
// trend block from per-segment sums and only the feature–feature block
// row by row.
func (pr *problem) additiveNormal() *normal {
	nk, nf := len(pr.cpT), pr.nf
	p := colD + nk + nf
	ne := newNormal(p)
	stride := sumF + 2*nf
	buf := make([]float64, (nk+1)*stride+nf+nf*nf)
	seg, f, ff := buf[:(nk+1)*stride], buf[(nk+1)*stride:(nk+1)*stride+nf], buf[(nk+1)*stride+nf:]
	fy := ne.b[colD+nk:]
	gen := newFeatureGen(pr.seas, pr.start, pr.step)
	j := 0
	for r, v := range pr.values {
		if !models.IsObserved(v) {
			continue
		}
		for j < nk && r >= pr.cpRow[j] {
			j++
		}
		t, y := float64(r)*pr.dt, v/pr.yScale
		acc := seg[j*stride : (j+1)*stride]
		acc[sumW]++
		acc[sumWT] += t
		acc[sumWTT] += t * t
		acc[sumWY] += y
		acc[sumWYT] += t * y
		ne.yy += y * y
		if nf == 0 {
			continue
		}
		gen.at(r, f)
		fs, fts := acc[sumF:sumF+nf], acc[sumF+nf:sumF+2*nf]
		for a, fa := range f {
			fs[a] += fa
			fts[a] += t * fa
			fy[a] += fa * y
			row := ff[a*nf : (a+1)*nf]
			for b := a; b < nf; b++ {
				row[b] += fa * f[b]
			}
		}
	}
	ne.n = float64(pr.observed)
	trendNormal(ne, seg, stride, pr.cpT, nf)
	off := colD + nk
	for a := range nf {
		for b := a; b < nf; b++ {
			ne.g[(off+a)*p+off+b] = ff[a*nf+b]
			ne.g[(off+b)*p+off+a] = ff[a*nf+b]
		}
	}
	return ne
}
