package logql

import (
	"fmt"
	"math"
	"time"
)

// Parse parses a LogQL query into a *LogQueryExpr or a SampleExpr and
// validates it. Errors are *ParseError.
func Parse(q string) (Expr, error) {
	toks, err := lex(q)
	if err != nil {
		return nil, err
	}
	p := &parser{src: q, toks: toks}
	e, err := p.parseExpr(0)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, p.unexpected(t, "")
	}
	if err := validateSelectors(e); err != nil {
		return nil, err
	}
	return e, nil
}

// ParseLogQuery parses a query that must be a log query.
func ParseLogQuery(q string) (*LogQueryExpr, error) {
	e, err := Parse(q)
	if err != nil {
		return nil, err
	}
	lq, ok := e.(*LogQueryExpr)
	if !ok {
		return nil, semanticError("only log queries are supported here, got a metric query")
	}
	return lq, nil
}

// ParseSampleExpr parses a query that must be a metric query.
func ParseSampleExpr(q string) (SampleExpr, error) {
	e, err := Parse(q)
	if err != nil {
		return nil, err
	}
	se, ok := e.(SampleExpr)
	if !ok {
		return nil, semanticError("only metric queries are supported here, got a log query")
	}
	return se, nil
}

type parser struct {
	src  string
	toks []token
	pos  int
}

func (p *parser) peek() token { return p.toks[p.pos] }

// peekAt looks n tokens ahead; past the end it returns the EOF token.
func (p *parser) peekAt(n int) token {
	if p.pos+n >= len(p.toks) {
		return p.toks[len(p.toks)-1]
	}
	return p.toks[p.pos+n]
}

func (p *parser) next() token {
	t := p.toks[p.pos]
	if t.kind != tokEOF {
		p.pos++
	}
	return t
}

func (p *parser) isIdent(n int, names ...string) bool {
	t := p.peekAt(n)
	if t.kind != tokIdent {
		return false
	}
	for _, name := range names {
		if t.text == name {
			return true
		}
	}
	return false
}

func (p *parser) unexpected(t token, expecting string) *ParseError {
	msg := "syntax error: unexpected " + t.describe()
	if expecting != "" {
		msg += ", expecting " + expecting
	}
	return p.errAt(t, "%s", msg)
}

func (p *parser) expect(kind tokenKind, what string) (token, error) {
	t := p.peek()
	if t.kind != kind {
		return t, p.unexpected(t, what)
	}
	return p.next(), nil
}

func (p *parser) expectIdent() (token, error) { return p.expect(tokIdent, "IDENTIFIER") }

// errAt is a semantic error found while parsing, reported at t.
func (p *parser) errAt(t token, format string, args ...any) *ParseError {
	line, col := position(p.src, t.pos)
	return newParseError(fmt.Sprintf(format, args...), line, col)
}

// binaryOpOf returns the binary operator that t spells, if any.
func binaryOpOf(t token) (string, bool) {
	switch t.kind {
	case tokIdent:
		if isSetOp(t.text) {
			return t.text, true
		}
	case tokAdd, tokSub, tokMul, tokDiv, tokMod, tokPow, tokCmpEq, tokNeq, tokGt, tokGte, tokLt, tokLte:
		return t.text, true
	}
	return "", false
}

// parseExpr is precedence climbing over PromQL's binary operators.
func (p *parser) parseExpr(minPrec int) (Expr, error) {
	lhs, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	for {
		opTok := p.peek()
		op, ok := binaryOpOf(opTok)
		if !ok || binaryPrecedence[op] < minPrec {
			return lhs, nil
		}
		left, ok := lhs.(SampleExpr)
		if !ok {
			return nil, p.unexpected(opTok, "")
		}
		p.next()
		returnBool, matching, err := p.parseBinaryModifiers()
		if err != nil {
			return nil, err
		}
		nextMin := binaryPrecedence[op] + 1
		if op == OpPow {
			nextMin = binaryPrecedence[op]
		}
		rhsTok := p.peek()
		rhs, err := p.parseExpr(nextMin)
		if err != nil {
			return nil, err
		}
		right, ok := rhs.(SampleExpr)
		if !ok {
			return nil, p.unexpected(rhsTok, "")
		}
		be, perr := newBinaryExpr(op, left, right, returnBool, matching)
		if perr != nil {
			return nil, p.errAt(opTok, "%s", perr.Msg)
		}
		lhs = be
	}
}

