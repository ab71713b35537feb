package distributor

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/grafana/dskit/flagext"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/strataobs/strata/limits"
	pb "github.com/strataobs/strata/proto/strata/v1"
)

func TestSeverityLevel(t *testing.T) {
	f := func(num plog.SeverityNumber, text, want string) {
		t.Helper()
		if got := severityLevel(num, text); got != want {
			t.Errorf("severityLevel(%d, %q) = %q, want %q", num, text, got, want)
		}
	}
	f(plog.SeverityNumberFatal2, "", "fatal")
	f(plog.SeverityNumberError, "", "error")
	f(plog.SeverityNumberWarn4, "", "warn")
	f(plog.SeverityNumberInfo, "", "info")
	f(plog.SeverityNumberDebug, "", "debug")
	f(plog.SeverityNumberTrace, "", "trace")
	f(0, "WARNING", "warn")
	f(0, "err", "error")
	f(0, "", "unknown")
}

func TestLabelName(t *testing.T) {
	for in, want := range map[string]string{"service.name": "service_name", "k8s.pod.name": "k8s_pod_name", "9lives": "_lives", "a-b": "a_b"} {
		if got := labelName(in); got != want {
			t.Errorf("labelName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestValidateTenant(t *testing.T) {
	for tenant, wantErr := range map[string]string{
		"team-a": "", "a.b_c(1)*'!": "", "": "no tenant", ".": "not allowed", "a/b": "unsupported character '/'",
		strings.Repeat("x", 151): "maximum of 150", "tëam": "unsupported character",
	} {
		err := ValidateTenant(tenant)
		if (err == nil) != (wantErr == "") || (err != nil && !strings.Contains(err.Error(), wantErr)) {
			t.Errorf("ValidateTenant(%q) = %v, want error containing %q", tenant, err, wantErr)
		}
	}
}

func testValidator() *validator {
	var lim limits.Limits
	flagext.DefaultValues(&lim)
	return newValidator(&lim, time.Now().UnixNano())
}

// TestConvertLogsStreamsAndIDs: index labels form the stream, other attributes do not;
// identical records get identical ids and different ones different ids.
func TestConvertLogsStreamsAndIDs(t *testing.T) {
	build := func(host string, body string) plog.Logs {
		ld := plog.NewLogs()
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", "api")
		rl.Resource().Attributes().PutStr("k8s.namespace.name", "prod")
		rl.Resource().Attributes().PutStr("host.name", host)
		lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
		lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
		lr.Body().SetStr(body)
		return ld
	}
	v := testValidator()
	ld := build("h1", "x")
	a := convertLogs("t", v, ld)
	b := convertLogs("t", v, ld)
	c := convertLogs("t", v, build("h2", "y"))
	if len(a.streams) != 1 || a.accepted != 1 {
		t.Fatalf("streams=%d accepted=%d", len(a.streams), a.accepted)
	}
	got := ""
	for _, l := range a.streams[0].Labels {
		got += l.Name + "=" + l.Value + ","
	}
	if got != "k8s_namespace_name=prod,service_name=api," {
		t.Errorf("stream labels = %s", got)
	}
	if a.streams[0].StreamId != c.streams[0].StreamId {
		t.Error("host.name (not an index label) changed the stream")
	}
	if a.streams[0].Records[0].Id != b.streams[0].Records[0].Id {
		t.Error("same record got different ids")
	}
	if a.streams[0].Records[0].Id == c.streams[0].Records[0].Id {
		t.Error("different records got the same id")
	}
	later := testValidator()
	later.nowNanos += int64(time.Minute)
	if convertLogs("t", later, ld).streams[0].Records[0].Id != a.streams[0].Records[0].Id {
		t.Error("a retry at another time (no observed timestamp) got a different id")
	}
	if convertLogs("other", v, ld).streams[0].StreamId == a.streams[0].StreamId {
		t.Error("tenant is not part of the stream id")
	}
}

// TestLogIDIsStable pins the id of a known record: ids must not change between versions,
// or a client's retry through an upgraded distributor would store its record twice.
func TestLogIDIsStable(t *testing.T) {
	r := &pb.LogRecord{
		Timestamp: 1764000000123456789, ObservedTimestamp: 1764000000987654321,
		SeverityNumber: 9, SeverityText: "INFO", Body: "GET /api/v1/users 200 12ms",
		TraceId: []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, SpanId: []byte{1, 2, 3, 4, 5, 6, 7, 8},
		Attributes: []*pb.Attr{{Key: "http.method", Value: "GET"}, {Key: "http.status_code", Value: "200", Type: pb.AttrType_ATTR_TYPE_INT}},
	}
	v := testValidator()
	const want = uint64(0x54469c9e5e70e934)
	for range 2 { // the second call reuses the scratch buffer
		if got := v.logID(0x1234567890abcdef, r); got != want {
			t.Fatalf("logID = %#x, want %#x", got, want)
		}
	}
	r.Attributes = nil
	if v.logID(0x1234567890abcdef, r) == want {
		t.Fatal("attributes are not part of the id")
	}
}

// TestConvertLogsRefusesInvalidUTF8Anywhere: a record with invalid UTF-8 in any string,
// not only its body and attributes, is rejected alone, with a message naming the field;
// the valid record beside it is accepted. (An ingester in this process keeps records as
// the distributor encoded them, without checking them again.)
func TestConvertLogsRefusesInvalidUTF8Anywhere(t *testing.T) {
	for field, spoil := range map[string]func(plog.LogRecord, pcommon.InstrumentationScope){
		"body":           func(lr plog.LogRecord, _ pcommon.InstrumentationScope) { lr.Body().SetStr("a\xff") },
		"attribute":      func(lr plog.LogRecord, _ pcommon.InstrumentationScope) { lr.Attributes().PutStr("k", "a\xff") },
		"attribute key":  func(lr plog.LogRecord, _ pcommon.InstrumentationScope) { lr.Attributes().PutStr("k\xff", "a") },
		"severity text":  func(lr plog.LogRecord, _ pcommon.InstrumentationScope) { lr.SetSeverityText("INFO\xff") },
		"scope name":     func(_ plog.LogRecord, s pcommon.InstrumentationScope) { s.SetName("lib\xff") },
		"scope version":  func(_ plog.LogRecord, s pcommon.InstrumentationScope) { s.SetVersion("1\xff") },
		"event name":     func(lr plog.LogRecord, _ pcommon.InstrumentationScope) { lr.SetEventName("ev\xff") },
		"no bad strings": nil,
	} {
		ld := plog.NewLogs()
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", "api")
		good := rl.ScopeLogs().AppendEmpty()
		good.LogRecords().AppendEmpty().Body().SetStr("fine")
		bad := rl.ScopeLogs().AppendEmpty()
		lr := bad.LogRecords().AppendEmpty()
		lr.Body().SetStr("fine too")
		if spoil != nil {
			spoil(lr, bad.Scope())
		}
		c := convertLogs("t", testValidator(), ld)
		if spoil == nil {
			if c.accepted != 2 || len(c.rejected) != 0 {
				t.Errorf("%s: %d accepted, %v rejected", field, c.accepted, c.rejected)
			}
			continue
		}
		if c.accepted != 1 || len(c.rejected) != 1 || c.rejected[0].reason != "invalid_utf8" || !strings.Contains(c.rejected[0].msg, "not valid UTF-8") {
			t.Errorf("%s: %d accepted, rejected %+v; want the bad record alone rejected as invalid_utf8", field, c.accepted, c.rejected)
		}
	}
}

// TestAttrNumbersOutliveReuse: record attributes' numbers are text in the validator's
// memory, which the next request reuses once the push is done; a resource's are not,
// since its index labels stay in the ingester's streams. Both must read the same after a
// reused validator converts another request.
func TestAttrNumbersOutliveReuse(t *testing.T) {
	var lim limits.Limits
	flagext.DefaultValues(&lim)
	lim.IndexLabels = append(lim.IndexLabels, "shard.id")
	v := newValidator(&lim, time.Now().UnixNano())
	logs := func(shard int64, status int64, dur float64) plog.Logs {
		ld := plog.NewLogs()
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", "checkout")
		rl.Resource().Attributes().PutInt("shard.id", shard)
		lr := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
		lr.Body().SetStr("GET /cart")
		lr.Attributes().PutInt("http.response.status_code", status)
		lr.Attributes().PutDouble("http.server.request.duration", dur)
		return ld
	}
	first := convertLogs("t", v, logs(17, 503, 0.0123))
	if len(first.streams) != 1 || len(first.streams[0].Records) != 1 {
		t.Fatalf("converted %d streams", len(first.streams))
	}
	labels := first.streams[0].Labels
	rec := first.streams[0].Records[0]
	got := map[string]string{}
	for _, a := range rec.Attributes {
		got[a.Key] = a.Value
	}
	if got["http.response.status_code"] != "503" || got["http.server.request.duration"] != "0.0123" {
		t.Fatalf("record attributes %v", got)
	}
	v.reset(&lim, time.Now().UnixNano())
	convertLogs("t", v, logs(99, 200, 9.5))
	for _, l := range labels {
		if l.Name == "shard_id" && l.Value != "17" {
			t.Fatalf("stream label shard_id = %q after the validator was reused, want 17", l.Value)
		}
	}
	if !hasLabel(labels, "shard_id") {
		t.Fatalf("no shard_id label in %v", labels)
	}
}

// TestStreamRecordsAcrossResources: resources with the same index labels make one
// stream, whose records are all of theirs in request order, also when the validator's
// record lists are reused and a later resource starts another stream in between.
func TestStreamRecordsAcrossResources(t *testing.T) {
	v := testValidator()
	for round := range 2 {
		ld := plog.NewLogs()
		for r, spec := range []struct {
			service, host string
			n             int
		}{{"api", "h1", 2}, {"web", "h1", 4}, {"api", "h2", 3}} {
			rl := ld.ResourceLogs().AppendEmpty()
			rl.Resource().Attributes().PutStr("service.name", spec.service)
			rl.Resource().Attributes().PutStr("host.name", spec.host)
			recs := rl.ScopeLogs().AppendEmpty().LogRecords()
			for k := range spec.n {
				lr := recs.AppendEmpty()
				lr.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
				lr.Body().SetStr(fmt.Sprintf("round %d resource %d record %d", round, r, k))
			}
		}
		v.reset(v.lim, time.Now().UnixNano())
		c := convertLogs("t", v, ld)
		if len(c.streams) != 2 || c.accepted != 9 {
			t.Fatalf("round %d: %d streams, %d accepted, want 2 and 9", round, len(c.streams), c.accepted)
		}
		var got []string
		for _, r := range c.streams[0].Records {
			got = append(got, r.Body)
		}
		want := []string{"round %d resource 0 record 0", "round %d resource 0 record 1",
			"round %d resource 2 record 0", "round %d resource 2 record 1", "round %d resource 2 record 2"}
		for k := range want {
			want[k] = fmt.Sprintf(want[k], round)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("round %d: stream api holds %q, want %q", round, got, want)
		}
		got = got[:0]
		for _, r := range c.streams[1].Records {
			got = append(got, r.Body)
		}
		want = want[:0]
		for k := range 4 {
			want = append(want, fmt.Sprintf("round %d resource 1 record %d", round, k))
		}
		if !slices.Equal(got, want) {
			t.Fatalf("round %d: stream web holds %q, want %q", round, got, want)
		}
	}
}
