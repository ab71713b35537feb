// OTLP JSON trace parsing. Accepts what /api/traces/<id> returns with Accept: application/json:
// `{"batches":[...]}` (old Tempo), `{"resourceSpans":[...]}` (v1), `{"trace":{"resourceSpans":[...]}}`
// (v2), with ids in hex (OTLP/JSON) or base64 (Tempo's jsonpb), and enum values as numbers or names.

export type AttrValue = string | number | boolean | null | AttrValue[] | { [k: string]: AttrValue };

export interface Attr {
  key: string;
  value: AttrValue;
  /** `string`, `int`, `double`, `bool`, `array`, `kvlist`, `bytes` */
  type: string;
}

export type SpanKind = 'unspecified' | 'internal' | 'server' | 'client' | 'producer' | 'consumer';
export type StatusCode = 'unset' | 'ok' | 'error';

export interface SpanEvent {
  timeNs: bigint;
  name: string;
  attributes: Attr[];
}

export interface SpanLink {
  traceId: string;
  spanId: string;
  attributes: Attr[];
}

export interface Span {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: SpanKind;
  startNs: bigint;
  endNs: bigint;
  statusCode: StatusCode;
  statusMessage: string;
  traceState: string;
  attributes: Attr[];
  events: SpanEvent[];
  links: SpanLink[];
  service: string;
  resource: Attr[];
  scope: { name: string; version: string };
}

export interface ParsedTrace {
  spans: Span[];
  /** Tempo v2 `status` = PARTIAL, with its message. */
  partial: boolean;
  message: string;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

export function base64ToHex(b64: string): string {
  const s = b64.replace(/-/g, '+').replace(/_/g, '/').replace(/=+$/, '');
  let bits = 0;
  let acc = 0;
  let out = '';
  for (const c of s) {
    const v = B64.indexOf(c);
    if (v < 0) return '';
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += ((acc >> bits) & 0xff).toString(16).padStart(2, '0');
    }
  }
  return out;
}

/**
 * Normalises a trace or span id to lowercase hex. Hex of the expected length (32 for traces,
 * 16 for spans) is kept; anything else that decodes as base64 is converted.
 */
export function normalizeId(id: unknown, hexLen: 32 | 16): string {
  if (typeof id !== 'string' || !id) return '';
  if (/^[0-9a-fA-F]+$/.test(id) && (id.length === hexLen || id.length === 32 || id.length === 16)) return id.toLowerCase();
  const hex = base64ToHex(id);
  if (hex && !/^0+$/.test(hex)) return hex;
  if (/^[0-9a-fA-F]+$/.test(id)) return id.toLowerCase();
  return hex;
}

/** Left-pads a (possibly trimmed) hex trace id to 32 characters. */
export function padTraceId(id: string): string {
  return id.toLowerCase().padStart(32, '0');
}

/** Strips the leading 16 zeros of a 64-bit id shown in a 128-bit field. */
export function displayTraceId(id: string): string {
  return id.startsWith('0000000000000000') && id.length === 32 ? id.slice(16) : id;
}

function toBig(v: unknown): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && isFinite(v)) return BigInt(Math.round(v));
  if (typeof v === 'string' && /^\d+$/.test(v)) return BigInt(v);
  return 0n;
}

interface RawAnyValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number | string;
  boolValue?: boolean;
  arrayValue?: { values?: RawAnyValue[] };
  kvlistValue?: { values?: RawKV[] };
  bytesValue?: string;
}
interface RawKV {
  key: string;
  value?: RawAnyValue;
}

export function anyValue(v: RawAnyValue | undefined): { value: AttrValue; type: string } {
  if (!v) return { value: null, type: 'empty' };
  if (v.stringValue !== undefined) return { value: v.stringValue, type: 'string' };
  if (v.intValue !== undefined) {
    const n = Number(v.intValue);
    return { value: Number.isSafeInteger(n) ? n : String(v.intValue), type: 'int' };
  }
  if (v.doubleValue !== undefined) return { value: Number(v.doubleValue), type: 'double' };
  if (v.boolValue !== undefined) return { value: !!v.boolValue, type: 'bool' };
  if (v.arrayValue) return { value: (v.arrayValue.values ?? []).map((x) => anyValue(x).value), type: 'array' };
  if (v.kvlistValue) {
    const o: Record<string, AttrValue> = {};
    for (const kv of v.kvlistValue.values ?? []) o[kv.key] = anyValue(kv.value).value;
    return { value: o, type: 'kvlist' };
  }
  if (v.bytesValue !== undefined) return { value: base64ToHex(v.bytesValue), type: 'bytes' };
  return { value: null, type: 'empty' };
}

