package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/go-kit/log/level"

	"github.com/train-prometheus/train-prometheus/internal/encoding"
	"github.com/train-prometheus/train-prometheus/models"
	"github.com/train-prometheus/train-prometheus/storage/ring"
)

// stateVersion is the first byte of a series' saved engine state. Version
// 2 added the anomaly detectors and the history's floors; version 3 the
// transform the fits were made with (a byte at the end). Versions 1 and 2
// still restore, with transform none: their fits were made on the values
// as they are. A series the entry now models as a rate is then refitted at
// the next retrain pass (see RetrainDue).
const stateVersion = 3

// SnapshotState returns what the engine keeps about ser, encoded to be
// saved next to its buffer in a snapshot (see RestoreSeries): the fits (model
// name and state), the training end, the pending forecast and the newest
// output timestamps. It returns nil when the engine has nothing for ser.
func (e *Engine) SnapshotState(ser *ring.Series) []byte {
	e.mu.RLock()
	st := e.states[ser.Ref()]
	e.mu.RUnlock()
	if st == nil {
		return nil
	}
	st.mu.Lock()
	entry := st.entry
	fits := append([]models.Fitted(nil), st.fits...)
	pending := append([]models.Point(nil), st.pending...)
	// Version 2's part, after the fits: floors, changes of level, masked
	// cells, period, then each model's detection state.
	var ext encoding.Encbuf
	ext.PutFloat64(st.noiseFloor)
	ext.PutFloat64(st.bandFloor)
	ext.PutUvarint64(uint64(len(st.adjust)))
	for _, a := range st.adjust {
		ext.PutVarint64(a.from)
		ext.PutFloat64(a.delta)
	}
	ext.PutUvarint64(uint64(len(st.masked)))
	for _, t := range st.masked {
		ext.PutVarint64(t)
	}
	ext.PutVarint64(int64(st.period))
	for i := range entry.Models {
		var data []byte
		if i < len(st.det) {
			data = st.det[i].marshal()
		}
		ext.PutUvarintBytes(data)
	}
	ext.PutByte(byte(st.transform)) // version 3
	enc := encoding.Encbuf{B: []byte{stateVersion}}
	enc.PutVarint64(entry.Step)
	enc.PutVarint64(int64(entry.Period))
	enc.PutFloat64(entry.cfg.IntervalWidth)
	var flags byte
	if st.fitted {
		flags |= 1
	}
	if st.stale {
		flags |= 2
	}
	enc.PutByte(flags)
	for _, v := range []int64{st.trainEnd, st.pendingT, st.lastForecastT, st.lastScoreT, st.nextFit} {
		enc.PutVarint64(v)
	}
	st.mu.Unlock()

	// Fits are immutable: they are encoded without the series lock.
	states := make([][]byte, len(entry.Models))
	size := enc.Len() + 2*binary.MaxVarintLen64 + 24*len(pending) + ext.Len()
	for i, m := range entry.Models {
		if i < len(fits) && fits[i] != nil {
			if bm, ok := fits[i].(interface{ MarshalBinary() ([]byte, error) }); ok {
				data, err := bm.MarshalBinary()
				if err != nil {
					level.Warn(e.logger).Log("msg", "Saving a fit failed", "model", m.Name(), "err", err)
					data = nil
				}
				states[i] = data
			}
		}
		size += 2*binary.MaxVarintLen64 + len(m.Name()) + len(states[i])
	}
	enc.B = append(make([]byte, 0, size), enc.B...)
	enc.PutUvarint64(uint64(len(pending)))
	for _, p := range pending {
		enc.PutFloat64(p.Yhat)
		enc.PutFloat64(p.Lower)
		enc.PutFloat64(p.Upper)
	}
	enc.PutUvarint64(uint64(len(entry.Models)))
	for i, m := range entry.Models {
		enc.PutUvarintStr(m.Name())
		enc.PutUvarintBytes(states[i])
	}
	enc.PutBytes(ext.Get())
	return enc.Get()
}

// marshal returns what a snapshot keeps of d: the detector, then the
// level correction it follows.
func (d *detection) marshal() []byte {
	det, _ := d.det.MarshalBinary() // never fails
	var e encoding.Encbuf
	e.PutUvarintBytes(det)
	e.PutVarint64(d.shiftFrom)
	e.PutFloat64(d.offset)
	e.PutFloat64(d.sigma)
	var applied byte
	if d.applied {
		applied = 1
	}
	e.PutByte(applied)
	e.PutUvarint64(uint64(len(d.resid)))
	for _, r := range d.resid {
		e.PutFloat64(r)
	}
	return e.Get()
}

