package logql

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// Params are the time parameters of a metric query.
type Params struct {
	// Start and End in unix nanoseconds. A range query evaluates at Start,
	// Start+Step, ... up to and including End; an instant query has
	// Start == End and Step == 0.
	Start, End int64
	Step       time.Duration
	// MaxSeries fails the query when a result would have more series; 0 is
	// unlimited.
	MaxSeries int
}

// MaxPointsPerSeries is Loki's resolution limit for range queries.
const MaxPointsPerSeries = 11000

// Instant reports whether p describes an instant query.
func (p Params) Instant() bool { return p.Step == 0 && p.Start == p.End }

// EvalMetric evaluates a metric query with Loki's semantics and returns a
// Matrix for range queries and a Vector (or Scalar) for instant ones. src
// provides the entries of each log query inside expr.
//
// At each step t a range aggregation sees the entries with timestamps in
// (t - offset - range, t - offset]; rate is count / range in seconds;
// series whose window is empty are absent at that step.
func EvalMetric(ctx context.Context, expr SampleExpr, p Params, src Source) (Value, error) {
	ev, err := newEvaluator(p, src)
	if err != nil {
		return nil, err
	}
	sv, err := ev.eval(ctx, expr, nil)
	if err != nil {
		return nil, err
	}
	return ev.result(expr, sv)
}

type evaluator struct {
	start, end int64
	step       int64
	steps      int
	maxSeries  int
	instant    bool
	src        Source
}

func newEvaluator(p Params, src Source) (*evaluator, error) {
	ev := &evaluator{start: p.Start, end: p.End, step: int64(p.Step), maxSeries: p.MaxSeries, instant: p.Instant(), src: src}
	switch {
	case p.End < p.Start:
		return nil, fmt.Errorf("end timestamp must not be before start time")
	case ev.instant:
		ev.steps = 1
		return ev, nil
	case p.Step <= 0:
		return nil, fmt.Errorf("zero or negative query resolution step widths are not accepted. Try a positive integer")
	}
	n := (p.End-p.Start)/int64(p.Step) + 1
	if n > MaxPointsPerSeries {
		return nil, &LimitError{Msg: fmt.Sprintf("exceeded maximum resolution of %d points per timeseries. Try decreasing the query resolution (?step=XX)", MaxPointsPerSeries)}
	}
	ev.steps = int(n)
	return ev, nil
}

func (ev *evaluator) stepTime(i int) int64 { return ev.start + int64(i)*ev.step }

// stepValues is the value of a node at every step: a scalar per step, or a
// vector per step.
type stepValues struct {
	scalar []float64
	vecs   [][]evSample
}

type evSample struct {
	lbls Labels
	v    float64
}

// eval computes a node at every step. pushed is a grouping that the caller
// (a sum around a range aggregation) lets the range aggregation apply early.
func (ev *evaluator) eval(ctx context.Context, expr SampleExpr, pushed *Grouping) (*stepValues, error) {
	switch e := expr.(type) {
	case *LiteralExpr:
		sv := &stepValues{scalar: make([]float64, ev.steps)}
		for i := range sv.scalar {
			sv.scalar[i] = e.Value
		}
		return sv, nil
	case *VectorExpr:
		sv := &stepValues{vecs: make([][]evSample, ev.steps)}
		for i := range sv.vecs {
			sv.vecs[i] = []evSample{{lbls: Labels{}, v: e.Value}}
		}
		return sv, nil
	case *RangeAggregationExpr:
		vecs, err := ev.evalRange(ctx, e, pushed)
		return &stepValues{vecs: vecs}, err
	case *VectorAggregationExpr:
		return ev.evalVectorAggregation(ctx, e)
	case *BinaryExpr:
		return ev.evalBinary(ctx, e)
	case *LabelReplaceExpr:
		return ev.evalLabelReplace(ctx, e)
	}
	return nil, fmt.Errorf("unsupported expression %T", expr)
}

func (ev *evaluator) evalVectorAggregation(ctx context.Context, e *VectorAggregationExpr) (*stepValues, error) {
	var pushed *Grouping
	if ra, ok := e.Inner.(*RangeAggregationExpr); ok && e.Op == OpSum && ra.Grouping == nil && groupingCommutes[ra.Op] {
		g := e.Grouping
		pushed = &g
	}
	inner, err := ev.eval(ctx, e.Inner, pushed)
	if err != nil {
		return nil, err
	}
	out := &stepValues{vecs: make([][]evSample, ev.steps)}
	for i, vec := range inner.vecs {
		out.vecs[i] = aggregate(e, vec)
	}
	return out, nil
}

