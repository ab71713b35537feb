package traceql

// SpanKind is the OTLP span kind, numbered as in the OTLP protocol
// (opentelemetry.proto.trace.v1.Span.SpanKind), so a pdata kind converts with
// SpanKind(span.Kind()).
type SpanKind int

// Span kinds, with OTLP's numbers.
const (
	KindUnspecified SpanKind = 0
	KindInternal    SpanKind = 1
	KindServer      SpanKind = 2
	KindClient      SpanKind = 3
	KindProducer    SpanKind = 4
	KindConsumer    SpanKind = 5
)

var kindNames = [...]string{"unspecified", "internal", "server", "client", "producer", "consumer"}

// String returns the TraceQL keyword for k (server, client, ...).
func (k SpanKind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unspecified"
}

// StatusCode is the OTLP span status code, numbered as in OTLP
// (0 unset, 1 ok, 2 error).
type StatusCode int

// Status codes, with OTLP's numbers.
const (
	StatusUnset StatusCode = 0
	StatusOK    StatusCode = 1
	StatusError StatusCode = 2
)

var statusNames = [...]string{"unset", "ok", "error"}

// String returns the TraceQL keyword for c (unset, ok, error).
func (c StatusCode) String() string {
	if c >= 0 && int(c) < len(statusNames) {
		return statusNames[c]
	}
	return "unset"
}

// KeyValue is one attribute of a span or of its resource.
type KeyValue struct {
	Key   string
	Value Value
}

// Span is one span as the evaluator sees it. Eval takes all spans of one
// trace; the evaluator only reads them.
type Span struct {
	// TraceID, SpanID and ParentSpanID are hex strings, compared as given
	// (use one case, lower-case as OTLP JSON does). A span whose
	// ParentSpanID is empty or all zeros is a root span.
	TraceID, SpanID, ParentSpanID string

	Name          string
	Kind          SpanKind
	StatusCode    StatusCode
	StatusMessage string

	StartUnixNano, EndUnixNano int64

	// ServiceName is the resource attribute service.name. When it is set it
	// wins over a service.name entry in ResourceAttrs.
	ServiceName string

	// SpanAttrs and ResourceAttrs are looked up by linear scan: attribute
	// lists are short, and slices are what storage rows and pdata give us
	// without building a map per span. Keys should be unique; the first
	// entry with a key wins.
	SpanAttrs, ResourceAttrs []KeyValue
}

// isRoot reports whether s has no parent.
func (s *Span) isRoot() bool {
	for i := 0; i < len(s.ParentSpanID); i++ {
		if s.ParentSpanID[i] != '0' {
			return false
		}
	}
	return true
}

func lookup(kvs []KeyValue, key string) Value {
	for i := range kvs {
		if kvs[i].Key == key {
			return kvs[i].Value
		}
	}
	return Value{}
}

func (s *Span) resourceAttr(key string) Value {
	if key == "service.name" && s.ServiceName != "" {
		return StringValue(s.ServiceName)
	}
	return lookup(s.ResourceAttrs, key)
}
