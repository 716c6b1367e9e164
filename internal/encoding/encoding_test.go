package encoding

import (
	"encoding/binary"
	"errors"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// encodeAll writes one field of each kind.
func encodeAll() *Encbuf {
	var e Encbuf
	e.PutByte(7)
	e.PutUvarint64(math.MaxUint64)
	e.PutVarint64(math.MinInt64)
	e.PutVarint64(-1)
	e.PutLE32(0x01020304)
	e.PutLE64(0x0102030405060708)
	e.PutFloat32(float32(math.Inf(-1)))
	e.PutFloat64(math.Float64frombits(0x7ff8000000000001)) // a NaN payload
	e.PutUvarintBytes([]byte("abc"))
	e.PutUvarintStr("")
	e.PutBytes([]byte{1, 2})
	e.PutString("z")
	return &e
}

// TestLayout: the fields are encoding/binary's varints and little-endian
// numbers, byte for byte: the formats that use this package were written
// with those before it existed.
func TestLayout(t *testing.T) {
	want := []byte{7}
	want = binary.AppendUvarint(want, math.MaxUint64)
	want = binary.AppendVarint(want, math.MinInt64)
	want = binary.AppendVarint(want, -1)
	want = binary.LittleEndian.AppendUint32(want, 0x01020304)
	want = binary.LittleEndian.AppendUint64(want, 0x0102030405060708)
	want = binary.LittleEndian.AppendUint32(want, math.Float32bits(float32(math.Inf(-1))))
	want = binary.LittleEndian.AppendUint64(want, 0x7ff8000000000001)
	want = append(want, 3, 'a', 'b', 'c', 0, 1, 2, 'z')
	e := encodeAll()
	require.Equal(t, want, e.Get())
	require.Equal(t, len(want), e.Len())
	e.Reset()
	require.Zero(t, e.Len())
}

func TestRoundTrip(t *testing.T) {
	d := Decbuf{B: encodeAll().Get()}
	require.Equal(t, byte(7), d.Byte())
	require.Equal(t, uint64(math.MaxUint64), d.Uvarint64())
	require.Equal(t, int64(math.MinInt64), d.Varint64())
	require.Equal(t, int64(-1), d.Varint64())
	require.Equal(t, uint32(0x01020304), d.LE32())
	require.Equal(t, uint64(0x0102030405060708), d.LE64())
	require.Equal(t, float32(math.Inf(-1)), d.Float32())
	require.Equal(t, uint64(0x7ff8000000000001), math.Float64bits(d.Float64()))
	b := d.UvarintBytes()
	require.Equal(t, []byte("abc"), b)
	require.Equal(t, 3, cap(b), "capacity cut: appending cannot overwrite the next field")
	require.Empty(t, d.UvarintStr())
	require.Equal(t, []byte{1, 2}, d.Bytes(2))
	require.Equal(t, 1, d.Len())
	require.Equal(t, []byte("z"), d.Get())
	require.NoError(t, d.Err())
}

// TestTruncated: every prefix of an encoding fails with ErrInvalidSize
// when read in full, and reads after the failure return zero values.
func TestTruncated(t *testing.T) {
	full := encodeAll().Get()
	for n := range len(full) {
		d := Decbuf{B: full[:n]}
		d.Byte()
		d.Uvarint64()
		d.Varint64()
		d.Varint64()
		d.LE32()
		d.LE64()
		d.Float32()
		d.Float64()
		d.UvarintBytes()
		d.UvarintStr()
		d.Bytes(2)
		d.Bytes(1)
		require.ErrorIs(t, d.Err(), ErrInvalidSize, "%d bytes", n)
		require.Zero(t, d.Byte())
		require.Zero(t, d.Uvarint64())
		require.Nil(t, d.Bytes(0))
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    []byte
		read func(d *Decbuf)
	}{
		{"uvarint overflow", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}, func(d *Decbuf) { d.Uvarint64() }},
		{"varint overflow", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}, func(d *Decbuf) { d.Varint64() }},
		{"length beyond the buffer", []byte{4, 1, 2, 3}, func(d *Decbuf) { d.UvarintBytes() }},
		{"huge length", binary.AppendUvarint(nil, math.MaxUint64), func(d *Decbuf) { d.UvarintBytes() }},
		{"negative length", []byte{1}, func(d *Decbuf) { d.Bytes(-1) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := Decbuf{B: tc.b}
			tc.read(&d)
			require.ErrorIs(t, d.Err(), ErrInvalidSize)
		})
	}
}

func TestFailKeepsFirstError(t *testing.T) {
	errOther := errors.New("other")
	d := Decbuf{B: []byte{1}}
	d.LE32()
	d.Fail(ErrInvalidSize)
	other := Decbuf{}
	other.Fail(errOther)
	other.Fail(ErrInvalidSize)
	require.ErrorIs(t, d.Err(), ErrInvalidSize)
	require.ErrorIs(t, other.Err(), errOther)
	require.Zero(t, other.Byte(), "reads after Fail return zero")
}
