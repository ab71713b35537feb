package clickhouse_test

import (
	"context"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/strataobs/strata/logql"
	pb "github.com/strataobs/strata/proto/strata/v1"
	"github.com/strataobs/strata/storage/clickhouse"
	"github.com/strataobs/strata/storage/clickhouse/chtest"
)

// TestTwoShardCluster runs Strata's storage on a cluster of two private ClickHouse servers,
// one shard each, with no ZooKeeper: Migrate creates the local and Distributed tables on
// both, the ingester write path spreads rows over the shards (a stream's records and a
// trace's spans together), and the querier's readers see every row.
func TestTwoShardCluster(t *testing.T) {
	addrs := chtest.StartCluster(t, 2)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	cfg := chtest.Config(t)
	cfg.Address = addrs[0]
	cfg.Cluster = chtest.ClusterName
	c, err := clickhouse.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	db := cfg.Database

	// Plain connections to each server, to look at what each shard holds.
	shards := make([]*clickhouse.Client, len(addrs))
	for i, a := range addrs {
		scfg := cfg
		scfg.Address, scfg.Cluster = a, ""
		if shards[i], err = clickhouse.Open(ctx, scfg); err != nil {
			t.Fatal(err)
		}
		defer shards[i].Close()
	}
	query := func(s *clickhouse.Client, q string) map[string]uint64 {
		t.Helper()
		rows, err := s.Conn().Query(ctx, q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		defer rows.Close()
		out := map[string]uint64{}
		for rows.Next() {
			var (
				k string
				n uint64
			)
			if err := rows.Scan(&k, &n); err != nil {
				t.Fatal(err)
			}
			out[k] = n
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	schemaOf := func(s *clickhouse.Client) map[string]string {
		rows, err := s.Conn().Query(ctx, "SELECT name, engine FROM system.tables WHERE database = "+clickhouse.Quote(db))
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[string]string{}
		for rows.Next() {
			var name, engine string
			if err := rows.Scan(&name, &engine); err != nil {
				t.Fatal(err)
			}
			out[name] = engine
		}
		return out
	}
	wantTables := map[string]string{
		"logs": "Distributed", "logs_local": "ReplacingMergeTree",
		"spans": "Distributed", "spans_local": "ReplacingMergeTree",
		"trace_index": "Distributed", "trace_index_local": "MergeTree",
		"log_streams": "Distributed", "log_streams_local": "ReplacingMergeTree",
		"log_blooms": "Distributed", "log_blooms_local": "MergeTree",
		"schema_migrations": "ReplacingMergeTree",
	}
	migrations := func(s *clickhouse.Client) map[string]uint64 {
		return query(s, fmt.Sprintf("SELECT toString(version), count() FROM %s.schema_migrations GROUP BY version", db))
	}
	before := make([]map[string]uint64, len(shards))
	for i, s := range shards {
		if got := schemaOf(s); !maps.Equal(got, wantTables) {
			t.Fatalf("server %s tables = %v, want %v", addrs[i], got, wantTables)
		}
		before[i] = migrations(s)
		if len(before[i]) == 0 {
			t.Fatalf("server %s: no migrations recorded", addrs[i])
		}
	}

	// Logs of several tenants and streams, plus copies of some records under another
	// flush id, as a failover leaves them: the copies must land on their original's shard.
	base := time.Date(2026, 11, 24, 23, 0, 0, 0, time.UTC)
	var logs []chtest.LogRecord
	for k, tenant := range []string{"a", "b", "c", "d", "e", "f"} {
		logs = append(logs, chtest.SampleLogsEvery(tenant, base, 500, uint64(k+1), 1500*time.Millisecond)...)
	}
	copies := slices.Clone(logs[200:400])
	for i := range copies {
		copies[i].FlushID = 9999
	}
	chtest.WriteLogs(t, c, append(slices.Clone(logs), copies...))
	var spans []chtest.SpanRecord
	for k, tenant := range []string{"a", "b"} {
		spans = append(spans, chtest.SampleTraces(tenant, base, 300, uint64(k+1))...)
	}
	chtest.WriteSpans(t, c, spans)

	// Inserts are synchronous: right after the writes each shard already holds its rows
	// (an asynchronous Distributed insert would still be queued on the first server).
	logIDs := map[uint64]bool{}
	for _, r := range logs {
		logIDs[r.Record.Id] = true
	}
	seen := map[string]int{}
	var rows uint64
	for i, s := range shards {
		ids := query(s, fmt.Sprintf("SELECT toString(id), count() FROM %s.logs_local GROUP BY id", db))
		if len(ids) == 0 || len(ids) == len(logIDs) {
			t.Errorf("shard %d holds %d of %d log records; want a part", i+1, len(ids), len(logIDs))
		}
		for id, n := range ids {
			seen[id]++
			rows += n
		}
	}
	// Background merges may already have collapsed some copies with their originals.
	if rows < uint64(len(logs)) || rows > uint64(len(logs)+len(copies)) {
		t.Errorf("shards hold %d log rows, want %d records and up to %d copies", rows, len(logs), len(copies))
	}
	if len(seen) != len(logIDs) {
		t.Errorf("shards hold %d distinct log records, want %d", len(seen), len(logIDs))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("log record %s is on %d shards", id, n)
		}
	}

	// A stream's labels live on its rows' shard, so stream matchers (answered from
	// log_streams) select the same streams there as the rows themselves carry.
	for i, s := range shards {
		rowStreams := query(s, fmt.Sprintf("SELECT toString(stream_id), toUInt64(1) FROM %s.logs_local GROUP BY stream_id", db))
		labelled := query(s, fmt.Sprintf("SELECT toString(stream_id), toUInt64(1) FROM %s.log_streams_local GROUP BY stream_id", db))
		if len(rowStreams) == 0 || !maps.Equal(rowStreams, labelled) {
			t.Errorf("shard %d: streams of its rows %v, streams in its log_streams %v", i+1, rowStreams, labelled)
		}
	}

	wantSpans := map[string]uint64{}
	for _, r := range spans {
		wantSpans[r.Tenant+"/"+hex.EncodeToString(r.Span.TraceId)]++
	}
	for _, table := range []string{"spans_local", "trace_index_local"} {
		onShard := map[string]int{}
		got := map[string]uint64{}
		for i, s := range shards {
			n := query(s, fmt.Sprintf("SELECT concat(tenant, '/', trace_id), count() FROM %s.%s GROUP BY tenant, trace_id", db, table))
			if len(n) == 0 || len(n) == len(wantSpans) {
				t.Errorf("shard %d holds %d of %d traces in %s; want a part", i+1, len(n), len(wantSpans), table)
			}
			for k, v := range n {
				onShard[k]++
				got[k] += v
			}
		}
		for k, n := range onShard {
			if n != 1 {
				t.Errorf("%s: trace %s is on %d shards", table, k, n)
			}
		}
		if table == "spans_local" && !maps.Equal(got, wantSpans) {
			t.Errorf("spans per trace on the shards differ from the %d traces written", len(wantSpans))
		}
		if table == "trace_index_local" && len(got) != len(wantSpans) {
			t.Errorf("trace index has %d traces, want %d", len(got), len(wantSpans))
		}
	}

	// The querier's readers, through the Distributed tables.
	for _, tenant := range []string{"a", "f"} {
		want := map[uint64]bool{}
		for _, r := range logs {
			if r.Tenant == tenant {
				want[r.Record.Id] = true
			}
		}
		f := clickhouse.LogFilter{Tenant: tenant, Start: base.UnixNano(), End: base.Add(24 * time.Hour).UnixNano()}
		it := c.SelectLogs(ctx, clickhouse.LogQuery{LogFilter: f, Forward: true})
		got := map[uint64]bool{}
		n := 0
		for it.Next() {
			got[it.At().ID] = true
			n++
		}
		if err := it.Err(); err != nil {
			t.Fatalf("select logs of %s: %v", tenant, err)
		}
		if n != len(want) || !maps.Equal(got, want) {
			t.Errorf("SelectLogs(%s) returned %d rows (%d distinct), want the %d records", tenant, n, len(got), len(want))
		}

		// Label names and values: every stream of the tenant, from both shards, once.
		wantStreams := map[uint64]bool{}
		for _, r := range logs {
			if r.Tenant == tenant {
				wantStreams[r.Stream.StreamId] = true
			}
		}
		streams, err := c.Streams(ctx, clickhouse.StreamQuery{LogFilter: f})
		if err != nil {
			t.Fatalf("streams of %s: %v", tenant, err)
		}
		if len(streams) != len(wantStreams) {
			t.Errorf("Streams(%s) = %d streams, want %d", tenant, len(streams), len(wantStreams))
		}

		// Excluding over a thousand ids sends them as an external table, which the
		// servers of the other shards must receive too.
		f.ExcludeIDs = slices.Sorted(maps.Keys(want))[:len(want)-100]
		counts, err := c.CountLogs(ctx, clickhouse.LogCountQuery{LogFilter: f, Base: f.Start, Width: f.End - f.Start})
		if err != nil {
			t.Fatalf("count logs of %s: %v", tenant, err)
		}
		var total uint64
		for _, lc := range counts {
			total += lc.Count
		}
		if total != 100 {
			t.Errorf("CountLogs(%s) without %d excluded ids = %d, want 100", tenant, len(f.ExcludeIDs), total)
		}
	}
	// Matchers on stream labels become a stream-id subquery (GLOBAL IN, nested): on the
	// Distributed tables it must see the streams of both shards.
	var lb clickhouse.LogBatch
	res := &pb.Resource{ServiceName: "svc"}
	perEnv := map[string]int{}
	for k := range 40 {
		env := []string{"prod", "dev"}[k%2]
		st := &pb.LogStream{StreamId: uint64(9000 + k), Labels: []*pb.Label{{Name: "env", Value: env}, {Name: "pod", Value: fmt.Sprintf("p%d", k)}, {Name: "service_name", Value: "svc"}}}
		for j := range 10 {
			lb.Add("lbl", 30, 77, st, res, &pb.LogRecord{Id: uint64(100000 + k*10 + j), Timestamp: base.Add(time.Duration(k*10+j) * time.Millisecond).UnixNano(), Body: "x"})
			perEnv[env]++
		}
	}
	if err := c.WriteLogs(ctx, &lb); err != nil {
		t.Fatal(err)
	}
	e, err := logql.ParseLogQuery(`{env="prod", pod=~"p.*"}`)
	if err != nil {
		t.Fatal(err)
	}
	lf := clickhouse.LogFilter{Tenant: "lbl", Start: base.UnixNano(), End: base.Add(time.Hour).UnixNano(), Matchers: e.Matchers}
	it := c.SelectLogs(ctx, clickhouse.LogQuery{LogFilter: lf})
	n := 0
	for it.Next() {
		n++
	}
	if err := it.Err(); err != nil {
		t.Fatalf("select by stream labels: %v", err)
	}
	counts, err := c.CountLogs(ctx, clickhouse.LogCountQuery{LogFilter: lf, Base: lf.Start, Width: lf.End - lf.Start})
	if err != nil {
		t.Fatalf("count by stream labels: %v", err)
	}
	var counted uint64
	for _, lc := range counts {
		counted += lc.Count
	}
	if n != perEnv["prod"] || counted != uint64(perEnv["prod"]) {
		t.Errorf(`{env="prod"}: %d lines selected, %d counted; want %d`, n, counted, perEnv["prod"])
	}

	var traceIDs []string
	for i := range 300 {
		traceIDs = append(traceIDs, hex.EncodeToString(chtest.TraceID(i)))
	}
	traces, err := c.Traces(ctx, "b", traceIDs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(traces) != len(traceIDs) {
		t.Errorf("Traces returned %d traces, want %d", len(traces), len(traceIDs))
	}
	for id, ss := range traces {
		if want := wantSpans["b/"+id]; uint64(len(ss)) != want {
			t.Errorf("trace %s has %d spans, want %d", id, len(ss), want)
		}
	}

	// Migrating again changes nothing on either server.
	if err := c.Migrate(ctx); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	for i, s := range shards {
		if got := schemaOf(s); !maps.Equal(got, wantTables) {
			t.Errorf("after a second migrate server %s tables = %v", addrs[i], got)
		}
		if got := migrations(s); !maps.Equal(got, before[i]) {
			t.Errorf("second migrate recorded migrations on %s: %v, before %v", addrs[i], got, before[i])
		}
	}

	// A database made without the cluster setting is refused rather than left unsharded.
	plain := cfg
	plain.Address, plain.Cluster = addrs[1], ""
	pc, err := clickhouse.Open(ctx, plain)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if err := pc.Migrate(ctx); err == nil {
		t.Error("migrating the sharded database without the cluster setting succeeded")
	}
}
