package traceql

import (
	"regexp"
)

// Op is an operator of a field expression, a scalar filter or a spanset
// expression.
type Op uint8

// Operators. The Op* comparison and arithmetic operators appear in field and
// scalar expressions; OpSpanset* combine spansets.
const (
	OpNone Op = iota

	OpEqual        // =
	OpNotEqual     // !=
	OpGreater      // >
	OpGreaterEqual // >=
	OpLess         // <
	OpLessEqual    // <=
	OpRegex        // =~ (fully anchored)
	OpNotRegex     // !~ (fully anchored)

	OpAdd // +
	OpSub // - (also unary minus)
	OpMul // *
	OpDiv // /
	OpMod // %
	OpPow // ^

	OpAnd // &&
	OpOr  // ||
	OpNot // ! (unary)

	OpSpansetAnd             // {A} && {B}: both match; the union of their spans
	OpSpansetOr              // {A} || {B}: either matches; the union
	OpSpansetChild           // {A} > {B}: B spans whose parent is an A span
	OpSpansetParent          // {A} < {B}: B spans that are the parent of an A span
	OpSpansetDescendant      // {A} >> {B}: B spans below an A span
	OpSpansetAncestor        // {A} << {B}: B spans above an A span
	OpSpansetSibling         // {A} ~ {B}: B spans sharing a parent with an A span
	OpSpansetNotChild        // !>
	OpSpansetNotParent       // !<
	OpSpansetNotDescendant   // !>>
	OpSpansetNotAncestor     // !<<
	OpSpansetNotSibling      // !~
	OpSpansetUnionChild      // &>: the matching B spans and the A spans they relate to
	OpSpansetUnionParent     // &<
	OpSpansetUnionDescendant // &>>
	OpSpansetUnionAncestor   // &<<
	OpSpansetUnionSibling    // &~
)

var opNames = [...]string{
	OpNone: "?", OpEqual: "=", OpNotEqual: "!=", OpGreater: ">", OpGreaterEqual: ">=", OpLess: "<",
	OpLessEqual: "<=", OpRegex: "=~", OpNotRegex: "!~", OpAdd: "+", OpSub: "-", OpMul: "*",
	OpDiv: "/", OpMod: "%", OpPow: "^", OpAnd: "&&", OpOr: "||", OpNot: "!",
	OpSpansetAnd: "&&", OpSpansetOr: "||", OpSpansetChild: ">", OpSpansetParent: "<",
	OpSpansetDescendant: ">>", OpSpansetAncestor: "<<", OpSpansetSibling: "~",
	OpSpansetNotChild: "!>", OpSpansetNotParent: "!<", OpSpansetNotDescendant: "!>>",
	OpSpansetNotAncestor: "!<<", OpSpansetNotSibling: "!~", OpSpansetUnionChild: "&>",
	OpSpansetUnionParent: "&<", OpSpansetUnionDescendant: "&>>", OpSpansetUnionAncestor: "&<<",
	OpSpansetUnionSibling: "&~",
}

// String returns the operator as written in TraceQL.
func (o Op) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return "?"
}

func (o Op) comparison() bool { return o >= OpEqual && o <= OpNotRegex }
func (o Op) arithmetic() bool { return o >= OpAdd && o <= OpPow }
func (o Op) logical() bool    { return o == OpAnd || o == OpOr }
func (o Op) structural() bool { return o >= OpSpansetChild && o <= OpSpansetUnionSibling }

// Scope is where a non-intrinsic attribute is looked up.
type Scope uint8

// Attribute scopes.
const (
	// ScopeNone is an unscoped attribute (.x): the span attribute if the span
	// has it, else the resource attribute, as Tempo resolves it.
	ScopeNone Scope = iota
	ScopeSpan
	ScopeResource
)

// Intrinsic identifies a built-in field of a span or trace.
type Intrinsic uint8

