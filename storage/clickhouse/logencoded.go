package clickhouse

import (
	"encoding/binary"
	"errors"

	"google.golang.org/protobuf/encoding/protowire"

	pb "github.com/strataobs/strata/proto/strata/v1"
)

// Rows from encoded records.
//
// An ingester holds each record as its pb.LogRecord wire bytes. Decoding those into a
// record for Add, then copying each field into its column, cost a flush 12% of an
// all-in-one process's CPU. A string field on the protobuf wire is a uvarint length and
// the bytes, which is how the native protocol sends a String too: AddEncoded reads each
// field once and appends a string field's length and bytes to its column as they are.

// Field numbers of pb.LogRecord and pb.Attr (proto/strata/v1/ingester.proto);
// TestAddEncodedMatchesAdd holds AddEncoded to Add on records proto.Marshal encoded.
const (
	encLogID           = 1
	encLogTime         = 2
	encLogObserved     = 3
	encLogSevNum       = 4
	encLogSevText      = 5
	encLogLevel        = 6
	encLogBody         = 7
	encLogTraceID      = 8
	encLogSpanID       = 9
	encLogFlags        = 10
	encLogAttributes   = 11
	encLogScopeName    = 13
	encLogScopeVersion = 14
	encLogEventName    = 15

	encAttrKey   = 1
	encAttrValue = 2
	encAttrType  = 3
)

var errEncodedRecord = errors.New("malformed encoded log record")

// wireField reads the field at the start of b: its number and wire type, its value (for
// the bytes type, with its length prefix, pre bytes long) and its total length; n < 0
// when b is malformed.
func wireField(b []byte) (num protowire.Number, typ protowire.Type, val []byte, pre, n int) {
	if len(b) > 0 && b[0] < 0x80 { // a one-byte tag, as every tag of these messages is
		num, typ, n = protowire.Number(b[0]>>3), protowire.Type(b[0]&7), 1
	} else {
		num, typ, n = protowire.ConsumeTag(b)
		if n < 0 {
			return 0, 0, nil, 0, -1
		}
	}
	rest := b[n:]
	var m int
	switch typ {
	case protowire.VarintType:
		if len(rest) > 0 && rest[0] < 0x80 {
			m = 1
		} else if _, m = protowire.ConsumeVarint(rest); m < 0 {
			return 0, 0, nil, 0, -1
		}
	case protowire.Fixed64Type:
		if m = 8; len(rest) < m {
			return 0, 0, nil, 0, -1
		}
	case protowire.BytesType:
		var l uint64
		if len(rest) > 0 && rest[0] < 0x80 {
			l, pre = uint64(rest[0]), 1
		} else if l, pre = protowire.ConsumeVarint(rest); pre < 0 {
			return 0, 0, nil, 0, -1
		}
		if l > uint64(len(rest)-pre) {
			return 0, 0, nil, 0, -1
		}
		m = pre + int(l)
	default:
		if m = protowire.ConsumeFieldValue(num, typ, rest); m < 0 {
			return 0, 0, nil, 0, -1
		}
	}
	return num, typ, rest[:m], pre, n + m
}

func wireVarint(v []byte) uint64 {
	x, _ := protowire.ConsumeVarint(v)
	return x
}

// encodedLog is a record's fields as AddEncoded reads them: strings as their length and
// bytes (nil when absent), ids as their bytes.
type encodedLog struct {
	id                 uint64
	ts, observed       int64
	sevNum             uint8
	flags              uint32
	sevText, level     []byte
	body               []byte
	traceID, spanID    []byte
	scopeName, version []byte
	evName             []byte
}

// parse reads rec into r, as proto.Unmarshal would: the last of a repeated scalar wins,
// and fields of another wire type than theirs, or unknown, are skipped. It encodes the
// record's attributes into attrs as it meets them and returns their run; a malformed
// record leaves attrs as it found them.
func (r *encodedLog) parse(rec []byte, attrs *wireAttrs) (attrRuns, error) {
	k, v, t := attrs.keys.from(), attrs.values.from(), attrs.types.from()
	n := 0
	for len(rec) > 0 {
		num, typ, val, pre, m := wireField(rec)
		if m < 0 {
			attrs.truncate(k, v, t)
			return attrRuns{}, errEncodedRecord
		}
		rec = rec[m:]
		switch typ {
		case protowire.Fixed64Type:
			if num == encLogID {
				r.id = binary.LittleEndian.Uint64(val)
			}
		case protowire.VarintType:
			switch num {
			case encLogTime:
				r.ts = int64(wireVarint(val))
			case encLogObserved:
				r.observed = int64(wireVarint(val))
			case encLogSevNum:
				r.sevNum = uint8(wireVarint(val))
			case encLogFlags:
				r.flags = uint32(wireVarint(val))
			}
		case protowire.BytesType:
			switch num {
			case encLogSevText:
				r.sevText = val
			case encLogLevel:
				r.level = val
			case encLogBody:
				r.body = val
			case encLogTraceID:
				r.traceID = val[pre:]
			case encLogSpanID:
				r.spanID = val[pre:]
			case encLogScopeName:
				r.scopeName = val
			case encLogScopeVersion:
				r.version = val
			case encLogEventName:
				r.evName = val
			case encLogAttributes:
				if !attrs.putEncoded(val[pre:]) {
					attrs.truncate(k, v, t)
					return attrRuns{}, errEncodedRecord
				}
				n++
			}
		}
	}
	return attrRuns{keys: attrs.keys.run(k), values: attrs.values.run(v), types: attrs.types.run(t), n: n}, nil
}

// AddEncoded appends one record given as its pb.LogRecord wire bytes, the row Add
// appends for the record they decode to. A malformed record appends nothing.
func (b *LogBatch) AddEncoded(tenant string, retentionDays uint16, flushID uint64, s *pb.LogStream, res *pb.Resource, rec []byte) error {
	var r encodedLog
	attrs, err := r.parse(rec, &b.attrs)
	if err != nil {
		return err
	}
	b.addPlace(tenant, retentionDays, flushID, s, res, r.id, r.ts, r.observed)
	b.sevNum = append(b.sevNum, r.sevNum)
	b.sevText.addEncoded(r.sevText)
	b.level.addEncoded(r.level)
	b.body.addEncoded(r.body)
	b.traceID.addHex(r.traceID)
	b.spanID.addHex(r.spanID)
	b.flags = append(b.flags, r.flags)
	b.attrs.addRow(attrs)
	b.res.add(res)
	b.scopeName.addEncoded(r.scopeName)
	b.scopeVersion.addEncoded(r.version)
	b.evName.addEncoded(r.evName)
	return nil
}
