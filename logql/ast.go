package logql

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Expr is a parsed query: a *LogQueryExpr (a log query) or a SampleExpr
// (a metric query). String prints canonical LogQL that parses back to the
// same tree.
type Expr interface {
	String() string
	write(b *strings.Builder)
}

// SampleExpr is a metric query node: *RangeAggregationExpr,
// *VectorAggregationExpr, *BinaryExpr, *LiteralExpr, *VectorExpr or
// *LabelReplaceExpr.
type SampleExpr interface {
	Expr
	sampleExpr()
}

// Range aggregation operators.
const (
	OpCountOverTime    = "count_over_time"
	OpRate             = "rate"
	OpRateCounter      = "rate_counter"
	OpBytesOverTime    = "bytes_over_time"
	OpBytesRate        = "bytes_rate"
	OpAbsentOverTime   = "absent_over_time"
	OpSumOverTime      = "sum_over_time"
	OpAvgOverTime      = "avg_over_time"
	OpMinOverTime      = "min_over_time"
	OpMaxOverTime      = "max_over_time"
	OpStddevOverTime   = "stddev_over_time"
	OpStdvarOverTime   = "stdvar_over_time"
	OpQuantileOverTime = "quantile_over_time"
	OpFirstOverTime    = "first_over_time"
	OpLastOverTime     = "last_over_time"
)

var rangeOps = map[string]bool{
	OpCountOverTime: true, OpRate: true, OpRateCounter: true, OpBytesOverTime: true,
	OpBytesRate: true, OpAbsentOverTime: true, OpSumOverTime: true, OpAvgOverTime: true,
	OpMinOverTime: true, OpMaxOverTime: true, OpStddevOverTime: true, OpStdvarOverTime: true,
	OpQuantileOverTime: true, OpFirstOverTime: true, OpLastOverTime: true,
}

// Vector aggregation operators.
const (
	OpSum      = "sum"
	OpAvg      = "avg"
	OpMin      = "min"
	OpMax      = "max"
	OpCount    = "count"
	OpStddev   = "stddev"
	OpStdvar   = "stdvar"
	OpTopK     = "topk"
	OpBottomK  = "bottomk"
	OpSort     = "sort"
	OpSortDesc = "sort_desc"
)

var vectorOps = map[string]bool{
	OpSum: true, OpAvg: true, OpMin: true, OpMax: true, OpCount: true, OpStddev: true,
	OpStdvar: true, OpTopK: true, OpBottomK: true, OpSort: true, OpSortDesc: true,
}

// Binary operators, as written.
const (
	OpOr     = "or"
	OpAnd    = "and"
	OpUnless = "unless"
	OpAdd    = "+"
	OpSub    = "-"
	OpMul    = "*"
	OpDiv    = "/"
	OpMod    = "%"
	OpPow    = "^"
	OpEq     = "=="
	OpNeq    = "!="
	OpGt     = ">"
	OpGte    = ">="
	OpLt     = "<"
	OpLte    = "<="
)

// binaryPrecedence is PromQL's: or < and,unless < comparisons < +,- < *,/,% < ^.
var binaryPrecedence = map[string]int{
	OpOr: 1, OpAnd: 2, OpUnless: 2,
	OpEq: 3, OpNeq: 3, OpGt: 3, OpGte: 3, OpLt: 3, OpLte: 3,
	OpAdd: 4, OpSub: 4, OpMul: 5, OpDiv: 5, OpMod: 5, OpPow: 6,
}

func isComparisonOp(op string) bool { return binaryPrecedence[op] == 3 }

func isSetOp(op string) bool { return op == OpAnd || op == OpOr || op == OpUnless }

// Grouping is a by (...) or without (...) clause.
type Grouping struct {
	Without bool
	Labels  []string
}

func (g *Grouping) write(b *strings.Builder) {
	if g.Without {
		b.WriteString("without (")
	} else {
		b.WriteString("by (")
	}
	b.WriteString(strings.Join(g.Labels, ", "))
	b.WriteByte(')')
}

