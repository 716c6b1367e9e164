package prophet

import (
	"errors"
	"math"
)

// Prior scales of Prophet's model that are not options: the offset and
// slope are N(0, 5) and the noise σ is half-normal with scale 0.5, all in
// scaled units.
const (
	trendPriorScale = 5.0
	sigmaPriorScale = 0.5
)

// Settings of the MAP search.
const (
	// maxSteps bounds the solves of one search; it ends much sooner.
	maxSteps = 200
	// tol is the largest change of any coefficient (in scaled units)
	// that counts as not moving.
	tol = 1e-7
	// kktTol is the relative slack in the optimality condition of a zero
	// rate change, against freeing one over rounding.
	kktTol = 1e-6
	// tiny is the size a freed rate change starts at.
	tiny = 1e-12
	// minPenaltySigma2 is the smallest σ² the priors are weighted with:
	// noise of 1e-5 of the largest |y|.
	minPenaltySigma2 = 1e-10
)

var errSingular = errors.New("normal equations are not positive definite")

// penalty describes the priors of one regression's columns: columns
// [l1Lo, l1Hi) have the Laplace prior with scale tau, the others the
// normal prior with the given scale.
type penalty struct {
	scale      []float64 // normal prior scale per column (unused for l1 columns)
	l1Lo, l1Hi int
	tau        float64
}

// solver finds the MAP of a regression with the priors of pen and the
// noise σ: it minimises
//
//	n·log σ + RSS(c)/(2σ²) + σ²/(2·0.5²) + Σ|c_l1|/τ + Σ c_j²/(2·scale_j²)
//
// by alternating σ (a closed form given the RSS) with steps of the
// feature-sign search of Lee, Battle, Raina and Ng ("Efficient sparse
// coding algorithms", 2007) on c. For a fixed σ, c minimises
//
//	F(c) = c·G·c − 2·b·c + Σ d_j·c_j² + 2λ·Σ|c_l1|,  λ = σ²/τ, d_j = σ²/scale_j²,
//
// a lasso with a ridge. The search keeps a free set (the ridge columns and
// the nonzero rate changes, with their signs θ), solves the free set's
// equations (G+D)·c = b − λθ exactly with a Cholesky factorisation, and
// line-searches where a rate change would flip sign, dropping it; when the
// free set is optimal it frees the zero rate change that violates the
// optimality condition |(G·c − b)_j| ≤ λ most. Every step lowers the
// objective and the result meets the optimality conditions exactly, unlike
// reweighted least squares, which only approaches the zeros. The normal
// equations come from one pass over the data, so a step costs O(p³) with
// p the columns, whatever the length of the series.
type solver struct {
	a, back, x, b, grad, cand []float64 // p×p, p×p, p, p, p, p scratch
	idx                       []int     // free columns
}

