package clickhouse

import (
	"context"
	"strings"
	"testing"

	"github.com/strataobs/strata/logql"
)

// Line filters go to PREWHERE, once, and everything else stays in WHERE; without line
// filters there is no PREWHERE.
func TestPageSQLPrewhere(t *testing.T) {
	for _, tc := range []struct {
		query, prewhere string
	}{
		{`{service_name="a"}`, ""},
		{`{service_name="a"} |= "needle" |~ "x.y"`, `PREWHERE (position(body, 'needle') > 0) AND (match(body, '(?-s:x.y)')) WHERE`},
		{`{service_name="a"} != "skip" | json`, `PREWHERE NOT (position(body, 'skip') > 0) WHERE`},
	} {
		e, err := logql.ParseLogQuery(tc.query)
		if err != nil {
			t.Fatal(err)
		}
		c := &Client{cfg: Config{Database: "db"}}
		it := c.SelectLogs(context.Background(), LogQuery{LogFilter: LogFilter{Tenant: "t", Start: 1, End: 1000,
			Matchers: e.Matchers, LineFilters: e.LeadingLineFilters()}})
		it.openWindow()
		sql := it.pageSQL(it.winLo, it.winHi, false, it.page)
		if tc.prewhere == "" {
			if strings.Contains(sql, "PREWHERE") {
				t.Errorf("%s: unexpected PREWHERE in %s", tc.query, sql)
			}
			continue
		}
		if !strings.Contains(sql, tc.prewhere) {
			t.Errorf("%s: want %q in %s", tc.query, tc.prewhere, sql)
		}
		if strings.Count(sql, "position(body") != strings.Count(tc.prewhere, "position(body") {
			t.Errorf("%s: line filter repeated in WHERE: %s", tc.query, sql)
		}
		if !strings.Contains(sql, "service_name = 'a'") {
			t.Errorf("%s: matcher missing: %s", tc.query, sql)
		}
	}
}

// Counts (metric queries, the UI's volume histogram) put line filters in PREWHERE too, so
// a needle count does not read the label and attribute arrays of every row.
func TestCountSQLPrewhere(t *testing.T) {
	e, err := logql.ParseLogQuery(`{service_name="a"} |= "needle"`)
	if err != nil {
		t.Fatal(err)
	}
	q := LogCountQuery{LogFilter: LogFilter{Tenant: "t", Start: 1, End: 1000, Matchers: e.Matchers, LineFilters: e.LeadingLineFilters()},
		Base: 1000, Width: 100, By: []string{"detected_level"}}
	sql := countSQL("db", &q)
	if !strings.Contains(sql, "PREWHERE (position(body, 'needle') > 0) WHERE") || strings.Count(sql, "position(body") != 1 {
		t.Errorf("count SQL: %s", sql)
	}
	q.LineFilters = nil
	if sql := countSQL("db", &q); strings.Contains(sql, "PREWHERE") {
		t.Errorf("count without line filters has PREWHERE: %s", sql)
	}
}

// Label matchers other than service_name select streams through log_streams: in
// PREWHERE when there is no line filter (the stream_id column is read first), in WHERE
// behind a line filter; counts read FINAL so copies of a record count once.
func TestStreamMatcherSQL(t *testing.T) {
	e, err := logql.ParseLogQuery(`{service_name="a", env=~"prod|qa"}`)
	if err != nil {
		t.Fatal(err)
	}
	sub := `stream_id GLOBAL IN (SELECT stream_id FROM db.log_streams WHERE tenant = 't' AND day >= toDate('1970-01-01') AND day <= toDate('1970-01-01') AND match(arrayElement(labels_values, indexOf(labels_keys, 'env')), '^(?s:prod|qa)$'))`
	c := &Client{cfg: Config{Database: "db"}}
	it := c.SelectLogs(context.Background(), LogQuery{LogFilter: LogFilter{Tenant: "t", Start: 1, End: 1000, Matchers: e.Matchers}})
	it.openWindow()
	if sql := it.pageSQL(it.winLo, it.winHi, false, it.page); !strings.Contains(sql, "PREWHERE "+sub+" WHERE tenant = 't'") || !strings.Contains(sql, "service_name = 'a'") || strings.Count(sql, "indexOf(labels_keys") != 1 {
		t.Errorf("page SQL: %s", sql)
	}
	q := LogCountQuery{LogFilter: LogFilter{Tenant: "t", Start: 1, End: 1000, Matchers: e.Matchers, LineFilters: mustLineFilters(t, `{env="x"} |= "needle"`)},
		Base: 1000, Width: 100}
	sql := countSQL("db", &q)
	if !strings.Contains(sql, "FROM db.logs FINAL PREWHERE (position(body, 'needle') > 0) WHERE ") || !strings.Contains(sql, " AND "+sub) {
		t.Errorf("count SQL: %s", sql)
	}
}

func mustLineFilters(t *testing.T, query string) []*logql.LineFilterStage {
	t.Helper()
	e, err := logql.ParseLogQuery(query)
	if err != nil {
		t.Fatal(err)
	}
	return e.LeadingLineFilters()
}

// Windows grow by the rate of rows found: an empty window is followed by all that
// remains, a sparse one by a window sized to fill the page, a full one by the same width.
func TestWindowGrowth(t *testing.T) {
	c := &Client{cfg: Config{Database: "db"}}
	newIt := func() *LogIterator {
		it := c.SelectLogs(context.Background(), LogQuery{LogFilter: LogFilter{Tenant: "t", Start: 0, End: 64000}, PageSize: 100})
		it.openWindow()
		if it.winLo != 63000 || it.winHi != 64000 {
			t.Fatalf("first window [%d, %d), want the newest 64th [63000, 64000)", it.winLo, it.winHi)
		}
		return it
	}
	for _, tc := range []struct {
		found          int
		wantLo, wantHi int64
	}{
		{0, 0, 63000},      // nothing: read the rest at once
		{10, 45000, 63000}, // 10 of 100: 2×90/10 = 18 widths
		{30, 58334, 63000}, // 30 of 100: 2×70/30 = 4.67 widths
		{40, 59000, 63000}, // 40 of 100: at least 4 widths
		{60, 62000, 63000}, // half the page or more: same width
	} {
		it := newIt()
		it.closeWindow(tc.found)
		it.openWindow()
		if it.winLo != tc.wantLo || it.winHi != tc.wantHi || it.done {
			t.Errorf("after a window with %d rows: next [%d, %d) done=%v, want [%d, %d)", tc.found, it.winLo, it.winHi, it.done, tc.wantLo, tc.wantHi)
		}
	}
	it := newIt()
	it.closeWindow(0)
	it.openWindow()
	it.closeWindow(0)
	if !it.done {
		t.Error("iterator not done after reading the whole range")
	}
}
