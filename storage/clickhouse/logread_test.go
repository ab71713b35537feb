package clickhouse_test

import (
	"cmp"
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/strataobs/strata/logql"
	pb "github.com/strataobs/strata/proto/strata/v1"
	"github.com/strataobs/strata/storage/clickhouse"
	"github.com/strataobs/strata/storage/clickhouse/chtest"
)

var logBase = time.Date(2026, 11, 24, 23, 55, 0, 0, time.UTC) // the data crosses midnight: two partitions

// logFixture writes 400 records for tenant "a", 50 for "b", and copies of 40 "a"
// records under another flush id (as a failover would leave them).
func logFixture(t *testing.T) (*clickhouse.Client, []chtest.LogRecord) {
	c := chtest.New(t)
	recs := chtest.SampleLogs("a", logBase, 400, 1)
	chtest.WriteLogs(t, c, recs)
	chtest.WriteLogs(t, c, chtest.SampleLogs("b", logBase, 50, 2))
	copies := slices.Clone(recs[100:140])
	for i := range copies {
		copies[i].FlushID = 999
	}
	chtest.WriteLogs(t, c, copies)
	return c, recs
}

func parseLog(t *testing.T, q string) *logql.LogQueryExpr {
	t.Helper()
	e, err := logql.Parse(q)
	if err != nil {
		t.Fatalf("parse %s: %v", q, err)
	}
	lq, ok := e.(*logql.LogQueryExpr)
	if !ok {
		t.Fatalf("%s is not a log query", q)
	}
	return lq
}

// referenceRows applies a filter to the fixture in Go: the answer SelectLogs must give.
func referenceRows(t *testing.T, recs []chtest.LogRecord, f clickhouse.LogFilter, lq *logql.LogQueryExpr, forward bool) []clickhouse.LogRow {
	pipe, err := logql.NewPipeline(&logql.LogQueryExpr{Matchers: lq.Matchers, Pipeline: stages(lq.LeadingLineFilters())})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[uint64]bool{}
	var out []clickhouse.LogRow
	for _, r := range recs {
		row := r.Row()
		e := row.Entry
		if r.Tenant != f.Tenant || e.Timestamp < f.Start || e.Timestamp >= f.End || seen[row.ID] ||
			slices.Contains(f.ExcludeFlushIDs, r.FlushID) || slices.Contains(f.ExcludeIDs, row.ID) || !logql.MatchesLabels(f.Matchers, e.Stream) {
			continue
		}
		if _, _, ok := pipe.Process(e); !ok {
			continue
		}
		seen[row.ID] = true
		out = append(out, row)
	}
	slices.SortFunc(out, func(a, b clickhouse.LogRow) int {
		c := cmp.Compare(a.Entry.Timestamp, b.Entry.Timestamp)
		if !forward {
			c = -c
		}
		return cmp.Or(c, cmp.Compare(a.ID, b.ID))
	})
	return out
}

func stages(lfs []*logql.LineFilterStage) []logql.Stage {
	out := make([]logql.Stage, len(lfs))
	for i, lf := range lfs {
		out[i] = lf
	}
	return out
}

