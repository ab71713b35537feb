package clickhouse_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/strataobs/strata/logql"
	"github.com/strataobs/strata/storage/clickhouse"
	"github.com/strataobs/strata/storage/clickhouse/chtest"
)

// Stream matchers are answered from log_streams. Writes store each stream once per day
// before its rows, and a database whose log_streams is lost or predates it is filled
// in from the rows by the migration: either way a label-matcher count sees every row.
func TestLogStreamsWrittenAndBackfilled(t *testing.T) {
	c := chtest.New(t)
	ctx := context.Background()
	base := time.Date(2026, 11, 24, 22, 0, 0, 0, time.UTC)
	recs := chtest.SampleLogsEvery("t1", base, 3000, 5, 2*time.Second) // crosses midnight
	chtest.WriteLogs(t, c, recs)

	type key struct {
		day    string
		stream uint64
	}
	want := map[key]bool{}
	prod := map[string]uint64{} // prod rows by service
	for _, r := range recs {
		want[key{time.Unix(0, r.Record.Timestamp).UTC().Format(time.DateOnly), r.Stream.StreamId}] = true
		for _, l := range r.Stream.Labels {
			if l.Name == "deployment_environment" && l.Value == "prod" {
				prod[r.Resource.ServiceName]++
			}
		}
	}
	if len(prod) == 0 {
		t.Fatal("fixture has no deployment_environment=prod stream")
	}
	streamRows := func() (rows, distinct uint64) {
		t.Helper()
		q := fmt.Sprintf("SELECT count(), uniqExact(day, stream_id) FROM %s.log_streams WHERE tenant = 't1'", c.Database())
		if err := c.Conn().QueryRow(ctx, q).Scan(&rows, &distinct); err != nil {
			t.Fatal(err)
		}
		return rows, distinct
	}
	// One INSERT per flush id: the client writes a stream only the first time it sees it.
	if rows, distinct := streamRows(); distinct != uint64(len(want)) || rows != distinct {
		t.Errorf("log_streams holds %d rows of %d (day, stream) pairs; want %d, once each", rows, distinct, len(want))
	}
	countProd := func() map[string]uint64 {
		t.Helper()
		out, err := c.CountLogs(ctx, clickhouse.LogCountQuery{
			LogFilter: clickhouse.LogFilter{Tenant: "t1", Start: base.Add(-time.Hour).UnixNano(), End: base.Add(3 * time.Hour).UnixNano(),
				Matchers: []*logql.Matcher{{Type: logql.MatchEqual, Name: "deployment_environment", Value: "prod"}}},
			Base: base.UnixNano(), Width: int64(24 * time.Hour), By: []string{"service_name"},
		})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]uint64{}
		for _, lc := range out {
			got[lc.Values[0]] += lc.Count
		}
		return got
	}
	if got := countProd(); fmt.Sprint(got) != fmt.Sprint(prod) {
		t.Errorf("prod rows by service = %v, want %v", got, prod)
	}

	// Lose the rows of log_streams and the record of its migration: migrating again
	// rebuilds them.
	for _, q := range []string{"TRUNCATE TABLE %s.log_streams", "DROP TABLE %s.schema_migrations"} {
		if err := c.Conn().Exec(ctx, fmt.Sprintf(q, c.Database())); err != nil {
			t.Fatal(err)
		}
	}
	if got := countProd(); len(got) != 0 {
		t.Fatalf("count without log_streams = %v; the query does not go through log_streams", got)
	}
	if err := c.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, distinct := streamRows(); distinct != uint64(len(want)) {
		t.Errorf("backfilled log_streams holds %d (day, stream) pairs, want %d", distinct, len(want))
	}
	if got := countProd(); fmt.Sprint(got) != fmt.Sprint(prod) {
		t.Errorf("after backfill, prod rows by service = %v, want %v", got, prod)
	}
}
