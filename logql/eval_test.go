package logql

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

const sec = int64(time.Second)

// evalTestData: two foo streams and one bar stream; times in seconds.
func evalTestData() []Entry {
	info := FromStrings("app", "foo", "level", "info")
	errs := FromStrings("app", "foo", "level", "error")
	bar := FromStrings("app", "bar")
	ctr := FromStrings("app", "ctr")
	e := func(ts int64, ls Labels, line string) Entry {
		return Entry{Timestamp: ts * sec, Line: line, Stream: ls}
	}
	return []Entry{
		e(10, info, "status=200 latency=100ms bytes=10"),
		e(20, info, "status=500 latency=300ms bytes=20"),
		e(30, info, "status=200 latency=200ms bytes=30"),
		e(60, info, "status=200 latency=400ms bytes=40"),
		e(15, errs, "status=500 latency=1s bytes=5"),
		e(45, errs, "status=503 latency=2s bytes=5"),
		e(30, bar, "hello"),
		e(10, ctr, "total=10"),
		e(20, ctr, "total=20"),
		e(30, ctr, "total=5"),
		e(40, ctr, "total=15"),
	}
}

// formatValue prints results compactly: step times in seconds, values with
// 10 significant digits.
func formatValue(v Value) string {
	num := func(f float64) string { return strconv.FormatFloat(f, 'g', 10, 64) }
	var lines []string
	switch v := v.(type) {
	case Matrix:
		for _, s := range v {
			var pts []string
			for _, p := range s.Points {
				pts = append(pts, strconv.FormatInt(p.T/sec, 10)+":"+num(p.V))
			}
			lines = append(lines, s.Labels.String()+" ["+strings.Join(pts, " ")+"]")
		}
	case Vector:
		for _, s := range v {
			lines = append(lines, s.Labels.String()+" "+num(s.V))
		}
	case Scalar:
		lines = append(lines, "scalar "+num(v.V))
	}
	return strings.Join(lines, "\n")
}

