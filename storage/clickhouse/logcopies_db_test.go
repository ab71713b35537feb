package clickhouse_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/strataobs/strata/storage/clickhouse"
	"github.com/strataobs/strata/storage/clickhouse/chtest"
)

// copyCountQuery counts tenant a's records of the last minutes before and the hour after
// logBase in 1-minute buckets.
func copyCountQuery(by []string, bytes bool) clickhouse.LogCountQuery {
	return clickhouse.LogCountQuery{
		LogFilter: clickhouse.LogFilter{Tenant: "a", Start: logBase.Add(-time.Minute).UnixNano(), End: logBase.Add(time.Hour).UnixNano()},
		Base:      logBase.UnixNano(), Width: int64(time.Minute), By: by, Bytes: bytes,
	}
}

// checkCount compares CountLogs with the distinct records of stored, and reports
// whether it was answered between copies rather than FINAL.
func checkCount(t *testing.T, c *clickhouse.Client, stage string, stored []chtest.LogRecord, q clickhouse.LogCountQuery) (betweenCopies bool) {
	t.Helper()
	before := c.CopyCounts()
	got, err := c.CountLogs(context.Background(), q)
	if err != nil {
		t.Fatalf("%s: count by %v: %v", stage, q.By, err)
	}
	gotMap := map[countKey]countVal{}
	for _, lc := range got {
		gotMap[countKey{lc.Bucket, strings.Join(lc.Values, "|")}] = countVal{lc.Count, lc.Bytes}
	}
	want := referenceCounts(t, stored, q, parseLog(t, `{service_name=~".+"}`))
	if !q.Bytes {
		for k, v := range want {
			want[k] = countVal{n: v.n}
		}
	}
	if !reflect.DeepEqual(gotMap, want) {
		t.Errorf("%s: count by %v bytes %v:\n got %s\nwant %s", stage, q.By, q.Bytes, summary(gotMap), summary(want))
	}
	return c.CopyCounts() > before
}

