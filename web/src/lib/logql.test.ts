import { describe, expect, it } from 'vitest';
import {
  addLabelFilterStage, addLineFilter, addSelectorMatcher, buildLogQL, completionContext, emptyBuilder,
  ensureParser, escapeRegex, isMetricQuery, lineFilterTerms, parseBuilder, quote, streamSelector, tokenize,
  traceLogsQuery, volumeQuery, type BuilderState,
} from './logql';

const types = (q: string) => tokenize(q).filter((t) => t.type !== 'ws').map((t) => `${t.type}:${t.text}`);

describe('tokenize', () => {
  it('covers every character', () => {
    const q = '{service_name="checkout", env=~`prod.*`} |= "time\\"out" | json | status>=500 # note';
    expect(tokenize(q).map((t) => t.text).join('')).toBe(q);
  });
  it('classifies selectors, filters and stages', () => {
    expect(types('{app="a"} |= "x" | json | status>=500 | latency > 250ms | size < 1KB')).toEqual([
      'brace:{', 'label:app', 'op:=', 'string:"a"', 'brace:}', 'op:|=', 'string:"x"', 'pipe:|', 'keyword:json',
      'pipe:|', 'label:status', 'op:>=', 'number:500', 'pipe:|', 'label:latency', 'op:>', 'duration:250ms',
      'pipe:|', 'label:size', 'op:<', 'bytes:1KB',
    ]);
  });
  it('classifies metric queries', () => {
    expect(types('sum by (level) (count_over_time({a="b"}[5m]))')).toEqual([
      'func:sum', 'keyword:by', 'paren:(', 'ident:level', 'paren:)', 'paren:(', 'func:count_over_time', 'paren:(',
      'brace:{', 'label:a', 'op:=', 'string:"b"', 'brace:}', 'bracket:[', 'duration:5m', 'bracket:]', 'paren:)', 'paren:)',
    ]);
  });
  it('decodes string values and marks unterminated strings', () => {
    const t = tokenize('{a="x\\"y"} |= `raw\\d`');
    expect(t.find((x) => x.text.startsWith('"'))?.value).toBe('x"y');
    expect(t.find((x) => x.text.startsWith('`'))?.value).toBe('raw\\d');
    expect(tokenize('{a="unterminated').pop()?.type).toBe('error');
    expect(tokenize('{a=`unterminated').pop()?.type).toBe('error');
  });
  it('handles comments, flags and line_format templates', () => {
    expect(types('{a="b"} | logfmt --strict # c')).toEqual([
      'brace:{', 'label:a', 'op:=', 'string:"b"', 'brace:}', 'pipe:|', 'keyword:logfmt', 'keyword:--strict', 'comment:# c',
    ]);
    expect(types('{a="b"} | line_format "{{.msg}}"')).toContain('string:"{{.msg}}"');
  });
  it('detects metric queries', () => {
    expect(isMetricQuery('{a="b"} |= "x"')).toBe(false);
    expect(isMetricQuery('  # c\n{a="b"}')).toBe(false);
    expect(isMetricQuery('rate({a="b"}[1m])')).toBe(true);
    expect(isMetricQuery('sum(count_over_time({a="b"}[1m]))')).toBe(true);
  });
});

describe('quote', () => {
  it('escapes or uses backticks', () => {
    expect(quote('plain')).toBe('"plain"');
    expect(quote('say "hi"')).toBe('`say "hi"`');
    expect(quote('C:\\dir')).toBe('`C:\\dir`');
    expect(quote('a`b"c')).toBe('"a`b\\"c"');
    expect(quote('two\nlines')).toBe('"two\\nlines"');
    expect(escapeRegex('a.b|c')).toBe('a\\.b\\|c');
  });
});

