package querier

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strataobs/strata/internal/testqueries"
	"github.com/strataobs/strata/logql"
	"github.com/strataobs/strata/storage/clickhouse"
	"github.com/strataobs/strata/traceql"
)

// rejectedLogQL are table queries that fail on the table fixture, with the reason,
// in the querier and in memory alike. Loki fails a metric query when a line of the
// range carries __error__ (an unwrap of a missing or non-numeric value, a json parse of
// a non-JSON line) and the query does not filter it out, and a vector match that is
// many-to-many: those are properties of the queries, so the comparison checks that
// both sides refuse them.
var rejectedLogQL = map[string]string{
	`count_over_time({app="foo"}[5m] offset 10m | json | level="error")`:          "pipeline error: 'JSONParserErr'",
	`avg_over_time({app="foo"} | logfmt | unwrap latency [5m]) by (path)`:         "pipeline error: 'SampleExtractionErr'",
	`max_over_time({app="foo"} | logfmt | unwrap duration(latency) [5m])`:         "pipeline error: 'SampleExtractionErr'",
	`min_over_time({app="foo"} | logfmt | unwrap duration_seconds(latency) [5m])`: "pipeline error: 'SampleExtractionErr'",
	`stddev_over_time({app="foo"} | logfmt | unwrap latency [5m])`:                "pipeline error: 'SampleExtractionErr'",
	`stdvar_over_time({app="foo"} | logfmt | unwrap latency [5m]) without (pod)`:  "pipeline error: 'SampleExtractionErr'",
	`sum_over_time({app="foo"}[5m] | logfmt | unwrap latency)`:                    "pipeline error: 'SampleExtractionErr'",
	`sum_over_time(({app="foo"} | logfmt | unwrap latency)[5m])`:                  "pipeline error: 'SampleExtractionErr'",
}

// TestLogQLTableMatchesInMemory runs every valid query of logql's parse table through
// the querier (ClickHouse, pushed down where possible) and by logql over the same
// records in memory. Every log query runs backward over the whole fixture, every
// third also forward with a small limit over part of it; every metric query runs as a
// range query (two step shapes, alternating over the table), every third also as an
// instant query, all shifted by the query's offset so that offset queries see data.
// The results must be equal, up to float rounding.
func TestLogQLTableMatchesInMemory(t *testing.T) {
	queries, err := testqueries.Load(testqueries.Path("logql"))
	if err != nil {
		t.Fatal(err)
	}
	f := newTableFixture(t)
	type outcome struct {
		nonEmpty, rejected bool
		problems           []string
	}
	results := make([]outcome, len(queries))
	// A few queries at a time: most of the time is ClickHouse round trips.
	work := make(chan int)
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				r := &results[i]
				r.nonEmpty, r.rejected, r.problems = compareLogQL(f, i, queries[i])
			}
		}()
	}
	for i := range queries {
		work <- i
	}
	close(work)
	wg.Wait()
	var nonEmpty, rejected int
	var empty []string
	for i, r := range results {
		for _, p := range r.problems {
			t.Errorf("%s: %s", queries[i], p)
		}
		switch {
		case r.rejected:
			rejected++
		case r.nonEmpty:
			nonEmpty++
		default:
			empty = append(empty, queries[i])
		}
	}
	for q := range rejectedLogQL {
		if !slices.Contains(queries, q) {
			t.Errorf("rejectedLogQL lists %s, which is not in the table", q)
		}
	}
	t.Logf("compared %d LogQL queries: %d with non-empty results, %d rejected by both, %d empty: %q",
		len(queries), nonEmpty, rejected, len(empty), empty)
	if nonEmpty*10 < len(queries)*8 {
		t.Errorf("only %d of %d queries have results: the fixture no longer fits the table", nonEmpty, len(queries))
	}
}

