package naive

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/train-prometheus/train-prometheus/internal/encoding"
	"github.com/train-prometheus/train-prometheus/models"
)

// stateVersion is the first byte of a fitted model's saved state. Version
// 2 kept the tail and the per-phase forecasts themselves, version 3 had no
// drift; they are refused (the series refits). Version 1 was never
// released.
const stateVersion = 4

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
// drift per period (8 bytes; 0 for seasonal_naive); start,
// step, length and period (varints); the length of the kept tail
// (uvarint); the band half-widths per period ahead (count as a uvarint,
// then 8 bytes each); and a 64-bit digest of everything else the fit holds
// (the tail, the last observed cell and value, each phase's latest
// observed cell and forecast). Restore rebuilds those from the series'
// history and checks them against the digest: they are cells of the
// history, and means of its last K periods of each phase (Fit's
// meanBack).
func (f *fitted) MarshalBinary() ([]byte, error) {
	e := encoding.Encbuf{B: make([]byte, 0, 1+8+5*binary.MaxVarintLen64+8*len(f.halfWidths)+8)}
	e.PutByte(stateVersion)
	e.PutFloat64(f.drift)
	for _, v := range []int64{f.start, f.step, int64(f.n), int64(f.period)} {
		e.PutVarint64(v)
	}
	e.PutUvarint64(uint64(len(f.tail)))
	e.PutUvarint64(uint64(len(f.halfWidths)))
	for _, w := range f.halfWidths {
		e.PutFloat64(w)
	}
	d := f.cellsDigest()
	for _, v := range f.latest {
		d.addFloat(v)
	}
	e.PutLE64(uint64(d))
	return e.Get(), nil
}

// cellsDigest returns the digest of what Restore finds in the history
// itself: the tail, the last observed cell and value, and each phase's
// latest observed cell. The forecasts per phase follow.
func (f *fitted) cellsDigest() digest {
	d := digest(uint64(len(f.tail)))
	for _, v := range f.tail {
		d.addFloat(v)
	}
	d.add(uint64(f.lastAt))
	d.addFloat(f.last)
	for _, at := range f.latestAt {
		d.add(uint64(at))
	}
	return d
}

// digest is a 64-bit digest of a sequence of words; every step is a
// bijection, so one changed word always changes it.
type digest uint64

func (d *digest) add(x uint64) {
	h := (uint64(*d) ^ x) * 0x9e3779b97f4a7c15
	*d = digest(h ^ h>>29)
}

func (d *digest) addFloat(v float64) { d.add(math.Float64bits(v)) }

// Restore implements models.Restorer. It rebuilds the tail and the
// forecasts from history and refuses the state (wrapping
// models.ErrHistoryMismatch) when they are not exactly what the fit had:
// cells the fit saw were filled since, or have left the buffer.
func (model) Restore(data []byte, history models.Series) (models.Fitted, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("restore seasonal naive: empty state: %w", models.ErrUnknownFormat)
	}
	if data[0] != stateVersion {
		return nil, fmt.Errorf("restore seasonal naive: state version %d, want %d: %w", data[0], stateVersion, models.ErrUnknownFormat)
	}
	d := encoding.Decbuf{B: data[1:]}
	drift := d.Float64()
	if d.Err() != nil {
		return nil, fmt.Errorf("%w: %w", errTruncated, d.Err())
	}
	if !models.IsObserved(drift) {
		return nil, fmt.Errorf("restore seasonal naive: drift %v is not a number", drift)
	}
	var ints [4]int64
	for i := range ints {
		ints[i] = d.Varint64()
	}
	if d.Err() != nil {
		return nil, fmt.Errorf("%w: %w", errTruncated, d.Err())
	}
	f := &fitted{start: ints[0], step: ints[1], n: int(ints[2]), period: int(ints[3]), drift: drift}
	if f.step <= 0 || ints[3] < 1 || ints[3] > maxSavedPeriod || ints[2] <= ints[3] || ints[2] > math.MaxInt32 {
		return nil, fmt.Errorf("restore seasonal naive: step %d, period %d or length %d out of range", ints[1], ints[3], ints[2])
	}
	nt := d.Uvarint64()
	if d.Err() != nil || nt > uint64(f.n) {
		return nil, errTruncated
	}
	nw := d.Uvarint64()
	if d.Err() != nil || nw == 0 || nw > maxSavedWidths || nw*8+8 != uint64(d.Len()) {
		return nil, errTruncated
	}
	f.halfWidths = make([]float64, nw)
	for i := range f.halfWidths {
		f.halfWidths[i] = d.Float64()
	}
	want := digest(d.LE64())

	vals, off, err := f.cells(history)
	if err != nil {
		return nil, err
	}
	if f.n-int(nt) < off {
		return nil, fmt.Errorf("restore seasonal naive: the history lacks the last %d cells the fit kept: %w", nt, models.ErrHistoryMismatch)
	}
	f.tail = append([]float64(nil), vals[f.n-int(nt)-off:]...)
	f.findLatest(vals, off)
	base := f.cellsDigest()
	// The number of periods averaged is not saved: the first that
	// reproduces the digest is the fit's.
	for k := 1; k <= MaxPeriods; k++ {
		d := base
		for ph, at := range f.latestAt {
			if at >= 0 {
				f.latest[ph] = meanBack(vals, at-off, f.period, k)
			}
			d.addFloat(f.latest[ph])
		}
		if d == want {
			return f, nil
		}
	}
	return nil, fmt.Errorf("restore seasonal naive: the history does not reproduce the fit: %w", models.ErrHistoryMismatch)
}

// cells returns the history's cells from the fit's cell off to its last
// one (n-1).
func (f *fitted) cells(h models.Series) (vals []float64, off int, err error) {
	if h.Step != f.step || (h.Start-f.start)%f.step != 0 {
		return nil, 0, fmt.Errorf("restore seasonal naive: history on another grid (start %d, step %d): %w", h.Start, h.Step, models.ErrHistoryMismatch)
	}
	vals = h.Values
	d := (h.Start - f.start) / f.step
	if d < 0 {
		if -d > int64(len(vals)) {
			d = -int64(len(vals))
		}
		vals, d = vals[-d:], 0
	}
	if d > int64(f.n) || int64(len(vals)) < int64(f.n)-d {
		return nil, 0, fmt.Errorf("restore seasonal naive: the history ends before the fit's last cell: %w", models.ErrHistoryMismatch)
	}
	off = int(d)
	return vals[:f.n-off], off, nil
}

// findLatest sets, from vals (the cells from off on), each phase's latest
// observed cell and the latest observed cell and value, as Fit found them
// (NaN forecasts for phases never observed).
func (f *fitted) findLatest(vals []float64, off int) {
	f.latest = make([]float64, f.period)
	f.latestAt = make([]int, f.period)
	for ph := range f.latestAt {
		f.latest[ph], f.latestAt[ph] = math.NaN(), -1
	}
	f.last, f.lastAt = math.NaN(), -1
	found := 0
	for i := f.n - 1; i >= off && found < f.period; i-- {
		if !observed(vals[i-off]) {
			continue
		}
		if f.lastAt < 0 {
			f.last, f.lastAt = vals[i-off], i
		}
		if ph := i % f.period; f.latestAt[ph] < 0 {
			f.latestAt[ph] = i
			found++
		}
	}
}