func TestEvalRange(t *testing.T) {
	src := SliceSource(evalTestData())
	// f evaluates q at 30s, 60s and 90s.
	f := func(q, want string) {
		t.Helper()
		e, err := ParseSampleExpr(q)
		if err != nil {
			t.Fatalf("ParseSampleExpr(%q): %v", q, err)
		}
		v, err := EvalMetric(context.Background(), e, Params{Start: 30 * sec, End: 90 * sec, Step: 30 * time.Second}, src)
		if err != nil {
			t.Fatalf("EvalMetric(%q): %v", q, err)
		}
		if got := formatValue(v); got != want {
			t.Errorf("EvalMetric(%q):\n got %s\nwant %s", q, got, want)
		}
	}
	// windows are (t-30s, t]: the 30s entry counts at 30 but not at 60, the 60s entry at 60
	f(`count_over_time({app="foo"}[30s])`, "{app=\"foo\", level=\"error\"} [30:1 60:1]\n{app=\"foo\", level=\"info\"} [30:3 60:1]")
	f(`rate({app="foo"}[30s])`, "{app=\"foo\", level=\"error\"} [30:0.03333333333 60:0.03333333333]\n{app=\"foo\", level=\"info\"} [30:0.1 60:0.03333333333]")
	f(`sum by (app) (count_over_time({app="foo"}[30s]))`, `{app="foo"} [30:4 60:2]`)
	f(`sum(count_over_time({app=~".+"}[30s]))`, `{} [30:8 60:3]`)
	f(`bytes_over_time({app="bar"}[1m])`, `{app="bar"} [30:5 60:5]`)
	f(`bytes_rate({app="bar"}[1m])`, `{app="bar"} [30:0.08333333333 60:0.08333333333]`)
	f(`count_over_time({app="bar"}[30s] offset 30s)`, `{app="bar"} [60:1]`)
	f(`count_over_time({app="foo"} |= "500" [30s])`, "{app=\"foo\", level=\"error\"} [30:1]\n{app=\"foo\", level=\"info\"} [30:1]")
	f(`count_over_time({app="foo"} | logfmt | status >= 500 | keep level [1m])`, "{level=\"error\"} [30:1 60:2 90:1]\n{level=\"info\"} [30:1 60:1]")

	// unwrap: the unwrapped label leaves the series labels
	f(`sum by (level) (sum_over_time({app="foo"} | logfmt | unwrap bytes [30s]))`, "{level=\"error\"} [30:5 60:5]\n{level=\"info\"} [30:60 60:40]")
	f(`sum_over_time({app="foo"} | logfmt | keep level, bytes | unwrap bytes [30s])`, "{level=\"error\"} [30:5 60:5]\n{level=\"info\"} [30:60 60:40]")
	f(`avg_over_time({app="foo"} | logfmt | unwrap duration(latency) [30s]) by (level)`, "{level=\"error\"} [30:1 60:2]\n{level=\"info\"} [30:0.2 60:0.4]")
	f(`quantile_over_time(0.5, {app="foo"} | logfmt | unwrap duration(latency) [1m]) by (app)`, `{app="foo"} [30:0.25 60:0.35 90:1.2]`)
	f(`max_over_time({app="foo"} | logfmt | unwrap status [1m]) by (level)`, "{level=\"error\"} [30:500 60:503 90:503]\n{level=\"info\"} [30:500 60:500 90:200]")
	f(`min_over_time({app="foo"} | logfmt | unwrap status [1m]) by (level)`, "{level=\"error\"} [30:500 60:500 90:503]\n{level=\"info\"} [30:200 60:200 90:200]")
	f(`first_over_time({app="foo"} | logfmt | unwrap bytes [1m]) by (level)`, "{level=\"error\"} [30:5 60:5 90:5]\n{level=\"info\"} [30:10 60:10 90:40]")
	f(`last_over_time({app="foo"} | logfmt | unwrap bytes [1m]) by (level)`, "{level=\"error\"} [30:5 60:5 90:5]\n{level=\"info\"} [30:30 60:40 90:40]")
	f(`stddev_over_time({app="foo", level="info"} | logfmt | unwrap bytes [30s]) by (level)`, `{level="info"} [30:8.164965809 60:0]`)
	f(`stdvar_over_time({app="foo", level="info"} | logfmt | unwrap bytes [30s]) by (level)`, `{level="info"} [30:66.66666667 60:0]`)
	f(`sum by (level) (rate({app="foo"} | logfmt | unwrap bytes [30s]))`, "{level=\"error\"} [30:0.1666666667 60:0.1666666667]\n{level=\"info\"} [30:2 60:1.333333333]")
	f(`sum by (level) (sum_over_time({app="foo"} | logfmt | unwrap bytes | bytes > 15 [30s]))`, `{level="info"} [30:50 60:40]`)
	f(`sum_over_time({app="foo"} | logfmt | unwrap latency | __error__="" [30s])`, ``)

	// absent_over_time
	f(`absent_over_time({app="bar"}[30s])`, `{app="bar"} [60:1 90:1]`)
	f(`absent_over_time({app="bar", x="y", z=~"w"}[30s])`, `{app="bar", x="y"} [30:1 60:1 90:1]`)

	// vector aggregations
	f(`topk(1, count_over_time({app="foo"}[30s]))`, "{app=\"foo\", level=\"error\"} [60:1]\n{app=\"foo\", level=\"info\"} [30:3]")
	f(`bottomk(1, count_over_time({app="foo"}[30s]))`, `{app="foo", level="error"} [30:1 60:1]`)
	f(`topk by (level) (1, count_over_time({app="foo"} | logfmt | keep level, status [1m]))`, "{level=\"error\", status=\"500\"} [30:1 60:1]\n{level=\"error\", status=\"503\"} [90:1]\n{level=\"info\", status=\"200\"} [30:2 60:3 90:1]")
	f(`avg(count_over_time({app="foo"}[30s]))`, `{} [30:2 60:1]`)
	f(`max without (level) (count_over_time({app="foo"}[30s]))`, `{app="foo"} [30:3 60:1]`)
	f(`min(count_over_time({app="foo"}[30s]))`, `{} [30:1 60:1]`)
	f(`count(count_over_time({app=~".+"}[30s]))`, `{} [30:4 60:3]`)
	f(`stddev(count_over_time({app="foo"}[30s]))`, `{} [30:1 60:0]`)
	f(`stdvar(count_over_time({app="foo"}[30s]))`, `{} [30:1 60:0]`)
	f(`sum by (nothere) (count_over_time({app="foo"}[30s]))`, `{} [30:4 60:2]`)

	// binary operations
	f(`sum(count_over_time({app="foo"}[30s])) / sum(count_over_time({app=~"foo|bar"}[30s]))`, `{} [30:0.8 60:1]`)
	f(`count_over_time({app="foo"}[30s]) > 1`, `{app="foo", level="info"} [30:3]`)
	f(`1 < count_over_time({app="foo"}[30s])`, `{app="foo", level="info"} [30:3]`)
	f(`count_over_time({app="foo"}[30s]) > bool 1`, "{app=\"foo\", level=\"error\"} [30:0 60:0]\n{app=\"foo\", level=\"info\"} [30:1 60:0]")
	f(`count_over_time({app="foo"}[30s]) * 2 + 1`, "{app=\"foo\", level=\"error\"} [30:3 60:3]\n{app=\"foo\", level=\"info\"} [30:7 60:3]")
	f(`2 ^ count_over_time({app="foo", level="info"}[30s]) % 5`, `{app="foo", level="info"} [30:3 60:2]`)
	f(`2 * 3`, `{} [30:6 60:6 90:6]`)
	f(`sum(count_over_time({app="foo"}[30s])) or vector(0)`, `{} [30:4 60:2 90:0]`)
	f(`count_over_time({app="foo"}[30s]) or vector(0)`, "{} [30:0 60:0 90:0]\n{app=\"foo\", level=\"error\"} [30:1 60:1]\n{app=\"foo\", level=\"info\"} [30:3 60:1]")
	f(`count_over_time({app="foo"}[30s]) and count_over_time({app="foo"} |= "500" [30s])`, "{app=\"foo\", level=\"error\"} [30:1]\n{app=\"foo\", level=\"info\"} [30:3]")
	f(`count_over_time({app="foo"}[30s]) unless count_over_time({app="foo"} |= "500" [30s])`, "{app=\"foo\", level=\"error\"} [60:1]\n{app=\"foo\", level=\"info\"} [60:1]")
	f(`count_over_time({app="foo"}[30s]) - count_over_time({app="foo"} |= "500" [30s])`, "{app=\"foo\", level=\"error\"} [30:0]\n{app=\"foo\", level=\"info\"} [30:2]")
	f(`count_over_time({app="foo"}[30s]) / on (level) count_over_time({app="foo"} |= "500" [30s])`, "{level=\"error\"} [30:1]\n{level=\"info\"} [30:3]")
	f(`count_over_time({app="foo"}[30s]) / ignoring (app) count_over_time({app="foo"} |= "500" [30s])`, "{level=\"error\"} [30:1]\n{level=\"info\"} [30:3]")
	f(`label_replace(count_over_time({app="bar"}[1m]), "svc", "s-$1", "app", "(.*)")`, `{app="bar", svc="s-bar"} [30:1 60:1]`)
	f(`label_replace(count_over_time({app="bar"}[1m]), "app", "", "app", ".*")`, `{} [30:1 60:1]`)

	// rate_counter over 10@10s, 20@20s, 5@30s (reset), 15@40s, extrapolated like Prometheus' rate
	f(`rate_counter({app="ctr"} | logfmt | unwrap total [1m])`, `{app="ctr"} [30:0.3125 60:0.625 90:0]`)
}

