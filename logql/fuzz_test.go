package logql

import (
	"context"
	"strings"
	"testing"
	"time"
)

// FuzzParse checks that no input panics the parser and that whatever parses
// prints to a canonical form that parses back to the same form.
func FuzzParse(f *testing.F) {
	forEachParseCase(func(q, _ string) { f.Add(q) })
	f.Fuzz(func(t *testing.T, q string) {
		e, err := Parse(q)
		if err != nil {
			if !IsParseError(err) {
				t.Fatalf("Parse(%q) returned a non-parse error: %v", q, err)
			}
			return
		}
		s := e.String()
		e2, err := Parse(s)
		if err != nil {
			t.Fatalf("Parse(%q) = %q, which does not parse: %v", q, s, err)
		}
		if s2 := e2.String(); s2 != s {
			t.Fatalf("Parse(%q) = %q, reparsed as %q", q, s, s2)
		}
	})
}

// FuzzPipeline runs parsed log queries over a few lines: nothing may panic.
func FuzzPipeline(f *testing.F) {
	f.Add(`{a="b"} | json | x > 1`, `{"x": 2, "y": {"z": "w"}}`)
	f.Add(`{a="b"} | logfmt --strict | line_format "{{.x}}"`, `x=1 y="a b" z`)
	f.Add(`{a="b"} | pattern "<a> <b>" | label_format c="{{.a}}{{.b}}"`, `hello world`)
	f.Add(`{a="b"} | unpack | regexp "(?P<n>\\d+)"`, `{"_entry":"line 42","k":"v"}`)
	f.Add(`{a="b"} | json p="x[0].y" | decolorize`, "{\"x\":[{\"y\":\"\x1b[31mred\"}]}")
	f.Fuzz(func(t *testing.T, q, line string) {
		lq, err := ParseLogQuery(q)
		if err != nil {
			return
		}
		p, err := NewPipeline(lq)
		if err != nil {
			t.Fatalf("NewPipeline(%q): %v", q, err)
		}
		e := Entry{Timestamp: 1, Line: line, Stream: FromStrings("a", "b"), Metadata: FromStrings("m", "v")}
		if _, ls, ok := p.Process(e); ok {
			for i := 1; i < len(ls); i++ {
				if ls[i-1].Name >= ls[i].Name {
					t.Fatalf("labels not sorted and unique: %s", ls)
				}
			}
		}
	})
}

// FuzzEvalMetric evaluates parsed metric queries over a small data set:
// nothing may panic, and results keep their invariants.
func FuzzEvalMetric(f *testing.F) {
	forEachParseCase(func(q, want string) {
		if !strings.HasPrefix(want, "parse error") {
			f.Add(strings.ReplaceAll(q, `app="bar"`, `app="foo"`))
		}
	})
	f.Add(`quantile_over_time(0.5, {app="foo"} | logfmt | unwrap duration(latency) [1m]) by (app)`)
	f.Add(`topk(1, count_over_time({app="foo"}[30s])) / on (level) group_left sum by (level) (rate({app="foo"}[1m]))`)
	src := SliceSource(evalTestData())
	f.Fuzz(func(t *testing.T, q string) {
		e, err := ParseSampleExpr(q)
		if err != nil {
			return
		}
		p := Params{Start: 30 * sec, End: 90 * sec, Step: 30 * time.Second, MaxSeries: 1000}
		v, err := EvalMetric(context.Background(), e, p, src)
		if err != nil {
			return
		}
		if m, ok := v.(Matrix); ok {
			for i := 1; i < len(m); i++ {
				if CompareLabels(m[i-1].Labels, m[i].Labels) >= 0 {
					t.Fatalf("%s: series not sorted and unique: %s, %s", q, m[i-1].Labels, m[i].Labels)
				}
			}
		}
	})
}
