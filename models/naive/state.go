package naive

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/train-prometheus/train-prometheus/internal/valenc"
	"github.com/train-prometheus/train-prometheus/models"
)

// stateVersion is the first byte of a fitted model's saved state: the
// drift (8 bytes; 0 for seasonal_naive) follows it, then the rest as in
// version 2, which had no drift and still restores. Version 1 (one band
// half-width) was never released; it is refused.
const (
	stateVersion   = 3
	noDriftVersion = 2
)

// maxSavedWidths bounds the band half-widths Restore accepts (one per period
// ahead).
const maxSavedWidths = 1 << 16

// maxSavedPeriod bounds the period Restore accepts: the largest ring.
const maxSavedPeriod = 1 << 22

var (
	_ models.Restorer                              = model{}
	_ interface{ MarshalBinary() ([]byte, error) } = (*fitted)(nil)
)

var errTruncated = errors.New("restore seasonal naive: truncated or malformed state")

// MarshalBinary implements encoding.BinaryMarshaler: version byte; the
// drift per period (8 bytes); start,
// step, length, period and the index of the last observed cell (varints);
// the last observed value (8 bytes); the band half-widths per period ahead
// (count as a uvarint, then 8 bytes each); the kept
// tail (length, then compressed with valenc like the ring buffers); per
// phase, how many cells before the phase's last cell its latest observation
// lies, shifted left by one, with the low bit set when its value is not the
// tail's cell there (uvarints, mostly 0); and those values (valenc). Most
// latest values are in the tail and cost one byte.
func (f *fitted) MarshalBinary() ([]byte, error) {
	// Worst case: ~9 bytes per value, 10 per phase offset.
	b := make([]byte, 0, 64+8*len(f.halfWidths)+9*(len(f.tail)+f.period)+10*f.period)
	b = append(b, stateVersion)
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(f.drift))
	for _, v := range []int64{f.start, f.step, int64(f.n), int64(f.period), int64(f.lastAt)} {
		b = binary.AppendVarint(b, v)
	}
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(f.last))
	b = binary.AppendUvarint(b, uint64(len(f.halfWidths)))
	for _, w := range f.halfWidths {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(w))
	}
	b = binary.AppendUvarint(b, uint64(len(f.tail)))
	b = valenc.Append(b, f.tail)
	var explicit []float64
	for p, at := range f.latestAt {
		off := uint64(f.lastPhaseCell(p)-at) << 1
		if v, ok := f.fromTail(at); !ok || math.Float64bits(v) != math.Float64bits(f.latest[p]) {
			off |= 1
			explicit = append(explicit, f.latest[p])
		}
		b = binary.AppendUvarint(b, off)
	}
	b = valenc.Append(b, explicit)
	return b, nil
}

// fromTail returns the tail's value of cell i, if the tail holds it.
func (f *fitted) fromTail(i int) (float64, bool) {
	j := i - (f.n - len(f.tail))
	if i < 0 || j < 0 || j >= len(f.tail) {
		return 0, false
	}
	return f.tail[j], true
}

// lastPhaseCell returns the last cell index before n with phase p, or -1.
func (f *fitted) lastPhaseCell(p int) int {
	if f.n <= p {
		return -1
	}
	return p + (f.n-1-p)/f.period*f.period
}

// Restore implements models.Restorer.
func (model) Restore(data []byte) (models.Fitted, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("restore seasonal naive: empty state: %w", models.ErrUnknownFormat)
	}
	p := data[1:]
	var drift float64
	switch data[0] {
	case noDriftVersion:
	case stateVersion:
		if len(p) < 8 {
			return nil, errTruncated
		}
		drift = math.Float64frombits(binary.LittleEndian.Uint64(p))
		p = p[8:]
		if !models.IsObserved(drift) {
			return nil, errTruncated
		}
	default:
		return nil, fmt.Errorf("restore seasonal naive: state version %d, want %d or %d: %w", data[0], stateVersion, noDriftVersion, models.ErrUnknownFormat)
	}
	var ints [5]int64
	for i := range ints {
		v, n := binary.Varint(p)
		if n <= 0 {
			return nil, errTruncated
		}
		ints[i], p = v, p[n:]
	}
	f := &fitted{start: ints[0], step: ints[1], n: int(ints[2]), period: int(ints[3]), lastAt: int(ints[4]), drift: drift}
	if f.step <= 0 || ints[3] < 1 || ints[3] > maxSavedPeriod || ints[2] < 0 || ints[2] > math.MaxInt32 {
		return nil, fmt.Errorf("restore seasonal naive: step %d, period %d or length %d out of range", ints[1], ints[3], ints[2])
	}
	if len(p) < 8 {
		return nil, errTruncated
	}
	f.last = math.Float64frombits(binary.LittleEndian.Uint64(p))
	p = p[8:]
	nw, n := binary.Uvarint(p)
	if n <= 0 || nw == 0 || nw > maxSavedWidths || nw*8 > uint64(len(p)-n) {
		return nil, errTruncated
	}
	p = p[n:]
	f.halfWidths = make([]float64, nw)
	for i := range f.halfWidths {
		f.halfWidths[i] = math.Float64frombits(binary.LittleEndian.Uint64(p))
		p = p[8:]
	}
	nt, n := binary.Uvarint(p)
	if n <= 0 || nt > uint64(f.n) || nt > 2*uint64(f.period) || nt > uint64(len(p))*8 {
		return nil, errTruncated
	}
	p = p[n:]
	var err error
	if f.tail, n, err = valenc.Decode(nil, p, int(nt)); err != nil {
		return nil, errTruncated
	}
	p = p[n:]
	if uint64(f.period) > uint64(len(p)) {
		return nil, errTruncated // a byte per phase at least
	}
	f.latest = make([]float64, f.period)
	f.latestAt = make([]int, f.period)
	var want []int // phases whose value follows
	for i := range f.latestAt {
		off, n := binary.Uvarint(p)
		if n <= 0 || off>>1 > math.MaxInt32 {
			return nil, errTruncated
		}
		p = p[n:]
		f.latestAt[i] = f.lastPhaseCell(i) - int(off>>1)
		v, ok := f.fromTail(f.latestAt[i])
		if off&1 == 1 {
			want = append(want, i)
			continue
		}
		if !ok {
			return nil, errTruncated // flagged as in the tail, but is not
		}
		f.latest[i] = v
	}
	vals, n, err := valenc.Decode(nil, p, len(want))
	if err != nil {
		return nil, errTruncated
	}
	p = p[n:]
	for k, i := range want {
		f.latest[i] = vals[k]
	}
	if len(p) != 0 {
		return nil, errTruncated
	}
	return f, nil
}