func TestEvalInstant(t *testing.T) {
	src := SliceSource(evalTestData())
	f := func(q string, at int64, want string) {
		t.Helper()
		e, err := ParseSampleExpr(q)
		if err != nil {
			t.Fatalf("ParseSampleExpr(%q): %v", q, err)
		}
		v, err := EvalMetric(context.Background(), e, Params{Start: at * sec, End: at * sec}, src)
		if err != nil {
			t.Fatalf("EvalMetric(%q): %v", q, err)
		}
		if got := formatValue(v); got != want {
			t.Errorf("EvalMetric(%q):\n got %s\nwant %s", q, got, want)
		}
	}
	f(`count_over_time({app="foo"}[1m])`, 60, "{app=\"foo\", level=\"error\"} 2\n{app=\"foo\", level=\"info\"} 4")
	f(`sort_desc(count_over_time({app="foo"}[1m]))`, 60, "{app=\"foo\", level=\"info\"} 4\n{app=\"foo\", level=\"error\"} 2")
	f(`sort(count_over_time({app="foo"}[1m]))`, 60, "{app=\"foo\", level=\"error\"} 2\n{app=\"foo\", level=\"info\"} 4")
	f(`vector(1)+vector(1)`, 4, `{} 2`)
	f(`1 + 1`, 4, `scalar 2`)
	f(`2 > bool 1`, 4, `scalar 1`)
	f(`count_over_time({app="foo"}[1m])`, 200, ``)
	f(`rate_counter({app="ctr"} | logfmt | unwrap total [40s])`, 40, `{app="ctr"} 0.8333333333`)
	f(`count_over_time({app="foo"} | logfmt | drop latency, bytes [30s]) / on (level) group_left sum by (level) (count_over_time({app="foo"}[30s]))`, 30,
		"{app=\"foo\", level=\"error\", status=\"500\"} 1\n{app=\"foo\", level=\"info\", status=\"200\"} 0.6666666667\n{app=\"foo\", level=\"info\", status=\"500\"} 0.3333333333")
	f(`sum by (level) (count_over_time({app="foo"}[30s])) * on (level) group_right count_over_time({app="foo"} | logfmt | drop latency, bytes [30s])`, 30,
		"{app=\"foo\", level=\"error\", status=\"500\"} 1\n{app=\"foo\", level=\"info\", status=\"200\"} 6\n{app=\"foo\", level=\"info\", status=\"500\"} 3")
	f(`count_over_time({app="foo"}[30s]) / on (level) group_left (app) sum by (level) (count_over_time({app="foo"}[30s]))`, 30,
		"{level=\"error\"} 1\n{level=\"info\"} 1")
}

