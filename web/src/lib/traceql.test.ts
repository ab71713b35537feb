import { describe, expect, it } from 'vitest';
import { buildTraceQL, emptySearch, isTraceIdQuery, parseTags, scopedTag, tokenizeTraceQL, validDuration } from './traceql';

describe('buildTraceQL', () => {
  it('is {} without filters', () => {
    expect(buildTraceQL(emptySearch())).toBe('{}');
  });
  it('joins the filters Grafana style', () => {
    expect(buildTraceQL({
      service: 'checkout', operation: 'POST /pay', status: 'error', minDuration: '100ms', maxDuration: '2s',
      tags: 'http.method=GET span.http.status_code>=500 resource.k8s.pod.name="pod 1"',
    })).toBe(
      '{resource.service.name="checkout" && name="POST /pay" && status=error && duration>=100ms && duration<=2s && .http.method="GET" && span.http.status_code>=500 && resource.k8s.pod.name="pod 1"}',
    );
  });
  it('escapes quotes and keeps regex values quoted', () => {
    expect(buildTraceQL({ ...emptySearch(), service: 'a"b', tags: 'http.url=~"/api/.*" ok=true n=1.5' })).toBe(
      '{resource.service.name="a\\"b" && .http.url=~"/api/.*" && .ok=true && .n=1.5}',
    );
  });
  it('parses tags and scopes', () => {
    expect(parseTags('a=1 b!="x y" c=~re')).toEqual([
      { key: 'a', op: '=', value: '1' }, { key: 'b', op: '!=', value: 'x y' }, { key: 'c', op: '=~', value: 're' },
    ]);
    expect(scopedTag('duration')).toBe('duration');
    expect(scopedTag('.x')).toBe('.x');
    expect(scopedTag('span:name')).toBe('span:name');
    expect(scopedTag('http.method')).toBe('.http.method');
  });
  it('recognises trace ids and durations', () => {
    expect(isTraceIdQuery('4bf92f3577b34da6a3ce929d0e0e4736')).toBe(true);
    expect(isTraceIdQuery(' a3ce929d ')).toBe(true);
    expect(isTraceIdQuery('{}')).toBe(false);
    expect(isTraceIdQuery('4bf92f3577b34da6a3ce929d0e0e47361')).toBe(false);
    expect(validDuration('1.5s')).toBe(true);
    expect(validDuration('')).toBe(true);
    expect(validDuration('1.5')).toBe(false);
  });
  it('tokenizes for highlighting', () => {
    const q = '{ resource.service.name = "a" && duration > 1s } | count() > 2';
    const toks = tokenizeTraceQL(q);
    expect(toks.map((t) => t.text).join('')).toBe(q);
    expect(toks.filter((t) => t.type !== 'ws').map((t) => t.type)).toEqual([
      'brace', 'label', 'op', 'string', 'op', 'func', 'op', 'duration', 'brace', 'pipe', 'keyword', 'paren', 'paren', 'op', 'number',
    ]);
  });
});
