// LogQL helpers: a tokenizer (for highlighting, completion and small rewrites), the query
// builder model and its LogQL generator/parser, and the "filter for/out" rewrites.

export type TokenType =
  | 'ws'
  | 'comment'
  | 'string'
  | 'number'
  | 'duration'
  | 'bytes'
  | 'op'
  | 'pipe'
  | 'brace'
  | 'paren'
  | 'bracket'
  | 'comma'
  | 'keyword'
  | 'func'
  | 'label'
  | 'ident'
  | 'error';

export interface Token {
  type: TokenType;
  text: string;
  start: number;
  end: number;
  /** For strings: the decoded value (undefined if unterminated). */
  value?: string;
}

export const LOGQL_KEYWORDS = new Set([
  'json', 'logfmt', 'regexp', 'pattern', 'unpack', 'line_format', 'label_format', 'drop', 'keep',
  'decolorize', 'unwrap', 'by', 'without', 'and', 'or', 'unless', 'on', 'ignoring', 'group_left',
  'group_right', 'offset', 'bool', 'ip', 'duration', 'duration_seconds', 'bytes', 'strict', 'keep-empty',
]);

export const LOGQL_FUNCTIONS = new Set([
  'count_over_time', 'rate', 'bytes_over_time', 'bytes_rate', 'absent_over_time', 'sum_over_time',
  'avg_over_time', 'min_over_time', 'max_over_time', 'first_over_time', 'last_over_time',
  'stdvar_over_time', 'stddev_over_time', 'quantile_over_time', 'rate_counter', 'sum', 'avg', 'min',
  'max', 'count', 'stddev', 'stdvar', 'topk', 'bottomk', 'sort', 'sort_desc', 'vector',
  'label_replace', 'absent',
]);

const OPS = ['|=', '|~', '|>', '!=', '!~', '!>', '=~', '==', '>=', '<=', '=', '>', '<', '+', '-', '*', '/', '%', '^'];
const DUR_RE = /^\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h|d|w|y)(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h|d|w|y))*(?![a-zA-Z0-9_])/;
const BYTES_RE = /^\d+(?:\.\d+)?(?:[kKmMgGtTpPeE]i?[bB]|[bB])(?![a-zA-Z0-9_])/;
const NUM_RE = /^(?:0x[0-9a-fA-F]+|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|\.\d+)/;
const IDENT_RE = /^[a-zA-Z_][a-zA-Z0-9_.]*/;
const COMPARE_OPS = new Set(['=', '!=', '=~', '!~', '>', '<', '>=', '<=', '==']);

