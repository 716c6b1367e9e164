// Package encoding reads and writes the fields of train-prometheus' binary
// formats (the snapshot records, the engine's saved state, each model's
// saved fit) with one Encbuf/Decbuf pair, as Prometheus' tsdb/encoding
// does for the TSDB's. Varints are those of encoding/binary; fixed-width
// integers and floats are little endian, which every format here uses
// (Prometheus' TSDB is big endian, which is why that package is not used
// directly).
//
// A Decbuf remembers its first error: a decoder reads every field, then
// checks Err once, wrapping it with what it was decoding:
//
//	d := encoding.Decbuf{B: data}
//	start, step := d.Varint64(), d.Uvarint64()
//	v := d.Float64()
//	if d.Err() != nil {
//		return fmt.Errorf("restore fourier: %w", d.Err())
//	}
package encoding

import (
	"encoding/binary"
	"errors"
	"math"
)

// ErrInvalidSize is the error of a Decbuf asked for more bytes than it
// holds, or for a varint that is truncated or overflows 64 bits.
var ErrInvalidSize = errors.New("invalid size: truncated field or bad varint")

// Encbuf appends fields to a byte slice.
type Encbuf struct {
	B []byte
}

// Reset empties the buffer, keeping its capacity.
func (e *Encbuf) Reset() { e.B = e.B[:0] }

// Get returns the encoded bytes.
func (e *Encbuf) Get() []byte { return e.B }

// Len returns the number of encoded bytes.
func (e *Encbuf) Len() int { return len(e.B) }

// PutByte appends c.
func (e *Encbuf) PutByte(c byte) { e.B = append(e.B, c) }

// PutBytes appends b as it is.
func (e *Encbuf) PutBytes(b []byte) { e.B = append(e.B, b...) }

// PutString appends s as it is.
func (e *Encbuf) PutString(s string) { e.B = append(e.B, s...) }

// PutUvarint64 appends x as an unsigned varint.
func (e *Encbuf) PutUvarint64(x uint64) { e.B = binary.AppendUvarint(e.B, x) }

// PutVarint64 appends x as a signed (zig-zag) varint.
func (e *Encbuf) PutVarint64(x int64) { e.B = binary.AppendVarint(e.B, x) }

// PutLE32 appends x in 4 bytes, little endian.
func (e *Encbuf) PutLE32(x uint32) { e.B = binary.LittleEndian.AppendUint32(e.B, x) }

// PutLE64 appends x in 8 bytes, little endian.
func (e *Encbuf) PutLE64(x uint64) { e.B = binary.LittleEndian.AppendUint64(e.B, x) }

// PutFloat32 appends the IEEE 754 bits of v in 4 bytes, little endian.
func (e *Encbuf) PutFloat32(v float32) { e.PutLE32(math.Float32bits(v)) }

// PutFloat64 appends the IEEE 754 bits of v in 8 bytes, little endian.
func (e *Encbuf) PutFloat64(v float64) { e.PutLE64(math.Float64bits(v)) }

// PutUvarintBytes appends the length of b as an unsigned varint, then b.
func (e *Encbuf) PutUvarintBytes(b []byte) {
	e.PutUvarint64(uint64(len(b)))
	e.PutBytes(b)
}

// PutUvarintStr appends the length of s as an unsigned varint, then s.
func (e *Encbuf) PutUvarintStr(s string) {
	e.PutUvarint64(uint64(len(s)))
	e.PutString(s)
}

// Decbuf reads fields from the front of a byte slice. After the first
// failed read, E holds the error and every read returns zero: decoders
// read on and check Err once.
type Decbuf struct {
	B []byte
	E error
}

// Err returns the first error, or nil.
func (d *Decbuf) Err() error { return d.E }

// Len returns the number of bytes not read yet.
func (d *Decbuf) Len() int { return len(d.B) }

// Get returns the bytes not read yet.
func (d *Decbuf) Get() []byte { return d.B }

// Fail records err, unless an error is recorded already: formats use it
// for their own checks (a count over its bound, a value out of range), so
// that the first problem is the one reported.
func (d *Decbuf) Fail(err error) {
	if d.E == nil {
		d.E = err
	}
}

// Bytes reads n bytes. The result shares the buffer's memory, with its
// capacity cut to n so that appending to it cannot overwrite what follows.
func (d *Decbuf) Bytes(n int) []byte {
	if d.E != nil {
		return nil
	}
	if n < 0 || n > len(d.B) {
		d.E = ErrInvalidSize
		return nil
	}
	b := d.B[:n:n]
	d.B = d.B[n:]
	return b
}

// UvarintBytes reads an unsigned varint length, then that many bytes, as
// Bytes does.
func (d *Decbuf) UvarintBytes() []byte {
	n := d.Uvarint64()
	if d.E != nil {
		return nil
	}
	if n > uint64(len(d.B)) {
		d.E = ErrInvalidSize
		return nil
	}
	return d.Bytes(int(n))
}

// UvarintStr reads what PutUvarintStr wrote.
func (d *Decbuf) UvarintStr() string { return string(d.UvarintBytes()) }

// Byte reads one byte.
func (d *Decbuf) Byte() byte {
	if d.E != nil {
		return 0
	}
	if len(d.B) < 1 {
		d.E = ErrInvalidSize
		return 0
	}
	c := d.B[0]
	d.B = d.B[1:]
	return c
}

// Uvarint64 reads an unsigned varint.
func (d *Decbuf) Uvarint64() uint64 {
	if d.E != nil {
		return 0
	}
	x, n := binary.Uvarint(d.B)
	if n <= 0 {
		d.E = ErrInvalidSize
		return 0
	}
	d.B = d.B[n:]
	return x
}

// Varint64 reads a signed (zig-zag) varint.
func (d *Decbuf) Varint64() int64 {
	if d.E != nil {
		return 0
	}
	x, n := binary.Varint(d.B)
	if n <= 0 {
		d.E = ErrInvalidSize
		return 0
	}
	d.B = d.B[n:]
	return x
}

// LE32 reads 4 bytes, little endian.
func (d *Decbuf) LE32() uint32 {
	if d.E != nil {
		return 0
	}
	if len(d.B) < 4 {
		d.E = ErrInvalidSize
		return 0
	}
	x := binary.LittleEndian.Uint32(d.B)
	d.B = d.B[4:]
	return x
}

// LE64 reads 8 bytes, little endian.
func (d *Decbuf) LE64() uint64 {
	if d.E != nil {
		return 0
	}
	if len(d.B) < 8 {
		d.E = ErrInvalidSize
		return 0
	}
	x := binary.LittleEndian.Uint64(d.B)
	d.B = d.B[8:]
	return x
}

// Float32 reads what PutFloat32 wrote.
func (d *Decbuf) Float32() float32 { return math.Float32frombits(d.LE32()) }

// Float64 reads what PutFloat64 wrote.
func (d *Decbuf) Float64() float64 { return math.Float64frombits(d.LE64()) }
