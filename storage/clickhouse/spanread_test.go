package clickhouse_test

import (
	"context"
	"encoding/hex"
	"reflect"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/strataobs/strata/storage/clickhouse"
	"github.com/strataobs/strata/storage/clickhouse/chtest"
	"github.com/strataobs/strata/traceql"
)

var spanBase = time.Date(2026, 11, 24, 23, 58, 0, 0, time.UTC)

const fixtureTraces = 40

// spanFixture writes 40 traces for tenant "a" (crossing midnight), 5 for "b", and
// copies of trace 3's spans under another flush id.
func spanFixture(t *testing.T) (*clickhouse.Client, map[string][]clickhouse.Span) {
	c := chtest.New(t)
	recs := chtest.SampleTraces("a", spanBase, fixtureTraces, 1)
	chtest.WriteSpans(t, c, recs)
	chtest.WriteSpans(t, c, chtest.SampleTraces("b", spanBase, 5, 2))
	var copies []chtest.SpanRecord
	for _, r := range recs {
		if hex.EncodeToString(r.Span.TraceId) == hex.EncodeToString(chtest.TraceID(3)) {
			r.FlushID = 999
			copies = append(copies, r)
		}
	}
	chtest.WriteSpans(t, c, copies)
	traces := map[string][]clickhouse.Span{}
	for _, r := range recs {
		s := r.Row()
		traces[s.TraceID] = append(traces[s.TraceID], s)
	}
	for id := range traces {
		traces[id] = clickhouse.DedupSpans(traces[id])
	}
	return c, traces
}

func TestTracesByID(t *testing.T) {
	c, want := spanFixture(t)
	ids := []string{hex.EncodeToString(chtest.TraceID(3)), hex.EncodeToString(chtest.TraceID(39)), "00000000000000000000000000000001"}
	got, err := c.Traces(context.Background(), "a", ids, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("got %d traces, want 2 (the third id does not exist)", len(got))
	}
	for _, id := range ids[:2] {
		if !reflect.DeepEqual(got[id], want[id]) {
			t.Errorf("trace %s:\n got %+v\nwant %+v", id, got[id], want[id])
		}
	}
	other, err := c.Traces(context.Background(), "b", ids[:1], nil)
	if err != nil || len(other[ids[0]]) != 4 {
		t.Errorf("tenant b's trace 3: %d spans, %v", len(other[ids[0]]), err)
	}
	none, err := c.Traces(context.Background(), "nobody", ids, nil)
	if err != nil || len(none) != 0 {
		t.Errorf("tenant nobody sees %d traces, %v", len(none), err)
	}
	excluded, err := c.Traces(context.Background(), "a", ids[1:2], []uint64{103})
	if err != nil || len(excluded) != 0 {
		t.Errorf("trace 39 with its flush excluded: %d traces, %v", len(excluded), err)
	}
	// One id at a time (trace by id, its range found in the same statement): every
	// trace, those crossing midnight too, comes back whole, repeats merged.
	for id, spans := range want {
		one, err := c.Traces(context.Background(), "a", []string{id}, nil)
		if err != nil || len(one) != 1 || !reflect.DeepEqual(one[id], spans) {
			t.Fatalf("trace %s alone: %d traces (%v), spans %+v\nwant %+v", id, len(one), err, one[id], spans)
		}
	}
	for _, tc := range []struct{ tenant, id string }{{"a", ids[2]}, {"nobody", ids[0]}} {
		if got, err := c.Traces(context.Background(), tc.tenant, []string{tc.id}, nil); err != nil || len(got) != 0 {
			t.Errorf("tenant %s, trace %s alone: %d traces, %v; want none", tc.tenant, tc.id, len(got), err)
		}
	}
}

// searchQueries are TraceQL queries Grafana and users send; for each, the candidates
// SQL returns must include every trace Go's Eval matches.
var searchQueries = []string{
	`{}`,
	`{resource.service.name="checkout"}`,
	`{resource.service.name="checkout" && name="POST /pay"}`,
	`{.service.name=~"front.*"}`,
	`{status=error}`,
	`{status!=error && kind=server}`,
	`{duration>1s}`,
	`{duration<=500ms && span.db.system="clickhouse"}`,
	`{span.http.status_code=500}`,
	`{span.http.status_code>=404 && span.http.method="GET"}`,
	`{span.http.status_code="500"}`,
	`{span.amount>50.5}`,
	`{span.amount<10}`,
	`{span.retry=true}`,
	`{span.retry!=true}`,
	`{.peer.service="checkout"}`,
	`{resource.cloud.region="eu"} && {resource.k8s.pod.name="fe-1"}`,
	`{resource.cloud.region="eu"} >> {name="SELECT orders"}`,
	`{name="GET /checkout"} || {status=error}`,
	`{span.nope!=nil}`,
	`{span.nope=nil && name="POST checkout"}`,
	`{(name="POST /pay" || name="SELECT orders") && status=error}`,
	`{statusMessage=~"dead.*"}`,
	`{traceDuration>1s}`,
	`{rootServiceName="frontend" && kind=client}`,
	`{span.http.status_code=500} | count() > 0`,
	`{trace:id="` + "ab000303040506070809" + `0a0b0c0d0e0f"}`,
}