// savedState is a decoded SnapshotState.
type savedState struct {
	step, period                                  int64
	width                                         float64
	fitted, stale                                 bool
	trainEnd, pendingT, lastForecastT, lastScoreT int64
	nextFit                                       int64
	pending                                       []models.Point
	names                                         []string
	fits                                          [][]byte
	// Version 2.
	noiseFloor, bandFloor float64
	fitPeriod             int64
	adjust                []levelAdjust
	masked                []int64
	dets                  [][]byte // per model
	// Version 3.
	transform models.Transform
}

var errBadState = errors.New("malformed engine state")

func decodeState(b []byte) (*savedState, error) {
	if len(b) == 0 || b[0] < 1 || b[0] > stateVersion {
		return nil, fmt.Errorf("engine state version %v: %w", b[:min(1, len(b))], models.ErrUnknownFormat)
	}
	d := encoding.Decbuf{B: b[1:]}
	s := &savedState{step: d.Varint64(), period: d.Varint64(), width: d.Float64()}
	flags := d.Byte()
	s.fitted, s.stale = flags&1 != 0, flags&2 != 0
	s.trainEnd, s.pendingT, s.lastForecastT, s.lastScoreT = d.Varint64(), d.Varint64(), d.Varint64(), d.Varint64()
	s.nextFit = d.Varint64()
	np := d.Uvarint64()
	if np > uint64(d.Len())/24 {
		return nil, errBadState
	}
	for range np {
		s.pending = append(s.pending, models.Point{Yhat: d.Float64(), Lower: d.Float64(), Upper: d.Float64()})
	}
	nm := d.Uvarint64()
	if nm > uint64(d.Len()) {
		return nil, errBadState
	}
	for range nm {
		s.names = append(s.names, d.UvarintStr())
		s.fits = append(s.fits, d.UvarintBytes())
	}
	if b[0] >= 2 {
		s.noiseFloor, s.bandFloor = d.Float64(), d.Float64()
		n := d.Uvarint64()
		for k := uint64(0); k < n && k < maxAdjust; k++ {
			s.adjust = append(s.adjust, levelAdjust{from: d.Varint64(), delta: d.Float64()})
		}
		if n > maxAdjust {
			d.Fail(fmt.Errorf("%d changes of level", n))
		}
		n = d.Uvarint64()
		for k := uint64(0); k < n && k < maxMasked; k++ {
			s.masked = append(s.masked, d.Varint64())
		}
		if n > maxMasked {
			d.Fail(fmt.Errorf("%d masked cells", n))
		}
		s.fitPeriod = d.Varint64()
		for range nm {
			s.dets = append(s.dets, d.UvarintBytes())
		}
	}
	if b[0] >= 3 {
		tr := d.Byte()
		if tr > byte(models.TransformRate) {
			d.Fail(fmt.Errorf("transform %d", tr))
		}
		s.transform = models.Transform(tr)
	}
	if d.Err() != nil {
		return nil, fmt.Errorf("decode engine state: %w: %w", errBadState, d.Err())
	}
	if d.Len() != 0 {
		return nil, fmt.Errorf("decode engine state: %d trailing bytes: %w", d.Len(), errBadState)
	}
	return s, nil
}

