package clickhouse_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/strataobs/strata/logql"
	"github.com/strataobs/strata/storage/clickhouse"
	"github.com/strataobs/strata/storage/clickhouse/chtest"
)

// benchRows is the data set size; STRATA_BENCH_ROWS overrides it.
func benchRows() int {
	if n, err := strconv.Atoi(os.Getenv("STRATA_BENCH_ROWS")); err == nil && n > 0 {
		return n
	}
	return 200000
}

// benchFixture writes benchRows records over one hour, 2% of them twice (unmerged
// copies, as after a failover), in batches of 50k. With STRATA_BENCH_DB it reads an
// existing database of such rows instead (and leaves it), so runs can be repeated
// without the minutes of inserting.
func benchFixture(b *testing.B) (*clickhouse.Client, clickhouse.LogFilter) {
	start := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	lq, err := logql.ParseLogQuery(`{service_name=~".+"}`)
	if err != nil {
		b.Fatal(err)
	}
	f := clickhouse.LogFilter{Tenant: "bench", Start: start.UnixNano(), End: start.Add(time.Hour).UnixNano(), Matchers: lq.Matchers}
	if db := os.Getenv("STRATA_BENCH_DB"); db != "" {
		cfg := chtest.Config(b)
		cfg.Database = db
		c, err := clickhouse.Open(context.Background(), cfg)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { c.Close() })
		return c, f
	}
	c := chtest.New(b)
	n := benchRows()
	every := time.Hour / time.Duration(n)
	const batch = 50000
	for i := 0; i < n; i += batch {
		recs := chtest.SampleLogsEvery("bench", start.Add(time.Duration(i)*every), min(batch, n-i), uint64(i), every)
		chtest.WriteLogs(b, c, recs)
		chtest.WriteLogs(b, c, recs[:len(recs)/50])
	}
	return c, f
}

// BenchmarkLogReads measures the read shapes the querier uses, and the cost of
// de-duplicating counts (LIMIT 1 BY id) against counting copies twice.
func BenchmarkLogReads(b *testing.B) {
	c, f := benchFixture(b)
	ctx := context.Background()
	for _, by := range [][]string{{"detected_level"}, {"level", "detected_level"}} {
		for _, bytes := range []bool{false, true} {
			b.Run(fmt.Sprintf("CountLogs-by-%v-bytes-%v", by, bytes), func(b *testing.B) {
				for b.Loop() {
					counts, err := c.CountLogs(ctx, clickhouse.LogCountQuery{LogFilter: f, Base: f.Start, Width: int64(time.Minute), By: by, Bytes: bytes})
					if err != nil || len(counts) == 0 {
						b.Fatal(len(counts), err)
					}
				}
				b.ReportMetric(float64(benchRows())*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
			})
		}
	}
	// A line filter the blooms cannot narrow (no literal of three n-grams) reads the
	// body of every row in range, in PREWHERE.
	re, err := logql.ParseLogQuery(`{service_name=~".+"} |~ "t.me.ut"`)
	if err != nil {
		b.Fatal(err)
	}
	fre := f
	fre.LineFilters = re.LeadingLineFilters()
	b.Run("CountLogs-regexp", func(b *testing.B) {
		for b.Loop() {
			counts, err := c.CountLogs(ctx, clickhouse.LogCountQuery{LogFilter: fre, Base: f.Start, Width: int64(time.Minute)})
			if err != nil || len(counts) == 0 {
				b.Fatal(len(counts), err)
			}
		}
		b.ReportMetric(float64(benchRows())*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	})
	raw := func(name, q string) {
		b.Run(name, func(b *testing.B) {
			q = fmt.Sprintf(q, c.Database())
			for b.Loop() {
				rows, err := c.Conn().Query(ctx, q)
				if err != nil {
					b.Fatal(err)
				}
				for rows.Next() {
				}
				rows.Close()
			}
			b.ReportMetric(float64(benchRows())*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
	raw("count-limit-1-by-id", `SELECT b, level, count(), sum(len) FROM (SELECT intDiv(timestamp, 60000000000) AS b, level, length(body) AS len FROM %s.logs WHERE tenant = 'bench' LIMIT 1 BY id) GROUP BY b, level`)
	raw("count-no-dedup", `SELECT intDiv(timestamp, 60000000000) AS b, level, count(), sum(length(body)) FROM %s.logs WHERE tenant = 'bench' GROUP BY b, level`)
	raw("count-uniqExact", `SELECT intDiv(timestamp, 60000000000) AS b, level, uniqExact(id) FROM %s.logs WHERE tenant = 'bench' GROUP BY b, level`)
	raw("count-group-by-id", `SELECT b, level, count(), sum(len) FROM (SELECT any(intDiv(timestamp, 60000000000)) AS b, any(level) AS level, any(length(body)) AS len FROM %s.logs WHERE tenant = 'bench' GROUP BY id) GROUP BY b, level`)
	raw("count-final", `SELECT intDiv(timestamp, 60000000000) AS b, level, count(), sum(length(body)) FROM %s.logs FINAL WHERE tenant = 'bench' GROUP BY b, level`)
	for _, page := range []int{100, 1000} {
		b.Run(fmt.Sprintf("select-newest-%d", page), func(b *testing.B) {
			for b.Loop() {
				it := c.SelectLogs(ctx, clickhouse.LogQuery{LogFilter: f, PageSize: page})
				n := 0
				for n < page && it.Next() {
					n++
				}
				if it.Err() != nil || n != page {
					b.Fatal(n, it.Err())
				}
			}
		})
	}
	b.Run("select-all-forward", func(b *testing.B) {
		for b.Loop() {
			it := c.SelectLogs(ctx, clickhouse.LogQuery{LogFilter: f, Forward: true, PageSize: 10000})
			n := 0
			for it.Next() {
				n++
			}
			if it.Err() != nil || n < benchRows() {
				b.Fatal(n, it.Err())
			}
		}
		b.ReportMetric(float64(benchRows())*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	})
	b.Run("streams", func(b *testing.B) {
		for b.Loop() {
			if ss, err := c.Streams(ctx, clickhouse.StreamQuery{LogFilter: f}); err != nil || len(ss) == 0 {
				b.Fatal(err)
			}
		}
	})
}