// groupingCommutes lists the range aggregations whose sum over series equals
// the aggregation over the merged series, so sum's grouping can be applied
// while extracting samples (as Loki does), which keeps fewer series.
var groupingCommutes = map[string]bool{
	OpCountOverTime: true, OpRate: true, OpBytesOverTime: true, OpBytesRate: true, OpSumOverTime: true,
}

func (ev *evaluator) evalLabelReplace(ctx context.Context, e *LabelReplaceExpr) (*stepValues, error) {
	inner, err := ev.eval(ctx, e.Inner, nil)
	if err != nil {
		return nil, err
	}
	cache := map[string]Labels{}
	var key []byte
	for _, vec := range inner.vecs {
		for j, s := range vec {
			key = s.lbls.appendKey(key[:0])
			out, ok := cache[string(key)]
			if !ok {
				out = labelReplace(e, s.lbls)
				cache[string(key)] = out
			}
			vec[j].lbls = out
		}
	}
	return inner, nil
}

func labelReplace(e *LabelReplaceExpr, ls Labels) Labels {
	src := ls.Get(e.Src)
	idx := e.re.FindStringSubmatchIndex(src)
	if idx == nil {
		return ls
	}
	res := string(e.re.ExpandString(nil, e.Replacement, src, idx))
	out := make(Labels, 0, len(ls)+1)
	for _, l := range ls {
		if l.Name != e.Dst {
			out = append(out, l)
		}
	}
	if res != "" {
		out = append(out, Label{Name: e.Dst, Value: res})
	}
	return sortLabels(out)
}

// result turns step values into the API result.
func (ev *evaluator) result(expr SampleExpr, sv *stepValues) (Value, error) {
	if sv.scalar != nil {
		if ev.instant {
			return Scalar{T: ev.start, V: sv.scalar[0]}, nil
		}
		s := Series{Labels: Labels{}, Points: make([]Point, ev.steps)}
		for i, v := range sv.scalar {
			s.Points[i] = Point{T: ev.stepTime(i), V: v}
		}
		return Matrix{s}, nil
	}
	if ev.instant {
		return ev.vectorResult(expr, sv.vecs[0])
	}
	return ev.matrixResult(sv.vecs)
}

func (ev *evaluator) vectorResult(expr SampleExpr, vec []evSample) (Value, error) {
	out := make(Vector, 0, len(vec))
	seen := map[string]bool{}
	var key []byte
	for _, s := range vec {
		key = s.lbls.appendKey(key[:0])
		if seen[string(key)] {
			return nil, fmt.Errorf("vector cannot contain metrics with the same labelset %s", s.lbls)
		}
		seen[string(key)] = true
		out = append(out, Sample{Labels: s.lbls, T: ev.start, V: s.v})
	}
	if err := ev.checkSeries(len(out)); err != nil {
		return nil, err
	}
	if va, ok := expr.(*VectorAggregationExpr); ok && (va.Op == OpSort || va.Op == OpSortDesc) {
		return out, nil // already ordered by value
	}
	slices.SortFunc(out, func(a, b Sample) int { return CompareLabels(a.Labels, b.Labels) })
	return out, nil
}

func (ev *evaluator) matrixResult(vecs [][]evSample) (Value, error) {
	index := map[string]int{}
	var m Matrix
	var key []byte
	for i, vec := range vecs {
		t := ev.stepTime(i)
		for _, s := range vec {
			key = s.lbls.appendKey(key[:0])
			j, ok := index[string(key)]
			if !ok {
				j = len(m)
				index[string(key)] = j
				m = append(m, Series{Labels: s.lbls})
				if err := ev.checkSeries(len(m)); err != nil {
					return nil, err
				}
			}
			pts := m[j].Points
			if len(pts) > 0 && pts[len(pts)-1].T == t {
				return nil, fmt.Errorf("vector cannot contain metrics with the same labelset %s", s.lbls)
			}
			m[j].Points = append(pts, Point{T: t, V: s.v})
		}
	}
	slices.SortFunc(m, func(a, b Series) int { return CompareLabels(a.Labels, b.Labels) })
	return m, nil
}

func (ev *evaluator) checkSeries(n int) error {
	if ev.maxSeries > 0 && n > ev.maxSeries {
		return &LimitError{Msg: fmt.Sprintf("maximum of series (%d) reached for a single query", ev.maxSeries)}
	}
	return nil
}

// checkPipelineErrors fails when a series still has __error__ and does not
// ask to preserve it.
func checkPipelineErrors(vec []evSample) error {
	for _, s := range vec {
		if e := s.lbls.Get(ErrorLabel); e != "" && s.lbls.Get(PreserveErrorLabel) != "true" {
			return &PipelineError{ErrorType: e, Series: s.lbls}
		}
	}
	return nil
}
