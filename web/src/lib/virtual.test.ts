import { describe, expect, it } from 'vitest';
import { makeLayout, visibleRange } from './virtual';

describe('virtual layout', () => {
  it('places fixed rows', () => {
    const l = makeLayout(10_000, 20);
    expect(l.total).toBe(200_000);
    expect(l.offset(500)).toBe(10_000);
    expect(l.indexAt(10_019)).toBe(500);
    expect(l.indexAt(-5)).toBe(0);
    expect(l.indexAt(1e9)).toBe(9_999);
    expect(visibleRange(l, 10_000, 400, 5)).toEqual([495, 526]);
  });
  it('accounts for tall rows', () => {
    const l = makeLayout(100, 20, new Map([[3, 200], [10, 100]]));
    expect(l.total).toBe(100 * 20 + 180 + 80);
    expect(l.offset(3)).toBe(60);
    expect(l.offset(4)).toBe(260);
    expect(l.offset(11)).toBe(11 * 20 + 180 + 80);
    expect(l.indexAt(259)).toBe(3);
    expect(l.indexAt(260)).toBe(4);
    expect(l.height(3)).toBe(200);
    expect(l.height(4)).toBe(20);
  });
  it('handles empty lists and out-of-range tall rows', () => {
    const l = makeLayout(0, 20, new Map([[5, 100]]));
    expect(l.total).toBe(0);
    expect(visibleRange(l, 0, 500)).toEqual([0, 0]);
  });
});
