package querier

import (
	"encoding/hex"
	"encoding/json"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
	"google.golang.org/protobuf/encoding/protowire"

	"github.com/strataobs/strata/storage/clickhouse/chtest"
)

// The requests below are the ones Grafana's Loki and Tempo datasources and logcli
// send, copied from the contract (shared/reference/grafana-api-contract.md §7).

func TestGrafanaLokiHealthCheck(t *testing.T) {
	f := newFixture(t)
	r := f.get("/loki/api/v1/query?direction=backward&query=vector%281%29%2Bvector%281%29&time=4000000000")
	if r.status != http.StatusOK {
		t.Fatalf("health check: %d %s", r.status, r.body)
	}
	if !strings.HasPrefix(r.body, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[4000000000,"2"]}],"stats":{`) {
		t.Errorf("health check body: %s", r.body)
	}
}

// exploreQuery is Explore's logs query (§2.1), parameters as url.Values.Encode sorts them.
func exploreQuery(query string) string {
	return "/loki/api/v1/query_range?" + qs("direction", "backward", "end", ns(base.Add(400*time.Second)), "limit", "1000",
		"query", query, "start", ns(base), "step", "2000ms")
}

func TestGrafanaExploreLogQuery(t *testing.T) {
	f := newFixture(t)
	query := `{service_name="checkout"} |= ` + "`timeout`"
	want := 0
	for _, r := range f.rows(tenantA, false) {
		if r.Entry.Stream.Get("service_name") == "checkout" && strings.Contains(r.Entry.Line, "timeout") {
			want++
		}
	}
	for _, categorize := range []bool{true, false} {
		var headers []string
		if categorize {
			headers = []string{"X-Loki-Response-Encoding-Flags", "categorize-labels"}
		}
		r := f.get(exploreQuery(query), headers...)
		if r.status != http.StatusOK {
			t.Fatalf("explore: %d %s", r.status, r.body)
		}
		flagAt, resultAt := strings.Index(r.body, `"encodingFlags":["categorize-labels"]`), strings.Index(r.body, `"result":`)
		if categorize != (flagAt >= 0) || (categorize && flagAt > resultAt) {
			t.Errorf("categorize=%v: encodingFlags at %d, result at %d", categorize, flagAt, resultAt)
		}
		var resp struct {
			Data struct {
				ResultType string `json:"resultType"`
				Result     []struct {
					Stream map[string]string `json:"stream"`
					Values [][]any           `json:"values"`
				} `json:"result"`
				Stats map[string]any `json:"stats"`
			} `json:"data"`
		}
		if err := json.Unmarshal([]byte(r.body), &resp); err != nil {
			t.Fatal(err)
		}
		if resp.Data.ResultType != "streams" || resp.Data.Stats["summary"] == nil {
			t.Errorf("resultType %q, stats %v", resp.Data.ResultType, resp.Data.Stats)
		}
		got, last := 0, int64(1<<62)
		for _, s := range resp.Data.Result {
			if categorize && (len(s.Stream) != 2 || s.Stream["service_name"] != "checkout") {
				t.Errorf("categorized stream labels must be the indexed ones only: %v", s.Stream)
			}
			for _, v := range s.Values {
				got++
				wantLen := 2
				if categorize {
					wantLen = 3
				}
				if len(v) != wantLen {
					t.Fatalf("entry %v has %d elements, want %d", v, len(v), wantLen)
				}
				tsStr, ok := v[0].(string)
				ts, err := strconv.ParseInt(tsStr, 10, 64)
				if !ok || err != nil || len(tsStr) != 19 {
					t.Fatalf("timestamp %v is not a 19-digit ns string", v[0])
				}
				if categorize {
					if _, ok := v[2].(map[string]any); !ok {
						t.Fatalf("third element %v is not an object", v[2])
					}
				}
				if len(resp.Data.Result) == 1 && ts > last {
					t.Errorf("backward stream not newest first")
				}
				last = ts
			}
		}
		if got != want {
			t.Errorf("categorize=%v: %d lines, want %d", categorize, got, want)
		}
		summary, _ := resp.Data.Stats["summary"].(map[string]any)
		if n, _ := summary["totalEntriesReturned"].(float64); int(n) != got {
			t.Errorf("stats.summary.totalEntriesReturned = %v, want %d", summary["totalEntriesReturned"], got)
		}
	}
}

func TestGrafanaLogsVolume(t *testing.T) {
	f := newFixture(t)
	query := `sum by (level, detected_level) (count_over_time({service_name="checkout"} |= ` + "`timeout`" + ` | drop __error__[1m]))`
	r := f.get("/loki/api/v1/query_range?"+qs("direction", "backward", "end", ns(base.Add(400*time.Second)), "limit", "1000",
		"query", query, "start", ns(base), "step", "60000ms"), "X-Query-Tags", "Source=logvolhist")
	if r.status != http.StatusOK {
		t.Fatalf("volume: %d %s", r.status, r.body)
	}
	var resp struct {
		Data struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Values [][]any           `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(r.body), &resp); err != nil {
		t.Fatal(err)
	}
	if resp.Data.ResultType != "matrix" || len(resp.Data.Result) == 0 {
		t.Fatalf("volume result: %s", r.body)
	}
	total := 0.0
	for _, s := range resp.Data.Result {
		if _, ok := s.Metric["detected_level"]; !ok && len(s.Metric) > 0 && s.Metric["level"] == "" {
			t.Errorf("series %v", s.Metric)
		}
		for _, p := range s.Values {
			if _, ok := p[0].(float64); !ok {
				t.Fatalf("matrix time %v is not a number", p[0])
			}
			v, err := strconv.ParseFloat(p[1].(string), 64)
			if err != nil {
				t.Fatalf("matrix value %v is not a string number", p[1])
			}
			total += v
		}
	}
	if total == 0 {
		t.Error("volume counts nothing")
	}
}

