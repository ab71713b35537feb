package clickhouse

import (
	"context"
	"fmt"
	"strings"

	pb "github.com/strataobs/strata/proto/strata/v1"
	"github.com/strataobs/strata/traceql"
)

// SpanTagNames returns the distinct span attribute keys (resource=false) or resource
// attribute keys (resource=true) of spans starting in [start, end), sorted, at most
// limit of them.
func (c *Client) SpanTagNames(ctx context.Context, tenant string, start, end int64, resource bool, limit int) ([]string, error) {
	col := "attr_keys"
	if resource {
		col = "res_keys"
	}
	q := fmt.Sprintf("SELECT DISTINCT arrayJoin(%s) AS k FROM %s.spans WHERE %s ORDER BY k LIMIT %d",
		col, c.cfg.Database, spanWhere(tenant, start, end, nil), max(limit, 1))
	return c.strings(ctx, "span tag names", q)
}

func (c *Client) strings(ctx context.Context, what, q string) ([]string, error) {
	rows, err := c.conn.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

// TagValuesQuery asks for the values an attribute or intrinsic takes.
type TagValuesQuery struct {
	Tenant     string
	Start, End int64
	Attr       traceql.Attribute
	// Conditions restrict the spans looked at (Tempo's filtered tag values): a span
	// counts when it meets every condition SQL can express.
	Conditions []traceql.Condition
	Limit      int
}

// SpanTagValues returns the distinct typed values of q.Attr, at most q.Limit of them.
// Trace-level intrinsics read root spans; duration and ids have no value list.
func (c *Client) SpanTagValues(ctx context.Context, q TagValuesQuery) ([]traceql.Value, error) {
	where := spanWhere(q.Tenant, q.Start, q.End, nil)
	if g := groupSQL(q.Conditions, whereOpts{}); g != "" {
		where += " AND " + g
	}
	exprs, ok := tagValueExprs(q.Attr)
	if !ok {
		return nil, nil
	}
	var parts []string
	for _, e := range exprs {
		parts = append(parts, fmt.Sprintf("SELECT %s AS v, %s AS t FROM %s.spans WHERE %s AND %s", e.value, e.typ, c.cfg.Database, where, e.cond))
	}
	sql := fmt.Sprintf("SELECT DISTINCT v, t FROM (%s) WHERE v != '' ORDER BY v, t LIMIT %d", strings.Join(parts, " UNION ALL "), max(q.Limit, 1))
	rows, err := c.conn.Query(ctx, sql)
	if err != nil {
		return nil, fmt.Errorf("span tag values of %s: %w", q.Attr, err)
	}
	defer rows.Close()
	var out []traceql.Value
	for rows.Next() {
		var v string
		var t int16
		if err := rows.Scan(&v, &t); err != nil {
			return nil, fmt.Errorf("span tag values of %s: %w", q.Attr, err)
		}
		out = append(out, typedTagValue(v, t))
	}
	return out, rows.Err()
}

// tagValueExpr is one source of values: an expression, its type code and the rows
// that have it. Type codes >= 0 are pb.AttrType; the negative ones mark intrinsics.
type tagValueExpr struct{ value, typ, cond string }

const (
	tagTypeStatus = -1
	tagTypeKind   = -2
)

func tagValueExprs(a traceql.Attribute) ([]tagValueExpr, bool) {
	switch a.Intrinsic {
	case traceql.IntrinsicNone:
	case traceql.IntrinsicName:
		return []tagValueExpr{{"name", "toInt16(0)", "1"}}, true
	case traceql.IntrinsicStatusMessage:
		return []tagValueExpr{{"status_message", "toInt16(0)", "1"}}, true
	case traceql.IntrinsicRootName:
		return []tagValueExpr{{"name", "toInt16(0)", "parent_span_id = ''"}}, true
	case traceql.IntrinsicRootServiceName:
		return []tagValueExpr{{"service_name", "toInt16(0)", "parent_span_id = ''"}}, true
	case traceql.IntrinsicStatus:
		return []tagValueExpr{{"toString(status_code)", fmt.Sprintf("toInt16(%d)", tagTypeStatus), "1"}}, true
	case traceql.IntrinsicKind:
		return []tagValueExpr{{"toString(kind)", fmt.Sprintf("toInt16(%d)", tagTypeKind), "1"}}, true
	default:
		return nil, false
	}
	span := attrValueExpr(spanAttrCols, a.Name)
	res := attrValueExpr(resAttrCols, a.Name)
	if a.Name == "service.name" {
		res = tagValueExpr{"service_name", "toInt16(0)", "1"}
	}
	switch a.Scope {
	case traceql.ScopeSpan:
		return []tagValueExpr{span}, true
	case traceql.ScopeResource:
		return []tagValueExpr{res}, true
	}
	return []tagValueExpr{span, res}, true
}

func attrValueExpr(cols attrCols, key string) tagValueExpr {
	k := Quote(key)
	idx := "indexOf(" + cols.keys + ", " + k + ")"
	return tagValueExpr{
		value: "arrayElement(" + cols.values + ", " + idx + ")",
		typ:   "toInt16(arrayElement(" + cols.types + ", " + idx + "))",
		cond:  "has(" + cols.keys + ", " + k + ")",
	}
}

func typedTagValue(v string, t int16) traceql.Value {
	switch t {
	case tagTypeStatus:
		n, _ := parseSmallInt(v)
		return traceql.StatusValue(traceql.StatusCode(n))
	case tagTypeKind:
		n, _ := parseSmallInt(v)
		return traceql.KindValue(traceql.SpanKind(n))
	}
	return Attr{Value: v, Type: attrType(t)}.TraceQLValue()
}

func parseSmallInt(s string) (int, bool) {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, s != ""
}

// ServiceStats are the span statistics of one service, overall (Bucket -1) or in one
// step bucket: bucket b holds spans starting in [start + b*step, start + (b+1)*step).
// Latency quantiles are ClickHouse's quantiles() estimates, in ns.
type ServiceStats struct {
	Service       string
	Bucket        int64
	Spans, Errors uint64
	P50, P95, P99 float64
}

// ServiceStats returns per-service span counts, errors and latency quantiles, overall
// and per step. Spans and errors are counted once per id (uniqExact); quantiles are
// estimates and may weigh an unmerged copy twice.
func (c *Client) ServiceStats(ctx context.Context, tenant string, start, end, step int64, exclude []uint64) ([]ServiceStats, error) {
	if step <= 0 {
		step = max(end-start, 1)
	}
	q := fmt.Sprintf(`SELECT service_name, if(total, toInt64(-1), b) AS bucket, uniqExact(id), uniqExactIf(id, status_code = 2), quantiles(0.5, 0.95, 0.99)(duration_ns)
		FROM (SELECT service_name, id, intDiv(start_ns - %d, %d) AS b, status_code, duration_ns, arrayJoin([0, 1]) AS total FROM %s.spans WHERE %s)
		GROUP BY service_name, bucket ORDER BY service_name, bucket`,
		start, step, c.cfg.Database, spanWhere(tenant, start, end, exclude))
	rows, err := c.conn.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("service stats: %w", err)
	}
	defer rows.Close()
	var out []ServiceStats
	for rows.Next() {
		var s ServiceStats
		var qs []float64
		if err := rows.Scan(&s.Service, &s.Bucket, &s.Spans, &s.Errors, &qs); err != nil {
			return nil, fmt.Errorf("service stats: %w", err)
		}
		if len(qs) == 3 {
			s.P50, s.P95, s.P99 = qs[0], qs[1], qs[2]
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func attrType(t int16) pb.AttrType { return pb.AttrType(t) }
