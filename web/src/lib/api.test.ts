import { describe, expect, it } from 'vitest';
import { errorHint, errorText, tailUrl } from './api';
import { updateSettings } from './settings';

describe('error messages', () => {
  it('extracts the server text', () => {
    expect(errorText('parse error at line 1, col 5: syntax error: unexpected IDENTIFIER\n')).toBe('parse error at line 1, col 5: syntax error: unexpected IDENTIFIER');
    expect(errorText('{"status":"error","errorType":"bad_data","error":"invalid direction"}')).toBe('bad_data: invalid direction');
    expect(errorText('{"message":"no org id"}')).toBe('no org id');
    expect(errorText('{"other":1}')).toBe('{"other":1}');
  });
  it('says what to fix', () => {
    expect(errorHint(400, 'parse error at line 1, col 5')).toMatch(/syntax/);
    expect(errorHint(401, 'no org id')).toMatch(/tenant/);
    expect(errorHint(400, 'queries require at least one regexp or equality matcher that does not have an empty-compatible value')).toMatch(/label matcher/);
    expect(errorHint(400, 'the query time range exceeds the limit (query length: 800h, limit: 721h)')).toMatch(/shorter/);
    expect(errorHint(429, 'too many outstanding requests')).toMatch(/rate limiting/);
    expect(errorHint(504, 'request timed out')).toMatch(/Narrow/);
    expect(errorHint(0, '')).toMatch(/running/);
    expect(errorHint(404, '404 page not found', '/ui/api/services')).toMatch(/UI API/);
  });
});

describe('tailUrl', () => {
  it('uses ws(s) and passes the tenant as a query parameter', () => {
    updateSettings({ tenant: '' });
    expect(tailUrl('{a="b"}', {}, { protocol: 'http:', host: 'h:3100' })).toBe('ws://h:3100/loki/api/v1/tail?query=%7Ba%3D%22b%22%7D');
    updateSettings({ tenant: 'team-a' });
    expect(tailUrl('{a="b"}', { limit: 10 }, { protocol: 'https:', host: 'h' })).toBe('wss://h/loki/api/v1/tail?query=%7Ba%3D%22b%22%7D&limit=10&tenant=team-a');
    updateSettings({ tenant: '' });
  });
});
