package ingester

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"
	"unsafe"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/strataobs/strata/ingester/client"
	pb "github.com/strataobs/strata/proto/strata/v1"
)

// heldPush is one push request as the WAL holds it. Its records stay encoded until a
// flush or a query needs them: decoded, every held record was a dozen small objects
// that each garbage collection scanned again (a quarter to a third of an all-in-one
// process's CPU), and an RF=3 cluster decoded each record three times to flush it once.
// What many records share (tenant, resources, stream labels, placements) is decoded.
type heldPush struct {
	raw       []byte // the marshalled PushRequest
	own       bool   // raw is this push's memory alone, to reuse once it retires
	tenant    string
	resources []*pb.Resource
	streams   []*pb.LogStream // labels, id and placement of its streams; no records
	traces    []*pb.Trace     // trace id and placement of its traces; no spans
}

// Field numbers of the messages scanned here (proto/strata/v1/ingester.proto).
const (
	fPushTenant    = 1
	fPushResources = 2
	fPushStreams   = 3
	fPushTraces    = 4

	fStreamID        = 1
	fStreamLabels    = 2
	fStreamRecords   = 3
	fStreamPlacement = 4

	fLogID       = 1
	fLogTime     = 2
	fLogResource = 12

	fTraceID        = 1
	fTraceSpans     = 2
	fTracePlacement = 3

	fSpanID       = 1
	fSpanStart    = 8
	fSpanResource = 15
)

var (
	logRecordDesc = (&pb.LogRecord{}).ProtoReflect().Descriptor()
	spanDesc      = (&pb.Span{}).ProtoReflect().Descriptor()
)

var errTruncated = errors.New("truncated or malformed protobuf")

// minEncodedRecord is the size of a short encoded log record with its framing (an id,
// times, a level, a body of some 60 bytes, a trace context); smaller ones grow the slices.
const minEncodedRecord = 160

// scannedPush is a push request with its records located, not decoded.
type scannedPush struct {
	push  *heldPush
	logs  []logEntry // state pending, push 0
	spans []spanEntry
}

// scanPush reads raw (a marshalled PushRequest) the way proto.Unmarshal would, and
// refuses what it would refuse (bad wire format, invalid UTF-8 in a string field), but
// keeps each record as its bytes in raw. raw must not change afterwards.
func scanPush(raw []byte) (*scannedPush, error) {
	// Sized for records of minEncodedRecord bytes, so that the slices seldom grow: grown
	// by append they were a tenth of an RF=3 ingester's CPU, most of it fresh memory
	// faulted in.
	guess := len(raw)/minEncodedRecord + 1
	sp := &scannedPush{push: &heldPush{raw: raw}, logs: make([]logEntry, 0, guess)}
	off := 0
	for off < len(raw) {
		num, typ, v, n, err := nextField(raw[off:])
		if err != nil {
			return nil, err
		}
		start := off + n - len(v)
		off += n
		if typ != protowire.BytesType {
			continue
		}
		switch num {
		case fPushTenant:
			if !utf8.Valid(v) {
				return nil, errors.New("tenant is not valid UTF-8")
			}
			sp.push.tenant = string(v)
		case fPushResources:
			r := &pb.Resource{}
			if err := proto.Unmarshal(v, r); err != nil {
				return nil, fmt.Errorf("resource: %w", err)
			}
			sp.push.resources = append(sp.push.resources, r)
		case fPushStreams:
			if err := sp.scanStream(v, start); err != nil {
				return nil, err
			}
		case fPushTraces:
			if err := sp.scanTrace(v, start); err != nil {
				return nil, err
			}
		}
	}
	return sp, nil
}

// locatedPush is scanPush for a request whose writer located its records: only its
// head (tenant and resources, a PushRequest of its own) is read.
func locatedPush(lp *client.LocatedPush) (*scannedPush, error) {
	sp, err := scanPush(lp.Raw[:lp.HeadLen])
	if err != nil {
		return nil, err
	}
	sp.push.raw, sp.push.streams, sp.push.own = lp.Raw, lp.Streams, true
	sp.logs = make([]logEntry, len(lp.Records))
	for k, r := range lp.Records {
		sp.logs[k] = logEntry{stream: r.Stream, res: r.Resource, id: r.ID, ts: r.Time, off: r.Off, n: r.Len}
	}
	return sp, nil
}

