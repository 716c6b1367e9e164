package remoteread

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// The framing of STREAMED_XOR_CHUNKS responses is Prometheus' (storage/remote
// chunked.go): every frame is the uvarint length of the message, its
// big-endian CRC-32 (Castagnoli) and the message. It is written here rather
// than imported because github.com/prometheus/prometheus/storage/remote
// pulls some 700 packages (OTLP, cloud auth) into the binary for 100 lines.

// castagnoli is built once: crc32.MakeTable is safe, but building it lazily
// races with other users of the package.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Errors of the frame reader.
var (
	// ErrFrameTooLarge is returned for a frame longer than the reader's limit.
	ErrFrameTooLarge = errors.New("frame exceeds the size limit")
	// ErrFrameChecksum is returned for a frame whose CRC does not match.
	ErrFrameChecksum = errors.New("frame checksum mismatch")
)

// frameReader reads length-delimited, checksummed frames.
type frameReader struct {
	r     *bufio.Reader
	limit uint64
	buf   []byte
}

func newFrameReader(r io.Reader, limit int) *frameReader {
	return &frameReader{r: bufio.NewReader(r), limit: uint64(limit)}
}

// next returns the next frame's message, valid until the following call,
// or io.EOF at a clean end of the stream. A stream cut inside a frame
// gives io.ErrUnexpectedEOF. Memory is bounded by the limit: the length is
// checked before anything is allocated.
func (fr *frameReader) next() ([]byte, error) {
	size, err := binary.ReadUvarint(fr.r)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("read frame length: %w", err)
	}
	if size > fr.limit {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, size, fr.limit)
	}
	var sum [4]byte
	if _, err := io.ReadFull(fr.r, sum[:]); err != nil {
		return nil, fmt.Errorf("read frame checksum: %w", unexpected(err))
	}
	if uint64(cap(fr.buf)) < size {
		fr.buf = make([]byte, size)
	}
	fr.buf = fr.buf[:size]
	if _, err := io.ReadFull(fr.r, fr.buf); err != nil {
		return nil, fmt.Errorf("read frame of %d bytes: %w", size, unexpected(err))
	}
	if crc32.Checksum(fr.buf, castagnoli) != binary.BigEndian.Uint32(sum[:]) {
		return nil, ErrFrameChecksum
	}
	return fr.buf, nil
}

func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// appendFrame appends msg as one frame to dst.
func appendFrame(dst, msg []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(msg)))
	dst = binary.BigEndian.AppendUint32(dst, crc32.Checksum(msg, castagnoli))
	return append(dst, msg...)
}
