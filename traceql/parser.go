package traceql

import (
	"regexp"
	"strconv"
)

// maxDepth bounds the nesting of parentheses and operators, so that a
// hostile query cannot exhaust the stack.
const maxDepth = 200

// Grammar (recursive descent; precedence from Tempo's expr.y):
//
//	query       = pipeline EOF
//	pipeline    = stage { "|" stage }
//	stage       = spansetExpr | scalarFilter | "by" "(" field ")"
//	            | "coalesce" "(" ")" | "select" "(" attr { "," attr } ")"
//	spansetExpr = spansetPrim { spansetOp spansetPrim }   && || weakest, same level;
//	                                                      structural ops bind tighter
//	spansetPrim = "{" [ field ] "}" | "(" pipeline ")"
//	scalarFilter= scalar cmpOp scalar
//	scalar      = aggregate | number | duration | "(" scalar ")" | scalar arithOp scalar
//	field       = Pratt over && || (weakest, same level), comparisons, + -, * / %,
//	              unary ! -, ^ (right associative, strongest)

// Parse parses a TraceQL query. Errors are *ParseError.
func Parse(query string) (*Query, error) {
	toks, lerr := lex(query)
	if lerr != nil {
		return nil, lerr
	}
	p := &parser{src: query, toks: toks}
	if p.peek().kind == tEOF {
		return nil, p.errAt(p.peek(), "empty query; use {} to match all spans")
	}
	pl, err := p.pipeline()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, p.errAt(t, "unexpected %s", p.describe(t))
	}
	return &Query{Pipeline: pl}, nil
}

type parser struct {
	src   string
	toks  []token
	i     int
	depth int
}

func (p *parser) peek() token        { return p.toks[p.i] }
func (p *parser) peekAt(n int) token { return p.toks[min(p.i+n, len(p.toks)-1)] }

func (p *parser) advance() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *parser) errAt(t token, format string, args ...any) error {
	return newParseError(p.src, t.pos, format, args...)
}

// describe names a token for an error message: its source text, quoted.
func (p *parser) describe(t token) string {
	if t.kind == tEOF {
		return "end of query"
	}
	return strconv.Quote(p.src[t.pos:t.end])
}

func (p *parser) expect(k tokKind, what string) (token, error) {
	t := p.peek()
	if t.kind != k {
		return t, p.errAt(t, "expected %s, got %s", what, p.describe(t))
	}
	return p.advance(), nil
}

func (p *parser) enter() error {
	p.depth++
	if p.depth > maxDepth {
		return p.errAt(p.peek(), "query is nested too deeply (more than %d levels)", maxDepth)
	}
	return nil
}

func (p *parser) leave() { p.depth-- }

func (p *parser) pipeline() (*Pipeline, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	pl := &Pipeline{}
	for {
		s, err := p.stage()
		if err != nil {
			return nil, err
		}
		pl.Stages = append(pl.Stages, s)
		if p.peek().kind != tPipe {
			return pl, nil
		}
		p.advance()
	}
}

func (p *parser) stage() (Stage, error) {
	t := p.peek()
	if t.kind == tIdent && p.peekAt(1).kind == tLParen {
		switch t.str {
		case "by":
			return p.groupBy()
		case "coalesce":
			p.i += 2
			if _, err := p.expect(tRParen, `")" (coalesce takes no arguments)`); err != nil {
				return nil, err
			}
			return &Coalesce{}, nil
		case "select":
			return p.selectStage()
		}
	}
	if p.scalarAhead() {
		return p.scalarFilter()
	}
	return p.spansetExpr(0)
}

// scalarAhead reports whether the stage starting here is a scalar filter
// (count() > 2, (avg(duration) + 1s) > 3s) rather than a spanset expression.
func (p *parser) scalarAhead() bool {
	j := p.i
	for p.toks[j].kind == tLParen {
		j++
	}
	t := p.toks[j]
	switch t.kind {
	case tInt, tFloat, tDuration:
		return true
	case tOp:
		return t.op == OpSub
	case tIdent:
		_, ok := aggregateNames[t.str]
		return ok
	}
	return false
}

func (p *parser) groupBy() (Stage, error) {
	p.i += 2 // by (
	e, err := p.fieldExpr(0)
	if err != nil {
		return nil, err
	}
	if _, err := p.expect(tRParen, `")"`); err != nil {
		return nil, err
	}
	return &GroupBy{Expr: e}, nil
}