// scanStream reads one LogStream whose bytes v start at base in the push.
func (sp *scannedPush) scanStream(v []byte, base int) error {
	meta := &pb.LogStream{}
	stream := uint32(len(sp.push.streams))
	sp.push.streams = append(sp.push.streams, meta)
	off := 0
	for off < len(v) {
		num, typ, fv, n, err := nextField(v[off:])
		if err != nil {
			return err
		}
		start := base + off + n - len(fv)
		off += n
		switch {
		case num == fStreamID && typ == protowire.Fixed64Type:
			meta.StreamId, _ = protowire.ConsumeFixed64(fv)
		case num == fStreamLabels && typ == protowire.BytesType:
			l := &pb.Label{}
			if err := proto.Unmarshal(fv, l); err != nil {
				return fmt.Errorf("stream label: %w", err)
			}
			meta.Labels = append(meta.Labels, l)
		case num == fStreamPlacement && typ == protowire.BytesType:
			if err := mergePlacement(&meta.Placement, fv); err != nil {
				return fmt.Errorf("stream placement: %w", err)
			}
		case num == fStreamRecords && typ == protowire.BytesType:
			le := logEntry{stream: stream, off: uint32(start), n: uint32(len(fv))}
			r, err := scanRecord(fv, logShape, fLogID, fLogTime, fLogResource, &le.id, &le.ts)
			if err != nil {
				return fmt.Errorf("log record: %w", err)
			}
			le.res = r
			sp.logs = append(sp.logs, le)
		}
	}
	return nil
}

// scanTrace reads one Trace whose bytes v start at base in the push.
func (sp *scannedPush) scanTrace(v []byte, base int) error {
	meta := &pb.Trace{}
	trace := uint32(len(sp.push.traces))
	sp.push.traces = append(sp.push.traces, meta)
	off := 0
	for off < len(v) {
		num, typ, fv, n, err := nextField(v[off:])
		if err != nil {
			return err
		}
		start := base + off + n - len(fv)
		off += n
		if typ != protowire.BytesType {
			continue
		}
		switch num {
		case fTraceID:
			meta.TraceId = append([]byte(nil), fv...)
		case fTracePlacement:
			if err := mergePlacement(&meta.Placement, fv); err != nil {
				return fmt.Errorf("trace placement: %w", err)
			}
		case fTraceSpans:
			se := spanEntry{trace: trace, off: uint32(start), n: uint32(len(fv))}
			r, err := scanRecord(fv, spanShape, fSpanID, fSpanStart, fSpanResource, &se.id, &se.ts)
			if err != nil {
				return fmt.Errorf("span: %w", err)
			}
			se.res = r
			sp.spans = append(sp.spans, se)
		}
	}
	return nil
}

// mergePlacement decodes a placement field into *p as proto.Unmarshal does: a message
// field that occurs twice is merged.
func mergePlacement(p **pb.Placement, b []byte) error {
	if *p == nil {
		*p = &pb.Placement{}
	}
	return proto.UnmarshalOptions{Merge: true}.Unmarshal(b, *p)
}

// scanRecord checks a LogRecord or Span (shape) as validUTF8 does and, in the same pass,
// reads its id, time and resource index from the given fields.
func scanRecord(b []byte, shape *msgShape, fID, fTime, fRes protowire.Number, id *uint64, ts *int64) (uint32, error) {
	var res uint32
	for len(b) > 0 {
		num, typ, v, n, err := nextField(b)
		if err != nil {
			return 0, err
		}
		b = b[n:]
		switch typ {
		case protowire.Fixed64Type:
			if num == fID {
				*id = binary.LittleEndian.Uint64(v)
			}
		case protowire.VarintType:
			switch num {
			case fTime:
				x, _ := protowire.ConsumeVarint(v)
				*ts = int64(x)
			case fRes:
				x, _ := protowire.ConsumeVarint(v)
				res = uint32(x)
			}
		case protowire.BytesType:
			if err := shape.check(num, v); err != nil {
				return 0, err
			}
		}
	}
	return res, nil
}

