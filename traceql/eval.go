package traceql

import (
	"math"
	"strings"
)

// Spanset is one result of a query over one trace: the matching spans and
// the attributes Tempo reports with them in spanSet.attributes (by() keys
// such as "by(resource.service.name)" and aggregates such as "count()").
type Spanset struct {
	Spans      []Span
	Attributes []KeyValue
}

// Eval evaluates q over the spans of one trace and returns the spans of all
// resulting spansets, in trace order, and whether the trace matches. The
// trace must hold every span of the trace exactly once (deduplicate
// replicas first): trace-level intrinsics and structural operators look at
// all of them. The returned spans are copies that share attribute slices
// with the input.
func (q *Query) Eval(trace []Span) (matched []Span, ok bool) {
	c, sets := q.eval(trace)
	if len(sets) == 0 {
		return nil, false
	}
	idx := sets[0].idx
	if len(sets) > 1 {
		idx = c.flatten(sets)
	}
	matched = make([]Span, len(idx))
	for k, i := range idx {
		matched[k] = trace[i]
	}
	return matched, true
}

// EvalSpansets is Eval keeping Tempo's spansets apart: by() splits a trace
// into one spanset per group. Most queries give zero or one spanset.
func (q *Query) EvalSpansets(trace []Span) []Spanset {
	_, sets := q.eval(trace)
	out := make([]Spanset, len(sets))
	for k, ss := range sets {
		spans := make([]Span, len(ss.idx))
		for j, i := range ss.idx {
			spans[j] = trace[i]
		}
		out[k] = Spanset{Spans: spans, Attributes: ss.attrs}
	}
	return out
}

func (q *Query) eval(trace []Span) (*evalCtx, []spanset) {
	if len(trace) == 0 {
		return nil, nil
	}
	c := &evalCtx{trace: trace}
	all := make([]int32, len(trace))
	for i := range all {
		all[i] = int32(i)
	}
	return c, c.pipeline(q.Pipeline, []spanset{{idx: all}})
}

// spanset is the evaluator's working form: indexes into the trace, in trace
// order, plus the attributes gathered by by() and aggregates.
type spanset struct {
	idx   []int32
	attrs []KeyValue
}

// evalCtx holds one evaluation. Trace-level facts and the span tree are
// computed on first use, so a plain filter never pays for them.
type evalCtx struct {
	trace []Span

	infoDone   bool
	root       int // -1 if the trace has no root span
	start, end int64

	tree *spanTree

	// Scratch space reused across operators (see marks).
	rel, aux      marks
	stack         []int32
	count, member []int32
}

func (c *evalCtx) info() {
	if c.infoDone {
		return
	}
	c.infoDone = true
	c.root = -1
	c.start, c.end = math.MaxInt64, math.MinInt64
	for i := range c.trace {
		s := &c.trace[i]
		c.start = min(c.start, s.StartUnixNano)
		c.end = max(c.end, s.EndUnixNano)
		// With several roots (a broken trace), the earliest wins, so the
		// answer does not depend on span order.
		if s.isRoot() && (c.root < 0 || s.StartUnixNano < c.trace[c.root].StartUnixNano) {
			c.root = i
		}
	}
}

// attr returns the value of an intrinsic or attribute for span i.
func (c *evalCtx) attr(a Attribute, i int) Value {
	s := &c.trace[i]
	switch a.Intrinsic {
	case IntrinsicNone:
	case IntrinsicName:
		return StringValue(s.Name)
	case IntrinsicStatus:
		return StatusValue(s.StatusCode)
	case IntrinsicStatusMessage:
		return StringValue(s.StatusMessage)
	case IntrinsicKind:
		return KindValue(s.Kind)
	case IntrinsicDuration:
		return Value{Type: TypeDuration, Int: s.EndUnixNano - s.StartUnixNano}
	case IntrinsicChildCount:
		t := c.spanTree()
		return IntValue(int64(t.childStart[i+1] - t.childStart[i]))
	case IntrinsicSpanID:
		return StringValue(s.SpanID)
	case IntrinsicParentID:
		return StringValue(s.ParentSpanID)
	case IntrinsicTraceID:
		return StringValue(s.TraceID)
	case IntrinsicRootName, IntrinsicRootServiceName:
		c.info()
		if c.root < 0 {
			return Value{}
		}
		if a.Intrinsic == IntrinsicRootName {
			return StringValue(c.trace[c.root].Name)
		}
		return c.trace[c.root].resourceAttr("service.name")
	case IntrinsicTraceDuration:
		c.info()
		return Value{Type: TypeDuration, Int: c.end - c.start}
	default:
		return Value{}
	}
	switch a.Scope {
	case ScopeSpan:
		return lookup(s.SpanAttrs, a.Name)
	case ScopeResource:
		return s.resourceAttr(a.Name)
	}
	if v := lookup(s.SpanAttrs, a.Name); !v.IsNil() {
		return v
	}
	return s.resourceAttr(a.Name)
}