func collect(t *testing.T, it *clickhouse.LogIterator) []clickhouse.LogRow {
	t.Helper()
	var out []clickhouse.LogRow
	for it.Next() {
		out = append(out, it.At())
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

var logQueries = []string{
	`{service_name="checkout"}`,
	`{service_name=~".+", service_name!="checkout"}`,
	`{service_name=~"check.*|web-.+"}`,
	`{service_name=~".+", service_name!~"check.*"}`,
	`{deployment_environment="prod"}`,
	`{service_name=~".+", deployment_environment=""}`,
	`{deployment_environment=~"", service_name=~".+"}`,
	`{service_name=~".+"} |= "timeout"`,
	`{service_name=~".+"} != "timeout" != "GET"`,
	`{service_name=~".+"} |= "GET" or "POST"`,
	`{service_name=~".+"} |~ "(?i)TIMEOUT|boom"`,
	`{service_name=~".+"} !~ "[0-9]{3}"`,
	`{service_name=~".+"} |~ "multi.line"`,
	`{service_name=~".+"} !~ "multi.line"`,
	`{service_name=~".+"} |= "'quoted' \\"`,
	`{service_name=~".+"} |= "ünïcödé" |~ "日本"`,
	`{service_name=~".+"} |= ""`,
	`{service_name=~".+"} |= ip("10.0.0.0/8")`,
	`{service_name=~".+"} |> "<_> /cart <_>"`,
	`{service_name="nope"}`,
}

func TestSelectLogsMatchesGo(t *testing.T) {
	c, recs := logFixture(t)
	ctx := context.Background()
	ranges := [][2]int64{
		{logBase.UnixNano(), logBase.Add(time.Hour).UnixNano()},
		{logBase.Add(100 * time.Second).UnixNano(), logBase.Add(250*time.Second + 1).UnixNano()},
		{logBase.Add(299 * time.Second).UnixNano(), logBase.Add(301 * time.Second).UnixNano()},
	}
	for _, q := range logQueries {
		lq := parseLog(t, q)
		for ri, r := range ranges {
			f := clickhouse.LogFilter{Tenant: "a", Start: r[0], End: r[1], Matchers: lq.Matchers, LineFilters: lq.LeadingLineFilters()}
			for _, forward := range []bool{false, true} {
				want := referenceRows(t, recs, f, lq, forward)
				for _, page := range []int{1, 7, 1000} {
					if page == 1 && ri != 2 {
						continue // one row per page: only on the small range, it is slow
					}
					// The SQL prefilter may let through what the pipeline drops (ip, patterns).
					got := applyPipeline(t, lq, collect(t, c.SelectLogs(ctx, clickhouse.LogQuery{LogFilter: f, Forward: forward, PageSize: page})))
					if !reflect.DeepEqual(ids(got), ids(want)) {
						t.Errorf("%s range %v forward=%v page=%d:\n got %d rows %v\nwant %d rows %v", q, r, forward, page, len(got), head(ids(got)), len(want), head(ids(want)))
					}
				}
			}
		}
	}
}

func applyPipeline(t *testing.T, lq *logql.LogQueryExpr, rows []clickhouse.LogRow) []clickhouse.LogRow {
	pipe, err := logql.NewPipeline(&logql.LogQueryExpr{Matchers: lq.Matchers, Pipeline: stages(lq.LeadingLineFilters())})
	if err != nil {
		t.Fatal(err)
	}
	var out []clickhouse.LogRow
	for _, r := range rows {
		if _, _, ok := pipe.Process(r.Entry); ok {
			out = append(out, r)
		}
	}
	return out
}

func ids(rows []clickhouse.LogRow) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = fmt.Sprintf("%d/%x", r.Entry.Timestamp, r.ID)
	}
	return out
}

func head(s []string) []string { return s[:min(len(s), 5)] }

// TestSelectLogsEntries checks that a stored row reads back as exactly the entry the
// ingester side builds from the record (LogRowFromRecord): labels, metadata, body.
func TestSelectLogsEntries(t *testing.T) {
	c, recs := logFixture(t)
	readsBack(t, c, recs, 0)
	want := map[uint64]clickhouse.LogRow{}
	for _, r := range recs {
		want[r.Record.Id] = r.Row()
	}
	// One record checked by hand: the metadata names Loki 3 gives OTLP logs.
	e := want[recs[0].Record.Id].Entry
	for _, name := range []string{"http_status_code", "scope_name", "host_name"} {
		if !e.Metadata.Has(name) {
			t.Errorf("metadata %v lacks %s", e.Metadata, name)
		}
	}
	if e.Metadata.Has("service_name") && e.Metadata.Get("service_name") != "attr-svc" {
		t.Errorf("metadata service_name = %q", e.Metadata.Get("service_name"))
	}
}

