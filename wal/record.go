package wal

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// headerSize is the record header: CRC-32C (4 bytes) then payload length
// (4 bytes), both little-endian.
const headerSize = 8

// A segment starts with a file header: fileMagic, then the segment's number
// (uint64, little-endian). Read as a record header, the magic's length field
// is over 4 GB, so an older reader takes such a file for damage rather than
// for records. Segments written before the header existed ("legacy") start
// with their first record and are still read.
const fileHeaderSize = 16

var fileMagic = [8]byte{'S', 'T', 'R', 'A', 'T', 'A', 'W', 0xff}

func appendFileHeader(dst []byte, seg int) []byte {
	dst = append(dst, fileMagic[:]...)
	return binary.LittleEndian.AppendUint64(dst, uint64(seg))
}

// segMask ties a record to its segment: a segment with a file header stores
// each record's checksum XOR its mask. A recycled segment file (see
// Config.RecycleSegments) still holds an earlier segment's records past the
// end of its own; their checksums match only under that segment's mask, so
// replay stops where this segment's records end. Masks are even and nonzero:
// no legacy record (mask 0) validates in a masked segment, and an all-zero
// header never does either (its checksum would have to be the odd CRC of a
// zero length field). Numbers are below 2^31 in practice, where masks are
// distinct.
func segMask(seg int) uint32 { return uint32(seg) << 1 }

// maskHeaders applies seg's mask to headers, one record header per
// headerSize bytes.
func maskHeaders(headers []byte, seg int) {
	m := segMask(seg)
	for i := 0; i+headerSize <= len(headers); i += headerSize {
		binary.LittleEndian.PutUint32(headers[i:], binary.LittleEndian.Uint32(headers[i:])^m)
	}
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errCorrupt marks a record that cannot be trusted; Replay turns it into a
// Corruption instead of failing.
var errCorrupt = errors.New("corrupt record")

// errStale marks a whole record of an earlier segment whose file this one
// recycled: the end of this segment's records, not damage.
var errStale = errors.New("record of a recycled segment")

// checksum covers the length field as well as the payload. Besides catching
// a damaged length directly, this makes an all-zero header invalid (the
// CRC-32C of an empty payload alone is 0), so a zero-filled tail is never
// read as a run of empty records.
func checksum(lengthField, payload []byte) uint32 {
	return crc32.Update(crc32.Checksum(lengthField, castagnoli), castagnoli, payload)
}

// appendHeader appends the header of a record whose payload is parts one
// after another to dst. It builds the header in dst itself: a local array
// would escape to the heap through crc32.
func appendHeader(dst []byte, parts ...[]byte) []byte {
	start := len(dst)
	dst = binary.LittleEndian.AppendUint32(dst, 0) // checksum, set below
	dst = binary.LittleEndian.AppendUint32(dst, uint32(payloadLen(parts)))
	sum := crc32.Checksum(dst[start+4:start+headerSize], castagnoli)
	for _, p := range parts {
		sum = crc32.Update(sum, castagnoli, p)
	}
	binary.LittleEndian.PutUint32(dst[start:], sum)
	return dst
}

// recordReader reads the records of one segment. A record is trusted only
// if it lies wholly inside the file and its checksum matches; anything else
// is errCorrupt, so garbage never causes a large allocation or a panic.
type recordReader struct {
	r    *bufio.Reader
	size int64 // file size
	off  int64 // offset of the next record
	seg  int   // the segment's number, for its mask; 0 for a legacy segment
	hdr  [headerSize]byte
	buf  []byte
}

// newRecordReader reads records from r, which is at offset off of a file of
// size bytes; seg is the segment whose mask the records carry, 0 for none.
func newRecordReader(r io.Reader, size, off int64, seg int) *recordReader {
	return &recordReader{r: bufio.NewReaderSize(r, 256<<10), size: size, off: off, seg: seg}
}

// next returns the next payload, valid until the following call; io.EOF at
// a clean end of the segment. On error, off stays at the start of the bad
// record: the end of the good prefix.
func (rr *recordReader) next() ([]byte, error) {
	if rr.off == rr.size {
		return nil, io.EOF
	}
	if rr.size-rr.off < headerSize {
		return nil, fmt.Errorf("%w: partial header of %d bytes", errCorrupt, rr.size-rr.off)
	}
	h := rr.hdr[:]
	if _, err := io.ReadFull(rr.r, h); err != nil {
		return nil, readErr(err)
	}
	n := int64(binary.LittleEndian.Uint32(h[4:]))
	if avail := rr.size - rr.off - headerSize; n > avail {
		return nil, fmt.Errorf("%w: length %d exceeds the %d bytes left", errCorrupt, n, avail)
	}
	payload, err := rr.readPayload(int(n))
	if err != nil {
		return nil, err
	}
	if x := checksum(h[4:], payload) ^ binary.LittleEndian.Uint32(h[:4]); x != segMask(rr.seg) {
		// A record of an earlier segment: only a number below this one's, as
		// a recycled file's can be; random damage matches one by chance once
		// in 2^32/seg.
		if old := int(x >> 1); rr.seg > 0 && x&1 == 0 && old > 0 && old < rr.seg {
			return nil, fmt.Errorf("%w: a record of segment %d", errStale, old)
		}
		return nil, fmt.Errorf("%w: checksum mismatch", errCorrupt)
	}
	rr.off += headerSize + n
	return payload, nil
}

func (rr *recordReader) readPayload(n int) ([]byte, error) {
	if cap(rr.buf) < n {
		rr.buf = make([]byte, n)
	}
	rr.buf = rr.buf[:n]
	if _, err := io.ReadFull(rr.r, rr.buf); err != nil {
		return nil, readErr(err)
	}
	return rr.buf, nil
}

// readErr maps a short read (the file shrank under us) to corruption and
// keeps real I/O errors, which must stop the replay.
func readErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: unexpected end of segment", errCorrupt)
	}
	return err
}
