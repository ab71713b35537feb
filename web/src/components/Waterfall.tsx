// Trace waterfall: a collapsible span tree with timing bars and the critical path emphasised.

import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { useSize } from '../hooks';
import { attrString } from '../lib/otlp';
import { formatNs } from '../lib/time';
import { criticalNs, flattenTree, serviceColorIndex, type SpanNode, type TraceTree } from '../lib/tracetree';
import { makeLayout, visibleRange } from '../lib/virtual';
import { Icon } from './Icon';

const ROW = 24;

export function spanMatches(n: SpanNode, f: string): boolean {
  if (!f) return false;
  const s = n.span;
  const needle = f.toLowerCase();
  if (s.name.toLowerCase().includes(needle) || s.service.toLowerCase().includes(needle) || s.spanId.startsWith(needle)) return true;
  return s.attributes.some((a) => a.key.toLowerCase().includes(needle) || attrString(a.value).toLowerCase().includes(needle));
}

export function Waterfall({ tree, selected, onSelect, collapsed, onToggle, showCritical, find, maxHeight }: {
  tree: TraceTree;
  selected: string;
  onSelect: (id: string) => void;
  collapsed: ReadonlySet<string>;
  onToggle: (id: string) => void;
  showCritical: boolean;
  find: string;
  maxHeight: number;
}) {
  const rows = useMemo(() => flattenTree(tree, collapsed), [tree, collapsed]);
  const [leftW, setLeftW] = useState(360);
  const [scrollTop, setScrollTop] = useState(0);
  const [sizeRef, size] = useSize<HTMLDivElement>();
  const scroller = useRef<HTMLDivElement | null>(null);
  const layout = useMemo(() => makeLayout(rows.length, ROW), [rows.length]);
  const [a, b] = visibleRange(layout, scrollTop, Math.min(maxHeight, layout.total) || 600, 15);
  const dur = Math.max(tree.durationNs, 1);
  const timelineW = Math.max(100, size.width - leftW - 16);
  const ticks = [0, 0.25, 0.5, 0.75, 1];

  useEffect(() => {
    const i = rows.findIndex((r) => r.span.spanId === selected);
    const el = scroller.current;
    if (i < 0 || !el) return;
    const top = i * ROW;
    if (top < el.scrollTop) el.scrollTop = top;
    else if (top + ROW > el.scrollTop + el.clientHeight) el.scrollTop = top + ROW - el.clientHeight;
  }, [selected, rows]);

  const startDrag = (e: MouseEvent) => {
    e.preventDefault();
    const x0 = e.clientX;
    const w0 = leftW;
    const move = (ev: MouseEvent) => setLeftW(Math.max(180, Math.min(w0 + ev.clientX - x0, size.width - 200)));
    const up = () => {
      document.removeEventListener('mousemove', move);
      document.removeEventListener('mouseup', up);
    };
    document.addEventListener('mousemove', move);
    document.addEventListener('mouseup', up);
  };

  const items = [];
  for (let i = a; i < b; i++) {
    const n = rows[i];
    const s = n.span;
    const left = (n.offsetNs / dur) * timelineW;
    const width = Math.max(1, (n.durationNs / dur) * timelineW);
    const labelW = 64;
    const place = left + width + labelW < timelineW ? 'right' : left > labelW ? 'left' : 'inside';
    const crit = showCritical && n.critical.length > 0;
    const match = find && spanMatches(n, find);
    const ci = serviceColorIndex(s.service);
    items.push(
      <div key={s.spanId} class={`wf-row ${selected === s.spanId ? 'sel' : ''} ${match ? 'match' : ''} ${s.statusCode === 'error' ? 'err' : ''}`}
        style={{ top: `${i * ROW}px` }} onClick={() => onSelect(s.spanId)} data-testid="span-row" data-span={s.spanId}>
        <div class="wf-left" style={{ width: `${leftW}px` }}>
          <span class="wf-indent" style={{ width: `${n.depth * 14}px` }}>
            {Array.from({ length: n.depth }, (_, d) => <span key={d} class="wf-guide" style={{ left: `${d * 14 + 6}px` }} />)}
          </span>
          {n.children.length ? (
            <button class="wf-toggle" onClick={(e) => { e.stopPropagation(); onToggle(s.spanId); }}
              title={collapsed.has(s.spanId) ? `Expand (${n.descendants})` : 'Collapse'}>
              <Icon name={collapsed.has(s.spanId) ? 'collapse' : 'expand'} size={10} />
              {collapsed.has(s.spanId) && <span class="wf-count">{n.descendants}</span>}
            </button>
          ) : <span class="wf-toggle-sp" />}
          <span class={`wf-svc svc-b${ci}`} />
          <span class="wf-svcname">{s.service}</span>
          <span class="wf-name" title={s.name}>{s.name}</span>
          {s.statusCode === 'error' && <span class="wf-err" title={s.statusMessage || 'error'}>!</span>}
        </div>
        <div class="wf-right" style={{ width: `${timelineW}px` }}>
          <div class={`wf-bar svc-b${ci} ${crit ? 'dim' : ''}`} style={{ left: `${left}px`, width: `${width}px` }} />
          {crit && n.critical.map(([cs, ce], k) => (
            <div key={k} class="wf-crit" style={{ left: `${(cs / dur) * timelineW}px`, width: `${Math.max(1, ((ce - cs) / dur) * timelineW)}px` }} />
          ))}
          <span class={`wf-dur ${place}`} title={crit ? `${formatNs(criticalNs(n))} on the critical path` : undefined}
            style={place === 'right' ? { left: `${left + width + 4}px` } : place === 'left' ? { right: `${timelineW - left + 4}px` } : { right: `${timelineW - left - width + 4}px` }}>
            {formatNs(n.durationNs)}
          </span>
        </div>
      </div>,
    );
  }
  return (
    <div class="waterfall" ref={sizeRef} data-testid="waterfall">
      <div class="wf-head">
        <div class="wf-left" style={{ width: `${leftW}px` }}>
          <span class="muted">Service &amp; operation</span>
          <span class="grow" />
          <span class="muted small">{tree.spanCount} spans</span>
        </div>
        <div class="wf-resize" onMouseDown={startDrag} title="Drag to resize" />
        <div class="wf-right wf-ruler" style={{ width: `${timelineW}px` }}>
          {ticks.map((t) => (
            <span key={t} class="wf-tick" style={{ left: `${t * timelineW}px` }}>{formatNs(t * dur)}</span>
          ))}
        </div>
      </div>
      <div class="wf-body" ref={scroller} style={{ maxHeight: `${maxHeight}px` }}
        onScroll={(e) => setScrollTop((e.currentTarget as HTMLDivElement).scrollTop)}>
        <div class="wf-inner" style={{ height: `${layout.total}px` }}>
          <div class="wf-gridlines" style={{ left: `${leftW}px`, width: `${timelineW}px` }}>
            {ticks.map((t) => <span key={t} style={{ left: `${t * timelineW}px` }} />)}
          </div>
          {items}
        </div>
      </div>
    </div>
  );
}