func TestSelectLogsExclusions(t *testing.T) {
	c, recs := logFixture(t)
	lq := parseLog(t, `{service_name=~".+"}`)
	var someIDs, manyIDs []uint64
	for i, r := range recs {
		if i%3 == 0 {
			someIDs = append(someIDs, r.Record.Id)
		}
	}
	for i := 0; i < 3000; i++ { // more than the inline limit: an external table
		manyIDs = append(manyIDs, uint64(i)*7919)
	}
	manyIDs = append(manyIDs, someIDs...)
	for name, f := range map[string]clickhouse.LogFilter{
		"flush ids":     {ExcludeFlushIDs: []uint64{2, 3, 999}},
		"inline ids":    {ExcludeIDs: someIDs},
		"external ids":  {ExcludeIDs: manyIDs},
		"flush and ids": {ExcludeFlushIDs: []uint64{1}, ExcludeIDs: someIDs[:10]},
	} {
		f.Tenant, f.Start, f.End, f.Matchers = "a", logBase.UnixNano(), logBase.Add(time.Hour).UnixNano(), lq.Matchers
		want := referenceRows(t, recs, f, lq, false)
		got := collect(t, c.SelectLogs(context.Background(), clickhouse.LogQuery{LogFilter: f, PageSize: 50}))
		if !reflect.DeepEqual(ids(got), ids(want)) {
			t.Errorf("%s: got %d rows, want %d", name, len(got), len(want))
		}
	}
}

func TestTenantIsolationInStorage(t *testing.T) {
	c, _ := logFixture(t)
	ctx := context.Background()
	f := clickhouse.LogFilter{Tenant: "nobody", Start: logBase.UnixNano(), End: logBase.Add(time.Hour).UnixNano(), Matchers: parseLog(t, `{service_name=~".+"}`).Matchers}
	if rows := collect(t, c.SelectLogs(ctx, clickhouse.LogQuery{LogFilter: f})); len(rows) != 0 {
		t.Errorf("tenant nobody reads %d rows", len(rows))
	}
	counts, err := c.CountLogs(ctx, clickhouse.LogCountQuery{LogFilter: f, Base: f.Start, Width: int64(time.Minute)})
	if err != nil || len(counts) != 0 {
		t.Errorf("tenant nobody counts %v, %v", counts, err)
	}
	streams, err := c.Streams(ctx, clickhouse.StreamQuery{LogFilter: f, Stats: true})
	if err != nil || len(streams) != 0 {
		t.Errorf("tenant nobody sees streams %v, %v", streams, err)
	}
	f.Tenant = "b"
	for _, r := range collect(t, c.SelectLogs(ctx, clickhouse.LogQuery{LogFilter: f})) {
		if !strings.Contains(fmt.Sprint(r.Entry.Stream), "service_name") {
			t.Errorf("odd row %v", r)
		}
	}
}

