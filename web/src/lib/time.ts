// Time parsing and formatting: relative ranges ("now-15m"), absolute times, durations,
// nanosecond conversions for the Loki API and step selection for metric queries.

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  y: 31_536_000_000,
};

const DURATION_RE = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d|w|y)/;

/** Parses a Prometheus/Go style duration such as `15m`, `1h30m`, `250ms`, `1.5s`. Returns ms or null. */
export function parseDuration(input: string): number | null {
  let s = input.trim();
  if (!s) return null;
  let neg = false;
  if (s[0] === '-') {
    neg = true;
    s = s.slice(1);
  }
  let total = 0;
  let matched = false;
  while (s.length) {
    const m = DURATION_RE.exec(s);
    if (!m) return null;
    total += parseFloat(m[1]) * UNIT_MS[m[2]];
    s = s.slice(m[0].length);
    matched = true;
  }
  if (!matched) return null;
  return neg ? -total : total;
}

/** Formats ms as the shortest Prometheus duration (`90000` → `1m30s`). Sub-ms is rounded to ms. */
export function formatPromDuration(ms: number): string {
  if (ms <= 0) return '0s';
  let rest = Math.round(ms);
  const parts: string[] = [];
  for (const [u, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
    ['ms', 1],
  ] as const) {
    if (rest >= size) {
      const n = Math.floor(rest / size);
      rest -= n * size;
      parts.push(`${n}${u}`);
    }
  }
  return parts.join('');
}

/** Human readable duration from nanoseconds: `812ns`, `4.2µs`, `13.5ms`, `2.31s`, `3m12s`. */
export function formatNs(ns: number): string {
  if (!isFinite(ns)) return '–';
  const a = Math.abs(ns);
  if (a < 1e3) return `${Math.round(ns)}ns`;
  if (a < 1e6) return `${trim(ns / 1e3)}µs`;
  if (a < 1e9) return `${trim(ns / 1e6)}ms`;
  if (a < 60e9) return `${trim(ns / 1e9)}s`;
  const totalS = Math.round(ns / 1e9);
  if (totalS < 3600) return `${Math.floor(totalS / 60)}m${pad2(totalS % 60)}s`;
  return `${Math.floor(totalS / 3600)}h${pad2(Math.floor((totalS % 3600) / 60))}m`;
}

