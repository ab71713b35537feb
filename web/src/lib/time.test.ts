import { describe, expect, it } from 'vitest';
import {
  addNs, chooseStep, cmpNs, describeRange, formatNs, formatPromDuration, formatTime, msToNs, nsToMs,
  parseDuration, parseTimeExpr, resolveRange, shiftRange, stepLiteral, zoomOut, formatNsTime,
} from './time';

const NOW = Date.UTC(2026, 10, 25, 15, 30, 45, 123); // 2026-11-25T15:30:45.123Z

describe('parseDuration', () => {
  it('reads single and compound units', () => {
    expect(parseDuration('15m')).toBe(900_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('7d')).toBe(7 * 86_400_000);
    expect(parseDuration('1w')).toBe(604_800_000);
    expect(parseDuration('100us')).toBeCloseTo(0.1);
    expect(parseDuration('-5m')).toBe(-300_000);
  });
  it('rejects garbage', () => {
    expect(parseDuration('')).toBeNull();
    expect(parseDuration('5')).toBeNull();
    expect(parseDuration('5x')).toBeNull();
    expect(parseDuration('m5')).toBeNull();
  });
  it('formats back to the shortest Prometheus duration', () => {
    expect(formatPromDuration(5_400_000)).toBe('1h30m');
    expect(formatPromDuration(60_000)).toBe('1m');
    expect(formatPromDuration(1500)).toBe('1s500ms');
    expect(formatPromDuration(86_400_000 * 2)).toBe('2d');
    expect(formatPromDuration(0)).toBe('0s');
  });
});

describe('formatNs', () => {
  it('picks a readable unit', () => {
    expect(formatNs(812)).toBe('812ns');
    expect(formatNs(4200)).toBe('4.2µs');
    expect(formatNs(13_500_000)).toBe('13.5ms');
    expect(formatNs(2_310_000_000)).toBe('2.31s');
    expect(formatNs(192e9)).toBe('3m12s');
    expect(formatNs(2 * 3600e9 + 5 * 60e9)).toBe('2h05m');
    expect(formatNs(1e6)).toBe('1ms');
  });
});

describe('parseTimeExpr', () => {
  it('resolves relative expressions', () => {
    expect(parseTimeExpr('now', NOW)).toBe(NOW);
    expect(parseTimeExpr('now-15m', NOW)).toBe(NOW - 900_000);
    expect(parseTimeExpr('now - 1h', NOW)).toBe(NOW - 3_600_000);
    expect(parseTimeExpr('now+5m', NOW)).toBe(NOW + 300_000);
    expect(parseTimeExpr('now-7d', NOW)).toBe(NOW - 7 * 86_400_000);
  });
  it('rounds with /unit', () => {
    expect(parseTimeExpr('now/d', NOW, 'utc')).toBe(Date.UTC(2026, 10, 25));
    expect(parseTimeExpr('now/h', NOW, 'utc')).toBe(Date.UTC(2026, 10, 25, 15));
    expect(parseTimeExpr('now-1d/d', NOW, 'utc')).toBe(Date.UTC(2026, 10, 24));
    expect(parseTimeExpr('now/w', NOW, 'utc')).toBe(Date.UTC(2026, 10, 23)); // Monday
  });
  it('reads epochs of any precision', () => {
    expect(parseTimeExpr('1764084645', NOW)).toBe(1764084645000);
    expect(parseTimeExpr('1764084645123', NOW)).toBe(1764084645123);
    expect(parseTimeExpr('1764084645123456789', NOW)).toBeCloseTo(1764084645123.4568, 3);
  });
  it('reads ISO and plain dates', () => {
    expect(parseTimeExpr('2026-11-25T15:00:00Z', NOW)).toBe(Date.UTC(2026, 10, 25, 15));
    expect(parseTimeExpr('2026-11-25 15:00:00', NOW, 'utc')).toBe(Date.UTC(2026, 10, 25, 15));
    expect(parseTimeExpr('2026-11-25 15:00', NOW, 'utc')).toBe(Date.UTC(2026, 10, 25, 15));
    expect(parseTimeExpr('2026-11-25 15:00:01.5', NOW, 'utc')).toBe(Date.UTC(2026, 10, 25, 15, 0, 1, 500));
    expect(parseTimeExpr('2026-11-25', NOW, 'utc')).toBe(Date.UTC(2026, 10, 25));
    expect(parseTimeExpr('2026-11-25 15:00:00', NOW, 'local')).toBe(new Date(2026, 10, 25, 15).getTime());
  });
  it('rejects garbage', () => {
    expect(parseTimeExpr('', NOW)).toBeNull();
    expect(parseTimeExpr('yesterday', NOW)).toBeNull();
    expect(parseTimeExpr('now-5x', NOW)).toBeNull();
  });
});

