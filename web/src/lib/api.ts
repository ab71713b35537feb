// HTTP client for the Loki, Tempo and UI APIs served by Strata on the same origin.

import { settings } from './settings';
import { createStore } from './store';
import { parseTrace, padTraceId, type ParsedTrace } from './otlp';

/** Number of requests in flight, for the global progress bar. */
export const inflight = createStore(0);

export class ApiError extends Error {
  constructor(
    message: string,
    public status: number,
    public hint: string,
    public url: string,
    public body = '',
  ) {
    super(message);
  }
}

/** Extracts the server's message from an error body: Loki text, `{"error":…}` or `{"message":…}`. */
export function errorText(body: string): string {
  const t = body.trim();
  if (t.startsWith('{')) {
    try {
      const j = JSON.parse(t) as { error?: unknown; message?: unknown; errorType?: unknown };
      const msg = typeof j.error === 'string' ? j.error : typeof j.message === 'string' ? j.message : '';
      if (msg) return typeof j.errorType === 'string' && j.errorType ? `${j.errorType}: ${msg}` : msg;
    } catch {
      /* fall through */
    }
  }
  return t;
}

/** What the user should do about an error. */
export function errorHint(status: number, msg: string, path = ''): string {
  const m = msg.toLowerCase();
  if (status === 0) return 'The Strata server did not answer. Check that it is running and reachable from this page.';
  if (m.includes('parse error') || m.includes('syntax error')) return 'Fix the query syntax at the position shown.';
  if (m.includes('at least one') && m.includes('matcher')) return 'Add a label matcher that is not empty, e.g. {service_name="checkout"} or {service_name=~".+"}.';
  if (m.includes('no org id') || status === 401) return 'This server needs a tenant: set one in Settings (it is sent as X-Scope-OrgID).';
  if (status === 403) return 'Your tenant may not read this data. Check the tenant in Settings.';
  if (m.includes('time range exceeds') || m.includes('query length')) return 'Choose a shorter time range.';
  if (status === 429) return 'The server is rate limiting queries. Wait a moment, or narrow the time range.';
  if (m.includes('entries limit') || m.includes('limit exceeded')) return 'Lower the line limit, or narrow the query.';
  if (m.includes('too many') && m.includes('series')) return 'Group by fewer labels, or add label matchers.';
  if (status === 504 || m.includes('timed out') || m.includes('deadline')) return 'Narrow the time range or add label matchers so less data is scanned.';
  if (status === 404 && path.startsWith('/ui/api')) return 'This server does not provide the UI API yet.';
  if (status === 404 && path.includes('/traces/')) return 'No trace with this id in the selected tenant. It may not be ingested yet, or be past retention.';
  if (status >= 500) return 'The server failed. Its logs will say more; retry in a moment.';
  if (status === 400) return 'The server rejected the request; the message says which parameter.';
  return '';
}

type Params = Record<string, string | number | undefined | null>;

function qs(params: Params): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') u.set(k, String(v));
  const s = u.toString();
  return s ? `?${s}` : '';
}

export interface RequestOpts {
  params?: Params;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  method?: string;
  body?: string;
}

/** Headers sent on every request: the tenant, if one is set. */
export function commonHeaders(): Record<string, string> {
  const t = settings.get().tenant.trim();
  return t ? { 'X-Scope-OrgID': t } : {};
}

export async function request<T = unknown>(path: string, opts: RequestOpts = {}): Promise<T> {
  const url = path + qs(opts.params ?? {});
  inflight.set((n) => n + 1);
  try {
    return await doRequest<T>(path, url, opts);
  } finally {
    inflight.set((n) => n - 1);
  }
}

async function doRequest<T>(path: string, url: string, opts: RequestOpts): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: opts.method ?? 'GET',
      headers: { Accept: 'application/json', ...commonHeaders(), ...opts.headers },
      signal: opts.signal,
      body: opts.body,
    });
  } catch (e) {
    if ((e as Error).name === 'AbortError') throw e;
    throw new ApiError(`Cannot reach the server (${(e as Error).message}).`, 0, errorHint(0, ''), url);
  }
  const text = await res.text();
  if (!res.ok) {
    const msg = errorText(text) || `${res.status} ${res.statusText}`;
    throw new ApiError(msg, res.status, errorHint(res.status, msg, path), url, text);
  }
  if (!text) return undefined as T;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ApiError(`The server sent a response that is not JSON: ${text.slice(0, 200)}`, res.status, 'Is this URL served by Strata?', url, text);
  }
  const b = body as { status?: string; error?: string; errorType?: string };
  if (b && b.status === 'error') {
    const msg = errorText(text);
    throw new ApiError(msg, res.status, errorHint(400, msg, path), url, text);
  }
  return body as T;
}

// ---------------------------------------------------------------------------------------
// Loki

