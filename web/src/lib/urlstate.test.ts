import { describe, expect, it } from 'vitest';
import { DEFAULT_STATE, decodeState, encodeState, hrefFor, type AppState } from './urlstate';

const roundTrip = (s: AppState) => {
  const { path, search } = encodeState(s);
  return { ...DEFAULT_STATE, ...decodeState(path, search) };
};

describe('URL state', () => {
  it('writes nothing for defaults', () => {
    expect(encodeState(DEFAULT_STATE)).toEqual({ path: 'logs', search: '' });
    expect(decodeState('/', '')).toEqual(decodeState('logs', ''));
  });
  it('round-trips the logs view', () => {
    const s: AppState = {
      ...DEFAULT_STATE, page: 'logs', from: 'now-15m', to: 'now', q: '{service_name="checkout"} |= "a&b=c" | json',
      mode: 'code', limit: 5000, exp: ['1764084645000000000_deadbeef', '1764084644000000000_0badf00d_1'], live: true,
      ctx: '1764084645000000000_deadbeef',
    };
    expect(roundTrip(s)).toEqual(s);
  });
  it('round-trips the traces view', () => {
    const s: AppState = {
      ...DEFAULT_STATE, page: 'traces', from: '1764084000000', to: '1764087600000', tmode: 'traceql',
      tq: '{status=error && duration>1s}', svc: 'checkout', op: 'POST /pay', tags: 'http.method=GET', minDur: '100ms',
      maxDur: '2s', status: 'error', tlimit: 50, trace: '4bf92f3577b34da6a3ce929d0e0e4736', span: '00f067aa0ba902b7',
    };
    expect(roundTrip(s)).toEqual(s);
  });
  it('round-trips services and cluster', () => {
    const s: AppState = { ...DEFAULT_STATE, page: 'services', sort: '-p99', filter: 'check' };
    expect(roundTrip(s)).toEqual(s);
    expect(roundTrip({ ...DEFAULT_STATE, page: 'cluster', from: 'now-6h' })).toEqual({ ...DEFAULT_STATE, page: 'cluster', from: 'now-6h' });
  });
  it('only writes the current page fields', () => {
    const { search } = encodeState({ ...DEFAULT_STATE, page: 'services', q: '{a="b"}', trace: 'abc' });
    expect(search).toBe('');
  });
  it('ignores invalid values', () => {
    const d = decodeState('/logs', '?mode=weird&limit=-5&live=yes');
    expect(d.mode).toBe('builder');
    expect(d.limit).toBe(0);
    expect(d.live).toBe(false);
    expect(decodeState('/nope', '').page).toBe('logs');
    expect(decodeState('/traces', '?status=bad').status).toBe('');
  });
  it('builds hrefs under a base path', () => {
    expect(hrefFor({ ...DEFAULT_STATE, page: 'cluster' }, '/strata/')).toBe('/strata/cluster');
    expect(hrefFor({ ...DEFAULT_STATE, page: 'logs', q: '{a="b"}' }, '/')).toBe('/logs?q=%7Ba%3D%22b%22%7D');
  });
});