func TestGrafanaLabelBrowser(t *testing.T) {
	f := newFixture(t)
	rng := qs("start", ns(base), "end", ns(base.Add(400*time.Second)))
	r := f.get("/loki/api/v1/detected_labels?" + rng)
	if r.status != http.StatusOK || !strings.Contains(r.body, `{"label":"service_name","cardinality":3}`) {
		t.Errorf("detected_labels: %d %s", r.status, r.body)
	}
	r = f.get("/loki/api/v1/labels?" + rng)
	if r.body != `{"status":"success","data":["deployment_environment","service_name"]}` {
		t.Errorf("labels: %d %s", r.status, r.body)
	}
	r = f.get("/loki/api/v1/label/service_name/values?" + rng)
	if r.body != `{"status":"success","data":["cart","checkout","web-ui"]}` {
		t.Errorf("label values: %d %s", r.status, r.body)
	}
	r = f.get("/loki/api/v1/label/service_name/values?" + rng + "&" + qs("query", `{deployment_environment="dev"}`))
	if r.body != `{"status":"success","data":["checkout"]}` {
		t.Errorf("label values with query: %d %s", r.status, r.body)
	}
	r = f.get("/loki/api/v1/label/__stream_shard__/values?" + rng)
	if r.body != `{"status":"success","data":[]}` {
		t.Errorf("shard probe: %d %s", r.status, r.body)
	}
	for _, param := range []string{"match[]", "match"} {
		r = f.get("/loki/api/v1/series?" + rng + "&" + qs(param, `{service_name="checkout"}`))
		if r.body != `{"status":"success","data":[{"deployment_environment":"dev","service_name":"checkout"},{"deployment_environment":"prod","service_name":"checkout"}]}` {
			t.Errorf("series with %s: %d %s", param, r.status, r.body)
		}
	}
	r = f.get("/loki/api/v1/index/stats?" + rng + "&" + qs("query", `{service_name="checkout"}`))
	var stats map[string]int
	if err := json.Unmarshal([]byte(r.body), &stats); err != nil || stats["streams"] != 2 || stats["entries"] == 0 || stats["bytes"] == 0 {
		t.Errorf("index/stats: %d %s", r.status, r.body)
	}
	r = f.get("/loki/api/v1/index/volume?" + rng + "&" + qs("query", `{service_name=~".+"}`, "limit", "5000"))
	if r.status != http.StatusOK || !strings.Contains(r.body, `"resultType":"vector"`) || !strings.Contains(r.body, `{"metric":{"service_name":"checkout"},"value":[`) {
		t.Errorf("index/volume: %d %s", r.status, r.body)
	}
	r = f.get("/loki/api/v1/detected_fields?" + rng + "&" + qs("query", `{service_name="checkout"}`, "limit", "1000"))
	if r.status != http.StatusOK || !strings.Contains(r.body, `{"label":"http_status_code","type":"int","cardinality":3,"parsers":null}`) {
		t.Errorf("detected_fields: %d %s", r.status, r.body)
	}
}

