package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"golang.org/x/net/websocket"

	"github.com/strataobs/strata/integration/cluster"
)

// queryGet sends a read request as tenant and returns status and body.
func queryGet(t *testing.T, base, tenant, path string, headers ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tenant != "" {
		req.Header.Set("X-Scope-OrgID", tenant)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

type lokiStreams struct {
	Data struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Stream map[string]string `json:"stream"`
			Values [][]any           `json:"values"`
		} `json:"result"`
	} `json:"data"`
}

func (s lokiStreams) lines() int {
	n := 0
	for _, r := range s.Data.Result {
		n += len(r.Values)
	}
	return n
}

// TestQueryAPIEndToEnd sends logs and traces over OTLP to one strata process and reads
// them back through the Loki and Tempo APIs, as Grafana would, per tenant.
func TestQueryAPIEndToEnd(t *testing.T) {
	db := newTestDB(t)
	p := startAllInOne(t, db)
	ts := time.Now().Add(-time.Minute).Truncate(time.Second)
	for tenant, n := range map[string]int{"qa": 20, "qb": 5} {
		if code, body := postOTLP(t, p.OTLPHTTPURL()+"/v1/logs", tenant, "application/x-protobuf", logsProto(t, sampleLogs("checkout", tenant+"-line", n, ts)), false); code != 200 {
			t.Fatalf("logs for %s: %d %s", tenant, code, body)
		}
	}
	traceID := pcommon.TraceID{0xc, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	if code, body := postOTLP(t, p.OTLPHTTPURL()+"/v1/traces", "qa", "application/x-protobuf", tracesProto(t, sampleTraces("api", traceID, ts)), false); code != 200 {
		t.Fatalf("traces: %d %s", code, body)
	}

	rng := url.Values{"start": {strconv.FormatInt(ts.Add(-time.Minute).UnixNano(), 10)}, "end": {strconv.FormatInt(time.Now().Add(time.Minute).UnixNano(), 10)}}
	logQuery := func(tenant string, categorize bool) lokiStreams {
		v := url.Values{"query": {`{service_name="checkout"} |= "line"`}, "limit": {"1000"}, "direction": {"backward"}, "start": rng["start"], "end": rng["end"]}
		var headers []string
		if categorize {
			headers = []string{"X-Loki-Response-Encoding-Flags", "categorize-labels"}
		}
		code, body := queryGet(t, p.HTTPURL(), tenant, "/loki/api/v1/query_range?"+v.Encode(), headers...)
		var s lokiStreams
		if code != 200 || json.Unmarshal([]byte(body), &s) != nil {
			t.Fatalf("query_range as %s: %d %s", tenant, code, body)
		}
		return s
	}
	// Records are read from ingester memory or, once flushed, from ClickHouse.
	err := cluster.Eventually(context.Background(), 60*time.Second, func() error {
		if n := logQuery("qa", false).lines(); n != 20 {
			return fmt.Errorf("tenant qa reads %d lines, want 20", n)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("%v; log tail:\n%s", err, p.Tail(30))
	}
	if n := logQuery("qb", false).lines(); n != 5 {
		t.Errorf("tenant qb reads %d lines, want 5", n)
	}

	s := logQuery("qa", true)
	meta, _ := s.Data.Result[0].Values[0][2].(map[string]any)["structuredMetadata"].(map[string]any)
	for k, want := range map[string]string{"trace_id": "0102030405060708090a0b0c0d0e0f10", "span_id": "0102030405060708", "http_status_code": "500",
		"user": "bob", "severity_text": "ERROR", "detected_level": "error", "host_name": "host-1", "scope_name": "test-scope"} {
		if meta[k] != want {
			t.Errorf("structured metadata %s = %v, want %s (all: %v)", k, meta[k], want, meta)
		}
	}

	count := url.Values{"query": {`sum by (detected_level) (count_over_time({service_name="checkout"} | drop __error__ [10m]))`}, "time": {strconv.FormatInt(time.Now().Unix(), 10)}}
	if code, body := queryGet(t, p.HTTPURL(), "qa", "/loki/api/v1/query?"+count.Encode()); code != 200 || !strings.Contains(body, `{"metric":{"detected_level":"error"},"value":[`) || !strings.Contains(body, `,"20"]`) {
		t.Errorf("instant count: %d %s", code, body)
	}
	if code, body := queryGet(t, p.HTTPURL(), "qa", "/loki/api/v1/labels?"+rng.Encode()); code != 200 || body != `{"status":"success","data":["deployment_environment","service_name"]}` {
		t.Errorf("labels: %d %s", code, body)
	}
	if code, body := queryGet(t, p.HTTPURL(), "", "/loki/api/v1/label/service_name/values?"+rng.Encode()); code != 200 || body != `{"status":"success","data":[]}` {
		t.Errorf("default tenant sees: %d %s", code, body)
	}
	checkTraceAPI(t, p, traceID.String(), ts)
}

func checkTraceAPI(t *testing.T, p *cluster.Process, id string, ts time.Time) {
	var td ptrace.Traces
	err := cluster.Eventually(context.Background(), 60*time.Second, func() error {
		code, body := queryGet(t, p.HTTPURL(), "qa", "/api/v2/traces/"+id, "Accept", "application/json")
		if code != 200 {
			return fmt.Errorf("trace by id: %d %s", code, body)
		}
		var resp struct {
			Trace json.RawMessage `json:"trace"`
		}
		if err := json.Unmarshal([]byte(body), &resp); err != nil {
			return err
		}
		var err error
		td, err = (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(resp.Trace)
		return err
	})
	if err != nil {
		t.Fatalf("%v; log tail:\n%s", err, p.Tail(30))
	}
	if td.SpanCount() != 2 {
		t.Errorf("trace has %d spans, want 2", td.SpanCount())
	}
	if code, _ := queryGet(t, p.HTTPURL(), "qb", "/api/v2/traces/"+id); code != http.StatusNotFound {
		t.Errorf("tenant qb reads qa's trace: %d", code)
	}
	search := url.Values{"q": {`{resource.service.name="api" && status=error}`}, "limit": {"20"}, "spss": {"3"},
		"start": {strconv.FormatInt(ts.Add(-time.Minute).Unix(), 10)}, "end": {strconv.FormatInt(time.Now().Add(time.Minute).Unix(), 10)}}
	if code, body := queryGet(t, p.HTTPURL(), "qa", "/api/search?"+search.Encode()); code != 200 || !strings.Contains(body, `"traceID":"`+strings.TrimLeft(id, "0")+`"`) {
		t.Errorf("search: %d %s", code, body)
	}
	if code, body := queryGet(t, p.HTTPURL(), "qa", "/api/v2/search/tag/resource.service.name/values"); code != 200 || !strings.Contains(body, `{"type":"string","value":"api"}`) {
		t.Errorf("tag values: %d %s", code, body)
	}
}

// TestQueryTailEndToEnd tails as the web UI does (tenant as a parameter) and sends a
// line over OTLP: it arrives through the websocket, from ingester memory or storage.
func TestQueryTailEndToEnd(t *testing.T) {
	db := newTestDB(t)
	p := startAllInOne(t, db)
	u := "ws" + strings.TrimPrefix(p.HTTPURL(), "http") + "/loki/api/v1/tail?" +
		url.Values{"query": {`{service_name="tailed"}`}, "limit": {"100"}, "tenant": {"qt"}}.Encode()
	conn, err := websocket.Dial(u, "", p.HTTPURL())
	if err != nil {
		t.Fatalf("dial tail: %v", err)
	}
	defer conn.Close()
	if code, body := postOTLP(t, p.OTLPHTTPURL()+"/v1/logs", "qt", "application/x-protobuf", logsProto(t, sampleLogs("tailed", "live", 3, time.Now())), false); code != 200 {
		t.Fatalf("logs: %d %s", code, body)
	}
	got := 0
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	for got < 3 {
		var msg string
		if err := websocket.Message.Receive(conn, &msg); err != nil {
			t.Fatalf("after %d lines: %v; log tail:\n%s", got, err, p.Tail(20))
		}
		got += strings.Count(msg, `"live-`)
	}
	if got != 3 {
		t.Errorf("tail delivered %d lines, want 3", got)
	}
}