/** Splits LogQL into tokens covering every character of the input (whitespace included). */
export function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  let depth = 0; // {} nesting
  const push = (type: TokenType, end: number, value?: string) => {
    out.push({ type, text: src.slice(i, end), start: i, end, value });
    i = end;
  };
  while (i < src.length) {
    const c = src[i];
    const rest = src.slice(i);
    if (/\s/.test(c)) {
      let j = i + 1;
      while (j < src.length && /\s/.test(src[j])) j++;
      push('ws', j);
      continue;
    }
    if (c === '#') {
      const nl = src.indexOf('\n', i);
      push('comment', nl < 0 ? src.length : nl);
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      let val = '';
      let closed = false;
      while (j < src.length) {
        const ch = src[j];
        if (ch === '\\' && j + 1 < src.length) {
          const n = src[j + 1];
          val += n === 'n' ? '\n' : n === 't' ? '\t' : n === 'r' ? '\r' : n;
          j += 2;
          continue;
        }
        if (ch === '"') {
          closed = true;
          j++;
          break;
        }
        if (ch === '\n') break;
        val += ch;
        j++;
      }
      push(closed ? 'string' : 'error', j, closed ? val : undefined);
      continue;
    }
    if (c === '`') {
      const j = src.indexOf('`', i + 1);
      if (j < 0) push('error', src.length);
      else push('string', j + 1, src.slice(i + 1, j));
      continue;
    }
    if (c === '{' || c === '}') {
      depth = Math.max(0, depth + (c === '{' ? 1 : -1));
      push('brace', i + 1);
      continue;
    }
    if (c === '(' || c === ')') {
      push('paren', i + 1);
      continue;
    }
    if (c === '[' || c === ']') {
      push('bracket', i + 1);
      continue;
    }
    if (c === ',') {
      push('comma', i + 1);
      continue;
    }
    if (/[0-9.]/.test(c)) {
      const d = DUR_RE.exec(rest);
      if (d) {
        push('duration', i + d[0].length);
        continue;
      }
      const b = BYTES_RE.exec(rest);
      if (b) {
        push('bytes', i + b[0].length);
        continue;
      }
      const n = NUM_RE.exec(rest);
      if (n) {
        push('number', i + n[0].length);
        continue;
      }
    }
    if (rest.startsWith('--') && /^--[a-z-]+/.test(rest)) {
      const m = /^--[a-z-]+/.exec(rest)!;
      push('keyword', i + m[0].length);
      continue;
    }
    const id = IDENT_RE.exec(rest);
    if (id) {
      push(classifyIdent(id[0], src, i + id[0].length, depth), i + id[0].length);
      continue;
    }
    const op = OPS.find((o) => rest.startsWith(o));
    if (op) {
      push(op === '|' ? 'pipe' : 'op', i + op.length);
      continue;
    }
    if (c === '|') {
      push('pipe', i + 1);
      continue;
    }
    push('error', i + 1);
  }
  return out;
}

function classifyIdent(word: string, src: string, after: number, depth: number): TokenType {
  if (depth > 0) return 'label';
  let j = after;
  while (j < src.length && /\s/.test(src[j])) j++;
  const next = src.slice(j, j + 2);
  if (src[j] === '(' && LOGQL_FUNCTIONS.has(word)) return 'func';
  if (LOGQL_KEYWORDS.has(word)) return 'keyword';
  if (LOGQL_FUNCTIONS.has(word)) return 'func';
  if (/^(=~|!~|!=|==|>=|<=|[=<>])/.test(next)) return 'label';
  return 'ident';
}

/** Tokens without whitespace and comments. */
export function significant(tokens: Token[]): Token[] {
  return tokens.filter((t) => t.type !== 'ws' && t.type !== 'comment');
}

/** A metric query (`rate(...)`, `sum by ...`) as opposed to a log query starting with `{`. */
export function isMetricQuery(query: string): boolean {
  const first = significant(tokenize(query))[0];
  return !!first && first.type !== 'brace';
}

// ---------------------------------------------------------------------------------------
// Quoting

/** Quotes a value as a LogQL string: backticks if that avoids escapes, else double quotes. */
export function quote(v: string): string {
  if (/[\\"]/.test(v) && !v.includes('`') && !v.includes('\n')) return '`' + v + '`';
  return '"' + v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\t/g, '\\t') + '"';
}

/** Escapes regexp metacharacters (RE2 syntax). */
export function escapeRegex(v: string): string {
  return v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function unescapeRegexLiteral(v: string): string | null {
  // Returns the literal if `v` is an escaped literal (no unescaped metacharacters).
  let out = '';
  for (let i = 0; i < v.length; i++) {
    const c = v[i];
    if (c === '\\') {
      const n = v[i + 1];
      if (n === undefined || !/[.*+?^${}()|[\]\\]/.test(n)) return null;
      out += n;
      i++;
    } else if (/[.*+?^${}()|[\]]/.test(c)) return null;
    else out += c;
  }
  return out;
}

/** Splits `a|b|c` (each an escaped literal) into literals; null if it is a real regex. */
function splitAlternation(re: string): string[] | null {
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < re.length; i++) {
    if (re[i] === '\\') {
      cur += re.slice(i, i + 2);
      i++;
    } else if (re[i] === '|') {
      parts.push(cur);
      cur = '';
    } else cur += re[i];
  }
  parts.push(cur);
  const lits = parts.map(unescapeRegexLiteral);
  return lits.some((l) => l === null || l === '') ? null : (lits as string[]);
}

const BARE_VALUE_RE = /^-?(?:\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h|d|w|y)+|\d+(?:\.\d+)?(?:[kKmMgGtTpPeE]i?[bB]|[bB]))$/;

