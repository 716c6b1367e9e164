package receive

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"unsafe"
)

// This file holds the protobuf wire-format primitives of the hot-path
// decoders (unmarshal_v1.go, unmarshal_v2.go). They read the wire exactly
// as the gogo-generated code of prompb does (same bounds, same overflow and
// truncation rules), so that a body is refused by both or by neither; the
// fuzz tests hold them to that.

// Errors of the wire format, as the generated code names them.
var (
	errIntOverflow   = errors.New("proto: integer overflow")
	errInvalidLength = errors.New("proto: negative length found during unmarshaling")
	errEndOfGroup    = errors.New("proto: unexpected end of group")
)

// uvarint reads a base-128 varint at b[i:] and returns it and the index
// after it. Like the generated code, it accepts at most ten bytes and keeps
// the low 64 bits.
func uvarint(b []byte, i int) (uint64, int, error) {
	if i < len(b) && b[i] < 0x80 {
		return uint64(b[i]), i + 1, nil
	}
	var v uint64
	for shift := uint(0); ; shift += 7 {
		if shift >= 64 {
			return 0, 0, errIntOverflow
		}
		if i >= len(b) {
			return 0, 0, io.ErrUnexpectedEOF
		}
		c := b[i]
		i++
		v |= uint64(c&0x7F) << shift
		if c < 0x80 {
			return v, i, nil
		}
	}
}

// tag reads a field tag at b[i:]. It refuses what every generated
// Unmarshal refuses: an end-group tag and field numbers below one (the
// field number is the low 32 bits of the tag shifted, as there).
func tag(b []byte, i int, msg string) (field int32, wire int, next int, err error) {
	t, next, err := uvarint(b, i)
	if err != nil {
		return 0, 0, 0, err
	}
	field, wire = int32(t>>3), int(t&7)
	if wire == 4 {
		return 0, 0, 0, fmt.Errorf("proto: %s: wiretype end group for non-group", msg)
	}
	if field <= 0 {
		return 0, 0, 0, fmt.Errorf("proto: %s: illegal tag %d (wire type %d)", msg, field, t)
	}
	return field, wire, next, nil
}

// wrongWire is the error of a known field sent with another wire type.
func wrongWire(wire int, field string) error {
	return fmt.Errorf("proto: wrong wireType = %d for field %s", wire, field)
}

// bytesField reads the length of a length-delimited field at b[i:] and
// returns the bounds of its content.
func bytesField(b []byte, i int) (lo, hi int, err error) {
	n, i, err := uvarint(b, i)
	if err != nil {
		return 0, 0, err
	}
	l := int(n)
	if l < 0 {
		return 0, 0, errInvalidLength
	}
	hi = i + l
	if hi < 0 {
		return 0, 0, errInvalidLength
	}
	if hi > len(b) {
		return 0, 0, io.ErrUnexpectedEOF
	}
	return i, hi, nil
}

// fixed64 reads a little-endian 64-bit field at b[i:].
func fixed64(b []byte, i int) (float64, int, error) {
	if i+8 > len(b) {
		return 0, 0, io.ErrUnexpectedEOF
	}
	return math.Float64frombits(binary.LittleEndian.Uint64(b[i:])), i + 8, nil
}

// skipField skips the field whose tag starts at b[start:], as the generated
// skip functions do (groups included), and returns the index after it.
func skipField(b []byte, start int) (int, error) {
	i, depth := start, 0
	for i < len(b) {
		t, next, err := uvarint(b, i)
		if err != nil {
			return 0, err
		}
		i = next
		switch t & 7 {
		case 0:
			if _, i, err = uvarint(b, i); err != nil {
				return 0, err
			}
		case 1:
			i += 8
		case 2:
			n, next, err := uvarint(b, i)
			if err != nil {
				return 0, err
			}
			if int(n) < 0 {
				return 0, errInvalidLength
			}
			i = next + int(n)
		case 3:
			depth++
		case 4:
			if depth == 0 {
				return 0, errEndOfGroup
			}
			depth--
		case 5:
			i += 4
		default:
			return 0, fmt.Errorf("proto: illegal wireType %d", t&7)
		}
		if i < 0 {
			return 0, errInvalidLength
		}
		if depth == 0 {
			if i > len(b) {
				return 0, io.ErrUnexpectedEOF
			}
			return i, nil
		}
	}
	return 0, io.ErrUnexpectedEOF
}

// alias returns b[lo:hi] as a string sharing b's memory: valid only while
// b is neither modified nor reused.
func alias(b []byte, lo, hi int) string {
	if lo == hi {
		return ""
	}
	return unsafe.String(&b[lo], hi-lo)
}
