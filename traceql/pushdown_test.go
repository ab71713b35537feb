package traceql

import (
	"strings"
	"testing"
)

func pushdownString(pd Pushdown) string {
	var groups []string
	for _, g := range pd.Spansets {
		conds := make([]string, len(g))
		for i, c := range g {
			conds[i] = c.String()
		}
		groups = append(groups, "["+strings.Join(conds, ", ")+"]")
	}
	return strings.Join(groups, " ")
}

func TestPushdown(t *testing.T) {
	f := func(q, want string, exact bool) {
		t.Helper()
		pd := mustParse(t, q).Pushdown()
		if got := pushdownString(pd); got != want || pd.Exact != exact {
			t.Errorf("%s\n got %s (exact=%v)\nwant %s (exact=%v)", q, got, pd.Exact, want, exact)
		}
	}
	f(`{}`, ``, true)
	f(`{ true }`, ``, true)
	f(`{ false }`, ``, false)
	f(`{resource.service.name="x" && name="y"}`, `[resource.service.name = "x", name = "y"]`, true)
	f(`{status=error && kind=server && duration>100ms && statusMessage!=""}`,
		`[status = error, kind = server, duration > 100ms, statusMessage != ""]`, true)
	f(`{(resource.service.name="a" || resource.service.name="b" || resource.service.name="c") && traceDuration<2m}`,
		`[(resource.service.name = "a" || resource.service.name = "b" || resource.service.name = "c")]`, false)
	f(`{.http.method="GET"}`, `[.http.method = "GET"]`, false)
	f(`{ 500 <= span.http.status_code }`, `[span.http.status_code >= 500]`, true)
	f(`{ span.http.status_code = 500 && span.x = 1.5 && span.b = true }`,
		`[span.http.status_code = 500, span.x = 1.5, span.b = true]`, true)
	f(`{ name =~ "GET.*" && span.x != nil && span.y = nil && name !~ "x" }`,
		`[name =~ "GET.*", span.x != nil, span.y = nil, name !~ "x"]`, true)
	f(`{ span:id = "ab" && trace:id = "cd" && span:parentID = "" }`,
		`[span:id = "ab", trace:id = "cd", span:parentID = ""]`, true)
	f(`{ status = error } && { kind = server }`, `[status = error] [kind = server]`, false)
	f(`{ status = error } || { kind = server }`, ``, false)
	f(`{ .a = 1 } >> { span.b = 2 }`, `[.a = 1] [span.b = 2]`, false)
	f(`{ span.a = 1 } !>> { span.b = 2 }`, `[span.a = 1] [span.b = 2]`, false)
	f(`{ span.a = 1 } | { span.b = 2 }`, `[span.a = 1] [span.b = 2]`, false)
	f(`({ span.a = 1 } | count() > 1) && { span.b = 2 }`, `[span.a = 1] [span.b = 2]`, false)
	f(`{ duration > 1s } | count() > 2`, `[duration > 1s]`, false)
	f(`{ duration > 1s } | select(span.x) | by(name) | coalesce()`, `[duration > 1s]`, true)
	f(`{ name = "x" || kind = server }`, ``, false)
	f(`{ !(name = "x") }`, ``, false)
	f(`{ name = "x" && !(kind = server) }`, `[name = "x"]`, false)
	f(`{ childCount > 1 && name = "x" && rootName = "r" }`, `[name = "x"]`, false)
	f(`{ span.a + 1 > 2 && span.a = span.b }`, ``, false)
	f(`{ (name = "a" || name = "b") && (span.x = 1 || span.x = 2) }`,
		`[(name = "a" || name = "b"), (span.x = 1 || span.x = 2)]`, true)
	f(`{ name = "a" || span.x = "a" }`, ``, false)
	f(`count() > 2`, ``, false)
	f(`{} | by(name)`, ``, true)
}

// TestPushdownSound checks the storage contract on testTrace: when a query
// matches, every group of conditions matches some span; when the pushdown
// is exact, the conditions select exactly the spans the query returns.
func TestPushdownSound(t *testing.T) {
	trace := testTrace()
	queries := []string{
		`{}`, `{ status = error }`, `{ resource.service.name = "payment" && duration > 50ms }`,
		`{ (name = "SELECT" || name = "retry") && kind = client }`, `{ name =~ "GET.*" } && { status = ok }`,
		`{ .region = "us" }`, `{ span.http.method != nil }`, `{ name = "POST /pay" } >> { kind = internal }`,
		`{ kind = client } | count() = 2`, `{ rootName = "GET /checkout" && span.http.status_code >= 500 }`,
		`{ span.http.status_code = "503" }`, `{ duration < 100ms || span.flag }`,
		`{} | by(resource.service.name) | count() > 1`, `{ 200 = span.http.status_code }`,
	}
	for _, q := range queries {
		matched, ok := mustParse(t, q).Eval(trace)
		pd := mustParse(t, q).Pushdown()
		for _, g := range pd.Spansets {
			gq := "{}"
			if len(g) > 0 {
				parts := make([]string, len(g))
				for i, c := range g {
					parts[i] = c.String()
				}
				gq = "{ " + strings.Join(parts, " && ") + " }"
			}
			gm, gok := mustParse(t, gq).Eval(trace)
			if ok && !gok {
				t.Errorf("%s matches but its pushdown group %s does not", q, gq)
			}
			if pd.Exact && spanNames(gm) != spanNames(matched) {
				t.Errorf("%s is exact but %s selects %q, the query %q", q, gq, spanNames(gm), spanNames(matched))
			}
		}
	}
}
