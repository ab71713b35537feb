package integration

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/strataobs/strata/integration/cluster"
)

// startAllInOne runs one strata -target=all against a fresh database.
func startAllInOne(t *testing.T, db *testDB, extra ...string) *cluster.Process {
	args := append([]string{"-target=all", db.flag(), "-ingester.max-epoch-age=300ms", "-ingester.flushed-retention=1s"}, extra...)
	p := cluster.NewProcess(t, "aio", "127.0.0.1", t.TempDir(), args...)
	p.Start(cluster.Binary(t))
	return p
}

// TestOTLPLogsLandInClickHouse sends logs over gRPC, HTTP protobuf and HTTP JSON+gzip
// and checks every field of the stored rows.
func TestOTLPLogsLandInClickHouse(t *testing.T) {
	db := newTestDB(t)
	p := startAllInOne(t, db)
	ts := time.Now().Add(-time.Minute).Truncate(time.Second).Add(123456789)

	sendLogsGRPC(t, grpcConn(t, p.OTLPGRPCAddr()), "t1", sampleLogs("checkout", "grpc", 3, ts))
	if code, body := postOTLP(t, p.OTLPHTTPURL()+"/v1/logs", "t1", "application/x-protobuf", logsProto(t, sampleLogs("checkout", "http-proto", 3, ts)), false); code != 200 {
		t.Fatalf("HTTP protobuf: %d %s", code, body)
	}
	if code, body := postOTLP(t, p.OTLPHTTPURL()+"/v1/logs", "t1", "application/json", logsJSON(t, sampleLogs("checkout", "http-json", 3, ts)), true); code != 200 {
		t.Fatalf("HTTP JSON gzip: %d %s", code, body)
	}
	db.waitCount(t, 30*time.Second, 9, "SELECT count() FROM %s.logs WHERE tenant = 't1'")

	rows, err := db.conn(t).Conn().Query(context.Background(), fmt.Sprintf(`SELECT body, timestamp, observed_timestamp, severity_number, severity_text, level,
		trace_id, span_id, service_name, labels_keys, labels_values, attr_keys, attr_values, res_keys, res_values, scope_name, scope_version
		FROM %s.logs WHERE tenant = 't1' ORDER BY body`, db.cfg.Database))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			body, sevText, level, traceID, spanID, svc, scope, scopeVer string
			tsNs, obsNs                                                 int64
			sev                                                         uint8
			lk, lv, ak, av, rk, rv                                      []string
		)
		if err := rows.Scan(&body, &tsNs, &obsNs, &sev, &sevText, &level, &traceID, &spanID, &svc, &lk, &lv, &ak, &av, &rk, &rv, &scope, &scopeVer); err != nil {
			t.Fatal(err)
		}
		var i int
		fmt.Sscanf(body[strings.LastIndexByte(body, '-')+1:], "%d", &i)
		want := ts.Add(time.Duration(i)).UnixNano()
		got := fmt.Sprint(tsNs == want, obsNs == want+int64(time.Millisecond), sev, sevText, level, traceID, spanID, svc, lk, lv, ak, av, rk, rv, scope, scopeVer)
		exp := fmt.Sprint(true, true, 17, "ERROR", "error", "0102030405060708090a0b0c0d0e0f10", "0102030405060708", "checkout",
			[]string{"deployment_environment", "service_name"}, []string{"prod", "checkout"},
			[]string{"http.status_code", "user"}, []string{"500", "bob"},
			[]string{"deployment.environment", "host.name", "service.name"}, []string{"prod", "host-1", "checkout"}, "test-scope", "1.2.3")
		if got != exp {
			t.Errorf("row %q:\n got %s\nwant %s", body, got, exp)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

func sampleTraces(svc string, traceID pcommon.TraceID, start time.Time) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", svc)
	ss := rs.ScopeSpans().AppendEmpty()
	root := ss.Spans().AppendEmpty()
	root.SetTraceID(traceID)
	root.SetSpanID(pcommon.SpanID{0, 0, 0, 0, 0, 0, 0, 1})
	root.SetName("GET /checkout")
	root.SetKind(ptrace.SpanKindServer)
	root.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
	root.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(1500 * time.Microsecond)))
	root.Attributes().PutInt("http.status_code", 500)
	root.Status().SetCode(ptrace.StatusCodeError)
	root.Status().SetMessage("upstream failed")
	ev := root.Events().AppendEmpty()
	ev.SetName("exception")
	ev.SetTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Millisecond)))
	ev.Attributes().PutStr("exception.message", "boom")
	child := ss.Spans().AppendEmpty()
	child.SetTraceID(traceID)
	child.SetSpanID(pcommon.SpanID{0, 0, 0, 0, 0, 0, 0, 2})
	child.SetParentSpanID(pcommon.SpanID{0, 0, 0, 0, 0, 0, 0, 1})
	child.SetName("SELECT orders")
	child.SetKind(ptrace.SpanKindClient)
	child.SetStartTimestamp(pcommon.NewTimestampFromTime(start.Add(100 * time.Microsecond)))
	child.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(900 * time.Microsecond)))
	link := child.Links().AppendEmpty()
	link.SetTraceID(pcommon.TraceID{9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9})
	link.SetSpanID(pcommon.SpanID{8, 8, 8, 8, 8, 8, 8, 8})
	link.Attributes().PutStr("link.kind", "follows")
	return td
}