const cache = new Map<string, { at: number; value: Promise<unknown> }>();

/** Memoises metadata calls for 30 s (autocomplete calls them on every keystroke). */
function cached<T>(key: string, fn: () => Promise<T>, ttlMs = 30_000): Promise<T> {
  const k = `${settings.get().tenant}|${key}`;
  const hit = cache.get(k);
  if (hit && Date.now() - hit.at < ttlMs) return hit.value as Promise<T>;
  const value = fn();
  cache.set(k, { at: Date.now(), value });
  value.catch(() => cache.delete(k));
  return value;
}

/** Rounds ns times down to 10 s so cached metadata calls share a key. */
function coarse(ns: string): string {
  return ns.length > 10 ? ns.slice(0, -10) + '0000000000' : ns;
}

const HIDDEN_LABELS = new Set(['__aggregated_metric__', '__tenant_id__', '__stream_shard__']);

export function lokiLabels(startNs: string, endNs: string, query?: string): Promise<string[]> {
  const p = { start: coarse(startNs), end: coarse(endNs), query };
  return cached(`labels${qs(p)}`, async () => {
    const r = await request<{ data?: string[] | null }>('/loki/api/v1/labels', { params: p });
    return [...new Set(r.data ?? [])].filter((l) => !HIDDEN_LABELS.has(l)).sort();
  });
}

export function lokiLabelValues(name: string, startNs: string, endNs: string, query?: string): Promise<string[]> {
  const p = { start: coarse(startNs), end: coarse(endNs), query };
  return cached(`values/${name}${qs(p)}`, async () => {
    const r = await request<{ data?: string[] | null }>(`/loki/api/v1/label/${encodeURIComponent(name)}/values`, { params: p });
    return [...new Set(r.data ?? [])].sort();
  });
}

export interface QueryRangeParams {
  query: string;
  startNs: string;
  endNs: string;
  limit?: number;
  direction?: 'backward' | 'forward';
  /** Seconds. */
  step?: number;
  signal?: AbortSignal;
  /** X-Query-Tags Source=… */
  source?: string;
}

export interface QueryRangeResult {
  resultType: 'streams' | 'matrix' | 'vector' | 'scalar';
  result: unknown;
  categorized: boolean;
  stats: Record<string, unknown>;
  warnings: string[];
}

export async function lokiQueryRange(p: QueryRangeParams): Promise<QueryRangeResult> {
  const headers: Record<string, string> = { 'X-Loki-Response-Encoding-Flags': 'categorize-labels' };
  if (p.source) headers['X-Query-Tags'] = `Source=${p.source}`;
  const r = await request<{
    data?: { resultType?: string; result?: unknown; encodingFlags?: string[]; stats?: Record<string, unknown> };
    warnings?: string[];
  }>('/loki/api/v1/query_range', {
    params: { query: p.query, start: p.startNs, end: p.endNs, limit: p.limit, direction: p.direction, step: p.step },
    headers,
    signal: p.signal,
  });
  const d = r?.data ?? {};
  return {
    resultType: (d.resultType ?? 'streams') as QueryRangeResult['resultType'],
    result: d.result ?? [],
    categorized: Array.isArray(d.encodingFlags) && d.encodingFlags.includes('categorize-labels'),
    stats: d.stats ?? {},
    warnings: r?.warnings ?? [],
  };
}

/** Loki's default max_entries_limit_per_query, for servers that do not report theirs. */
export const DEFAULT_MAX_ENTRIES = 5000;

/**
 * The largest `limit` one log query may ask for (0 = no maximum), from the server's
 * /loki/api/v1/drilldown-limits. Larger line limits are read in pages of this size, since the
 * server refuses them with 400 instead of truncating.
 */
export function lokiMaxEntries(): Promise<number> {
  return cached('drilldown-limits', async () => {
    try {
      const r = await request<{ limits?: { max_entries_limit_per_query?: unknown } }>('/loki/api/v1/drilldown-limits');
      const n = Number(r?.limits?.max_entries_limit_per_query);
      return Number.isFinite(n) && n >= 0 ? n : DEFAULT_MAX_ENTRIES;
    } catch {
      return DEFAULT_MAX_ENTRIES;
    }
  }, 600_000);
}

/**
 * The live-tail websocket URL. Browsers cannot set headers on a websocket, so the tenant goes
 * in the `tenant` query parameter, which Strata's tail endpoint accepts in place of X-Scope-OrgID.
 */
export function tailUrl(query: string, opts: { limit?: number; startNs?: string } = {}, loc: { protocol: string; host: string } = location): string {
  const proto = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  const tenant = settings.get().tenant.trim();
  return `${proto}//${loc.host}/loki/api/v1/tail${qs({ query, limit: opts.limit, start: opts.startNs, tenant: tenant || undefined })}`;
}

// ---------------------------------------------------------------------------------------
// Tempo