// solve returns the MAP coefficients and σ², starting from c when not nil
// (and writing the result there) and from σ² = sigma2, or from the data's
// variance when sigma2 is negative.
func (sv *solver) solve(ne *normal, pen penalty, c []float64, sigma2 float64) ([]float64, float64, error) {
	p := ne.p
	if cap(sv.a) < p*p {
		sv.a, sv.back = make([]float64, p*p), make([]float64, p*p)
		buf := make([]float64, 4*p)
		sv.x, sv.b, sv.grad, sv.cand = buf[:p], buf[p:2*p], buf[2*p:3*p], buf[3*p:]
		sv.idx = make([]int, p)
	}
	if c == nil {
		c = make([]float64, p)
	}
	if sigma2 < 0 {
		// The variance of the target about its mean: an upper bound on
		// the noise that the first steps bring down.
		mean := ne.b[colM] / ne.n
		sigma2 = max(ne.yy/ne.n-mean*mean, 0)
	}
	isL1 := func(j int) bool { return j >= pen.l1Lo && j < pen.l1Hi }
	freed := -1 // the rate change freed last, until c moves
	for range maxSteps {
		// A floor on σ² in the priors keeps the equations positive
		// definite when the data are fitted exactly (σ → 0) by more
		// columns than observed rows.
		s2 := max(sigma2, minPenaltySigma2)
		lam := s2 / pen.tau
		moved, err := sv.featureSignStep(ne, pen, c, s2, lam)
		if err != nil {
			return nil, 0, err
		}
		sigma2 = mapSigma2(ne.rss(c), ne.n)
		if moved {
			freed = -1
			continue
		}
		// The free set is optimal for this σ: free the worst violator
		// of the optimality condition among the zero rate changes.
		ne.gradient(c, sv.grad)
		worst, wj := lam*(1+kktTol), -1
		for j := range p {
			if isL1(j) && c[j] == 0 && math.Abs(sv.grad[j]) > worst {
				worst, wj = math.Abs(sv.grad[j]), j
			}
		}
		if wj < 0 || wj == freed {
			// Optimal; or the one just freed went straight back to zero,
			// which only rounding does: stop rather than cycle.
			return c, sigma2, nil
		}
		freed = wj
		// Step a tiny amount downhill so the sign is set; the next step
		// solves for its value.
		c[wj] = -math.Copysign(tiny, sv.grad[wj])
	}
	return c, sigma2, nil
}

// featureSignStep solves the equations of the free set of c (the non-l1
// columns and the nonzero l1 ones, with their signs) for σ² = s2 and moves c
// towards the solution as far as the objective decreases along the way,
// zeroing the l1 coefficient whose sign change stops it. It reports
// whether c moved by more than tol.
func (sv *solver) featureSignStep(ne *normal, pen penalty, c []float64, s2, lam float64) (bool, error) {
	p := ne.p
	idx := sv.idx[:0]
	for j := range p {
		if j < pen.l1Lo || j >= pen.l1Hi || c[j] != 0 {
			idx = append(idx, j)
		}
	}
	q := len(idx)
	a, x := sv.a[:q*q], sv.x[:q]
	for r, i := range idx {
		row := ne.g[i*p:]
		for s, j := range idx[:r+1] {
			a[r*q+s] = row[j] // the lower triangle
		}
		x[r] = ne.b[i]
		if i >= pen.l1Lo && i < pen.l1Hi {
			x[r] -= math.Copysign(lam, c[i])
		} else {
			a[r*q+r] += s2 / (pen.scale[i] * pen.scale[i])
		}
	}
	if err := sv.cholSolveJitter(q); err != nil {
		return false, err
	}
	// Where along c → x does an l1 coefficient change sign first?
	step, stop := 1.0, -1
	for r, i := range idx {
		if i >= pen.l1Lo && i < pen.l1Hi && (x[r] > 0) != (c[i] > 0) {
			if t := c[i] / (c[i] - x[r]); t < step {
				step, stop = t, r
			}
		}
	}
	if stop >= 0 {
		// Past the first sign change the objective is no longer the
		// quadratic just minimised, but it is convex: it decreases up to
		// the crossing; take the end point instead if it is lower still.
		end, cross := sv.cand[:p], sv.grad[:p]
		copy(end, c)
		for r, i := range idx {
			end[i] = x[r]
		}
		for i := range cross {
			cross[i] = c[i] + step*(end[i]-c[i])
		}
		cross[idx[stop]] = 0
		if ne.objective(end, pen, s2, lam) < ne.objective(cross, pen, s2, lam) {
			step, stop = 1, -1
		}
	}
	moved := 0.0
	for r, i := range idx {
		v := c[i] + step*(x[r]-c[i])
		if r == stop {
			v = 0
		}
		moved = max(moved, math.Abs(v-c[i]))
		c[i] = v
	}
	return moved > tol, nil
}

// gradient writes G·c − b to g.
func (ne *normal) gradient(c, g []float64) {
	p := ne.p
	for i := range p {
		row := ne.g[i*p : (i+1)*p]
		s := -ne.b[i]
		for j, v := range row {
			s += v * c[j]
		}
		g[i] = s
	}
}