function trim(v: number): string {
  const a = Math.abs(v);
  const s = a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(2);
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

function pad3(n: number): string {
  return n < 10 ? `00${n}` : n < 100 ? `0${n}` : String(n);
}

export type TimeZone = 'local' | 'utc';

/** `2026-11-25 15:04:05.123` in the chosen zone. */
export function formatTime(ms: number, tz: TimeZone = 'local', withMs = true): string {
  const d = new Date(ms);
  const u = tz === 'utc';
  const Y = u ? d.getUTCFullYear() : d.getFullYear();
  const M = (u ? d.getUTCMonth() : d.getMonth()) + 1;
  const D = u ? d.getUTCDate() : d.getDate();
  const h = u ? d.getUTCHours() : d.getHours();
  const m = u ? d.getUTCMinutes() : d.getMinutes();
  const s = u ? d.getUTCSeconds() : d.getSeconds();
  const base = `${Y}-${pad2(M)}-${pad2(D)} ${pad2(h)}:${pad2(m)}:${pad2(s)}`;
  return withMs ? `${base}.${pad3(d.getUTCMilliseconds())}` : base;
}

/** Short axis label whose precision depends on the visible span. */
export function formatAxisTime(ms: number, spanMs: number, tz: TimeZone = 'local'): string {
  const full = formatTime(ms, tz, true);
  if (spanMs <= 10_000) return full.slice(11, 23); // HH:MM:SS.mmm
  if (spanMs <= 2 * 3_600_000) return full.slice(11, 19); // HH:MM:SS
  if (spanMs <= 2 * 86_400_000) return full.slice(11, 16); // HH:MM
  return full.slice(5, 16); // MM-DD HH:MM
}

// ---------------------------------------------------------------------------------------
// Time expressions

export interface TimeRange {
  /** `now-1h`, `now`, an epoch in ms, or an ISO date/time. */
  from: string;
  to: string;
}

export interface ResolvedRange {
  startMs: number;
  endMs: number;
}

const REL_RE = /^now(?:\s*([+-])\s*([0-9.a-zµ]+))?(?:\/([smhdw]))?$/;

/** True if the expression is relative to the current time. */
export function isRelative(expr: string): boolean {
  return expr.trim().startsWith('now');
}

/**
 * Parses a time expression into epoch ms. Accepts `now`, `now-15m`, `now-1d/d` (rounded down
 * to the unit), epoch seconds (≤10 digits), epoch ms (13 digits), epoch ns (19 digits), ISO
 * 8601 (`2026-11-25T15:00:00Z`) and `YYYY-MM-DD[ HH:MM[:SS[.mmm]]]` in the given zone.
 */
export function parseTimeExpr(input: string, now: number, tz: TimeZone = 'local'): number | null {
  const s = input.trim();
  if (!s) return null;
  const rel = REL_RE.exec(s);
  if (rel) {
    let t = now;
    if (rel[1]) {
      const d = parseDuration(rel[2]);
      if (d === null) return null;
      t = rel[1] === '-' ? t - d : t + d;
    }
    if (rel[3]) t = roundDown(t, rel[3], tz);
    return t;
  }
  if (/^\d+$/.test(s)) {
    if (s.length <= 10) return parseInt(s, 10) * 1000;
    if (s.length <= 13) return parseInt(s, 10);
    if (s.length <= 16) return Math.floor(parseInt(s, 10) / 1000);
    return nsToMs(s);
  }
  const local = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3})\d*)?)?)?$/.exec(s);
  if (local) {
    const [, Y, M, D, h = '0', m = '0', sec = '0', frac = '0'] = local;
    const ms = parseInt(frac.padEnd(3, '0'), 10);
    const args = [+Y, +M - 1, +D, +h, +m, +sec, ms] as const;
    const v = tz === 'utc' ? Date.UTC(...args) : new Date(...args).getTime();
    return isNaN(v) ? null : v;
  }
  const v = Date.parse(s);
  return isNaN(v) ? null : v;
}

function roundDown(ms: number, unit: string, tz: TimeZone): number {
  const d = new Date(ms);
  const u = tz === 'utc';
  const set = (f: 'Seconds' | 'Minutes' | 'Hours', v = 0) =>
    u ? d[`setUTC${f}`](v) : d[`set${f}`](v);
  d.setMilliseconds(0);
  if (unit === 's') return d.getTime();
  set('Seconds');
  if (unit === 'm') return d.getTime();
  set('Minutes');
  if (unit === 'h') return d.getTime();
  set('Hours');
  if (unit === 'w') {
    const day = u ? d.getUTCDay() : d.getDay();
    const back = (day + 6) % 7; // weeks start on Monday
    return d.getTime() - back * 86_400_000;
  }
  return d.getTime();
}

export class TimeRangeError extends Error {}

/** Resolves both ends; throws with a message that says what to fix. */
export function resolveRange(r: TimeRange, now: number, tz: TimeZone = 'local'): ResolvedRange {
  const startMs = parseTimeExpr(r.from, now, tz);
  const endMs = parseTimeExpr(r.to, now, tz);
  if (startMs === null) throw new TimeRangeError(`Cannot read the start time "${r.from}". Use now-15m, an ISO time or YYYY-MM-DD HH:MM:SS.`);
  if (endMs === null) throw new TimeRangeError(`Cannot read the end time "${r.to}". Use now, an ISO time or YYYY-MM-DD HH:MM:SS.`);
  if (endMs <= startMs) throw new TimeRangeError('The start of the time range must be before its end.');
  return { startMs, endMs };
}

export interface QuickRange {
  label: string;
  short: string;
  from: string;
  to: string;
  key?: string;
}

