// The expanded view of one log record: full line, all labels by kind, and actions.

import { copyText } from '../hooks';
import { lineFields, rowLabels, rowSpanId, rowToJson, rowTraceId, type LabelKind, type LogRow } from '../lib/loki';
import { formatNsTime, type TimeZone } from '../lib/time';
import { toast } from '../ui';
import { Icon } from './Icon';
import { Marked } from './LogList';

export type FilterKind = LabelKind | 'L';

export interface DetailActions {
  onFilter: (key: string, value: string, kind: FilterKind, op: '=' | '!=', parser?: 'json' | 'logfmt') => void;
  onContext: (r: LogRow) => void;
  onOpenTrace: (traceId: string, r: LogRow) => void;
  onTraceLogs?: (traceId: string) => void;
}

const KIND_TITLE: Record<FilterKind, string> = {
  I: 'Stream labels',
  S: 'Structured metadata',
  P: 'Parsed labels',
  L: 'Fields in the line',
};

const TRACE_KEYS = new Set(['trace_id', 'traceid', 'traceID', 'traceId']);

export function LogDetails({ row, tz, highlight, actions, indexed }: {
  row: LogRow;
  tz: TimeZone;
  highlight: RegExp | null;
  actions: DetailActions;
  /** Indexed label names, to sort labels when the server did not categorise them. */
  indexed: ReadonlySet<string>;
}) {
  const labels = rowLabels(row).map((l) =>
    !row.categorized && l.kind === 'I' && indexed.size && !indexed.has(l.key) ? { ...l, kind: 'S' as LabelKind } : l,
  );
  const lf = lineFields(row.line);
  const known = new Set(labels.map((l) => l.key));
  const groups: { kind: FilterKind; items: { key: string; value: string }[]; parser?: 'json' | 'logfmt' }[] = [];
  for (const k of ['I', 'S', 'P'] as LabelKind[]) {
    const items = labels.filter((l) => l.kind === k).sort((a, b) => a.key.localeCompare(b.key));
    if (items.length) groups.push({ kind: k, items });
  }
  if (lf) {
    const items = lf.fields.filter(([k]) => !known.has(k)).map(([key, value]) => ({ key, value }));
    if (items.length) groups.push({ kind: 'L', items, parser: lf.parser });
  }
  const tid = rowTraceId(row);
  const sid = rowSpanId(row);
  const copy = async (text: string, what: string) => toast((await copyText(text)) ? `${what} copied` : 'Copy failed', 'info');
  return (
    <div class="details" data-testid="log-details">
      <div class="details-bar">
        <span class="mono small muted" title="Timestamp (ns)">{formatNsTime(row.tsNs, tz)}</span>
        <span class={`badge lv-bg-${row.level}`}>{row.level}</span>
        <span class="grow" />
        {tid && (
          <button class="btn small primary" onClick={() => actions.onOpenTrace(tid, row)} data-testid="details-open-trace">
            <Icon name="trace" /> Open trace
          </button>
        )}
        {tid && actions.onTraceLogs && (
          <button class="btn small" onClick={() => actions.onTraceLogs!(tid)}><Icon name="logs" /> Trace logs</button>
        )}
        <button class="btn small" onClick={() => actions.onContext(row)} data-testid="show-context"><Icon name="context" /> Show context</button>
        <button class="btn small" onClick={() => copy(JSON.stringify(rowToJson(row), null, 2), 'JSON')} data-testid="copy-json"><Icon name="copy" /> Copy JSON</button>
        <button class="btn small" onClick={() => copy(row.line, 'Line')}><Icon name="copy" /> Copy line</button>
      </div>
      <pre class="details-line"><Marked text={row.line} re={highlight} /></pre>
      <table class="fields">
        {groups.map((g) => (
          <tbody key={g.kind}>
            <tr class="fields-head"><th colSpan={3}>{KIND_TITLE[g.kind]}{g.parser && <span class="muted"> ({g.parser})</span>}</th></tr>
            {g.items.map(({ key, value }) => (
              <tr key={key} data-testid="field" data-key={key}>
                <td class="f-actions">
                  <button class="ibtn" title={`Filter for ${key}="${value}"`} data-testid="filter-for"
                    onClick={() => actions.onFilter(key, value, g.kind, '=', g.parser)}><Icon name="filterIn" /></button>
                  <button class="ibtn" title={`Filter out ${key}="${value}"`} data-testid="filter-out"
                    onClick={() => actions.onFilter(key, value, g.kind, '!=', g.parser)}><Icon name="filterOut" /></button>
                </td>
                <td class="f-key">{key}</td>
                <td class="f-val">
                  <span class="mono">{value}</span>
                  {TRACE_KEYS.has(key) && tid && (
                    <button class="link small" onClick={() => actions.onOpenTrace(tid, row)}>open trace</button>
                  )}
                  {key.startsWith('span_id') && sid && tid && (
                    <button class="link small" onClick={() => actions.onOpenTrace(tid, row)}>open span</button>
                  )}
                  <button class="ibtn f-copy" title="Copy value" onClick={() => copy(value, 'Value')}><Icon name="copy" size={12} /></button>
                </td>
              </tr>
            ))}
          </tbody>
        ))}
      </table>
    </div>
  );
}
