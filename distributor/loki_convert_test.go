package distributor

import (
	"strconv"
	"strings"
	"testing"
	"time"

	pb "github.com/strataobs/strata/proto/strata/v1"
)

func TestLokiLevel(t *testing.T) {
	meta := func(kv ...string) []*pb.Attr {
		var out []*pb.Attr
		for i := 0; i+1 < len(kv); i += 2 {
			out = append(out, &pb.Attr{Key: kv[i], Value: kv[i+1]})
		}
		return out
	}
	cases := []struct {
		name, streamLevel string
		meta              []*pb.Attr
		line              string
		level, text       string
	}{
		{name: "stream label wins", streamLevel: "WARNING", meta: meta("level", "debug"), line: "level=error", level: "warn", text: "WARNING"},
		{name: "unknown label value is kept as text", streamLevel: "loud", line: "ERROR x", level: "unknown", text: "loud"},
		{name: "metadata level", meta: meta("level", "err"), line: "INFO x", level: "error", text: "err"},
		{name: "metadata detected_level", meta: meta("detected_level", "debug"), level: "debug", text: "debug"},
		{name: "metadata priority: level before severity", meta: meta("severity", "error", "level", "info"), level: "info", text: "info"},
		{name: "logfmt", line: `ts=2024-01-01T00:00:00Z level=warn msg="disk ERROR"`, level: "warn", text: "warn"},
		{name: "logfmt quoted", line: `lvl="error" msg=x`, level: "error", text: "error"},
		{name: "logfmt dotted key", line: `log.level=debug msg=x`, level: "debug", text: "debug"},
		{name: "logfmt key must start a field", line: `msg="level=notice" ERROR`, level: "error", text: "ERROR"},
		{name: "logfmt value known only to the field parser", line: `ts=1 level=notice ERROR`, level: "info", text: "notice"},
		{name: "json", line: `{"ts":"10:00","level":"error","msg":"info"}`, level: "error", text: "error"},
		{name: "json with spaces", line: `{ "severity" : "CRITICAL" }`, level: "fatal", text: "CRITICAL"},
		{name: "json value not a level falls back to words", line: `{"level":"loud","msg":"WARN disk"}`, level: "warn", text: "WARN"},
		{name: "json string that only looks like a key", line: `{"msg":"level","x":"DEBUG"}`, level: "debug", text: "DEBUG"},
		{name: "first word wins", line: "2024-01-01 ERROR could not load info", level: "error", text: "ERROR"},
		{name: "warning word", line: "[WARNING] low disk", level: "warn", text: "WARNING"},
		{name: "err word", line: "ERR: bad", level: "error", text: "ERR"},
		{name: "panic word", line: "panic: runtime error", level: "fatal", text: "panic"},
		{name: "title case is prose", line: "Error connecting", level: "unknown", text: ""},
		{name: "words inside identifiers do not count", line: "error_count=0 information errors", level: "unknown", text: ""},
		{name: "nothing", line: "GET /health 200", level: "unknown", text: ""},
		{name: "empty", line: "", level: "unknown", text: ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			level, text := lokiLevel(tc.streamLevel, tc.meta, tc.line)
			if level != tc.level || text != tc.text {
				t.Errorf("lokiLevel(%q, %v, %q) = %q, %q; want %q, %q", tc.streamLevel, tc.meta, tc.line, level, text, tc.level, tc.text)
			}
		})
	}
}

func TestFindLevelLabel(t *testing.T) {
	cases := []struct {
		labels string
		want   string
	}{
		{`{app="a", level="warn"}`, "warn"},
		{`{detected_level="info", severity="error"}`, "info"},
		{`{app="a"}`, ""},
	}
	for _, tc := range cases {
		ls, err := parseLabels(tc.labels)
		if err != nil {
			t.Fatal(err)
		}
		if got := findLevelLabel(ls); got != tc.want {
			t.Errorf("findLevelLabel(%s) = %q, want %q", tc.labels, got, tc.want)
		}
	}
}

func TestWithServiceName(t *testing.T) {
	cases := []struct {
		labels, want, svc string
	}{
		{`{service_name="checkout", app="shop"}`, "app=shop,service_name=checkout", "checkout"},
		{`{job="varlogs", app="shop"}`, "app=shop,job=varlogs,service_name=shop", "shop"},
		{`{service="api", app="shop"}`, "app=shop,service=api,service_name=api", "api"},
		{`{job="varlogs", filename="/var/log/x"}`, "filename=/var/log/x,job=varlogs,service_name=varlogs", "varlogs"},
		{`{filename="/var/log/x"}`, "filename=/var/log/x,service_name=unknown_service", "unknown_service"},
	}
	for _, tc := range cases {
		ls, err := parseLabels(tc.labels)
		if err != nil {
			t.Fatal(err)
		}
		got, svc := withServiceName(ls)
		if labelsText(got) != tc.want || svc != tc.svc {
			t.Errorf("withServiceName(%s) = %s, %s; want %s, %s", tc.labels, labelsText(got), svc, tc.want, tc.svc)
		}
	}
}

