package querier

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/strataobs/strata/logql"
	"github.com/strataobs/strata/storage/clickhouse"
)

// fakeRecent plays the ingesters: it holds some records only in memory, some that
// are also stored under a flush id it reports as held, and some replica copies of
// stored records, each returned twice (two replicas).
type fakeRecent struct {
	logs    []clickhouse.LogRow
	spans   []clickhouse.Span
	exclude []uint64
	calls   int
}

func (r *fakeRecent) Logs(_ context.Context, tenant string, q RecentLogQuery) (RecentLogs, error) {
	r.calls++
	if tenant != tenantA {
		return RecentLogs{}, nil
	}
	// A superset on purpose (no range or matcher filtering): the querier must cope.
	rows := append(slices.Clone(r.logs), r.logs...)
	return RecentLogs{Rows: rows, ExcludeFlushIDs: r.exclude}, nil
}

func (r *fakeRecent) Spans(_ context.Context, tenant string, q RecentSpanQuery) (RecentSpans, error) {
	r.calls++
	if tenant != tenantA {
		return RecentSpans{}, nil
	}
	var out []clickhouse.Span
	for _, s := range append(slices.Clone(r.spans), r.spans...) {
		if len(q.TraceIDs) > 0 && slices.Contains(q.TraceIDs, s.TraceID) || len(q.TraceIDs) == 0 && s.Start >= q.Start && s.Start < q.End {
			out = append(out, s)
		}
	}
	return RecentSpans{Spans: out, ExcludeFlushIDs: r.exclude}, nil
}

// Records i%5 == 0 live only in memory; flush 3 (records 100-149) is stored and held;
// records i%5 == 1 are stored and also held by a replica. Spans: i%3 == 0 only in
// memory, flush 101 stored and held, i%3 == 1 both.
func newRecentFixture(t *testing.T) (*fixture, *fakeRecent) {
	recent := &fakeRecent{exclude: []uint64{3, 101}}
	f := newFixtureStoring(t, func(i int) bool { return i%5 != 0 }, func(i int) bool { return i%3 != 0 },
		func(_ *Config, d *Deps) { d.Recent = recent })
	for i, r := range f.logs {
		if i%5 <= 1 || r.FlushID == 3 {
			recent.logs = append(recent.logs, r.Row())
		}
	}
	for i, r := range f.traces {
		if i%3 <= 1 || r.FlushID == 101 {
			recent.spans = append(recent.spans, r.Row())
		}
	}
	return f, recent
}

func TestRecentMergeIsExact(t *testing.T) {
	f, recent := newRecentFixture(t)
	ctx := context.Background()
	for _, q := range logQueries {
		for _, forward := range []bool{false, true} {
			lq := lokiQuery{query: q, start: base.UnixNano(), end: base.Add(time.Hour).UnixNano(), limit: 1000, forward: forward, step: time.Second}
			got, _, err := f.q.runQuery(ctx, tenantA, lq)
			if err != nil {
				t.Fatal(err)
			}
			if want := f.memLogs(tenantA, lq); !reflect.DeepEqual(got, want) {
				t.Errorf("%s forward=%v: merged result differs from the full data set", q, forward)
			}
		}
	}
	for _, mq := range metricQueries {
		lq := lokiQuery{query: mq.query, start: base.UnixNano(), end: base.Add(7 * time.Minute).UnixNano(), step: 30 * time.Second, limit: 100}
		got, _, err := f.q.runQuery(ctx, tenantA, lq)
		if err != nil {
			t.Fatal(err)
		}
		expr, _ := logql.ParseSampleExpr(mq.query)
		want, err := logql.EvalMetric(ctx, expr, logql.Params{Start: lq.start, End: lq.end, Step: lq.step}, f.memSource(tenantA))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(normalize(got), normalize(want)) {
			t.Errorf("%s: merged\n got %s\nwant %s", mq.query, brief(got), brief(want))
		}
	}
	if recent.calls == 0 {
		t.Fatal("Recent was never asked")
	}
}

func TestRecentMergeSpans(t *testing.T) {
	f, _ := newRecentFixture(t)
	ctx := context.Background()
	for i := 0; i < 30; i++ {
		id := traceHex(i)
		got, err := f.q.trace(ctx, tenantA, id)
		if err != nil {
			t.Fatal(err)
		}
		if want := f.spanRows(id); !reflect.DeepEqual(got, want) {
			t.Errorf("trace %d: %d spans, want %d", i, len(got), len(want))
		}
	}
	sr, err := f.q.parseSearch(&tempoRequest{form: map[string][]string{"q": {`{status=error}`}, "limit": {"100"},
		"start": {"0"}, "end": {"0"}}})
	if err != nil {
		t.Fatal(err)
	}
	sr.start, sr.end = base.UnixNano(), base.Add(time.Hour).UnixNano()
	resp, err := f.q.search(ctx, tenantA, sr)
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for i := 0; i < 30; i++ {
		for _, s := range f.spanRows(traceHex(i)) {
			if s.StatusCode == 2 {
				want++
				break
			}
		}
	}
	if len(resp.Traces) != want {
		t.Errorf("search over memory and storage found %d traces, want %d", len(resp.Traces), want)
	}
	seen := map[string]bool{}
	for _, tr := range resp.Traces {
		if seen[tr.TraceID] {
			t.Errorf("trace %s returned twice", tr.TraceID)
		}
		seen[tr.TraceID] = true
	}
}

// TestLimitReadsNoExtraPage: a log query stops reading storage at its limit. Looking
// one storage row ahead made the storage iterator read one more SQL page than the
// rows it returns need, which on 18.16 costs a whole time window (the newest 1,000
// lines of 10M: 1.5 s instead of 0.5 s).
func TestLimitReadsNoExtraPage(t *testing.T) {
	f := newFixture(t)
	e, err := logql.ParseLogQuery(`{service_name=~".+"}`)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, limit := range []int{1, 100, 350} {
		q := clickhouse.LogQuery{
			LogFilter: clickhouse.LogFilter{Tenant: tenantA, Start: base.UnixNano(), End: base.Add(400 * time.Second).UnixNano(), Matchers: e.Matchers},
			PageSize:  limit,
		}
		// The pages that reading exactly limit rows takes.
		ref := f.store.SelectLogs(ctx, q)
		for n := 0; n < limit && ref.Next(); n++ {
		}
		store := f.store.SelectLogs(ctx, q)
		streams, err := logql.EvalLogs(ctx, e, newRowIterator(store, nil, false), logql.EvalLogsParams{Limit: limit})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, s := range streams {
			n += len(s.Entries)
		}
		if n != limit || store.Pages() != ref.Pages() {
			t.Errorf("limit %d: %d lines from %d SQL pages, want %d from %d", limit, n, store.Pages(), limit, ref.Pages())
		}
	}
}
