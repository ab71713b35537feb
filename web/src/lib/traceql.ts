// TraceQL generation for the trace search form, and a small tokenizer for highlighting.

import type { Token, TokenType } from './logql';

export interface TraceSearch {
  service: string;
  operation: string;
  /** Space separated `key=value` pairs (logfmt style); other operators allowed: `k>=500`. */
  tags: string;
  /** Go/Tempo durations: `100ms`, `1.5s`. */
  minDuration: string;
  maxDuration: string;
  status: '' | 'error' | 'ok' | 'unset';
}

export function emptySearch(): TraceSearch {
  return { service: '', operation: '', tags: '', minDuration: '', maxDuration: '', status: '' };
}

const SCOPES = ['resource.', 'span.', 'event.', 'link.', 'instrumentation.', 'trace:', 'span:', 'event:', 'link:', 'instrumentation:', '.'];
export const INTRINSICS = ['duration', 'kind', 'name', 'rootName', 'rootServiceName', 'status', 'statusMessage', 'traceDuration', 'nestedSetLeft', 'nestedSetRight', 'nestedSetParent'];
const KEYWORDS = new Set(['error', 'ok', 'unset', 'server', 'client', 'producer', 'consumer', 'internal', 'unspecified', 'true', 'false', 'nil', 'select', 'by', 'count', 'avg', 'min', 'max', 'sum', 'rate', 'count_over_time', 'quantile_over_time', 'histogram_over_time', 'coalesce']);

export function tqlString(v: string): string {
  return '"' + v.replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"';
}

/** A scoped attribute name: `http.method` → `.http.method`, `span.x` stays. */
export function scopedTag(key: string): string {
  if (INTRINSICS.includes(key)) return key;
  return SCOPES.some((s) => key.startsWith(s)) ? key : `.${key}`;
}

function tagValue(v: string, op: string): string {
  if (op === '=~' || op === '!~') return tqlString(v);
  if (/^-?\d+(\.\d+)?$/.test(v) || v === 'true' || v === 'false') return v;
  if (/^\d+(\.\d+)?(ns|us|µs|ms|s|m|h)$/.test(v)) return v;
  return tqlString(v);
}

const TAG_RE = /([A-Za-z_.:][\w.\-:/]*)\s*(=~|!~|!=|>=|<=|=|>|<)\s*("(?:[^"\\]|\\.)*"|\S+)/g;

/** Parses `k=v k2="a b" k3>=5` into conditions. */
export function parseTags(tags: string): { key: string; op: string; value: string }[] {
  const out: { key: string; op: string; value: string }[] = [];
  let m: RegExpExecArray | null;
  TAG_RE.lastIndex = 0;
  while ((m = TAG_RE.exec(tags))) {
    let v = m[3];
    if (v.startsWith('"')) {
      try {
        v = JSON.parse(v);
      } catch {
        v = v.slice(1, -1);
      }
    }
    out.push({ key: m[1], op: m[2], value: v });
  }
  return out;
}

/** TraceQL for the search form, Grafana style: `{a="x" && b>1s}`, `{}` for no filter. */
export function buildTraceQL(s: TraceSearch): string {
  const parts: string[] = [];
  if (s.service) parts.push(`resource.service.name=${tqlString(s.service)}`);
  if (s.operation) parts.push(`name=${tqlString(s.operation)}`);
  if (s.status) parts.push(`status=${s.status}`);
  if (s.minDuration.trim()) parts.push(`duration>=${s.minDuration.trim()}`);
  if (s.maxDuration.trim()) parts.push(`duration<=${s.maxDuration.trim()}`);
  for (const t of parseTags(s.tags)) parts.push(`${scopedTag(t.key)}${t.op}${tagValue(t.value, t.op)}`);
  return `{${parts.join(' && ')}}`;
}

/** Grafana's rule: a query made only of hex characters is a trace id. */
export function isTraceIdQuery(q: string): boolean {
  return /^[0-9a-fA-F]{1,32}$/.test(q.trim());
}

/** Checks a Tempo duration (`100ms`, `1.5s`); empty is valid. */
export function validDuration(v: string): boolean {
  return !v.trim() || /^\d+(\.\d+)?(ns|us|µs|ms|s|m|h)$/.test(v.trim());
}

/** Tokens for highlighting TraceQL in the editor. */
export function tokenizeTraceQL(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const push = (type: TokenType, end: number) => {
    out.push({ type, text: src.slice(i, end), start: i, end });
    i = end;
  };
  while (i < src.length) {
    const rest = src.slice(i);
    const c = src[i];
    let m: RegExpExecArray | null;
    if ((m = /^\s+/.exec(rest))) push('ws', i + m[0].length);
    else if (c === '"' || c === '`' || c === "'") {
      const re = c === '"' ? /^"(?:[^"\\\n]|\\.)*"/ : c === '`' ? /^`[^`]*`/ : /^'(?:[^'\\\n]|\\.)*'/;
      const s = re.exec(rest);
      push(s ? 'string' : 'error', s ? i + s[0].length : src.length);
    } else if ((m = /^\d+(\.\d+)?(ns|us|µs|ms|s|m|h)(?![\w])/.exec(rest))) push('duration', i + m[0].length);
    else if ((m = /^\d+(\.\d+)?/.exec(rest))) push('number', i + m[0].length);
    else if ((m = /^(&&|\|\||>>|<<|!>>|!<<|!~|=~|!=|>=|<=|[=<>~!+\-*/%^])/.exec(rest))) push('op', i + m[0].length);
    else if (c === '|') push('pipe', i + 1);
    else if (c === '{' || c === '}') push('brace', i + 1);
    else if (c === '(' || c === ')') push('paren', i + 1);
    else if (c === '[' || c === ']') push('bracket', i + 1);
    else if (c === ',') push('comma', i + 1);
    else if ((m = /^(?:[a-zA-Z_]+:)?\.?[a-zA-Z_][\w.\-]*/.exec(rest))) {
      const w = m[0];
      const type: TokenType = INTRINSICS.includes(w) || /^(span|trace|event|link|instrumentation):/.test(w)
        ? 'func'
        : KEYWORDS.has(w)
          ? 'keyword'
          : 'label';
      push(type, i + w.length);
    } else push('error', i + 1);
  }
  return out;
}