// ---------------------------------------------------------------------------------------
// Builder

export type MatchOp = '=' | '!=' | '=~' | '!~' | '>' | '>=' | '<' | '<=';

export interface AttrFilter {
  key: string;
  op: MatchOp;
  value: string;
}

export interface BuilderState {
  /** service_name values; empty means every service. */
  services: string[];
  /** detected_level values; empty means all levels. */
  levels: string[];
  /** Terms the line must contain. */
  contains: string[];
  /** Terms the line must not contain. */
  excludes: string[];
  /** Match `contains`/`excludes` case-insensitively. */
  caseInsensitive: boolean;
  /** Optional parser so fields of JSON or logfmt lines can be filtered. */
  parser: '' | 'json' | 'logfmt';
  filters: AttrFilter[];
}

export const SERVICE_LABEL = 'service_name';
export const LEVEL_LABEL = 'detected_level';

export function emptyBuilder(): BuilderState {
  return { services: [], levels: [], contains: [], excludes: [], caseInsensitive: false, parser: '', filters: [] };
}

function matcher(key: string, op: string, value: string): string {
  return `${key}${op}${quote(value)}`;
}

function stageValue(op: MatchOp, value: string): string {
  if ((op === '>' || op === '<' || op === '>=' || op === '<=') && BARE_VALUE_RE.test(value)) return value;
  return quote(value);
}

/** Builds LogQL from the builder state. Filters on `indexed` labels go into the selector. */
export function buildLogQL(s: BuilderState, indexed: ReadonlySet<string> = new Set()): string {
  const sel: string[] = [];
  if (s.services.length === 0) sel.push(matcher(SERVICE_LABEL, '=~', '.+'));
  else if (s.services.length === 1) sel.push(matcher(SERVICE_LABEL, '=', s.services[0]));
  else sel.push(matcher(SERVICE_LABEL, '=~', s.services.map(escapeRegex).join('|')));
  const stages: string[] = [];
  const inSelector = (f: AttrFilter) =>
    indexed.has(f.key) && (f.op === '=' || f.op === '!=' || f.op === '=~' || f.op === '!~');
  for (const f of s.filters) if (f.key && inSelector(f)) sel.push(matcher(f.key, f.op, f.value));
  let q = `{${sel.join(', ')}}`;
  for (const t of s.contains) {
    if (!t) continue;
    q += s.caseInsensitive ? ` |~ ${quote('(?i)' + escapeRegex(t))}` : ` |= ${quote(t)}`;
  }
  for (const t of s.excludes) {
    if (!t) continue;
    q += s.caseInsensitive ? ` !~ ${quote('(?i)' + escapeRegex(t))}` : ` != ${quote(t)}`;
  }
  if (s.parser) stages.push(s.parser);
  if (s.levels.length === 1) stages.push(matcher(LEVEL_LABEL, '=', s.levels[0]));
  else if (s.levels.length > 1) stages.push(matcher(LEVEL_LABEL, '=~', s.levels.map(escapeRegex).join('|')));
  for (const f of s.filters) {
    if (!f.key || inSelector(f)) continue;
    stages.push(`${f.key}${f.op}${stageValue(f.op, f.value)}`);
  }
  for (const st of stages) q += ` | ${st}`;
  return q;
}

/**
 * Reads a LogQL query back into builder state. Returns null (with the reason) when the query
 * uses something the builder cannot show, so the UI can stay in code mode.
 */
