package traceql

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Printing rules for the canonical form: single spaces around binary
// operators and inside braces, intrinsics in their short spelling, strings
// double-quoted, and parentheses wherever the grammar needs them plus
// wherever && and || are mixed, because TraceQL gives && and || the same
// precedence (left to right) and `a || b && c` would mislead a reader.

// Binding strength of field and scalar expression operators, weakest first.
const (
	precLogical = iota + 1 // && ||
	precCompare            // = != < <= > >= =~ !~
	precAdd                // + -
	precMul                // * / %
	precUnary              // ! -x
	precPow                // ^ (right associative)
	precPrimary
)

func opPrec(o Op) int {
	switch {
	case o.logical():
		return precLogical
	case o.comparison():
		return precCompare
	case o == OpAdd || o == OpSub:
		return precAdd
	case o == OpMul || o == OpDiv || o == OpMod:
		return precMul
	case o == OpPow:
		return precPow
	}
	return precPrimary
}

func exprPrec(e Expr) int {
	switch e := e.(type) {
	case *BinaryExpr:
		return opPrec(e.Op)
	case *UnaryExpr:
		return precUnary
	case Value:
		if e.negative() {
			return precUnary // -1 prints like a unary minus
		}
	}
	return precPrimary
}

// String returns the expression in canonical TraceQL.
func (b *BinaryExpr) String() string {
	var sb strings.Builder
	b.write(&sb)
	return sb.String()
}

func (b *BinaryExpr) write(sb *strings.Builder) {
	writeOperand(sb, b.LHS, needParens(b.LHS, b.Op, true))
	sb.WriteByte(' ')
	sb.WriteString(b.Op.String())
	sb.WriteByte(' ')
	writeOperand(sb, b.RHS, needParens(b.RHS, b.Op, false))
}

func needParens(child Expr, parent Op, left bool) bool {
	cp, pp := exprPrec(child), opPrec(parent)
	if cp != pp {
		return cp < pp
	}
	switch {
	case pp == precLogical:
		c, _ := child.(*BinaryExpr)
		return !left || c.Op != parent
	case pp == precCompare:
		return true
	case pp == precPow:
		return left
	}
	return !left
}

func writeOperand(sb *strings.Builder, e Expr, parens bool) {
	if parens {
		sb.WriteByte('(')
	}
	writeExpr(sb, e)
	if parens {
		sb.WriteByte(')')
	}
}

func writeExpr(sb *strings.Builder, e Expr) {
	if b, ok := e.(*BinaryExpr); ok {
		b.write(sb)
		return
	}
	sb.WriteString(e.String())
}

// String returns the expression in canonical TraceQL.
func (u *UnaryExpr) String() string {
	var sb strings.Builder
	sb.WriteString(u.Op.String())
	parens := exprPrec(u.Expr) < precUnary
	if v, ok := u.Expr.(Value); ok && v.negative() {
		parens = true
	}
	if inner, ok := u.Expr.(*UnaryExpr); ok && inner.Op == OpSub {
		parens = true
	}
	writeOperand(&sb, u.Expr, parens)
	return sb.String()
}

// String returns the attribute as written in canonical TraceQL.
func (a Attribute) String() string {
	if a.IsIntrinsic() {
		if int(a.Intrinsic) < len(intrinsicInfo) {
			return intrinsicInfo[a.Intrinsic].name
		}
		return "?"
	}
	prefix := "."
	switch a.Scope {
	case ScopeSpan:
		prefix = "span."
	case ScopeResource:
		prefix = "resource."
	}
	if attrNameNeedsQuotes(a.Name) {
		return prefix + strconv.Quote(a.Name)
	}
	return prefix + a.Name
}

func attrNameNeedsQuotes(name string) bool {
	if name == "" {
		return true
	}
	for i, r := range name {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(name[i:]); size <= 1 {
				return true
			}
		}
		if !isAttrRune(r) || !unicode.IsPrint(r) {
			return true
		}
	}
	return false
}

// String returns the aggregate as written in TraceQL: count(), avg(duration).
func (a *Aggregate) String() string {
	if a.Expr == nil {
		return a.Op.String() + "()"
	}
	return a.Op.String() + "(" + a.Expr.String() + ")"
}

// String returns the filter in canonical TraceQL.
func (f *SpansetFilter) String() string {
	if f.Expr == nil {
		return "{}"
	}
	return "{ " + f.Expr.String() + " }"
}

func spansetPrec(e SpansetExpr) int {
	if o, ok := e.(*SpansetOp); ok {
		if o.Op.structural() {
			return 2
		}
		return 1
	}
	return 3
}

// String returns the spanset expression in canonical TraceQL.
func (o *SpansetOp) String() string {
	pp := spansetPrec(o)
	side := func(e SpansetExpr, left bool) string {
		cp := spansetPrec(e)
		parens := cp < pp
		if cp == pp {
			c := e.(*SpansetOp)
			parens = !left || (pp == 1 && c.Op != o.Op)
		}
		s := spansetString(e)
		if parens {
			return "(" + s + ")"
		}
		return s
	}
	return side(o.LHS, true) + " " + o.Op.String() + " " + side(o.RHS, false)
}

func spansetString(e SpansetExpr) string {
	if p, ok := e.(*Pipeline); ok {
		return pipelineString(p, true)
	}
	return e.String()
}

// String returns the pipeline in canonical TraceQL, in parentheses (the
// form it has inside another expression).
func (p *Pipeline) String() string { return pipelineString(p, true) }

func pipelineString(p *Pipeline, parens bool) string {
	var sb strings.Builder
	if parens {
		sb.WriteByte('(')
	}
	for i, s := range p.Stages {
		if i > 0 {
			sb.WriteString(" | ")
		}
		sb.WriteString(s.String())
	}
	if parens {
		sb.WriteByte(')')
	}
	return sb.String()
}

// String returns the filter in canonical TraceQL.
func (f *ScalarFilter) String() string {
	return (&BinaryExpr{Op: f.Op, LHS: f.LHS, RHS: f.RHS}).String()
}

// String returns `by(expr)`; Tempo uses the same text as the spanset
// attribute key.
func (g *GroupBy) String() string { return "by(" + g.Expr.String() + ")" }

// String returns `coalesce()`.
func (*Coalesce) String() string { return "coalesce()" }

// String returns `select(a, b)`.
func (s *Select) String() string {
	parts := make([]string, len(s.Attrs))
	for i, a := range s.Attrs {
		parts[i] = a.String()
	}
	return "select(" + strings.Join(parts, ", ") + ")"
}
