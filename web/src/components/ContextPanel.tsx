// "Show context": the lines just before and after a record, in the same stream.

import { useEffect, useRef, useState } from 'preact/hooks';
import { useHotkeys } from '../hooks';
import { lokiQueryRange } from '../lib/api';
import { streamSelector } from '../lib/logql';
import { parseStreams, type LogRow } from '../lib/loki';
import { addNs, formatTime, type TimeZone } from '../lib/time';
import { ErrorBox, Loading } from './Feedback';
import { Icon } from './Icon';

const PAGE = 25;
const WINDOW_NS = 2n * 3600n * 1_000_000_000n; // look up to 2 h either way

export function contextSelector(r: LogRow, indexed: ReadonlySet<string>): string {
  if (r.categorized || !indexed.size) return streamSelector(r.stream);
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.stream)) if (indexed.has(k)) labels[k] = v;
  return streamSelector(Object.keys(labels).length ? labels : r.stream);
}

export function ContextPanel({ row, indexed, tz, onClose }: {
  row: LogRow;
  indexed: ReadonlySet<string>;
  tz: TimeZone;
  onClose: () => void;
}) {
  const sel = contextSelector(row, indexed);
  const [before, setBefore] = useState<LogRow[]>([]); // oldest first
  const [after, setAfter] = useState<LogRow[]>([]); // oldest first
  const [loading, setLoading] = useState(0);
  const [err, setErr] = useState<unknown>(null);
  const [more, setMore] = useState({ before: true, after: true });
  const anchor = useRef<HTMLDivElement>(null);
  useHotkeys({ Escape: onClose });

  const loadBefore = async (endNs: string) => {
    setLoading((n) => n + 1);
    try {
      const r = await lokiQueryRange({ query: sel, startNs: addNs(endNs, -WINDOW_NS), endNs, limit: PAGE, direction: 'backward' });
      const rows = parseStreams(r.result, r.categorized, 'forward').rows.filter((x) => x.id !== row.id);
      setBefore((b) => [...rows.filter((x) => !b.some((y) => y.id === x.id)), ...b]);
      setMore((m) => ({ ...m, before: rows.length >= PAGE - 1 }));
    } catch (e) {
      setErr(e);
    } finally {
      setLoading((n) => n - 1);
    }
  };
  const loadAfter = async (startNs: string) => {
    setLoading((n) => n + 1);
    try {
      const r = await lokiQueryRange({ query: sel, startNs, endNs: addNs(startNs, WINDOW_NS), limit: PAGE, direction: 'forward' });
      const rows = parseStreams(r.result, r.categorized, 'forward').rows.filter((x) => x.id !== row.id);
      setAfter((a) => [...a, ...rows.filter((x) => !a.some((y) => y.id === x.id))]);
      setMore((m) => ({ ...m, after: rows.length >= PAGE - 1 }));
    } catch (e) {
      setErr(e);
    } finally {
      setLoading((n) => n - 1);
    }
  };

  useEffect(() => {
    setBefore([]);
    setAfter([]);
    setErr(null);
    // end is exclusive: lines strictly before, plus any at the same ns (filtered by id).
    loadBefore(addNs(row.tsNs, 1));
    loadAfter(row.tsNs);
  }, [row.id]);

  useEffect(() => {
    anchor.current?.scrollIntoView({ block: 'center' });
  }, [before.length === 0 ? 0 : 1]);

  const line = (r: LogRow, cls = '') => (
    <div key={r.id} class={`ctx-row lv-${r.level} ${cls}`}>
      <span class="lrow-lv" />
      <span class="lrow-ts">{formatTime(r.tsMs, tz).slice(11)}</span>
      <span class="ctx-line">{r.line}</span>
    </div>
  );
  return (
    <div class="modal-back" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div class="modal ctx" role="dialog" aria-label="Log context" data-testid="context">
        <div class="modal-head">
          <b>Context</b>
          <code class="mono small">{sel}</code>
          <span class="grow" />
          <Loading loading={loading > 0} />
          <button class="ibtn" onClick={onClose} title="Close (Esc)"><Icon name="x" /></button>
        </div>
        <ErrorBox error={err} />
        <div class="ctx-body">
          {more.before && <button class="btn small ghost ctx-more" disabled={loading > 0} onClick={() => before[0] && loadBefore(before[0].tsNs)}>Load {PAGE} earlier</button>}
          {!more.before && <div class="muted small ctx-edge">Start of stream in the 2 h before this line.</div>}
          {before.map((r) => line(r))}
          <div ref={anchor}>{line(row, 'anchor')}</div>
          {after.map((r) => line(r))}
          {more.after && <button class="btn small ghost ctx-more" disabled={loading > 0} onClick={() => after.length && loadAfter(addNs(after[after.length - 1].tsNs, 1))}>Load {PAGE} later</button>}
          {!more.after && <div class="muted small ctx-edge">No later lines in this stream (2 h window).</div>}
        </div>
      </div>
    </div>
  );
}
