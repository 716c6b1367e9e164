package fourier

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/train-prometheus/train-prometheus/internal/encoding"
	"github.com/train-prometheus/train-prometheus/models"
)

// stateVersion is the first byte of a fitted model's saved state. Versions
// 1 (step, window and every frequency as floats; a constant band) and 2 (a
// constant band half-width) are refused: the series refits.
const stateVersion = 3

// State flags.
const (
	// flagOmegas: the frequencies are saved as floats, not as FFT bins.
	flagOmegas = 1
)

// maxSavedHarmonics bounds what Restore accepts, well above any fit.
const maxSavedHarmonics = 1 << 16

var (
	_ models.Restorer                              = model{}
	_ interface{ MarshalBinary() ([]byte, error) } = (*fitted)(nil)
)

var errMalformed = errors.New("restore fourier: truncated or malformed state")

// binOmega is the angular frequency of FFT bin j of a length-n window, as
// Fit computes it.
func binOmega(j, n int) float64 { return 2 * math.Pi * float64(j) / float64(n) }

// bins returns the FFT bin of each harmonic, when every frequency is one.
func (f *fitted) bins() ([]uint64, bool) {
	n := int(f.n)
	out := make([]uint64, len(f.harmonics))
	for i, h := range f.harmonics {
		j := math.Round(h.omega * f.n / (2 * math.Pi))
		if !(j >= 0 && j <= f.n) || math.Float64bits(binOmega(int(j), n)) != math.Float64bits(h.omega) {
			return nil, false
		}
		out[i] = uint64(j)
	}
	return out, true
}

// MarshalBinary implements encoding.BinaryMarshaler: version byte, flags,
// start (varint ms), step (uvarint ms) and window length (uvarint), the
// intercept, slope, the band's z, residual variance, error growth base and
// error growth per step (8 bytes each), the number of
// harmonics, then each harmonic's FFT bin (uvarint; with flagOmegas its
// frequency, 8 bytes), amplitude and phase (8 bytes each). It fails for a
// step or window that is not a whole number, which Fit never makes.
func (f *fitted) MarshalBinary() ([]byte, error) {
	if f.step != math.Trunc(f.step) || f.n != math.Trunc(f.n) || !(f.step > 0 && f.step < 1<<53) || !(f.n >= 1 && f.n < 1<<31) {
		return nil, fmt.Errorf("marshal fourier: step %v or window %v not a whole number", f.step, f.n)
	}
	bins, byBin := f.bins()
	var flags byte
	if !byBin {
		flags |= flagOmegas
	}
	e := encoding.Encbuf{B: make([]byte, 0, 2+3*binary.MaxVarintLen64+8*6+24*len(f.harmonics))}
	e.PutByte(stateVersion)
	e.PutByte(flags)
	e.PutVarint64(f.start)
	e.PutUvarint64(uint64(f.step))
	e.PutUvarint64(uint64(f.n))
	for _, v := range []float64{f.intercept, f.slope, f.z, f.variance, f.growthBase, f.growth} {
		e.PutFloat64(v)
	}
	e.PutUvarint64(uint64(len(f.harmonics)))
	for i, h := range f.harmonics {
		if byBin {
			e.PutUvarint64(bins[i])
		} else {
			e.PutFloat64(h.omega)
		}
		e.PutFloat64(h.amplitude)
		e.PutFloat64(h.phase)
	}
	return e.Get(), nil
}

// Restore implements models.Restorer; the history is not needed.
func (model) Restore(data []byte, _ models.Series) (models.Fitted, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("restore fourier: empty state: %w", models.ErrUnknownFormat)
	}
	if data[0] != stateVersion {
		return nil, fmt.Errorf("restore fourier: state version %d, want %d: %w", data[0], stateVersion, models.ErrUnknownFormat)
	}
	if len(data) < 2 || data[1]&^flagOmegas != 0 {
		return nil, errMalformed
	}
	flags, d := data[1], encoding.Decbuf{B: data[2:]}
	start, step, n := d.Varint64(), d.Uvarint64(), d.Uvarint64()
	if d.Err() != nil {
		return nil, fmt.Errorf("%w: %w", errMalformed, d.Err())
	}
	if step == 0 || step >= 1<<53 || n == 0 || n >= 1<<31 {
		return nil, fmt.Errorf("restore fourier: step %d or window %d out of range", step, n)
	}
	var fs [6]float64
	for i := range fs {
		fs[i] = d.Float64()
	}
	k := d.Uvarint64()
	if d.Err() != nil || k > maxSavedHarmonics || k*17 > uint64(d.Len()) {
		return nil, errMalformed
	}
	f := &fitted{start: start, step: float64(step), n: float64(n), intercept: fs[0], slope: fs[1],
		z: fs[2], variance: fs[3], growthBase: fs[4], growth: fs[5],
		harmonics: make([]harmonic, k)}
	if !(f.z >= 0) || !(f.variance >= 0) || !(f.growthBase >= 0) || !(f.growth >= 0) {
		return nil, fmt.Errorf("restore fourier: band z %v, variance %v or error growth %v, %v negative or NaN",
			f.z, f.variance, f.growthBase, f.growth)
	}
	for i := range f.harmonics {
		h := &f.harmonics[i]
		if flags&flagOmegas != 0 {
			h.omega = d.Float64()
		} else if j := d.Uvarint64(); j <= n {
			h.omega = binOmega(int(j), int(n))
		} else {
			d.Fail(fmt.Errorf("bin %d beyond the window of %d", j, n))
		}
		h.amplitude, h.phase = d.Float64(), d.Float64()
		if d.Err() != nil {
			return nil, fmt.Errorf("%w: %w", errMalformed, d.Err())
		}
	}
	if d.Len() != 0 {
		return nil, errMalformed
	}
	return f, nil
}
