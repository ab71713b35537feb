package distributor

import (
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/strataobs/strata/ingester/client"
	pb "github.com/strataobs/strata/proto/strata/v1"
)

// The log stream encoder below writes the bytes proto.Marshal writes for a LogStream
// without its placement, field by field: through reflection, and checking every string
// for valid UTF-8 a second time after the validator had, proto.Marshal cost 800 ns per
// record on the OTLP hot path, as much as converting the record. Field numbers are those of
// proto/strata/v1/ingester.proto; TestLogWireMatchesProtoMarshal holds the bytes to
// proto.Marshal's, and the ingester's scan (ingester/held.go) checks what it receives.

// Field numbers of LogStream, Label, LogRecord and Attr.
const (
	wStreamID      = 1
	wStreamLabels  = 2
	wStreamRecords = 3

	wLabelName  = 1
	wLabelValue = 2

	wLogID           = 1
	wLogTime         = 2
	wLogObserved     = 3
	wLogSeverityNum  = 4
	wLogSeverityText = 5
	wLogLevel        = 6
	wLogBody         = 7
	wLogTraceID      = 8
	wLogSpanID       = 9
	wLogFlags        = 10
	wLogAttributes   = 11
	wLogResource     = 12
	wLogScopeName    = 13
	wLogScopeVersion = 14
	wLogEventName    = 15

	wAttrKey   = 1
	wAttrValue = 2
	wAttrType  = 3
)

// Every field number above is below 16, so each tag is one byte.
const tagLen = 1

func sizeString(s string) int {
	if s == "" {
		return 0
	}
	return tagLen + protowire.SizeBytes(len(s))
}

func sizeBytesField(b []byte) int {
	if len(b) == 0 {
		return 0
	}
	return tagLen + protowire.SizeBytes(len(b))
}

func sizeVarintField(v uint64) int {
	if v == 0 {
		return 0
	}
	return tagLen + protowire.SizeVarint(v)
}

// appendTag writes a tag and appendUvarint a varint, inline when they are one byte (every
// tag here, most lengths): through protowire's general AppendVarint, two calls a field
// were a twentieth of the encoding.
func appendTag(b []byte, num protowire.Number, typ protowire.Type) []byte {
	if num < 16 {
		return append(b, byte(num)<<3|byte(typ))
	}
	return protowire.AppendTag(b, num, typ)
}

func appendUvarint(b []byte, v uint64) []byte {
	if v < 0x80 {
		return append(b, byte(v))
	}
	return protowire.AppendVarint(b, v)
}

func appendString(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = appendUvarint(appendTag(b, num, protowire.BytesType), uint64(len(s)))
	return append(b, s...)
}

func appendBytesField(b []byte, num protowire.Number, v []byte) []byte {
	if len(v) == 0 {
		return b
	}
	b = appendUvarint(appendTag(b, num, protowire.BytesType), uint64(len(v)))
	return append(b, v...)
}

func appendVarintField(b []byte, num protowire.Number, v uint64) []byte {
	if v == 0 {
		return b
	}
	return appendUvarint(appendTag(b, num, protowire.VarintType), v)
}

func appendMessageHeader(b []byte, num protowire.Number, size int) []byte {
	return appendUvarint(appendTag(b, num, protowire.BytesType), uint64(size))
}

func sizeAttr(a *pb.Attr) int {
	return sizeString(a.Key) + sizeString(a.Value) + sizeVarintField(uint64(a.Type))
}

func sizeLogRecord(r *pb.LogRecord) int {
	n := 0
	if r.Id != 0 {
		n += tagLen + 8
	}
	n += sizeVarintField(uint64(r.Timestamp)) + sizeVarintField(uint64(r.ObservedTimestamp)) +
		sizeVarintField(uint64(r.SeverityNumber)) + sizeString(r.SeverityText) + sizeString(r.Level) +
		sizeString(r.Body) + sizeBytesField(r.TraceId) + sizeBytesField(r.SpanId) + sizeVarintField(uint64(r.Flags))
	for _, a := range r.Attributes {
		n += tagLen + protowire.SizeBytes(sizeAttr(a))
	}
	return n + sizeVarintField(uint64(r.Resource)) + sizeString(r.ScopeName) + sizeString(r.ScopeVersion) + sizeString(r.EventName)
}

