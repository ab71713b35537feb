package traceql

// spanTree links the spans of a trace by ParentSpanID. A span whose parent
// is not in the trace (a partial trace) is treated as a root: it has no
// parent, ancestors or siblings. Cycles from corrupt data cannot hang the
// walks below, which all stop at spans already visited.
type spanTree struct {
	parent     []int32 // -1 for none
	childStart []int32 // children of i are children[childStart[i]:childStart[i+1]]
	children   []int32
}

func (t *spanTree) childrenOf(i int32) []int32 {
	return t.children[t.childStart[i]:t.childStart[i+1]]
}

func (c *evalCtx) spanTree() *spanTree {
	if c.tree != nil {
		return c.tree
	}
	n := len(c.trace)
	ids := make(map[string]int32, n)
	for i := range c.trace {
		if _, dup := ids[c.trace[i].SpanID]; !dup {
			ids[c.trace[i].SpanID] = int32(i)
		}
	}
	t := &spanTree{parent: make([]int32, n), childStart: make([]int32, n+1)}
	for i := range c.trace {
		t.parent[i] = -1
		if s := &c.trace[i]; !s.isRoot() {
			if p, ok := ids[s.ParentSpanID]; ok && p != int32(i) {
				t.parent[i] = p
				t.childStart[p+1]++
			}
		}
	}
	for i := 1; i <= n; i++ {
		t.childStart[i] += t.childStart[i-1]
	}
	t.children = make([]int32, t.childStart[n])
	next := make([]int32, n)
	copy(next, t.childStart[:n])
	for i, p := range t.parent {
		if p >= 0 {
			t.children[next[p]] = int32(i)
			next[p]++
		}
	}
	c.tree = t
	return t
}

// marks is a set of span indexes that is emptied in O(1) by bumping a
// generation, so that operators evaluated once per by() group cost what the
// group touches, not the size of the trace.
type marks struct {
	stamp []uint32
	gen   uint32
}

func (m *marks) reset(n int) *marks {
	if len(m.stamp) < n {
		m.stamp, m.gen = make([]uint32, n), 0
	}
	m.gen++
	if m.gen == 0 { // wrapped: stale stamps could look current
		clear(m.stamp)
		m.gen = 1
	}
	return m
}

func (m *marks) set(i int32)      { m.stamp[i] = m.gen }
func (m *marks) has(i int32) bool { return m.stamp[i] == m.gen }

// The relation functions below mark, in c.rel, the spans related to set.

// childOf marks the children of the spans in set.
func (c *evalCtx) childOf(set []int32) *marks {
	t, m := c.spanTree(), c.rel.reset(len(c.trace))
	for _, i := range set {
		for _, ch := range t.childrenOf(i) {
			m.set(ch)
		}
	}
	return m
}

// parentOf marks the parents of the spans in set.
func (c *evalCtx) parentOf(set []int32) *marks {
	t, m := c.spanTree(), c.rel.reset(len(c.trace))
	for _, i := range set {
		if p := t.parent[i]; p >= 0 {
			m.set(p)
		}
	}
	return m
}

// descendantOf marks the spans strictly below a span of set.
func (c *evalCtx) descendantOf(set []int32) *marks {
	t, m := c.spanTree(), c.rel.reset(len(c.trace))
	stack := c.stack[:0]
	for _, i := range set {
		stack = append(stack, t.childrenOf(i)...)
	}
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if m.has(i) {
			continue
		}
		m.set(i)
		stack = append(stack, t.childrenOf(i)...)
	}
	c.stack = stack
	return m
}

// ancestorOf marks the spans strictly above a span of set.
func (c *evalCtx) ancestorOf(set []int32) *marks {
	t, m := c.spanTree(), c.rel.reset(len(c.trace))
	for _, i := range set {
		for p := t.parent[i]; p >= 0 && !m.has(p); p = t.parent[p] {
			m.set(p)
		}
	}
	return m
}

// siblingOf marks the spans that share a parent with another span of set.
func (c *evalCtx) siblingOf(set []int32) *marks {
	t, n := c.spanTree(), len(c.trace)
	if len(c.count) < n {
		c.count, c.member = make([]int32, n), make([]int32, n)
	}
	seen := c.aux.reset(n)
	parents := c.stack[:0]
	for _, i := range set {
		p := t.parent[i]
		switch {
		case p < 0:
		case !seen.has(p):
			seen.set(p)
			c.count[p], c.member[p] = 1, i
			parents = append(parents, p)
		default:
			c.count[p]++
		}
	}
	m := c.rel.reset(n)
	for _, p := range parents {
		for _, ch := range t.childrenOf(p) {
			// With one member under p, that member has no sibling in set.
			if c.count[p] > 1 || c.member[p] != ch {
				m.set(ch)
			}
		}
	}
	c.stack = parents
	return m
}

// structural applies a structural operator to the matches of the left (a)
// and right (b) sides. The plain operators return the b spans in the
// relation, the negated ones the b spans not in it, and the union ones the
// spans of both sides that are in it.
func (c *evalCtx) structural(op Op, a, b []int32) []int32 {
	var rel, inverse func([]int32) *marks
	switch op {
	case OpSpansetChild, OpSpansetNotChild, OpSpansetUnionChild:
		rel, inverse = c.childOf, c.parentOf
	case OpSpansetParent, OpSpansetNotParent, OpSpansetUnionParent:
		rel, inverse = c.parentOf, c.childOf
	case OpSpansetDescendant, OpSpansetNotDescendant, OpSpansetUnionDescendant:
		rel, inverse = c.descendantOf, c.ancestorOf
	case OpSpansetAncestor, OpSpansetNotAncestor, OpSpansetUnionAncestor:
		rel, inverse = c.ancestorOf, c.descendantOf
	case OpSpansetSibling, OpSpansetNotSibling, OpSpansetUnionSibling:
		rel, inverse = c.siblingOf, c.siblingOf
	default:
		return nil
	}
	switch op {
	case OpSpansetNotChild, OpSpansetNotParent, OpSpansetNotDescendant, OpSpansetNotAncestor, OpSpansetNotSibling:
		return pick(b, rel(a), false)
	case OpSpansetUnionChild, OpSpansetUnionParent, OpSpansetUnionDescendant, OpSpansetUnionAncestor, OpSpansetUnionSibling:
		fromB := pick(b, rel(a), true)
		return union(fromB, pick(a, inverse(b), true))
	}
	return pick(b, rel(a), true)
}

// pick returns the members of set that are (want) or are not (!want) marked.
func pick(set []int32, m *marks, want bool) []int32 {
	var out []int32
	for _, i := range set {
		if m.has(i) == want {
			out = append(out, i)
		}
	}
	return out
}
