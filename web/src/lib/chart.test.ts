import { describe, expect, it } from 'vitest';
import { formatBytes, formatCount, niceTicks, timeTicks } from './chart';

describe('axes', () => {
  it('picks round time ticks', () => {
    const s = Date.UTC(2026, 10, 25, 15, 7);
    const t = timeTicks(s, s + 3_600_000, 6);
    expect(t[0]).toBe(Date.UTC(2026, 10, 25, 15, 10));
    expect(t[1] - t[0]).toBe(600_000);
    expect(t.length).toBeLessThanOrEqual(6);
    expect(timeTicks(s, s, 5)).toEqual([]);
  });
  it('aligns ticks to the display zone', () => {
    const s = Date.UTC(2026, 10, 25, 0, 10);
    const t = timeTicks(s, s + 6 * 3_600_000, 4, 30 * 60_000); // UTC+0:30
    expect((t[0] + 30 * 60_000) % 7_200_000).toBe(0);
  });
  it('picks round y maxima', () => {
    expect(niceTicks(87)).toEqual({ max: 100, ticks: [0, 50, 100] });
    expect(niceTicks(87, 4)).toEqual({ max: 100, ticks: [0, 25, 50, 75, 100] });
    expect(niceTicks(1000)).toEqual({ max: 1000, ticks: [0, 500, 1000] });
    expect(niceTicks(0)).toEqual({ max: 1, ticks: [0, 1] });
    expect(niceTicks(0.07).max).toBeCloseTo(0.075);
  });
  it('formats numbers and bytes', () => {
    expect(formatCount(999)).toBe('999');
    expect(formatCount(1234)).toBe('1.2k');
    expect(formatCount(25_000)).toBe('25k');
    expect(formatCount(2_500_000)).toBe('2.5M');
    expect(formatCount(2.345)).toBe('2.35');
    expect(formatCount(0.0123)).toBe('0.012');
    expect(formatBytes(123456)).toBe('120.6 KiB');
    expect(formatBytes(12)).toBe('12 B');
  });
});
