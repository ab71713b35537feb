package clickhouse

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/grafana/dskit/flagext"

	pb "github.com/strataobs/strata/proto/strata/v1"
)

// Every column Strata writes, except Date columns, must take the sized appends of
// colappend.go; a clickhouse-go whose layout they do not recognise would silently bring
// back the flush path's garbage, so this fails instead. The rows must then read back
// exactly, with arrays split at the right places.
func TestColumnAppendsFast(t *testing.T) {
	var cfg Config
	flagext.DefaultValues(&cfg)
	if a := os.Getenv("STRATA_TEST_CLICKHOUSE"); a != "" {
		cfg.Address = a
	}
	cfg.Database = fmt.Sprintf("strata_test_colappend_%d", rand.Uint32())
	ctx := context.Background()
	c, err := Open(ctx, cfg)
	if err != nil {
		t.Fatalf("ClickHouse is required for this test (set STRATA_TEST_CLICKHOUSE or run `scripts/clickhouse start`): %v", err)
	}
	defer c.Close()
	defer c.conn.Exec(ctx, "DROP DATABASE IF EXISTS "+cfg.Database)
	if err := c.Migrate(ctx); err != nil {
		t.Fatal(err)
	}

	base := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC).UnixNano()
	var lb LogBatch
	var sb SpanBatch
	// Rows of the three streams interleave, as a flush sorted by time adds them: each row
	// must still carry its own stream's labels and resource's attributes.
	var streams []*pb.LogStream
	var resources []*pb.Resource
	for k := range 3 {
		streams = append(streams, &pb.LogStream{StreamId: uint64(k + 1), Labels: []*pb.Label{{Name: "service_name", Value: "svc"}, {Name: "pod", Value: fmt.Sprintf("p%d", k)}}})
		resources = append(resources, &pb.Resource{ServiceName: "svc", Attributes: []*pb.Attr{{Key: "host.name", Value: fmt.Sprintf("h%d", k)}, {Key: "k8s.pod.uid", Value: fmt.Sprintf("uid-%d", k), Type: pb.AttrType(k % 3)}}})
	}
	for j := range 50 {
		for k := range 3 {
			st, res := streams[k], resources[k]
			attrs := make([]*pb.Attr, j%4) // 0 to 3 attributes: empty arrays between full ones
			for a := range attrs {
				attrs[a] = &pb.Attr{Key: fmt.Sprintf("k%d", a), Value: fmt.Sprintf("v%d-%d", j, a), Type: pb.AttrType(a % 3)}
			}
			lb.Add("t", 30, 5, st, res, &pb.LogRecord{Id: uint64(k*100 + j), Timestamp: base + int64(k*100+j), Body: fmt.Sprintf("line %d of stream %d", j, k), Attributes: attrs})
			sb.Add("t", 30, 5, res, &pb.Span{TraceId: []byte{byte(k), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, byte(j)}, SpanId: []byte{1, 2, 3, 4, 5, 6, 7, byte(j)},
				Id: uint64(k*100 + j), Name: "op", Start: base, End: base + 1000, Attributes: attrs,
				Events: []*pb.Event{{Name: "ev"}}})
		}
	}
	for _, tc := range []struct {
		table string
		defs  []string
		cols  []any
	}{
		{"logs", logsInsertColumns, lb.columns()},
		{"log_blooms", logBloomsColumns, lb.bloomColumns()},
		{"spans", spansColumns, sb.columns()},
		{"trace_index", traceIndexColumns, sb.indexColumns()},
	} {
		batch, err := c.conn.PrepareBatch(ctx, fmt.Sprintf("INSERT INTO %s.%s (%s)", cfg.Database, tc.table, joinNames(tc.defs)))
		if err != nil {
			t.Fatal(err)
		}
		cols := batchColumns(batch)
		if cols == nil {
			batch.Abort()
			t.Fatalf("%s: the batch's block was not found", tc.table)
		}
		for i := range cols {
			if _, isDate := tc.cols[i].([]time.Time); isDate {
				if err := batch.Column(i).Append(tc.cols[i]); err != nil {
					batch.Abort()
					t.Fatal(err)
				}
				continue
			}
			if col := cols[i]; !appendColumn(&cols[i], tc.cols[i]) {
				batch.Abort() // frees its connection for the deferred DROP
				t.Fatalf("%s.%s (%T into %T): not appended the sized way", tc.table, tc.defs[i], tc.cols[i], col)
			}
		}
		if err := batch.Send(); err != nil {
			t.Fatalf("%s: %v", tc.table, err)
		}
	}

	rows, err := c.conn.Query(ctx, fmt.Sprintf("SELECT id, body, attr_keys, attr_values, attr_types, labels_keys, labels_values, res_keys, res_values, res_types FROM %s.logs ORDER BY id", cfg.Database))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var id uint64
		var body string
		var keys, values, lk, lv, rk, rv []string
		var types, rt []uint8
		if err := rows.Scan(&id, &body, &keys, &values, &types, &lk, &lv, &rk, &rv, &rt); err != nil {
			t.Fatal(err)
		}
		k, j := int(id/100), int(id%100)
		var wk, wv []string
		var wt []uint8
		for a := range j % 4 {
			wk, wv, wt = append(wk, fmt.Sprintf("k%d", a)), append(wv, fmt.Sprintf("v%d-%d", j, a)), append(wt, uint8(a%3))
		}
		if body != fmt.Sprintf("line %d of stream %d", j, k) || !slices.Equal(keys, wk) || !slices.Equal(values, wv) || !slices.Equal(types, wt) {
			t.Fatalf("row %d read back as %q %q %q %v, want %q %q %v", id, body, keys, values, types, wk, wv, wt)
		}
		if !slices.Equal(lk, []string{"service_name", "pod"}) || !slices.Equal(lv, []string{"svc", fmt.Sprintf("p%d", k)}) {
			t.Fatalf("row %d has labels %q = %q, want those of stream %d", id, lk, lv, k)
		}
		if !slices.Equal(rk, []string{"host.name", "k8s.pod.uid"}) || !slices.Equal(rv, []string{fmt.Sprintf("h%d", k), fmt.Sprintf("uid-%d", k)}) || !slices.Equal(rt, []uint8{0, uint8(k % 3)}) {
			t.Fatalf("row %d has resource attributes %q = %q (%v), want those of resource %d", id, rk, rv, rt, k)
		}
		n++
	}
	if n != 150 {
		t.Fatalf("read back %d rows, want 150", n)
	}
	var spans, wrong uint64
	if err := c.conn.QueryRow(ctx, fmt.Sprintf("SELECT count(), countIf(res_values != [concat('h', toString(intDiv(id, 100))), concat('uid-', toString(intDiv(id, 100)))] OR length(attr_keys) != id %% 100 %% 4) FROM %s.spans", cfg.Database)).Scan(&spans, &wrong); err != nil {
		t.Fatal(err)
	}
	if spans != 150 || wrong != 0 {
		t.Fatalf("%d spans read back, %d of them with another span's resource or attribute count; want 150 and 0", spans, wrong)
	}
}

func joinNames(defs []string) string {
	s := ""
	for i, n := range columnNames(defs) {
		if i > 0 {
			s += ", "
		}
		s += n
	}
	return s
}
