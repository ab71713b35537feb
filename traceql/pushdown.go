package traceql

// Condition is a test on one span that storage can evaluate on its columns:
// `Attr Op Values[0]`, or for several Values (only with OpEqual, from
// Grafana's `(a = "x" || a = "y")`) "Attr equals one of Values".
//
// What storage must mirror to be exact (all of it is what Eval does):
//   - Attr is one of the span-level intrinsics (name, status, statusMessage,
//     kind, duration = end - start in ns, span:id, span:parentID, trace:id)
//     or an attribute. resource.service.name is Span.ServiceName.
//   - An unscoped attribute (.x) is the span attribute if the span has it,
//     else the resource attribute.
//   - Types matter: an int attribute never equals the string "500". Ints,
//     floats and durations compare as numbers (durations in ns). Status and
//     kind Values carry OTLP codes in Value.Int.
//   - A missing attribute fails every test, != included; `!= nil` (Value of
//     TypeNil with OpNotEqual) means "exists" and `= nil` "does not exist".
//   - =~ and !~ are fully anchored: match the value against
//     ^(?s:pattern)$; !~ also requires the attribute to exist and be a
//     string.
type Condition struct {
	Attr   Attribute
	Op     Op
	Values []Value
}

// String returns the condition as TraceQL.
func (c Condition) String() string {
	if len(c.Values) == 1 {
		return (&BinaryExpr{Op: c.Op, LHS: c.Attr, RHS: c.Values[0]}).String()
	}
	s := "("
	for i, v := range c.Values {
		if i > 0 {
			s += " || "
		}
		s += (&BinaryExpr{Op: c.Op, LHS: c.Attr, RHS: v}).String()
	}
	return s + ")"
}

// Pushdown is what the storage layer can use to select candidate traces
// for a query.
type Pushdown struct {
	// Spansets lists groups of conditions. A trace can only match the
	// query if, for every group, one of its spans satisfies all the
	// conditions of that group. Storage may drop any condition (or any
	// group) it cannot express and still get a superset of the matching
	// traces; it must then evaluate the query in Go (Query.Eval) on whole
	// traces. nil means no restriction: scan the time range.
	Spansets [][]Condition

	// Exact reports that the query is a single spanset filter whose
	// conditions are all in Spansets[0] (or, for {}, no condition) and
	// that only select(), by() or coalesce() follow it: the spans Eval
	// returns for a trace are exactly its spans that satisfy every
	// condition, so SQL alone can answer which spans match, as long as it
	// keeps every condition. (by() groups still need Go.) Queries with
	// unscoped attributes are never Exact, because SQL that tests "span or
	// resource attribute" is not quite the span-first rule.
	Exact bool
}

// Pushdown returns the per-span conditions storage can push into SQL.
func (q *Query) Pushdown() Pushdown {
	var pd Pushdown
	for _, s := range q.Pipeline.Stages {
		if se, ok := s.(SpansetExpr); ok {
			pd.Spansets = append(pd.Spansets, spansetConditions(se)...)
		}
	}
	pd.Exact = q.exact()
	return pd
}

// spansetConditions returns the groups a trace must satisfy for se to
// match anything.
func spansetConditions(se SpansetExpr) [][]Condition {
	switch se := se.(type) {
	case *SpansetFilter:
		conds, _ := conditions(se.Expr)
		if len(conds) == 0 {
			return nil // {} or nothing pushable: any trace qualifies
		}
		return [][]Condition{conds}
	case *SpansetOp:
		if se.Op == OpSpansetOr {
			return nil
		}
		// && and every structural operator need both sides to match.
		return append(spansetConditions(se.LHS), spansetConditions(se.RHS)...)
	case *Pipeline:
		var out [][]Condition
		for _, s := range se.Stages {
			if inner, ok := s.(SpansetExpr); ok {
				out = append(out, spansetConditions(inner)...)
			}
		}
		return out
	}
	return nil
}

func (q *Query) exact() bool {
	stages := q.Pipeline.Stages
	f, ok := stages[0].(*SpansetFilter)
	if !ok {
		return false
	}
	if _, exact := conditions(f.Expr); !exact {
		return false
	}
	for _, s := range stages[1:] {
		switch s.(type) {
		case *Select, *GroupBy, *Coalesce:
		default:
			return false
		}
	}
	return true
}

// conditions splits a filter expression into pushable conjuncts. exact is
// false if some conjunct could not be expressed (it is left out) or uses an
// unscoped attribute.
func conditions(e Expr) (conds []Condition, exact bool) {
	if e == nil {
		return nil, true
	}
	if b, ok := e.(*BinaryExpr); ok && b.Op == OpAnd {
		l, lexact := conditions(b.LHS)
		r, rexact := conditions(b.RHS)
		return append(l, r...), lexact && rexact
	}
	if v, ok := e.(Value); ok && isTrue(v) {
		return nil, true
	}
	c, ok := condition(e)
	if !ok {
		return nil, false
	}
	return []Condition{c}, c.Attr.IsIntrinsic() || c.Attr.Scope != ScopeNone
}

// condition turns `attr op static`, `static op attr` or an || of equalities
// on one attribute into a Condition.
func condition(e Expr) (Condition, bool) {
	b, ok := e.(*BinaryExpr)
	if !ok {
		return Condition{}, false
	}
	if b.Op == OpOr {
		l, lok := condition(b.LHS)
		r, rok := condition(b.RHS)
		if !lok || !rok || l.Op != OpEqual || r.Op != OpEqual || l.Attr != r.Attr {
			return Condition{}, false
		}
		return Condition{Attr: l.Attr, Op: OpEqual, Values: append(l.Values[:len(l.Values):len(l.Values)], r.Values...)}, true
	}
	if !b.Op.comparison() {
		return Condition{}, false
	}
	a, aok := b.LHS.(Attribute)
	v, vok := b.RHS.(Value)
	op := b.Op
	if !aok || !vok {
		if b.Op == OpRegex || b.Op == OpNotRegex {
			return Condition{}, false
		}
		a, aok = b.RHS.(Attribute)
		v, vok = b.LHS.(Value)
		op = flip(op)
	}
	if !aok || !vok || !pushable(a) {
		return Condition{}, false
	}
	return Condition{Attr: a, Op: op, Values: []Value{v}}, true
}

// pushable reports whether a can be read from one span's row.
func pushable(a Attribute) bool {
	return !a.IsIntrinsic() || !a.TraceLevel()
}

// flip mirrors an operator for swapped operands: 1 < x is x > 1.
func flip(op Op) Op {
	switch op {
	case OpGreater:
		return OpLess
	case OpGreaterEqual:
		return OpLessEqual
	case OpLess:
		return OpGreater
	case OpLessEqual:
		return OpGreaterEqual
	}
	return op
}

// Selects returns the attributes named by select() stages, in order and
// without repeats: the querier adds them to each returned span.
func (q *Query) Selects() []Attribute {
	var out []Attribute
	seen := map[Attribute]bool{}
	var walk func(s Stage)
	walk = func(s Stage) {
		switch s := s.(type) {
		case *Select:
			for _, a := range s.Attrs {
				if !seen[a] {
					seen[a] = true
					out = append(out, a)
				}
			}
		case *Pipeline:
			for _, st := range s.Stages {
				walk(st)
			}
		case *SpansetOp:
			walk(s.LHS)
			walk(s.RHS)
		}
	}
	walk(q.Pipeline)
	return out
}
