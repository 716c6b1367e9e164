package fourier

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/train-prometheus/train-prometheus/models"
)

// stateVersion is the first byte of a fitted model's saved state.
const stateVersion = 2

// nFloats is the number of 8-byte fields after the start.
const nFloats = 8

// maxSavedHarmonics bounds what Restore accepts, well above any fit.
const maxSavedHarmonics = 1 << 16

var (
	_ models.Restorer                              = model{}
	_ interface{ MarshalBinary() ([]byte, error) } = (*fitted)(nil)
)

// MarshalBinary implements encoding.BinaryMarshaler: version byte (2), start
// (varint ms), step, window length, intercept, slope, the band's z, residual
// variance, error growth base and error growth per step (8 bytes each), the
// number of harmonics, then each harmonic's frequency, amplitude and phase.
// Version 1 (a constant band half-width) is refused.
func (f *fitted) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, 1+binary.MaxVarintLen64*2+8*nFloats+24*len(f.harmonics))
	b = append(b, stateVersion)
	b = binary.AppendVarint(b, f.start)
	for _, v := range []float64{f.step, f.n, f.intercept, f.slope, f.z, f.variance, f.growthBase, f.growth} {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	}
	b = binary.AppendUvarint(b, uint64(len(f.harmonics)))
	for _, h := range f.harmonics {
		for _, v := range []float64{h.omega, h.amplitude, h.phase} {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		}
	}
	return b, nil
}

// Restore implements models.Restorer.
func (model) Restore(data []byte) (models.Fitted, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("restore fourier: empty state: %w", models.ErrUnknownFormat)
	}
	if data[0] != stateVersion {
		return nil, fmt.Errorf("restore fourier: state version %d, want %d: %w", data[0], stateVersion, models.ErrUnknownFormat)
	}
	p := data[1:]
	start, n := binary.Varint(p)
	if n <= 0 {
		return nil, fmt.Errorf("restore fourier: truncated state")
	}
	p = p[n:]
	var fs [nFloats]float64
	for i := range fs {
		if len(p) < 8 {
			return nil, fmt.Errorf("restore fourier: truncated state")
		}
		fs[i] = math.Float64frombits(binary.LittleEndian.Uint64(p))
		p = p[8:]
	}
	k, n := binary.Uvarint(p)
	if n <= 0 || k > maxSavedHarmonics || uint64(len(p)-n) != k*24 {
		return nil, fmt.Errorf("restore fourier: truncated or malformed harmonics")
	}
	p = p[n:]
	f := &fitted{start: start, step: fs[0], n: fs[1], intercept: fs[2], slope: fs[3],
		z: fs[4], variance: fs[5], growthBase: fs[6], growth: fs[7],
		harmonics: make([]harmonic, k)}
	if !(f.step > 0) || !(f.n >= 1) {
		return nil, fmt.Errorf("restore fourier: step %v or window %v not positive", f.step, f.n)
	}
	if !(f.z >= 0) || !(f.variance >= 0) || !(f.growthBase >= 0) || !(f.growth >= 0) {
		return nil, fmt.Errorf("restore fourier: band z %v, variance %v or error growth %v, %v negative or NaN",
			f.z, f.variance, f.growthBase, f.growth)
	}
	for i := range f.harmonics {
		f.harmonics[i] = harmonic{
			omega:     math.Float64frombits(binary.LittleEndian.Uint64(p)),
			amplitude: math.Float64frombits(binary.LittleEndian.Uint64(p[8:])),
			phase:     math.Float64frombits(binary.LittleEndian.Uint64(p[16:])),
		}
		p = p[24:]
	}
	return f, nil
}
