package logql

import (
	"context"
	"fmt"
	"testing"
	"time"
)

var benchQueries = []string{
	`{app="foo", env=~"prod|staging"} |= "error" != "timeout"`,
	`{app="foo"} | json | status >= 500 and latency > 250ms | line_format "{{.method}} {{.path}}"`,
	`sum by (level, detected_level) (count_over_time({service_name="checkout"} | drop __error__[1m]))`,
	`topk(10, sum by (path) (rate({app="foo"} | logfmt | unwrap duration(latency) | __error__="" [5m])))`,
	`sum(rate({app="foo"} |= "err" [1m])) / sum(rate({app="foo"}[1m])) > bool 0.05`,
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		for _, q := range benchQueries {
			if _, err := Parse(q); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// benchJSONEntries is n JSON lines over 4 streams; one in four has status 500.
func benchJSONEntries(n int) ([]Entry, int64) {
	streams := []Labels{
		FromStrings("app", "foo", "env", "prod", "pod", "a"),
		FromStrings("app", "foo", "env", "prod", "pod", "b"),
		FromStrings("app", "foo", "env", "dev", "pod", "c"),
		FromStrings("app", "foo", "env", "dev", "pod", "d"),
	}
	levels := []string{"info", "warn", "error", "debug"}
	statuses := []int{200, 201, 500, 404}
	var size int64
	out := make([]Entry, n)
	for i := range out {
		line := fmt.Sprintf(`{"ts":"2024-01-01T00:00:%02dZ","level":%q,"msg":"request served","request":{"method":"GET","path":"/api/v1/items/%d","status":%d},"latency_ms":%d,"user":{"id":%d,"tags":["a","b"]}}`,
			i%60, levels[i%4], i%100, statuses[i%4], i%1000, i%50)
		out[i] = Entry{Timestamp: int64(i) * int64(time.Millisecond), Line: line, Stream: streams[i%4]}
		size += int64(len(line))
	}
	return out, size
}

func BenchmarkPipelineJSONLabelFilter(b *testing.B) {
	entries, size := benchJSONEntries(10000)
	lq, err := ParseLogQuery(`{app="foo"} | json | request_status >= 500 and level="error"`)
	if err != nil {
		b.Fatal(err)
	}
	p, err := NewPipeline(lq)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		kept := 0
		for _, e := range entries {
			if _, _, ok := p.Process(e); ok {
				kept++
			}
		}
		if kept != len(entries)/4 {
			b.Fatalf("kept %d entries, want %d", kept, len(entries)/4)
		}
	}
}

func BenchmarkPipelineLogfmt(b *testing.B) {
	entries := make([]Entry, 10000)
	var size int64
	for i := range entries {
		line := fmt.Sprintf(`ts=2024-01-01T00:00:00Z level=info msg="request served" method=GET path=/api/%d status=%d duration=%dms`, i%100, 200+i%2*300, i%1000)
		entries[i] = Entry{Timestamp: int64(i), Line: line, Stream: FromStrings("app", "foo")}
		size += int64(len(line))
	}
	lq, err := ParseLogQuery(`{app="foo"} | logfmt | status >= 500 | duration > 100ms`)
	if err != nil {
		b.Fatal(err)
	}
	p, err := NewPipeline(lq)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		kept := 0
		for _, e := range entries {
			if _, _, ok := p.Process(e); ok {
				kept++
			}
		}
		if kept == 0 {
			b.Fatal("nothing kept")
		}
	}
}

func BenchmarkEvalSumCountOverTime(b *testing.B) {
	entries, size := benchJSONEntries(100000) // 100s of data, 1000 lines/s
	src := SliceSource(entries)
	e, err := ParseSampleExpr(`sum by (level) (count_over_time({app="foo"} | json | request_status >= 500 [10s]))`)
	if err != nil {
		b.Fatal(err)
	}
	p := Params{Start: 10 * sec, End: 100 * sec, Step: 10 * time.Second}
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		v, err := EvalMetric(context.Background(), e, p, src)
		if err != nil {
			b.Fatal(err)
		}
		if m := v.(Matrix); len(m) != 1 || len(m[0].Points) != 10 || m[0].Points[0].V != 2500 {
			b.Fatalf("unexpected result %s", formatValue(v))
		}
	}
}
