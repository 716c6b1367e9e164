package valenc

import (
	"math"
	"math/bits"
)

// appendXOR appends the Gorilla XOR encoding of vals to dst: each value is
// XORed with the one before and only the differing bits are stored. The
// number of values is not recorded.
func appendXOR(dst []byte, vals []float64) []byte {
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
	return w.finish()
}

// decodeXOR decodes n values written by appendXOR from src into dst
// (reused when large enough) and returns them with the number of bytes of
// src consumed. It returns ErrCorrupt when src ends early.
func decodeXOR(dst []float64, src []byte, n int) ([]float64, int, error) {
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