// field evaluates a field expression on span i.
func (c *evalCtx) field(e Expr, i int) Value {
	switch e := e.(type) {
	case Attribute:
		return c.attr(e, i)
	case Value:
		return e
	case *BinaryExpr:
		switch e.Op {
		case OpAnd:
			if !isTrue(c.field(e.LHS, i)) {
				return BoolValue(false)
			}
			return BoolValue(isTrue(c.field(e.RHS, i)))
		case OpOr:
			if isTrue(c.field(e.LHS, i)) {
				return BoolValue(true)
			}
			return BoolValue(isTrue(c.field(e.RHS, i)))
		}
		return applyBinary(e, c.field(e.LHS, i), c.field(e.RHS, i))
	case *UnaryExpr:
		return applyUnary(e.Op, c.field(e.Expr, i))
	}
	return Value{} // aggregates have no per-span value
}

// scalar evaluates a scalar expression over one spanset, appending each
// aggregate's value to aggs.
func (c *evalCtx) scalar(e Expr, idx []int32, aggs *[]KeyValue) Value {
	switch e := e.(type) {
	case Value:
		return e
	case *Aggregate:
		v := c.aggregate(e, idx)
		*aggs = append(*aggs, KeyValue{Key: e.String(), Value: v})
		return v
	case *BinaryExpr:
		return applyBinary(e, c.scalar(e.LHS, idx, aggs), c.scalar(e.RHS, idx, aggs))
	case *UnaryExpr:
		return applyUnary(e.Op, c.scalar(e.Expr, idx, aggs))
	}
	return Value{}
}

func isTrue(v Value) bool { return v.Type == TypeBool && v.Bool }

func applyUnary(op Op, v Value) Value {
	if op == OpNot {
		if v.Type != TypeBool {
			return Value{}
		}
		return BoolValue(!v.Bool)
	}
	return negate(v)
}

// applyBinary applies a comparison or arithmetic operator. Any comparison
// with a nil operand is false (so `span.x != "a"` does not match spans
// without span.x), except the existence tests `= nil` and `!= nil`; values
// of mismatched types compare false, as in Tempo.
func applyBinary(b *BinaryExpr, l, r Value) Value {
	if b.nilCheck {
		bothNil := l.IsNil() && r.IsNil() // one side is the nil literal
		return BoolValue(bothNil == (b.Op == OpEqual))
	}
	if l.IsNil() || r.IsNil() {
		if b.Op.arithmetic() {
			return Value{}
		}
		return BoolValue(false)
	}
	switch {
	case b.Op == OpRegex || b.Op == OpNotRegex:
		if l.Type != TypeString || r.Type != TypeString {
			return BoolValue(false)
		}
		re := b.re
		if re == nil { // an AST built by hand rather than by Parse
			var err error
			if re, err = compileAnchored(r.Str); err != nil {
				return BoolValue(false)
			}
		}
		return BoolValue(re.MatchString(l.Str) == (b.Op == OpRegex))
	case b.Op.comparison():
		return BoolValue(compare(b.Op, l, r))
	case b.Op.arithmetic():
		return arith(b.Op, l, r)
	}
	return Value{}
}