// compareLogQL runs query number i of the table both ways and describes differences.
func compareLogQL(f *fixture, i int, q string) (nonEmpty, rejected bool, problems []string) {
	ctx := context.Background()
	expr, err := logql.Parse(q)
	if err != nil {
		return false, false, []string{err.Error()}
	}
	// both reports whether both sides succeeded; a failure must be a listed rejection
	// on both sides.
	both := func(what string, err, werr error) bool {
		if err == nil && werr == nil {
			return true
		}
		reason, ok := rejectedLogQL[q]
		if !ok || err == nil || werr == nil || !strings.Contains(err.Error(), reason) || !strings.Contains(werr.Error(), reason) {
			problems = append(problems, fmt.Sprintf("%s: querier error %v, in memory %v", what, err, werr))
		} else {
			rejected = true
		}
		return false
	}
	switch e := expr.(type) {
	case *logql.LogQueryExpr:
		for _, v := range []struct {
			forward, categorize bool
			limit               int
			start, end          time.Time
		}{
			{false, false, 1000, base.Add(-time.Minute), base.Add(10 * time.Minute)},
			{true, true, 7, base.Add(170 * time.Second), base.Add(300 * time.Second)},
		}[:1+min(1, (i+1)%3)] {
			lq := lokiQuery{query: q, start: v.start.UnixNano(), end: v.end.UnixNano(), limit: v.limit, forward: v.forward,
				categorize: v.categorize, step: time.Second}
			what := fmt.Sprintf("forward=%v limit=%d", v.forward, v.limit)
			got, _, err := f.q.runQuery(ctx, tenantA, lq)
			want, werr := f.memLogsOf(e, lq)
			if !both(what, err, werr) {
				continue
			}
			if !reflect.DeepEqual(got, want) {
				problems = append(problems, fmt.Sprintf("%s:\n got %v\nwant %v", what, got, want))
			}
			nonEmpty = nonEmpty || len(want) > 0
		}
	case logql.SampleExpr:
		shift := maxOffset(e)
		windows := []struct {
			start, end time.Time
			step       time.Duration
		}{
			{base, base.Add(7 * time.Minute), time.Minute},
			{base.Add(13 * time.Second), base.Add(430 * time.Second), 7 * time.Second},
			{base.Add(250 * time.Second), base.Add(250 * time.Second), 0}, // instant
		}
		windows = slices.Delete(windows, 1-i%2, 2-i%2) // one range shape
		if i%3 != 0 {
			windows = windows[:1]
		}
		for _, w := range windows {
			lq := lokiQuery{query: q, start: w.start.Add(shift).UnixNano(), end: w.end.Add(shift).UnixNano(), step: w.step, instant: w.step == 0, limit: 100}
			what := fmt.Sprintf("step %s", w.step)
			got, _, err := f.q.runQuery(ctx, tenantA, lq)
			p := logql.Params{Start: lq.start, End: lq.end, Step: lq.step, MaxSeries: f.q.cfg.MaxSeries}
			want, werr := logql.EvalMetric(ctx, e, p, f.memSource(tenantA))
			if !both(what, err, werr) {
				continue
			}
			if diff := diffValues(got, want); diff != "" {
				problems = append(problems, fmt.Sprintf("%s: %s\n got %s\nwant %s", what, diff, brief(got), brief(want)))
			}
			nonEmpty = nonEmpty || !isEmptyValue(want)
		}
	default:
		problems = append(problems, fmt.Sprintf("unexpected expression %T", expr))
	}
	return nonEmpty, rejected, problems
}

// memLogsOf is memLogs for a parsed query.
func (f *fixture) memLogsOf(e *logql.LogQueryExpr, lq lokiQuery) (logql.Streams, error) {
	var entries []logql.Entry
	for _, r := range f.rows(tenantA, lq.forward) {
		if ts := r.Entry.Timestamp; ts >= lq.start && ts < lq.end && logql.MatchesLabels(e.Matchers, r.Entry.Stream) {
			entries = append(entries, r.Entry)
		}
	}
	s, err := logql.EvalLogs(context.Background(), e, logql.NewSliceIterator(entries), logql.EvalLogsParams{Limit: lq.limit, Categorize: lq.categorize})
	if s == nil && err == nil {
		s = logql.Streams{}
	}
	return s, err
}

// maxOffset is the largest offset of e's range aggregations.
func maxOffset(e logql.Expr) time.Duration {
	var d time.Duration
	logql.Walk(e, func(e logql.Expr) {
		if ra, ok := e.(*logql.RangeAggregationExpr); ok {
			d = max(d, ra.Range.Offset)
		}
	})
	return d
}

