package traceql

import "slices"

// Pipeline semantics, as in Tempo: every stage maps the list of spansets of
// one trace to a new list. The first stage sees one spanset holding the whole
// trace; a spanset that a filter empties is dropped; the trace matches if
// anything is left at the end.

func (c *evalCtx) pipeline(p *Pipeline, in []spanset) []spanset {
	for _, s := range p.Stages {
		in = c.stage(s, in)
		if len(in) == 0 {
			return nil
		}
	}
	return in
}

func (c *evalCtx) stage(s Stage, in []spanset) []spanset {
	switch s := s.(type) {
	case *SpansetFilter:
		return c.filter(s, in)
	case *SpansetOp:
		return c.spansetOp(s, in)
	case *Pipeline:
		return c.pipeline(s, in)
	case *ScalarFilter:
		return c.scalarFilter(s, in)
	case *GroupBy:
		return c.groupBy(s, in)
	case *Coalesce:
		return []spanset{{idx: c.flatten(in)}}
	case *Select:
		return in // select() only shapes the response; see Query.Selects
	}
	return nil
}

func (c *evalCtx) filter(f *SpansetFilter, in []spanset) []spanset {
	out := make([]spanset, 0, len(in))
	for _, ss := range in {
		if f.Expr == nil {
			out = append(out, ss)
			continue
		}
		var idx []int32
		for _, i := range ss.idx {
			if isTrue(c.field(f.Expr, int(i))) {
				idx = append(idx, i)
			}
		}
		if len(idx) > 0 {
			out = append(out, spanset{idx: idx, attrs: ss.attrs})
		}
	}
	return out
}

// spansetOp evaluates both sides on each input spanset. Each side's
// spansets are merged into one set of spans first: Tempo rejects structural
// operators over several spansets per side (after by()) and we take their
// union instead, which is what coalesce() would give.
func (c *evalCtx) spansetOp(o *SpansetOp, in []spanset) []spanset {
	var out []spanset
	for _, ss := range in {
		one := []spanset{ss}
		l := c.flatten(c.stage(o.LHS, one))
		r := c.flatten(c.stage(o.RHS, one))
		var res []int32
		switch o.Op {
		case OpSpansetAnd:
			if len(l) > 0 && len(r) > 0 {
				res = union(l, r)
			}
		case OpSpansetOr:
			res = union(l, r)
		default:
			// Tempo needs both sides to match, even for the negated
			// operators: {A} !>> {B} is "B spans with no A ancestor" only
			// in traces that have A spans.
			if len(l) > 0 && len(r) > 0 {
				res = c.structural(o.Op, l, r)
			}
		}
		if len(res) > 0 {
			out = append(out, spanset{idx: res, attrs: ss.attrs})
		}
	}
	return out
}

func (c *evalCtx) scalarFilter(f *ScalarFilter, in []spanset) []spanset {
	var out []spanset
	for _, ss := range in {
		var aggs []KeyValue
		l := c.scalar(f.LHS, ss.idx, &aggs)
		r := c.scalar(f.RHS, ss.idx, &aggs)
		if l.IsNil() || r.IsNil() || !compare(f.Op, l, r) {
			continue
		}
		attrs := make([]KeyValue, 0, len(ss.attrs)+len(aggs))
		attrs = append(append(attrs, ss.attrs...), aggs...)
		out = append(out, spanset{idx: ss.idx, attrs: attrs})
	}
	return out
}

// groupBy splits each spanset by the value of the expression, groups in
// order of first appearance (Tempo's order is a map's). Spans where the
// value is nil form a group of their own, keyed nil.
func (c *evalCtx) groupBy(g *GroupBy, in []spanset) []spanset {
	key := g.String()
	var out []spanset
	for _, ss := range in {
		groups := map[Value]int{}
		for _, i := range ss.idx {
			v := c.field(g.Expr, int(i))
			k, ok := groups[v]
			if !ok {
				k = len(out)
				groups[v] = k
				attrs := make([]KeyValue, 0, len(ss.attrs)+1)
				attrs = append(append(attrs, ss.attrs...), KeyValue{Key: key, Value: v})
				out = append(out, spanset{attrs: attrs})
			}
			out[k].idx = append(out[k].idx, i)
		}
	}
	return out
}

// flatten returns the union of the spans of sets, in trace order.
func (c *evalCtx) flatten(sets []spanset) []int32 {
	switch len(sets) {
	case 0:
		return nil
	case 1:
		return sets[0].idx
	}
	seen := c.aux.reset(len(c.trace))
	var out []int32
	for _, ss := range sets {
		for _, i := range ss.idx {
			if !seen.has(i) {
				seen.set(i)
				out = append(out, i)
			}
		}
	}
	slices.Sort(out)
	return out
}

// union merges two sorted index lists.
func union(a, b []int32) []int32 {
	if len(a) == 0 {
		return b
	}
	if len(b) == 0 {
		return a
	}
	out := make([]int32, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] < b[j]:
			out = append(out, a[i])
			i++
		case a[i] > b[j]:
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i])
			i, j = i+1, j+1
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}