// TestOTLPSpansLandInClickHouse sends traces over gRPC and HTTP and checks the rows,
// including events, links and the trace index.
func TestOTLPSpansLandInClickHouse(t *testing.T) {
	db := newTestDB(t)
	p := startAllInOne(t, db)
	start := time.Now().Add(-time.Minute).Truncate(time.Microsecond).Add(7)
	t1 := pcommon.TraceID{0xa, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	t2 := pcommon.TraceID{0xb, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	sendTracesGRPC(t, grpcConn(t, p.OTLPGRPCAddr()), "t1", sampleTraces("api", t1, start))
	if code, body := postOTLP(t, p.OTLPHTTPURL()+"/v1/traces", "t1", "application/x-protobuf", tracesProto(t, sampleTraces("api", t2, start)), true); code != http.StatusOK {
		t.Fatalf("HTTP traces: %d %s", code, body)
	}
	db.waitCount(t, 30*time.Second, 4, "SELECT count() FROM %s.spans WHERE tenant = 't1'")

	var (
		name, statusMsg, parent, evName, evAttrs, linkTrace, linkSpan, linkAttrs string
		kind, statusCode                                                         int8
		startNs, endNs, dur                                                      int64
	)
	q := fmt.Sprintf(`SELECT name, kind, status_code, status_message, start_ns, end_ns, duration_ns, parent_span_id,
		event_names[1], event_attrs[1], '' , '', '' FROM %s.spans WHERE trace_id = ? AND span_id = '0000000000000001'`, db.cfg.Database)
	if err := db.conn(t).Conn().QueryRow(context.Background(), q, t1.String()).Scan(&name, &kind, &statusCode, &statusMsg, &startNs, &endNs, &dur, &parent, &evName, &evAttrs, &linkTrace, &linkSpan, &linkAttrs); err != nil {
		t.Fatal(err)
	}
	if name != "GET /checkout" || kind != 2 || statusCode != 2 || statusMsg != "upstream failed" || startNs != start.UnixNano() ||
		dur != 1500000 || endNs != start.UnixNano()+1500000 || parent != "" || evName != "exception" || evAttrs != `{"exception.message":"boom"}` {
		t.Errorf("root span row: %q %d %d %q %d %d %d %q %q %q", name, kind, statusCode, statusMsg, startNs, endNs, dur, parent, evName, evAttrs)
	}
	q = fmt.Sprintf(`SELECT parent_span_id, link_trace_ids[1], link_span_ids[1], link_attrs[1] FROM %s.spans WHERE trace_id = ? AND span_id = '0000000000000002'`, db.cfg.Database)
	if err := db.conn(t).Conn().QueryRow(context.Background(), q, t2.String()).Scan(&parent, &linkTrace, &linkSpan, &linkAttrs); err != nil {
		t.Fatal(err)
	}
	if parent != "0000000000000001" || linkTrace != "09090909090909090909090909090909" || linkSpan != "0808080808080808" || linkAttrs != `{"link.kind":"follows"}` {
		t.Errorf("child span row: %q %q %q %q", parent, linkTrace, linkSpan, linkAttrs)
	}
	if n := db.count(t, "SELECT count() FROM %s.trace_index WHERE trace_id IN (?, ?)", t1.String(), t2.String()); n != 2 {
		t.Errorf("trace_index rows = %d, want 2", n)
	}
}
