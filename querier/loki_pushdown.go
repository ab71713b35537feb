package querier

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/strataobs/strata/logql"
	"github.com/strataobs/strata/storage/clickhouse"
)

// maxPushdownBuckets bounds the count buckets one pushed-down query may have (about
// steps × range / gcd(step, range)); beyond it the query streams rows instead.
const maxPushdownBuckets = 1 << 20

// errNotPushed makes runMetric evaluate a count query in Go after all.
var errNotPushed = errors.New("count query not pushed down")

// countQueryOf reports whether e can be counted in ClickHouse: logql.AsCountQuery's
// shape with a sum (without one, Loki 3 keeps every structured-metadata label in the
// series, nearly one series per record, which buys nothing), and line filters that all
// have an exact SQL form. Grafana's volume query adds `| drop __error__`; without
// parsers no line can carry __error__, so that stage is dropped first.
func countQueryOf(e logql.SampleExpr) (*logql.CountQuery, bool) {
	cq, ok := logql.AsCountQuery(e)
	if !ok {
		trimmed, tok := withoutDropError(e)
		if !tok {
			return nil, false
		}
		if cq, ok = logql.AsCountQuery(trimmed); !ok {
			return nil, false
		}
	}
	if !cq.Sum {
		return nil, false
	}
	for _, name := range cq.By {
		if strings.HasSuffix(name, "_extracted") || name == logql.ErrorLabel || name == logql.ErrorDetailsLabel {
			return nil, false // the pipeline's renaming rules have no SQL twin
		}
	}
	for _, lf := range cq.Log.LeadingLineFilters() {
		switch lf.Op {
		case logql.LineContains, logql.LineNotContains, logql.LineMatchRegexp, logql.LineNotMatchRegexp:
		default:
			return nil, false
		}
		for _, v := range lf.Values {
			if v.IP {
				return nil, false
			}
		}
	}
	return cq, true
}

// withoutDropError rewrites sum by (...) (op({...} <line filters> | drop __error__
// [, __error_details__] [r])) into the same query without the drop stage. The parsed
// matchers and stages are reused, so nothing needs compiling again.
func withoutDropError(e logql.SampleExpr) (logql.SampleExpr, bool) {
	va, ok := e.(*logql.VectorAggregationExpr)
	if !ok || va.Op != logql.OpSum || va.Grouping.Without || slices.Contains(va.Grouping.Labels, logql.ErrorLabel) {
		return nil, false
	}
	ra, ok := va.Inner.(*logql.RangeAggregationExpr)
	if !ok || ra.Range.Unwrap != nil || ra.Grouping != nil {
		return nil, false
	}
	stages := ra.Range.Log.Pipeline
	n := len(ra.Range.Log.LeadingLineFilters())
	if len(stages) != n+1 {
		return nil, false
	}
	drop, ok := stages[n].(*logql.DropLabelsStage)
	if !ok {
		return nil, false
	}
	for _, l := range drop.Labels {
		if l.Matcher != nil || (l.Name != logql.ErrorLabel && l.Name != logql.ErrorDetailsLabel) {
			return nil, false
		}
	}
	log := &logql.LogQueryExpr{Matchers: ra.Range.Log.Matchers, Pipeline: stages[:n]}
	rng := *ra.Range
	rng.Log = log
	inner := *ra
	inner.Range = &rng
	out := *va
	out.Inner = &inner
	return &out, true
}

// countPlan maps steps to count buckets. Buckets are gcd(step, range) wide and
// aligned on the steps, so every window (t - offset - range, t - offset] is a run of
// whole buckets: bucket b is (base + (b-1)w, base + bw], step k covers buckets
// (k·step - range)/w + 1 ... k·step/w.
type countPlan struct {
	base, width, step, rng int64
	steps                  int64
	start                  int64 // the first step's time
}

