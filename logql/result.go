package logql

// ValueType names a query result type as Loki's API does.
type ValueType string

// Result types.
const (
	ValueTypeStreams ValueType = "streams"
	ValueTypeMatrix  ValueType = "matrix"
	ValueTypeVector  ValueType = "vector"
	ValueTypeScalar  ValueType = "scalar"
)

// Value is a query result: Streams, Matrix, Vector or Scalar.
type Value interface {
	Type() ValueType
}

// Point is one value of a series. T is the step time in unix nanoseconds.
type Point struct {
	T int64
	V float64
}

// Series is a labeled series of points, oldest first.
type Series struct {
	Labels Labels
	Points []Point
}

// Matrix is the result of a range metric query, series sorted by labels.
type Matrix []Series

// Type implements Value.
func (Matrix) Type() ValueType { return ValueTypeMatrix }

// Sample is one labeled value at T (unix nanoseconds).
type Sample struct {
	Labels Labels
	T      int64
	V      float64
}

// Vector is the result of an instant metric query.
type Vector []Sample

// Type implements Value.
func (Vector) Type() ValueType { return ValueTypeVector }

// Scalar is the result of an instant query on a number, such as 1+1.
type Scalar struct {
	T int64
	V float64
}

// Type implements Value.
func (Scalar) Type() ValueType { return ValueTypeScalar }

// StreamEntry is one log line of a stream result.
type StreamEntry struct {
	Timestamp          int64
	Line               string
	StructuredMetadata Labels // only with EvalLogsParams.Categorize
	Parsed             Labels // only with EvalLogsParams.Categorize
}

// Stream is the entries of one label set.
type Stream struct {
	Labels  Labels
	Entries []StreamEntry
}

// Streams is the result of a log query, streams sorted by labels.
type Streams []Stream

// Type implements Value.
func (Streams) Type() ValueType { return ValueTypeStreams }