describe('ranges', () => {
  it('resolves and validates', () => {
    expect(resolveRange({ from: 'now-1h', to: 'now' }, NOW)).toEqual({ startMs: NOW - 3_600_000, endMs: NOW });
    expect(() => resolveRange({ from: 'now', to: 'now-1h' }, NOW)).toThrow(/before its end/);
    expect(() => resolveRange({ from: 'bad', to: 'now' }, NOW)).toThrow(/start time "bad"/);
  });
  it('describes quick, relative and absolute ranges', () => {
    expect(describeRange({ from: 'now-1h', to: 'now' })).toBe('Last 1 hour');
    expect(describeRange({ from: 'now-90m', to: 'now' })).toBe('Last 1h30m');
    const a = String(Date.UTC(2026, 10, 25, 15));
    const b = String(Date.UTC(2026, 10, 25, 16));
    expect(describeRange({ from: a, to: b }, 'utc')).toBe('2026-11-25 15:00:00 → 16:00:00');
  });
  it('zooms out and shifts', () => {
    const r = { startMs: NOW - 3_600_000, endMs: NOW - 1_800_000 };
    const z = zoomOut(r, NOW);
    expect(Number(z.to) - Number(z.from)).toBe(3_600_000);
    const clamped = zoomOut({ startMs: NOW - 3_600_000, endMs: NOW }, NOW);
    expect(Number(clamped.to)).toBe(NOW);
    expect(Number(clamped.from)).toBe(NOW - 7_200_000);
    const s = shiftRange(r, -0.5);
    expect(Number(s.from)).toBe(NOW - 4_500_000);
  });
  it('chooses round steps', () => {
    expect(chooseStep(5 * 60_000)).toBe(5);
    expect(chooseStep(3_600_000)).toBe(30);
    expect(chooseStep(86_400_000)).toBe(900);
    expect(chooseStep(7 * 86_400_000)).toBe(7200);
    expect(chooseStep(1000)).toBe(1);
    expect(stepLiteral(900)).toBe('15m');
    expect(stepLiteral(1)).toBe('1s');
  });
});

describe('nanoseconds', () => {
  it('converts ms and ns exactly', () => {
    expect(msToNs(1764084645123)).toBe('1764084645123000000');
    expect(msToNs(1764084645123.5)).toBe('1764084645123500000');
    expect(nsToMs('1764084645123456789')).toBeCloseTo(1764084645123.4568, 3);
    expect(addNs('1764084645123456789', 1n)).toBe('1764084645123456790');
    expect(addNs('1764084645123456789', -3600_000_000_000)).toBe('1764081045123456789');
  });
  it('compares decimal strings numerically', () => {
    expect(cmpNs('9', '10')).toBeLessThan(0);
    expect(cmpNs('1764084645123456789', '1764084645123456788')).toBeGreaterThan(0);
    expect(cmpNs('5', '5')).toBe(0);
  });
  it('formats times', () => {
    expect(formatTime(NOW, 'utc')).toBe('2026-11-25 15:30:45.123');
    expect(formatTime(NOW, 'utc', false)).toBe('2026-11-25 15:30:45');
    expect(formatNsTime(msToNs(NOW).slice(0, -6) + '456789', 'utc')).toBe('2026-11-25 15:30:45.123456789');
  });
});
