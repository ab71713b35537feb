package clickhouse_test

import (
	"context"

	"github.com/strataobs/strata/storage/clickhouse/chtest"
	"testing"
	"time"

	"github.com/strataobs/strata/bench"
	"github.com/strataobs/strata/storage/clickhouse"
)

// BenchmarkLogBatchAdd is the flush path's row building: LogBatch.Add for the load
// harness's realistic records (200 streams, 3-5 attributes, trace ids on half).
func BenchmarkLogBatchAdd(b *testing.B) {
	g := bench.NewGenerator(bench.DefaultGenConfig())
	base := time.Now().UnixNano()
	var rows []*bench.Rows
	var wire, n int
	for i := 0; i < 10; i++ {
		tpl, err := g.Template()
		if err != nil {
			b.Fatal(err)
		}
		ld, err := tpl.Logs(base, int64(n))
		if err != nil {
			b.Fatal(err)
		}
		r := bench.ToRows("bench", ld, uint64(i))
		rows, wire, n = append(rows, r), wire+tpl.WireBytes(), n+r.Len()
	}
	b.SetBytes(int64(wire))
	b.ReportAllocs()
	var batch clickhouse.LogBatch // reused, as the ingester's flushes reuse theirs
	for b.Loop() {
		batch.Reset()
		batch.Grow(n)
		for _, r := range rows {
			r.AppendTo(&batch, 30, 1)
		}
		if batch.Len() != n {
			b.Fatalf("batch has %d rows, want %d", batch.Len(), n)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
}

// BenchmarkWriteLogs is one flush: LogBatch.Add for 20,000 realistic records into a
// reused batch, then WriteLogs into a real ClickHouse (column encoding, LZ4, the
// server's insert).
func BenchmarkWriteLogs(b *testing.B) {
	c := chtest.New(b)
	g := bench.NewGenerator(bench.DefaultGenConfig())
	base := time.Now().UnixNano()
	var rows []*bench.Rows
	var n int
	for i := 0; i < 10; i++ {
		tpl, err := g.Template()
		if err != nil {
			b.Fatal(err)
		}
		ld, err := tpl.Logs(base, int64(n))
		if err != nil {
			b.Fatal(err)
		}
		r := bench.ToRows("bench", ld, uint64(i))
		rows, n = append(rows, r), n+r.Len()
	}
	b.ReportAllocs()
	var batch clickhouse.LogBatch // reused, as the ingester's flushes reuse theirs
	for b.Loop() {
		batch.Reset()
		batch.Grow(n)
		for _, r := range rows {
			r.AppendTo(&batch, 30, 1)
		}
		if err := c.WriteLogs(context.Background(), &batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/record")
}
