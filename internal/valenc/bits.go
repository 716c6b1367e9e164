package valenc

// bitWriter appends bits to buf, most significant first. Call finish to
// get the bytes.
type bitWriter struct {
	buf []byte
	acc uint64 // pending bits, the newest in the low n bits
	n   uint   // pending bits, < 8 between calls
}

func (w *bitWriter) writeBit(b bool) {
	var v uint64
	if b {
		v = 1
	}
	w.acc = w.acc<<1 | v
	if w.n++; w.n == 8 {
		w.buf = append(w.buf, byte(w.acc))
		w.n = 0
	}
}

// writeBits writes the nbits low bits of v, most significant first.
func (w *bitWriter) writeBits(v uint64, nbits int) {
	for nbits > 0 {
		k := min(nbits, 56)
		w.acc = w.acc<<uint(k) | (v>>uint(nbits-k))&(1<<uint(k)-1)
		w.n += uint(k)
		nbits -= k
		for w.n >= 8 {
			w.n -= 8
			w.buf = append(w.buf, byte(w.acc>>w.n))
		}
	}
}

// finish pads the last byte with zero bits and returns the buffer.
func (w *bitWriter) finish() []byte {
	if w.n > 0 {
		w.buf = append(w.buf, byte(w.acc<<(8-w.n)))
		w.n = 0
	}
	return w.buf
}

// bitReader reads what bitWriter wrote.
type bitReader struct {
	buf []byte
	pos int    // next byte of buf to load
	acc uint64 // loaded bits, the next in the high end of the low n bits
	n   uint
}

func (r *bitReader) fill() {
	for r.n <= 56 && r.pos < len(r.buf) {
		r.acc = r.acc<<8 | uint64(r.buf[r.pos])
		r.pos++
		r.n += 8
	}
}

func (r *bitReader) readBit() (bool, bool) {
	if r.n == 0 {
		r.fill()
		if r.n == 0 {
			return false, false
		}
	}
	r.n--
	return r.acc>>r.n&1 == 1, true
}

// readBits reads nbits bits (at most 64).
func (r *bitReader) readBits(nbits int) (uint64, bool) {
	var v uint64
	for nbits > 0 {
		if r.n == 0 {
			r.fill()
			if r.n == 0 {
				return 0, false
			}
		}
		k := min(uint(nbits), r.n)
		v = v<<k | (r.acc>>(r.n-k))&(1<<k-1)
		r.n -= k
		nbits -= int(k)
	}
	return v, true
}

// bytesRead returns the bytes consumed, the last one possibly in part.
func (r *bitReader) bytesRead() int {
	return (r.pos*8 - int(r.n) + 7) / 8
}
