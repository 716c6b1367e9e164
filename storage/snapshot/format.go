package snapshot

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/train-prometheus/train-prometheus/internal/valenc"
	"github.com/train-prometheus/train-prometheus/storage/ring"
)

// The file layout, all integers varint-encoded unless said otherwise:
//
//	magic "TPSNAP" | version byte (FormatVersion)
//	record*        | kind byte | uvarint payload length | payload | CRC-32C (4 bytes, little endian) of kind, length and payload
//
// The first record is a header (created time in ms, then, since the
// sequence was added, a uvarint sequence number), then one record per
// series, then an end record holding the number of series records. Nothing
// may follow the end record: a snapshot without one is truncated. Readers
// ignore header bytes they do not know, so the sequence needed no new
// format version: older builds read newer snapshots and the other way
// round (a snapshot without a sequence has sequence 0).
//
// A series record holds the labels (count, then length-prefixed names and
// values), the grid (step and window in ms, aggregation byte), the buffer
// (start, last sample time, open cell sum as 8 raw bytes and count, number of
// cells, length-prefixed values compressed by internal/valenc) and a length-prefixed opaque
// blob the caller saves with the series (the engine's fitted models).
const (
	magic = "TPSNAP"
	// FormatVersion is the version of the snapshot format this build
	// writes and the only one it reads.
	FormatVersion = 1

	kindHeader = 1
	kindSeries = 2
	kindEnd    = 3

	// maxRecord bounds a record's payload: the largest ring (1<<22 cells)
	// compressed at worst (~78 bits per value) plus labels and model state.
	maxRecord = 64 << 20
)

// Errors of the snapshot reader.
var (
	// ErrNotSnapshot is returned for data that does not start with the
	// snapshot magic.
	ErrNotSnapshot = errors.New("not a train-prometheus snapshot")
	// ErrUnsupportedVersion is returned for a snapshot written in a format
	// version this build does not read.
	ErrUnsupportedVersion = errors.New("unsupported snapshot format version")
	// ErrCorrupt is returned for a snapshot that is truncated or fails its
	// checksums.
	ErrCorrupt = errors.New("snapshot corrupt or truncated")
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Writer writes a snapshot to an io.Writer, one series at a time, so that a
// snapshot never sits whole in memory.
type Writer struct {
	w      *bufio.Writer
	buf    []byte
	series uint64
	err    error
}

// NewWriter writes the snapshot header, stamped created, to w, without a
// sequence number (sequence 0).
func NewWriter(w io.Writer, created time.Time) (*Writer, error) {
	return newWriter(w, created, 0)
}

// NewSequencedWriter is NewWriter with the sequence number seq (> 0) in the
// header: restores and pruning order snapshots by it, not by name or
// clock.
func NewSequencedWriter(w io.Writer, created time.Time, seq uint64) (*Writer, error) {
	return newWriter(w, created, seq)
}

func newWriter(w io.Writer, created time.Time, seq uint64) (*Writer, error) {
	sw := &Writer{w: bufio.NewWriterSize(w, 1<<20)}
	if _, err := sw.w.WriteString(magic); err != nil {
		return nil, err
	}
	if err := sw.w.WriteByte(FormatVersion); err != nil {
		return nil, err
	}
	sw.buf = binary.AppendVarint(sw.buf[:0], created.UnixMilli())
	if seq > 0 {
		sw.buf = binary.AppendUvarint(sw.buf, seq)
	}
	if err := sw.record(kindHeader); err != nil {
		return nil, err
	}
	return sw, nil
}

// Add writes one series and the caller's blob for it.
func (w *Writer) Add(st ring.SeriesState, extra []byte) error {
	b := w.buf[:0]
	b = binary.AppendUvarint(b, uint64(st.Labels.Len()))
	st.Labels.Range(func(l labels.Label) {
		b = appendString(b, l.Name)
		b = appendString(b, l.Value)
	})
	b = binary.AppendUvarint(b, uint64(st.Options.Step.Milliseconds()))
	b = binary.AppendUvarint(b, uint64(st.Options.Window.Milliseconds()))
	b = append(b, byte(st.Options.Aggregate))
	b = binary.AppendVarint(b, st.Start)
	b = binary.AppendVarint(b, st.LastT)
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(st.OpenSum))
	b = binary.AppendVarint(b, st.OpenCount)
	b = binary.AppendUvarint(b, uint64(len(st.Values)))
	// The compressed values are written after a length placeholder of the
	// largest size, then moved down: one pass, no second buffer.
	lenAt := len(b)
	b = append(b, make([]byte, binary.MaxVarintLen64)...)
	b = valenc.Append(b, st.Values)
	n := len(b) - lenAt - binary.MaxVarintLen64
	k := binary.PutUvarint(b[lenAt:], uint64(n))
	b = append(b[:lenAt+k], b[lenAt+binary.MaxVarintLen64:]...)
	b = binary.AppendUvarint(b, uint64(len(extra)))
	b = append(b, extra...)
	w.buf = b
	if len(b) > maxRecord {
		return fmt.Errorf("write series %s: record of %d bytes exceeds %d", st.Labels, len(b), maxRecord)
	}
	w.series++
	return w.record(kindSeries)
}

