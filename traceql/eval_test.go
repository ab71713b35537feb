package traceql

import (
	"strings"
	"testing"
	"time"
)

const ms = int64(time.Millisecond)

// testTrace is a small checkout trace:
//
//	GET /checkout (frontend, server, 0-1000ms)
//	├── POST /pay (payment, client, error, 100-600ms)
//	│   ├── SELECT (db, client, ok, 200-250ms)
//	│   └── retry (payment, internal, 300-400ms)
//	└── GET /cart (cart, server, 700-900ms)
func testTrace() []Span {
	return []Span{
		{
			TraceID: "t1", SpanID: "01", Name: "GET /checkout", Kind: KindServer,
			StartUnixNano: 0, EndUnixNano: 1000 * ms, ServiceName: "frontend",
			SpanAttrs:     []KeyValue{{"http.method", StringValue("GET")}, {"http.status_code", IntValue(200)}},
			ResourceAttrs: []KeyValue{{"deployment.environment", StringValue("prod-eu")}},
		},
		{
			TraceID: "t1", SpanID: "02", ParentSpanID: "01", Name: "POST /pay", Kind: KindClient,
			StatusCode: StatusError, StatusMessage: "connection timeout",
			StartUnixNano: 100 * ms, EndUnixNano: 600 * ms, ServiceName: "payment",
			SpanAttrs:     []KeyValue{{"http.method", StringValue("POST")}, {"http.status_code", IntValue(503)}},
			ResourceAttrs: []KeyValue{{"deployment.environment", StringValue("prod-us")}},
		},
		{
			TraceID: "t1", SpanID: "03", ParentSpanID: "02", Name: "SELECT", Kind: KindClient, StatusCode: StatusOK,
			StartUnixNano: 200 * ms, EndUnixNano: 250 * ms, ServiceName: "db",
			SpanAttrs: []KeyValue{
				{"db.system", StringValue("postgres")}, {"retries", IntValue(2)},
				{"ratio", FloatValue(0.5)}, {"region", StringValue("us")},
			},
			ResourceAttrs: []KeyValue{{"region", StringValue("eu")}, {"service.name", StringValue("ignored")}},
		},
		{
			TraceID: "t1", SpanID: "05", ParentSpanID: "02", Name: "retry", Kind: KindInternal,
			StartUnixNano: 300 * ms, EndUnixNano: 400 * ms, ServiceName: "payment",
			SpanAttrs: []KeyValue{{"bytes", IntValue(1024)}},
		},
		{
			TraceID: "t1", SpanID: "04", ParentSpanID: "01", Name: "GET /cart", Kind: KindServer,
			StartUnixNano: 700 * ms, EndUnixNano: 900 * ms, ServiceName: "cart",
			SpanAttrs: []KeyValue{
				{"http.status_code", IntValue(200)}, {"a b", StringValue("quoted")},
				{"flag", BoolValue(true)}, {"code", StringValue("500")},
			},
		},
	}
}

func spanNames(spans []Span) string {
	names := make([]string, len(spans))
	for i, s := range spans {
		names[i] = s.Name
	}
	return strings.Join(names, ", ")
}

func mustParse(tb testing.TB, q string) *Query {
	tb.Helper()
	x, err := Parse(q)
	if err != nil {
		tb.Fatalf("Parse(%q): %s", q, err)
	}
	return x
}

