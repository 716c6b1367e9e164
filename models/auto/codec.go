package auto

import (
	"errors"
	"fmt"
	"math"

	"github.com/train-prometheus/train-prometheus/internal/encoding"
	"github.com/train-prometheus/train-prometheus/models"
)

// formatV1 is the first byte of the encoding MarshalBinary writes:
//
//	byte      version (1)
//	8 bytes   band scale (IEEE 754, little endian)
//	uvarint   number of members
//	per member:
//	  uvarint  length of the name, then the name
//	  8 bytes  weight (IEEE 754, little endian)
//	  uvarint  length of the member's own encoding, then that encoding
//
// formatV2 replaces the band scale by one per block of horizon steps:
//
//	byte      version (2)
//	8 bytes   end: the first grid time after the training data (ms, little endian)
//	8 bytes   step (ms, little endian)
//	uvarint   horizon steps per block
//	uvarint   number of blocks, then each block's scale (IEEE 754, little endian)
//	uvarint   number of members, then the members as in formatV1
const (
	formatV1 = 1
	formatV2 = 2
)

// maxBlocks bounds the block count Restore accepts.
const maxBlocks = 1024

// maxMembers bounds the member count Restore accepts.
const maxMembers = 64

// MarshalBinary encodes the chosen candidates' names, weights and their own
// encodings. It fails when a chosen candidate's fit does not implement
// encoding.BinaryMarshaler.
func (f *fitted) MarshalBinary() ([]byte, error) {
	e := encoding.Encbuf{B: []byte{formatV2}}
	e.PutLE64(uint64(f.end))
	e.PutLE64(uint64(f.step))
	e.PutUvarint64(uint64(f.block))
	e.PutUvarint64(uint64(len(f.scales)))
	for _, k := range f.scales {
		e.PutFloat64(k)
	}
	e.PutUvarint64(uint64(len(f.members)))
	for _, m := range f.members {
		bm, ok := m.fit.(interface{ MarshalBinary() ([]byte, error) })
		if !ok {
			return nil, fmt.Errorf("marshal auto: candidate %q cannot be saved", m.name)
		}
		data, err := bm.MarshalBinary()
		if err != nil {
			return nil, fmt.Errorf("marshal auto: candidate %q: %w", m.name, err)
		}
		e.PutUvarintStr(m.name)
		e.PutFloat64(m.weight)
		e.PutUvarintBytes(data)
	}
	return e.Get(), nil
}

// errCorrupt reports saved state that does not decode.
var errCorrupt = errors.New("corrupt auto model state")

// Restore decodes what MarshalBinary wrote, restoring each member with the
// candidate of the same name, with history. It fails when that candidate is not among
// this model's candidates or does not implement models.Restorer, and
// (wrapping models.ErrUnknownFormat) for an unknown format version.
func (m *model) Restore(data []byte, history models.Series) (models.Fitted, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("restore auto: empty state: %w", errCorrupt)
	}
	d := encoding.Decbuf{B: data[1:]}
	f := &fitted{block: 1}
	switch data[0] {
	case formatV1:
		f.scales = []float64{d.Float64()}
		f.step = 1
	case formatV2:
		f.end = int64(d.LE64())
		f.step = int64(d.LE64())
		block, blocks := d.Uvarint64(), d.Uvarint64()
		if d.Err() == nil && (block == 0 || block > math.MaxInt32 || blocks == 0 || blocks > maxBlocks || f.step <= 0) {
			return nil, fmt.Errorf("restore auto: %d blocks of %d steps of %d ms: %w", blocks, block, f.step, errCorrupt)
		}
		f.block = int(block)
		for range blocks {
			if d.Err() != nil {
				break
			}
			f.scales = append(f.scales, d.Float64())
		}
	default:
		return nil, fmt.Errorf("restore auto: format version %d: %w", data[0], models.ErrUnknownFormat)
	}
	for _, scale := range f.scales {
		if d.Err() == nil && !(scale >= minBandScale && scale <= maxBandScale) {
			return nil, fmt.Errorf("restore auto: band scale %v: %w", scale, errCorrupt)
		}
	}
	n := d.Uvarint64()
	if d.Err() == nil && (n == 0 || n > maxMembers) {
		return nil, fmt.Errorf("restore auto: %d members: %w", n, errCorrupt)
	}
	var total float64
	for range n {
		name := d.UvarintStr()
		w := d.Float64()
		state := d.UvarintBytes()
		if d.Err() != nil {
			break
		}
		if !(w > 0) || math.IsInf(w, 1) {
			return nil, fmt.Errorf("restore auto: member %q weight %v: %w", name, w, errCorrupt)
		}
		idx := m.candidate(name)
		if idx < 0 {
			return nil, fmt.Errorf("restore auto: %q is not a candidate", name)
		}
		rs, ok := m.candidates[idx].(models.Restorer)
		if !ok {
			return nil, fmt.Errorf("restore auto: candidate %q cannot restore saved state", name)
		}
		g, err := rs.Restore(state, history)
		if err != nil {
			return nil, fmt.Errorf("restore auto: candidate %q: %w", name, err)
		}
		f.members = append(f.members, member{name: name, index: idx, weight: w, fit: g})
		total += w
	}
	if d.Err() != nil {
		return nil, fmt.Errorf("restore auto: %w: %w", errCorrupt, d.Err())
	}
	if d.Len() != 0 {
		return nil, fmt.Errorf("restore auto: %d trailing bytes: %w", d.Len(), errCorrupt)
	}
	// The weights were saved normalised; dividing again could change
	// their last bits and so the forecasts (Predict divides by their sum).
	return f, nil
}

// candidate returns the index of the candidate called name, or -1.
func (m *model) candidate(name string) int {
	for i, c := range m.candidates {
		if c.Name() == name {
			return i
		}
	}
	return -1
}