func TestEvalErrors(t *testing.T) {
	src := SliceSource(evalTestData())
	f := func(q string, p Params, want string) {
		t.Helper()
		e, err := ParseSampleExpr(q)
		if err != nil {
			t.Fatalf("ParseSampleExpr(%q): %v", q, err)
		}
		_, err = EvalMetric(context.Background(), e, p, src)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("EvalMetric(%q) error = %v, want it to contain %q", q, err, want)
		}
	}
	rangeParams := Params{Start: 30 * sec, End: 90 * sec, Step: 30 * time.Second}
	f(`count_over_time({app="foo"} | json [30s])`, rangeParams, `pipeline error: 'JSONParserErr' for series: '{__error__="JSONParserErr"`)
	f(`sum by (level) (count_over_time({app="foo"} | json [30s]))`, rangeParams, `pipeline error: 'JSONParserErr'`)
	f(`sum_over_time({app="foo"} | logfmt | unwrap latency [30s])`, rangeParams, `pipeline error: 'SampleExtractionErr'`)
	f(`count_over_time({app="foo"}[30s]) - on (app) count_over_time({app="foo"}[30s])`, rangeParams, `found duplicate series for the match group`)
	f(`count_over_time({app="foo"}[30s]) - on (app) sum by (app) (count_over_time({app="foo"}[30s]))`, rangeParams, `multiple matches for labels: many-to-one matching must be explicit`)
	f(`label_replace(count_over_time({app="foo"}[30s]), "level", "x", "app", ".*")`, rangeParams, `vector cannot contain metrics with the same labelset`)
	f(`count_over_time({app="foo"}[30s])`, Params{Start: 30 * sec, End: 90 * sec, Step: 30 * time.Second, MaxSeries: 1}, `maximum of series (1) reached for a single query`)
	f(`count_over_time({app="foo"}[30s])`, Params{Start: 30 * sec, End: 90 * sec}, `zero or negative query resolution step`)
	f(`count_over_time({app="foo"}[30s])`, Params{Start: 0, End: 20000 * sec, Step: time.Second}, `exceeded maximum resolution of 11000 points`)
	f(`count_over_time({app="foo"}[30s])`, Params{Start: 90 * sec, End: 30 * sec, Step: time.Second}, `end timestamp must not be before start time`)

	// the sum of pipelines that handle errors works
	e, _ := ParseSampleExpr(`sum(count_over_time({app="foo"} | json | drop __error__, __error_details__ [30s]))`)
	v, err := EvalMetric(context.Background(), e, rangeParams, src)
	if err != nil || formatValue(v) != `{} [30:4 60:2]` {
		t.Errorf("dropping __error__: %v %s", err, formatValue(v))
	}
}