// Unwrap turns a label into the sample value: | unwrap latency,
// | unwrap duration(latency), | unwrap bytes(size); label filters written
// after it (PostFilters) run after the conversion.
type Unwrap struct {
	Label       string
	Conversion  string // "", "bytes", "duration" or "duration_seconds"
	PostFilters []LabelFilter
}

func (u *Unwrap) write(b *strings.Builder) {
	b.WriteString("| unwrap ")
	if u.Conversion != "" {
		b.WriteString(u.Conversion)
		b.WriteByte('(')
		b.WriteString(u.Label)
		b.WriteByte(')')
	} else {
		b.WriteString(u.Label)
	}
	for _, f := range u.PostFilters {
		b.WriteString(" | ")
		f.write(b)
	}
}

// LogRange is the range-vector argument of a range aggregation:
// {sel} | pipeline | unwrap x [5m] offset 1h.
type LogRange struct {
	Log      *LogQueryExpr
	Unwrap   *Unwrap // nil without unwrap
	Interval time.Duration
	Offset   time.Duration
}

func (r *LogRange) write(b *strings.Builder) {
	r.Log.write(b)
	if r.Unwrap != nil {
		b.WriteByte(' ')
		r.Unwrap.write(b)
	}
	if len(r.Log.Pipeline) > 0 || r.Unwrap != nil {
		b.WriteByte(' ')
	}
	b.WriteByte('[')
	b.WriteString(formatDuration(r.Interval))
	b.WriteByte(']')
	if r.Offset != 0 {
		b.WriteString(" offset ")
		b.WriteString(formatDuration(r.Offset))
	}
}

// RangeAggregationExpr is count_over_time(...), rate(...), quantile_over_time(0.99, ...) etc.
type RangeAggregationExpr struct {
	Op       string
	Param    *float64 // quantile_over_time's φ
	Range    *LogRange
	Grouping *Grouping // only the unwrap aggregations that Loki allows it for
}

func (*RangeAggregationExpr) sampleExpr() {}

func (e *RangeAggregationExpr) String() string { return exprString(e) }

func (e *RangeAggregationExpr) write(b *strings.Builder) {
	b.WriteString(e.Op)
	b.WriteByte('(')
	if e.Param != nil {
		b.WriteString(formatFloat(*e.Param))
		b.WriteString(", ")
	}
	e.Range.write(b)
	b.WriteByte(')')
	if e.Grouping != nil {
		b.WriteByte(' ')
		e.Grouping.write(b)
	}
}

// VectorAggregationExpr is sum by (a) (...), topk(5, ...), sort(...) etc.
// A zero Grouping (no labels, not Without) aggregates everything into one
// series, which is what sum(...) and sum by () (...) both mean.
type VectorAggregationExpr struct {
	Op       string
	Param    int // k of topk and bottomk
	Inner    SampleExpr
	Grouping Grouping
}

func (*VectorAggregationExpr) sampleExpr() {}

func (e *VectorAggregationExpr) String() string { return exprString(e) }

func (e *VectorAggregationExpr) write(b *strings.Builder) {
	b.WriteString(e.Op)
	if e.Grouping.Without || len(e.Grouping.Labels) > 0 {
		b.WriteByte(' ')
		e.Grouping.write(b)
		b.WriteByte(' ')
	}
	b.WriteByte('(')
	if e.Op == OpTopK || e.Op == OpBottomK {
		b.WriteString(strconv.Itoa(e.Param))
		b.WriteString(", ")
	}
	e.Inner.write(b)
	b.WriteByte(')')
}

// Cardinality of a vector match.
type Cardinality int

// Vector match cardinalities.
const (
	CardOneToOne  Cardinality = iota
	CardManyToOne             // group_left
	CardOneToMany             // group_right
)