func (p *parser) parseBinaryModifiers() (bool, *VectorMatching, error) {
	returnBool := false
	if p.isIdent(0, "bool") {
		p.next()
		returnBool = true
	}
	if !p.isIdent(0, "on", "ignoring") {
		return returnBool, nil, nil
	}
	m := &VectorMatching{On: p.next().text == "on"}
	var err error
	if m.Labels, err = p.parseLabelList(); err != nil {
		return false, nil, err
	}
	if p.isIdent(0, "group_left", "group_right") {
		m.Card = CardManyToOne
		if p.next().text == "group_right" {
			m.Card = CardOneToMany
		}
		if p.peek().kind == tokLParen {
			if m.Include, err = p.parseLabelList(); err != nil {
				return false, nil, err
			}
		}
	}
	return returnBool, m, nil
}

func newBinaryExpr(op string, lhs, rhs SampleExpr, returnBool bool, m *VectorMatching) (*BinaryExpr, *ParseError) {
	ls, rs := isScalar(lhs), isScalar(rhs)
	switch {
	case returnBool && !isComparisonOp(op):
		return nil, semanticError("bool modifier can only be used on comparison operators")
	case isSetOp(op) && (ls || rs):
		return nil, semanticError("set operator %q not allowed in binary scalar expression", op)
	case isComparisonOp(op) && ls && rs && !returnBool:
		return nil, semanticError("comparisons between scalars must use BOOL modifier")
	case m != nil && (ls || rs):
		return nil, semanticError("vector matching only allowed between instant vectors")
	case m != nil && isSetOp(op) && m.Card != CardOneToOne:
		return nil, semanticError("no grouping allowed for %q operation", op)
	}
	if m != nil && m.On {
		for _, inc := range m.Include {
			for _, l := range m.Labels {
				if inc == l {
					return nil, semanticError("label %q must not occur in ON and GROUP clause at once", inc)
				}
			}
		}
	}
	return &BinaryExpr{Op: op, LHS: lhs, RHS: rhs, ReturnBool: returnBool, Matching: m}, nil
}

func (p *parser) parseUnary() (Expr, error) {
	t := p.peek()
	switch t.kind {
	case tokAdd, tokSub, tokNumber:
		v, err := p.parseSignedNumber()
		if err != nil {
			return nil, err
		}
		return &LiteralExpr{Value: v}, nil
	case tokLParen:
		p.next()
		e, err := p.parseExpr(0)
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tokRParen, ")"); err != nil {
			return nil, err
		}
		return e, nil
	case tokLBrace:
		return p.parseLogQuery()
	case tokIdent:
		return p.parseFunction()
	}
	return nil, p.unexpected(t, "")
}

// parseSignedNumber reads [+-]NUMBER.
func (p *parser) parseSignedNumber() (float64, error) {
	sign := 1.0
	if t := p.peek(); t.kind == tokAdd || t.kind == tokSub {
		p.next()
		if t.kind == tokSub {
			sign = -1
		}
	}
	t, err := p.expect(tokNumber, "NUMBER")
	if err != nil {
		return 0, err
	}
	if math.IsInf(t.num, 0) {
		return 0, p.errAt(t, "number out of range: %s", t.text)
	}
	return sign * t.num, nil
}

func (p *parser) parseFunction() (Expr, error) {
	t := p.peek()
	next := p.peekAt(1)
	name := t.text
	switch {
	case rangeOps[name] && next.kind == tokLParen:
		return p.parseRangeAggregation()
	case vectorOps[name] && (next.kind == tokLParen || p.isIdent(1, "by", "without")):
		return p.parseVectorAggregation()
	case name == "vector" && next.kind == tokLParen:
		p.next()
		p.next()
		v, err := p.parseSignedNumber()
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tokRParen, ")"); err != nil {
			return nil, err
		}
		return &VectorExpr{Value: v}, nil
	case name == "label_replace" && next.kind == tokLParen:
		return p.parseLabelReplace()
	}
	return nil, p.unexpected(t, "")
}

func (p *parser) parseRangeAggregation() (Expr, error) {
	opTok := p.next()
	p.next() // (
	e := &RangeAggregationExpr{Op: opTok.text}
	if k := p.peek().kind; k == tokNumber || ((k == tokSub || k == tokAdd) && p.peekAt(1).kind == tokNumber) {
		v, err := p.parseSignedNumber()
		if err != nil {
			return nil, err
		}
		if _, err := p.expect(tokComma, ","); err != nil {
			return nil, err
		}
		e.Param = &v
	}
	var err error
	if e.Range, err = p.parseLogRange(); err != nil {
		return nil, err
	}
	if _, err := p.expect(tokRParen, ")"); err != nil {
		return nil, err
	}
	if p.isIdent(0, "by", "without") {
		if e.Grouping, err = p.parseGrouping(); err != nil {
			return nil, err
		}
	}
	if perr := validateRangeAggregation(e); perr != nil {
		return nil, p.errAt(opTok, "%s", perr.Msg)
	}
	return e, nil
}

