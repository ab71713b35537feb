package querier

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/strataobs/strata/logql"
)

// metricQueries are evaluated both through the querier (ClickHouse, pushed down where
// possible) and by logql in memory over the same records; the results must be equal.
var metricQueries = []struct {
	query    string
	pushdown bool
}{
	{`sum(count_over_time({service_name=~".+"}[1m]))`, true},
	{`sum by (service_name) (count_over_time({service_name=~".+"}[1m]))`, true},
	{`sum by (level, detected_level) (count_over_time({service_name="checkout"} |= "timeout" | drop __error__[1m]))`, true},
	{`sum by (detected_level) (count_over_time({service_name=~".+"} != "GET" [15s]))`, true},
	{`sum by (deployment_environment, http_status_code) (rate({service_name=~"check.*|cart"} |~ "(?i)timeout|boom" [2m]))`, true},
	{`sum by (host_name) (bytes_over_time({service_name=~".+"}[90s]))`, true},
	{`sum(bytes_rate({deployment_environment="prod"} !~ "[0-9]{3}" [1m] offset 30s))`, true},
	{`sum by (user, scope_name) (count_over_time({service_name=~".+"} |= "" [45s]))`, true},
	{`sum by (trace_id) (count_over_time({service_name="cart"}[5m]))`, true},
	{`sum(count_over_time({service_name=~".+"} |> "<_> /cart <_>" [1m]))`, false},
	{`count_over_time({service_name="cart"}[1m])`, false},
	{`sum by (level) (count_over_time({service_name=~".+"} | json | drop __error__ [1m]))`, false},
	{`sum by (service_name) (count_over_time({service_name=~".+"} | logfmt | level="warn" [1m]))`, false},
	{`topk(2, sum by (service_name) (rate({service_name=~".+"}[1m])))`, false},
	{`sum(count_over_time({service_name=~".+"}[1m])) / 60`, false},
	{`max_over_time({service_name=~".+"} | logfmt | unwrap duration(took) [5m]) by (service_name)`, false},
	{`vector(1)+vector(1)`, false},
}

func TestMetricQueriesMatchInMemory(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	type window struct {
		name       string
		start, end time.Time
		step       time.Duration
		instant    bool
	}
	windows := []window{
		{"aligned", base, base.Add(7 * time.Minute), time.Minute, false},
		{"odd step", base.Add(13 * time.Second), base.Add(410 * time.Second), 7 * time.Second, false},
		{"fine", base.Add(100 * time.Second), base.Add(200 * time.Second), 2500 * time.Millisecond, false},
		{"instant", base.Add(250 * time.Second), base.Add(250 * time.Second), 0, true},
	}
	for _, mq := range metricQueries {
		expr, err := logql.ParseSampleExpr(mq.query)
		if err != nil {
			t.Fatalf("parse %s: %v", mq.query, err)
		}
		if _, ok := countQueryOf(expr); ok != mq.pushdown {
			t.Errorf("%s: pushed down = %v, want %v", mq.query, ok, mq.pushdown)
		}
		for _, w := range windows {
			lq := lokiQuery{query: mq.query, start: w.start.UnixNano(), end: w.end.UnixNano(), step: w.step, instant: w.instant, limit: 100}
			got, _, err := f.q.runQuery(ctx, tenantA, lq)
			if err != nil {
				t.Fatalf("%s (%s): %v", mq.query, w.name, err)
			}
			p := logql.Params{Start: lq.start, End: lq.end, Step: lq.step}
			want, err := logql.EvalMetric(ctx, expr, p, f.memSource(tenantA))
			if err != nil {
				t.Fatalf("%s (%s) in memory: %v", mq.query, w.name, err)
			}
			if !reflect.DeepEqual(normalize(got), normalize(want)) {
				t.Errorf("%s (%s):\n got %s\nwant %s", mq.query, w.name, brief(got), brief(want))
			}
		}
	}
}

// normalize makes empty results comparable (nil and empty mean the same).
func normalize(v logql.Value) logql.Value {
	switch r := v.(type) {
	case logql.Matrix:
		if len(r) == 0 {
			return logql.Matrix{}
		}
	case logql.Vector:
		if len(r) == 0 {
			return logql.Vector{}
		}
	}
	return v
}

func brief(v logql.Value) string {
	switch r := v.(type) {
	case logql.Matrix:
		s := fmt.Sprintf("matrix of %d series", len(r))
		for i, ser := range r {
			if i == 3 {
				break
			}
			s += fmt.Sprintf(" %s:%v", ser.Labels, ser.Points[:min(4, len(ser.Points))])
		}
		return s
	case logql.Vector:
		return fmt.Sprintf("vector %v", r)
	}
	return fmt.Sprint(v)
}

var logQueries = []string{
	`{service_name="checkout"}`,
	`{service_name=~".+"} |= "timeout"`,
	`{service_name=~".+", deployment_environment!="prod"} != "GET" |~ "(?i)multi"`,
	`{service_name="cart"} | json | level="error"`,
	`{service_name=~".+"} | logfmt | took > 1s | line_format "{{.msg}}"`,
	`{service_name=~".+"} | trace_id="0001020304050607080910111213141516"`,
	`{service_name=~".+"} | http_status_code >= 500 | user="bob"`,
	`{service_name=~"web-.*"} |= ip("10.0.0.1")`,
}

func TestLogQueriesMatchInMemory(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, q := range logQueries {
		for _, forward := range []bool{false, true} {
			for _, limit := range []int{1, 17, 1000} {
				for _, categorize := range []bool{false, true} {
					lq := lokiQuery{query: q, start: base.Add(30 * time.Second).UnixNano(), end: base.Add(350 * time.Second).UnixNano(),
						limit: limit, forward: forward, categorize: categorize, step: time.Second}
					got, _, err := f.q.runQuery(ctx, tenantA, lq)
					if err != nil {
						t.Fatalf("%s: %v", q, err)
					}
					want := f.memLogs(tenantA, lq)
					if !reflect.DeepEqual(got, want) {
						t.Errorf("%s forward=%v limit=%d categorize=%v:\n got %v\nwant %v", q, forward, limit, categorize, got, want)
					}
				}
			}
		}
	}
}