export function parseBuilder(query: string): { state: BuilderState } | { error: string } {
  const toks = significant(tokenize(query));
  const s = emptyBuilder();
  let i = 0;
  const fail = (why: string) => ({ error: why });
  const peek = (k = 0) => toks[i + k];
  if (!toks.length) return { state: s };
  if (peek()?.text !== '{') return fail('Metric queries can only be edited as code.');
  i++;
  let sawService = false;
  while (peek() && peek().text !== '}') {
    const l = peek();
    const op = peek(1);
    const v = peek(2);
    if (!l || l.type !== 'label' || !op || !COMPARE_OPS.has(op.text) || !v || v.type !== 'string')
      return fail('The stream selector is not a list of label matchers.');
    i += 3;
    const val = v.value ?? '';
    if (l.text === SERVICE_LABEL && !sawService && (op.text === '=' || op.text === '=~')) {
      sawService = true;
      if (op.text === '=') s.services = [val];
      else if (val === '.+' || val === '.*') s.services = [];
      else {
        const alts = splitAlternation(val);
        if (!alts) s.filters.push({ key: l.text, op: '=~', value: val });
        else s.services = alts;
      }
    } else s.filters.push({ key: l.text, op: op.text as MatchOp, value: val });
    if (peek()?.type === 'comma') i++;
  }
  if (peek()?.text !== '}') return fail('The stream selector is not closed.');
  i++;
  let ci: boolean | null = null;
  let sawStage = false;
  const setCi = (v: boolean) => {
    if (ci !== null && ci !== v) return false;
    ci = v;
    return true;
  };
  while (i < toks.length) {
    const t = peek();
    if (t.type === 'op' && ['|=', '!=', '|~', '!~'].includes(t.text)) {
      if (sawStage) return fail('Line filters after label filters are not supported by the builder.');
      const v = peek(1);
      if (!v || v.type !== 'string') return fail('A line filter needs a string.');
      i += 2;
      if (peek()?.text === 'or') return fail('`or` in line filters is not supported by the builder.');
      const val = v.value ?? '';
      const positive = t.text[0] === '|';
      if (t.text[1] === '~') {
        const m = /^\(\?i\)(.*)$/s.exec(val);
        const lit = m ? unescapeRegexLiteral(m[1]) : null;
        if (lit === null || !setCi(true)) return fail('Regular-expression line filters are edited as code.');
        (positive ? s.contains : s.excludes).push(lit);
      } else {
        if (!setCi(false)) return fail('Mixed case-sensitive and insensitive terms are edited as code.');
        (positive ? s.contains : s.excludes).push(val);
      }
      continue;
    }
    if (t.type === 'pipe') {
      sawStage = true;
      const a = peek(1);
      if (!a) return fail('The query ends with `|`.');
      if (a.text === 'json' || a.text === 'logfmt') {
        const after = peek(2);
        if (s.parser || (after && after.type !== 'pipe' && after.type !== 'op'))
          return fail('Parser options are edited as code.');
        s.parser = a.text;
        i += 2;
        continue;
      }
      const op = peek(2);
      const v = peek(3);
      if ((a.type === 'label' || a.type === 'ident' || a.type === 'keyword') && op && COMPARE_OPS.has(op.text) && v &&
          ['string', 'number', 'duration', 'bytes'].includes(v.type)) {
        const next = peek(4);
        if (next && next.type !== 'pipe' && next.type !== 'op') return fail('Combined label filters are edited as code.');
        i += 4;
        const val = v.type === 'string' ? v.value ?? '' : v.text;
        if (a.text === LEVEL_LABEL && s.levels.length === 0 && (op.text === '=' || op.text === '=~')) {
          const alts = op.text === '=' ? [val] : splitAlternation(val);
          if (alts) {
            s.levels = alts;
            continue;
          }
        }
        s.filters.push({ key: a.text, op: (op.text === '==' ? '=' : op.text) as MatchOp, value: val });
        continue;
      }
      return fail(`The stage \`| ${a.text}\` is edited as code.`);
    }
    return fail(`\`${t.text}\` is not supported by the builder.`);
  }
  s.caseInsensitive = ci === true;
  return { state: s };
}