describe('builder', () => {
  const state = (p: Partial<BuilderState>): BuilderState => ({ ...emptyBuilder(), ...p });

  it('selects every service by default', () => {
    expect(buildLogQL(emptyBuilder())).toBe('{service_name=~".+"}');
  });
  it('generates selector, line filters and stages in order', () => {
    const s = state({
      services: ['checkout'], levels: ['error', 'warn'], contains: ['timeout'], excludes: ['healthz'],
      parser: 'json', filters: [{ key: 'status', op: '>=', value: '500' }, { key: 'env', op: '=', value: 'prod' }],
    });
    expect(buildLogQL(s, new Set(['env', 'service_name']))).toBe(
      '{service_name="checkout", env="prod"} |= "timeout" != "healthz" | json | detected_level=~"error|warn" | status>=500',
    );
    expect(buildLogQL(s)).toBe(
      '{service_name="checkout"} |= "timeout" != "healthz" | json | detected_level=~"error|warn" | status>=500 | env="prod"',
    );
  });
  it('uses a regex for several services and case-insensitive terms', () => {
    const s = state({ services: ['a.b', 'c'], contains: ['Time Out'], caseInsensitive: true, levels: ['error'] });
    expect(buildLogQL(s)).toBe('{service_name=~`a\\.b|c`} |~ "(?i)Time Out" | detected_level="error"');
  });
  it('quotes non-numeric values even for comparisons', () => {
    expect(buildLogQL(state({ filters: [{ key: 'latency', op: '>', value: '250ms' }, { key: 'user', op: '>', value: 'bob' }] }))).toBe(
      '{service_name=~".+"} | latency>250ms | user>"bob"',
    );
  });
  it('round-trips through parseBuilder', () => {
    const cases: BuilderState[] = [
      emptyBuilder(),
      state({ services: ['checkout'] }),
      state({ services: ['a', 'b.c'], levels: ['error', 'critical'] }),
      state({ contains: ['x "quoted"', 'back\\slash'], excludes: ['y'] }),
      state({ contains: ['Hello.World'], caseInsensitive: true, excludes: ['debug'] }),
      state({ parser: 'logfmt', filters: [{ key: 'status', op: '>=', value: '500' }, { key: 'user', op: '!=', value: 'bob' }] }),
      state({ services: ['web'], filters: [{ key: 'trace_id', op: '=', value: 'abc' }, { key: 'path', op: '=~', value: '/api/.*' }] }),
    ];
    for (const c of cases) {
      const q = buildLogQL(c);
      const r = parseBuilder(q);
      expect('state' in r ? r.state : r, q).toEqual(c);
      expect(buildLogQL((r as { state: BuilderState }).state)).toBe(q);
    }
  });
  it('reads selector filters back from indexed labels', () => {
    const s = state({ services: ['web'], filters: [{ key: 'env', op: '!=', value: 'dev' }] });
    const q = buildLogQL(s, new Set(['env']));
    expect(q).toBe('{service_name="web", env!="dev"}');
    expect(parseBuilder(q)).toEqual({ state: s });
  });
  it('reads hand-written queries the builder can show', () => {
    expect(parseBuilder('{service_name="api"} |= `boom` | level="error"')).toEqual({
      state: state({ services: ['api'], contains: ['boom'], filters: [{ key: 'level', op: '=', value: 'error' }] }),
    });
    expect(parseBuilder('')).toEqual({ state: emptyBuilder() });
    expect(parseBuilder('{app="x"}')).toEqual({ state: state({ filters: [{ key: 'app', op: '=', value: 'x' }] }) });
  });
  it('refuses what it cannot show', () => {
    for (const q of [
      'rate({a="b"}[1m])',
      '{a="b"} |~ "err.*"',
      '{a="b"} | line_format "{{.x}}"',
      '{a="b"} | json a="b"',
      '{a="b"} |= "x" or "y"',
      '{a="b"} | x="1" or y="2"',
      '{a="b"} |= "A" |~ "(?i)b"',
      '{a="b"',
    ]) {
      expect('error' in parseBuilder(q), q).toBe(true);
    }
  });
});

describe('filter for / filter out', () => {
  it('adds indexed labels inside the selector', () => {
    expect(addSelectorMatcher('{service_name="a"} |= "x"', 'env', '=', 'prod')).toBe('{service_name="a", env="prod"} |= "x"');
    expect(addSelectorMatcher('{service_name="a"}', 'env', '!=', 'prod')).toBe('{service_name="a", env!="prod"}');
    expect(addSelectorMatcher('{ }', 'env', '=', 'prod')).toBe('{env="prod" }');
    expect(addSelectorMatcher('', 'env', '=', 'prod')).toBe('{env="prod"}');
  });
  it('replaces catch-alls, opposites and other values of the same label', () => {
    expect(addSelectorMatcher('{service_name=~".+"}', 'service_name', '=', 'web')).toBe('{service_name="web"}');
    expect(addSelectorMatcher('{a="b", env!="prod"}', 'env', '=', 'prod')).toBe('{a="b", env="prod"}');
    expect(addSelectorMatcher('{a="b", env="prod"}', 'env', '=', 'dev')).toBe('{a="b", env="dev"}');
    expect(addSelectorMatcher('{a="b", env="prod"}', 'env', '=', 'prod')).toBe('{a="b", env="prod"}');
  });
  it('works inside metric queries', () => {
    expect(addSelectorMatcher('rate({a="b"}[1m])', 'c', '=', 'd')).toBe('rate({a="b", c="d"}[1m])');
    expect(addLabelFilterStage('sum(rate({a="b"} | json [1m]))', 'status', '=', '500')).toBe('sum(rate({a="b"} | json | status="500" [1m]))');
  });
  it('appends label filter stages for metadata and parsed fields', () => {
    expect(addLabelFilterStage('{a="b"} | json', 'status', '=', '500')).toBe('{a="b"} | json | status="500"');
    expect(addLabelFilterStage('{a="b"} | json | status="500"', 'status', '=', '500')).toBe('{a="b"} | json | status="500"');
    expect(addLabelFilterStage('{a="b"} | status="500"', 'status', '!=', '500')).toBe('{a="b"} | status!="500"');
    expect(addLabelFilterStage('{a="b"}  ', 'trace_id', '=', 'abc')).toBe('{a="b"} | trace_id="abc"  ');
  });
  it('adds parsers and line filters', () => {
    expect(ensureParser('{a="b"} |= "x"', 'json')).toBe('{a="b"} |= "x" | json');
    expect(ensureParser('{a="b"} | logfmt', 'json')).toBe('{a="b"} | logfmt');
    expect(addLineFilter('{a="b"} | json', '|=', 'err')).toBe('{a="b"} |= "err" | json');
    expect(addLineFilter('{a="b"}', '!=', 'x')).toBe('{a="b"} != "x"');
  });
  it('builds exact stream selectors', () => {
    expect(streamSelector({ service_name: 'web', env: 'prod "x"' })).toBe('{env=`prod "x"`, service_name="web"}');
  });
});