func traceHex(i int) string { return hex.EncodeToString(chtest.TraceID(i)) }

func TestGrafanaTraceByID(t *testing.T) {
	f := newFixture(t)
	if r := f.get("/api/echo"); r.status != http.StatusOK || r.body != "echo" {
		t.Errorf("echo: %d %q", r.status, r.body)
	}
	if r := f.get("/api/status/buildinfo"); r.status != http.StatusOK || !strings.Contains(r.body, `"version"`) {
		t.Errorf("buildinfo: %d %q", r.status, r.body)
	}
	id := traceHex(4)
	r := f.get("/api/v2/traces/"+id, "Accept", "application/protobuf")
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/protobuf" {
		t.Fatalf("v2 trace: %d %s", r.status, r.header)
	}
	num, typ, n := protowire.ConsumeTag([]byte(r.body))
	inner, m := protowire.ConsumeBytes([]byte(r.body)[n:])
	if num != 1 || typ != protowire.BytesType || m < 0 || n+m != len(r.body) {
		t.Fatalf("TraceByIDResponse is not field 1 = trace")
	}
	td, err := (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(inner)
	if err != nil {
		t.Fatal(err)
	}
	if td.SpanCount() != 4 || td.ResourceSpans().Len() != 2 {
		t.Errorf("trace has %d spans in %d resources, want 4 in 2", td.SpanCount(), td.ResourceSpans().Len())
	}
	for i := 0; i < td.ResourceSpans().Len(); i++ {
		if _, ok := td.ResourceSpans().At(i).Resource().Attributes().Get("service.name"); !ok {
			t.Errorf("resource %d lacks service.name", i)
		}
	}
	v1 := f.get("/api/traces/"+strings.TrimLeft(id, "0"), "Accept", "application/protobuf")
	if v1.status != http.StatusOK || len(v1.body) != len(inner) {
		t.Errorf("v1 protobuf with a short id: %d, %d bytes, want %d", v1.status, len(v1.body), len(inner))
	}
	js := f.get("/api/traces/" + id)
	td2, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces([]byte(js.body))
	if err != nil || td2.SpanCount() != 4 || !strings.Contains(js.body, `"traceId":"`+id+`"`) {
		t.Errorf("v1 JSON: %v %d spans\n%s", err, td2.SpanCount(), js.body)
	}
	if r := f.get("/api/v2/traces/"+strings.Repeat("f", 32), "Accept", "application/protobuf"); r.status != http.StatusNotFound || r.body != "" {
		t.Errorf("missing trace: %d %q", r.status, r.body)
	}
	if r := f.get("/api/traces/xyz"); r.status != http.StatusBadRequest {
		t.Errorf("bad id: %d %q", r.status, r.body)
	}
}

func TestGrafanaTraceQLSearch(t *testing.T) {
	f := newFixture(t)
	start, end := strconv.FormatInt(base.Unix(), 10), strconv.FormatInt(base.Add(time.Hour).Unix(), 10)
	q := `{resource.service.name="checkout" && status=error}`
	r := f.get("/api/search?" + qs("q", q, "limit", "20", "spss", "3", "start", start, "end", end))
	if r.status != http.StatusOK {
		t.Fatalf("search: %d %s", r.status, r.body)
	}
	var resp searchResponse
	if err := json.Unmarshal([]byte(r.body), &resp); err != nil {
		t.Fatal(err)
	}
	want := 0
	for i := 0; i < 30; i++ {
		for _, s := range f.spanRows(traceHex(i)) {
			if s.ServiceName == "checkout" && s.StatusCode == 2 {
				want++
				break
			}
		}
	}
	if len(resp.Traces) != min(want, 20) || want == 0 {
		t.Fatalf("search found %d traces, want %d", len(resp.Traces), min(want, 20))
	}
	tr := resp.Traces[0]
	if tr.RootServiceName != "frontend" || tr.RootTraceName != "GET /checkout" || tr.StartTimeUnixNano == "" || tr.DurationMs <= 0 ||
		len(tr.SpanSets) != 1 || tr.SpanSets[0].Matched != 1 || tr.SpanSets[0].Spans[0].Name != "SELECT orders" {
		t.Errorf("first trace: %+v", tr)
	}
	if strings.HasPrefix(tr.TraceID, "0") {
		t.Errorf("trace id %s keeps leading zeros", tr.TraceID)
	}
	if !strings.Contains(r.body, `"durationNanos":"`) || !strings.Contains(r.body, `"startTimeUnixNano":"`) {
		t.Errorf("uint64 fields must be strings: %s", r.body)
	}
	// The search builder's output shape, and the tags form.
	for _, query := range []string{
		"q=" + `{resource.service.name="frontend" && name="GET /checkout" && span.http.status_code>=500}`,
		"tags=" + `service.name=checkout`,
		"q={}&minDuration=1s",
	} {
		r := f.get("/api/search?" + strings.ReplaceAll(strings.ReplaceAll(query, " ", "%20"), "&&", "%26%26") + "&limit=50&start=" + start + "&end=" + end)
		if r.status != http.StatusOK || !strings.Contains(r.body, `"traces":[{`) {
			t.Errorf("%s: %d %s", query, r.status, r.body[:min(len(r.body), 300)])
		}
	}
	if r := f.get("/api/search?q=" + "%7Bname%3D%7D"); r.status != http.StatusBadRequest || !strings.Contains(r.body, "parse error at line 1") {
		t.Errorf("bad TraceQL: %d %s", r.status, r.body)
	}
	if r := f.get("/api/search?q={}&start=" + end + "&end=" + start); r.status != http.StatusBadRequest {
		t.Errorf("start after end: %d %s", r.status, r.body)
	}
}

