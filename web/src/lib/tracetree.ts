// Builds the span tree of a trace, computes the critical path and flattens the tree into
// waterfall rows.

import type { Span } from './otlp';

export interface SpanNode {
  span: Span;
  children: SpanNode[];
  parent: SpanNode | null;
  depth: number;
  /** Start relative to the trace start, ns. */
  offsetNs: number;
  durationNs: number;
  /** Time not covered by any child, ns. */
  selfNs: number;
  /** Parts of this span on the critical path, as [startOffsetNs, endOffsetNs]. */
  critical: [number, number][];
  /** Number of descendants. */
  descendants: number;
}

export interface TraceTree {
  traceId: string;
  roots: SpanNode[];
  nodes: Map<string, SpanNode>;
  startNs: bigint;
  endNs: bigint;
  durationNs: number;
  services: string[];
  errorCount: number;
  spanCount: number;
  /** The root the critical path was computed for. */
  mainRoot: SpanNode | null;
  /** Ids of spans whose parent is not in the trace. */
  orphans: string[];
}

export function buildTree(spans: Span[]): TraceTree {
  const byId = new Map<string, Span>();
  for (const s of spans) if (s.spanId && !byId.has(s.spanId)) byId.set(s.spanId, s);
  const uniq = [...byId.values()];
  let startNs = uniq.length ? uniq[0].startNs : 0n;
  let endNs = uniq.length ? uniq[0].endNs : 0n;
  for (const s of uniq) {
    if (s.startNs < startNs) startNs = s.startNs;
    if (s.endNs > endNs) endNs = s.endNs;
  }
  const nodes = new Map<string, SpanNode>();
  for (const s of uniq) {
    const d = Number(s.endNs - s.startNs);
    nodes.set(s.spanId, {
      span: s, children: [], parent: null, depth: 0, offsetNs: Number(s.startNs - startNs),
      durationNs: d, selfNs: d, critical: [], descendants: 0,
    });
  }
  const orphans: string[] = [];
  for (const n of nodes.values()) {
    const p = n.span.parentSpanId ? nodes.get(n.span.parentSpanId) : undefined;
    if (p && p !== n) {
      n.parent = p;
      p.children.push(n);
    } else if (n.span.parentSpanId) orphans.push(n.span.spanId);
  }
  const byStart = (a: SpanNode, b: SpanNode) => a.offsetNs - b.offsetNs || a.span.name.localeCompare(b.span.name);
  let roots = [...nodes.values()].filter((n) => !n.parent);
  // Spans in a parent cycle have no root: break the cycle at the earliest span.
  const reached = new Set<SpanNode>();
  const mark = (n: SpanNode, depth: number) => {
    const stack: [SpanNode, number][] = [[n, depth]];
    while (stack.length) {
      const [x, d] = stack.pop()!;
      if (reached.has(x)) continue;
      reached.add(x);
      x.depth = d;
      for (const c of x.children) stack.push([c, d + 1]);
    }
  };
  roots.forEach((r) => mark(r, 0));
  if (reached.size < nodes.size) {
    const rest = [...nodes.values()].filter((n) => !reached.has(n)).sort(byStart);
    for (const n of rest) {
      if (reached.has(n)) continue;
      if (n.parent) n.parent.children = n.parent.children.filter((c) => c !== n);
      n.parent = null;
      roots.push(n);
      mark(n, 0);
    }
  }
  roots = roots.sort(byStart);
  // Children in start order; self time and descendant counts, bottom-up.
  const post: SpanNode[] = [];
  const stack = [...roots];
  while (stack.length) {
    const n = stack.pop()!;
    n.children.sort(byStart);
    post.push(n);
    for (const c of n.children) stack.push(c);
  }
  for (let i = post.length - 1; i >= 0; i--) {
    const n = post[i];
    n.descendants = n.children.reduce((a, c) => a + 1 + c.descendants, 0);
    n.selfNs = selfTime(n);
  }
  const trueRoots = roots.filter((r) => !r.span.parentSpanId);
  const pool = trueRoots.length ? trueRoots : roots;
  const mainRoot = pool.length ? pool.reduce((b, r) => (r.durationNs > b.durationNs ? r : b), pool[0]) : null;
  if (mainRoot) criticalPath(mainRoot);
  const services = [...new Set(uniq.map((s) => s.service))].sort();
  return {
    traceId: uniq[0]?.traceId ?? '',
    roots, nodes, startNs, endNs, durationNs: Number(endNs - startNs), services,
    errorCount: uniq.filter((s) => s.statusCode === 'error').length,
    spanCount: uniq.length, mainRoot, orphans,
  };
}

