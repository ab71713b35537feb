package clickhouse_test

import (
	"context"
	"testing"
	"time"

	pb "github.com/strataobs/strata/proto/strata/v1"
	"github.com/strataobs/strata/storage/clickhouse"
	"github.com/strataobs/strata/storage/clickhouse/chtest"
	"github.com/strataobs/strata/traceql"
)

// An attribute stored without a value (ATTR_TYPE_EMPTY) is nil to traceql: the SQL
// prefilter must keep its trace for `= nil` and may drop it for `!= nil`.
func TestSearchTracesEmptyAttributeIsNil(t *testing.T) {
	c := chtest.New(t)
	start := spanBase.UnixNano()
	res := &pb.Resource{ServiceName: "svc", Attributes: []*pb.Attr{{Key: "service.name", Value: "svc"}}}
	span := func(trace byte, attrs ...*pb.Attr) chtest.SpanRecord {
		tid := []byte{trace, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}
		return chtest.SpanRecord{Tenant: "a", FlushID: 1, Resource: res, Span: &pb.Span{
			Id: uint64(trace), TraceId: tid, SpanId: []byte{0, 0, 0, 0, 0, 0, 0, trace}, Name: "op",
			Start: start, End: start + int64(time.Millisecond), Attributes: attrs}}
	}
	chtest.WriteSpans(t, c, []chtest.SpanRecord{
		span(1, &pb.Attr{Key: "db.system", Type: pb.AttrType_ATTR_TYPE_EMPTY}),
		span(2, &pb.Attr{Key: "db.system", Value: "mysql"}),
		span(3),
	})
	for q, want := range map[string]int{
		`{span.db.system = nil}`:  2, // traces 1 and 3
		`{.db.system = nil}`:      2,
		`{span.db.system != nil}`: 1, // trace 2
		`{.db.system != nil}`:     1,
	} {
		pq, err := traceql.Parse(q)
		if err != nil {
			t.Fatal(err)
		}
		refs, err := c.SearchTraces(context.Background(), clickhouse.SpanSearch{Tenant: "a", Start: start, End: start + int64(time.Hour),
			Groups: pq.Pushdown().Spansets, Limit: 100})
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if len(refs) != want {
			t.Errorf("%s: %d candidates %v, want %d", q, len(refs), refs, want)
		}
	}
}
