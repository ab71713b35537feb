// Loki response parsing: streams (with or without categorize-labels), matrices, tail frames,
// plus level detection and export formats.

import { cmpNs, nsToMs } from './time';

export type LabelKind = 'I' | 'S' | 'P';

export interface LogRow {
  /** Stable id: `<tsNs>_<fnv32 of line+labels>` with a `_n` suffix for exact duplicates. */
  id: string;
  tsNs: string;
  tsMs: number;
  line: string;
  /** Indexed stream labels. */
  stream: Record<string, string>;
  /** Structured metadata (categorize-labels only). */
  meta: Record<string, string>;
  /** Labels extracted by parsers in the query (categorize-labels only). */
  parsed: Record<string, string>;
  level: Level;
  /** Whether `stream` holds only indexed labels (server honoured categorize-labels). */
  categorized: boolean;
}

export type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'critical' | 'unknown';
export const LEVELS: Level[] = ['critical', 'error', 'warn', 'info', 'debug', 'trace', 'unknown'];

const LEVEL_ALIASES: Record<string, Level> = {
  trace: 'trace', trc: 'trace', verbose: 'trace',
  debug: 'debug', dbg: 'debug',
  info: 'info', inf: 'info', information: 'info', informational: 'info', notice: 'info',
  warn: 'warn', warning: 'warn', wrn: 'warn',
  error: 'error', err: 'error', eror: 'error',
  critical: 'critical', crit: 'critical', fatal: 'critical', panic: 'critical', emergency: 'critical',
  emerg: 'critical', alert: 'critical', dpanic: 'critical',
};

/** Maps a level string (`WARNING`, `Err`, `FATAL`, `INFO2`) to one of the canonical levels. */
export function normalizeLevel(v: string | undefined | null): Level {
  if (!v) return 'unknown';
  const s = v.trim().toLowerCase().replace(/[0-9]+$/, '');
  return LEVEL_ALIASES[s] ?? 'unknown';
}

const LEVEL_KEYS = ['detected_level', 'level', 'severity', 'severity_text', 'lvl', 'loglevel', 'log_level'];
const LINE_LEVEL_RE = /\b(?:level|lvl|severity)"?\s*[:=]\s*"?([a-zA-Z]+)|\b(TRACE|DEBUG|INFO|WARN(?:ING)?|ERROR|FATAL|CRITICAL|PANIC)\b/;

/** The row's level: from labels first, then guessed from the line (`level=error`, `ERROR`). */
export function detectLevel(labels: Record<string, string>[], line: string): Level {
  for (const l of labels)
    for (const k of LEVEL_KEYS) {
      const v = l[k];
      if (v !== undefined) {
        const lv = normalizeLevel(v);
        if (lv !== 'unknown') return lv;
      }
    }
  const m = LINE_LEVEL_RE.exec(line.length > 400 ? line.slice(0, 400) : line);
  if (m) return normalizeLevel(m[1] ?? m[2]);
  return 'unknown';
}

