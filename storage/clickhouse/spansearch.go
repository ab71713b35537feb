package clickhouse

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"

	pb "github.com/strataobs/strata/proto/strata/v1"
	"github.com/strataobs/strata/traceql"
)

// SpanSearch selects candidate traces for a TraceQL query.
type SpanSearch struct {
	Tenant string
	// Start (inclusive) and End (exclusive) bound span start times, unix ns.
	Start, End int64
	// Groups are traceql's pushdown: a trace qualifies when, for every group, one of
	// its spans in the range satisfies all the group's conditions. Conditions SQL
	// cannot express are dropped, so the result is a superset: the caller evaluates
	// the query on whole traces.
	Groups          [][]traceql.Condition
	ExcludeFlushIDs []uint64
	Limit           int
	// After continues a search after this trace (the last of the previous page).
	After *TraceRef
}

// TraceRef is a candidate trace and the latest start time of its spans in the range;
// candidates come newest first.
type TraceRef struct {
	TraceID string
	Last    int64
}

// SearchTraces returns up to s.Limit candidate traces, newest first.
func (c *Client) SearchTraces(ctx context.Context, s SpanSearch) ([]TraceRef, error) {
	refs, err := c.searchTraces(ctx, &s, whereOpts{})
	if err != nil && isRegexpError(err) {
		refs, err = c.searchTraces(ctx, &s, whereOpts{noRegex: true})
	}
	return refs, err
}

