// Virtualised log lines: only the rows in view are in the DOM, so 10,000+ lines scroll smoothly.

import { Component, type ComponentChildren } from 'preact';
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { useLatest, useSize } from '../hooks';
import { rowTraceId, type LogRow } from '../lib/loki';
import { formatTime, type TimeZone } from '../lib/time';
import { serviceColorIndex } from '../lib/tracetree';
import { makeLayout, visibleRange } from '../lib/virtual';
import { Icon } from './Icon';

export const ROW_H = 20;
const MAX_ROW_CHARS = 1500;

/** Builds one regexp that finds the query's filter terms in lines. */
export function highlightRegex(literals: string[], regexes: string[]): RegExp | null {
  const parts: string[] = literals.filter(Boolean).map((l) => l.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  let flags = 'g';
  for (const r of regexes) {
    let src = r;
    if (src.startsWith('(?i)')) {
      src = src.slice(4);
      flags = 'gi';
    }
    try {
      new RegExp(src);
      parts.push(src);
    } catch {
      /* RE2 syntax JS cannot read: skip highlighting it */
    }
  }
  if (!parts.length) return null;
  try {
    return new RegExp(parts.map((p) => `(?:${p})`).join('|'), flags);
  } catch {
    return null;
  }
}

export function Marked({ text, re }: { text: string; re: RegExp | null }) {
  if (!re) return <>{text}</>;
  const out: ComponentChildren[] = [];
  let last = 0;
  re.lastIndex = 0;
  let m: RegExpExecArray | null;
  let n = 0;
  while ((m = re.exec(text)) && n < 200) {
    if (m[0] === '') {
      re.lastIndex++;
      continue;
    }
    if (m.index > last) out.push(text.slice(last, m.index));
    out.push(<mark key={n++}>{m[0]}</mark>);
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push(text.slice(last));
  return <>{out}</>;
}

function svcOf(r: LogRow): string {
  return r.stream.service_name ?? r.stream.app ?? r.stream.job ?? r.stream.container ?? '';
}

interface RowProps {
  r: LogRow;
  i: number;
  top: number;
  isExp: boolean;
  isSel: boolean;
  highlight: RegExp | null;
  tz: TimeZone;
  showDate: boolean;
  onToggle: (id: string) => void;
  onSelect: (i: number) => void;
  onOpenTrace: (traceId: string, r: LogRow) => void;
  details: ComponentChildren;
  observe?: (el: HTMLElement) => void;
}

/** One line. Re-renders only when its own props change, so scrolling renders just new rows. */
class Row extends Component<RowProps> {
  shouldComponentUpdate(n: RowProps): boolean {
    const p = this.props;
    return n.r !== p.r || n.top !== p.top || n.isExp !== p.isExp || n.isSel !== p.isSel || n.highlight !== p.highlight ||
      n.tz !== p.tz || n.showDate !== p.showDate || (n.isExp && n.details !== p.details) || n.i !== p.i;
  }

  render({ r, i, top, isExp, isSel, highlight, tz, showDate, onToggle, onSelect, onOpenTrace, details, observe }: RowProps) {
    const svc = svcOf(r);
    const tid = rowTraceId(r);
    const ts = formatTime(r.tsMs, tz);
    return (
      <div data-id={r.id} class={`lrow lv-${r.level} ${isSel ? 'sel' : ''} ${isExp ? 'exp' : ''}`}
        style={{ top: `${top}px` }} data-testid="log-row" ref={(el) => { if (el && observe) observe(el); }}>
        <div class="lrow-main" onClick={(e) => {
          if ((e.target as HTMLElement).closest('button')) return;
          if (window.getSelection()?.toString()) return;
          onSelect(i);
          onToggle(r.id);
        }}>
          <span class="lrow-lv" title={r.level} />
          <span class="lrow-caret"><Icon name={isExp ? 'expand' : 'collapse'} size={10} /></span>
          <span class="lrow-ts">{showDate ? ts.slice(5) : ts.slice(11)}</span>
          {svc && <span class={`lrow-svc svc-c${serviceColorIndex(svc)}`} title={svc}>{svc}</span>}
          <span class="lrow-line"><Marked text={r.line.length > MAX_ROW_CHARS ? r.line.slice(0, MAX_ROW_CHARS) + '…' : r.line} re={highlight} /></span>
          {tid && (
            <button class="lrow-trace" title={`Open trace ${tid}`} data-testid="open-trace" onClick={() => onOpenTrace(tid, r)}>
              <Icon name="trace" size={12} /> trace
            </button>
          )}
        </div>
        {isExp && <div class="lrow-details">{details}</div>}
      </div>
    );
  }
}

export function LogList({ rows, expanded, onToggle, selected, onSelect, highlight, tz, showDate, renderDetails, onOpenTrace, footer, testid = 'log-list', scrollKey, autoHeight }: {
  rows: LogRow[];
  expanded: ReadonlySet<string>;
  onToggle: (id: string) => void;
  selected: number;
  onSelect: (i: number) => void;
  highlight: RegExp | null;
  tz: TimeZone;
  showDate: boolean;
  renderDetails: (r: LogRow) => ComponentChildren;
  onOpenTrace: (traceId: string, r: LogRow) => void;
  footer?: ComponentChildren;
  testid?: string;
  /** Scroll to the top when this changes (a new query). */
  scrollKey?: unknown;
  /** Grow with content up to this many pixels instead of filling the parent. */
  autoHeight?: number;
}) {
  const scroller = useRef<HTMLDivElement>(null);
  const [sizeRef, size] = useSize<HTMLDivElement>();
  const [scrollTop, setScrollTop] = useState(0);
  const [heights, setHeights] = useState<Map<string, number>>(new Map());
  const ro = useRef<ResizeObserver | null>(null);
  const raf = useRef(0);

  useEffect(() => {
    ro.current = new ResizeObserver((entries) => {
      // Sizes come from the entries, read here: offsetHeight read later, in the state
      // updater, forced a layout of the whole list on every render.
      const sizes = entries.map((e) => ({
        id: (e.target as HTMLElement).dataset.id!,
        h: Math.ceil(e.borderBoxSize?.[0]?.blockSize ?? (e.target as HTMLElement).offsetHeight),
      }));
      setHeights((prev) => {
        let changed = false;
        const next = new Map(prev);
        for (const { id, h } of sizes) {
          if (h && next.get(id) !== h) {
            next.set(id, h);
            changed = true;
          }
        }
        return changed ? next : prev;
      });
    });
    return () => ro.current?.disconnect();
  }, []);

  useLayoutEffect(() => {
    if (scroller.current) scroller.current.scrollTop = 0;
    setScrollTop(0);
  }, [scrollKey]);

  const index = useMemo(() => {
    const m = new Map<string, number>();
    rows.forEach((r, i) => m.set(r.id, i));
    return m;
  }, [rows]);

  const layout = useMemo(() => {
    const tall = new Map<number, number>();
    for (const id of expanded) {
      const i = index.get(id);
      if (i !== undefined) tall.set(i, heights.get(id) ?? 260);
    }
    return makeLayout(rows.length, ROW_H, tall);
  }, [rows.length, expanded, heights, index]);

  // Keep the selected row in view.
  useEffect(() => {
    const el = scroller.current;
    if (!el || selected < 0 || selected >= rows.length) return;
    const top = layout.offset(selected);
    const h = Math.min(layout.height(selected), el.clientHeight);
    if (top < el.scrollTop) el.scrollTop = top;
    else if (top + h > el.scrollTop + el.clientHeight) el.scrollTop = top + h - el.clientHeight;
  }, [selected]);

  const viewH = autoHeight ? Math.min(autoHeight, layout.total + (footer ? 40 : 0)) : size.height;
  const [a, b] = visibleRange(layout, scrollTop, viewH || 800, 10);
  // Stable handlers: rows skip re-rendering, so they must not keep stale closures.
  const latest = useLatest({ onToggle, onSelect, onOpenTrace });
  const h = useMemo(() => ({
    toggle: (id: string) => latest.current.onToggle(id),
    select: (i: number) => latest.current.onSelect(i),
    trace: (t: string, r: LogRow) => latest.current.onOpenTrace(t, r),
  }), []);
  const items: ComponentChildren[] = [];
  for (let i = a; i < b; i++) {
    const r = rows[i];
    const isExp = expanded.has(r.id);
    items.push(
      <Row key={r.id} r={r} i={i} top={layout.offset(i)} isExp={isExp} isSel={i === selected} highlight={highlight} tz={tz}
        showDate={showDate} onToggle={h.toggle} onSelect={h.select} onOpenTrace={h.trace}
        details={isExp ? renderDetails(r) : null} observe={isExp ? (el) => ro.current?.observe(el) : undefined} />,
    );
  }
  return (
    <div class={`loglist ${autoHeight ? 'auto' : ''}`} ref={(el) => { scroller.current = el; sizeRef(el); }}
      style={autoHeight ? { height: `${viewH}px` } : undefined} data-testid={testid}
      onScroll={(e) => {
        const t = (e.currentTarget as HTMLDivElement).scrollTop;
        cancelAnimationFrame(raf.current);
        raf.current = requestAnimationFrame(() => setScrollTop(t));
      }}>
      <div class="loglist-inner" style={{ height: `${layout.total}px` }}>{items}</div>
      {footer && <div class="loglist-foot">{footer}</div>}
    </div>
  );
}