// objective returns F(c) for σ² = s2 and λ = lam, up to the constant yy.
func (ne *normal) objective(c []float64, pen penalty, s2, lam float64) float64 {
	f := ne.rss(c)
	for j, v := range c {
		if j >= pen.l1Lo && j < pen.l1Hi {
			f += 2 * lam * math.Abs(v)
		} else {
			f += s2 / (pen.scale[j] * pen.scale[j]) * v * v
		}
	}
	return f
}

// mapSigma2 returns the σ² that minimises n·log σ + rss/(2σ²) + σ²/(2s²)
// for the half-normal prior scale s = 0.5: the positive root of
// σ⁴/s² + n·σ² − rss = 0.
func mapSigma2(rss, n float64) float64 {
	q := 1 / (sigmaPriorScale * sigmaPriorScale)
	return 2 * rss / (n + math.Sqrt(n*n+4*q*rss)) // (√(n²+4q·rss) − n)/(2q) without cancellation
}

// rss returns the residual sum of squares of c from the normal
// equations: yy − 2·b·c + c·G·c, clamped at zero against rounding.
func (ne *normal) rss(c []float64) float64 {
	p := ne.p
	var bc, cgc float64
	for i := range p {
		bc += ne.b[i] * c[i]
		row := ne.g[i*p : (i+1)*p]
		var s float64
		for j, v := range row {
			s += v * c[j]
		}
		cgc += c[i] * s
	}
	return max(0, ne.yy-2*bc+cgc)
}

// cholSolveJitter solves the q×q system in sv.a, sv.x like cholSolve.
// When the matrix is singular to working precision (free columns that are
// collinear on the observed rows, which the L1 prior alone does not
// regularise), it retries with a growing multiple of the largest diagonal
// element added to the diagonal, a ridge too small to matter otherwise.
func (sv *solver) cholSolveJitter(q int) error {
	a, x := sv.a[:q*q], sv.x[:q]
	back, b := sv.back[:q*q], sv.b[:q]
	copy(back, a)
	copy(b, x)
	scale := 0.0
	for r := range q {
		scale = max(scale, a[r*q+r])
	}
	if !(scale > 0) {
		scale = 1
	}
	err := cholSolve(a, x, q)
	for _, rel := range []float64{1e-12, 1e-9, 1e-6, 1e-3} {
		if err == nil {
			return nil
		}
		copy(a, back)
		copy(x, b)
		for r := range q {
			a[r*q+r] += rel * scale
		}
		err = cholSolve(a, x, q)
	}
	return err
}

// cholSolve solves a·x = b in place (x holds b on entry) for a symmetric
// positive definite p×p a, of which it reads the lower triangle
// (row-major) and overwrites it with the Cholesky factor L, a = L·Lᵀ. The
// loops run along rows, so for the few dozen columns here this is several
// times faster than a general LAPACK path for one right-hand side.
func cholSolve(a, x []float64, p int) error {
	for i := range p {
		ri := a[i*p : i*p+i+1]
		for j := range i + 1 {
			rj := a[j*p : j*p+j]
			s := ri[j]
			for k, v := range rj {
				s -= ri[k] * v
			}
			if j < i {
				ri[j] = s / a[j*p+j]
				continue
			}
			if !(s > 0) {
				return errSingular
			}
			ri[i] = math.Sqrt(s)
		}
	}
	// L·y = b, then Lᵀ·x = y.
	for i := range p {
		ri := a[i*p : i*p+i]
		s := x[i]
		for k, v := range ri {
			s -= v * x[k]
		}
		x[i] = s / a[i*p+i]
	}
	for i := p - 1; i >= 0; i-- {
		x[i] /= a[i*p+i]
		xi := x[i]
		for k, v := range a[i*p : i*p+i] {
			x[k] -= v * xi
		}
	}
	return nil
}