// TestEval runs queries over testTrace; want lists the matched span names in
// trace order, "" for no match.
func TestEval(t *testing.T) {
	trace := testTrace()
	f := func(q, want string) {
		t.Helper()
		matched, ok := mustParse(t, q).Eval(trace)
		if got := spanNames(matched); got != want || ok != (want != "") {
			t.Errorf("%s\n got %q (ok=%v)\nwant %q", q, got, ok, want)
		}
	}
	const all = "GET /checkout, POST /pay, SELECT, retry, GET /cart"

	f(`{}`, all)
	f(`{ true }`, all)
	f(`{ false }`, "")
	f(`{ name = "POST /pay" }`, "POST /pay")
	f(`{ name != "POST /pay" }`, "GET /checkout, SELECT, retry, GET /cart")
	f(`{ name > "R" }`, "SELECT, retry")

	// Service name, scoped and unscoped; ServiceName wins over ResourceAttrs.
	f(`{ resource.service.name = "payment" }`, "POST /pay, retry")
	f(`{ .service.name = "payment" }`, "POST /pay, retry")
	f(`{ resource.service.name = "ignored" }`, "")

	// Status, kind, durations.
	f(`{ status = error }`, "POST /pay")
	f(`{ status = ok }`, "SELECT")
	f(`{ status = unset }`, "GET /checkout, retry, GET /cart")
	f(`{ statusMessage =~ ".*timeout" }`, "POST /pay")
	f(`{ kind = client }`, "POST /pay, SELECT")
	f(`{ kind != server && kind != client }`, "retry")
	f(`{ duration > 400ms }`, "GET /checkout, POST /pay")
	f(`{ duration >= 500ms && duration < 1s }`, "POST /pay")
	f(`{ duration = 50ms }`, "SELECT")
	f(`{ duration > 300000000 }`, "GET /checkout, POST /pay") // ints compare with durations in ns
	f(`{ duration > 0.3s }`, "GET /checkout, POST /pay")

	// Types: an int attribute never equals a string, for = and != alike.
	f(`{ span.http.status_code >= 500 }`, "POST /pay")
	f(`{ span.http.status_code = "503" }`, "")
	f(`{ span.http.status_code != "503" }`, "")
	f(`{ span.code = "500" }`, "GET /cart")
	f(`{ span.code = 500 }`, "")
	f(`{ span.ratio < 1 && span.ratio = 0.5 }`, "SELECT")
	f(`{ span.retries = 2.0 }`, "SELECT")

	// Missing attributes fail every comparison except the nil tests.
	f(`{ span.http.method != "GET" }`, "POST /pay")
	f(`{ span.http.method = nil }`, "SELECT, retry, GET /cart")
	f(`{ span.http.method != nil }`, "GET /checkout, POST /pay")
	f(`{ !(span.http.method = "GET") }`, "POST /pay, SELECT, retry, GET /cart")

	// Regexes are fully anchored.
	f(`{ name =~ "GET.*" }`, "GET /checkout, GET /cart")
	f(`{ name =~ "GET" }`, "")
	f(`{ name =~ "(?i)select" }`, "SELECT")
	f(`{ name !~ "GET.*" }`, "POST /pay, SELECT, retry")
	f(`{ resource.deployment.environment =~ "prod-.*" }`, "GET /checkout, POST /pay")
	f(`{ span.http.status_code =~ "5.*" }`, "")
	f(`{ span.http.status_code !~ "5.*" }`, "")

	// Unscoped: the span attribute wins over the resource attribute.
	f(`{ .region = "us" }`, "SELECT")
	f(`{ .region = "eu" }`, "")
	f(`{ resource.region = "eu" }`, "SELECT")
	f(`{ span.region = "eu" }`, "")
	f(`{ span."a b" = "quoted" }`, "GET /cart")

	// Booleans and arithmetic.
	f(`{ span.flag }`, "GET /cart")
	f(`{ span.flag = true }`, "GET /cart")
	f(`{ !span.flag }`, "")
	f(`{ span.retries + 1 = 3 }`, "SELECT")
	f(`{ span.bytes / 1024 = 1 && span.bytes % 2 = 0 }`, "retry")
	f(`{ span.bytes * 2 > 2000 }`, "retry")
	f(`{ span.bytes / 0 = 1 }`, "")
	f(`{ span.retries ^ 2 = 4 }`, "SELECT")
	f(`{ -span.retries = -2 }`, "SELECT")
	f(`{ duration - 100ms = 0s }`, "retry")

	// && and || share one precedence level (Tempo): (SELECT || retry) && internal.
	f(`{ name = "SELECT" || name = "retry" && kind = internal }`, "retry")
	f(`{ name = "SELECT" || (name = "retry" && kind = internal) }`, "SELECT, retry")
	f(`{ (resource.service.name = "cart" || resource.service.name = "db") && duration < 1s }`, "SELECT, GET /cart")

	// Trace-level intrinsics hold for every span of the trace.
	f(`{ rootName = "GET /checkout" && kind = server }`, "GET /checkout, GET /cart")
	f(`{ rootServiceName = "frontend" && kind = client }`, "POST /pay, SELECT")
	f(`{ trace:rootService = "payment" }`, "")
	f(`{ traceDuration >= 1s }`, all)
	f(`{ traceDuration > 1s }`, "")
	f(`{ childCount = 2 }`, "GET /checkout, POST /pay")
	f(`{ childCount = 0 }`, "SELECT, retry, GET /cart")
	f(`{ span:id = "03" }`, "SELECT")
	f(`{ span:parentID = "02" }`, "SELECT, retry")
	f(`{ trace:id = "t1" && span:parentID = "" }`, "GET /checkout")

	// Spanset && and ||: both (either) must match; the result is the union.
	f(`{ status = error } && { name = "SELECT" }`, "POST /pay, SELECT")
	f(`{ status = error } && { name = "nope" }`, "")
	f(`{ status = error } || { name = "nope" }`, "POST /pay")
	f(`{ name = "nope" } || { name = "SELECT" }`, "SELECT")
	f(`{ name = "nope" } || { name = "nada" }`, "")
	f(`{ status = error } && { kind = server } || { name = "x" }`, "GET /checkout, POST /pay, GET /cart")

	// Structural operators.
	f(`{ name = "POST /pay" } > {}`, "SELECT, retry")
	f(`{ name = "GET /checkout" } >> { kind = client }`, "POST /pay, SELECT")
	f(`{ name = "SELECT" } << {}`, "GET /checkout, POST /pay")
	f(`{ name = "SELECT" } < {}`, "POST /pay")
	f(`{ name = "SELECT" } ~ {}`, "retry")
	f(`{ name = "POST /pay" } ~ {}`, "GET /cart")
	f(`{} ~ {}`, "POST /pay, SELECT, retry, GET /cart")
	f(`{ name = "GET /checkout" } !>> { kind = client }`, "")
	f(`{ name = "POST /pay" } !>> {}`, "GET /checkout, POST /pay, GET /cart")
	f(`{ name = "POST /pay" } !> { kind = client }`, "POST /pay")
	f(`{ name = "SELECT" } !<< {}`, "SELECT, retry, GET /cart")
	f(`{ name = "SELECT" } !< {}`, "GET /checkout, SELECT, retry, GET /cart")
	f(`{ name = "retry" } !~ {}`, "GET /checkout, POST /pay, retry, GET /cart")
	f(`{ name = "nope" } !>> {}`, "") // Tempo: both sides must match, negated too
	f(`{ name = "POST /pay" } &> {}`, "POST /pay, SELECT, retry")
	f(`{ name = "SELECT" } &< {}`, "POST /pay, SELECT")
	f(`{ name = "GET /checkout" } &>> { status = ok }`, "GET /checkout, SELECT")
	f(`{ name = "SELECT" } &<< {}`, "GET /checkout, POST /pay, SELECT")
	f(`{ name = "SELECT" } &~ {}`, "SELECT, retry")
	f(`{ kind = server } > { kind = client } > { status = ok }`, "SELECT")
	f(`{ kind = server } >> { kind = internal } && { status = error }`, "POST /pay, retry")

	// Pipelines.
	f(`{} | count() > 4`, all)
	f(`{} | count() > 5`, "")
	f(`{ kind = client } | count() = 2`, "POST /pay, SELECT")
	f(`{} | avg(duration) > 300ms`, all) // (1000+500+50+100+200)/5 = 370ms
	f(`{} | avg(duration) > 400ms`, "")
	f(`{} | max(duration) = 1s`, all)
	f(`{} | min(duration) = 50ms`, all)
	f(`{} | sum(span.bytes) = 1024`, all)
	f(`{} | sum(span.http.status_code) = 903`, all)
	f(`{} | avg(span.ratio) = 0.5`, all)
	f(`{} | max(span.nope) > 0`, "")
	f(`{} | (count() + 1) * 2 = 12`, all)
	f(`{} | by(resource.service.name) | count() > 1`, "POST /pay, retry")
	f(`{} | by(kind) | count() = 2 | coalesce()`, "GET /checkout, POST /pay, SELECT, GET /cart")
	f(`{} | by(kind) | coalesce() | count() = 5`, all)
	f(`{ kind = client } | { status = ok }`, "SELECT")
	f(`{ status = error } | { name = "POST /pay" }`, "POST /pay")
	f(`({ kind = client } | count() > 1) && { name = "retry" }`, "POST /pay, SELECT, retry")
	f(`({ kind = client } | count() > 2) && { name = "retry" }`, "")
	f(`{} | select(span.http.method, duration)`, all)
	// After by(), spanset operators work inside each group: SELECT is in
	// the db group, so it is not a descendant there.
	f(`{} | by(resource.service.name) | { status = error } >> {}`, "retry")
	f(`count() = 5`, all)
}