// TestSelectLogsReadAhead: a line filter the blooms cannot narrow reads the rest of the
// range while the first window is read. A short first window takes the rest from the
// read ahead; a full one drops it and reads on window by window; both give the rows
// the reference gives.
func TestSelectLogsReadAhead(t *testing.T) {
	c, recs := logFixture(t)
	ctx := context.Background()
	for _, tc := range []struct {
		query     string
		end       time.Duration
		page      int
		aheadUsed int
	}{
		// The newest window of the hour is empty: everything comes from the read ahead.
		{`{service_name=~".+"} |~ "bo+m"`, time.Hour, 1000, 1},
		{`{service_name=~".+"} != "zzzz"`, time.Hour, 1000, 1},
		// The first window fills its page of 2: the read ahead is dropped.
		{`{service_name=~".+"} != "zzzz"`, 400 * time.Second, 2, 0},
		// A literal the blooms test: no read ahead.
		{`{service_name=~".+"} |= "timeout"`, time.Hour, 1000, 0},
	} {
		lq := parseLog(t, tc.query)
		for _, forward := range []bool{false, true} {
			f := clickhouse.LogFilter{Tenant: "a", Start: logBase.UnixNano(), End: logBase.Add(tc.end).UnixNano(), Matchers: lq.Matchers, LineFilters: lq.LeadingLineFilters()}
			if forward && tc.end == time.Hour {
				// Forward, the oldest window holds rows; start before them instead.
				f.Start = logBase.Add(-time.Hour).UnixNano()
			}
			it := c.SelectLogs(ctx, clickhouse.LogQuery{LogFilter: f, Forward: forward, PageSize: tc.page})
			got := collect(t, it)
			want := referenceRows(t, recs, f, lq, forward)
			if !reflect.DeepEqual(ids(got), ids(want)) {
				t.Errorf("%s forward=%v: got %d rows %v, want %d rows %v", tc.query, forward, len(got), head(ids(got)), len(want), head(ids(want)))
			}
			if it.AheadUsed() != tc.aheadUsed {
				t.Errorf("%s forward=%v: %d windows from a read ahead, want %d", tc.query, forward, it.AheadUsed(), tc.aheadUsed)
			}
			it.Close()
		}
	}
}

// TestSelectLogsManyStreams: a page whose rows come from 13,000 streams reads their
// labels in chunks (one list of them all is over the server's 256 KiB max_query_size),
// from log_streams and, when it lacks them, from the rows.
func TestSelectLogsManyStreams(t *testing.T) {
	c := chtest.New(t)
	recs := chtest.SampleLogsEvery("a", logBase, 13000, 3, 100*time.Millisecond)
	for i := range recs {
		s := recs[i].Stream
		labels := append(slices.Clone(s.Labels), &pb.Label{Name: "zpod", Value: fmt.Sprintf("pod-%05d", i)})
		recs[i].Stream = &pb.LogStream{StreamId: s.StreamId ^ uint64(i+1)*0x9e3779b97f4a7c15, Labels: labels}
	}
	chtest.WriteLogs(t, c, recs)
	readsBack(t, c, recs, 20000)
}

// readsBack checks that tenant "a"'s rows read back as exactly the entries the ingester
// side builds from recs (LogRowFromRecord), each once: with the stream labels from
// log_streams, and again with log_streams emptied through a client that has cached no
// labels, so that they come from the rows.
func readsBack(t *testing.T, c *clickhouse.Client, recs []chtest.LogRecord, page int) {
	t.Helper()
	want := map[uint64]clickhouse.LogRow{}
	for _, r := range recs {
		want[r.Record.Id] = r.Row()
	}
	f := clickhouse.LogFilter{Tenant: "a", Start: logBase.UnixNano(), End: logBase.Add(time.Hour).UnixNano(), Matchers: parseLog(t, `{service_name=~".+"}`).Matchers}
	ctx := context.Background()
	check := func(c *clickhouse.Client, what string) {
		got := collect(t, c.SelectLogs(ctx, clickhouse.LogQuery{LogFilter: f, Forward: true, PageSize: page}))
		if len(got) != len(recs) {
			t.Fatalf("%s: got %d rows, want %d (copies must be read once)", what, len(got), len(recs))
		}
		for _, g := range got {
			if w := want[g.ID]; !reflect.DeepEqual(g, w) {
				t.Fatalf("%s: row %x:\n got %+v\nwant %+v", what, g.ID, g, w)
			}
		}
	}
	check(c, "labels from log_streams")
	if err := c.Conn().Exec(ctx, "TRUNCATE TABLE "+c.Database()+".log_streams"); err != nil {
		t.Fatal(err)
	}
	cfg := chtest.Config(t)
	cfg.Database = c.Database()
	fresh, err := clickhouse.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	check(fresh, "log_streams emptied")
}