func appendLogRecord(b []byte, r *pb.LogRecord) []byte {
	if r.Id != 0 {
		b = appendTag(b, wLogID, protowire.Fixed64Type)
		b = protowire.AppendFixed64(b, r.Id)
	}
	b = appendVarintField(b, wLogTime, uint64(r.Timestamp))
	b = appendVarintField(b, wLogObserved, uint64(r.ObservedTimestamp))
	b = appendVarintField(b, wLogSeverityNum, uint64(r.SeverityNumber))
	b = appendString(b, wLogSeverityText, r.SeverityText)
	b = appendString(b, wLogLevel, r.Level)
	b = appendString(b, wLogBody, r.Body)
	b = appendBytesField(b, wLogTraceID, r.TraceId)
	b = appendBytesField(b, wLogSpanID, r.SpanId)
	b = appendVarintField(b, wLogFlags, uint64(r.Flags))
	for _, a := range r.Attributes {
		b = appendMessageHeader(b, wLogAttributes, sizeAttr(a))
		b = appendString(b, wAttrKey, a.Key)
		b = appendString(b, wAttrValue, a.Value)
		b = appendVarintField(b, wAttrType, uint64(a.Type))
	}
	b = appendVarintField(b, wLogResource, uint64(r.Resource))
	b = appendString(b, wLogScopeName, r.ScopeName)
	b = appendString(b, wLogScopeVersion, r.ScopeVersion)
	return appendString(b, wLogEventName, r.EventName)
}

func sizeLabel(l *pb.Label) int { return sizeString(l.Name) + sizeString(l.Value) }

// sizeLogStream is the size of s's encoding without its placement. With sizes (one
// per record) it also gives each record's size, for appendLogStream.
func sizeLogStream(s *pb.LogStream, sizes []int) int {
	n := 0
	if s.StreamId != 0 {
		n += tagLen + 8
	}
	for _, l := range s.Labels {
		n += tagLen + protowire.SizeBytes(sizeLabel(l))
	}
	for k, r := range s.Records {
		m := sizeLogRecord(r)
		if sizes != nil {
			sizes[k] = m
		}
		n += tagLen + protowire.SizeBytes(m)
	}
	return n
}

// appendLogStream appends s without its placement, its records' sizes taken from sizes
// when given (sizeLogStream). With loc, b holds loc's request from its first byte, and
// each record's place in it is added to loc.Records as a record of loc's last stream.
func appendLogStream(b []byte, s *pb.LogStream, sizes []int, loc *client.LocatedPush) []byte {
	if s.StreamId != 0 {
		b = appendTag(b, wStreamID, protowire.Fixed64Type)
		b = protowire.AppendFixed64(b, s.StreamId)
	}
	for _, l := range s.Labels {
		b = appendMessageHeader(b, wStreamLabels, sizeLabel(l))
		b = appendString(b, wLabelName, l.Name)
		b = appendString(b, wLabelValue, l.Value)
	}
	for k, r := range s.Records {
		var n int
		if sizes != nil {
			n = sizes[k]
		} else {
			n = sizeLogRecord(r)
		}
		b = appendMessageHeader(b, wStreamRecords, n)
		if loc != nil {
			loc.Records = append(loc.Records, client.LocatedRecord{
				Off: uint32(len(b)), Len: uint32(n), Stream: uint32(len(loc.Streams) - 1),
				Resource: r.Resource, ID: r.Id, Time: r.Timestamp,
			})
		}
		b = appendLogRecord(b, r)
	}
	return b
}