/** FNV-1a 32-bit, as hex. */
export function fnv32(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

function labelsKey(l: Record<string, string>): string {
  return Object.keys(l)
    .sort()
    .map((k) => `${k}=${l[k]}`)
    .join(',');
}

export interface StreamsResult {
  rows: LogRow[];
  categorized: boolean;
  streams: number;
}

interface RawStream {
  stream?: Record<string, string>;
  values?: unknown[][];
}

/**
 * Flattens `data.result` of a `streams` response (or the `streams` of a tail frame) into rows,
 * newest first (`backward`) or oldest first (`forward`).
 */
export function parseStreams(result: unknown, categorized: boolean, direction: 'backward' | 'forward' = 'backward'): StreamsResult {
  const rows: LogRow[] = [];
  const streams = Array.isArray(result) ? (result as RawStream[]) : [];
  const seen = new Map<string, number>();
  for (const s of streams) {
    const stream = s.stream ?? {};
    const skey = labelsKey(stream);
    for (const v of s.values ?? []) {
      if (!Array.isArray(v) || v.length < 2) continue;
      const tsNs = String(v[0]);
      const line = String(v[1] ?? '');
      const extra = (v[2] ?? {}) as { structuredMetadata?: Record<string, string> | null; parsed?: Record<string, string> | null };
      const meta = { ...(extra.structuredMetadata ?? {}) };
      const parsed = { ...(extra.parsed ?? {}) };
      let id = `${tsNs}_${fnv32(line + '\u0000' + skey + '\u0000' + labelsKey(meta))}`;
      const n = seen.get(id) ?? 0;
      seen.set(id, n + 1);
      if (n > 0) id += `_${n}`;
      rows.push({
        id, tsNs, tsMs: nsToMs(tsNs), line, stream, meta, parsed, categorized,
        level: detectLevel([stream, meta, parsed], line),
      });
    }
  }
  sortRows(rows, direction);
  return { rows, categorized, streams: streams.length };
}

export function sortRows(rows: LogRow[], direction: 'backward' | 'forward'): void {
  const sign = direction === 'backward' ? -1 : 1;
  rows.sort((a, b) => sign * cmpNs(a.tsNs, b.tsNs) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Merges `more` into `rows` (both newest first) dropping rows with ids already present. */
export function mergeRows(rows: LogRow[], more: LogRow[], direction: 'backward' | 'forward' = 'backward'): LogRow[] {
  const ids = new Set(rows.map((r) => r.id));
  const out = rows.concat(more.filter((r) => !ids.has(r.id)));
  sortRows(out, direction);
  return out;
}

/** All labels of a row with their kind: indexed, structured metadata, parsed. */
export function rowLabels(r: LogRow): { key: string; value: string; kind: LabelKind }[] {
  const out: { key: string; value: string; kind: LabelKind }[] = [];
  for (const [k, v] of Object.entries(r.stream)) out.push({ key: k, value: v, kind: 'I' });
  for (const [k, v] of Object.entries(r.meta)) out.push({ key: k, value: v, kind: 'S' });
  for (const [k, v] of Object.entries(r.parsed)) out.push({ key: k, value: v, kind: 'P' });
  return out;
}

const TRACE_KEYS = ['trace_id', 'traceid', 'traceID', 'traceId', 'trace.id', 'otel_trace_id'];

/** The trace id of a row from its labels or metadata, lowercased hex, if any. */
export function rowTraceId(r: LogRow): string | undefined {
  for (const src of [r.meta, r.stream, r.parsed])
    for (const k of TRACE_KEYS) {
      const v = src[k];
      if (v && /^[0-9a-fA-F]{1,32}$/.test(v) && !/^0+$/.test(v)) return v.toLowerCase();
    }
  return undefined;
}

export function rowSpanId(r: LogRow): string | undefined {
  for (const src of [r.meta, r.stream, r.parsed])
    for (const k of ['span_id', 'spanid', 'spanID', 'spanId']) {
      const v = src[k];
      if (v && /^[0-9a-fA-F]{1,16}$/.test(v)) return v.toLowerCase();
    }
  return undefined;
}

/** Fields found in the line itself (JSON object or logfmt), for the details view. */
export function lineFields(line: string): { parser: 'json' | 'logfmt'; fields: [string, string][] } | null {
  const t = line.trim();
  if (t.startsWith('{') && t.endsWith('}')) {
    try {
      const obj = JSON.parse(t);
      if (obj && typeof obj === 'object' && !Array.isArray(obj)) {
        const fields: [string, string][] = [];
        flattenJson(obj, '', fields);
        return { parser: 'json', fields };
      }
    } catch {
      /* not JSON */
    }
  }
  const fields = parseLogfmt(t);
  if (fields.length >= 2) return { parser: 'logfmt', fields };
  return null;
}

function flattenJson(v: unknown, prefix: string, out: [string, string][]): void {
  if (out.length > 200) return;
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      const key = (prefix ? `${prefix}_${k}` : k).replace(/[^a-zA-Z0-9_]/g, '_');
      flattenJson(x, key, out);
    }
  } else out.push([prefix, typeof v === 'string' ? v : JSON.stringify(v)]);
}

/** Minimal logfmt reader: key=value, key="quoted value". */
export function parseLogfmt(s: string): [string, string][] {
  const out: [string, string][] = [];
  const re = /([a-zA-Z_][a-zA-Z0-9_.\-]*)=("(?:[^"\\]|\\.)*"|[^\s"]*)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s))) {
    let v = m[2];
    if (v.startsWith('"')) {
      try {
        v = JSON.parse(v);
      } catch {
        v = v.slice(1, -1);
      }
    }
    out.push([m[1].replace(/[.\-]/g, '_'), v]);
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Matrix (metric) results

export interface Series {
  labels: Record<string, string>;
  /** [unix ms, value] oldest first. */
  points: [number, number][];
}

export function parseMatrix(result: unknown): Series[] {
  if (!Array.isArray(result)) return [];
  return (result as { metric?: Record<string, string>; values?: [number | string, string][] }[]).map((s) => ({
    labels: s.metric ?? {},
    points: (s.values ?? []).map(([t, v]) => [Number(t) * 1000, parseFloat(v)] as [number, number]),
  }));
}

export interface VolumeBucket {
  tMs: number;
  counts: Partial<Record<Level, number>>;
  total: number;
}

/** Turns the `sum by (detected_level)` matrix into buckets on the step grid. */
export function volumeBuckets(series: Series[], startMs: number, endMs: number, stepS: number): VolumeBucket[] {
  const stepMs = stepS * 1000;
  const first = Math.floor(startMs / stepMs) * stepMs;
  const n = Math.max(1, Math.ceil((endMs - first) / stepMs));
  const buckets: VolumeBucket[] = [];
  for (let i = 0; i < n; i++) buckets.push({ tMs: first + i * stepMs, counts: {}, total: 0 });
  for (const s of series) {
    const lv = normalizeLevel(s.labels.detected_level ?? s.labels.level);
    for (const [t, v] of s.points) {
      if (!isFinite(v) || v <= 0) continue;
      // count_over_time at t covers (t-step, t]: draw it in the bucket that ends at t.
      let i = Math.floor((t - stepMs - first) / stepMs + 1e-9);
      if (i < 0) i = 0;
      if (i >= n) i = n - 1;
      const b = buckets[i];
      b.counts[lv] = (b.counts[lv] ?? 0) + v;
      b.total += v;
    }
  }
  return buckets;
}

// ---------------------------------------------------------------------------------------
// Tail frames

export interface TailFrame {
  rows: LogRow[];
  dropped: number;
}

export function parseTailFrame(data: string): TailFrame {
  const msg = JSON.parse(data) as { streams?: unknown; dropped_entries?: unknown[]; encodingFlags?: string[] };
  const categorized = Array.isArray(msg.encodingFlags) && msg.encodingFlags.includes('categorize-labels');
  const { rows } = parseStreams(msg.streams ?? [], categorized, 'backward');
  return { rows, dropped: Array.isArray(msg.dropped_entries) ? msg.dropped_entries.length : 0 };
}

// ---------------------------------------------------------------------------------------
// Export

export function rowToJson(r: LogRow): Record<string, unknown> {
  const o: Record<string, unknown> = {
    timestamp: new Date(Math.floor(r.tsMs)).toISOString(),
    ts_ns: r.tsNs,
    level: r.level,
    line: r.line,
    labels: r.stream,
  };
  if (Object.keys(r.meta).length) o.structured_metadata = r.meta;
  if (Object.keys(r.parsed).length) o.parsed = r.parsed;
  return o;
}

export function toNdjson(rows: LogRow[]): string {
  return rows.map((r) => JSON.stringify(rowToJson(r))).join('\n') + (rows.length ? '\n' : '');
}

function csvCell(v: string): string {
  return /[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

export function toCsv(rows: LogRow[]): string {
  const keys = new Set<string>();
  for (const r of rows) for (const k of Object.keys({ ...r.stream, ...r.meta, ...r.parsed })) keys.add(k);
  const cols = [...keys].sort();
  const head = ['timestamp', 'ts_ns', 'level', ...cols, 'line'];
  const lines = [head.map(csvCell).join(',')];
  for (const r of rows) {
    const all = { ...r.parsed, ...r.meta, ...r.stream };
    lines.push(
      [new Date(Math.floor(r.tsMs)).toISOString(), r.tsNs, r.level, ...cols.map((k) => all[k] ?? ''), r.line].map(csvCell).join(','),
    );
  }
  return lines.join('\r\n') + '\r\n';
}

export interface PagedLines {
  rows: LogRow[];
  /** The last page was full: older lines may exist. */
  more: boolean;
}

/**
 * Reads up to `limit` lines newest first in pages of at most `pageMax` (the server's
 * max_entries_limit_per_query; 0 = no maximum). Each page ends just after the oldest line so
 * far (`fetchPage` gets that line's timestamp, null for the first page), so it repeats the
 * lines at the boundary timestamp: they are dropped by id, and a page that adds nothing ends
 * the walk (more lines share one timestamp than a page holds). `onPage` sees every page but
 * the last, so the first lines can be shown while the rest load.
 */
export async function collectPages(
  limit: number,
  pageMax: number,
  fetchPage: (afterNs: string | null, limit: number) => Promise<LogRow[]>,
  onPage?: (rows: LogRow[]) => void,
): Promise<PagedLines> {
  const size = pageMax > 0 ? Math.min(limit, pageMax) : limit;
  let rows: LogRow[] = [];
  let after: string | null = null;
  for (;;) {
    const want = Math.max(1, Math.min(size, limit - rows.length + (after === null ? 0 : 1)));
    const page = await fetchPage(after, want);
    const before = rows.length;
    rows = before ? mergeRows(rows, page) : page;
    if (rows.length > limit) rows = rows.slice(0, limit);
    const full = page.length >= want;
    if (!full || rows.length >= limit || rows.length === before) return { rows, more: full };
    onPage?.(rows);
    after = rows[rows.length - 1].tsNs;
  }
}
