import { describe, expect, it } from 'vitest';
import {
  collectPages, detectLevel, fnv32, lineFields, mergeRows, normalizeLevel, parseLogfmt, parseMatrix, parseStreams, parseTailFrame,
  rowLabels, rowSpanId, rowTraceId, toCsv, toNdjson, volumeBuckets,
} from './loki';

const categorized = [
  {
    stream: { service_name: 'checkout' },
    values: [
      ['1764084645000000000', 'GET /cart 500', { structuredMetadata: { trace_id: '4BF92F3577B34DA6A3CE929D0E0E4736', detected_level: 'error' }, parsed: { status: '500' } }],
      ['1764084644000000000', 'GET /cart 200', {}],
    ],
  },
  { stream: { service_name: 'web' }, values: [['1764084644500000000', 'level=warn msg="slow request" took=2s', {}]] },
];

describe('parseStreams', () => {
  it('flattens streams newest first with categorized labels', () => {
    const { rows, streams } = parseStreams(categorized, true);
    expect(streams).toBe(2);
    expect(rows.map((r) => r.line)).toEqual(['GET /cart 500', 'level=warn msg="slow request" took=2s', 'GET /cart 200']);
    expect(rows[0].meta).toEqual({ trace_id: '4BF92F3577B34DA6A3CE929D0E0E4736', detected_level: 'error' });
    expect(rows[0].parsed).toEqual({ status: '500' });
    expect(rows[0].level).toBe('error');
    expect(rows[1].level).toBe('warn');
    expect(rows[2].level).toBe('unknown');
    expect(rows[0].tsMs).toBe(1764084645000);
    expect(rows[0].id).toMatch(/^1764084645000000000_[0-9a-f]{8}$/);
  });
  it('sorts oldest first for forward queries', () => {
    const { rows } = parseStreams(categorized, true, 'forward');
    expect(rows.map((r) => r.tsNs)).toEqual(['1764084644000000000', '1764084644500000000', '1764084645000000000']);
  });
  it('accepts plain two-element entries and gives exact duplicates distinct ids', () => {
    const { rows } = parseStreams([{ stream: { a: 'b', level: 'INFO' }, values: [['1', 'x'], ['1', 'x']] }], false);
    expect(rows).toHaveLength(2);
    expect(rows[0].id).not.toBe(rows[1].id);
    expect(rows[0].level).toBe('info');
    expect(rows[0].meta).toEqual({});
  });
  it('tolerates junk', () => {
    expect(parseStreams(null, false).rows).toEqual([]);
    expect(parseStreams([{ values: [['1']] }, {}], false).rows).toEqual([]);
  });
  it('merges pages without duplicates', () => {
    const a = parseStreams(categorized, true).rows;
    const b = parseStreams([categorized[0]], true).rows;
    expect(mergeRows(a.slice(0, 2), b)).toHaveLength(3);
  });
});

describe('levels', () => {
  it('normalises spellings', () => {
    expect(normalizeLevel('WARNING')).toBe('warn');
    expect(normalizeLevel('Err')).toBe('error');
    expect(normalizeLevel('FATAL')).toBe('critical');
    expect(normalizeLevel('INFO2')).toBe('info');
    expect(normalizeLevel('notice')).toBe('info');
    expect(normalizeLevel('')).toBe('unknown');
    expect(normalizeLevel('banana')).toBe('unknown');
  });
  it('prefers labels and falls back to the line', () => {
    expect(detectLevel([{ detected_level: 'debug' }], 'ERROR boom')).toBe('debug');
    expect(detectLevel([{}], '2026-01-01 ERROR boom')).toBe('error');
    expect(detectLevel([{}], '{"level":"warn","msg":"x"}')).toBe('warn');
    expect(detectLevel([{}], 'lvl=dbug')).toBe('unknown');
    expect(detectLevel([{ severity_text: 'Information' }], '')).toBe('info');
  });
});

describe('row helpers', () => {
  const { rows } = parseStreams(categorized, true);
  it('finds trace ids and span ids', () => {
    expect(rowTraceId(rows[0])).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(rowTraceId(rows[2])).toBeUndefined();
    const r = { ...rows[2], meta: { span_id: '00F067AA0BA902B7', trace_id: '0000' } };
    expect(rowSpanId(r)).toBe('00f067aa0ba902b7');
    expect(rowTraceId(r)).toBeUndefined();
  });
  it('lists labels by kind', () => {
    expect(rowLabels(rows[0])).toEqual([
      { key: 'service_name', value: 'checkout', kind: 'I' },
      { key: 'trace_id', value: '4BF92F3577B34DA6A3CE929D0E0E4736', kind: 'S' },
      { key: 'detected_level', value: 'error', kind: 'S' },
      { key: 'status', value: '500', kind: 'P' },
    ]);
  });
  it('reads JSON and logfmt lines', () => {
    expect(lineFields('{"a":1,"b":{"c":"d"},"e.f":true}')).toEqual({ parser: 'json', fields: [['a', '1'], ['b_c', 'd'], ['e_f', 'true']] });
    expect(lineFields('level=warn msg="slow request" took=2s')).toEqual({ parser: 'logfmt', fields: [['level', 'warn'], ['msg', 'slow request'], ['took', '2s']] });
    expect(lineFields('just text')).toBeNull();
    expect(parseLogfmt('a="x \\"y\\"" b=')).toEqual([['a', 'x "y"'], ['b', '']]);
  });
  it('hashes with FNV-1a', () => {
    expect(fnv32('')).toBe('811c9dc5');
    expect(fnv32('a')).toBe('e40c292c');
  });
});