// ---------------------------------------------------------------------------------------
// Rewrites used by "filter for / filter out" and "show context".

/** `{a="b", c="d"}` for a stream's labels (sorted by name). */
export function streamSelector(labels: Record<string, string>): string {
  const keys = Object.keys(labels).sort();
  return `{${keys.map((k) => matcher(k, '=', labels[k])).join(', ')}}`;
}

interface SelectorSpan {
  open: number;
  close: number;
  matchers: { key: string; op: string; value: string; start: number; end: number }[];
}

function firstSelector(query: string): SelectorSpan | null {
  const toks = tokenize(query);
  const open = toks.findIndex((t) => t.text === '{');
  if (open < 0) return null;
  const sig = toks.slice(open + 1).filter((t) => t.type !== 'ws' && t.type !== 'comment');
  const matchers: SelectorSpan['matchers'] = [];
  for (let i = 0; i < sig.length; i++) {
    const t = sig[i];
    if (t.text === '}') return { open: toks[open].start, close: t.start, matchers };
    if (t.type === 'label' && sig[i + 1] && COMPARE_OPS.has(sig[i + 1].text) && sig[i + 2]?.type === 'string') {
      matchers.push({ key: t.text, op: sig[i + 1].text, value: sig[i + 2].value ?? '', start: t.start, end: sig[i + 2].end });
      i += 2;
    }
  }
  return null;
}

/** Adds `key op "value"` to the first stream selector (filter for/out an indexed label). */
export function addSelectorMatcher(query: string, key: string, op: '=' | '!=', value: string): string {
  const sel = firstSelector(query);
  const m = matcher(key, op, value);
  if (!sel) return query.trim() ? query : `{${m}}`;
  if (sel.matchers.some((x) => x.key === key && x.op === op && x.value === value)) return query;
  const opposite = sel.matchers.find((x) => x.key === key && x.value === value && x.op === (op === '=' ? '!=' : '='));
  if (opposite) return query.slice(0, opposite.start) + m + query.slice(opposite.end);
  // Replace a catch-all `key=~".+"` when filtering for that label.
  const catchAll = sel.matchers.find((x) => x.key === key && x.op === '=~' && (x.value === '.+' || x.value === '.*'));
  if (catchAll && op === '=') return query.slice(0, catchAll.start) + m + query.slice(catchAll.end);
  if (op === '=') {
    const same = sel.matchers.find((x) => x.key === key && x.op === '=');
    if (same) return query.slice(0, same.start) + m + query.slice(same.end);
  }
  const inner = query.slice(sel.open + 1, sel.close);
  const sep = inner.trim() ? ', ' : '';
  const trimmedEnd = sel.open + 1 + inner.trimEnd().length;
  return query.slice(0, trimmedEnd) + sep + m + query.slice(trimmedEnd);
}

/** End of the log pipeline that the first selector starts: before a range `[..]` or closing paren. */
function pipelineEnd(query: string): number {
  const toks = tokenize(query);
  const open = toks.findIndex((t) => t.text === '{');
  if (open < 0) return query.length;
  let depth = 0;
  let lastSig = toks[open].end;
  for (let i = open; i < toks.length; i++) {
    const t = toks[i];
    if (t.text === '{') depth++;
    else if (t.text === '}') depth--;
    else if (depth === 0 && (t.text === '[' || t.text === ')')) return lastSig;
    if (t.type !== 'ws' && t.type !== 'comment') lastSig = t.end;
  }
  return lastSig;
}

