package clickhouse

import (
	"slices"
	"strconv"
	"strings"

	"github.com/strataobs/strata/logql"
	pb "github.com/strataobs/strata/proto/strata/v1"
)

// LogRow is one stored log record as the query path sees it: the LogQL entry plus the
// record id that de-duplicates replicas and repeats.
type LogRow struct {
	ID    uint64
	Entry logql.Entry
}

// Structured metadata names that come from record fields rather than attributes, as
// Loki 3 names them for OTLP logs (pkg/loghttp/push/otlp.go) plus detected_level.
const (
	MetaDetectedLevel     = "detected_level"
	MetaTraceID           = "trace_id"
	MetaSpanID            = "span_id"
	MetaFlags             = "flags"
	MetaSeverityText      = "severity_text"
	MetaSeverityNumber    = "severity_number"
	MetaObservedTimestamp = "observed_timestamp"
	MetaScopeName         = "scope_name"
	MetaScopeVersion      = "scope_version"
)

// logFields are the per-record values structured metadata is built from; rows read from
// ClickHouse and records held by ingesters both fill one, so both sides of a query give
// identical entries.
type logFields struct {
	ts, observed            int64
	level, traceID, spanID  string
	sevText                 string
	sevNum                  uint8
	flags                   uint32
	labelKeys, labelValues  []string
	attrKeys, attrValues    []string
	scopeName, scopeVersion string
	resKeys, resValues      []string
}

// metadata builds the structured metadata of a record. When two sources give the same
// name, the first one here wins, and the SQL label lookup (labelValueSQL) follows the
// same order:
//
//  1. detected_level (the normalised level),
//  2. the record fields trace_id, span_id, flags, severity_text, severity_number,
//     observed_timestamp (when it differs from the timestamp, as Loki does),
//  3. log attributes,
//  4. scope_name, scope_version,
//  5. resource attributes that are not stream labels.
//
// Attribute keys become label names the way the distributor names stream labels
// (dots and other characters become "_"). Empty values are left out: in LogQL an
// empty label and a missing one are the same.
func (f *logFields) metadata(names labelNames) logql.Labels {
	m := make(logql.Labels, 0, 8+len(f.attrKeys)+len(f.resKeys))
	add := func(name, value string) {
		if value == "" || m.Has(name) {
			return
		}
		m = append(m, logql.Label{Name: name, Value: value})
	}
	add(MetaDetectedLevel, f.level)
	add(MetaTraceID, f.traceID)
	add(MetaSpanID, f.spanID)
	if f.flags != 0 {
		add(MetaFlags, strconv.FormatUint(uint64(f.flags), 10))
	}
	add(MetaSeverityText, f.sevText)
	if f.sevNum != 0 {
		add(MetaSeverityNumber, strconv.Itoa(int(f.sevNum)))
	}
	if f.observed != 0 && f.observed != f.ts {
		add(MetaObservedTimestamp, strconv.FormatInt(f.observed, 10))
	}
	for i, k := range f.attrKeys {
		add(names.of(k), f.attrValues[i])
	}
	add(MetaScopeName, f.scopeName)
	add(MetaScopeVersion, f.scopeVersion)
	for i, k := range f.resKeys {
		name := names.of(k)
		if !containsString(f.labelKeys, name) {
			add(name, f.resValues[i])
		}
	}
	slices.SortFunc(m, func(a, b logql.Label) int { return strings.Compare(a.Name, b.Name) })
	return m
}

func (f *logFields) stream() logql.Labels {
	kv := make([]string, 0, 2*len(f.labelKeys))
	for i, k := range f.labelKeys {
		kv = append(kv, k, f.labelValues[i])
	}
	return logql.FromStrings(kv...)
}

func containsString(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// labelNames caches LabelName for a reader: the same few keys recur on every row. A
// nil cache computes each name.
type labelNames map[string]string

// maxLabelNames bounds a cache; attribute keys are few, but not guaranteed to be.
const maxLabelNames = 10000

func (c labelNames) of(k string) string {
	if c == nil {
		return LabelName(k)
	}
	if n, ok := c[k]; ok {
		return n
	}
	n := LabelName(k)
	if len(c) < maxLabelNames {
		c[k] = n
	}
	return n
}

// LabelName turns an attribute key into a label name as the distributor does for stream
// labels: every character outside [a-zA-Z0-9_], and a leading digit, becomes "_".
func LabelName(k string) string {
	valid := k != ""
	for i := 0; i < len(k) && valid; i++ {
		c := k[i]
		valid = c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (i > 0 && c >= '0' && c <= '9')
	}
	if valid {
		return k
	}
	var sb strings.Builder
	for i, r := range k {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r == '_', r >= '0' && r <= '9' && i > 0:
			sb.WriteRune(r)
		default:
			sb.WriteByte('_')
		}
	}
	return sb.String()
}

// LogRowFromRecord converts a record an ingester holds into the row the query path
// would read back from ClickHouse, so in-memory and stored records merge exactly.
func LogRowFromRecord(s *pb.LogStream, res *pb.Resource, r *pb.LogRecord) LogRow {
	f := logFields{
		ts: r.Timestamp, observed: r.ObservedTimestamp,
		level: r.Level, traceID: hexID(r.TraceId), spanID: hexID(r.SpanId),
		sevText: r.SeverityText, sevNum: uint8(r.SeverityNumber), flags: r.Flags,
		scopeName: r.ScopeName, scopeVersion: r.ScopeVersion,
	}
	for _, l := range s.GetLabels() {
		f.labelKeys = append(f.labelKeys, l.Name)
		f.labelValues = append(f.labelValues, l.Value)
	}
	f.attrKeys, f.attrValues, _ = splitAttrs(r.Attributes)
	f.resKeys, f.resValues, _ = splitAttrs(res.GetAttributes())
	return LogRow{ID: r.Id, Entry: logql.Entry{Timestamp: r.Timestamp, Line: r.Body, Stream: f.stream(), Metadata: f.metadata(nil)}}
}
