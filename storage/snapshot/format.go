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

	"github.com/train-prometheus/train-prometheus/internal/encoding"
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
	enc    encoding.Encbuf // the record being written
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
	sw.enc.PutVarint64(created.UnixMilli())
	if seq > 0 {
		sw.enc.PutUvarint64(seq)
	}
	if err := sw.record(kindHeader); err != nil {
		return nil, err
	}
	return sw, nil
}

// Add writes one series and the caller's blob for it.
func (w *Writer) Add(st ring.SeriesState, extra []byte) error {
	e := &w.enc
	e.Reset()
	e.PutUvarint64(uint64(st.Labels.Len()))
	st.Labels.Range(func(l labels.Label) {
		e.PutUvarintStr(l.Name)
		e.PutUvarintStr(l.Value)
	})
	e.PutUvarint64(uint64(st.Options.Step.Milliseconds()))
	e.PutUvarint64(uint64(st.Options.Window.Milliseconds()))
	e.PutByte(byte(st.Options.Aggregate))
	e.PutVarint64(st.Start)
	e.PutVarint64(st.LastT)
	e.PutFloat64(st.OpenSum)
	e.PutVarint64(st.OpenCount)
	e.PutUvarint64(uint64(len(st.Values)))
	// The compressed values are written after a length placeholder of the
	// largest size, then moved down: one pass, no second buffer.
	lenAt := e.Len()
	e.B = append(e.B, make([]byte, binary.MaxVarintLen64)...)
	e.B = valenc.Append(e.B, st.Values)
	n := e.Len() - lenAt - binary.MaxVarintLen64
	k := binary.PutUvarint(e.B[lenAt:], uint64(n))
	e.B = append(e.B[:lenAt+k], e.B[lenAt+binary.MaxVarintLen64:]...)
	e.PutUvarintBytes(extra)
	if e.Len() > maxRecord {
		return fmt.Errorf("write series %s: record of %d bytes exceeds %d", st.Labels, e.Len(), maxRecord)
	}
	w.series++
	return w.record(kindSeries)
}

// Close writes the end record and flushes. It does not close the
// underlying writer.
func (w *Writer) Close() error {
	w.enc.Reset()
	w.enc.PutUvarint64(w.series)
	if err := w.record(kindEnd); err != nil {
		return err
	}
	return w.w.Flush()
}

// record writes w.enc as a record of the given kind.
func (w *Writer) record(kind byte) error {
	if w.err != nil {
		return w.err
	}
	var hb [1 + binary.MaxVarintLen64]byte
	var sb [4]byte
	head := recordHead(hb[:0], kind, uint64(w.enc.Len()))
	sum := encoding.Encbuf{B: sb[:0]}
	sum.PutLE32(crc32.Update(crc32.Update(0, castagnoli, head), castagnoli, w.enc.Get()))
	for _, p := range [][]byte{head, w.enc.Get(), sum.Get()} {
		if _, err := w.w.Write(p); err != nil {
			w.err = fmt.Errorf("write snapshot: %w", err)
			return w.err
		}
	}
	return nil
}

// recordHead appends a record's kind and payload size to dst: what its
// checksum covers before the payload.
func recordHead(dst []byte, kind byte, size uint64) []byte {
	e := encoding.Encbuf{B: dst}
	e.PutByte(kind)
	e.PutUvarint64(size)
	return e.Get()
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
	d := encoding.Decbuf{B: sr.payload}
	sr.created = time.UnixMilli(d.Varint64())
	if d.Err() != nil {
		return nil, fmt.Errorf("%w: bad header record: %w", ErrCorrupt, d.Err())
	}
	if d.Len() > 0 {
		sr.seq = d.Uvarint64()
		if d.Err() != nil {
			return nil, fmt.Errorf("%w: bad sequence in header record: %w", ErrCorrupt, d.Err())
		}
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
		d := encoding.Decbuf{B: r.payload}
		n := d.Uvarint64()
		if d.Err() != nil || d.Len() != 0 || n != r.series {
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
	var hb [1 + binary.MaxVarintLen64]byte
	head := recordHead(hb[:0], kind, size)
	want := encoding.Decbuf{B: sum[:]}
	if crc32.Update(crc32.Update(0, castagnoli, head), castagnoli, r.payload) != want.LE32() {
		return 0, fmt.Errorf("%w: checksum mismatch in record %d", ErrCorrupt, r.series+1)
	}
	return kind, nil
}

func decodeSeries(p []byte) (ring.SeriesState, []byte, error) {
	d := encoding.Decbuf{B: p}
	var st ring.SeriesState
	nl := d.Uvarint64()
	if nl > uint64(len(p)) {
		return st, nil, errors.New("label count exceeds the record")
	}
	lb := labels.NewScratchBuilder(int(nl))
	for range nl {
		name := d.UvarintStr()
		lb.Add(name, d.UvarintStr())
	}
	st.Labels = lb.Labels()
	stepMs, windowMs := d.Uvarint64(), d.Uvarint64()
	agg := d.Byte()
	if d.Err() != nil {
		return st, nil, d.Err()
	}
	if stepMs > math.MaxInt64/uint64(time.Millisecond) || windowMs > math.MaxInt64/uint64(time.Millisecond) {
		return st, nil, errors.New("grid out of range")
	}
	st.Options = ring.Options{
		Step:      time.Duration(stepMs) * time.Millisecond,
		Window:    time.Duration(windowMs) * time.Millisecond,
		Aggregate: ring.Aggregation(agg),
	}
	st.Start = d.Varint64()
	st.LastT = d.Varint64()
	st.OpenSum = d.Float64()
	st.OpenCount = d.Varint64()
	n := d.Uvarint64()
	enc := d.UvarintBytes()
	if d.Err() != nil {
		return st, nil, d.Err()
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
	extra := d.UvarintBytes()
	if d.Err() != nil {
		return st, nil, d.Err()
	}
	if d.Len() != 0 {
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
