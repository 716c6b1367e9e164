// Package xorenc compresses a sequence of float64 values with the XOR scheme
// of Facebook's Gorilla paper, as Prometheus' chunks do for sample values:
// each value is XORed with the one before it, and only the bits that differ
// are stored. A repeated value costs one bit; a slowly changing one a few
// more. Timestamps are not stored: callers keep values on a regular grid.
// Every bit pattern, NaN payloads included, round-trips exactly.
package xorenc

import (
	"errors"
	"math"
	"math/bits"
)

// ErrCorrupt is returned when a stream ends before the values it announces.
var ErrCorrupt = errors.New("xor stream truncated or corrupt")

// Append appends the encoding of vals to dst and returns it. The encoding
// does not record the number of values; Decode must be told.
func Append(dst []byte, vals []float64) []byte {
	w := bitWriter{buf: dst}
	var prev uint64
	leading, trailing := uint8(0xff), uint8(0)
	for i, v := range vals {
		cur := math.Float64bits(v)
		if i == 0 {
			w.writeBits(cur, 64)
			prev = cur
			continue
		}
		x := cur ^ prev
		prev = cur
		if x == 0 {
			w.writeBit(false)
			continue
		}
		w.writeBit(true)
		l, t := uint8(bits.LeadingZeros64(x)), uint8(bits.TrailingZeros64(x))
		if l >= 32 {
			l = 31 // five bits for the count of leading zeros
		}
		if leading != 0xff && l >= leading && t >= trailing {
			// The meaningful bits fit in the previous window.
			w.writeBit(false)
			w.writeBits(x>>trailing, int(64-leading-trailing))
			continue
		}
		leading, trailing = l, t
		w.writeBit(true)
		w.writeBits(uint64(l), 5)
		sig := 64 - l - t
		// 64 significant bits do not fit in six bits; 0 stands for 64, as
		// it can never occur otherwise.
		w.writeBits(uint64(sig&63), 6)
		w.writeBits(x>>t, int(sig))
	}
	return w.buf
}

// Decode decodes n values from src into dst (reused when large enough) and
// returns them with the number of bytes of src consumed. It returns
// ErrCorrupt when src ends early.
func Decode(dst []float64, src []byte, n int) ([]float64, int, error) {
	if cap(dst) < n {
		dst = make([]float64, n)
	}
	dst = dst[:n]
	r := bitReader{buf: src}
	var prev uint64
	var leading, trailing uint8
	for i := range dst {
		if i == 0 {
			v, ok := r.readBits(64)
			if !ok {
				return nil, 0, ErrCorrupt
			}
			prev = v
			dst[0] = math.Float64frombits(v)
			continue
		}
		b, ok := r.readBit()
		if !ok {
			return nil, 0, ErrCorrupt
		}
		if b {
			ctrl, ok := r.readBit()
			if !ok {
				return nil, 0, ErrCorrupt
			}
			if ctrl {
				l, ok1 := r.readBits(5)
				s, ok2 := r.readBits(6)
				if !ok1 || !ok2 {
					return nil, 0, ErrCorrupt
				}
				if s == 0 {
					s = 64
				}
				if l+s > 64 {
					return nil, 0, ErrCorrupt
				}
				leading, trailing = uint8(l), uint8(64-l-s)
			} else if i == 1 {
				return nil, 0, ErrCorrupt // no window to reuse yet
			}
			sig := int(64 - leading - trailing)
			x, ok := r.readBits(sig)
			if !ok {
				return nil, 0, ErrCorrupt
			}
			prev ^= x << trailing
		}
		dst[i] = math.Float64frombits(prev)
	}
	return dst, r.bytesRead(), nil
}

type bitWriter struct {
	buf   []byte
	nfree uint8 // free bits in the last byte of buf
}

func (w *bitWriter) writeBit(b bool) {
	if w.nfree == 0 {
		w.buf = append(w.buf, 0)
		w.nfree = 8
	}
	w.nfree--
	if b {
		w.buf[len(w.buf)-1] |= 1 << w.nfree
	}
}

// writeBits writes the n low bits of v, most significant first.
func (w *bitWriter) writeBits(v uint64, n int) {
	for n > 0 {
		if w.nfree == 0 {
			w.buf = append(w.buf, 0)
			w.nfree = 8
		}
		k := min(n, int(w.nfree))
		chunk := (v >> (n - k)) & (1<<k - 1)
		w.nfree -= uint8(k)
		w.buf[len(w.buf)-1] |= byte(chunk << w.nfree)
		n -= k
	}
}

type bitReader struct {
	buf  []byte
	pos  int   // index of the current byte
	used uint8 // bits of buf[pos] already read
}

func (r *bitReader) readBit() (bool, bool) {
	v, ok := r.readBits(1)
	return v == 1, ok
}

func (r *bitReader) readBits(n int) (uint64, bool) {
	var v uint64
	for n > 0 {
		if r.pos >= len(r.buf) {
			return 0, false
		}
		avail := 8 - int(r.used)
		k := min(n, avail)
		b := uint64(r.buf[r.pos]>>(avail-k)) & (1<<k - 1)
		v = v<<k | b
		r.used += uint8(k)
		if r.used == 8 {
			r.pos++
			r.used = 0
		}
		n -= k
	}
	return v, true
}

func (r *bitReader) bytesRead() int {
	if r.used > 0 {
		return r.pos + 1
	}
	return r.pos
}
