package auto

import (
	"encoding"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

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
	out := []byte{formatV2}
	out = binary.LittleEndian.AppendUint64(out, uint64(f.end))
	out = binary.LittleEndian.AppendUint64(out, uint64(f.step))
	out = binary.AppendUvarint(out, uint64(f.block))
	out = binary.AppendUvarint(out, uint64(len(f.scales)))
	for _, k := range f.scales {
		out = binary.LittleEndian.AppendUint64(out, math.Float64bits(k))
	}
	out = binary.AppendUvarint(out, uint64(len(f.members)))
	for _, m := range f.members {
		bm, ok := m.fit.(encoding.BinaryMarshaler)
		if !ok {
			return nil, fmt.Errorf("marshal auto: candidate %q cannot be saved", m.name)
		}
		data, err := bm.MarshalBinary()
		if err != nil {
			return nil, fmt.Errorf("marshal auto: candidate %q: %w", m.name, err)
		}
		out = binary.AppendUvarint(out, uint64(len(m.name)))
		out = append(out, m.name...)
		out = binary.LittleEndian.AppendUint64(out, math.Float64bits(m.weight))
		out = binary.AppendUvarint(out, uint64(len(data)))
		out = append(out, data...)
	}
	return out, nil
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
	r := reader{buf: data[1:]}
	f := &fitted{block: 1}
	switch data[0] {
	case formatV1:
		f.scales = []float64{math.Float64frombits(r.uint64())}
		f.step = 1
	case formatV2:
		f.end = int64(r.uint64())
		f.step = int64(r.uint64())
		block, blocks := r.uvarint(), r.uvarint()
		if r.err == nil && (block == 0 || block > math.MaxInt32 || blocks == 0 || blocks > maxBlocks || f.step <= 0) {
			return nil, fmt.Errorf("restore auto: %d blocks of %d steps of %d ms: %w", blocks, block, f.step, errCorrupt)
		}
		f.block = int(block)
		for range blocks {
			if r.err != nil {
				break
			}
			f.scales = append(f.scales, math.Float64frombits(r.uint64()))
		}
	default:
		return nil, fmt.Errorf("restore auto: format version %d: %w", data[0], models.ErrUnknownFormat)
	}
	for _, scale := range f.scales {
		if r.err == nil && !(scale >= minBandScale && scale <= maxBandScale) {
			return nil, fmt.Errorf("restore auto: band scale %v: %w", scale, errCorrupt)
		}
	}
	n := r.uvarint()
	if r.err == nil && (n == 0 || n > maxMembers) {
		return nil, fmt.Errorf("restore auto: %d members: %w", n, errCorrupt)
	}
	var total float64
	for range n {
		name := string(r.bytes())
		w := math.Float64frombits(r.uint64())
		state := r.bytes()
		if r.err != nil {
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
	if r.err != nil {
		return nil, fmt.Errorf("restore auto: %w", r.err)
	}
	if len(r.buf) != 0 {
		return nil, fmt.Errorf("restore auto: %d trailing bytes: %w", len(r.buf), errCorrupt)
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

// reader decodes the encoding; the first error sticks.
type reader struct {
	buf []byte
	err error
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.buf)
	if n <= 0 {
		r.err = fmt.Errorf("bad length: %w", errCorrupt)
		return 0
	}
	r.buf = r.buf[n:]
	return v
}

func (r *reader) uint64() uint64 {
	if r.err != nil {
		return 0
	}
	if len(r.buf) < 8 {
		r.err = fmt.Errorf("truncated number: %w", errCorrupt)
		return 0
	}
	v := binary.LittleEndian.Uint64(r.buf)
	r.buf = r.buf[8:]
	return v
}

func (r *reader) bytes() []byte {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.buf)) {
		r.err = fmt.Errorf("length %d beyond the %d bytes left: %w", n, len(r.buf), errCorrupt)
		return nil
	}
	b := r.buf[:n:n]
	r.buf = r.buf[n:]
	return b
}
