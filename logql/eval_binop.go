package logql

import (
	"context"
	"fmt"
	"math"
	"slices"
)

// evalBinary evaluates lhs op rhs step by step with PromQL semantics.
func (ev *evaluator) evalBinary(ctx context.Context, e *BinaryExpr) (*stepValues, error) {
	lhs, err := ev.eval(ctx, e.LHS, nil)
	if err != nil {
		return nil, err
	}
	rhs, err := ev.eval(ctx, e.RHS, nil)
	if err != nil {
		return nil, err
	}
	if lhs.scalar != nil && rhs.scalar != nil {
		out := &stepValues{scalar: make([]float64, ev.steps)}
		for i := range out.scalar {
			v, keep := binaryValue(e.Op, lhs.scalar[i], rhs.scalar[i])
			if isComparisonOp(e.Op) {
				v = boolValue(keep)
			}
			out.scalar[i] = v
		}
		return out, nil
	}
	out := &stepValues{vecs: make([][]evSample, ev.steps)}
	for i := range out.vecs {
		switch {
		case lhs.scalar != nil:
			out.vecs[i] = vectorScalar(e, rhs.vecs[i], lhs.scalar[i], true)
		case rhs.scalar != nil:
			out.vecs[i] = vectorScalar(e, lhs.vecs[i], rhs.scalar[i], false)
		default:
			if out.vecs[i], err = vectorVector(e, lhs.vecs[i], rhs.vecs[i]); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// binaryValue applies an arithmetic operator, or a comparison (returning the
// left value and whether it holds).
func binaryValue(op string, l, r float64) (float64, bool) {
	switch op {
	case OpAdd:
		return l + r, true
	case OpSub:
		return l - r, true
	case OpMul:
		return l * r, true
	case OpDiv:
		return l / r, true
	case OpMod:
		return math.Mod(l, r), true
	case OpPow:
		return math.Pow(l, r), true
	case OpEq:
		return l, l == r
	case OpNeq:
		return l, l != r
	case OpGt:
		return l, l > r
	case OpGte:
		return l, l >= r
	case OpLt:
		return l, l < r
	case OpLte:
		return l, l <= r
	}
	return math.NaN(), false
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// vectorScalar applies op between every sample and a scalar. A comparison
// without bool filters and keeps the sample's value, whichever side the
// scalar is on.
func vectorScalar(e *BinaryExpr, vec []evSample, scalar float64, scalarLeft bool) []evSample {
	out := make([]evSample, 0, len(vec))
	for _, s := range vec {
		l, r := s.v, scalar
		if scalarLeft {
			l, r = scalar, s.v
		}
		v, keep := binaryValue(e.Op, l, r)
		if isComparisonOp(e.Op) {
			switch {
			case e.ReturnBool:
				v = boolValue(keep)
			case !keep:
				continue
			default:
				v = s.v
			}
		}
		out = append(out, evSample{lbls: s.lbls, v: v})
	}
	return out
}

// signature is the key two samples must share to match.
func signature(ls Labels, m *VectorMatching, buf []byte) []byte {
	buf = buf[:0]
	if m == nil {
		return ls.appendKey(buf)
	}
	for _, l := range ls {
		if slices.Contains(m.Labels, l.Name) == m.On {
			buf = Labels{l}.appendKey(buf)
		}
	}
	return buf
}

func vectorVector(e *BinaryExpr, lhs, rhs []evSample) ([]evSample, error) {
	if isSetOp(e.Op) {
		return setOperation(e, lhs, rhs), nil
	}
	card := CardOneToOne
	if e.Matching != nil {
		card = e.Matching.Card
	}
	many, one := lhs, rhs
	if card == CardOneToMany {
		many, one = rhs, lhs
	}
	oneBySig, err := indexOneSide(one, e.Matching, card)
	if err != nil {
		return nil, err
	}
	matched := map[string]bool{}
	seen := map[string]bool{}
	var out []evSample
	var buf []byte
	for _, s := range many {
		buf = signature(s.lbls, e.Matching, buf)
		o, ok := oneBySig[string(buf)]
		if !ok {
			continue
		}
		if card == CardOneToOne {
			if matched[string(buf)] {
				return nil, fmt.Errorf("multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)")
			}
			matched[string(buf)] = true
		}
		res, keep := matchedValue(e, s.v, o.v, card)
		if !keep {
			continue
		}
		ls := resultLabels(s.lbls, o.lbls, e.Matching, card)
		buf = ls.appendKey(buf[:0])
		if seen[string(buf)] {
			return nil, fmt.Errorf("multiple matches for labels: grouping labels must ensure unique matches")
		}
		seen[string(buf)] = true
		out = append(out, evSample{lbls: ls, v: res})
	}
	return out, nil
}

// indexOneSide maps the signatures of the "one" side of a match to its
// samples; a signature may appear once.
func indexOneSide(one []evSample, m *VectorMatching, card Cardinality) (map[string]evSample, error) {
	var buf []byte
	bySig := make(map[string]evSample, len(one))
	for _, s := range one {
		buf = signature(s.lbls, m, buf)
		if _, dup := bySig[string(buf)]; dup {
			return nil, fmt.Errorf("found duplicate series for the match group %s on the %s hand-side of the operation: many-to-many matching not allowed: matching labels must be unique on one side", s.lbls, side(card == CardOneToMany))
		}
		bySig[string(buf)] = s
	}
	return bySig, nil
}

// matchedValue applies op to a matched pair, restoring operand order for
// group_right, and reports whether a comparison keeps the sample.
func matchedValue(e *BinaryExpr, manyV, oneV float64, card Cardinality) (float64, bool) {
	l, r := manyV, oneV
	if card == CardOneToMany {
		l, r = oneV, manyV
	}
	v, keep := binaryValue(e.Op, l, r)
	if !isComparisonOp(e.Op) {
		return v, true
	}
	if e.ReturnBool {
		return boolValue(keep), true
	}
	return v, keep
}

func side(left bool) string {
	if left {
		return "left"
	}
	return "right"
}

// resultLabels are Prometheus': the "many" side's labels; for one-to-one
// matching only the on() labels, or without the ignoring() ones; plus the
// group_x include labels taken from the "one" side.
func resultLabels(many, one Labels, m *VectorMatching, card Cardinality) Labels {
	if m == nil {
		return many
	}
	out := make(Labels, 0, len(many)+len(m.Include))
	for _, l := range many {
		if card == CardOneToOne && slices.Contains(m.Labels, l.Name) != m.On {
			continue
		}
		if slices.Contains(m.Include, l.Name) {
			continue
		}
		out = append(out, l)
	}
	for _, name := range m.Include {
		if v := one.Get(name); v != "" && !out.Has(name) {
			out = append(out, Label{Name: name, Value: v})
		}
	}
	return sortLabels(out)
}

// setOperation is and, or and unless.
func setOperation(e *BinaryExpr, lhs, rhs []evSample) []evSample {
	var buf []byte
	sigs := func(vec []evSample) map[string]bool {
		set := make(map[string]bool, len(vec))
		for _, s := range vec {
			buf = signature(s.lbls, e.Matching, buf)
			set[string(buf)] = true
		}
		return set
	}
	var out []evSample
	switch e.Op {
	case OpAnd, OpUnless:
		right := sigs(rhs)
		for _, s := range lhs {
			buf = signature(s.lbls, e.Matching, buf)
			if right[string(buf)] == (e.Op == OpAnd) {
				out = append(out, s)
			}
		}
	case OpOr:
		left := sigs(lhs)
		out = append(out, lhs...)
		for _, s := range rhs {
			buf = signature(s.lbls, e.Matching, buf)
			if !left[string(buf)] {
				out = append(out, s)
			}
		}
	}
	return out
}