// RestoreSeries recreates a series saved in a snapshot, with the engine
// state SnapshotState saved for it, under the configuration in force. It
// reports whether the series was kept: a series no entry selects any more
// is dropped, and so is one whose entry changed step, window or aggregation
// (it restarts empty with its next sample, as after a reload). Fits are
// restored when the entry still fits the same models on the same grid, so
// that the series forecasts at once and warm-starts its next fit; the
// newest output timestamps are restored in any case, so that no output
// sample is written twice or out of order. The next fit is when it was
// scheduled, or at the series' next slot if that time has passed.
//
// Call it before the receiver accepts samples: a series already present is
// refused.
func (e *Engine) RestoreSeries(rs ring.SeriesState, blob []byte) (bool, error) {
	snap := e.snap.Load()
	entry := snap.route(rs.Labels)
	if entry == nil || snap.namer.isOutput(rs.Labels) || !sameGrid(rs.Options, entry.Ring) {
		return false, nil
	}
	rs.Options = entry.Ring
	ser, err := e.store.Restore(rs)
	if err != nil {
		return false, err
	}
	st := newState(ser, entry)
	if len(blob) > 0 {
		saved, err := decodeState(blob)
		if err != nil {
			level.Warn(e.logger).Log("msg", "Ignoring saved engine state", "series", rs.Labels.String(), "err", err)
		} else {
			e.restoreState(st, saved, rs)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.states[ser.Ref()]; !ok {
		e.states[ser.Ref()] = st
		e.listValid = false
	}
	return true, nil
}

// restoreState applies saved to the new state st, which nothing else sees
// yet; rs is what st's buffer was restored from.
func (e *Engine) restoreState(st *state, saved *savedState, rs ring.SeriesState) {
	entry := st.entry
	st.lastForecastT, st.lastScoreT, st.stale = saved.lastForecastT, saved.lastScoreT, saved.stale
	if !saved.fitted || saved.step != entry.Step || saved.period != int64(entry.Period) ||
		saved.width != entry.cfg.IntervalWidth || len(saved.names) != len(entry.Models) {
		return
	}
	fits := make([]models.Fitted, len(entry.Models))
	ok, missing := false, false
	// The cells the fits saw, as far as the restored buffer still holds
	// them (those before the training end, as Series.Values returns them):
	// models rebuild part of their state from them.
	// They saw the cells under the transform they were made with.
	history := models.Series{Start: rs.Start, Step: entry.Step}
	if saved.trainEnd > rs.Start {
		n := min(int64(len(rs.Values)), (saved.trainEnd-rs.Start+entry.Step-1)/entry.Step)
		history.Values = rs.Values[:n]
		if saved.transform == models.TransformRate {
			history.Values = slices.Clone(history.Values)
			models.Rates(history.Values, math.NaN(), stepSeconds(entry.Step), true)
		}
	}
	for i, m := range entry.Models {
		if saved.names[i] != m.Name() {
			return // other models: refit
		}
		r, isRestorer := m.(models.Restorer)
		if !isRestorer || len(saved.fits[i]) == 0 {
			missing = true
			continue
		}
		f, err := r.Restore(saved.fits[i], history)
		if err != nil {
			lvl := level.Warn
			if errors.Is(err, models.ErrHistoryMismatch) || errors.Is(err, models.ErrUnknownFormat) {
				// Cells filled since the fit, or state of an older build:
				// expected, and for every series at once after an upgrade.
				lvl = level.Debug
			}
			lvl(e.logger).Log("msg", "Ignoring saved fit", "series", st.ser.Labels().String(), "model", m.Name(), "err", err)
			missing = true
			continue
		}
		fits[i], ok = f, true
	}
	if !ok {
		return
	}
	st.fits, st.fitted, st.trainEnd, st.transform = fits, true, saved.trainEnd, saved.transform
	st.noiseFloor, st.bandFloor, st.period = saved.noiseFloor, saved.bandFloor, int(saved.fitPeriod)
	st.adjust, st.masked = saved.adjust, saved.masked
	if len(saved.dets) == len(fits) {
		st.det = restoreDetections(saved.dets)
	}
	if len(saved.pending) == len(fits) {
		st.pending, st.pendingT = saved.pending, saved.pendingT
	}
	// The saved schedule, unless the slot passed while the process was
	// down: then the next slot, so that a restart does not refit
	// everything at once.
	st.nextFit = saved.nextFit
	now := e.opts.Now().UnixMilli()
	switch {
	case missing:
		st.nextFit = now // a model lacks its fit: refit at the next pass
	case st.nextFit < now:
		st.nextFit = nextPhaseTime(now, entry.RetrainInterval, st.phase)
	}
}

// restoreDetections decodes the saved detection state of each model; one
// that cannot be read starts afresh.
func restoreDetections(saved [][]byte) []detection {
	out := make([]detection, len(saved))
	for i, b := range saved {
		d := encoding.Decbuf{B: b}
		var det detection
		err := det.det.UnmarshalBinary(d.UvarintBytes())
		det.shiftFrom, det.offset, det.sigma = d.Varint64(), d.Float64(), d.Float64()
		applied := d.Byte()
		det.applied = applied == 1
		n := d.Uvarint64()
		ok := applied <= 1 && n <= offsetCells
		for k := uint64(0); ok && k < n; k++ {
			det.resid = append(det.resid, d.Float64())
		}
		if err != nil || !ok || d.Err() != nil || d.Len() != 0 || !models.IsObserved(det.offset) || !models.IsObserved(det.sigma) {
			det = detection{}
			det.shiftFrom = math.MinInt64
		}
		out[i] = det
	}
	return out
}
