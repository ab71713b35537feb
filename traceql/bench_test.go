package traceql

import (
	"fmt"
	"testing"
)

// benchQuery is the shape Grafana's Search tab sends.
const benchQuery = `{resource.service.name="checkout" && name="POST /pay" && status=error && duration>1s && span.http.status_code>=500}`

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchQuery)))
	for b.Loop() {
		q, err := Parse(benchQuery)
		if err != nil || len(q.Pipeline.Stages) != 1 {
			b.Fatal(err)
		}
	}
}

// benchTrace builds a trace of n spans over 10 services, each with a few
// span and resource attributes, as a wide fan-out of depth 3.
func benchTrace(n int) []Span {
	trace := make([]Span, n)
	for i := range trace {
		s := &trace[i]
		s.TraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
		s.SpanID = fmt.Sprintf("%016x", i+1)
		switch {
		case i == 0:
		case i < 10:
			s.ParentSpanID = trace[0].SpanID
		default:
			s.ParentSpanID = trace[i%10].SpanID
		}
		s.Name = fmt.Sprintf("op-%d", i%20)
		s.Kind = SpanKind(i%5 + 1)
		if i%7 == 0 {
			s.StatusCode = StatusError
		}
		s.StartUnixNano = int64(i) * ms
		s.EndUnixNano = s.StartUnixNano + int64(i%50)*ms
		s.ServiceName = fmt.Sprintf("svc-%d", i%10)
		s.SpanAttrs = []KeyValue{
			{"http.method", StringValue("GET")},
			{"http.url", StringValue(fmt.Sprintf("/api/item/%d", i))},
			{"http.status_code", IntValue(int64(200 + 100*(i%4)))},
			{"net.peer.name", StringValue("db.internal")},
		}
		s.ResourceAttrs = []KeyValue{
			{"deployment.environment", StringValue("prod")},
			{"k8s.pod.name", StringValue(fmt.Sprintf("pod-%d", i%10))},
		}
	}
	return trace
}

func BenchmarkEval(b *testing.B) {
	trace := benchTrace(1000)
	cases := []struct {
		name, q string
		want    int
	}{
		{"filter", `{ resource.service.name = "svc-3" && span.http.status_code >= 500 && duration > 10ms }`, 0},
		{"regex", `{ span.http.url =~ "/api/item/1.*" }`, 0},
		{"unscoped", `{ .k8s.pod.name = "pod-7" || .http.method = "POST" }`, 0},
		{"spanset-and", `{ status = error } && { kind = server && rootName = "op-0" }`, 0},
		{"descendant", `{ resource.service.name = "svc-1" } >> { status = error }`, 0},
		{"by-count", `{} | by(resource.service.name) | count() > 50`, 0},
	}
	for _, c := range cases {
		q := mustParse(b, c.q)
		want, ok := q.Eval(trace)
		if !ok {
			b.Fatalf("%s matches nothing", c.q)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				got, _ := q.Eval(trace)
				if len(got) != len(want) {
					b.Fatalf("got %d spans, want %d", len(got), len(want))
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(trace)), "ns/span")
		})
	}
}
