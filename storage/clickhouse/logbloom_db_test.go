package clickhouse_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/strataobs/strata/logql"
	"github.com/strataobs/strata/storage/clickhouse"
	"github.com/strataobs/strata/storage/clickhouse/chtest"
)

// A needle search reads only the blocks whose blooms may hold the needle and still
// finds every line; once the range holds rows stored without blooms, it reads
// everything again and finds those too.
func TestLineBloomsPruneAndStayExact(t *testing.T) {
	c := chtest.New(t)
	ctx := context.Background()
	base := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	recs := chtest.SampleLogsEvery("t1", base, 6000, 9, time.Second)
	want := map[int64]bool{}
	for i := 100; i < len(recs); i += 1500 {
		recs[i].Record.Body += " token=k7q2needle9zx4"
		want[recs[i].Record.Timestamp] = true
	}
	chtest.WriteLogs(t, c, recs)

	filter := func(query string) clickhouse.LogFilter {
		t.Helper()
		e, err := logql.ParseLogQuery(query)
		if err != nil {
			t.Fatal(err)
		}
		return clickhouse.LogFilter{Tenant: "t1", Start: base.UnixNano(), End: base.Add(2 * time.Hour).UnixNano(),
			Matchers: e.Matchers, LineFilters: e.LeadingLineFilters()}
	}
	found := func(f clickhouse.LogFilter) map[int64]bool {
		t.Helper()
		it := c.SelectLogs(ctx, clickhouse.LogQuery{LogFilter: f, PageSize: 100})
		got := map[int64]bool{}
		for it.Next() {
			got[it.At().Entry.Timestamp] = true
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
		return got
	}
	count := func(f clickhouse.LogFilter) uint64 {
		t.Helper()
		out, err := c.CountLogs(ctx, clickhouse.LogCountQuery{LogFilter: f, Base: f.End, Width: f.End - f.Start})
		if err != nil {
			t.Fatal(err)
		}
		var n uint64
		for _, lc := range out {
			n += lc.Count
		}
		return n
	}

	needle := filter(`{service_name=~".+"} |= "k7q2needle9zx4"`)
	lp, err := c.PruneLines(ctx, needle)
	if err != nil {
		t.Fatal(err)
	}
	if !lp.Pruned || lp.Unbloomed || lp.Blocks < 100 || lp.Candidates < len(want) || lp.Candidates > len(want)+lp.Blocks/50 {
		t.Errorf("pruning = %+v; want blooms used, %d needle blocks among over 100", lp, len(want))
	}
	if got := found(needle); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("needle lines at %v, want %v", got, want)
	}
	if n := count(needle); n != uint64(len(want)) {
		t.Errorf("needle count = %d, want %d", n, len(want))
	}
	if got := found(filter(`{service_name=~".+"} |= "zz9absent9zz"`)); len(got) != 0 {
		t.Errorf("absent literal found at %v", got)
	}
	for _, q := range []string{`{service_name=~".+"} |= "k7q"`, `{service_name=~".+"} |= "k7q2n"`, `{service_name=~".+"} != "k7q2needle9zx4"`,
		`{service_name=~".+"} |~ "(?i)K7Q2NEEDLE9ZX4"`, `{service_name=~".+"} |~ "k7q2needle9zx4|nothing"`} {
		if lp, err := c.PruneLines(ctx, filter(q)); err != nil || lp.Pruned {
			t.Errorf("%s: pruning %+v, %v; want none (under 3 n-grams, negated, case-folded or alternatives)", q, lp, err)
		}
	}
	// A regexp prunes by the literals it requires, and finds the same lines.
	for _, q := range []string{`{service_name=~".+"} |~ "k7q2n[a-z]+9zx4"`, `{service_name=~".+"} |~ "(?i)k7q2needle9zx4|nothing"`} {
		f := filter(q)
		lp, err := c.PruneLines(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		if wantPruned := !strings.Contains(q, "(?i)"); lp.Pruned != wantPruned {
			t.Errorf("%s: pruning %+v, want pruned=%v", q, lp, wantPruned)
		}
		if got := found(f); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: lines at %v, want %v", q, got, want)
		}
	}

	// A row stored before the blooms existed (bloomed = 0, no bloom row): copy a needle
	// line under a new id and a second needle.
	var src int64
	for ts := range want {
		src = ts
		break
	}
	cols := "tenant, day, retention_days, timestamp, observed_timestamp, id, flush_id, stream_id, service_name, labels_keys, labels_values, level, body"
	q := fmt.Sprintf("INSERT INTO %[1]s.logs (%[2]s, bloomed) SELECT tenant, day, retention_days, timestamp + 1, observed_timestamp, id + 1, 777, stream_id, service_name, labels_keys, labels_values, level, concat(body, ' second=x8second8needle'), 0 FROM %[1]s.logs WHERE timestamp = %[3]d",
		c.Database(), cols, src)
	if err := c.Conn().Exec(ctx, q); err != nil {
		t.Fatal(err)
	}
	second := filter(`{service_name=~".+"} |= "x8second8needle"`)
	if lp, err := c.PruneLines(ctx, second); err != nil || lp.Pruned || !lp.Unbloomed {
		t.Errorf("with an unbloomed row in range: pruning %+v, %v; want a full read", lp, err)
	}
	if got := found(second); len(got) != 1 || !got[src+1] {
		t.Errorf("unbloomed needle found at %v, want [%d]", got, src+1)
	}
	if n := count(needle); n != uint64(len(want))+1 {
		t.Errorf("needle count with the unbloomed copy = %d, want %d", n, len(want)+1)
	}
}

// With -clickhouse.line-blooms=false the writer stores no blooms and marks its rows, so
// line filters over them read every row and still find them.
func TestLineBloomsOff(t *testing.T) {
	cfg := chtest.Config(t)
	cfg.LineBlooms = false
	ctx := context.Background()
	c, err := clickhouse.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { chtest.Drop(t, c) })
	base := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	recs := chtest.SampleLogs("t1", base, 500, 3)
	recs[250].Record.Body += " token=k7q2needle9zx4"
	chtest.WriteLogs(t, c, recs)
	var blooms uint64
	if err := c.Conn().QueryRow(ctx, "SELECT count() FROM "+c.Database()+".log_blooms").Scan(&blooms); err != nil || blooms != 0 {
		t.Fatalf("log_blooms holds %d rows (%v), want none", blooms, err)
	}
	e, err := logql.ParseLogQuery(`{service_name=~".+"} |= "k7q2needle9zx4"`)
	if err != nil {
		t.Fatal(err)
	}
	f := clickhouse.LogFilter{Tenant: "t1", Start: base.UnixNano(), End: base.Add(time.Hour).UnixNano(), Matchers: e.Matchers, LineFilters: e.LeadingLineFilters()}
	if lp, err := c.PruneLines(ctx, f); err != nil || lp.Pruned || !lp.Unbloomed {
		t.Errorf("pruning %+v, %v; want a full read of unbloomed rows", lp, err)
	}
	it := c.SelectLogs(ctx, clickhouse.LogQuery{LogFilter: f})
	var got []int64
	for it.Next() {
		got = append(got, it.At().Entry.Timestamp)
	}
	if it.Err() != nil || len(got) != 1 || got[0] != recs[250].Record.Timestamp {
		t.Errorf("needle lines at %v (%v), want [%d]", got, it.Err(), recs[250].Record.Timestamp)
	}
}