export function parseAttrs(kvs: RawKV[] | undefined): Attr[] {
  return (kvs ?? []).map((kv) => ({ key: kv.key, ...anyValue(kv.value) }));
}

export function attrString(v: AttrValue): string {
  if (v === null) return '';
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

const KINDS: SpanKind[] = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];

export function parseKind(k: unknown): SpanKind {
  if (typeof k === 'number') return KINDS[k] ?? 'unspecified';
  if (typeof k === 'string') {
    const s = k.toLowerCase().replace(/^span_kind_/, '');
    if ((KINDS as string[]).includes(s)) return s as SpanKind;
    const n = Number(k);
    if (!isNaN(n)) return KINDS[n] ?? 'unspecified';
  }
  return 'unspecified';
}

export function parseStatus(c: unknown): StatusCode {
  if (c === 1 || c === '1') return 'ok';
  if (c === 2 || c === '2') return 'error';
  if (typeof c === 'string') {
    const s = c.toLowerCase().replace(/^status_code_/, '');
    if (s === 'ok' || s === 'error') return s;
  }
  return 'unset';
}

interface RawSpan {
  traceId?: string;
  spanId?: string;
  parentSpanId?: string;
  name?: string;
  kind?: number | string;
  startTimeUnixNano?: string | number;
  endTimeUnixNano?: string | number;
  attributes?: RawKV[];
  events?: { timeUnixNano?: string | number; name?: string; attributes?: RawKV[] }[];
  links?: { traceId?: string; spanId?: string; attributes?: RawKV[] }[];
  status?: { code?: number | string; message?: string };
  traceState?: string;
}

interface RawScopeSpans {
  scope?: { name?: string; version?: string };
  instrumentationLibrary?: { name?: string; version?: string };
  spans?: RawSpan[];
}

interface RawResourceSpans {
  resource?: { attributes?: RawKV[] };
  scopeSpans?: RawScopeSpans[];
  instrumentationLibrarySpans?: RawScopeSpans[];
}

/** Parses any of the accepted trace JSON shapes. Throws if the body is not a trace. */
export function parseTrace(body: unknown): ParsedTrace {
  if (!body || typeof body !== 'object') throw new Error('The trace response is not a JSON object.');
  const b = body as Record<string, unknown>;
  let partial = false;
  let message = '';
  let container = b;
  if (b.trace && typeof b.trace === 'object') {
    container = b.trace as Record<string, unknown>;
    partial = b.status === 1 || b.status === 'PARTIAL';
    message = typeof b.message === 'string' ? b.message : '';
  }
  const batches = (container.resourceSpans ?? container.batches) as RawResourceSpans[] | undefined;
  if (!Array.isArray(batches)) {
    if (Object.keys(container).length === 0) return { spans: [], partial, message };
    throw new Error('The trace response has neither "batches" nor "resourceSpans".');
  }
  const spans: Span[] = [];
  for (const rs of batches) {
    const resource = parseAttrs(rs.resource?.attributes);
    const svcAttr = resource.find((a) => a.key === 'service.name');
    const service = svcAttr ? attrString(svcAttr.value) : 'unknown_service';
    for (const ss of rs.scopeSpans ?? rs.instrumentationLibrarySpans ?? []) {
      const sc = ss.scope ?? ss.instrumentationLibrary ?? {};
      const scope = { name: sc.name ?? '', version: sc.version ?? '' };
      for (const s of ss.spans ?? []) {
        const startNs = toBig(s.startTimeUnixNano);
        let endNs = toBig(s.endTimeUnixNano);
        if (endNs < startNs) endNs = startNs;
        spans.push({
          traceId: normalizeId(s.traceId, 32),
          spanId: normalizeId(s.spanId, 16),
          parentSpanId: normalizeId(s.parentSpanId, 16),
          name: s.name ?? '',
          kind: parseKind(s.kind),
          startNs,
          endNs,
          statusCode: parseStatus(s.status?.code),
          statusMessage: s.status?.message ?? '',
          traceState: s.traceState ?? '',
          attributes: parseAttrs(s.attributes),
          events: (s.events ?? []).map((e) => ({ timeNs: toBig(e.timeUnixNano), name: e.name ?? '', attributes: parseAttrs(e.attributes) })),
          links: (s.links ?? []).map((l) => ({ traceId: normalizeId(l.traceId, 32), spanId: normalizeId(l.spanId, 16), attributes: parseAttrs(l.attributes) })),
          service,
          resource,
          scope,
        });
      }
    }
  }
  return { spans, partial, message };
}