// compare reports `l op r` for non-nil values.
func compare(op Op, l, r Value) bool {
	var c int
	switch {
	case l.Type.numeric() && r.Type.numeric():
		var ok bool
		if c, ok = numCompare(l, r); !ok {
			return false
		}
	case l.Type != r.Type:
		return false
	case l.Type == TypeString:
		c = strings.Compare(l.Str, r.Str)
	default: // bool, status, kind: equality only
		if op != OpEqual && op != OpNotEqual {
			return false
		}
		if l.Type == TypeBool {
			return (l.Bool == r.Bool) == (op == OpEqual)
		}
		return (l.Int == r.Int) == (op == OpEqual)
	}
	switch op {
	case OpEqual:
		return c == 0
	case OpNotEqual:
		return c != 0
	case OpGreater:
		return c > 0
	case OpGreaterEqual:
		return c >= 0
	case OpLess:
		return c < 0
	case OpLessEqual:
		return c <= 0
	}
	return false
}

func intLike(t ValueType) bool { return t == TypeInt || t == TypeDuration }

// numCompare compares two numbers: exactly when both are ints or durations
// (nanoseconds), as float64 otherwise. ok is false if either is NaN.
func numCompare(l, r Value) (c int, ok bool) {
	if intLike(l.Type) && intLike(r.Type) {
		switch {
		case l.Int < r.Int:
			return -1, true
		case l.Int > r.Int:
			return 1, true
		}
		return 0, true
	}
	lf, _ := l.AsFloat()
	rf, _ := r.AsFloat()
	switch {
	case lf < rf:
		return -1, true
	case lf > rf:
		return 1, true
	case lf == rf:
		return 0, true
	}
	return 0, false
}

// arith computes `l op r` for numbers: int (or duration) arithmetic when
// both sides are, float otherwise. Integer division by zero is nil.
func arith(op Op, l, r Value) Value {
	if !l.Type.numeric() || !r.Type.numeric() {
		return Value{}
	}
	if op != OpPow && intLike(l.Type) && intLike(r.Type) {
		a, b := l.Int, r.Int
		var n int64
		switch op {
		case OpAdd:
			n = a + b
		case OpSub:
			n = a - b
		case OpMul:
			n = a * b
		case OpDiv, OpMod:
			if b == 0 {
				return Value{}
			}
			if op == OpDiv {
				n = a / b
			} else {
				n = a % b
			}
		}
		t := TypeInt
		if l.Type == TypeDuration || r.Type == TypeDuration {
			t = TypeDuration
		}
		return Value{Type: t, Int: n}
	}
	a, _ := l.AsFloat()
	b, _ := r.AsFloat()
	switch op {
	case OpAdd:
		return FloatValue(a + b)
	case OpSub:
		return FloatValue(a - b)
	case OpMul:
		return FloatValue(a * b)
	case OpDiv:
		return FloatValue(a / b)
	case OpMod:
		return FloatValue(math.Mod(a, b))
	case OpPow:
		return FloatValue(math.Pow(a, b))
	}
	return Value{}
}

// aggregate computes count() or avg/min/max/sum over a spanset, skipping
// spans where the argument is nil or not a number; nil if none is left.
func (c *evalCtx) aggregate(a *Aggregate, idx []int32) Value {
	if a.Op == AggregateCount {
		return IntValue(int64(len(idx)))
	}
	var (
		best            Value
		n               int
		isum            int64
		fsum            float64
		allInt, sawDur  = true, false
		sawPlainNumbers bool
	)
	for _, i := range idx {
		v := c.field(a.Expr, int(i))
		if !v.Type.numeric() {
			continue
		}
		n++
		if cmp, ok := numCompare(v, best); n == 1 || (ok && ((a.Op == AggregateMin && cmp < 0) || (a.Op == AggregateMax && cmp > 0))) {
			best = v
		}
		f, _ := v.AsFloat()
		fsum += f
		if intLike(v.Type) {
			isum += v.Int
		} else {
			allInt = false
		}
		sawDur = sawDur || v.Type == TypeDuration
		sawPlainNumbers = sawPlainNumbers || v.Type != TypeDuration
	}
	if n == 0 {
		return Value{}
	}
	onlyDurations := sawDur && !sawPlainNumbers
	switch a.Op {
	case AggregateMin, AggregateMax:
		return best
	case AggregateSum:
		switch {
		case onlyDurations:
			return Value{Type: TypeDuration, Int: isum}
		case allInt:
			return IntValue(isum)
		}
		return FloatValue(fsum)
	}
	avg := fsum / float64(n)
	if onlyDurations {
		return Value{Type: TypeDuration, Int: int64(math.Round(avg))}
	}
	return FloatValue(avg)
}
