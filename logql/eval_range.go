package logql

import (
	"context"
	"math"
	"slices"
	"strconv"
	"time"
)

// sampleExtractor turns entries into samples of a range aggregation: runs
// the pipeline, takes the value (1, the line length, or the unwrapped
// label) and computes the series labels.
type sampleExtractor struct {
	pipe     *Pipeline
	op       string
	unwrap   *Unwrap
	grouping *Grouping
	buf      []Label
}

func newSampleExtractor(e *RangeAggregationExpr, pushed *Grouping) (*sampleExtractor, error) {
	if err := validateRangeAggregation(e); err != nil {
		return nil, err
	}
	pipe, err := NewPipeline(e.Range.Log)
	if err != nil {
		return nil, err
	}
	g := e.Grouping
	if g == nil {
		g = pushed
	}
	return &sampleExtractor{pipe: pipe, op: e.Op, unwrap: e.Range.Unwrap, grouping: g}, nil
}

// extract returns the sample of an entry and its series labels, which are
// only valid until the next call.
func (x *sampleExtractor) extract(e *Entry) (float64, []Label, bool) {
	line, ok := x.pipe.run(e)
	if !ok {
		return 0, nil, false
	}
	b := &x.pipe.b
	v := 1.0
	switch {
	case x.unwrap != nil:
		s, _ := b.get(x.unwrap.Label)
		if s == "" {
			return 0, nil, false // a line without the label is skipped, as in Loki
		}
		var err error
		if v, err = convertUnwrapped(x.unwrap.Conversion, s); err != nil {
			b.setErr(ErrSampleExtraction, err.Error())
		}
		for _, f := range x.unwrap.PostFilters {
			if !filterLabels(f, b) {
				return 0, nil, false
			}
		}
	case x.op == OpBytesOverTime || x.op == OpBytesRate:
		v = float64(len(line))
	}
	return v, x.seriesLabels(), true
}

// seriesLabels applies the grouping; the unwrapped label is not part of the
// series unless grouped by. With an error the full labels are kept so that
// the error surfaces.
func (x *sampleExtractor) seriesLabels() []Label {
	b := &x.pipe.b
	dropped := ""
	if x.unwrap != nil {
		dropped = x.unwrap.Label
	}
	if b.err == "" && x.grouping != nil && !x.grouping.Without {
		x.buf = x.buf[:0]
		for _, name := range x.grouping.Labels {
			if v, ok := b.get(name); ok && v != "" && !hasLabel(x.buf, name) {
				x.buf = append(x.buf, Label{Name: name, Value: v})
			}
		}
		return sortLabels(x.buf)
	}
	if b.unchanged() && dropped == "" && x.grouping == nil {
		return b.stream
	}
	all := b.appendAll(x.buf[:0])
	x.buf = all[:0]
	for _, l := range all {
		if l.Value == "" || (b.err == "" && (l.Name == dropped || (x.grouping != nil && slices.Contains(x.grouping.Labels, l.Name)))) {
			continue
		}
		x.buf = append(x.buf, l)
	}
	return sortLabels(x.buf)
}

func convertUnwrapped(conv, s string) (float64, error) {
	switch conv {
	case "bytes":
		n, err := parseBytes(s)
		return float64(n), err
	case "duration", "duration_seconds":
		d, err := time.ParseDuration(s)
		return d.Seconds(), err
	}
	return strconv.ParseFloat(s, 64)
}

// rangeSeries is the window of one series.
type rangeSeries struct {
	lbls Labels
	pts  []Point
	head int
}

func (s *rangeSeries) evict(start int64) {
	for s.head < len(s.pts) && s.pts[s.head].T <= start {
		s.head++
	}
	if s.head > 64 && s.head > len(s.pts)/2 {
		s.pts = append(s.pts[:0], s.pts[s.head:]...)
		s.head = 0
	}
}

func (s *rangeSeries) window() []Point { return s.pts[s.head:] }

// evalRange streams the entries of one range aggregation once, in time
// order, keeping per series only the samples of the current window.
func (ev *evaluator) evalRange(ctx context.Context, e *RangeAggregationExpr, pushed *Grouping) ([][]evSample, error) {
	x, err := newSampleExtractor(e, pushed)
	if err != nil {
		return nil, err
	}
	rng, off := int64(e.Range.Interval), int64(e.Range.Offset)
	it, err := ev.src(ctx, SelectRequest{Log: e.Range.Log, Start: ev.start - off - rng + 1, End: ev.end - off + 1})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	w := &windower{ev: ev, expr: e, x: x, agg: rangeAggFunc(e), series: map[string]*rangeSeries{}, out: make([][]evSample, ev.steps)}
	if err := w.consume(ctx, it); err != nil {
		return nil, err
	}
	if err := w.emitBefore(math.MaxInt64); err != nil {
		return nil, err
	}
	return w.out, nil
}

