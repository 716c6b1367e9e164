package valenc

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