func lokiTestPush(t *testing.T, streams ...string) *lokiPush {
	t.Helper()
	p, err := decodeLokiJSON([]byte(`{"streams":[` + strings.Join(streams, ",") + `]}`))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestConvertLoki: labels form the stream and the resource, metadata the attributes;
// ids are deterministic; invalid entries and streams are rejected, naming the limit,
// while the rest is kept.
func TestConvertLoki(t *testing.T) {
	now := time.Now().UnixNano()
	ts := func(d time.Duration) string { return `"` + strconv.FormatInt(now+int64(d), 10) + `"` }
	p := lokiTestPush(t,
		`{"stream":{"job":"api","env":"prod"},"values":[[`+ts(0)+`,"level=warn disk",{"user":"bob"}],[`+ts(1)+`,"ok"],["1","old"]]}`,
		`{"stream":{"env":"prod","job":"api"},"values":[[`+ts(2)+`,"same stream, other order"]]}`,
		`{"stream":{"a.b":"x"},"values":[[`+ts(3)+`,"bad labels"]]}`,
		`{"stream":{},"values":[[`+ts(4)+`,"no labels"]]}`,
	)
	v := testValidator()
	c := convertLoki("t", v, p)
	if c.accepted != 3 || len(c.rejected) != 3 {
		t.Fatalf("accepted %d, rejected %d (%v); want 3 and 3", c.accepted, len(c.rejected), c.rejected)
	}
	wantRejected := []struct{ reason, msg string }{
		{"too_old", `entry for stream {env="prod", job="api"}: timestamp 1970-01-01T00:00:00.000000001Z is older than the limit reject_older_than=168h0m0s`},
		{"invalid_labels", `invalid stream label name "a.b"`},
		{"invalid_labels", "at least one label pair is required per stream"},
	}
	for i, w := range wantRejected {
		if c.rejected[i].reason != w.reason || !strings.Contains(c.rejected[i].msg, w.msg) {
			t.Errorf("rejection %d = %s %q, want %s containing %q", i, c.rejected[i].reason, c.rejected[i].msg, w.reason, w.msg)
		}
	}
	if len(c.streams) != 1 || len(c.resources) != 1 {
		t.Fatalf("streams %d, resources %d; want one of each (label order does not matter)", len(c.streams), len(c.resources))
	}
	st := c.streams[0]
	if labelsText(st.Labels) != "env=prod,job=api,service_name=api" {
		t.Errorf("stream labels = %s", labelsText(st.Labels))
	}
	res := c.resources[0]
	if res.ServiceName != "api" || attrsText(res.Attributes) != "env=prod,job=api,service_name=api" {
		t.Errorf("resource = %s %s", res.ServiceName, attrsText(res.Attributes))
	}
	r0 := st.Records[0]
	if r0.Timestamp != now || r0.ObservedTimestamp != now || r0.Body != "level=warn disk" || r0.Level != "warn" || r0.SeverityText != "warn" || attrsText(r0.Attributes) != "user=bob" {
		t.Errorf("record 0 = %v", r0)
	}
	if r1 := st.Records[1]; r1.Level != "unknown" || r1.SeverityText != "" {
		t.Errorf("record 1 level = %q %q, want unknown", r1.Level, r1.SeverityText)
	}

	again := convertLoki("t", v, p)
	later := testValidator()
	later.nowNanos += int64(time.Minute)
	retried := convertLoki("t", later, p)
	for i, r := range st.Records {
		if again.streams[0].Records[i].Id != r.Id || retried.streams[0].Records[i].Id != r.Id {
			t.Errorf("record %d: the same entry got a different id", i)
		}
		if i > 0 && st.Records[i-1].Id == r.Id {
			t.Errorf("records %d and %d share an id", i-1, i)
		}
	}
}

func TestConvertLokiLimits(t *testing.T) {
	now := strconv.FormatInt(time.Now().UnixNano(), 10)
	v := testValidator()
	v.lim.MaxLineSize = 10
	v.lim.MaxAttributes = 2
	cases := []struct {
		name, stream, reason, msg string
	}{
		{"line too long", `{"stream":{"a":"1"},"values":[["` + now + `","0123456789x"]]}`, "line_too_long", "log line of 11 bytes exceeds max_line_size=10"},
		{"too many metadata", `{"stream":{"a":"1"},"values":[["` + now + `","x",{"k1":"1","k2":"2","k3":"3"}]]}`, "too_many_attributes", "structured metadata has 3 attributes, more than the limit max_attributes=2"},
		{"too many labels", `{"stream":{"a":"1","b":"2"},"values":[["` + now + `","x"]]}`, "too_many_attributes", `stream {a="1", b="2"} has 3 attributes, more than the limit max_attributes=2`},
		{"future", `{"stream":{"a":"1"},"values":[["4102444800000000000","x"]]}`, "too_far_in_future", "creation_grace_period="},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := convertLoki("t", v, lokiTestPush(t, tc.stream))
			if c.accepted != 0 || len(c.rejected) != 1 || c.rejected[0].reason != tc.reason || !strings.Contains(c.rejected[0].msg, tc.msg) {
				t.Errorf("accepted %d, rejected %v; want %s containing %q", c.accepted, c.rejected, tc.reason, tc.msg)
			}
		})
	}
}

func attrsText(as []*pb.Attr) string {
	var parts []string
	for _, a := range as {
		parts = append(parts, a.Key+"="+a.Value)
	}
	return strings.Join(parts, ",")
}