// windower computes one range aggregation step by step as entries arrive.
type windower struct {
	ev     *evaluator
	expr   *RangeAggregationExpr
	x      *sampleExtractor
	agg    func(pts []Point, start, end int64) float64
	series map[string]*rangeSeries
	out    [][]evSample
	step   int // next step to emit
	key    []byte
}

func (w *windower) consume(ctx context.Context, it EntryIterator) error {
	lastTs := int64(math.MinInt64)
	for n := 0; it.Next(); n++ {
		if n%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		e := it.At()
		if e.Timestamp < lastTs {
			return ErrOutOfOrder
		}
		lastTs = e.Timestamp
		if err := w.emitBefore(e.Timestamp); err != nil {
			return err
		}
		if w.step == w.ev.steps {
			return nil // no window is left for this entry or later ones
		}
		if err := w.add(&e); err != nil {
			return err
		}
	}
	return it.Err()
}

// add puts an entry's sample into its series, if it falls into the window
// of the next step to emit (and so of any later one).
func (w *windower) add(e *Entry) error {
	end := w.ev.stepTime(w.step) - int64(w.expr.Range.Offset)
	if e.Timestamp <= end-int64(w.expr.Range.Interval) || e.Timestamp > w.ev.end-int64(w.expr.Range.Offset) {
		return nil
	}
	v, lbls, ok := w.x.extract(e)
	if !ok {
		return nil
	}
	w.key = Labels(lbls).appendKey(w.key[:0])
	s := w.series[string(w.key)]
	if s == nil {
		// Checked here too, not only per step, so that a window full of
		// distinct label sets cannot grow without bound.
		if err := w.ev.checkSeries(len(w.series) + 1); err != nil {
			return err
		}
		s = &rangeSeries{lbls: slices.Clone(Labels(lbls))}
		w.series[string(w.key)] = s
	}
	s.pts = append(s.pts, Point{T: e.Timestamp, V: v})
	return nil
}

// emitBefore computes every step whose window ends before ts: no later entry
// can fall into those windows.
func (w *windower) emitBefore(ts int64) error {
	off, rng := int64(w.expr.Range.Offset), int64(w.expr.Range.Interval)
	for w.step < w.ev.steps && w.ev.stepTime(w.step)-off < ts {
		end := w.ev.stepTime(w.step) - off
		vec := make([]evSample, 0, len(w.series))
		for k, s := range w.series {
			s.evict(end - rng)
			pts := s.window()
			if len(pts) == 0 {
				delete(w.series, k)
				continue
			}
			vec = append(vec, evSample{lbls: s.lbls, v: w.agg(pts, end-rng, end)})
		}
		if err := checkPipelineErrors(vec); err != nil {
			return err
		}
		if w.expr.Op == OpAbsentOverTime {
			vec = absentVector(w.expr, vec)
		}
		if err := w.ev.checkSeries(len(vec)); err != nil {
			return err
		}
		w.out[w.step] = vec
		w.step++
	}
	return nil
}

// absentVector is absent_over_time at one step: nothing when there is data,
// else one sample of value 1 labeled with the selector's equality matchers
// (a label matched twice, or not by equality, is left out).
func absentVector(e *RangeAggregationExpr, vec []evSample) []evSample {
	if len(vec) > 0 {
		return vec[:0]
	}
	var ls Labels
	skip := map[string]bool{}
	for _, m := range e.Range.Log.Matchers {
		if m.Type != MatchEqual || ls.Has(m.Name) {
			skip[m.Name] = true
			continue
		}
		ls = append(ls, Label{Name: m.Name, Value: m.Value})
	}
	out := Labels{}
	for _, l := range ls {
		if !skip[l.Name] {
			out = append(out, l)
		}
	}
	return []evSample{{lbls: sortLabels(out), v: 1}}
}