// nextField reads the field at the start of b: its number, wire type, value (for the
// bytes type, the contents without the length) and total length.
func nextField(b []byte) (protowire.Number, protowire.Type, []byte, int, error) {
	var (
		num protowire.Number
		typ protowire.Type
		n   int
	)
	if len(b) > 0 && b[0] < 0x80 {
		// A one-byte tag (field numbers below 16), as nearly every tag here is: decoded
		// in place, where protowire.ConsumeTag's general varint decoding was a third of
		// a scan's time.
		num, typ, n = protowire.Number(b[0]>>3), protowire.Type(b[0]&7), 1
	} else {
		num, typ, n = protowire.ConsumeTag(b)
	}
	if n < 0 || !num.IsValid() {
		return 0, 0, nil, 0, errTruncated
	}
	rest := b[n:]
	switch typ {
	case protowire.VarintType:
		_, m := protowire.ConsumeVarint(rest)
		if m < 0 {
			return 0, 0, nil, 0, errTruncated
		}
		return num, typ, rest[:m], n + m, nil
	case protowire.Fixed64Type:
		if len(rest) < 8 {
			return 0, 0, nil, 0, errTruncated
		}
		return num, typ, rest[:8], n + 8, nil
	case protowire.Fixed32Type:
		if len(rest) < 4 {
			return 0, 0, nil, 0, errTruncated
		}
		return num, typ, rest[:4], n + 4, nil
	case protowire.BytesType:
		var (
			l uint64
			m int
		)
		if len(rest) > 0 && rest[0] < 0x80 {
			l, m = uint64(rest[0]), 1
		} else {
			l, m = protowire.ConsumeVarint(rest)
		}
		if m < 0 || l > uint64(len(rest)-m) {
			return 0, 0, nil, 0, errTruncated
		}
		return num, typ, rest[m : m+int(l)], n + m + int(l), nil
	}
	m := protowire.ConsumeFieldValue(num, typ, rest)
	if m < 0 {
		return 0, 0, nil, 0, errTruncated
	}
	return num, typ, rest[:m], n + m, nil
}

// msgShape is what validUTF8 needs of a message: which length-delimited fields are
// strings and which are messages (and of what shape), by field number. Built from the
// generated descriptors once; a descriptor lookup per field cost a tenth of an RF=3
// ingester's CPU.
type msgShape struct {
	name    protoreflect.FullName
	strings []bool
	subs    []*msgShape
}

var (
	logShape  = shapeOf(logRecordDesc, map[protoreflect.FullName]*msgShape{})
	spanShape = shapeOf(spanDesc, map[protoreflect.FullName]*msgShape{})
)

func shapeOf(md protoreflect.MessageDescriptor, seen map[protoreflect.FullName]*msgShape) *msgShape {
	if s := seen[md.FullName()]; s != nil {
		return s
	}
	s := &msgShape{name: md.FullName()}
	seen[md.FullName()] = s
	fields := md.Fields()
	top := 0
	for k := range fields.Len() {
		top = max(top, int(fields.Get(k).Number()))
	}
	s.strings, s.subs = make([]bool, top+1), make([]*msgShape, top+1)
	for k := range fields.Len() {
		fd := fields.Get(k)
		switch fd.Kind() {
		case protoreflect.StringKind:
			s.strings[fd.Number()] = true
		case protoreflect.MessageKind:
			s.subs[fd.Number()] = shapeOf(fd.Message(), seen)
		}
	}
	return s
}

// check validates the length-delimited field num with contents v.
func (s *msgShape) check(num protowire.Number, v []byte) error {
	if int(num) >= len(s.strings) {
		return nil
	}
	if s.strings[num] {
		if !utf8.Valid(v) {
			return fmt.Errorf("a string field (%d) of %s is not valid UTF-8", num, s.name)
		}
	} else if sub := s.subs[num]; sub != nil {
		return validUTF8(v, sub)
	}
	return nil
}

// validUTF8 checks, as proto.Unmarshal does, that b is well-formed and that every string
// field of a message of this shape in it, nested messages included, is valid UTF-8.
func validUTF8(b []byte, s *msgShape) error {
	for len(b) > 0 {
		num, typ, v, n, err := nextField(b)
		if err != nil {
			return err
		}
		b = b[n:]
		if typ == protowire.BytesType {
			if err := s.check(num, v); err != nil {
				return err
			}
		}
	}
	return nil
}

func resourceIn(list []*pb.Resource, idx uint32) *pb.Resource {
	if int(idx) < len(list) {
		return list[idx]
	}
	return unknownResource
}

// unknownResource stands for a resource index out of range; it is never changed.
var unknownResource = &pb.Resource{ServiceName: "unknown_service"}