func TestEvalSpansets(t *testing.T) {
	trace := testTrace()
	f := func(q, want string) {
		t.Helper()
		var parts []string
		for _, ss := range mustParse(t, q).EvalSpansets(trace) {
			var attrs []string
			for _, kv := range ss.Attributes {
				attrs = append(attrs, kv.Key+"="+kv.Value.String())
			}
			parts = append(parts, "["+spanNames(ss.Spans)+"]{"+strings.Join(attrs, " ")+"}")
		}
		if got := strings.Join(parts, " "); got != want {
			t.Errorf("%s\n got %s\nwant %s", q, got, want)
		}
	}
	f(`{ name = "nope" }`, ``)
	f(`{ status = error }`, `[POST /pay]{}`)
	f(`{} | by(resource.service.name) | count() > 1`,
		`[POST /pay, retry]{by(resource.service.name)="payment" count()=2}`)
	f(`{} | by(kind)`,
		`[GET /checkout, GET /cart]{by(kind)=server} [POST /pay, SELECT]{by(kind)=client} [retry]{by(kind)=internal}`)
	f(`{} | by(span.http.method)`,
		`[GET /checkout]{by(span.http.method)="GET"} [POST /pay]{by(span.http.method)="POST"} [SELECT, retry, GET /cart]{by(span.http.method)=nil}`)
	f(`{ kind = client } | avg(duration) > 1ms`, `[POST /pay, SELECT]{avg(duration)=275ms}`)
	f(`{} | by(kind) | coalesce()`, `[GET /checkout, POST /pay, SELECT, retry, GET /cart]{}`)
}

