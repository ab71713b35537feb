package logql

import "time"

// Walk calls fn for e and every expression under it, parents first.
func Walk(e Expr, fn func(Expr)) {
	fn(e)
	switch e := e.(type) {
	case *VectorAggregationExpr:
		Walk(e.Inner, fn)
	case *BinaryExpr:
		Walk(e.LHS, fn)
		Walk(e.RHS, fn)
	case *LabelReplaceExpr:
		Walk(e.Inner, fn)
	case *RangeAggregationExpr:
		Walk(e.Range.Log, fn)
	}
}

// LogQueries returns every log query that e reads: e itself for a log query,
// one per range aggregation for a metric query.
func LogQueries(e Expr) []*LogQueryExpr {
	var out []*LogQueryExpr
	Walk(e, func(e Expr) {
		if lq, ok := e.(*LogQueryExpr); ok {
			out = append(out, lq)
		}
	})
	return out
}

// Selector returns the stream matchers of a log query.
func (e *LogQueryExpr) Selector() []*Matcher { return e.Matchers }

// LeadingLineFilters returns the line filters at the head of the pipeline,
// before any stage that can change the line. They see the original line, so
// a store may apply them while reading (|= as a substring search, |~ as a
// regexp match); the pipeline applies them again, which is harmless.
func (e *LogQueryExpr) LeadingLineFilters() []*LineFilterStage {
	var out []*LineFilterStage
	for _, s := range e.Pipeline {
		lf, ok := s.(*LineFilterStage)
		if !ok {
			break
		}
		out = append(out, lf)
	}
	return out
}

// OnlyLineFilters reports whether the pipeline has nothing but line
// filters: lines come out unchanged, labeled with their stream labels and
// structured metadata.
func (e *LogQueryExpr) OnlyLineFilters() bool {
	return len(e.LeadingLineFilters()) == len(e.Pipeline)
}

// Window returns the entry timestamps a range covers at step t: the
// left-open interval (start, end].
func (r *LogRange) Window(t int64) (start, end int64) {
	end = t - int64(r.Offset)
	return end - int64(r.Interval), end
}

// DataRange returns the entry timestamps [from, to) that evaluating e with p
// reads. For a log query it is [p.Start, p.End).
func DataRange(e Expr, p Params) (from, to int64) {
	from, to = p.Start, p.End
	first := true
	Walk(e, func(e Expr) {
		ra, ok := e.(*RangeAggregationExpr)
		if !ok {
			return
		}
		f := p.Start - int64(ra.Range.Offset) - int64(ra.Range.Interval) + 1
		t := p.End - int64(ra.Range.Offset) + 1
		if first || f < from {
			from = f
		}
		if first || t > to {
			to = t
		}
		first = false
	})
	return from, to
}

// CountQuery is a metric query a store can answer by counting rows per
// group and window, without running a pipeline:
//
//	[sum [by (labels)]] (op({selector} <line filters> [range] [offset d]))
//
// with op one of count_over_time, rate, bytes_over_time, bytes_rate. At step
// t the value of a group is the number of matching rows with a timestamp in
// (t - Offset - Range, t - Offset] (or the sum of their line lengths in bytes
// for the bytes ops), passed through Finalize; groups without rows have no
// value at that step.
//
// Without Sum each series is a stream plus its structured metadata (Loki 3
// keeps metadata as series labels). With Sum, series are grouped by the By
// labels, each read from the stream labels or, when the stream lacks it,
// from the structured metadata; By empty means one series without labels.
type CountQuery struct {
	Log    *LogQueryExpr
	Op     string
	Range  time.Duration
	Offset time.Duration
	Sum    bool
	By     []string
}

// Bytes reports whether rows contribute their line length instead of 1.
func (q *CountQuery) Bytes() bool { return q.Op == OpBytesOverTime || q.Op == OpBytesRate }

// Finalize turns a group's count (or byte sum) in one window into the
// query's value.
func (q *CountQuery) Finalize(v float64) float64 {
	if q.Op == OpRate || q.Op == OpBytesRate {
		return v / q.Range.Seconds()
	}
	return v
}

// AsCountQuery reports whether e has the CountQuery shape and describes it.
func AsCountQuery(e Expr) (*CountQuery, bool) {
	q := &CountQuery{}
	if va, ok := e.(*VectorAggregationExpr); ok {
		if va.Op != OpSum || va.Grouping.Without {
			return nil, false
		}
		q.Sum, q.By = true, va.Grouping.Labels
		e = va.Inner
	}
	ra, ok := e.(*RangeAggregationExpr)
	if !ok || ra.Range.Unwrap != nil || ra.Grouping != nil || !ra.Range.Log.OnlyLineFilters() {
		return nil, false
	}
	switch ra.Op {
	case OpCountOverTime, OpRate, OpBytesOverTime, OpBytesRate:
	default:
		return nil, false
	}
	q.Log, q.Op, q.Range, q.Offset = ra.Range.Log, ra.Op, ra.Range.Interval, ra.Range.Offset
	return q, true
}