func (c *Client) searchTraces(ctx context.Context, s *SpanSearch, o whereOpts) ([]TraceRef, error) {
	rows, err := c.conn.Query(ctx, searchSQL(c.cfg.Database, s, o))
	if err != nil {
		return nil, fmt.Errorf("search traces: %w", err)
	}
	defer rows.Close()
	var out []TraceRef
	for rows.Next() {
		var r TraceRef
		if err := rows.Scan(&r.TraceID, &r.Last); err != nil {
			return nil, fmt.Errorf("search traces: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("search traces: %w", err)
	}
	return out, nil
}

func searchSQL(db string, s *SpanSearch, o whereOpts) string {
	var groups []string
	for _, g := range s.Groups {
		if cond := groupSQL(g, o); cond != "" {
			groups = append(groups, cond)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "SELECT trace_id, max(start_ns) AS last FROM %s.spans WHERE ", db)
	b.WriteString(spanWhere(s.Tenant, s.Start, s.End, s.ExcludeFlushIDs))
	if len(groups) > 0 {
		b.WriteString(" AND (" + strings.Join(groups, " OR ") + ")")
	}
	b.WriteString(" GROUP BY trace_id")
	var having []string
	if len(groups) > 1 {
		for _, g := range groups {
			having = append(having, "sum("+g+") > 0")
		}
	}
	if s.After != nil {
		last := strconv.FormatInt(s.After.Last, 10)
		having = append(having, "(last < "+last+" OR (last = "+last+" AND trace_id > "+Quote(s.After.TraceID)+"))")
	}
	if len(having) > 0 {
		b.WriteString(" HAVING " + strings.Join(having, " AND "))
	}
	fmt.Fprintf(&b, " ORDER BY last DESC, trace_id ASC LIMIT %d", max(s.Limit, 1))
	return b.String()
}

func spanWhere(tenant string, start, end int64, exclude []uint64) string {
	var b strings.Builder
	b.WriteString("tenant = ")
	b.WriteString(Quote(tenant))
	writeTimeRange(&b, "start_ns", start, end)
	if len(exclude) > 0 {
		b.WriteString(" AND flush_id NOT IN ")
		b.WriteString(uintList(exclude))
	}
	return b.String()
}

// groupSQL is the conjunction of the expressible conditions of a group, or "".
func groupSQL(g []traceql.Condition, o whereOpts) string {
	var parts []string
	for _, c := range g {
		if s, ok := conditionSQL(c, o); ok {
			parts = append(parts, s)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "(" + strings.Join(parts, " AND ") + ")"
}

// conditionSQL renders one condition so that every span traceql's Eval would accept
// passes it (ok=false drops the condition, which keeps that true).
func conditionSQL(c traceql.Condition, o whereOpts) (string, bool) {
	var alts []string
	for _, v := range c.Values {
		s, ok := valueConditionSQL(c.Attr, c.Op, v, o)
		if !ok {
			return "", false
		}
		alts = append(alts, s)
	}
	if len(alts) == 0 {
		return "", false
	}
	if len(alts) == 1 {
		return alts[0], true
	}
	return "(" + strings.Join(alts, " OR ") + ")", true
}

func valueConditionSQL(a traceql.Attribute, op traceql.Op, v traceql.Value, o whereOpts) (string, bool) {
	if a.IsIntrinsic() {
		return intrinsicSQL(a.Intrinsic, op, v, o)
	}
	switch a.Scope {
	case traceql.ScopeSpan:
		return attrSQL(spanAttrCols, a.Name, op, v, o)
	case traceql.ScopeResource:
		if a.Name == "service.name" {
			return stringColumnSQL("service_name", op, v, o)
		}
		return attrSQL(resAttrCols, a.Name, op, v, o)
	}
	// Unscoped: the span attribute if the span has it, else the resource attribute.
	span, sok := attrSQL(spanAttrCols, a.Name, op, v, o)
	res, rok := attrSQL(resAttrCols, a.Name, op, v, o)
	if a.Name == "service.name" {
		res, rok = stringColumnSQL("service_name", op, v, o)
	}
	if !sok || !rok {
		return "", false
	}
	if v.Type == traceql.TypeNil && op == traceql.OpEqual {
		return "(" + span + " AND " + res + ")", true
	}
	return "(" + span + " OR " + res + ")", true
}

// attrCols names the parallel key/value/type arrays of one attribute scope.
type attrCols struct{ keys, values, types string }

var (
	spanAttrCols = attrCols{"attr_keys", "attr_values", "attr_types"}
	resAttrCols  = attrCols{"res_keys", "res_values", "res_types"}
)

// Attribute types (pb.AttrType) that traceql sees as strings, numbers and bools.
const (
	stringTypes  = "(0, 4, 5, 6)"
	numericTypes = "(2, 3)"
	boolTypes    = "(1)"
	emptyType    = "7"
)

// maxExactFloat is 2^53: beyond it float64 comparisons are not exact, so numeric
// conditions let such values through.
const maxExactFloat = 1 << 53

func attrSQL(cols attrCols, key string, op traceql.Op, v traceql.Value, o whereOpts) (string, bool) {
	k := Quote(key)
	exists := "has(" + cols.keys + ", " + k + ")"
	val := "arrayElement(" + cols.values + ", indexOf(" + cols.keys + ", " + k + "))"
	typ := "arrayElement(" + cols.types + ", indexOf(" + cols.keys + ", " + k + "))"
	switch v.Type {
	case traceql.TypeNil:
		// An attribute without a value (type empty) is nil to traceql, as a missing one is.
		switch op {
		case traceql.OpEqual:
			return "(NOT " + exists + " OR " + typ + " = " + emptyType + ")", true
		case traceql.OpNotEqual:
			return exists + " AND " + typ + " != " + emptyType, true
		}
		return "0", true // any other comparison with nil is false
	case traceql.TypeString:
		cond, ok := stringOpSQL(val, op, v.Str, o)
		return exists + " AND " + typ + " IN " + stringTypes + " AND " + cond, ok
	case traceql.TypeBool:
		if op != traceql.OpEqual && op != traceql.OpNotEqual {
			return "0", true
		}
		return exists + " AND " + typ + " IN " + boolTypes + " AND " + val + sqlOp(op) + Quote(strconv.FormatBool(v.Bool)), true
	case traceql.TypeInt, traceql.TypeFloat, traceql.TypeDuration:
		num := "toFloat64OrZero(" + val + ")"
		cond, ok := numberOpSQL(num, op, v)
		if !ok {
			return exists + " AND " + typ + " IN " + numericTypes, true
		}
		loose := fmt.Sprintf("(abs(%s) >= %d OR NOT isFinite(%s) OR %s IN ('+Inf', '-Inf', 'NaN', 'Inf', '-inf', '+inf', 'inf', 'nan'))", num, maxExactFloat, num, val)
		return exists + " AND " + typ + " IN " + numericTypes + " AND (" + loose + " OR " + cond + ")", true
	}
	return "", false // status and kind statics never equal an attribute; leave it to Go
}

func intrinsicSQL(in traceql.Intrinsic, op traceql.Op, v traceql.Value, o whereOpts) (string, bool) {
	switch in {
	case traceql.IntrinsicName:
		return stringColumnSQL("name", op, v, o)
	case traceql.IntrinsicStatusMessage:
		return stringColumnSQL("status_message", op, v, o)
	case traceql.IntrinsicSpanID:
		return stringColumnSQL("span_id", op, v, o)
	case traceql.IntrinsicParentID:
		return stringColumnSQL("parent_span_id", op, v, o)
	case traceql.IntrinsicTraceID:
		return stringColumnSQL("trace_id", op, v, o)
	case traceql.IntrinsicStatus:
		return codeColumnSQL("status_code", traceql.TypeStatus, op, v)
	case traceql.IntrinsicKind:
		return codeColumnSQL("kind", traceql.TypeKind, op, v)
	case traceql.IntrinsicDuration:
		return numberOpSQL("duration_ns", op, v)
	}
	return "", false
}

func stringColumnSQL(col string, op traceql.Op, v traceql.Value, o whereOpts) (string, bool) {
	if v.Type != traceql.TypeString {
		return "", false
	}
	return stringOpSQL(col, op, v.Str, o)
}

func stringOpSQL(expr string, op traceql.Op, s string, o whereOpts) (string, bool) {
	switch op {
	case traceql.OpRegex, traceql.OpNotRegex:
		if o.noRegex {
			return "1", true
		}
		m := "match(" + expr + ", " + Quote("^(?s:"+s+")$") + ")"
		if op == traceql.OpNotRegex {
			m = "NOT " + m
		}
		return m, true
	}
	if sop := sqlOp(op); sop != "" {
		return expr + sop + Quote(s), true
	}
	return "", false
}

func codeColumnSQL(col string, t traceql.ValueType, op traceql.Op, v traceql.Value) (string, bool) {
	if v.Type != t || (op != traceql.OpEqual && op != traceql.OpNotEqual) {
		return "", false
	}
	return col + sqlOp(op) + strconv.FormatInt(v.Int, 10), true
}

// numberOpSQL compares a numeric expression with a number static: exactly for ints and
// durations, as float64 for floats (as traceql does).
func numberOpSQL(expr string, op traceql.Op, v traceql.Value) (string, bool) {
	sop := sqlOp(op)
	if sop == "" {
		return "", false
	}
	switch v.Type {
	case traceql.TypeInt, traceql.TypeDuration:
		if v.Int >= maxExactFloat || v.Int <= -maxExactFloat {
			return "", false
		}
		return expr + sop + strconv.FormatInt(v.Int, 10), true
	case traceql.TypeFloat:
		if math.IsNaN(v.Float) || math.IsInf(v.Float, 0) {
			return "", false
		}
		return expr + sop + "toFloat64(" + strconv.FormatFloat(v.Float, 'g', -1, 64) + ")", true
	}
	return "", false
}

func sqlOp(op traceql.Op) string {
	switch op {
	case traceql.OpEqual:
		return " = "
	case traceql.OpNotEqual:
		return " != "
	case traceql.OpGreater:
		return " > "
	case traceql.OpGreaterEqual:
		return " >= "
	case traceql.OpLess:
		return " < "
	case traceql.OpLessEqual:
		return " <= "
	}
	return ""
}

// TraceQLValue is the typed value traceql sees for an attribute: strings, ints, floats
// and bools keep their type, bytes, arrays and maps are their text, empty is nil.
func (a Attr) TraceQLValue() traceql.Value {
	switch a.Type {
	case pb.AttrType_ATTR_TYPE_BOOL:
		return traceql.BoolValue(a.Value == "true")
	case pb.AttrType_ATTR_TYPE_INT:
		if n, err := strconv.ParseInt(a.Value, 10, 64); err == nil {
			return traceql.IntValue(n)
		}
	case pb.AttrType_ATTR_TYPE_DOUBLE:
		if f, err := strconv.ParseFloat(a.Value, 64); err == nil {
			return traceql.FloatValue(f)
		}
	case pb.AttrType_ATTR_TYPE_EMPTY:
		return traceql.Value{}
	}
	return traceql.StringValue(a.Value)
}