// VectorMatching is the on/ignoring and group_left/group_right part of a
// binary operation between two vectors.
type VectorMatching struct {
	On      bool // on (...) when true, ignoring (...) otherwise
	Labels  []string
	Card    Cardinality
	Include []string // labels copied from the "one" side by group_x (...)
}

// BinaryExpr is lhs op rhs with optional bool and vector matching.
type BinaryExpr struct {
	Op         string
	LHS, RHS   SampleExpr
	ReturnBool bool
	Matching   *VectorMatching
}

func (*BinaryExpr) sampleExpr() {}

func (e *BinaryExpr) String() string { return exprString(e) }

func (e *BinaryExpr) write(b *strings.Builder) {
	prec := binaryPrecedence[e.Op]
	rightAssoc := e.Op == OpPow
	writeOperand(b, e.LHS, prec, rightAssoc)
	b.WriteByte(' ')
	b.WriteString(e.Op)
	if e.ReturnBool {
		b.WriteString(" bool")
	}
	if m := e.Matching; m != nil {
		if m.On {
			b.WriteString(" on (")
		} else {
			b.WriteString(" ignoring (")
		}
		b.WriteString(strings.Join(m.Labels, ", "))
		b.WriteByte(')')
		switch m.Card {
		case CardManyToOne:
			b.WriteString(" group_left (")
		case CardOneToMany:
			b.WriteString(" group_right (")
		}
		if m.Card != CardOneToOne {
			b.WriteString(strings.Join(m.Include, ", "))
			b.WriteByte(')')
		}
	}
	b.WriteByte(' ')
	writeOperand(b, e.RHS, prec, !rightAssoc)
}

// writeOperand parenthesizes a child binary expression that binds looser
// than its parent, or as loosely on the side associativity does not group.
func writeOperand(b *strings.Builder, e SampleExpr, parentPrec int, parenOnEqual bool) {
	if be, ok := e.(*BinaryExpr); ok {
		p := binaryPrecedence[be.Op]
		if p < parentPrec || (p == parentPrec && parenOnEqual) {
			b.WriteByte('(')
			be.write(b)
			b.WriteByte(')')
			return
		}
	}
	e.write(b)
}

// LiteralExpr is a number: a scalar.
type LiteralExpr struct {
	Value float64
}

func (*LiteralExpr) sampleExpr() {}

func (e *LiteralExpr) String() string { return exprString(e) }

func (e *LiteralExpr) write(b *strings.Builder) { b.WriteString(formatFloat(e.Value)) }

// VectorExpr is vector(n): one series without labels.
type VectorExpr struct {
	Value float64
}

func (*VectorExpr) sampleExpr() {}

func (e *VectorExpr) String() string { return exprString(e) }

func (e *VectorExpr) write(b *strings.Builder) {
	b.WriteString("vector(")
	b.WriteString(formatFloat(e.Value))
	b.WriteByte(')')
}

// LabelReplaceExpr is label_replace(inner, "dst", "replacement", "src", "regex").
type LabelReplaceExpr struct {
	Inner       SampleExpr
	Dst         string
	Replacement string
	Src         string
	Regex       string

	re *regexp.Regexp
}

func (*LabelReplaceExpr) sampleExpr() {}

func (e *LabelReplaceExpr) String() string { return exprString(e) }

func (e *LabelReplaceExpr) write(b *strings.Builder) {
	b.WriteString("label_replace(")
	e.Inner.write(b)
	for _, s := range []string{e.Dst, e.Replacement, e.Src, e.Regex} {
		b.WriteString(", ")
		b.WriteString(strconv.Quote(s))
	}
	b.WriteByte(')')
}

func exprString(e Expr) string {
	var b strings.Builder
	e.write(&b)
	return b.String()
}

// isScalar reports whether e evaluates to a scalar (numbers and arithmetic
// on numbers), not a vector.
func isScalar(e SampleExpr) bool {
	switch e := e.(type) {
	case *LiteralExpr:
		return true
	case *BinaryExpr:
		return isScalar(e.LHS) && isScalar(e.RHS)
	}
	return false
}