// Intrinsics. The span-level ones can be evaluated on one span (and pushed
// down); the trace-level ones (rootName, rootServiceName, traceDuration) and
// childCount need the whole trace.
const (
	IntrinsicNone            Intrinsic = iota
	IntrinsicName                      // name, span:name (string)
	IntrinsicStatus                    // status, span:status (status)
	IntrinsicStatusMessage             // statusMessage, span:statusMessage (string)
	IntrinsicKind                      // kind, span:kind (kind)
	IntrinsicDuration                  // duration, span:duration (duration)
	IntrinsicChildCount                // childCount, span:childCount (int)
	IntrinsicSpanID                    // span:id (string, hex)
	IntrinsicParentID                  // span:parentID (string, hex)
	IntrinsicTraceID                   // trace:id (string, hex)
	IntrinsicRootName                  // rootName, trace:rootName (string)
	IntrinsicRootServiceName           // rootServiceName, trace:rootService (string)
	IntrinsicTraceDuration             // traceDuration, trace:duration (duration)
)

// intrinsicInfo describes each intrinsic: its canonical spelling, its type
// and the other spellings the lexer accepts.
var intrinsicInfo = [...]struct {
	name       string
	typ        ValueType
	traceLevel bool
}{
	IntrinsicName:            {"name", TypeString, false},
	IntrinsicStatus:          {"status", TypeStatus, false},
	IntrinsicStatusMessage:   {"statusMessage", TypeString, false},
	IntrinsicKind:            {"kind", TypeKind, false},
	IntrinsicDuration:        {"duration", TypeDuration, false},
	IntrinsicChildCount:      {"childCount", TypeInt, true},
	IntrinsicSpanID:          {"span:id", TypeString, false},
	IntrinsicParentID:        {"span:parentID", TypeString, false},
	IntrinsicTraceID:         {"trace:id", TypeString, false},
	IntrinsicRootName:        {"rootName", TypeString, true},
	IntrinsicRootServiceName: {"rootServiceName", TypeString, true},
	IntrinsicTraceDuration:   {"traceDuration", TypeDuration, true},
}

// bareIntrinsics are the intrinsics written without a scope.
var bareIntrinsics = map[string]Intrinsic{
	"name": IntrinsicName, "status": IntrinsicStatus, "statusMessage": IntrinsicStatusMessage,
	"kind": IntrinsicKind, "duration": IntrinsicDuration, "childCount": IntrinsicChildCount,
	"rootName": IntrinsicRootName, "rootServiceName": IntrinsicRootServiceName,
	"traceDuration": IntrinsicTraceDuration,
}

// colonIntrinsics are the scope:name spellings (Tempo 2.5+).
var colonIntrinsics = map[string]Intrinsic{
	"span:name": IntrinsicName, "span:status": IntrinsicStatus,
	"span:statusMessage": IntrinsicStatusMessage, "span:kind": IntrinsicKind,
	"span:duration": IntrinsicDuration, "span:childCount": IntrinsicChildCount,
	"span:id": IntrinsicSpanID, "span:parentID": IntrinsicParentID,
	"trace:id": IntrinsicTraceID, "trace:rootName": IntrinsicRootName,
	"trace:rootService": IntrinsicRootServiceName, "trace:duration": IntrinsicTraceDuration,
}

// Attribute is a field reference: an intrinsic (Intrinsic != IntrinsicNone)
// or a span/resource/unscoped attribute named Name.
type Attribute struct {
	Intrinsic Intrinsic
	Scope     Scope
	Name      string
}

// IsIntrinsic reports whether a is an intrinsic rather than an attribute.
func (a Attribute) IsIntrinsic() bool { return a.Intrinsic != IntrinsicNone }

// TraceLevel reports whether a needs the whole trace to be evaluated
// (rootName, rootServiceName, traceDuration, childCount).
func (a Attribute) TraceLevel() bool { return a.IsIntrinsic() && intrinsicInfo[a.Intrinsic].traceLevel }

// Type returns the intrinsic's type, or TypeNil for attributes, whose type is
// only known per span.
func (a Attribute) Type() ValueType {
	if a.IsIntrinsic() {
		return intrinsicInfo[a.Intrinsic].typ
	}
	return TypeNil
}

// Expr is a node of a field expression (evaluated per span) or of a scalar
// expression (evaluated per spanset): *BinaryExpr, *UnaryExpr, Value,
// Attribute or *Aggregate.
type Expr interface {
	String() string
	exprNode()
}