func validateRangeAggregation(e *RangeAggregationExpr) *ParseError {
	if !rangeOps[e.Op] {
		return semanticError("unknown range aggregation %s", e.Op)
	}
	if e.Op == OpQuantileOverTime && e.Param == nil {
		return semanticError("parameter required for operation %s", e.Op)
	}
	if e.Op != OpQuantileOverTime && e.Param != nil {
		return semanticError("parameter %s not supported for operation %s", formatFloat(*e.Param), e.Op)
	}
	if e.Grouping != nil {
		switch e.Op {
		case OpAvgOverTime, OpStddevOverTime, OpStdvarOverTime, OpQuantileOverTime,
			OpMaxOverTime, OpMinOverTime, OpFirstOverTime, OpLastOverTime:
		default:
			return semanticError("grouping not allowed for %s aggregation", e.Op)
		}
	}
	if e.Range.Unwrap != nil {
		switch e.Op {
		case OpCountOverTime, OpBytesOverTime, OpBytesRate:
			return semanticError("invalid aggregation %s with unwrap", e.Op)
		}
		return nil
	}
	switch e.Op {
	case OpCountOverTime, OpRate, OpBytesOverTime, OpBytesRate, OpAbsentOverTime:
		return nil
	}
	return semanticError("invalid aggregation %s without unwrap", e.Op)
}

// parseLogRange reads the range-vector argument in any of Loki's forms:
// {sel} | pipeline | unwrap x [5m] offset 1h, ({sel} | pipeline) [5m], and
// {sel} [5m] offset 1h | pipeline | unwrap x.
func (p *parser) parseLogRange() (*LogRange, error) {
	parens := false
	if p.peek().kind == tokLParen {
		p.next()
		parens = true
	}
	if t := p.peek(); t.kind != tokLBrace {
		return nil, p.unexpected(t, "{")
	}
	lq, err := p.parseLogQuery()
	if err != nil {
		return nil, err
	}
	r := &LogRange{Log: lq}
	if r.Unwrap, err = p.parseUnwrap(); err != nil {
		return nil, err
	}
	if parens {
		if _, err := p.expect(tokRParen, ")"); err != nil {
			return nil, err
		}
	}
	if r.Interval, err = p.parseRange(); err != nil {
		return nil, err
	}
	if p.isIdent(0, "offset") {
		p.next()
		t, err := p.expect(tokDuration, "DURATION")
		if err != nil {
			return nil, err
		}
		r.Offset = t.dur
	}
	if !parens && len(lq.Pipeline) == 0 && r.Unwrap == nil {
		if lq.Pipeline, err = p.parsePipeline(); err != nil {
			return nil, err
		}
		if r.Unwrap, err = p.parseUnwrap(); err != nil {
			return nil, err
		}
	}
	return r, nil
}

func (p *parser) parseRange() (d time.Duration, err error) {
	if _, err := p.expect(tokLBracket, "["); err != nil {
		return 0, err
	}
	t := p.peek()
	if t.kind != tokDuration {
		return 0, p.unexpected(t, "DURATION")
	}
	p.next()
	if t.dur <= 0 {
		return 0, p.errAt(t, "invalid range %s: must be greater than 0", t.text)
	}
	if _, err := p.expect(tokRBracket, "]"); err != nil {
		return 0, err
	}
	return t.dur, nil
}

func (p *parser) parseGrouping() (*Grouping, error) {
	g := &Grouping{Without: p.next().text == "without"}
	var err error
	g.Labels, err = p.parseLabelList()
	return g, err
}

// parseLabelList reads "(a, b, c)", possibly empty.
func (p *parser) parseLabelList() ([]string, error) {
	if _, err := p.expect(tokLParen, "("); err != nil {
		return nil, err
	}
	var names []string
	if p.peek().kind == tokRParen {
		p.next()
		return names, nil
	}
	for {
		t, err := p.expectIdent()
		if err != nil {
			return nil, err
		}
		names = append(names, t.text)
		t = p.next()
		switch t.kind {
		case tokComma:
			continue
		case tokRParen:
			return names, nil
		}
		return nil, p.unexpected(t, ", or )")
	}
}