func (p *parser) selectStage() (Stage, error) {
	p.i += 2 // select (
	s := &Select{}
	for {
		t := p.advance()
		var a Attribute
		switch {
		case t.kind == tAttr:
			a = t.attribute()
		case t.kind == tIdent && bareIntrinsics[t.str] != IntrinsicNone:
			a = Attribute{Intrinsic: bareIntrinsics[t.str]}
		default:
			return nil, p.errAt(t, "select() takes attributes or intrinsics, got %s", p.describe(t))
		}
		s.Attrs = append(s.Attrs, a)
		if p.peek().kind != tComma {
			break
		}
		p.advance()
	}
	if _, err := p.expect(tRParen, `"," or ")"`); err != nil {
		return nil, err
	}
	return s, nil
}

// spansetBinding maps an operator token between spansets to its spanset
// operator and binding strength (1 for && and ||, 2 for structural).
func spansetBinding(t token) (Op, int) {
	if t.kind != tOp {
		return OpNone, 0
	}
	switch t.op {
	case OpAnd:
		return OpSpansetAnd, 1
	case OpOr:
		return OpSpansetOr, 1
	case OpGreater:
		return OpSpansetChild, 2
	case OpLess:
		return OpSpansetParent, 2
	case OpNotRegex:
		return OpSpansetNotSibling, 2
	}
	if t.op.structural() {
		return t.op, 2
	}
	return OpNone, 0
}

func (p *parser) spansetExpr(minPrec int) (SpansetExpr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	lhs, err := p.spansetPrimary()
	if err != nil {
		return nil, err
	}
	for {
		op, prec := spansetBinding(p.peek())
		if op == OpNone || prec < minPrec {
			return lhs, nil
		}
		p.advance()
		rhs, err := p.spansetExpr(prec + 1)
		if err != nil {
			return nil, err
		}
		lhs = &SpansetOp{Op: op, LHS: lhs, RHS: rhs}
	}
}

func (p *parser) spansetPrimary() (SpansetExpr, error) {
	t := p.peek()
	switch t.kind {
	case tLBrace:
		return p.spansetFilter()
	case tLParen:
		p.advance()
		pl, err := p.pipeline()
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tRParen, `")"`); err != nil {
			return nil, err
		}
		if len(pl.Stages) == 1 {
			if se, ok := pl.Stages[0].(SpansetExpr); ok {
				return se, nil
			}
		}
		return pl, nil
	}
	return nil, p.errAt(t, "expected a spanset filter such as { status = error }, got %s", p.describe(t))
}

func (p *parser) spansetFilter() (SpansetExpr, error) {
	open := p.advance()
	if p.peek().kind == tRBrace {
		p.advance()
		return &SpansetFilter{}, nil
	}
	e, err := p.fieldExpr(0)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tRBrace {
		return nil, p.errAt(t, `expected "}" or an operator, got %s`, p.describe(t))
	}
	p.advance()
	if t := typeOf(e); !boolish(t) {
		return nil, p.errAt(open, "a spanset filter needs a boolean expression, got %s", typeName(t))
	}
	return &SpansetFilter{Expr: e}, nil
}

// fieldBinaryPrec returns the binding strength of a binary operator inside
// a field expression, or 0 if op cannot continue one.
func fieldBinaryPrec(op Op) int {
	if op.comparison() || op.logical() || op.arithmetic() {
		return opPrec(op)
	}
	return 0
}

func (p *parser) fieldExpr(minPrec int) (Expr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	lhs, err := p.fieldUnary()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		if t.kind != tOp {
			return lhs, nil
		}
		prec := fieldBinaryPrec(t.op)
		if prec == 0 || prec < minPrec {
			return lhs, nil
		}
		p.advance()
		next := prec + 1
		if t.op == OpPow {
			next = prec // right associative
		}
		rhs, err := p.fieldExpr(next)
		if err != nil {
			return nil, err
		}
		if lhs, err = p.binary(t, lhs, rhs); err != nil {
			return nil, err
		}
	}
}

func (p *parser) fieldUnary() (Expr, error) {
	t := p.peek()
	if t.kind == tOp && (t.op == OpNot || t.op == OpSub) {
		p.advance()
		operand, err := p.fieldExpr(precUnary)
		if err != nil {
			return nil, err
		}
		return p.unary(t, operand)
	}
	return p.fieldPrimary()
}

