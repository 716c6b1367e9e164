package models

// blockTrend returns a local trend of values: the linear spline through
// the means of the observed cells of consecutive blocks of block cells
// ending at the last cell (the n mod block cells before the first block
// belong to none), each placed at the mean index of its observed cells,
// extended linearly past the first and last of them. A
// block of whole seasonal periods averages the season out, so the spline
// follows level shifts and trend changes without absorbing the season.
// ok is false when fewer than two blocks hold observed cells.
func blockTrend(values []float64, block int) (trend []float64, ok bool) {
	n := len(values)
	if block < 1 {
		return nil, false
	}
	k := n / block
	if k < 2 {
		return nil, false
	}
	centers := make([]float64, 0, k)
	means := make([]float64, 0, k)
	offset := n - k*block
	for j := range k {
		var sum, idx, count float64
		for i := offset + j*block; i < offset+(j+1)*block; i++ {
			if v := values[i]; IsObserved(v) {
				sum += v
				idx += float64(i)
				count++
			}
		}
		if count > 0 {
			centers = append(centers, idx/count)
			means = append(means, sum/count)
		}
	}
	if len(centers) < 2 {
		return nil, false
	}
	trend = make([]float64, n)
	seg := 0
	for i := range trend {
		x := float64(i)
		for seg < len(centers)-2 && x > centers[seg+1] {
			seg++
		}
		x0, x1 := centers[seg], centers[seg+1]
		y0, y1 := means[seg], means[seg+1]
		trend[i] = y0 + (y1-y0)*(x-x0)/(x1-x0)
	}
	return trend, true
}