func TestGrafanaTagAutocompletion(t *testing.T) {
	f := newFixture(t)
	rng := "start=" + strconv.FormatInt(base.Unix(), 10) + "&end=" + strconv.FormatInt(base.Add(time.Hour).Unix(), 10)
	r := f.get("/api/v2/search/tags?" + rng)
	var tags struct {
		Scopes []tagScope `json:"scopes"`
	}
	if err := json.Unmarshal([]byte(r.body), &tags); err != nil || len(tags.Scopes) != 3 {
		t.Fatalf("v2 tags: %d %s", r.status, r.body)
	}
	if !reflect.DeepEqual(tags.Scopes[0], tagScope{Name: "resource", Tags: []string{"cloud.region", "k8s.pod.name", "service.name"}}) {
		t.Errorf("resource scope %v", tags.Scopes[0])
	}
	r = f.get("/api/v2/search/tag/resource.service.name/values?" + rng + "&" + qs("q", `{span.http.method="GET"}`))
	if r.body != `{"metrics":{"inspectedBytes":"0"},"tagValues":[{"type":"string","value":"frontend"}]}` {
		t.Errorf("filtered values: %s", r.body)
	}
	r = f.get("/api/v2/search/tag/span.http.status_code/values?" + rng + "&q=%7Bbroken")
	if !strings.Contains(r.body, `{"type":"int","value":"500"}`) {
		t.Errorf("int values (with an invalid q ignored): %s", r.body)
	}
	r = f.get("/api/v2/search/tag/status/values?" + rng)
	if !strings.Contains(r.body, `{"type":"keyword","value":"error"}`) {
		t.Errorf("status values: %s", r.body)
	}
	r = f.get("/api/search/tags?" + rng)
	if !strings.Contains(r.body, `"tagNames":["amount","cloud.region"`) {
		t.Errorf("v1 tags: %s", r.body)
	}
	r = f.get("/api/search/tag/service.name/values?" + rng)
	if r.body != `{"metrics":{},"tagValues":["checkout","frontend"]}` {
		t.Errorf("v1 values: %s", r.body)
	}
}

func TestUIServices(t *testing.T) {
	f := newFixture(t)
	r := f.get("/ui/api/services?" + qs("start", ns(base), "end", ns(base.Add(10*time.Minute)), "step", "60"))
	var resp struct {
		Services []serviceRow `json:"services"`
	}
	if err := json.Unmarshal([]byte(r.body), &resp); err != nil || len(resp.Services) != 2 {
		t.Fatalf("services: %d %s", r.status, r.body)
	}
	for _, s := range resp.Services {
		if s.Spans != 60 || s.Rate <= 0 || s.P95 <= 0 || len(s.Series["rate"]) == 0 {
			t.Errorf("service %+v", s)
		}
	}
	if r := f.get("/ui/api/cluster"); r.status != http.StatusNotImplemented {
		t.Errorf("cluster without a ring: %d", r.status)
	}
}