/** Appends a label filter stage `| key op value` to the log pipeline (structured metadata / parsed). */
export function addLabelFilterStage(query: string, key: string, op: MatchOp, value: string): string {
  const stage = `| ${key}${op}${stageValue(op, value)}`;
  const end = pipelineEnd(query);
  const head = query.slice(0, end);
  if (head.endsWith(stage)) return query;
  const opp = `| ${key}${op === '=' ? '!=' : '='}${stageValue(op, value)}`;
  if ((op === '=' || op === '!=') && head.includes(opp)) {
    const at = head.lastIndexOf(opp);
    return query.slice(0, at) + stage + query.slice(at + opp.length);
  }
  return `${head} ${stage}${query.slice(end)}`;
}

/** Adds a parser stage (`| json`) unless the pipeline already has one. */
export function ensureParser(query: string, parser: 'json' | 'logfmt'): string {
  const sig = significant(tokenize(query));
  for (let i = 0; i + 1 < sig.length; i++) {
    if (sig[i].type === 'pipe' && ['json', 'logfmt', 'unpack', 'regexp', 'pattern'].includes(sig[i + 1].text)) return query;
  }
  const end = pipelineEnd(query);
  return `${query.slice(0, end)} | ${parser}${query.slice(end)}`;
}

/** Inserts a line filter right after the first stream selector. */
export function addLineFilter(query: string, op: '|=' | '!=' | '|~' | '!~', text: string): string {
  const sel = firstSelector(query);
  if (!sel) return query;
  const at = sel.close + 1;
  return `${query.slice(0, at)} ${op} ${quote(text)}${query.slice(at)}`;
}

/** The query's line filter terms, for highlighting matches in results. */
export function lineFilterTerms(query: string): { literals: string[]; regexes: string[] } {
  const sig = significant(tokenize(query));
  const literals: string[] = [];
  const regexes: string[] = [];
  for (let i = 0; i + 1 < sig.length; i++) {
    const t = sig[i];
    if (t.text === '|=' || t.text === '|~') {
      let j = i + 1;
      while (sig[j]?.type === 'string') {
        const v = sig[j].value ?? '';
        if (v) (t.text === '|=' ? literals : regexes).push(v);
        if (sig[j + 1]?.text === 'or') j += 2;
        else break;
      }
    }
  }
  return { literals, regexes };
}

/** The volume query: log lines per level and step for the histogram. */
export function volumeQuery(logQuery: string, stepLiteral: string): string {
  return `sum by (${LEVEL_LABEL}) (count_over_time(${logQuery.trim()} [${stepLiteral}]))`;
}

/** LogQL for all logs of a trace (optionally one span). */
export function traceLogsQuery(traceId: string, spanId?: string, service?: string): string {
  const sel = service ? `{${matcher(SERVICE_LABEL, '=', service)}}` : `{${SERVICE_LABEL}=~".+"}`;
  let q = `${sel} | trace_id=${quote(traceId)}`;
  if (spanId) q += ` | span_id=${quote(spanId)}`;
  return q;
}

// ---------------------------------------------------------------------------------------
// Completion

export type CompletionKind = 'label-name' | 'label-value' | 'pipeline' | 'top' | 'none';

export interface CompletionContext {
  kind: CompletionKind;
  /** Label whose values are wanted (label-value). */
  label?: string;
  /** Text typed so far for the item being completed. */
  prefix: string;
  /** Replace [from, to) with the chosen item. */
  from: number;
  to: number;
  /** label-value only: the cursor is inside an open quote. */
  inString?: boolean;
  /** Quote character in use when inString. */
  quoteChar?: string;
  /** Whether the completion is inside the stream selector braces. */
  inSelector?: boolean;
}