function selfTime(n: SpanNode): number {
  const start = n.offsetNs;
  const end = n.offsetNs + n.durationNs;
  const iv = n.children
    .map((c) => [Math.max(start, c.offsetNs), Math.min(end, c.offsetNs + c.durationNs)] as [number, number])
    .filter(([a, b]) => b > a)
    .sort((a, b) => a[0] - b[0]);
  let covered = 0;
  let curS = -1;
  let curE = -1;
  for (const [a, b] of iv) {
    if (a > curE) {
      if (curE > curS) covered += curE - curS;
      curS = a;
      curE = b;
    } else curE = Math.max(curE, b);
  }
  if (curE > curS) covered += curE - curS;
  return n.durationNs - covered;
}

/**
 * Marks the critical path below `root`: walking back from the span's end, the child that
 * finished last holds the parent up; before that child started, the next child that finished
 * last (clipped to that start) does; time with no child running is the span's own.
 */
export function criticalPath(root: SpanNode): void {
  const stack: [SpanNode, number][] = [[root, root.offsetNs + root.durationNs]];
  while (stack.length) {
    const [n, until] = stack.pop()!;
    const start = n.offsetNs;
    let cursor = Math.min(until, n.offsetNs + n.durationNs);
    const pending = n.children.slice();
    const segs: [number, number][] = [];
    while (cursor > start) {
      let best: SpanNode | null = null;
      let bestEnd = -Infinity;
      for (const c of pending) {
        if (c.offsetNs >= cursor) continue;
        const e = Math.min(c.offsetNs + c.durationNs, cursor);
        if (e > bestEnd || (e === bestEnd && best && c.offsetNs < best.offsetNs)) {
          best = c;
          bestEnd = e;
        }
      }
      if (!best || bestEnd <= start) break;
      if (bestEnd < cursor) segs.push([bestEnd, cursor]);
      pending.splice(pending.indexOf(best), 1);
      stack.push([best, bestEnd]);
      cursor = Math.max(best.offsetNs, start);
    }
    if (cursor > start) segs.push([start, cursor]);
    n.critical = mergeSegs(segs);
  }
}

function mergeSegs(segs: [number, number][]): [number, number][] {
  const s = segs.filter(([a, b]) => b > a).sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const x of s) {
    const last = out[out.length - 1];
    if (last && x[0] <= last[1]) last[1] = Math.max(last[1], x[1]);
    else out.push([x[0], x[1]]);
  }
  return out;
}

/** Total critical time of a node (its own segments). */
export function criticalNs(n: SpanNode): number {
  return n.critical.reduce((a, [s, e]) => a + e - s, 0);
}

/** Visible rows in depth-first order, skipping children of collapsed spans. */
export function flattenTree(tree: TraceTree, collapsed: ReadonlySet<string>): SpanNode[] {
  const out: SpanNode[] = [];
  const stack = [...tree.roots].reverse();
  while (stack.length) {
    const n = stack.pop()!;
    out.push(n);
    if (!collapsed.has(n.span.spanId)) for (let i = n.children.length - 1; i >= 0; i--) stack.push(n.children[i]);
  }
  return out;
}

/** Ids of spans from the root down to `spanId` (to expand collapsed ancestors). */
export function ancestors(tree: TraceTree, spanId: string): string[] {
  const out: string[] = [];
  let n = tree.nodes.get(spanId)?.parent ?? null;
  while (n) {
    out.push(n.span.spanId);
    n = n.parent;
  }
  return out;
}

/** Stable colour index per service, so a service keeps its colour across traces. */
export function serviceColorIndex(service: string, palette = 12): number {
  let h = 0;
  for (let i = 0; i < service.length; i++) h = (h * 31 + service.charCodeAt(i)) | 0;
  return Math.abs(h) % palette;
}