func (p *parser) fieldPrimary() (Expr, error) {
	t := p.advance()
	switch t.kind {
	case tLParen:
		e, err := p.fieldExpr(0)
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tRParen, `")"`); err != nil {
			return nil, err
		}
		return e, nil
	case tString:
		return StringValue(t.str), nil
	case tInt, tFloat, tDuration:
		return t.value(), nil
	case tAttr:
		return t.attribute(), nil
	case tIdent:
		return p.keyword(t)
	}
	return nil, p.errAt(t, "expected a field expression, got %s", p.describe(t))
}

var keywordValues = map[string]Value{
	"true": BoolValue(true), "false": BoolValue(false), "nil": {},
	"ok": StatusValue(StatusOK), "error": StatusValue(StatusError), "unset": StatusValue(StatusUnset),
	"unspecified": KindValue(KindUnspecified), "internal": KindValue(KindInternal),
	"server": KindValue(KindServer), "client": KindValue(KindClient),
	"producer": KindValue(KindProducer), "consumer": KindValue(KindConsumer),
}

func (p *parser) keyword(t token) (Expr, error) {
	if v, ok := keywordValues[t.str]; ok {
		return v, nil
	}
	if in, ok := bareIntrinsics[t.str]; ok {
		return Attribute{Intrinsic: in}, nil
	}
	if _, ok := aggregateNames[t.str]; ok {
		return nil, p.errAt(t, "%s() is an aggregate: use it after a pipe, as in { ... } | %s(...) > 1", t.str, t.str)
	}
	switch t.str {
	case "by", "select", "coalesce":
		return nil, p.errAt(t, "%s() is a pipeline stage: use it after a pipe", t.str)
	case "parent", "nestedSetLeft", "nestedSetRight", "nestedSetParent":
		return nil, p.errAt(t, "intrinsic %q is not supported", t.str)
	}
	return nil, p.errAt(t, "unknown identifier %q (attributes need a scope: span.%s, resource.%s or .%s)",
		t.str, t.str, t.str, t.str)
}

func (p *parser) unary(t token, operand Expr) (Expr, error) {
	ot := typeOf(operand)
	if t.op == OpNot {
		if !boolish(ot) {
			return nil, p.errAt(t, "operator ! needs a boolean operand, got %s", typeName(ot))
		}
		return &UnaryExpr{Op: OpNot, Expr: operand, typ: TypeBool}, nil
	}
	if !numericish(ot) {
		return nil, p.errAt(t, "unary - needs a number or duration, got %s", typeName(ot))
	}
	if v, ok := operand.(Value); ok {
		return negate(v), nil // fold -1, -1.5, -1s into a literal
	}
	return &UnaryExpr{Op: OpSub, Expr: operand, typ: ot}, nil
}

// binary type-checks `l op r` and builds the node. The rules follow Tempo's
// validation: sides must be of matching types (all numbers match each
// other; an attribute matches anything because its type is only known per
// span), ordering needs numbers or strings, regexes need a string literal,
// and nil only goes with = and !=.
func (p *parser) binary(t token, l, r Expr) (Expr, error) {
	op := t.op
	lt, rt := typeOf(l), typeOf(r)
	b := &BinaryExpr{Op: op, LHS: l, RHS: r, typ: TypeBool}
	mismatch := func() error {
		hint := ""
		if u, ok := l.(*UnaryExpr); ok && u.Op == OpNot {
			hint = " (! binds tighter than comparisons: write !(a = b))"
		}
		return p.errAt(t, "operator %s cannot compare %s with %s%s", op, typeName(lt), typeName(rt), hint)
	}
	switch {
	case op.logical():
		if !boolish(lt) || !boolish(rt) {
			return nil, p.errAt(t, "operator %s needs boolean operands, got %s and %s", op, typeName(lt), typeName(rt))
		}
	case op == OpEqual || op == OpNotEqual:
		if !compatible(lt, rt) {
			return nil, mismatch()
		}
		b.nilCheck = isNilLiteral(l) || isNilLiteral(r)
	case op == OpRegex || op == OpNotRegex:
		pattern, ok := r.(Value)
		if !ok || pattern.Type != TypeString {
			return nil, p.errAt(t, "operator %s needs a string literal on the right, got %s", op, typeName(rt))
		}
		if lt != TypeString && lt != typeAny {
			return nil, p.errAt(t, "operator %s needs a string on the left, got %s", op, typeName(lt))
		}
		re, err := compileAnchored(pattern.Str)
		if err != nil {
			return nil, p.errAt(t, "invalid regular expression %q: %v", pattern.Str, err)
		}
		b.re = re
	case op.comparison():
		if !compatible(lt, rt) {
			return nil, mismatch()
		}
		if !orderable(lt) || !orderable(rt) {
			return nil, p.errAt(t, "operator %s needs numbers, durations or strings, got %s and %s", op, typeName(lt), typeName(rt))
		}
	case op.arithmetic():
		if !numericish(lt) || !numericish(rt) {
			return nil, p.errAt(t, "operator %s needs numbers or durations, got %s and %s", op, typeName(lt), typeName(rt))
		}
		b.typ = arithType(op, lt, rt)
	default:
		return nil, p.errAt(t, "unexpected operator %s", op)
	}
	return b, nil
}

