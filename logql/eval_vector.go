package logql

import (
	"cmp"
	"math"
	"slices"
)

// aggregate applies a vector aggregation to one step's vector.
func aggregate(e *VectorAggregationExpr, vec []evSample) []evSample {
	switch e.Op {
	case OpSort, OpSortDesc:
		out := slices.Clone(vec)
		sortByValue(out, e.Op == OpSortDesc)
		return out
	case OpTopK, OpBottomK:
		return selectK(e, vec)
	}
	var order []*aggGroup
	groups := map[string]*aggGroup{}
	var key []byte
	for _, s := range vec {
		gl := groupLabels(&e.Grouping, s.lbls)
		key = gl.appendKey(key[:0])
		g := groups[string(key)]
		if g == nil {
			g = &aggGroup{lbls: gl, min: s.v, max: s.v}
			groups[string(key)] = g
			order = append(order, g)
		}
		g.add(s.v)
	}
	out := make([]evSample, 0, len(order))
	for _, g := range order {
		out = append(out, evSample{lbls: g.lbls, v: g.value(e.Op)})
	}
	return out
}

// aggGroup accumulates the samples of one output series.
type aggGroup struct {
	lbls          Labels
	vals          []float64
	sum, min, max float64
}

func (g *aggGroup) add(v float64) {
	g.vals = append(g.vals, v)
	g.sum += v
	if v < g.min || math.IsNaN(g.min) {
		g.min = v
	}
	if v > g.max || math.IsNaN(g.max) {
		g.max = v
	}
}

func (g *aggGroup) value(op string) float64 {
	switch op {
	case OpSum:
		return g.sum
	case OpAvg:
		return g.sum / float64(len(g.vals))
	case OpCount:
		return float64(len(g.vals))
	case OpMin:
		return g.min
	case OpMax:
		return g.max
	case OpStdvar:
		return variance(g.vals)
	case OpStddev:
		return math.Sqrt(variance(g.vals))
	}
	return math.NaN()
}

// groupLabels keeps the "by" labels or removes the "without" ones; empty
// values count as missing.
func groupLabels(g *Grouping, ls Labels) Labels {
	out := Labels{}
	for _, l := range ls {
		if l.Value == "" || slices.Contains(g.Labels, l.Name) == g.Without {
			continue
		}
		out = append(out, l)
	}
	return out
}

// selectK is topk and bottomk: the k largest (smallest) samples of each
// group, with their own labels. NaN ranks last; ties go by labels so that
// results are stable.
func selectK(e *VectorAggregationExpr, vec []evSample) []evSample {
	byGroup := map[string][]evSample{}
	var keys []string
	var key []byte
	for _, s := range vec {
		key = groupLabels(&e.Grouping, s.lbls).appendKey(key[:0])
		k := string(key)
		if _, ok := byGroup[k]; !ok {
			keys = append(keys, k)
		}
		byGroup[k] = append(byGroup[k], s)
	}
	var out []evSample
	for _, k := range keys {
		g := byGroup[k]
		sortByValue(g, e.Op == OpTopK)
		out = append(out, g[:min(e.Param, len(g))]...)
	}
	return out
}

// sortByValue orders samples by value, ascending or descending, NaN last,
// ties by labels.
func sortByValue(vec []evSample, desc bool) {
	slices.SortStableFunc(vec, func(a, b evSample) int {
		an, bn := math.IsNaN(a.v), math.IsNaN(b.v)
		switch {
		case an && bn:
			return CompareLabels(a.lbls, b.lbls)
		case an:
			return 1
		case bn:
			return -1
		}
		c := cmp.Compare(a.v, b.v)
		if desc {
			c = -c
		}
		if c != 0 {
			return c
		}
		return CompareLabels(a.lbls, b.lbls)
	})
}