func (p *parser) parseVectorAggregation() (Expr, error) {
	opTok := p.next()
	e := &VectorAggregationExpr{Op: opTok.text}
	hasGrouping := false
	if p.isIdent(0, "by", "without") {
		g, err := p.parseGrouping()
		if err != nil {
			return nil, err
		}
		e.Grouping, hasGrouping = *g, true
	}
	if _, err := p.expect(tokLParen, "("); err != nil {
		return nil, err
	}
	if err := p.parseVectorParam(e, opTok); err != nil {
		return nil, err
	}
	innerTok := p.peek()
	inner, err := p.parseExpr(0)
	if err != nil {
		return nil, err
	}
	se, ok := inner.(SampleExpr)
	if !ok {
		return nil, p.unexpected(innerTok, "")
	}
	if isScalar(se) {
		return nil, p.errAt(innerTok, "expected type instant vector in aggregation expression, got scalar")
	}
	e.Inner = se
	if _, err := p.expect(tokRParen, ")"); err != nil {
		return nil, err
	}
	if p.isIdent(0, "by", "without") {
		if hasGrouping {
			return nil, p.unexpected(p.peek(), "")
		}
		g, err := p.parseGrouping()
		if err != nil {
			return nil, err
		}
		e.Grouping, hasGrouping = *g, true
	}
	if hasGrouping && (e.Op == OpSort || e.Op == OpSortDesc) {
		return nil, p.errAt(opTok, "grouping not allowed for %s aggregation", e.Op)
	}
	return e, nil
}

// parseVectorParam reads the "k," of topk(k, ...) and bottomk(k, ...).
func (p *parser) parseVectorParam(e *VectorAggregationExpr, opTok token) error {
	hasParam := p.peek().kind == tokNumber && p.peekAt(1).kind == tokComma
	needsParam := e.Op == OpTopK || e.Op == OpBottomK
	if !hasParam {
		if needsParam {
			return p.errAt(opTok, "parameter required for operation %s", e.Op)
		}
		return nil
	}
	t := p.next()
	p.next() // ,
	if !needsParam {
		return p.errAt(t, "unsupported parameter for operation %s(%s,", e.Op, t.text)
	}
	if t.num != math.Trunc(t.num) || t.num > math.MaxInt32 {
		return p.errAt(t, "invalid parameter %s(%s,", e.Op, t.text)
	}
	if t.num <= 0 {
		return p.errAt(t, "invalid parameter (must be greater than 0) %s(%s", e.Op, t.text)
	}
	e.Param = int(t.num)
	return nil
}

func (p *parser) parseLabelReplace() (Expr, error) {
	nameTok := p.next()
	p.next() // (
	innerTok := p.peek()
	inner, err := p.parseExpr(0)
	if err != nil {
		return nil, err
	}
	se, ok := inner.(SampleExpr)
	if !ok || isScalar(se) {
		return nil, p.unexpected(innerTok, "")
	}
	e := &LabelReplaceExpr{Inner: se}
	for _, dst := range []*string{&e.Dst, &e.Replacement, &e.Src, &e.Regex} {
		if _, err := p.expect(tokComma, ","); err != nil {
			return nil, err
		}
		t, err := p.expect(tokString, "STRING")
		if err != nil {
			return nil, err
		}
		*dst = t.text
	}
	if _, err := p.expect(tokRParen, ")"); err != nil {
		return nil, err
	}
	if !isLabelName(e.Dst) {
		return nil, p.errAt(nameTok, "invalid destination label name in label_replace(): %s", e.Dst)
	}
	if e.re, err = compileAnchored(e.Regex); err != nil {
		return nil, p.errAt(nameTok, "invalid regular expression in label_replace(): %s", e.Regex)
	}
	return e, nil
}

// validateSelectors applies Loki's rule that a selector cannot match every
// stream: at least one matcher must reject the empty value.
func validateSelectors(e Expr) error {
	for _, lq := range LogQueries(e) {
		ok := false
		for _, m := range lq.Matchers {
			if !m.Matches("") {
				ok = true
				break
			}
		}
		if !ok {
			return semanticError("queries require at least one regexp or equality matcher that does not have an empty-compatible value. For instance, app=~\".*\" does not meet this requirement, but app=~\".+\" will")
		}
	}
	return nil
}