// Close writes the end record and flushes. It does not close the
// underlying writer.
func (w *Writer) Close() error {
	w.buf = binary.AppendUvarint(w.buf[:0], w.series)
	if err := w.record(kindEnd); err != nil {
		return err
	}
	return w.w.Flush()
}

// record writes w.buf as a record of the given kind.
func (w *Writer) record(kind byte) error {
	if w.err != nil {
		return w.err
	}
	var head [1 + binary.MaxVarintLen64]byte
	head[0] = kind
	n := 1 + binary.PutUvarint(head[1:], uint64(len(w.buf)))
	crc := crc32.Update(0, castagnoli, head[:n])
	crc = crc32.Update(crc, castagnoli, w.buf)
	var sum [4]byte
	binary.LittleEndian.PutUint32(sum[:], crc)
	for _, p := range [][]byte{head[:n], w.buf, sum[:]} {
		if _, err := w.w.Write(p); err != nil {
			w.err = fmt.Errorf("write snapshot: %w", err)
			return w.err
		}
	}
	return nil
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// Reader reads a snapshot written by Writer, one series at a time.
type Reader struct {
	r       *bufio.Reader
	created time.Time
	seq     uint64
	payload []byte
	series  uint64
	done    bool
}

// NewReader reads and checks the snapshot's magic, version and header.
func NewReader(r io.Reader) (*Reader, error) {
	sr := &Reader{r: bufio.NewReaderSize(r, 1<<20)}
	var head [len(magic) + 1]byte
	if _, err := io.ReadFull(sr.r, head[:]); err != nil {
		return nil, fmt.Errorf("%w: read header: %w", ErrCorrupt, err)
	}
	if string(head[:len(magic)]) != magic {
		return nil, ErrNotSnapshot
	}
	if v := head[len(magic)]; v != FormatVersion {
		return nil, fmt.Errorf("%w: the snapshot is in format version %d, this build reads version %d only; "+
			"restore it with a matching build or remove it", ErrUnsupportedVersion, v, FormatVersion)
	}
	kind, err := sr.record()
	if err != nil {
		return nil, err
	}
	if kind != kindHeader {
		return nil, fmt.Errorf("%w: first record is of kind %d, not a header", ErrCorrupt, kind)
	}
	ms, n := binary.Varint(sr.payload)
	if n <= 0 {
		return nil, fmt.Errorf("%w: bad header record", ErrCorrupt)
	}
	sr.created = time.UnixMilli(ms)
	if rest := sr.payload[n:]; len(rest) > 0 {
		seq, k := binary.Uvarint(rest)
		if k <= 0 {
			return nil, fmt.Errorf("%w: bad sequence in header record", ErrCorrupt)
		}
		sr.seq = seq
	}
	return sr, nil
}

// Created returns the time the snapshot was started.
func (r *Reader) Created() time.Time { return r.created }

// Seq returns the snapshot's sequence number; 0 for one written without.
func (r *Reader) Seq() uint64 { return r.seq }

// Next returns the next series and its blob, or io.EOF after the last one
// of a complete snapshot. With decode false it only checks the record's
// framing and checksum and returns an empty SeriesState: a cheap pass that
// tells whether the whole snapshot is intact. The returned values and blob
// are owned by the caller.
func (r *Reader) Next(decode bool) (ring.SeriesState, []byte, error) {
	if r.done {
		return ring.SeriesState{}, nil, io.EOF
	}
	kind, err := r.record()
	if err != nil {
		return ring.SeriesState{}, nil, err
	}
	switch kind {
	case kindSeries:
		r.series++
		if !decode {
			return ring.SeriesState{}, nil, nil
		}
		st, extra, err := decodeSeries(r.payload)
		if err != nil {
			return ring.SeriesState{}, nil, fmt.Errorf("%w: series record %d: %w", ErrCorrupt, r.series, err)
		}
		return st, extra, nil
	case kindEnd:
		n, k := binary.Uvarint(r.payload)
		if k <= 0 || k != len(r.payload) || n != r.series {
			return ring.SeriesState{}, nil, fmt.Errorf("%w: end record counts %d series, read %d", ErrCorrupt, n, r.series)
		}
		if _, err := r.r.ReadByte(); err != io.EOF {
			return ring.SeriesState{}, nil, fmt.Errorf("%w: data after the end record", ErrCorrupt)
		}
		r.done = true
		return ring.SeriesState{}, nil, io.EOF
	}
	return ring.SeriesState{}, nil, fmt.Errorf("%w: record of unknown kind %d", ErrCorrupt, kind)
}

// record reads one record into r.payload and returns its kind.
func (r *Reader) record() (byte, error) {
	kind, err := r.r.ReadByte()
	if err != nil {
		return 0, fmt.Errorf("%w: missing end record: %w", ErrCorrupt, err)
	}
	size, err := binary.ReadUvarint(r.r)
	if err != nil {
		return 0, fmt.Errorf("%w: read record length: %w", ErrCorrupt, err)
	}
	if size > maxRecord {
		return 0, fmt.Errorf("%w: record of %d bytes exceeds %d", ErrCorrupt, size, maxRecord)
	}
	if uint64(cap(r.payload)) < size {
		r.payload = make([]byte, size)
	}
	r.payload = r.payload[:size]
	if _, err := io.ReadFull(r.r, r.payload); err != nil {
		return 0, fmt.Errorf("%w: read record: %w", ErrCorrupt, err)
	}
	var sum [4]byte
	if _, err := io.ReadFull(r.r, sum[:]); err != nil {
		return 0, fmt.Errorf("%w: read checksum: %w", ErrCorrupt, err)
	}
	var head [1 + binary.MaxVarintLen64]byte
	head[0] = kind
	n := 1 + binary.PutUvarint(head[1:], size)
	crc := crc32.Update(0, castagnoli, head[:n])
	crc = crc32.Update(crc, castagnoli, r.payload)
	if crc != binary.LittleEndian.Uint32(sum[:]) {
		return 0, fmt.Errorf("%w: checksum mismatch in record %d", ErrCorrupt, r.series+1)
	}
	return kind, nil
}

// decoder reads the fields of one record, remembering the first error.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad uvarint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes(n uint64) []byte {
	if n > uint64(len(d.b)) {
		d.fail("field longer than the record")
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) fail(msg string) {
	if d.err == nil {
		d.err = errors.New(msg)
	}
	d.b = nil
}

func decodeSeries(p []byte) (ring.SeriesState, []byte, error) {
	d := &decoder{b: p}
	var st ring.SeriesState
	nl := d.uvarint()
	if nl > uint64(len(p)) {
		return st, nil, errors.New("label count exceeds the record")
	}
	lb := labels.NewScratchBuilder(int(nl))
	for range nl {
		name := d.bytes(d.uvarint())
		value := d.bytes(d.uvarint())
		lb.Add(string(name), string(value))
	}
	st.Labels = lb.Labels()
	stepMs, windowMs := d.uvarint(), d.uvarint()
	agg := d.bytes(1)
	if d.err != nil {
		return st, nil, d.err
	}
	if stepMs > math.MaxInt64/uint64(time.Millisecond) || windowMs > math.MaxInt64/uint64(time.Millisecond) {
		return st, nil, errors.New("grid out of range")
	}
	st.Options = ring.Options{
		Step:      time.Duration(stepMs) * time.Millisecond,
		Window:    time.Duration(windowMs) * time.Millisecond,
		Aggregate: ring.Aggregation(agg[0]),
	}
	st.Start = d.varint()
	st.LastT = d.varint()
	if sum := d.bytes(8); len(sum) == 8 {
		st.OpenSum = math.Float64frombits(binary.LittleEndian.Uint64(sum))
	}
	st.OpenCount = d.varint()
	n := d.uvarint()
	enc := d.bytes(d.uvarint())
	if d.err != nil {
		return st, nil, d.err
	}
	// Every value takes at least one bit.
	if n > uint64(len(enc))*8+1 || n > uint64(st.Options.Capacity()) {
		return st, nil, fmt.Errorf("%d values cannot be in %d bytes or %d cells", n, len(enc), st.Options.Capacity())
	}
	vals, used, err := valenc.Decode(nil, enc, int(n))
	if err != nil {
		return st, nil, err
	}
	if used != len(enc) {
		return st, nil, errors.New("trailing bytes after the values")
	}
	st.Values = vals
	extra := d.bytes(d.uvarint())
	if d.err != nil {
		return st, nil, d.err
	}
	if len(d.b) != 0 {
		return st, nil, errors.New("trailing bytes in the record")
	}
	if len(extra) > 0 {
		extra = append([]byte(nil), extra...)
	}
	if err := st.Validate(); err != nil {
		return st, nil, err
	}
	return st, extra, nil
}
