import { describe, expect, it } from 'vitest';
import type { Span } from './otlp';
import { ancestors, buildTree, criticalNs, flattenTree, serviceColorIndex } from './tracetree';

const T0 = 1_764_084_645_000_000_000n;
const MS = 1_000_000n;

function sp(id: string, parent: string, startMs: number, endMs: number, extra: Partial<Span> = {}): Span {
  return {
    traceId: 't', spanId: id, parentSpanId: parent, name: id, kind: 'internal',
    startNs: T0 + BigInt(startMs) * MS, endNs: T0 + BigInt(endMs) * MS, statusCode: 'unset', statusMessage: '',
    traceState: '', attributes: [], events: [], links: [], service: 'svc', resource: [], scope: { name: '', version: '' }, ...extra,
  };
}

const ms = (n: number) => n * 1e6;

describe('buildTree', () => {
  it('nests children under parents in start order', () => {
    const t = buildTree([sp('c', 'root', 50, 90), sp('root', '', 0, 100), sp('b', 'root', 10, 40), sp('d', 'b', 20, 30)]);
    expect(t.roots.map((n) => n.span.spanId)).toEqual(['root']);
    expect(t.roots[0].children.map((n) => n.span.spanId)).toEqual(['b', 'c']);
    expect(t.nodes.get('d')!.depth).toBe(2);
    expect(t.spanCount).toBe(4);
    expect(t.durationNs).toBe(ms(100));
    expect(t.roots[0].descendants).toBe(3);
    expect(t.nodes.get('c')!.offsetNs).toBe(ms(50));
  });
  it('computes self time', () => {
    const t = buildTree([sp('root', '', 0, 100), sp('a', 'root', 10, 40), sp('b', 'root', 30, 60), sp('c', 'root', 90, 120)]);
    // children cover 10–60 and 90–100 within the root: 60 ms; self = 40 ms
    expect(t.nodes.get('root')!.selfNs).toBe(ms(40));
  });
  it('treats spans with missing parents as roots and counts errors and services', () => {
    const t = buildTree([
      sp('a', '', 0, 10), sp('b', 'missing', 5, 20, { statusCode: 'error', service: 'db' }), sp('b', 'missing', 5, 20),
    ]);
    expect(t.roots.map((n) => n.span.spanId)).toEqual(['a', 'b']);
    expect(t.orphans).toEqual(['b']);
    expect(t.spanCount).toBe(2); // duplicate span id dropped
    expect(t.errorCount).toBe(1);
    expect(t.services).toEqual(['db', 'svc']);
    expect(t.mainRoot!.span.spanId).toBe('a'); // a real root wins over an orphan
  });
  it('survives parent cycles', () => {
    const t = buildTree([sp('a', 'b', 0, 10), sp('b', 'a', 1, 5)]);
    expect(t.roots.length).toBe(1);
    expect(flattenTree(t, new Set()).map((n) => n.span.spanId)).toEqual(['a', 'b']);
  });
  it('handles an empty trace', () => {
    const t = buildTree([]);
    expect(t.roots).toEqual([]);
    expect(t.mainRoot).toBeNull();
  });
});

describe('critical path', () => {
  it('follows the last-finishing child and self time', () => {
    // root 0–100: a 10–40, b 50–90 (child c 60–80); sequential
    const t = buildTree([sp('root', '', 0, 100), sp('a', 'root', 10, 40), sp('b', 'root', 50, 90), sp('c', 'b', 60, 80)]);
    const crit = (id: string) => t.nodes.get(id)!.critical;
    expect(crit('root')).toEqual([[0, ms(10)], [ms(40), ms(50)], [ms(90), ms(100)]]);
    expect(crit('b')).toEqual([[ms(50), ms(60)], [ms(80), ms(90)]]);
    expect(crit('c')).toEqual([[ms(60), ms(80)]]);
    expect(crit('a')).toEqual([[ms(10), ms(40)]]);
    const total = [...t.nodes.values()].reduce((s, n) => s + criticalNs(n), 0);
    expect(total).toBe(ms(100));
  });
  it('skips a parallel child that finished earlier', () => {
    // a 0–80 and b 10–50 run in parallel: only a is critical
    const t = buildTree([sp('root', '', 0, 100), sp('a', 'root', 0, 80), sp('b', 'root', 10, 50)]);
    expect(t.nodes.get('a')!.critical).toEqual([[0, ms(80)]]);
    expect(t.nodes.get('b')!.critical).toEqual([]);
    expect(t.nodes.get('root')!.critical).toEqual([[ms(80), ms(100)]]);
  });
  it('takes the earlier child for the time before the last child started', () => {
    // b 50–100 finishes last; a 0–70 runs before b starts: a is critical for 0–50
    const t = buildTree([sp('root', '', 0, 100), sp('a', 'root', 0, 70), sp('b', 'root', 50, 100)]);
    expect(t.nodes.get('b')!.critical).toEqual([[ms(50), ms(100)]]);
    expect(t.nodes.get('a')!.critical).toEqual([[0, ms(50)]]);
    expect(t.nodes.get('root')!.critical).toEqual([]);
  });
  it('clips children that outlive their parent', () => {
    const t = buildTree([sp('root', '', 0, 100), sp('async', 'root', 90, 200)]);
    expect(t.nodes.get('async')!.critical).toEqual([[ms(90), ms(100)]]);
    expect(t.nodes.get('root')!.critical).toEqual([[0, ms(90)]]);
  });
});

describe('flattenTree', () => {
  const t = buildTree([sp('root', '', 0, 100), sp('a', 'root', 10, 40), sp('a1', 'a', 11, 20), sp('b', 'root', 50, 90)]);
  it('lists spans depth first', () => {
    expect(flattenTree(t, new Set()).map((n) => n.span.spanId)).toEqual(['root', 'a', 'a1', 'b']);
  });
  it('hides children of collapsed spans', () => {
    expect(flattenTree(t, new Set(['a'])).map((n) => n.span.spanId)).toEqual(['root', 'a', 'b']);
    expect(flattenTree(t, new Set(['root'])).map((n) => n.span.spanId)).toEqual(['root']);
  });
  it('lists ancestors for reveal', () => {
    expect(ancestors(t, 'a1')).toEqual(['a', 'root']);
    expect(ancestors(t, 'root')).toEqual([]);
  });
  it('gives services stable colours', () => {
    expect(serviceColorIndex('checkout')).toBe(serviceColorIndex('checkout'));
    expect(serviceColorIndex('checkout')).toBeLessThan(12);
  });
});