func newCountPlan(cq *logql.CountQuery, p logql.Params) (countPlan, error) {
	cp := countPlan{rng: int64(cq.Range), start: p.Start, base: p.Start - int64(cq.Offset), steps: 1, width: int64(cq.Range)}
	if !p.Instant() {
		cp.step = int64(p.Step)
		cp.steps = (p.End-p.Start)/cp.step + 1
		cp.width = gcd(cp.step, cp.rng)
	}
	if cp.width <= 0 || ((cp.steps-1)*cp.step+cp.rng)/cp.width > maxPushdownBuckets {
		return cp, errNotPushed
	}
	return cp, nil
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// dataRange is the record timestamps the windows cover, [from, to).
func (cp countPlan) dataRange() (from, to int64) {
	return cp.base - cp.rng + 1, cp.base + (cp.steps-1)*cp.step + 1
}

// bucketOf is the bucket holding timestamp ts (ceil((ts - base) / width)).
func (cp countPlan) bucketOf(ts int64) int64 {
	d := ts - cp.base
	b := d / cp.width
	if d > 0 && d%cp.width != 0 {
		b++
	}
	return b
}

// window is the bucket range [lo, hi] of step k.
func (cp countPlan) window(k int64) (lo, hi int64) {
	hi = k * cp.step / cp.width
	return hi - cp.rng/cp.width + 1, hi
}

// countGroup is one group's counts by bucket.
type countGroup struct {
	labels  logql.Labels
	buckets map[int64][2]uint64 // rows, bytes
}

// countPushdown answers a count query with one ClickHouse aggregation plus the
// in-memory records, counted in Go with the same buckets.
func (q *Querier) countPushdown(ctx context.Context, tenant string, cq *logql.CountQuery, p logql.Params) (logql.Value, execStats, error) {
	cp, err := newCountPlan(cq, p)
	if err != nil {
		return nil, execStats{}, err
	}
	store, err := q.store()
	if err != nil {
		return nil, execStats{}, err
	}
	from, to := cp.dataRange()
	filters := cq.Log.LeadingLineFilters()
	recent, err := q.recentLogs(ctx, tenant, RecentLogQuery{Start: from, End: to, Matchers: cq.Log.Matchers, LineFilters: filters})
	if err != nil {
		return nil, execStats{}, fmt.Errorf("read ingesters: %w", err)
	}
	counts, err := store.CountLogs(ctx, clickhouse.LogCountQuery{
		LogFilter: clickhouse.LogFilter{Tenant: tenant, Start: from, End: to, Matchers: cq.Log.Matchers, LineFilters: filters,
			ExcludeFlushIDs: recent.ExcludeFlushIDs, ExcludeIDs: rowIDs(recent.Rows)},
		Base: cp.base, Width: cp.width, By: cq.By, Bytes: cq.Bytes(),
	})
	if err != nil {
		return nil, execStats{}, err
	}
	groups := map[string]*countGroup{}
	var st execStats
	for _, c := range counts {
		addCount(groups, cq.By, c.Values, c.Bucket, c.Count, c.Bytes)
		st.lines += int64(c.Count)
		st.bytes += int64(c.Bytes)
	}
	if err := countRecent(groups, cq, cp, recent.Rows, &st); err != nil {
		return nil, st, err
	}
	v, err := cp.result(cq, groups, p, q.cfg.MaxSeries)
	return v, st, err
}

func addCount(groups map[string]*countGroup, by, values []string, bucket int64, n, bytes uint64) {
	key := strings.Join(values, "\xff")
	g := groups[key]
	if g == nil {
		kv := make([]string, 0, 2*len(by))
		for i, name := range by {
			if values[i] != "" { // an empty label is no label
				kv = append(kv, name, values[i])
			}
		}
		g = &countGroup{labels: logql.FromStrings(kv...), buckets: map[int64][2]uint64{}}
		groups[key] = g
	}
	c := g.buckets[bucket]
	g.buckets[bucket] = [2]uint64{c[0] + n, c[1] + bytes}
}

// countRecent counts in-memory records: once per id, through the same line filters,
// reading the grouping labels the way the pipeline does.
func countRecent(groups map[string]*countGroup, cq *logql.CountQuery, cp countPlan, rows []clickhouse.LogRow, st *execStats) error {
	if len(rows) == 0 {
		return nil
	}
	pipe, err := logql.NewPipeline(cq.Log)
	if err != nil {
		return err
	}
	seen := make(map[uint64]bool, len(rows))
	values := make([]string, len(cq.By))
	for _, r := range rows {
		if seen[r.ID] {
			continue
		}
		seen[r.ID] = true
		line, ls, ok := pipe.Process(r.Entry)
		if !ok {
			continue
		}
		for i, name := range cq.By {
			values[i] = ls.Get(name)
		}
		addCount(groups, cq.By, values, cp.bucketOf(r.Entry.Timestamp), 1, uint64(len(line)))
		st.lines++
		st.bytes += int64(len(line))
	}
	return nil
}

// result sums each group's buckets per step window into a Matrix, or a Vector for an
// instant query. A group without rows in a window has no point there, as in Loki.
func (cp countPlan) result(cq *logql.CountQuery, groups map[string]*countGroup, p logql.Params, maxSeries int) (logql.Value, error) {
	m := logql.Matrix{}
	for _, g := range groups {
		s := logql.Series{Labels: g.labels}
		sums := newPrefixSums(g.buckets)
		for k := int64(0); k < cp.steps; k++ {
			n, bytes := sums.between(cp.window(k))
			if n == 0 {
				continue
			}
			v := float64(n)
			if cq.Bytes() {
				v = float64(bytes)
			}
			s.Points = append(s.Points, logql.Point{T: cp.start + k*cp.step, V: cq.Finalize(v)})
		}
		if len(s.Points) > 0 {
			m = append(m, s)
		}
	}
	if maxSeries > 0 && len(m) > maxSeries {
		return nil, &logql.LimitError{Msg: fmt.Sprintf("maximum of series (%d) reached for a single query; raise -querier.max-query-series", maxSeries)}
	}
	sort.Slice(m, func(i, j int) bool { return logql.CompareLabels(m[i].Labels, m[j].Labels) < 0 })
	if !p.Instant() {
		return m, nil
	}
	vec := logql.Vector{}
	for _, s := range m {
		vec = append(vec, logql.Sample{Labels: s.Labels, T: p.Start, V: s.Points[0].V})
	}
	return vec, nil
}

// prefixSums answers window sums over sparse buckets.
type prefixSums struct {
	buckets []int64
	n, b    []uint64 // n[i] = rows in buckets[:i]
}

func newPrefixSums(m map[int64][2]uint64) prefixSums {
	ps := prefixSums{buckets: make([]int64, 0, len(m))}
	for b := range m {
		ps.buckets = append(ps.buckets, b)
	}
	slices.Sort(ps.buckets)
	ps.n, ps.b = make([]uint64, len(m)+1), make([]uint64, len(m)+1)
	for i, b := range ps.buckets {
		ps.n[i+1], ps.b[i+1] = ps.n[i]+m[b][0], ps.b[i]+m[b][1]
	}
	return ps
}

func (ps prefixSums) between(lo, hi int64) (rows, bytes uint64) {
	i, _ := slices.BinarySearch(ps.buckets, lo)
	j, _ := slices.BinarySearch(ps.buckets, hi+1)
	return ps.n[j] - ps.n[i], ps.b[j] - ps.b[i]
}