export function completionContext(text: string, cursor: number): CompletionContext {
  const before = text.slice(0, cursor);
  const toks = tokenize(before);
  const none: CompletionContext = { kind: 'none', prefix: '', from: cursor, to: cursor };
  let depth = 0;
  for (const t of toks) if (t.type === 'brace') depth += t.text === '{' ? 1 : -1;
  const last = toks[toks.length - 1];
  const sig = significant(toks);
  const lastSig = sig[sig.length - 1];
  if (!lastSig) return { kind: 'top', prefix: '', from: cursor, to: cursor };
  // Inside an unterminated string: complete a value.
  if (last && last.type === 'error' && (last.text[0] === '"' || last.text[0] === '`')) {
    const op = sig[sig.length - 2];
    const lbl = sig[sig.length - 3];
    if (op && COMPARE_OPS.has(op.text) && lbl && (lbl.type === 'label' || lbl.type === 'ident' || lbl.type === 'keyword')) {
      return {
        kind: 'label-value', label: lbl.text, prefix: last.text.slice(1), from: last.start + 1, to: cursor,
        inString: true, quoteChar: last.text[0], inSelector: depth > 0,
      };
    }
    return none;
  }
  const typing = last.type === 'label' || last.type === 'ident' || last.type === 'keyword' || last.type === 'func';
  const prev = typing ? sig[sig.length - 2] : lastSig;
  const prefix = typing ? last.text : '';
  const from = typing ? last.start : cursor;
  if (depth > 0) {
    if (!prev || prev.text === '{' || prev.type === 'comma') return { kind: 'label-name', prefix, from, to: cursor, inSelector: true };
    if (!typing && COMPARE_OPS.has(lastSig.text)) {
      const lbl = sig[sig.length - 2];
      if (lbl?.type === 'label') return { kind: 'label-value', label: lbl.text, prefix: '', from: cursor, to: cursor, inSelector: true };
    }
    return none;
  }
  if (prev?.type === 'pipe') return { kind: 'pipeline', prefix, from, to: cursor };
  if (!typing && COMPARE_OPS.has(lastSig.text)) {
    const lbl = sig[sig.length - 2];
    const pipe = sig[sig.length - 3];
    if (lbl && pipe?.type === 'pipe') return { kind: 'label-value', label: lbl.text, prefix: '', from: cursor, to: cursor };
    return none;
  }
  if (!prev || prev.type === 'paren' || prev.type === 'op') {
    if (prev?.text === ')' ) return none;
    return { kind: 'top', prefix, from, to: cursor };
  }
  return none;
}

export const PIPELINE_ITEMS: { label: string; detail: string }[] = [
  { label: 'json', detail: 'parse JSON lines into labels' },
  { label: 'logfmt', detail: 'parse key=value lines into labels' },
  { label: 'pattern', detail: 'extract with a pattern: "<ip> - <_>"' },
  { label: 'regexp', detail: 'extract with named groups' },
  { label: 'unpack', detail: 'unpack packed lines' },
  { label: 'line_format', detail: 'rewrite the line: "{{.field}}"' },
  { label: 'label_format', detail: 'rename or template labels' },
  { label: 'drop', detail: 'remove labels' },
  { label: 'keep', detail: 'keep only these labels' },
  { label: 'decolorize', detail: 'strip ANSI colours' },
  { label: 'unwrap', detail: 'use a label as a sample value' },
];

export const TOP_ITEMS: { label: string; insert: string; detail: string }[] = [
  { label: '{…}', insert: '{', detail: 'stream selector' },
  { label: 'count_over_time', insert: 'count_over_time(', detail: 'lines per range' },
  { label: 'rate', insert: 'rate(', detail: 'lines per second' },
  { label: 'bytes_over_time', insert: 'bytes_over_time(', detail: 'bytes per range' },
  { label: 'sum', insert: 'sum by () (', detail: 'sum of series' },
  { label: 'topk', insert: 'topk(10, ', detail: 'largest k series' },
  { label: 'quantile_over_time', insert: 'quantile_over_time(0.99, ', detail: 'quantile of unwrapped values' },
  { label: 'avg_over_time', insert: 'avg_over_time(', detail: 'average of unwrapped values' },
];
