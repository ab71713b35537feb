import { describe, expect, it } from 'vitest';
import { anyValue, base64ToHex, displayTraceId, normalizeId, padTraceId, parseKind, parseStatus, parseTrace } from './otlp';

const TRACE_HEX = '4bf92f3577b34da6a3ce929d0e0e4736';
const TRACE_B64 = 'S/kvNXezTaajzpKdDg5HNg==';
const SPAN_HEX = '00f067aa0ba902b7';
const SPAN_B64 = 'APBnqgupArc=';

const span = (id: string, parent: string, extra: Record<string, unknown> = {}) => ({
  traceId: TRACE_HEX, spanId: id, parentSpanId: parent, name: `op-${id.slice(-2)}`, kind: 2,
  startTimeUnixNano: '1764084645000000000', endTimeUnixNano: '1764084645100000000', ...extra,
});

describe('ids', () => {
  it('decodes base64 and keeps hex', () => {
    expect(base64ToHex(TRACE_B64)).toBe(TRACE_HEX);
    expect(base64ToHex(SPAN_B64)).toBe(SPAN_HEX);
    expect(normalizeId(TRACE_B64, 32)).toBe(TRACE_HEX);
    expect(normalizeId(TRACE_HEX.toUpperCase(), 32)).toBe(TRACE_HEX);
    expect(normalizeId(SPAN_B64, 16)).toBe(SPAN_HEX);
    expect(normalizeId(SPAN_HEX, 16)).toBe(SPAN_HEX);
    expect(normalizeId('', 16)).toBe('');
    expect(normalizeId(undefined, 16)).toBe('');
  });
  it('pads and trims 64-bit trace ids', () => {
    expect(padTraceId('a3ce929d0e0e4736')).toBe('0000000000000000a3ce929d0e0e4736');
    expect(displayTraceId('0000000000000000a3ce929d0e0e4736')).toBe('a3ce929d0e0e4736');
    expect(displayTraceId(TRACE_HEX)).toBe(TRACE_HEX);
  });
});

describe('values and enums', () => {
  it('reads every AnyValue kind', () => {
    expect(anyValue({ stringValue: 'x' })).toEqual({ value: 'x', type: 'string' });
    expect(anyValue({ intValue: '500' })).toEqual({ value: 500, type: 'int' });
    expect(anyValue({ intValue: '9223372036854775807' })).toEqual({ value: '9223372036854775807', type: 'int' });
    expect(anyValue({ doubleValue: 1.5 })).toEqual({ value: 1.5, type: 'double' });
    expect(anyValue({ boolValue: false })).toEqual({ value: false, type: 'bool' });
    expect(anyValue({ arrayValue: { values: [{ stringValue: 'a' }, { intValue: 1 }] } })).toEqual({ value: ['a', 1], type: 'array' });
    expect(anyValue({ kvlistValue: { values: [{ key: 'k', value: { boolValue: true } }] } })).toEqual({ value: { k: true }, type: 'kvlist' });
    expect(anyValue({ bytesValue: 'AQI=' })).toEqual({ value: '0102', type: 'bytes' });
    expect(anyValue({})).toEqual({ value: null, type: 'empty' });
  });
  it('reads kinds and statuses as numbers or names', () => {
    expect(parseKind(2)).toBe('server');
    expect(parseKind('SPAN_KIND_CLIENT')).toBe('client');
    expect(parseKind('3')).toBe('client');
    expect(parseKind(undefined)).toBe('unspecified');
    expect(parseStatus(2)).toBe('error');
    expect(parseStatus('STATUS_CODE_OK')).toBe('ok');
    expect(parseStatus(undefined)).toBe('unset');
  });
});

describe('parseTrace', () => {
  const resource = { attributes: [{ key: 'service.name', value: { stringValue: 'checkout' } }, { key: 'host.name', value: { stringValue: 'h1' } }] };
  it('reads Tempo v1 {"batches": …} with base64 ids and instrumentationLibrarySpans', () => {
    const t = parseTrace({
      batches: [{
        resource,
        instrumentationLibrarySpans: [{
          instrumentationLibrary: { name: 'otel-go', version: '1.0' },
          spans: [{
            traceId: TRACE_B64, spanId: SPAN_B64, name: 'GET /cart', kind: 'SPAN_KIND_SERVER',
            startTimeUnixNano: '1764084645000000000', endTimeUnixNano: '1764084645250000000',
            status: { code: 'STATUS_CODE_ERROR', message: 'boom' },
            attributes: [{ key: 'http.status_code', value: { intValue: '500' } }],
            events: [{ timeUnixNano: '1764084645100000000', name: 'exception', attributes: [{ key: 'exception.message', value: { stringValue: 'x' } }] }],
            links: [{ traceId: TRACE_B64, spanId: SPAN_B64 }],
          }],
        }],
      }],
    });
    expect(t.partial).toBe(false);
    expect(t.spans).toHaveLength(1);
    const s = t.spans[0];
    expect(s).toMatchObject({
      traceId: TRACE_HEX, spanId: SPAN_HEX, parentSpanId: '', name: 'GET /cart', kind: 'server',
      statusCode: 'error', statusMessage: 'boom', service: 'checkout', scope: { name: 'otel-go', version: '1.0' },
    });
    expect(s.endNs - s.startNs).toBe(250_000_000n);
    expect(s.attributes).toEqual([{ key: 'http.status_code', value: 500, type: 'int' }]);
    expect(s.events[0]).toMatchObject({ name: 'exception', timeNs: 1764084645100000000n });
    expect(s.links[0]).toMatchObject({ traceId: TRACE_HEX, spanId: SPAN_HEX });
    expect(s.resource.map((a) => a.key)).toEqual(['service.name', 'host.name']);
  });
  it('reads {"resourceSpans": …} with hex ids (OTLP/JSON)', () => {
    const t = parseTrace({ resourceSpans: [{ resource, scopeSpans: [{ scope: { name: 's' }, spans: [span('aaaaaaaaaaaaaaaa', ''), span('bbbbbbbbbbbbbbbb', 'aaaaaaaaaaaaaaaa')] }] }] });
    expect(t.spans.map((s) => [s.spanId, s.parentSpanId, s.kind])).toEqual([
      ['aaaaaaaaaaaaaaaa', '', 'server'],
      ['bbbbbbbbbbbbbbbb', 'aaaaaaaaaaaaaaaa', 'server'],
    ]);
  });
  it('reads Tempo v2 {"trace": {"resourceSpans": …}} with partial status', () => {
    const t = parseTrace({ trace: { resourceSpans: [{ resource, scopeSpans: [{ spans: [span('aaaaaaaaaaaaaaaa', '')] }] }] }, status: 'PARTIAL', message: 'too big' });
    expect(t.spans).toHaveLength(1);
    expect(t.partial).toBe(true);
    expect(t.message).toBe('too big');
  });
  it('names spans without service.name unknown_service and fixes end<start', () => {
    const t = parseTrace({ resourceSpans: [{ scopeSpans: [{ spans: [span('aaaaaaaaaaaaaaaa', '', { endTimeUnixNano: '1' })] }] }] });
    expect(t.spans[0].service).toBe('unknown_service');
    expect(t.spans[0].endNs).toBe(t.spans[0].startNs);
  });
  it('accepts an empty trace and rejects other JSON', () => {
    expect(parseTrace({}).spans).toEqual([]);
    expect(parseTrace({ trace: {} }).spans).toEqual([]);
    expect(() => parseTrace({ foo: 1 })).toThrow(/batches/);
    expect(() => parseTrace(null)).toThrow();
  });
});
