package clickhouse_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/strataobs/strata/logql"
	"github.com/strataobs/strata/storage/clickhouse"
	"github.com/strataobs/strata/storage/clickhouse/chtest"
)

type countKey struct {
	bucket int64
	values string
}

type countVal struct{ n, bytes uint64 }

// referenceCounts buckets the fixture in Go, reading each By label through the LogQL
// pipeline: what CountLogs must return.
func referenceCounts(t *testing.T, recs []chtest.LogRecord, q clickhouse.LogCountQuery, lq *logql.LogQueryExpr) map[countKey]countVal {
	out := map[countKey]countVal{}
	for _, row := range referenceRows(t, recs, q.LogFilter, lq, true) {
		pipe, err := logql.NewPipeline(lq)
		if err != nil {
			t.Fatal(err)
		}
		_, ls, ok := pipe.Process(row.Entry)
		if !ok {
			continue
		}
		vals := make([]string, len(q.By))
		for i, name := range q.By {
			vals[i] = ls.Get(name)
		}
		d := row.Entry.Timestamp - q.Base
		b := d / q.Width
		if d > 0 && d%q.Width != 0 {
			b++ // ceil: bucket b is (Base+(b-1)W, Base+bW]
		}
		k := countKey{b, strings.Join(vals, "|")}
		v := out[k]
		v.n++
		v.bytes += uint64(len(row.Entry.Line))
		out[k] = v
	}
	return out
}

func TestCountLogsMatchesGo(t *testing.T) {
	c, recs := logFixture(t)
	// Both ranges are long enough for CountLogs to split them into concurrent slices
	// (the fixture is small: the row threshold is lowered), where log_blooms puts half
	// the rows on each side; the second range also cuts the fixture's 400 s of records
	// at 360 s (its end).
	defer clickhouse.SetMinSlicedRows(1)()
	ranges := [][2]int64{
		{logBase.Add(-time.Minute).UnixNano(), logBase.Add(time.Hour).UnixNano()},
		{logBase.Add(-5 * time.Minute).UnixNano(), logBase.Add(6 * time.Minute).UnixNano()},
	}
	queries := []string{`{service_name=~".+"}`, `{service_name="checkout"} |= "timeout"`, `{deployment_environment="prod"} !~ "GET|POST"`}
	bys := [][]string{
		nil, {"service_name"}, {"detected_level"}, {"level", "detected_level"}, {"http_status_code"}, {"user"},
		{"trace_id"}, {"span_id", "flags"}, {"host_name"}, {"scope_name"}, {"_weird_key"}, {"deployment_environment"},
		{"severity_text", "severity_number"}, {"observed_timestamp"}, {"missing"},
	}
	widths := []time.Duration{time.Second, 15 * time.Second, time.Minute, 7 * time.Minute}
	for k, r := range ranges {
		// The first range is counted between copies (the fixture stores some), the second
		// with FINAL: the fixture's flush blocks hold too few rows each for the first.
		minRows := uint64(1)
		if k == 1 {
			minRows = 50
		}
		defer clickhouse.SetMinRowsPerBlock(minRows)()
		for _, qs := range queries {
			lq := parseLog(t, qs)
			for _, by := range bys {
				for _, w := range widths {
					base := logBase.Add(37*time.Second + 500*time.Millisecond).UnixNano()
					q := clickhouse.LogCountQuery{
						LogFilter: clickhouse.LogFilter{Tenant: "a", Start: r[0], End: r[1], Matchers: lq.Matchers, LineFilters: lq.LeadingLineFilters()},
						Base:      base, Width: int64(w), By: by, Bytes: w != time.Minute,
					}
					if sl := c.CountSlicesOf(context.Background(), q); len(sl) != 2 || sl[0][1] <= logBase.UnixNano() || sl[0][1] >= logBase.Add(400*time.Second).UnixNano() {
						t.Fatalf("%s range %v: slices %v, want two that split the fixture's records", qs, r, sl)
					}
					got, err := c.CountLogs(context.Background(), q)
					if err != nil {
						t.Fatalf("%s by %v width %s: %v", qs, by, w, err)
					}
					gotMap := map[countKey]countVal{}
					for _, lc := range got {
						if _, dup := gotMap[countKey{lc.Bucket, strings.Join(lc.Values, "|")}]; dup {
							t.Errorf("%s by %v width %s range %v: bucket %d %v returned twice", qs, by, w, r, lc.Bucket, lc.Values)
						}
						gotMap[countKey{lc.Bucket, strings.Join(lc.Values, "|")}] = countVal{lc.Count, lc.Bytes}
					}
					want := referenceCounts(t, recs, q, lq)
					if !q.Bytes {
						for k, v := range want {
							want[k] = countVal{n: v.n}
						}
					}
					if !reflect.DeepEqual(gotMap, want) {
						t.Errorf("%s by %v width %s range %v:\n got %s\nwant %s", qs, by, w, r, summary(gotMap), summary(want))
					}
				}
			}
		}
	}
	if c.CopyCounts() == 0 {
		t.Error("no count was answered between copies")
	}
}

func summary(m map[countKey]countVal) string {
	var total uint64
	for _, v := range m {
		total += v.n
	}
	s := fmt.Sprintf("%d groups, %d rows", len(m), total)
	i := 0
	for k, v := range m {
		if i++; i > 4 {
			break
		}
		s += fmt.Sprintf(" %v=%v", k, v)
	}
	return s
}