describe('derived queries', () => {
  it('builds the volume query', () => {
    expect(volumeQuery('{a="b"} |= "x" ', '1m')).toBe('sum by (detected_level) (count_over_time({a="b"} |= "x" [1m]))');
  });
  it('builds trace and span log queries', () => {
    expect(traceLogsQuery('4bf92f3577b34da6a3ce929d0e0e4736')).toBe('{service_name=~".+"} | trace_id="4bf92f3577b34da6a3ce929d0e0e4736"');
    expect(traceLogsQuery('abc', '00f067aa0ba902b7', 'checkout')).toBe('{service_name="checkout"} | trace_id="abc" | span_id="00f067aa0ba902b7"');
  });
  it('extracts line filter terms for highlighting', () => {
    expect(lineFilterTerms('{a="b"} |= "x" |= "y" or "z" != "no" |~ "(?i)re+" | json')).toEqual({ literals: ['x', 'y', 'z'], regexes: ['(?i)re+'] });
  });
});

describe('completionContext', () => {
  const at = (q: string) => completionContext(q.replace('‸', ''), q.indexOf('‸'));
  it('offers label names in selectors', () => {
    expect(at('{‸')).toMatchObject({ kind: 'label-name', prefix: '' });
    expect(at('{serv‸')).toMatchObject({ kind: 'label-name', prefix: 'serv', from: 1 });
    expect(at('{a="b", ‸}')).toMatchObject({ kind: 'label-name', prefix: '' });
    expect(at('{a="b",en‸}')).toMatchObject({ kind: 'label-name', prefix: 'en', from: 7 });
  });
  it('offers label values after an operator or inside a quote', () => {
    expect(at('{service_name=‸')).toMatchObject({ kind: 'label-value', label: 'service_name', prefix: '', from: 14 });
    expect(at('{service_name="che‸')).toMatchObject({ kind: 'label-value', label: 'service_name', prefix: 'che', from: 15, inString: true, quoteChar: '"' });
    expect(at('{a="b", env=~`pr‸')).toMatchObject({ kind: 'label-value', label: 'env', prefix: 'pr', quoteChar: '`' });
    expect(at('{a="b"} | detected_level="er‸')).toMatchObject({ kind: 'label-value', label: 'detected_level', prefix: 'er', inSelector: false });
    expect(at('{a="b"} | status=‸')).toMatchObject({ kind: 'label-value', label: 'status' });
  });
  it('offers pipeline stages after a pipe', () => {
    expect(at('{a="b"} | ‸')).toMatchObject({ kind: 'pipeline', prefix: '' });
    expect(at('{a="b"} | js‸')).toMatchObject({ kind: 'pipeline', prefix: 'js', from: 10 });
  });
  it('offers selectors and functions at the start', () => {
    expect(at('‸')).toMatchObject({ kind: 'top' });
    expect(at('cou‸')).toMatchObject({ kind: 'top', prefix: 'cou' });
    expect(at('sum(‸')).toMatchObject({ kind: 'top' });
  });
  it('stays quiet elsewhere', () => {
    expect(at('{a="b"} |= "tim‸')).toMatchObject({ kind: 'none' });
    expect(at('{a="b"}‸')).toMatchObject({ kind: 'none' });
    expect(at('{a="b"} ‸')).toMatchObject({ kind: 'none' });
  });
});