describe('matrix and volume', () => {
  it('parses matrix values', () => {
    expect(parseMatrix([{ metric: { detected_level: 'info' }, values: [[1700000015.5, '2'], [1700000030, 'NaN']] }])).toEqual([
      { labels: { detected_level: 'info' }, points: [[1700000015500, 2], [1700000030000, NaN]] },
    ]);
    expect(parseMatrix(undefined)).toEqual([]);
  });
  it('stacks counts by level on the step grid', () => {
    const start = 1_700_000_040_000; // a multiple of the step
    const series = parseMatrix([
      { metric: { detected_level: 'error' }, values: [[1_700_000_100, '3'], [1_700_000_160, '1']] },
      { metric: { detected_level: 'info' }, values: [[1_700_000_100, '10']] },
      { metric: {}, values: [[1_700_000_220, '2']] },
    ]);
    const b = volumeBuckets(series, start, start + 180_000, 60);
    expect(b).toHaveLength(3);
    expect(b[0]).toEqual({ tMs: start, counts: { error: 3, info: 10 }, total: 13 });
    expect(b[1]).toEqual({ tMs: start + 60_000, counts: { error: 1 }, total: 1 });
    expect(b[2]).toEqual({ tMs: start + 120_000, counts: { unknown: 2 }, total: 2 });
  });
});

describe('tail frames', () => {
  it('reads streams and dropped entries', () => {
    const f = parseTailFrame(JSON.stringify({
      streams: [{ stream: { service_name: 'e2e' }, values: [['1764084645000000000', 'hello']] }],
      dropped_entries: [{ labels: {}, timestamp: '1' }],
    }));
    expect(f.rows.map((r) => r.line)).toEqual(['hello']);
    expect(f.dropped).toBe(1);
  });
  it('reads categorized tail frames', () => {
    const f = parseTailFrame(JSON.stringify({
      streams: [{ stream: { service_name: 'e2e' }, values: [['1', 'x', { structuredMetadata: { trace_id: 'ab' } }]] }],
      encodingFlags: ['categorize-labels'],
    }));
    expect(f.rows[0].meta).toEqual({ trace_id: 'ab' });
    expect(f.rows[0].categorized).toBe(true);
  });
});

describe('export', () => {
  const { rows } = parseStreams(categorized, true);
  it('writes NDJSON', () => {
    const lines = toNdjson(rows).trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(3);
    expect(lines[0]).toEqual({
      timestamp: '2025-11-25T15:30:45.000Z', ts_ns: '1764084645000000000', level: 'error', line: 'GET /cart 500',
      labels: { service_name: 'checkout' }, structured_metadata: { trace_id: '4BF92F3577B34DA6A3CE929D0E0E4736', detected_level: 'error' }, parsed: { status: '500' },
    });
    expect(toNdjson([])).toBe('');
  });
  it('writes CSV with a column per label and quoting', () => {
    const csv = toCsv(rows).split('\r\n');
    expect(csv[0]).toBe('timestamp,ts_ns,level,detected_level,service_name,status,trace_id,line');
    expect(csv[1]).toBe('2025-11-25T15:30:45.000Z,1764084645000000000,error,error,checkout,500,4BF92F3577B34DA6A3CE929D0E0E4736,GET /cart 500');
    expect(csv[2]).toBe('2025-11-25T15:30:44.500Z,1764084644500000000,warn,,web,,,"level=warn msg=""slow request"" took=2s"');
  });
});

describe('collectPages', () => {
  // A server holding `n` lines, `perTs` per timestamp, that answers backward queries with
  // end exclusive and refuses limits above `max`, as Loki and Strata do.
  function server(n: number, perTs: number, max: number) {
    const all = parseStreams([{ stream: { s: 'a' }, values: Array.from({ length: n }, (_, i) => [String(1_000_000 + Math.floor(i / perTs)), `line ${i}`]) }], false).rows;
    const calls: number[] = [];
    const fetchPage = async (after: string | null, limit: number) => {
      calls.push(limit);
      if (limit > max) throw new Error(`limit ${limit} > ${max}`);
      const end = after === null ? Infinity : Number(after) + 1;
      return all.filter((r) => Number(r.tsNs) < end).slice(0, limit);
    };
    return { all, calls, fetchPage };
  }

  it('loads more lines than one page may hold', async () => {
    const s = server(12_000, 1, 5000);
    const seen: number[] = [];
    const p = await collectPages(10_000, 5000, s.fetchPage, (rows) => seen.push(rows.length));
    expect(p.rows.length).toBe(10_000);
    expect(p.rows.map((r) => r.line)).toEqual(s.all.slice(0, 10_000).map((r) => r.line));
    expect(p.more).toBe(true);
    expect(Math.max(...s.calls)).toBeLessThanOrEqual(5000);
    expect(seen[0]).toBe(5000);
  });

  it('stops at the end of the data and keeps lines that share a timestamp', async () => {
    const s = server(7003, 7, 1000);
    const p = await collectPages(10_000, 1000, s.fetchPage);
    expect(p.rows.length).toBe(7003);
    expect(new Set(p.rows.map((r) => r.id)).size).toBe(7003);
    expect(p.more).toBe(false);
  });

  it('uses one request when the limit fits', async () => {
    const s = server(50, 1, 5000);
    const p = await collectPages(1000, 5000, s.fetchPage);
    expect(s.calls).toEqual([1000]);
    expect(p.rows.length).toBe(50);
    expect(p.more).toBe(false);
  });

  it('ends when one timestamp holds more lines than a page', async () => {
    const s = server(30, 30, 10);
    const p = await collectPages(100, 10, s.fetchPage);
    expect(p.rows.length).toBe(10);
    expect(p.more).toBe(true);
  });
});
