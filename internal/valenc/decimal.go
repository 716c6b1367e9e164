package valenc

import (
	"encoding/binary"
	"math"
	"math/bits"
)

// maxDecimals is the most digits after the decimal point the decimal
// scheme handles.
const maxDecimals = 9

// maxExact bounds the integers the decimal scheme handles: below 2^53
// every integer is exactly a float64.
const maxExact = 1 << 53

var pow10 = [maxDecimals + 1]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9}

// decimals returns the fewest digits d after the point with which every
// value but canonical NaNs is exactly float64(m)/10^d for an integer
// |m| < 2^53, and false when there is none. The values before index recheck
// were found exact with fewer digits only and must be checked again at d.
func decimals(vals []float64) (d, recheck int, ok bool) {
	for i, v := range vals {
		if math.Float64bits(v) == canonicalNaN || exactAt(v, d) {
			continue
		}
		// Once at maxDecimals (from an earlier value), no more digits are
		// tried: index maxDecimals+1 is out of the table.
		for {
			if d == maxDecimals {
				return 0, 0, false
			}
			if d++; exactAt(v, d) {
				break
			}
		}
		recheck = i
	}
	return d, recheck, true
}

func exactAt(v float64, d int) bool {
	m := math.Round(v * pow10[d])
	// As decoded: through an integer, which drops the sign of -0.
	return math.Abs(m) < maxExact && math.Float64bits(float64(int64(m))/pow10[d]) == math.Float64bits(v)
}

// appendDecimal writes vals in the decimal scheme, picking deltas or deltas
// of deltas by their size, when that scheme can hold them; ok is false
// otherwise.
func appendDecimal(dst []byte, vals []float64) ([]byte, bool) {
	d, recheck, ok := decimals(vals)
	if !ok {
		return dst, false
	}
	scale := pow10[d]
	// Check the values found exact at fewer digits, count the gaps, and
	// size both choices (a delta or delta of delta costs codeBits).
	var deltaBits, dodBits, gaps, j int
	var prev, prevDelta int64
	for i, v := range vals {
		if math.Float64bits(v) == canonicalNaN {
			gaps++
			continue
		}
		if i < recheck && !exactAt(v, d) {
			return dst, false // rare: exact at its own digits, not at d
		}
		m := int64(math.Round(v * scale))
		if j > 0 {
			delta := m - prev
			deltaBits += codeBits(zigzag(delta))
			if j == 1 {
				dodBits += codeBits(zigzag(delta))
			} else {
				dodBits += codeBits(zigzag(delta - prevDelta))
			}
			prevDelta = delta
		}
		prev = m
		j++
	}
	scheme := byte(schemeDelta)
	if dodBits < deltaBits {
		scheme = schemeDoD
	}
	dst = append(dst, scheme, byte(d))
	dst = binary.AppendUvarint(dst, uint64(gaps))
	last := -1
	for i, v := range vals {
		if gaps == 0 {
			break
		}
		if math.Float64bits(v) == canonicalNaN {
			dst = binary.AppendUvarint(dst, uint64(i-last-1))
			last = i
			gaps--
		}
	}
	w := bitWriter{buf: dst}
	j = 0
	for _, v := range vals {
		if math.Float64bits(v) == canonicalNaN {
			continue
		}
		m := int64(math.Round(v * scale))
		switch {
		case j == 0:
			w.writeBits(zigzag(m), 64)
		case scheme == schemeDelta || j == 1:
			prevDelta = m - prev
			writeCode(&w, zigzag(prevDelta))
		default:
			delta := m - prev
			writeCode(&w, zigzag(delta-prevDelta))
			prevDelta = delta
		}
		prev = m
		j++
	}
	return w.finish(), true
}

func decodeDecimal(dst []float64, src []byte, n int, dod bool) ([]float64, int, error) {
	if len(src) < 1 || src[0] > maxDecimals {
		return nil, 0, ErrCorrupt
	}
	scale := pow10[src[0]]
	pos := 1
	ng, k := binary.Uvarint(src[pos:])
	if k <= 0 || ng > uint64(n) {
		return nil, 0, ErrCorrupt
	}
	pos += k
	if cap(dst) < n {
		dst = make([]float64, n)
	}
	dst = dst[:n]
	isGap := make([]bool, n)
	at := -1
	for range ng {
		skip, k := binary.Uvarint(src[pos:])
		if k <= 0 || skip >= uint64(n-at-1) {
			return nil, 0, ErrCorrupt
		}
		pos += k
		at += int(skip) + 1
		isGap[at] = true
	}
	r := bitReader{buf: src[pos:]}
	var m, delta int64
	j := 0 // values decoded so far
	for i := range dst {
		if isGap[i] {
			dst[i] = math.Float64frombits(canonicalNaN)
			continue
		}
		var z uint64
		var ok bool
		if j == 0 {
			z, ok = r.readBits(64)
		} else {
			z, ok = readCode(&r)
		}
		if !ok {
			return nil, 0, ErrCorrupt
		}
		v := unzigzag(z)
		switch {
		case j == 0:
			m = v
		case j >= 2 && dod:
			delta += v
			m += delta
		default:
			delta = v
			m += delta
		}
		j++
		dst[i] = float64(m) / scale
	}
	return dst, pos + r.bytesRead(), nil
}

func zigzag(v int64) uint64   { return uint64(v<<1) ^ uint64(v>>63) }
func unzigzag(z uint64) int64 { return int64(z>>1) ^ -int64(z&1) }

// The variable-length code of a zigzagged delta: a unary bucket number
// (0, 10, 110, ...; the last one has no terminating 0) and then the value
// in the bucket's bits. A repeat (0) costs one bit.
var codeWidths = [...]int{0, 4, 8, 13, 20, 32, 64}

// codeBucket[l] is the bucket of a value of bit length l.
var codeBucket = func() (t [65]uint8) {
	b := 0
	for l := range t {
		for l > codeWidths[b] {
			b++
		}
		t[l] = uint8(b)
	}
	return t
}()

// prefixBits returns the length of bucket b's prefix.
func prefixBits(b int) int { return min(b+1, len(codeWidths)-1) }

// prefix returns bucket b's prefix: b ones, then a zero but for the last.
func prefix(b int) uint64 {
	ones := uint64(1)<<uint(b) - 1
	if b < len(codeWidths)-1 {
		return ones << 1
	}
	return ones
}

func codeBits(z uint64) int {
	b := int(codeBucket[bits.Len64(z)])
	return prefixBits(b) + codeWidths[b]
}

func writeCode(w *bitWriter, z uint64) {
	if z == 0 {
		w.writeBit(false)
		return
	}
	b := int(codeBucket[bits.Len64(z)])
	width := codeWidths[b]
	if pb := prefixBits(b); pb+width <= 64 {
		w.writeBits(prefix(b)<<uint(width)|z, pb+width)
		return
	}
	w.writeBits(prefix(b), prefixBits(b))
	w.writeBits(z, width)
}

func readCode(r *bitReader) (uint64, bool) {
	b := 0
	for b < len(codeWidths)-1 {
		bit, ok := r.readBit()
		if !ok {
			return 0, false
		}
		if !bit {
			break
		}
		b++
	}
	return r.readBits(codeWidths[b])
}