// rangeAggFunc returns the function of a range aggregation over the samples
// of a window (start, end].
func rangeAggFunc(e *RangeAggregationExpr) func(pts []Point, start, end int64) float64 {
	secs := e.Range.Interval.Seconds()
	switch e.Op {
	case OpCountOverTime:
		return func(pts []Point, _, _ int64) float64 { return float64(len(pts)) }
	case OpRate:
		if e.Range.Unwrap == nil {
			return func(pts []Point, _, _ int64) float64 { return float64(len(pts)) / secs }
		}
		return func(pts []Point, _, _ int64) float64 { return sumPoints(pts) / secs }
	case OpBytesRate:
		return func(pts []Point, _, _ int64) float64 { return sumPoints(pts) / secs }
	case OpBytesOverTime, OpSumOverTime:
		return func(pts []Point, _, _ int64) float64 { return sumPoints(pts) }
	case OpRateCounter:
		return func(pts []Point, start, end int64) float64 { return counterRate(pts, start, end) }
	case OpAbsentOverTime:
		return func([]Point, int64, int64) float64 { return 1 }
	case OpQuantileOverTime:
		q := *e.Param
		return func(pts []Point, _, _ int64) float64 { return quantile(q, pointValues(pts)) }
	}
	fn := rangeValueFuncs[e.Op]
	return func(pts []Point, _, _ int64) float64 { return fn(pts) }
}

var rangeValueFuncs = map[string]func([]Point) float64{
	OpAvgOverTime: func(pts []Point) float64 {
		var mean, n float64
		for _, p := range pts {
			n++
			if math.IsInf(mean, 0) && (!math.IsNaN(p.V) && (!math.IsInf(p.V, 0) || (mean > 0) == (p.V > 0))) {
				continue // Inf stays Inf instead of becoming NaN
			}
			mean += p.V/n - mean/n
		}
		return mean
	},
	OpMinOverTime: func(pts []Point) float64 {
		m := pts[0].V
		for _, p := range pts {
			if p.V < m || math.IsNaN(m) {
				m = p.V
			}
		}
		return m
	},
	OpMaxOverTime: func(pts []Point) float64 {
		m := pts[0].V
		for _, p := range pts {
			if p.V > m || math.IsNaN(m) {
				m = p.V
			}
		}
		return m
	},
	OpStdvarOverTime: func(pts []Point) float64 { return variance(pointValues(pts)) },
	OpStddevOverTime: func(pts []Point) float64 { return math.Sqrt(variance(pointValues(pts))) },
	OpFirstOverTime:  func(pts []Point) float64 { return pts[0].V },
	OpLastOverTime:   func(pts []Point) float64 { return pts[len(pts)-1].V },
}

func sumPoints(pts []Point) float64 {
	var s float64
	for _, p := range pts {
		s += p.V
	}
	return s
}

func pointValues(pts []Point) []float64 {
	vs := make([]float64, len(pts))
	for i, p := range pts {
		vs[i] = p.V
	}
	return vs
}

// variance is the population variance (Welford), as Loki and Prometheus use.
func variance(vs []float64) float64 {
	var mean, aux, n float64
	for _, v := range vs {
		n++
		d := v - mean
		mean += d / n
		aux += d * (v - mean)
	}
	return aux / n
}

// quantile is Prometheus' φ-quantile with linear interpolation; vs is sorted
// in place.
func quantile(q float64, vs []float64) float64 {
	switch {
	case len(vs) == 0 || math.IsNaN(q):
		return math.NaN()
	case q < 0:
		return math.Inf(-1)
	case q > 1:
		return math.Inf(1)
	}
	slices.Sort(vs)
	n := float64(len(vs))
	rank := q * (n - 1)
	lower := math.Max(0, math.Floor(rank))
	upper := math.Min(n-1, lower+1)
	w := rank - math.Floor(rank)
	return vs[int(lower)]*(1-w) + vs[int(upper)]*w
}

// counterRate is rate_counter: Prometheus' rate() over the unwrapped values
// (counter resets handled, extrapolated to the window edges). Loki returns 0
// for fewer than two samples; so does this.
func counterRate(pts []Point, start, end int64) float64 {
	if len(pts) < 2 {
		return 0
	}
	first, last := pts[0], pts[len(pts)-1]
	result := last.V - first.V
	prev := first.V
	for _, p := range pts[1:] {
		if p.V < prev {
			result += prev
		}
		prev = p.V
	}
	sampled := float64(last.T-first.T) / 1e9
	if sampled <= 0 {
		return 0
	}
	toStart := float64(first.T-start) / 1e9
	toEnd := float64(end-last.T) / 1e9
	avg := sampled / float64(len(pts)-1)
	if result > 0 && first.V >= 0 {
		if toZero := sampled * (first.V / result); toZero < toStart {
			toStart = toZero
		}
	}
	threshold := avg * 1.1
	interval := sampled
	if toStart < threshold {
		interval += toStart
	} else {
		interval += avg / 2
	}
	if toEnd < threshold {
		interval += toEnd
	} else {
		interval += avg / 2
	}
	return result * (interval / sampled) / (float64(end-start) / 1e9)
}