// record decodes the held log record.
func (le *heldLog) record() (*pb.LogRecord, error) {
	r := &pb.LogRecord{}
	if err := proto.Unmarshal(le.bytes(), r); err != nil {
		return nil, fmt.Errorf("decode held log record %016x: %w", le.id, err)
	}
	return r, nil
}

// decode decodes the held span.
func (se *heldSpan) decode() (*pb.Span, error) {
	s := &pb.Span{}
	if err := proto.Unmarshal(se.bytes(), s); err != nil {
		return nil, fmt.Errorf("decode held span %016x: %w", se.id, err)
	}
	return s, nil
}

// logDecoder decodes held log records for a query without allocating: the record and
// its attributes are reused from one call to the next, and strings alias the push's
// bytes, which never change. What it returns is valid until the next call. (A flush
// reads the bytes itself: LogBatch.AddEncoded.)
type logDecoder struct {
	rec   pb.LogRecord
	attrs []pb.Attr
	ptrs  []*pb.Attr
}

// Field numbers of LogRecord and Attr beyond those scanPush reads.
const (
	fLogObserved     = 3
	fLogSevNum       = 4
	fLogSevText      = 5
	fLogLevel        = 6
	fLogBody         = 7
	fLogTraceID      = 8
	fLogSpanID       = 9
	fLogFlags        = 10
	fLogAttributes   = 11
	fLogScopeName    = 13
	fLogScopeVersion = 14
	fLogEventName    = 15

	fAttrKey   = 1
	fAttrValue = 2
	fAttrType  = 3
)

func (d *logDecoder) decode(le *heldLog) (*pb.LogRecord, error) {
	b := le.bytes()
	r := &d.rec
	*r = pb.LogRecord{}
	d.ptrs = d.ptrs[:0]
	used := 0
	// Plain loops: a callback per field cost an eighth of the decoding.
	for len(b) > 0 {
		num, typ, v, n, err := nextField(b)
		if err != nil {
			return nil, fmt.Errorf("decode held log record %016x: %w", le.id, err)
		}
		b = b[n:]
		switch typ {
		case protowire.Fixed64Type:
			if num == fLogID {
				r.Id = binary.LittleEndian.Uint64(v)
			}
		case protowire.VarintType:
			x, _ := protowire.ConsumeVarint(v)
			switch num {
			case fLogTime:
				r.Timestamp = int64(x)
			case fLogObserved:
				r.ObservedTimestamp = int64(x)
			case fLogSevNum:
				r.SeverityNumber = uint32(x)
			case fLogFlags:
				r.Flags = uint32(x)
			case fLogResource:
				r.Resource = uint32(x)
			}
		case protowire.BytesType:
			switch num {
			case fLogSevText:
				r.SeverityText = alias(v)
			case fLogLevel:
				r.Level = alias(v)
			case fLogBody:
				r.Body = alias(v)
			case fLogTraceID:
				r.TraceId = v
			case fLogSpanID:
				r.SpanId = v
			case fLogScopeName:
				r.ScopeName = alias(v)
			case fLogScopeVersion:
				r.ScopeVersion = alias(v)
			case fLogEventName:
				r.EventName = alias(v)
			case fLogAttributes:
				if used == len(d.attrs) {
					d.attrs = append(d.attrs, make([]pb.Attr, len(d.attrs)+8)...)
					d.ptrs = d.ptrs[:0] // earlier pointers point into the old array
					for k := range used {
						d.ptrs = append(d.ptrs, &d.attrs[k])
					}
				}
				a := &d.attrs[used]
				used++
				a.Key, a.Value, a.Type = "", "", 0
				for len(v) > 0 {
					num, typ, av, n, err := nextField(v)
					if err != nil {
						return nil, fmt.Errorf("decode held log record %016x: %w", le.id, err)
					}
					v = v[n:]
					switch {
					case num == fAttrKey && typ == protowire.BytesType:
						a.Key = alias(av)
					case num == fAttrValue && typ == protowire.BytesType:
						a.Value = alias(av)
					case num == fAttrType && typ == protowire.VarintType:
						x, _ := protowire.ConsumeVarint(av)
						a.Type = pb.AttrType(int32(x))
					}
				}
				d.ptrs = append(d.ptrs, a)
			}
		}
	}
	if len(d.ptrs) > 0 {
		r.Attributes = d.ptrs
	}
	return r, nil
}

// alias is b as a string without copying; b must never change afterwards.
func alias(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
