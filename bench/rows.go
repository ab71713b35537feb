package bench

import (
	"encoding/binary"
	"sort"
	"strconv"
	"strings"

	"github.com/cespare/xxhash/v2"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/strataobs/strata/limits"
	pb "github.com/strataobs/strata/proto/strata/v1"
	"github.com/strataobs/strata/storage/clickhouse"
)

// Rows is logs in the shape an ingester holds them: per-resource Resource, per-stream
// LogStream and LogRecords with ids, ready for clickhouse.LogBatch.Add.
type Rows struct {
	Tenant string
	rows   []row
}

type row struct {
	stream *pb.LogStream
	res    *pb.Resource
	rec    *pb.LogRecord
}

// Len is the number of records.
func (r *Rows) Len() int { return len(r.rows) }

// AppendTo adds every record to b as the ingester's flush does.
func (r *Rows) AppendTo(b *clickhouse.LogBatch, retentionDays uint16, flushID uint64) {
	for _, x := range r.rows {
		b.Add(r.Tenant, retentionDays, flushID, x.stream, x.res, x.rec)
	}
}

var indexLabels = func() map[string]string {
	m := map[string]string{}
	for _, k := range strings.Split(limits.DefaultIndexLabels, ",") {
		m[k] = strings.ReplaceAll(k, ".", "_")
	}
	return m
}()

// ToRows converts logs the way the distributor does for the default limits (index labels
// form the stream, attributes sorted by key, normalised level) closely enough that the
// stored rows have the same shape. Record ids are derived from idSeed and the position,
// so every call with a new seed yields distinct rows.
func ToRows(tenant string, ld plog.Logs, idSeed uint64) *Rows {
	out := &Rows{Tenant: tenant}
	streams := map[uint64]*pb.LogStream{}
	var n uint64
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		res := &pb.Resource{Attributes: toAttrs(rl.Resource().Attributes()), ServiceName: "unknown_service"}
		var labels []*pb.Label
		for _, a := range res.Attributes {
			if a.Key == "service.name" {
				res.ServiceName = a.Value
			}
			if name, ok := indexLabels[a.Key]; ok && a.Value != "" {
				labels = append(labels, &pb.Label{Name: name, Value: a.Value})
			}
		}
		sort.Slice(labels, func(i, j int) bool { return labels[i].Name < labels[j].Name })
		h := xxhash.New()
		h.WriteString(tenant)
		for _, l := range labels {
			h.WriteString("\xff" + l.Name + "\xfe" + l.Value)
		}
		sid := h.Sum64()
		st := streams[sid]
		if st == nil {
			st = &pb.LogStream{StreamId: sid, Labels: labels}
			streams[sid] = st
		}
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			sl := sls.At(j)
			for k := 0; k < sl.LogRecords().Len(); k++ {
				lr := sl.LogRecords().At(k)
				tid, spid := lr.TraceID(), lr.SpanID()
				rec := &pb.LogRecord{
					Id:                recordID(idSeed, n),
					Timestamp:         int64(lr.Timestamp()),
					ObservedTimestamp: int64(lr.ObservedTimestamp()),
					SeverityNumber:    uint32(lr.SeverityNumber()),
					SeverityText:      lr.SeverityText(),
					Level:             strings.ToLower(lr.SeverityText()),
					Body:              lr.Body().Str(),
					Flags:             uint32(lr.Flags()),
					Attributes:        toAttrs(lr.Attributes()),
					ScopeName:         sl.Scope().Name(),
					ScopeVersion:      sl.Scope().Version(),
				}
				if !tid.IsEmpty() {
					rec.TraceId, rec.SpanId = append([]byte(nil), tid[:]...), append([]byte(nil), spid[:]...)
				}
				out.rows = append(out.rows, row{stream: st, res: res, rec: rec})
				n++
			}
		}
	}
	return out
}

func recordID(seed, n uint64) uint64 {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], seed)
	binary.LittleEndian.PutUint64(b[8:], n)
	return xxhash.Sum64(b[:])
}

func toAttrs(m pcommon.Map) []*pb.Attr {
	out := make([]*pb.Attr, 0, m.Len())
	m.Range(func(k string, v pcommon.Value) bool {
		a := &pb.Attr{Key: k, Value: v.AsString(), Type: pb.AttrType_ATTR_TYPE_STRING}
		switch v.Type() {
		case pcommon.ValueTypeInt:
			a.Type, a.Value = pb.AttrType_ATTR_TYPE_INT, strconv.FormatInt(v.Int(), 10)
		case pcommon.ValueTypeDouble:
			a.Type = pb.AttrType_ATTR_TYPE_DOUBLE
		case pcommon.ValueTypeBool:
			a.Type = pb.AttrType_ATTR_TYPE_BOOL
		}
		out = append(out, a)
		return true
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}