// TestEvalBrokenTraces covers traces that storage can hand us: empty,
// partial (parent missing), without a root, and with a parent cycle.
func TestEvalBrokenTraces(t *testing.T) {
	if _, ok := mustParse(t, `{}`).Eval(nil); ok {
		t.Error("an empty trace must not match {}")
	}

	partial := testTrace()[1:] // no root span
	f := func(trace []Span, q, want string) {
		t.Helper()
		matched, _ := mustParse(t, q).Eval(trace)
		if got := spanNames(matched); got != want {
			t.Errorf("%s\n got %q\nwant %q", q, got, want)
		}
	}
	f(partial, `{ rootName = nil }`, "POST /pay, SELECT, retry, GET /cart")
	f(partial, `{ rootName != nil }`, "")
	f(partial, `{ traceDuration = 800ms }`, "POST /pay, SELECT, retry, GET /cart")
	f(partial, `{} > {}`, "SELECT, retry") // POST /pay and GET /cart lost their parent
	f(partial, `{} ~ {}`, "SELECT, retry")

	cycle := []Span{
		{SpanID: "a", ParentSpanID: "b", Name: "a"},
		{SpanID: "b", ParentSpanID: "a", Name: "b"},
		{SpanID: "c", ParentSpanID: "c", Name: "self"},
	}
	f(cycle, `{} >> {}`, "a, b")
	f(cycle, `{} << {}`, "a, b")
	f(cycle, `{ name = "self" } > {}`, "")
	f(cycle, `{ rootName = nil && childCount = 1 }`, "a, b")

	twoRoots := []Span{
		{SpanID: "x", Name: "late", StartUnixNano: 5, ParentSpanID: "0000000000000000"},
		{SpanID: "y", Name: "early", StartUnixNano: 1},
	}
	f(twoRoots, `{ rootName = "early" }`, "late, early")
}

func TestEvalConcurrent(t *testing.T) {
	q := mustParse(t, `{ name =~ "GET.*" } >> {} | count() > 1`)
	trace := testTrace()
	done := make(chan string)
	for range 4 {
		go func() {
			var got string
			for range 100 {
				m, _ := q.Eval(trace)
				got = spanNames(m)
			}
			done <- got
		}()
	}
	for range 4 {
		if got := <-done; got != "POST /pay, SELECT, retry, GET /cart" {
			t.Errorf("got %q", got)
		}
	}
}