func isEmptyValue(v logql.Value) bool {
	switch r := v.(type) {
	case logql.Matrix:
		return len(r) == 0
	case logql.Vector:
		return len(r) == 0
	}
	return false
}

// sameFloat allows for the rounding of sums taken in another order (ClickHouse
// aggregates pushed-down counts in its own order).
func sameFloat(a, b float64) bool {
	if a == b || math.IsNaN(a) && math.IsNaN(b) {
		return true
	}
	return math.Abs(a-b) <= 1e-9*max(1, math.Abs(a), math.Abs(b))
}

// diffValues describes how got differs from want, or returns "".
func diffValues(got, want logql.Value) string {
	got, want = normalize(got), normalize(want)
	switch w := want.(type) {
	case logql.Matrix:
		g, ok := got.(logql.Matrix)
		if !ok {
			return fmt.Sprintf("got a %T, want a matrix", got)
		}
		if len(g) != len(w) {
			return fmt.Sprintf("%d series, want %d", len(g), len(w))
		}
		for i := range w {
			if !reflect.DeepEqual(g[i].Labels, w[i].Labels) {
				return fmt.Sprintf("series %d is %s, want %s", i, g[i].Labels, w[i].Labels)
			}
			if len(g[i].Points) != len(w[i].Points) {
				return fmt.Sprintf("series %s has %d points, want %d", w[i].Labels, len(g[i].Points), len(w[i].Points))
			}
			for j, p := range w[i].Points {
				if q := g[i].Points[j]; q.T != p.T || !sameFloat(q.V, p.V) {
					return fmt.Sprintf("series %s point %d is %v, want %v", w[i].Labels, j, q, p)
				}
			}
		}
	case logql.Vector:
		g, ok := got.(logql.Vector)
		if !ok {
			return fmt.Sprintf("got a %T, want a vector", got)
		}
		if len(g) != len(w) {
			return fmt.Sprintf("%d samples, want %d", len(g), len(w))
		}
		for i, s := range w {
			if !reflect.DeepEqual(g[i].Labels, s.Labels) || g[i].T != s.T || !sameFloat(g[i].V, s.V) {
				return fmt.Sprintf("sample %d is %v, want %v", i, g[i], s)
			}
		}
	default:
		if !reflect.DeepEqual(got, want) {
			return "values differ"
		}
	}
	return ""
}

// TestTraceQLTableMatchesInMemory runs every valid query of traceql's parse table
// through /api/search (ClickHouse prefilter, whole traces evaluated) and by traceql
// over the fixture's traces in memory. The traces found, their order, and each
// spanset's spans, match count and attributes must be equal.
func TestTraceQLTableMatchesInMemory(t *testing.T) {
	queries, err := testqueries.Load(testqueries.Path("traceql"))
	if err != nil {
		t.Fatal(err)
	}
	f := newTableFixture(t)
	byTrace := map[string][]clickhouse.Span{}
	for _, r := range f.traces {
		s := r.Row()
		byTrace[s.TraceID] = append(byTrace[s.TraceID], s)
	}
	var nonEmpty int
	var empty []string
	for _, q := range queries {
		query, err := traceql.Parse(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		anyResult := false
		for _, w := range []struct{ start, end time.Time }{
			{base.Add(-time.Minute), base.Add(time.Hour)},
			{base.Add(70 * time.Second), base.Add(150 * time.Second)},
		} {
			r := f.get("/api/search?" + qs("q", q, "limit", "1000", "spss", "1000",
				"start", strconv.FormatInt(w.start.Unix(), 10), "end", strconv.FormatInt(w.end.Unix(), 10)))
			if r.status != http.StatusOK {
				t.Errorf("%s: %d %s", q, r.status, r.body)
				continue
			}
			var resp searchResponse
			if err := json.Unmarshal([]byte(r.body), &resp); err != nil {
				t.Fatal(err)
			}
			got := make([]traceMatch, 0, len(resp.Traces))
			for _, tr := range resp.Traces {
				m := traceMatch{id: tr.TraceID, head: fmt.Sprintf("%s/%s start %s, %d ms", tr.RootServiceName, tr.RootTraceName, tr.StartTimeUnixNano, tr.DurationMs)}
				for _, set := range tr.SpanSets {
					m.sets = append(m.sets, spansetOf(set.Matched, set.Spans, set.Attributes))
				}
				got = append(got, m)
			}
			// The end is inclusive to the second, as in searchRange.
			want := memSearch(query, byTrace, w.start.UnixNano(), w.end.Add(time.Second).UnixNano()-1)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s [%s, %s):\n got %v\nwant %v", q, w.start.Format(time.TimeOnly), w.end.Format(time.TimeOnly), got, want)
			}
			anyResult = anyResult || len(want) > 0
		}
		if anyResult {
			nonEmpty++
		} else {
			empty = append(empty, q)
		}
	}
	t.Logf("compared %d TraceQL queries, %d with non-empty results; empty: %q", len(queries), nonEmpty, empty)
	if nonEmpty*10 < len(queries)*8 {
		t.Errorf("only %d of %d queries have results: the fixture no longer fits the table", nonEmpty, len(queries))
	}
}