// storedCopies is how many rows of tenant a are copies of another, unmerged.
func storedCopies(t *testing.T, c *clickhouse.Client) int64 {
	t.Helper()
	var n int64
	q := fmt.Sprintf("SELECT count() - uniqExact(id) FROM %s.logs WHERE tenant = 'a'", c.Database())
	if err := c.Conn().QueryRow(context.Background(), q).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// copiesClient opens a fresh database whose logs table ClickHouse does not merge (a
// merge would fold the copies a test stores before it counts them), and lets counts look
// for copies among the small flush blocks of the fixtures.
func copiesClient(t *testing.T) *clickhouse.Client {
	t.Helper()
	c := chtest.New(t)
	if err := c.Conn().Exec(context.Background(), "SYSTEM STOP MERGES "+c.Database()+".logs"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(clickhouse.SetMinRowsPerBlock(1))
	return c
}

func flushOf(recs []chtest.LogRecord, flush uint64) []chtest.LogRecord {
	var out []chtest.LogRecord
	for _, r := range recs {
		if r.FlushID == flush {
			out = append(out, r)
		}
	}
	return out
}

func TestCountLogsFoldsCopiesOnlyWhereFlushBlocksOverlap(t *testing.T) {
	c := copiesClient(t)
	// Twenty flushes of 50 records one after another: no two blocks of a stream overlap.
	recs := chtest.SampleLogs("a", logBase, 1000, 3)
	chtest.WriteLogs(t, c, recs)
	queries := []clickhouse.LogCountQuery{
		copyCountQuery(nil, false), copyCountQuery([]string{"service_name"}, false),
		copyCountQuery([]string{"detected_level"}, false), copyCountQuery([]string{"service_name"}, true),
	}
	for _, q := range queries {
		if !checkCount(t, c, "no copies", recs, q) {
			t.Errorf("no copies: count by %v bytes %v read FINAL; nothing overlaps, so count() is exact", q.By, q.Bytes)
		}
	}
	// The fixture's blocks hold a few rows each: reading them costs more than FINAL.
	restore := clickhouse.SetMinRowsPerBlock(50)
	if checkCount(t, c, "thin blocks", recs, queries[0]) {
		t.Error("thin blocks: the count looked for copies among blocks of about ten rows each")
	}
	restore()

	// Flush 2 written again, as a retry after a failure that came too late to tell.
	stored := append(slices.Clone(recs), flushOf(recs, 2)...)
	chtest.WriteLogs(t, c, flushOf(recs, 2))
	// Some of flush 4 stored again by a replica's fallback flush under its own id.
	fallback := slices.Clone(flushOf(recs, 4)[10:30])
	for i := range fallback {
		fallback[i].FlushID = 77
	}
	stored = append(stored, fallback...)
	chtest.WriteLogs(t, c, fallback)
	if n := storedCopies(t, c); n != 70 {
		t.Fatalf("storage holds %d copies, want 70 (ClickHouse merged them already?)", n)
	}
	for _, q := range queries {
		between := checkCount(t, c, "copies", stored, q)
		if between == q.Bytes {
			t.Errorf("copies: count by %v bytes %v: answered between copies = %v; byte sums over copies read FINAL, counts do not", q.By, q.Bytes, between)
		}
	}

	// Every flush stored again: copies among all the rows. FINAL folds them cheaper than
	// distinct ids, except when grouping by labels or attributes.
	stored = append(stored, recs...)
	chtest.WriteLogs(t, c, recs)
	for _, q := range queries {
		between := checkCount(t, c, "copies everywhere", stored, q)
		if want := !q.Bytes && q.By != nil && q.By[0] == "detected_level"; between != want {
			t.Errorf("copies everywhere: count by %v bytes %v: answered between copies = %v, want %v", q.By, q.Bytes, between, want)
		}
	}
}

func TestCountLogsRecountsWhenCopiesLandWhileItRuns(t *testing.T) {
	c := copiesClient(t)
	recs := chtest.SampleLogs("a", logBase, 1000, 4)
	chtest.WriteLogs(t, c, recs)
	// A flush is stored again after the count has looked for overlaps and before it
	// counts: the count sees copies where it expected none.
	stored := slices.Clone(recs)
	for k, by := range [][]string{nil, {"service_name"}} {
		again := flushOf(recs, uint64(3+2*k))
		calls := 0
		c.SetBeforeCopyCount(func() {
			if calls++; calls == 1 {
				chtest.WriteLogs(t, c, again)
			}
		})
		stored = append(stored, again...)
		if !checkCount(t, c, "a flush landed", stored, copyCountQuery(by, false)) {
			t.Errorf("count by %v read FINAL", by)
		}
		if calls != 2 {
			t.Errorf("count by %v ran %d times, want 2: it must notice the copies that landed while it ran", by, calls)
		}
	}
	c.SetBeforeCopyCount(nil)
}

func TestCountLogsFoldsCopiesOfRowsStoredWithoutBlooms(t *testing.T) {
	c := copiesClient(t)
	cfg := chtest.Config(t)
	cfg.Database, cfg.LineBlooms = c.Database(), false
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	plain, err := clickhouse.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	recs := chtest.SampleLogs("a", logBase, 300, 5)
	chtest.WriteLogs(t, c, recs)
	// A writer without blooms stores copies: no flush block tells where they are.
	chtest.WriteLogs(t, plain, flushOf(recs, 5))
	stored := append(slices.Clone(recs), flushOf(recs, 5)...)
	for _, by := range [][]string{nil, {"detected_level"}} {
		if checkCount(t, c, "copies without blooms", stored, copyCountQuery(by, false)) {
			t.Errorf("count by %v was answered between copies; rows without blooms must be folded by FINAL", by)
		}
	}
}

func TestCountLogsFoldsCopiesScatteredOverManySpans(t *testing.T) {
	c := copiesClient(t)
	recs := chtest.SampleLogs("a", logBase, 1000, 6)
	chtest.WriteLogs(t, c, recs)
	// Forty records stored again one by one, each by a flush of its own: more overlaps
	// than a count names one by one, so it names the time granules they fall in.
	stored := slices.Clone(recs)
	for i := 0; i < 1000; i += 25 {
		again := recs[i]
		again.FlushID = uint64(1000 + i)
		chtest.WriteLogs(t, c, []chtest.LogRecord{again})
		stored = append(stored, again)
	}
	if n := storedCopies(t, c); n != 40 {
		t.Fatalf("storage holds %d copies, want 40", n)
	}
	for _, by := range [][]string{nil, {"service_name"}, {"detected_level"}} {
		if !checkCount(t, c, "scattered copies", stored, copyCountQuery(by, false)) {
			t.Errorf("count by %v read FINAL; the copies are among 40 of 1,000 records", by)
		}
	}
}

func withEnv(recs []chtest.LogRecord, env string) []chtest.LogRecord {
	var out []chtest.LogRecord
	for _, r := range recs {
		for _, l := range r.Stream.Labels {
			if l.Name == "deployment_environment" && l.Value == env {
				out = append(out, r)
			}
		}
	}
	return out
}

func TestCountLogsLeavesOutStreamMatchersOnlyWhenEveryStreamPasses(t *testing.T) {
	c := copiesClient(t)
	recs := chtest.SampleLogs("a", logBase, 1000, 7)
	prod := withEnv(recs, "prod")
	chtest.WriteLogs(t, c, prod)
	query := func(selector string) clickhouse.LogCountQuery {
		q := copyCountQuery([]string{"service_name"}, false)
		q.Matchers = parseLog(t, selector).Matchers
		return q
	}
	// Every stored stream is prod: the count may leave the matcher out. Then a dev
	// stream stores rows while the count runs; they are in range, and the count must not
	// include them.
	dev := withEnv(recs, "dev")
	calls := 0
	c.SetBeforeCopyCount(func() {
		if calls++; calls == 1 {
			chtest.WriteLogs(t, c, dev)
		}
	})
	if !checkCount(t, c, "a rejected stream landed", prod, query(`{deployment_environment="prod"}`)) {
		t.Error("the count read FINAL")
	}
	if calls != 2 {
		t.Errorf("the count ran %d times, want 2: rows of a stream the matcher rejects landed while it ran without the matcher", calls)
	}
	c.SetBeforeCopyCount(nil)

	chtest.WriteLogs(t, c, withEnv(recs, ""))
	stored := append(append(slices.Clone(prod), dev...), withEnv(recs, "")...)
	for _, sel := range []string{`{deployment_environment="prod"}`, `{deployment_environment=~"prod|dev"}`, `{service_name=~".+", deployment_environment=~".*"}`, `{deployment_environment!="prod", service_name="checkout"}`} {
		if !checkCount(t, c, sel, stored, query(sel)) {
			t.Errorf("%s read FINAL", sel)
		}
	}
}