func TestEvalOutOfOrder(t *testing.T) {
	ls := FromStrings("app", "foo")
	unsorted := []Entry{{Timestamp: 20 * sec, Line: "b", Stream: ls}, {Timestamp: 10 * sec, Line: "a", Stream: ls}}
	src := func(context.Context, SelectRequest) (EntryIterator, error) { return NewSliceIterator(unsorted), nil }
	e, _ := ParseSampleExpr(`count_over_time({app="foo"}[1m])`)
	_, err := EvalMetric(context.Background(), e, Params{Start: 60 * sec, End: 60 * sec}, src)
	if !errors.Is(err, ErrOutOfOrder) {
		t.Fatalf("err = %v, want ErrOutOfOrder", err)
	}
}

func TestEvalSelectRequest(t *testing.T) {
	var got []SelectRequest
	src := func(_ context.Context, r SelectRequest) (EntryIterator, error) {
		got = append(got, r)
		return NewSliceIterator(nil), nil
	}
	e, _ := ParseSampleExpr(`count_over_time({app="foo"} |= "x" [1m] offset 1h) + count_over_time({app="bar"}[5m])`)
	p := Params{Start: 7200 * sec, End: 7260 * sec, Step: time.Minute}
	if _, err := EvalMetric(context.Background(), e, p, src); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("got %d requests, want 2", len(got))
	}
	if got[0].Log.String() != `{app="foo"} |= "x"` || got[0].Start != (7200-3600-60)*sec+1 || got[0].End != (7260-3600)*sec+1 {
		t.Errorf("first request = %s [%d, %d)", got[0].Log, got[0].Start, got[0].End)
	}
	if got[1].Start != (7200-300)*sec+1 || got[1].End != 7260*sec+1 {
		t.Errorf("second request = [%d, %d)", got[1].Start, got[1].End)
	}
	from, to := DataRange(e, p)
	if from != got[0].Start || to != got[1].End {
		t.Errorf("DataRange = [%d, %d), want [%d, %d)", from, to, got[0].Start, got[1].End)
	}
}

