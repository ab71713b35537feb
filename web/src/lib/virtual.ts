// Layout maths for virtualised lists: fixed row height, plus a few taller rows (expanded
// log records). Positions are computed from the sorted list of tall rows, so a list of
// 100,000 rows with a handful expanded costs almost nothing per scroll event.

export interface Layout {
  count: number;
  total: number;
  offset(i: number): number;
  height(i: number): number;
  /** Index of the row at pixel `y` (clamped). */
  indexAt(y: number): number;
}

/** `tall` maps row index → its height, for rows whose height differs from `rowH`. */
export function makeLayout(count: number, rowH: number, tall: ReadonlyMap<number, number> = new Map()): Layout {
  const idx = [...tall.keys()].filter((i) => i >= 0 && i < count).sort((a, b) => a - b);
  // prefix[j] = extra height of tall rows idx[0..j)
  const prefix = [0];
  for (const i of idx) prefix.push(prefix[prefix.length - 1] + (tall.get(i)! - rowH));
  const extraBefore = (i: number) => {
    let lo = 0;
    let hi = idx.length;
    while (lo < hi) {
      const m = (lo + hi) >> 1;
      if (idx[m] < i) lo = m + 1;
      else hi = m;
    }
    return prefix[lo];
  };
  const offset = (i: number) => i * rowH + extraBefore(i);
  const height = (i: number) => tall.get(i) ?? rowH;
  const total = count * rowH + prefix[prefix.length - 1];
  const indexAt = (y: number) => {
    if (count === 0) return 0;
    let lo = 0;
    let hi = count - 1;
    while (lo < hi) {
      const m = (lo + hi + 1) >> 1;
      if (offset(m) <= y) lo = m;
      else hi = m - 1;
    }
    return lo;
  };
  return { count, total, offset, height, indexAt };
}

/** Rows to render for a viewport, with `overscan` extra rows on each side. */
export function visibleRange(l: Layout, scrollTop: number, viewportH: number, overscan = 8): [number, number] {
  if (l.count === 0) return [0, 0];
  const first = l.indexAt(Math.max(0, scrollTop));
  const last = l.indexAt(scrollTop + viewportH);
  return [Math.max(0, first - overscan), Math.min(l.count, last + 1 + overscan)];
}
