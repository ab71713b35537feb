package integration

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestBadInput sends each kind of bad input and checks the status and message, while a
// valid record sent after each bad one still lands.
func TestBadInput(t *testing.T) {
	db := newTestDB(t)
	overrides := filepath.Join(t.TempDir(), "overrides.yaml")
	if err := os.WriteFile(overrides, []byte("overrides:\n  few:\n    max_streams_per_tenant: 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startAllInOne(t, db, "-distributor.max-recv-msg-size=1048576", "-runtime-config.file="+overrides)
	url := p.OTLPHTTPURL() + "/v1/logs"
	now := time.Now()

	withRecord := func(mut func(plog.LogRecord, pcommon.Map)) []byte {
		ld := sampleLogs("bad", "bad", 1, now)
		rl := ld.ResourceLogs().At(0)
		mut(rl.ScopeLogs().At(0).LogRecords().At(0), rl.Resource().Attributes())
		return logsProto(t, ld)
	}
	manyAttrs := withRecord(func(lr plog.LogRecord, _ pcommon.Map) {
		for i := 0; i < 10000; i++ {
			lr.Attributes().PutStr(fmt.Sprintf("k%d", i), "v")
		}
	})
	cases := []struct {
		name, tenant, ct string
		body             []byte
		code             int
		msg              string
	}{
		{"malformed protobuf", "t1", "application/x-protobuf", []byte{0xff, 0xff, 0xff, 0x01, 0x02}, 400, "malformed OTLP application/x-protobuf payload"},
		{"malformed json", "t1", "application/json", []byte(`{"resourceLogs": [`), 400, "malformed OTLP application/json payload"},
		{"wrong content type", "t1", "text/plain", []byte("hello"), 415, `unsupported content type \"text/plain\"`},
		{"oversize body", "t1", "application/x-protobuf", make([]byte, 2<<20), 413, "max_recv_msg_size=1048576"},
		{"10000 attributes", "t1", "application/x-protobuf", manyAttrs, 400, "max_attributes=128"},
		{"invalid utf-8 body", "t1", "application/x-protobuf", withRecord(func(lr plog.LogRecord, _ pcommon.Map) { lr.Body().SetStr("bad \xff\xfe") }), 400, "body is not valid UTF-8"},
		{"timestamp in 1970", "t1", "application/x-protobuf", withRecord(func(lr plog.LogRecord, _ pcommon.Map) { lr.SetTimestamp(1) }), 400, "reject_older_than"},
		{"timestamp in 2100", "t1", "application/x-protobuf", withRecord(func(lr plog.LogRecord, _ pcommon.Map) {
			lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)))
		}), 400, "creation_grace_period"},
		{"bad tenant characters", "bad/tenant", "application/x-protobuf", logsProto(t, sampleLogs("x", "x", 1, now)), 400, `unsupported character '/'`},
		{"tenant too long", strings.Repeat("a", 151), "application/x-protobuf", logsProto(t, sampleLogs("x", "x", 1, now)), 400, "maximum of 150"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, body := postOTLP(t, url, tc.tenant, tc.ct, tc.body, false)
			if code != tc.code || !strings.Contains(string(body), tc.msg) {
				t.Errorf("got %d %s, want %d containing %q", code, body, tc.code, tc.msg)
			}
			good := logsProto(t, sampleLogs("good", fmt.Sprintf("good-%d", i), 1, now))
			if code, body := postOTLP(t, url, "t1", "application/x-protobuf", good, false); code != 200 {
				t.Errorf("valid request after bad one: %d %s", code, body)
			}
		})
	}

	t.Run("partial success", func(t *testing.T) {
		ld := sampleLogs("partial", "partial", 3, now)
		ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(1).SetTimestamp(1)
		resp := sendLogsGRPC(t, grpcConn(t, p.OTLPGRPCAddr()), "t1", ld)
		ps := resp.PartialSuccess()
		if ps.RejectedLogRecords() != 1 || !strings.Contains(ps.ErrorMessage(), "reject_older_than") {
			t.Errorf("partial success = %d %q, want 1 rejected naming reject_older_than", ps.RejectedLogRecords(), ps.ErrorMessage())
		}
	})

	t.Run("stream limit", func(t *testing.T) {
		cc := grpcConn(t, p.OTLPGRPCAddr())
		round := 0
		streams := func(svcs ...string) plog.Logs {
			round++
			ld := plog.NewLogs()
			for _, svc := range svcs {
				sampleLogs(svc, fmt.Sprintf("%s-%d", svc, round), 1, now).ResourceLogs().At(0).CopyTo(ld.ResourceLogs().AppendEmpty())
			}
			return ld
		}
		ps := sendLogsGRPC(t, cc, "few", streams("s1", "s2", "s3")).PartialSuccess()
		if ps.RejectedLogRecords() != 1 || !strings.Contains(ps.ErrorMessage(), "max_streams_per_tenant") || !strings.Contains(ps.ErrorMessage(), `service_name="s3"`) {
			t.Errorf("third stream: partial success = %d %q, want 1 rejected naming max_streams_per_tenant and the stream", ps.RejectedLogRecords(), ps.ErrorMessage())
		}
		if ps := sendLogsGRPC(t, cc, "few", streams("s1", "s2")).PartialSuccess(); ps.RejectedLogRecords() != 0 {
			t.Errorf("active streams: %d rejected (%q), want 0", ps.RejectedLogRecords(), ps.ErrorMessage())
		}
		_, err := plogotlp.NewGRPCClient(cc).Export(tenantCtx("few"), plogotlp.NewExportRequestFromLogs(streams("s4")))
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "max_streams_per_tenant") {
			t.Errorf("only a new stream: %v, want InvalidArgument naming the limit", err)
		}
		if ps := sendLogsGRPC(t, cc, "t1", streams("s3", "s4", "s5")).PartialSuccess(); ps.RejectedLogRecords() != 0 {
			t.Errorf("another tenant: %d rejected (%q), want 0", ps.RejectedLogRecords(), ps.ErrorMessage())
		}
		db.waitCount(t, time.Minute, 4, "SELECT count() FROM %s.logs WHERE tenant = 'few'")
	})

	t.Run("grpc invalid argument", func(t *testing.T) {
		ld := sampleLogs("bad", "bad", 1, now)
		ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).SetTimestamp(1)
		_, err := plogotlp.NewGRPCClient(grpcConn(t, p.OTLPGRPCAddr())).Export(tenantCtx("t1"), plogotlp.NewExportRequestFromLogs(ld))
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "reject_older_than") {
			t.Errorf("got %v, want InvalidArgument naming reject_older_than", err)
		}
	})

	t.Run("method not allowed", func(t *testing.T) {
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("GET = %d, want 405", resp.StatusCode)
		}
	})

	// Every valid record sent alongside the bad ones landed: one per bad case plus two
	// accepted records of the partial request.
	db.waitCount(t, 30*time.Second, uint64(len(cases)), "SELECT count() FROM %s.logs WHERE service_name = 'good'")
	db.waitCount(t, 30*time.Second, 2, "SELECT count() FROM %s.logs WHERE service_name = 'partial'")
	if n := db.count(t, "SELECT count() FROM %s.logs WHERE service_name IN ('bad', 'x')"); n != 0 {
		t.Errorf("%d rejected records were stored", n)
	}
}