// traceMatch is a found trace, comparable between search responses and memory: its
// id, root, bounds and spansets.
type traceMatch struct {
	id   string
	head string
	sets []string
}

func (m traceMatch) String() string { return m.id + " (" + m.head + ")" + strings.Join(m.sets, "") }

// spansetOf renders a spanset: the spans with the attributes shown for each, and the
// set's own attributes.
func spansetOf(matched int, spans []searchSpan, attrs []keyValue) string {
	ids := make([]string, 0, len(spans))
	for _, s := range spans {
		shown, _ := json.Marshal(s.Attributes)
		ids = append(ids, s.SpanID+string(shown))
	}
	a, _ := json.Marshal(attrs)
	return fmt.Sprintf("{%d: %s %s}", matched, strings.Join(ids, " "), a)
}

// memSearch is the reference search: every trace with a span starting in [start,
// end), evaluated whole by traceql, newest first as search orders them.
func memSearch(q *traceql.Query, byTrace map[string][]clickhouse.Span, start, end int64) []traceMatch {
	type found struct {
		start int64
		m     traceMatch
	}
	var all []found
	for id, rows := range byTrace {
		rows = clickhouse.DedupSpans(slices.Clone(rows))
		inRange := false
		first := rows[0].Start
		spans := make([]traceql.Span, len(rows))
		for i := range rows {
			spans[i] = rows[i].TraceQL()
			inRange = inRange || rows[i].Start >= start && rows[i].Start < end
			first = min(first, rows[i].Start)
		}
		if !inRange {
			continue
		}
		sets := q.EvalSpansets(spans)
		if len(sets) == 0 {
			continue
		}
		b, e, root := traceBounds(rows)
		rootName := "<root span not yet received>/"
		if root != nil {
			rootName = root.ServiceName + "/" + root.Name
		}
		m := traceMatch{id: strings.TrimLeft(id, "0"), head: fmt.Sprintf("%s start %d, %d ms", rootName, b, (e-b)/int64(time.Millisecond))}
		for _, set := range sets {
			var ss []searchSpan
			for _, s := range set.Spans {
				sp := searchSpan{SpanID: s.SpanID}
				for _, a := range shownAttributes(q) {
					if v, ok := attrOf(&s, a); ok {
						sp.Attributes = append(sp.Attributes, keyValue{Key: a.Name, Value: toAnyValue(v)})
					}
				}
				ss = append(ss, sp)
			}
			var attrs []keyValue
			for _, kv := range set.Attributes {
				attrs = append(attrs, keyValue{Key: kv.Key, Value: toAnyValue(kv.Value)})
			}
			m.sets = append(m.sets, spansetOf(len(set.Spans), ss, attrs))
		}
		all = append(all, found{first, m})
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].start != all[j].start {
			return all[i].start > all[j].start
		}
		return all[i].m.id < all[j].m.id
	})
	out := make([]traceMatch, 0, len(all))
	for _, a := range all {
		out = append(out, a.m)
	}
	return out
}