// compileAnchored compiles a TraceQL regex the way Tempo (through
// Prometheus' FastRegexMatcher) does: fully anchored, with . matching \n.
func compileAnchored(pattern string) (*regexp.Regexp, error) {
	if _, err := regexp.Compile(pattern); err != nil {
		return nil, err // report the user's pattern, not our wrapper
	}
	return regexp.Compile("^(?s:" + pattern + ")$")
}

func (p *parser) scalarFilter() (Stage, error) {
	lhs, err := p.scalarExpr(0)
	if err != nil {
		return nil, err
	}
	t := p.peek()
	if t.kind != tOp || !t.op.comparison() || t.op == OpRegex || t.op == OpNotRegex {
		return nil, p.errAt(t, "expected a comparison (= != < <= > >=) after %s, got %s", lhs, p.describe(t))
	}
	p.advance()
	rhs, err := p.scalarExpr(0)
	if err != nil {
		return nil, err
	}
	// Both sides are numeric by construction; binary checks the rest.
	if _, err := p.binary(t, lhs, rhs); err != nil {
		return nil, err
	}
	return &ScalarFilter{Op: t.op, LHS: lhs, RHS: rhs}, nil
}

func (p *parser) scalarExpr(minPrec int) (Expr, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	lhs, err := p.scalarUnary()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		if t.kind != tOp || !t.op.arithmetic() || opPrec(t.op) < minPrec {
			return lhs, nil
		}
		p.advance()
		next := opPrec(t.op) + 1
		if t.op == OpPow {
			next = opPrec(t.op)
		}
		rhs, err := p.scalarExpr(next)
		if err != nil {
			return nil, err
		}
		if lhs, err = p.binary(t, lhs, rhs); err != nil {
			return nil, err
		}
	}
}

func (p *parser) scalarUnary() (Expr, error) {
	t := p.peek()
	if t.kind == tOp && t.op == OpSub {
		p.advance()
		operand, err := p.scalarExpr(precUnary)
		if err != nil {
			return nil, err
		}
		return p.unary(t, operand)
	}
	return p.scalarPrimary()
}

func (p *parser) scalarPrimary() (Expr, error) {
	t := p.advance()
	switch t.kind {
	case tLParen:
		e, err := p.scalarExpr(0)
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tRParen, `")"`); err != nil {
			return nil, err
		}
		return e, nil
	case tInt, tFloat, tDuration:
		return t.value(), nil
	case tIdent:
		if op, ok := aggregateNames[t.str]; ok {
			return p.aggregate(t, op)
		}
	}
	return nil, p.errAt(t, "expected an aggregate such as count() or avg(duration), or a number, got %s", p.describe(t))
}

func (p *parser) aggregate(name token, op AggregateOp) (Expr, error) {
	if _, err := p.expect(tLParen, `"(" after `+name.str); err != nil {
		return nil, err
	}
	a := &Aggregate{Op: op}
	if op == AggregateCount {
		if _, err := p.expect(tRParen, `")" (count takes no arguments)`); err != nil {
			return nil, err
		}
		return a, nil
	}
	e, err := p.fieldExpr(0)
	if err != nil {
		return nil, err
	}
	if t := typeOf(e); !numericish(t) {
		return nil, p.errAt(name, "%s() needs a number or duration, got %s", op, typeName(t))
	}
	if _, err := p.expect(tRParen, `")"`); err != nil {
		return nil, err
	}
	a.Expr = e
	return a, nil
}