func TestSearchTracesIsSuperset(t *testing.T) {
	c, traces := spanFixture(t)
	start, end := spanBase.UnixNano(), spanBase.Add(time.Hour).UnixNano()
	for _, qs := range searchQueries {
		q, err := traceql.Parse(qs)
		if err != nil {
			t.Fatalf("parse %s: %v", qs, err)
		}
		refs, err := c.SearchTraces(context.Background(), clickhouse.SpanSearch{Tenant: "a", Start: start, End: end, Groups: q.Pushdown().Spansets, Limit: 1000})
		if err != nil {
			t.Fatalf("%s: %v", qs, err)
		}
		cand := map[string]bool{}
		for _, r := range refs {
			cand[r.TraceID] = true
		}
		matched := 0
		for id, spans := range traces {
			ts := make([]traceql.Span, len(spans))
			for i := range spans {
				ts[i] = spans[i].TraceQL()
			}
			if _, ok := q.Eval(ts); ok {
				matched++
				if !cand[id] {
					t.Errorf("%s: trace %s matches in Go but is no SQL candidate", qs, id)
				}
			}
		}
		t.Logf("%-70s %2d candidates, %2d match", qs, len(refs), matched)
	}
}

func TestSearchTracesPagesNewestFirst(t *testing.T) {
	c, _ := spanFixture(t)
	s := clickhouse.SpanSearch{Tenant: "a", Start: spanBase.UnixNano(), End: spanBase.Add(time.Hour).UnixNano(), Limit: 7}
	var all []clickhouse.TraceRef
	for {
		page, err := c.SearchTraces(context.Background(), s)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		if len(page) < s.Limit {
			break
		}
		s.After = &page[len(page)-1]
	}
	if len(all) != fixtureTraces {
		t.Fatalf("paged through %d traces, want %d", len(all), fixtureTraces)
	}
	if !sort.SliceIsSorted(all, func(i, j int) bool { return all[i].Last > all[j].Last }) {
		t.Errorf("traces not newest first: %v", all)
	}
}

func TestSpanTags(t *testing.T) {
	c, _ := spanFixture(t)
	ctx := context.Background()
	start, end := spanBase.UnixNano(), spanBase.Add(time.Hour).UnixNano()
	span, err := c.SpanTagNames(ctx, "a", start, end, false, 100)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.SpanTagNames(ctx, "a", start, end, true, 100)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"amount", "db.system", "http.method", "http.status_code", "peer.service", "retry"}; !slices.Equal(span, want) {
		t.Errorf("span tags %v, want %v", span, want)
	}
	if want := []string{"cloud.region", "k8s.pod.name", "service.name"}; !slices.Equal(res, want) {
		t.Errorf("resource tags %v, want %v", res, want)
	}
	vals := func(q string, filter string) []traceql.Value {
		t.Helper()
		attr, err := traceql.Parse("{" + q + "!=nil}")
		if err != nil {
			t.Fatal(err)
		}
		a := attr.Pushdown().Spansets[0][0].Attr
		var conds []traceql.Condition
		if filter != "" {
			fq, err := traceql.Parse(filter)
			if err != nil {
				t.Fatal(err)
			}
			conds = fq.Pushdown().Spansets[0]
		}
		v, err := c.SpanTagValues(ctx, clickhouse.TagValuesQuery{Tenant: "a", Start: start, End: end, Attr: a, Conditions: conds, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if got := vals("resource.service.name", ""); !reflect.DeepEqual(got, []traceql.Value{traceql.StringValue("checkout"), traceql.StringValue("frontend")}) {
		t.Errorf("service names %v", got)
	}
	if got := vals("span.http.status_code", ""); !reflect.DeepEqual(got, []traceql.Value{traceql.IntValue(200), traceql.IntValue(404), traceql.IntValue(500)}) {
		t.Errorf("status codes %v", got)
	}
	if got := vals("name", `{resource.service.name="checkout"}`); !reflect.DeepEqual(got, []traceql.Value{traceql.StringValue("POST /pay"), traceql.StringValue("SELECT orders")}) {
		t.Errorf("checkout span names %v", got)
	}
	if got := vals("status", ""); len(got) == 0 || got[0].Type != traceql.TypeStatus {
		t.Errorf("status values %v", got)
	}
	if got := vals("span.retry", ""); !reflect.DeepEqual(got, []traceql.Value{traceql.BoolValue(false), traceql.BoolValue(true)}) {
		t.Errorf("retry values %v", got)
	}
}

func TestServiceStats(t *testing.T) {
	c, traces := spanFixture(t)
	start, end := spanBase.UnixNano(), spanBase.Add(time.Hour).UnixNano()
	stats, err := c.ServiceStats(context.Background(), "a", start, end, int64(time.Minute), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][2]uint64{}
	for _, spans := range traces {
		for _, s := range spans {
			w := want[s.ServiceName]
			w[0]++
			if s.StatusCode == 2 {
				w[1]++
			}
			want[s.ServiceName] = w
		}
	}
	perBucket := map[string]uint64{}
	for _, s := range stats {
		if s.Bucket == -1 {
			if got := [2]uint64{s.Spans, s.Errors}; got != want[s.Service] {
				t.Errorf("%s: spans, errors = %v, want %v", s.Service, got, want[s.Service])
			}
			if s.P50 <= 0 || s.P99 < s.P50 {
				t.Errorf("%s: quantiles %v %v %v", s.Service, s.P50, s.P95, s.P99)
			}
			continue
		}
		perBucket[s.Service] += s.Spans
	}
	for svc, w := range want {
		if perBucket[svc] != w[0] {
			t.Errorf("%s: buckets sum to %d spans, want %d", svc, perBucket[svc], w[0])
		}
	}
}
