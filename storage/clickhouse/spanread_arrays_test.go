package clickhouse

import (
	"testing"

	"github.com/strataobs/strata/traceql"
)

// TestArraysFor: a search reads an attribute array only when some attribute it
// evaluates or shows can live there.
func TestArraysFor(t *testing.T) {
	span := func(n string) traceql.Attribute { return traceql.Attribute{Scope: traceql.ScopeSpan, Name: n} }
	res := func(n string) traceql.Attribute { return traceql.Attribute{Scope: traceql.ScopeResource, Name: n} }
	unscoped := func(n string) traceql.Attribute { return traceql.Attribute{Scope: traceql.ScopeNone, Name: n} }
	status := traceql.Attribute{Intrinsic: traceql.IntrinsicStatus}
	cases := []struct {
		name  string
		attrs []traceql.Attribute
		want  searchSpanReader
	}{
		{"intrinsics only", []traceql.Attribute{status}, searchSpanReader{}},
		{"resource.service.name is a column", []traceql.Attribute{res("service.name"), status}, searchSpanReader{}},
		{"other resource attribute", []traceql.Attribute{res("k8s.namespace.name")}, searchSpanReader{resAttrs: true}},
		{"span attribute", []traceql.Attribute{span("http.route")}, searchSpanReader{spanAttrs: true}},
		{"span service.name is an attribute", []traceql.Attribute{span("service.name")}, searchSpanReader{spanAttrs: true}},
		{"unscoped: span first, then resource", []traceql.Attribute{unscoped("http.route")}, searchSpanReader{spanAttrs: true, resAttrs: true}},
		{"unscoped service.name: span, then the column", []traceql.Attribute{unscoped("service.name")}, searchSpanReader{spanAttrs: true}},
	}
	for _, c := range cases {
		if got := arraysFor(c.attrs); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
}
