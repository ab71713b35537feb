package integration

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/strataobs/strata/integration/cluster"
	"github.com/strataobs/strata/storage/clickhouse"
	"github.com/strataobs/strata/storage/clickhouse/chtest"
)

// testDB names a fresh database for one test and opens a client on it once strata has
// created it; the database is dropped when the test ends.
type testDB struct {
	cfg    clickhouse.Config
	client *clickhouse.Client
}

func newTestDB(t *testing.T) *testDB {
	db := &testDB{cfg: chtest.Config(t)}
	// Dropped even when the test never read it: strata created it.
	t.Cleanup(func() { chtest.Drop(t, db.conn(t)) })
	return db
}

func (db *testDB) flag() string { return "-clickhouse.database=" + db.cfg.Database }

func (db *testDB) conn(t *testing.T) *clickhouse.Client {
	t.Helper()
	if db.client == nil {
		c, err := clickhouse.Open(context.Background(), db.cfg)
		if err != nil {
			t.Fatalf("ClickHouse is required: %v", err)
		}
		db.client = c
	}
	return db.client
}

// count runs a count query against the test database ("{db}" is replaced by its name).
func (db *testDB) count(t *testing.T, q string, args ...any) uint64 {
	t.Helper()
	var n uint64
	q = fmt.Sprintf(q, db.cfg.Database)
	if err := db.conn(t).Conn().QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// waitCount waits until the count query returns want.
func (db *testDB) waitCount(t *testing.T, d time.Duration, want uint64, q string, args ...any) {
	t.Helper()
	var got uint64
	err := cluster.Eventually(context.Background(), d, func() error {
		got = db.count(t, q, args...)
		if got != want {
			return fmt.Errorf("got %d rows, want %d", got, want)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("%s: %v", fmt.Sprintf(q, db.cfg.Database), err)
	}
}

func grpcConn(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

func tenantCtx(tenant string) context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), "x-scope-orgid", tenant)
}

func sendLogsGRPC(t *testing.T, cc *grpc.ClientConn, tenant string, ld plog.Logs) plogotlp.ExportResponse {
	t.Helper()
	resp, err := plogotlp.NewGRPCClient(cc).Export(tenantCtx(tenant), plogotlp.NewExportRequestFromLogs(ld))
	if err != nil {
		t.Fatalf("OTLP gRPC logs export: %v", err)
	}
	return resp
}

func sendTracesGRPC(t *testing.T, cc *grpc.ClientConn, tenant string, td ptrace.Traces) {
	t.Helper()
	if _, err := ptraceotlp.NewGRPCClient(cc).Export(tenantCtx(tenant), ptraceotlp.NewExportRequestFromTraces(td)); err != nil {
		t.Fatalf("OTLP gRPC traces export: %v", err)
	}
}

// postOTLP sends a body to an OTLP/HTTP path and returns status and response body.
func postOTLP(t *testing.T, url, tenant, contentType string, body []byte, gz bool) (int, []byte) {
	t.Helper()
	if gz {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(body)
		zw.Close()
		body = buf.Bytes()
	}
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	if tenant != "" {
		req.Header.Set("X-Scope-OrgID", tenant)
	}
	if gz {
		req.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

func logsProto(t *testing.T, ld plog.Logs) []byte {
	b, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func logsJSON(t *testing.T, ld plog.Logs) []byte {
	b, err := plogotlp.NewExportRequestFromLogs(ld).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func tracesProto(t *testing.T, td ptrace.Traces) []byte {
	b, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sampleLogs builds n log records for service svc with bodies prefix-0..n-1.
func sampleLogs(svc, prefix string, n int, ts time.Time) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", svc)
	rl.Resource().Attributes().PutStr("deployment.environment", "prod")
	rl.Resource().Attributes().PutStr("host.name", "host-1")
	sl := rl.ScopeLogs().AppendEmpty()
	sl.Scope().SetName("test-scope")
	sl.Scope().SetVersion("1.2.3")
	for i := 0; i < n; i++ {
		lr := sl.LogRecords().AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(ts.Add(time.Duration(i))))
		lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(ts.Add(time.Duration(i) + time.Millisecond)))
		lr.SetSeverityNumber(plog.SeverityNumberError)
		lr.SetSeverityText("ERROR")
		lr.Body().SetStr(fmt.Sprintf("%s-%d", prefix, i))
		lr.SetTraceID(pcommon.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
		lr.SetSpanID(pcommon.SpanID{1, 2, 3, 4, 5, 6, 7, 8})
		lr.Attributes().PutInt("http.status_code", 500)
		lr.Attributes().PutStr("user", "bob")
	}
	return ld
}

func httpGet(url string) (string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func httpGetTenant(url, tenant string) (string, int, error) {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("X-Scope-OrgID", tenant)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), resp.StatusCode, err
}
