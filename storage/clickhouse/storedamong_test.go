package clickhouse

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestStoredAmongSQLSplits: every id is looked up exactly once, in a query on its own
// table under its own tenant, service and time span, and no query exceeds the bounds
// that keep it under max_query_size.
func TestStoredAmongSQLSplits(t *testing.T) {
	// Many ids split by the id bound; long service names split by the text bound.
	for _, c := range []struct{ ids, name, minQueries int }{{23_000, 0, 5}, {6_000, 500, 5}} {
		checkStoredAmongSQL(t, c.ids, c.name, c.minQueries)
	}
	if got := storedAmongSQL("db", nil, 1); len(got) != 0 {
		t.Fatalf("no records, %d queries", len(got))
	}
}

func checkStoredAmongSQL(t *testing.T, nIDs, nameLen, minQueries int) {
	t.Helper()
	var recs []RecordKey
	want := map[uint64]RecordKey{}
	for k := 0; k < nIDs; k++ {
		r := RecordKey{
			Span:    k%7 == 0,
			Tenant:  fmt.Sprintf("tenant-%d", k%4),
			Service: fmt.Sprintf("svc-%d-%s", k%450, strings.Repeat("x", nameLen)),
			TS:      int64(1_700_000_000_000_000_000 + k*1000),
			ID:      uint64(k+1) * 1_000_000_000_007, // ids of 16-20 digits
		}
		recs = append(recs, r)
		want[r.ID] = r
	}
	term := regexp.MustCompile(`\(tenant = '([^']*)' AND service_name = '([^']*)' AND (timestamp|start_ns) BETWEEN (\d+) AND (\d+) AND id IN \(([\d,]+)\)\)`)
	seen := map[uint64]bool{}
	queries := storedAmongSQL("db", recs, 9)
	for _, q := range queries {
		if len(q) > 256<<10-1024 { // max_query_size, with room for the SELECT
			t.Errorf("query of %d bytes", len(q))
		}
		span := strings.HasPrefix(q, "SELECT id FROM db.spans ")
		if !span && !strings.HasPrefix(q, "SELECT id FROM db.logs ") || !strings.Contains(q, "flush_id != 9") {
			t.Fatalf("query %.120s", q)
		}
		n := 0
		for _, m := range term.FindAllStringSubmatch(q, -1) {
			lo, _ := strconv.ParseInt(m[4], 10, 64)
			hi, _ := strconv.ParseInt(m[5], 10, 64)
			if (m[3] == "start_ns") != span {
				t.Fatalf("a %s term in %.60s", m[3], q)
			}
			for _, s := range strings.Split(m[6], ",") {
				id, _ := strconv.ParseUint(s, 10, 64)
				r := want[id]
				if seen[id] || r.Span != span || r.Tenant != m[1] || r.Service != m[2] || r.TS < lo || r.TS > hi {
					t.Fatalf("id %d (%+v) looked up again or under the wrong key: %v", id, r, m[1:6])
				}
				seen[id] = true
				n++
			}
		}
		if n == 0 || n > storedLookupIDs {
			t.Errorf("a query looks up %d ids", n)
		}
	}
	if len(seen) != len(recs) {
		t.Fatalf("%d of %d ids looked up", len(seen), len(recs))
	}
	if len(queries) < minQueries {
		t.Fatalf("%d queries for %d ids (service names of %d bytes); want at least %d", len(queries), nIDs, nameLen, minQueries)
	}
}