export const QUICK_RANGES: QuickRange[] = [
  { label: 'Last 5 minutes', short: '5m', from: 'now-5m', to: 'now', key: '1' },
  { label: 'Last 15 minutes', short: '15m', from: 'now-15m', to: 'now', key: '2' },
  { label: 'Last 30 minutes', short: '30m', from: 'now-30m', to: 'now' },
  { label: 'Last 1 hour', short: '1h', from: 'now-1h', to: 'now', key: '3' },
  { label: 'Last 3 hours', short: '3h', from: 'now-3h', to: 'now' },
  { label: 'Last 6 hours', short: '6h', from: 'now-6h', to: 'now', key: '4' },
  { label: 'Last 12 hours', short: '12h', from: 'now-12h', to: 'now' },
  { label: 'Last 24 hours', short: '24h', from: 'now-24h', to: 'now', key: '5' },
  { label: 'Last 2 days', short: '2d', from: 'now-2d', to: 'now' },
  { label: 'Last 7 days', short: '7d', from: 'now-7d', to: 'now', key: '6' },
  { label: 'Today so far', short: 'today', from: 'now/d', to: 'now' },
];

/** Label for the picker button: `Last 1 hour`, `now-90m → now`, or absolute times. */
export function describeRange(r: TimeRange, tz: TimeZone = 'local'): string {
  const q = QUICK_RANGES.find((x) => x.from === r.from && x.to === r.to);
  if (q) return q.label;
  const rel = /^now-([0-9a-z.]+)$/.exec(r.from);
  if (rel && r.to === 'now') {
    const d = parseDuration(rel[1]);
    if (d !== null) return `Last ${formatPromDuration(d)}`;
  }
  const fmt = (e: string) => {
    if (isRelative(e)) return e;
    const v = parseTimeExpr(e, Date.now(), tz);
    return v === null ? e : formatTime(v, tz, false);
  };
  const a = fmt(r.from);
  const b = fmt(r.to);
  if (a.length === 19 && b.length === 19 && a.slice(0, 10) === b.slice(0, 10)) return `${a} → ${b.slice(11)}`;
  return `${a} → ${b}`;
}

/** Absolute range expressions (epoch ms) for zooming and shifting. */
export function absoluteRange(startMs: number, endMs: number): TimeRange {
  return { from: String(Math.round(startMs)), to: String(Math.round(endMs)) };
}

/** Zooms out around the centre by `factor` (2 = twice as wide); never ends in the future. */
export function zoomOut(r: ResolvedRange, now: number, factor = 2): TimeRange {
  const span = r.endMs - r.startMs;
  const centre = r.startMs + span / 2;
  let end = centre + (span * factor) / 2;
  let start = centre - (span * factor) / 2;
  if (end > now) {
    start -= end - now;
    end = now;
  }
  return absoluteRange(start, end);
}

/** Moves the window by a fraction of its width (negative = back in time). */
export function shiftRange(r: ResolvedRange, fraction: number): TimeRange {
  const d = (r.endMs - r.startMs) * fraction;
  return absoluteRange(r.startMs + d, r.endMs + d);
}

const NICE_STEPS_S = [
  1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800,
  604800,
];

/** Picks a round step (seconds) so that the range has about `buckets` points, at least 1 s. */
export function chooseStep(rangeMs: number, buckets = 120): number {
  const raw = rangeMs / 1000 / buckets;
  for (const s of NICE_STEPS_S) if (s >= raw) return s;
  return Math.ceil(raw / 604800) * 604800;
}

/** Step in seconds as a LogQL range literal: 60 → `1m`. */
export function stepLiteral(stepS: number): string {
  return formatPromDuration(stepS * 1000);
}

// ---------------------------------------------------------------------------------------
// Nanoseconds. Epoch ns do not fit a double exactly, so they travel as decimal strings.

export function msToNs(ms: number): string {
  const whole = Math.floor(ms);
  const frac = Math.round((ms - whole) * 1e6);
  return (BigInt(whole) * 1_000_000n + BigInt(frac)).toString();
}

export function nsToMs(ns: string): number {
  if (ns.length <= 6) return Number(ns) / 1e6;
  return Number(ns.slice(0, -6)) + Number(ns.slice(-6)) / 1e6;
}

export function addNs(ns: string, delta: bigint | number): string {
  return (BigInt(ns) + BigInt(delta)).toString();
}

/** Compares two non-negative decimal integer strings. */
export function cmpNs(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Formats an ns timestamp with its sub-ms digits: `15:04:05.123456789`. */
export function formatNsTime(ns: string, tz: TimeZone = 'local'): string {
  const ms = Math.floor(nsToMs(ns));
  const sub = ns.length > 6 ? ns.slice(-6) : ns.padStart(6, '0');
  return `${formatTime(ms, tz, true)}${sub}`;
}
