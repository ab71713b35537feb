package querier

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/strataobs/strata/storage/clickhouse"
	"github.com/strataobs/strata/traceql"
)

// intrinsicTags are the intrinsics Strata's TraceQL supports, as Tempo's v2 tags
// endpoint lists them.
var intrinsicTags = []string{
	"duration", "kind", "name", "rootName", "rootServiceName", "span:duration", "span:id", "span:kind", "span:name",
	"span:parentID", "span:status", "span:statusMessage", "status", "statusMessage", "trace:duration", "trace:id",
	"trace:rootName", "trace:rootService", "traceDuration",
}

// tagRequest holds the parameters the tag endpoints share. Tempo ignores bad numbers
// here rather than failing, and so does Strata.
type tagRequest struct {
	start, end int64
	limit      int
}

func (q *Querier) parseTagRequest(r *tempoRequest) tagRequest {
	tr := tagRequest{limit: 5000}
	if n, err := strconv.Atoi(r.form.Get("limit")); err == nil && n > 0 {
		tr.limit = n
	}
	s, serr := parseUnixSeconds(r.form, "start")
	e, eerr := parseUnixSeconds(r.form, "end")
	if serr != nil || eerr != nil || e <= s {
		now := q.now()
		tr.start, tr.end = now.Add(-q.cfg.DefaultSearchRange).UnixNano(), now.UnixNano()+1
		return tr
	}
	tr.start, tr.end = s*int64(time.Second), (e+1)*int64(time.Second)
	return tr
}