// BinaryExpr is LHS Op RHS. For =~ and !~ the RHS is a string Value and the
// compiled, fully anchored pattern is kept in the node.
type BinaryExpr struct {
	Op       Op
	LHS, RHS Expr

	typ ValueType
	re  *regexp.Regexp
	// nilCheck is set for `x = nil` and `x != nil`: an existence test,
	// unlike every other comparison with nil, which is false.
	nilCheck bool
}

// UnaryExpr is `!Expr` or `-Expr`.
type UnaryExpr struct {
	Op   Op // OpNot or OpSub
	Expr Expr

	typ ValueType
}

// AggregateOp is the function of an Aggregate.
type AggregateOp uint8

// Aggregate functions.
const (
	AggregateCount AggregateOp = iota + 1
	AggregateAvg
	AggregateMin
	AggregateMax
	AggregateSum
)

var aggregateNames = map[string]AggregateOp{
	"count": AggregateCount, "avg": AggregateAvg, "min": AggregateMin, "max": AggregateMax, "sum": AggregateSum,
}

func (a AggregateOp) String() string {
	switch a {
	case AggregateCount:
		return "count"
	case AggregateAvg:
		return "avg"
	case AggregateMin:
		return "min"
	case AggregateMax:
		return "max"
	case AggregateSum:
		return "sum"
	}
	return "?"
}

// Aggregate is count(), or avg/min/max/sum of a field expression, computed
// over one spanset. It appears only in scalar filters.
type Aggregate struct {
	Op   AggregateOp
	Expr Expr // nil for count()
}

func (*BinaryExpr) exprNode() {}
func (*UnaryExpr) exprNode()  {}
func (Value) exprNode()       {}
func (Attribute) exprNode()   {}
func (*Aggregate) exprNode()  {}

// Stage is one element of a Pipeline: a SpansetExpr, *ScalarFilter,
// *GroupBy, *Coalesce or *Select.
type Stage interface {
	String() string
	stageNode()
}

// SpansetExpr selects spans: *SpansetFilter, *SpansetOp, or a parenthesised
// *Pipeline.
type SpansetExpr interface {
	Stage
	spansetNode()
}

// SpansetFilter is `{ Expr }`; a nil Expr (`{}`) matches every span.
type SpansetFilter struct {
	Expr Expr
}

// SpansetOp combines two spanset expressions with &&, || or a structural
// operator.
type SpansetOp struct {
	Op       Op
	LHS, RHS SpansetExpr
}

// Pipeline is `stage | stage | ...`. The first stage sees the whole trace
// as one spanset.
type Pipeline struct {
	Stages []Stage
}

// ScalarFilter keeps the spansets for which `LHS Op RHS` holds, where the
// sides are scalar expressions over aggregates and numbers
// (`count() > 2`, `avg(duration) > 1s`).
type ScalarFilter struct {
	Op       Op
	LHS, RHS Expr
}

// GroupBy (`by(expr)`) splits each spanset by the value of Expr.
type GroupBy struct {
	Expr Expr
}

// Coalesce (`coalesce()`) merges the spansets of a trace back into one.
type Coalesce struct{}

// Select (`select(a, b)`) asks for attributes in the result; it does not
// change which spans match.
type Select struct {
	Attrs []Attribute
}

func (*SpansetFilter) stageNode() {}
func (*SpansetOp) stageNode()     {}
func (*Pipeline) stageNode()      {}
func (*ScalarFilter) stageNode()  {}
func (*GroupBy) stageNode()       {}
func (*Coalesce) stageNode()      {}
func (*Select) stageNode()        {}

func (*SpansetFilter) spansetNode() {}
func (*SpansetOp) spansetNode()     {}
func (*Pipeline) spansetNode()      {}

// Query is a parsed TraceQL query. It is immutable after Parse and safe for
// concurrent use by several goroutines.
type Query struct {
	// Pipeline is the root of the AST; read it, do not modify it.
	Pipeline *Pipeline
}

// String returns the canonical form of q: Parse(q.String()) gives a query
// with the same String. Two queries that differ only in spacing, quoting,
// redundant parentheses or intrinsic spelling (span:name vs name) have the
// same canonical form.
func (q *Query) String() string { return pipelineString(q.Pipeline, false) }