export interface TempoSearchSpan {
  spanID: string;
  name?: string;
  startTimeUnixNano?: string;
  durationNanos?: string;
  attributes?: { key: string; value: Record<string, unknown> }[];
}

export interface TempoSearchTrace {
  traceID: string;
  rootServiceName?: string;
  rootTraceName?: string;
  startTimeUnixNano?: string;
  durationMs?: number;
  spanSets?: { spans?: TempoSearchSpan[]; matched?: number }[];
  spanSet?: { spans?: TempoSearchSpan[]; matched?: number };
  serviceStats?: Record<string, { spanCount?: number; errorCount?: number }>;
}

export interface TempoSearchResponse {
  traces?: TempoSearchTrace[];
  metrics?: { inspectedTraces?: number; inspectedBytes?: string; totalBlocks?: number };
}

export function tempoSearch(p: { q: string; startS: number; endS: number; limit: number; spss?: number; signal?: AbortSignal }): Promise<TempoSearchResponse> {
  return request<TempoSearchResponse>('/api/search', {
    params: { q: p.q, start: p.startS, end: p.endS, limit: p.limit, spss: p.spss ?? 3 },
    signal: p.signal,
  });
}

/** Tag names by scope; tries v2 and falls back to v1. */
export function tempoTags(startS: number, endS: number): Promise<{ scope: string; tags: string[] }[]> {
  return cached(`tags${startS - (startS % 60)}`, async () => {
    try {
      const r = await request<{ scopes?: { name: string; tags?: string[] }[] }>('/api/v2/search/tags', { params: { start: startS, end: endS } });
      return (r.scopes ?? []).map((s) => ({ scope: s.name, tags: (s.tags ?? []).slice().sort() }));
    } catch (e) {
      if (e instanceof ApiError && e.status !== 0) {
        const r = await request<{ tagNames?: string[] }>('/api/search/tags', { params: { start: startS, end: endS } });
        return [{ scope: 'none', tags: (r.tagNames ?? []).slice().sort() }];
      }
      throw e;
    }
  });
}

/** Values of a scoped tag (`resource.service.name`, `name`); `q` narrows them (may be partial). */
export function tempoTagValues(tag: string, startS: number, endS: number, q?: string): Promise<string[]> {
  return cached(`tagv/${tag}/${startS - (startS % 60)}/${q ?? ''}`, async () => {
    try {
      const r = await request<{ tagValues?: { type?: string; value?: string }[] }>(
        `/api/v2/search/tag/${encodeURIComponent(tag)}/values`, { params: { start: startS, end: endS, q } });
      return [...new Set((r.tagValues ?? []).map((v) => v.value ?? '').filter(Boolean))].sort();
    } catch (e) {
      if (e instanceof ApiError && e.status !== 0) {
        const bare = tag.replace(/^(resource|span|event|link|instrumentation)\./, '');
        const r = await request<{ tagValues?: string[] }>(`/api/search/tag/${encodeURIComponent(bare)}/values`, { params: { start: startS, end: endS } });
        return [...new Set(r.tagValues ?? [])].sort();
      }
      throw e;
    }
  });
}

export async function fetchTrace(id: string, signal?: AbortSignal): Promise<ParsedTrace> {
  const hex = padTraceId(id);
  try {
    const body = await request(`/api/traces/${hex}`, { headers: { Accept: 'application/json' }, signal });
    return parseTrace(body ?? {});
  } catch (e) {
    if (e instanceof ApiError && e.status === 404)
      throw new ApiError(`Trace ${id} was not found.`, 404, errorHint(404, '', '/api/traces/'), e.url, e.body);
    throw e;
  }
}

// ---------------------------------------------------------------------------------------
// UI API

export interface ServiceStats {
  name: string;
  spans: number;
  errors: number;
  /** Spans per second over the range. */
  rate: number;
  /** errors / spans. */
  errorRate: number;
  /** Latency percentiles in ns. */
  p50: number;
  p95: number;
  p99: number;
  series?: { rate?: [number, number][]; errors?: [number, number][]; p95?: [number, number][] };
}

export function fetchServices(startNs: string, endNs: string, stepS: number, signal?: AbortSignal): Promise<{ services?: ServiceStats[] }> {
  return request('/ui/api/services', { params: { start: startNs, end: endNs, step: stepS }, signal });
}

export interface ClusterMember {
  id: string;
  addr: string;
  state: string;
  zone?: string;
  tokens: number;
  heartbeat?: string;
  heartbeatAgeSeconds: number;
  ingestRate?: number;
  flushLagSeconds?: number;
  memoryRecords?: number;
  walBytes?: number;
}

export function fetchCluster(signal?: AbortSignal): Promise<{ members?: ClusterMember[]; replicationFactor?: number }> {
  return request('/ui/api/cluster', { signal });
}
