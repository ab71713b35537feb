// The whole view lives in the URL: page in the path, everything else in the query string.
// Only the current page's fields are written, so links stay short; other pages' fields are
// kept in memory while the app runs.

export type Page = 'logs' | 'traces' | 'services' | 'cluster';
export const PAGES: Page[] = ['logs', 'traces', 'services', 'cluster'];

export interface AppState {
  page: Page;
  from: string;
  to: string;
  // logs
  q: string;
  mode: 'code' | 'builder';
  /** 0 = the default from settings. */
  limit: number;
  /** Expanded log rows (row ids). */
  exp: string[];
  live: boolean;
  /** Row whose context is open. */
  ctx: string;
  // traces
  tmode: 'search' | 'traceql';
  tq: string;
  svc: string;
  op: string;
  tags: string;
  minDur: string;
  maxDur: string;
  status: '' | 'error' | 'ok' | 'unset';
  tlimit: number;
  /** Open trace (hex id) and selected span. */
  trace: string;
  span: string;
  // services
  sort: string;
  filter: string;
}

export const DEFAULT_STATE: AppState = {
  page: 'logs',
  from: 'now-1h',
  to: 'now',
  q: '',
  mode: 'builder',
  limit: 0,
  exp: [],
  live: false,
  ctx: '',
  tmode: 'search',
  tq: '',
  svc: '',
  op: '',
  tags: '',
  minDur: '',
  maxDur: '',
  status: '',
  tlimit: 20,
  trace: '',
  span: '',
  sort: '-rate',
  filter: '',
};

type Key = keyof AppState;

/** Fields per page, with their URL parameter names. */
const PAGE_FIELDS: Record<Page, [Key, string][]> = {
  logs: [['q', 'q'], ['mode', 'mode'], ['limit', 'limit'], ['exp', 'exp'], ['live', 'live'], ['ctx', 'ctx']],
  traces: [
    ['tmode', 'tmode'], ['tq', 'tq'], ['svc', 'svc'], ['op', 'op'], ['tags', 'tags'], ['minDur', 'min'],
    ['maxDur', 'max'], ['status', 'status'], ['tlimit', 'limit'], ['trace', 'trace'], ['span', 'span'],
  ],
  services: [['sort', 'sort'], ['filter', 'filter']],
  cluster: [],
};

/** Fields that belong to a page (used to reset them when a URL is opened). */
export function pageKeys(page: Page): Key[] {
  return PAGE_FIELDS[page].map(([k]) => k);
}

function encodeValue(k: Key, v: unknown): string | null {
  if (JSON.stringify(v) === JSON.stringify(DEFAULT_STATE[k])) return null;
  if (Array.isArray(v)) return v.join(',');
  if (typeof v === 'boolean') return v ? '1' : null;
  return String(v);
}

function decodeValue(k: Key, raw: string): AppState[Key] | undefined {
  const def = DEFAULT_STATE[k];
  if (Array.isArray(def)) return raw.split(',').filter(Boolean);
  if (typeof def === 'boolean') return raw === '1' || raw === 'true';
  if (typeof def === 'number') {
    const n = parseInt(raw, 10);
    return isFinite(n) && n >= 0 ? n : undefined;
  }
  switch (k) {
    case 'mode':
      return raw === 'code' || raw === 'builder' ? raw : undefined;
    case 'tmode':
      return raw === 'search' || raw === 'traceql' ? raw : undefined;
    case 'status':
      return ['', 'error', 'ok', 'unset'].includes(raw) ? (raw as AppState['status']) : undefined;
  }
  return raw;
}

/** Path (relative to the app base) and query string for a state. */
export function encodeState(s: AppState): { path: string; search: string } {
  const u = new URLSearchParams();
  if (s.from !== DEFAULT_STATE.from) u.set('from', s.from);
  if (s.to !== DEFAULT_STATE.to) u.set('to', s.to);
  for (const [k, name] of PAGE_FIELDS[s.page]) {
    const v = encodeValue(k, s[k]);
    if (v !== null) u.set(name, v);
  }
  const search = u.toString();
  return { path: s.page, search: search ? `?${search}` : '' };
}

/**
 * Reads a URL into state fields: the page, the time range and all of that page's fields
 * (defaults where absent). Fields of other pages are not included.
 */
export function decodeState(path: string, search: string): Partial<AppState> & Pick<AppState, 'page'> {
  const seg = path.replace(/^\/+/, '').split('/')[0];
  const page: Page = (PAGES as string[]).includes(seg) ? (seg as Page) : 'logs';
  const u = new URLSearchParams(search);
  const out: Partial<AppState> & Pick<AppState, 'page'> = { page, from: u.get('from') || DEFAULT_STATE.from, to: u.get('to') || DEFAULT_STATE.to };
  const rec = out as Record<string, unknown>;
  for (const [k, name] of PAGE_FIELDS[page]) {
    const raw = u.get(name);
    const v = raw === null ? undefined : decodeValue(k, raw);
    rec[k] = v === undefined ? structuredCloneSafe(DEFAULT_STATE[k]) : v;
  }
  return out;
}

function structuredCloneSafe<T>(v: T): T {
  return Array.isArray(v) ? (v.slice() as T) : v;
}

/** The app's base path from <base href> (`/` unless served under a prefix). */
export function basePath(): string {
  if (typeof document === 'undefined') return '/';
  try {
    const p = new URL(document.baseURI).pathname;
    return p.endsWith('/') ? p : p + '/';
  } catch {
    return '/';
  }
}

/** Full href for a state, for links and history entries. */
export function hrefFor(s: AppState, base = basePath()): string {
  const { path, search } = encodeState(s);
  return base + path + search;
}