// tagNames returns the span or resource attribute keys, from storage and memory.
func (q *Querier) tagNames(ctx context.Context, tenant string, tr tagRequest, resource bool, recent []clickhouse.Span) ([]string, error) {
	store, err := q.store()
	if err != nil {
		return nil, err
	}
	names, err := store.SpanTagNames(ctx, tenant, tr.start, tr.end, resource, tr.limit)
	if err != nil {
		return nil, err
	}
	for _, s := range recent {
		attrs := s.Attrs
		if resource {
			attrs = s.Resource
		}
		for _, a := range attrs {
			names = append(names, a.Key)
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	if names == nil {
		names = []string{}
	}
	return names[:min(len(names), tr.limit)], nil
}

func (q *Querier) recentInRange(ctx context.Context, tenant string, tr tagRequest) ([]clickhouse.Span, error) {
	r, err := q.recentSpans(ctx, tenant, RecentSpanQuery{Start: tr.start, End: tr.end})
	return r.Spans, err
}

func (q *Querier) handleTagsV1(ctx context.Context, r *tempoRequest) (any, error) {
	tr := q.parseTagRequest(r)
	recent, err := q.recentInRange(ctx, r.tenant, tr)
	if err != nil {
		return nil, err
	}
	span, err := q.tagNames(ctx, r.tenant, tr, false, recent)
	if err != nil {
		return nil, err
	}
	res, err := q.tagNames(ctx, r.tenant, tr, true, recent)
	if err != nil {
		return nil, err
	}
	all := append(append([]string{}, span...), res...)
	slices.Sort(all)
	all = slices.Compact(all)
	return map[string]any{"tagNames": all[:min(len(all), tr.limit)], "metrics": map[string]any{}}, nil
}

type tagScope struct {
	Name string   `json:"name"`
	Tags []string `json:"tags"`
}

func (q *Querier) handleTagsV2(ctx context.Context, r *tempoRequest) (any, error) {
	tr := q.parseTagRequest(r)
	scope := r.form.Get("scope")
	switch scope {
	case "", "all", "resource", "span", "intrinsic", "event", "link", "instrumentation":
	default:
		return nil, badRequest("invalid scope %q: want resource, span, intrinsic, event, link or instrumentation", scope)
	}
	recent, err := q.recentInRange(ctx, r.tenant, tr)
	if err != nil {
		return nil, err
	}
	scopes := []tagScope{}
	for _, sc := range []string{"resource", "span"} {
		if scope != "" && scope != "all" && scope != sc {
			continue
		}
		names, err := q.tagNames(ctx, r.tenant, tr, sc == "resource", recent)
		if err != nil {
			return nil, err
		}
		scopes = append(scopes, tagScope{Name: sc, Tags: names})
	}
	if scope == "" || scope == "all" || scope == "intrinsic" {
		scopes = append(scopes, tagScope{Name: "intrinsic", Tags: intrinsicTags})
	}
	return map[string]any{"scopes": scopes, "metrics": map[string]any{"inspectedBytes": "0"}}, nil
}

// tagAttribute reads a tag name as TraceQL does inside {}: resource.x, span.x, .x, or
// an intrinsic. A bare name (v1) is unscoped. ok is false for names TraceQL rejects.
func tagAttribute(tag string, v1 bool) (traceql.Attribute, bool) {
	if tag == "status.code" {
		tag = "status"
	}
	candidates := []string{tag}
	if v1 {
		candidates = []string{tag, "." + tag}
	}
	for _, c := range candidates {
		q, err := traceql.Parse("{" + c + " != nil}")
		if err != nil {
			continue
		}
		f, ok := q.Pipeline.Stages[0].(*traceql.SpansetFilter)
		if !ok {
			continue
		}
		if b, ok := f.Expr.(*traceql.BinaryExpr); ok {
			if a, ok := b.LHS.(traceql.Attribute); ok {
				return a, true
			}
		}
	}
	return traceql.Attribute{}, false
}

// tagValues returns typed values of a tag, from storage and memory. q, Grafana's
// current filters, narrows them when it parses; an incomplete q is ignored as Tempo
// does.
func (q *Querier) tagValues(ctx context.Context, r *tempoRequest, v1 bool) ([]traceql.Value, error) {
	attr, ok := tagAttribute(r.param("tag"), v1)
	if !ok {
		return nil, badRequest("invalid tag %q: want resource.<name>, span.<name>, .<name> or an intrinsic", r.param("tag"))
	}
	tr := q.parseTagRequest(r)
	var conds []traceql.Condition
	if fq, err := traceql.Parse(r.form.Get("q")); err == nil {
		if g := fq.Pushdown().Spansets; len(g) > 0 {
			conds = g[0]
		}
	}
	store, err := q.store()
	if err != nil {
		return nil, err
	}
	values, err := store.SpanTagValues(ctx, clickhouse.TagValuesQuery{Tenant: r.tenant, Start: tr.start, End: tr.end, Attr: attr, Conditions: conds, Limit: tr.limit})
	if err != nil {
		return nil, err
	}
	recent, err := q.recentInRange(ctx, r.tenant, tr)
	if err != nil {
		return nil, err
	}
	for _, s := range recent {
		ts := s.TraceQL()
		if v, ok := attrOf(&ts, attr); ok && !attr.IsIntrinsic() && !slices.Contains(values, v) {
			values = append(values, v)
		}
	}
	return values[:min(len(values), tr.limit)], nil
}

func (q *Querier) handleTagValuesV1(ctx context.Context, r *tempoRequest) (any, error) {
	values, err := q.tagValues(ctx, r, true)
	if err != nil {
		return nil, err
	}
	out := []string{}
	for _, v := range values {
		if s := valueText(v); s != "" {
			out = append(out, s)
		}
	}
	return map[string]any{"tagValues": out, "metrics": map[string]any{}}, nil
}

type typedValue struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// handleTagValuesV2 answers with typed values: Grafana quotes only "string" ones, so
// an int attribute must say "int" (status and kind are "keyword").
func (q *Querier) handleTagValuesV2(ctx context.Context, r *tempoRequest) (any, error) {
	values, err := q.tagValues(ctx, r, false)
	if err != nil {
		return nil, err
	}
	out := []typedValue{}
	for _, v := range values {
		if s := valueText(v); s != "" {
			out = append(out, typedValue{Type: valueTypeName(v), Value: s})
		}
	}
	return map[string]any{"tagValues": out, "metrics": map[string]any{"inspectedBytes": "0"}}, nil
}

func valueText(v traceql.Value) string {
	if v.Type == traceql.TypeString {
		return v.Str
	}
	if v.Type == traceql.TypeFloat {
		return strconv.FormatFloat(v.Float, 'g', -1, 64)
	}
	return v.String()
}

func valueTypeName(v traceql.Value) string {
	switch v.Type {
	case traceql.TypeStatus, traceql.TypeKind:
		return "keyword"
	case traceql.TypeNil:
		return "string"
	}
	return v.Type.String()
}