func TestEvalLogs(t *testing.T) {
	lq, err := ParseLogQuery(`{app=~"foo|bar"} |= "0" | logfmt | status >= 500 or app="bar"`)
	if err != nil {
		t.Fatal(err)
	}
	it, _ := SliceSource(evalTestData())(context.Background(), SelectRequest{Log: lq, Start: 0, End: 100 * sec})
	streams, err := EvalLogs(context.Background(), lq, it, EvalLogsParams{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range streams {
		for _, e := range s.Entries {
			got = append(got, s.Labels.String()+" "+strconv.FormatInt(e.Timestamp/sec, 10)+" "+e.Line)
		}
	}
	want := `{app="foo", bytes="20", latency="300ms", level="info", status="500"} 20 status=500 latency=300ms bytes=20` + "\n" +
		`{app="foo", bytes="5", latency="1s", level="error", status="500"} 15 status=500 latency=1s bytes=5`
	if g := strings.Join(got, "\n"); g != want {
		t.Errorf("got\n%s\nwant\n%s", g, want)
	}

	it, _ = SliceSource(evalTestData())(context.Background(), SelectRequest{Log: lq, Start: 0, End: 100 * sec})
	streams, err = EvalLogs(context.Background(), lq, it, EvalLogsParams{Categorize: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(streams) != 2 || streams[1].Labels.String() != `{app="foo", level="info"}` || len(streams[1].Entries) != 1 ||
		streams[1].Entries[0].Parsed.String() != `{bytes="20", latency="300ms", status="500"}` {
		t.Errorf("categorized streams = %+v", streams)
	}
}

func TestAsCountQuery(t *testing.T) {
	f := func(q string, want string) {
		t.Helper()
		e, err := Parse(q)
		if err != nil {
			t.Fatal(err)
		}
		cq, ok := AsCountQuery(e)
		got := "no"
		if ok {
			got = cq.Op + " " + cq.Log.String() + " " + formatDuration(cq.Range) + " " + formatDuration(cq.Offset) + " " + strconv.FormatBool(cq.Sum) + " " + strings.Join(cq.By, ",")
		}
		if got != want {
			t.Errorf("AsCountQuery(%q) = %q, want %q", q, got, want)
		}
	}
	f(`sum by (level) (count_over_time({app="foo"} |= "needle" [1m]))`, `count_over_time {app="foo"} |= "needle" 1m 0s true level`)
	f(`sum(rate({app="foo"} |~ "a|b" != "c" [5m] offset 1h))`, `rate {app="foo"} |~ "a|b" != "c" 5m 1h true `)
	f(`bytes_over_time({app="foo"}[1m])`, `bytes_over_time {app="foo"} 1m 0s false `)
	f(`sum without (a) (count_over_time({app="foo"}[1m]))`, `no`)
	f(`sum by (level) (count_over_time({app="foo"} | json [1m]))`, `no`)
	f(`max by (level) (count_over_time({app="foo"}[1m]))`, `no`)
	f(`sum(sum_over_time({app="foo"} | unwrap x [1m]))`, `no`)
	f(`count_over_time({app="foo"}[1m]) > 1`, `no`)
	f(`{app="foo"} |= "x"`, `no`)

	q := &CountQuery{Op: OpRate, Range: 30 * time.Second}
	if q.Finalize(15) != 0.5 || q.Bytes() {
		t.Errorf("Finalize(15) = %v", q.Finalize(15))
	}
}

func TestLeadingLineFilters(t *testing.T) {
	lq, err := ParseLogQuery(`{app="foo"} |= "a" !~ "b" | json |= "c"`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, lf := range lq.LeadingLineFilters() {
		got = append(got, lf.String())
	}
	if strings.Join(got, " ") != `|= "a" !~ "b"` || lq.OnlyLineFilters() {
		t.Errorf("LeadingLineFilters = %q, OnlyLineFilters = %v", got, lq.OnlyLineFilters())
	}
	if lq.Selector()[0].String() != `app="foo"` {
		t.Errorf("Selector = %v", lq.Selector())
	}
}
