// Small SVG charts: a multi-series line chart (metric queries), sparklines and the trace
// duration scatter plot.

import { useMemo, useState } from 'preact/hooks';
import { useSize } from '../hooks';
import { formatCount, niceTicks, timeTicks, tzOffset } from '../lib/chart';
import type { Series } from '../lib/loki';
import { formatAxisTime, formatNs, formatTime, type TimeZone } from '../lib/time';

const PAL = 10;

export function seriesName(labels: Record<string, string>): string {
  const e = Object.entries(labels);
  if (!e.length) return '{}';
  return `{${e.map(([k, v]) => `${k}="${v}"`).join(', ')}}`;
}

export function LineChart({ series, startMs, endMs, tz, onZoom, height = 220 }: {
  series: Series[];
  startMs: number;
  endMs: number;
  tz: TimeZone;
  onZoom?: (a: number, b: number) => void;
  height?: number;
}) {
  const [ref, { width }] = useSize<HTMLDivElement>();
  const [hidden, setHidden] = useState<Set<number>>(new Set());
  const [drag, setDrag] = useState<{ x0: number; x1: number } | null>(null);
  const [hx, setHx] = useState<number | null>(null);
  const L = 48, B = 18, T = 8;
  const pw = Math.max(10, width - L - 10);
  const ph = height - B - T;
  const max = useMemo(() => series.reduce((m, s, i) => hidden.has(i) ? m : s.points.reduce((a, [, v]) => (isFinite(v) ? Math.max(a, v) : a), m), 0), [series, hidden]);
  const y = niceTicks(max, 4);
  const span = endMs - startMs;
  const X = (t: number) => L + ((t - startMs) / span) * pw;
  const Y = (v: number) => T + ph - (v / y.max) * ph;
  const inv = (px: number) => startMs + ((Math.min(Math.max(px, L), L + pw) - L) / pw) * span;
  const ticks = timeTicks(startMs, endMs, Math.max(2, Math.floor(pw / 110)), tzOffset(startMs, tz));
  const hoverT = hx !== null ? inv(hx) : null;
  const nearest = (s: Series) => {
    if (hoverT === null || !s.points.length) return null;
    let best = s.points[0];
    for (const p of s.points) if (Math.abs(p[0] - hoverT) < Math.abs(best[0] - hoverT)) best = p;
    return best;
  };
  return (
    <div class="linechart" data-testid="metric-chart">
      <div ref={ref} class="lc-plot">
        {width > 0 && (
          <svg width={width} height={height}
            onMouseDown={(e) => { const p = e.offsetX; setDrag({ x0: p, x1: p }); }}
            onMouseMove={(e) => { setHx(e.offsetX); if (drag) setDrag({ ...drag, x1: e.offsetX }); }}
            onMouseLeave={() => { setHx(null); setDrag(null); }}
            onMouseUp={() => {
              if (drag && onZoom && Math.abs(drag.x1 - drag.x0) > 4) onZoom(inv(Math.min(drag.x0, drag.x1)), inv(Math.max(drag.x0, drag.x1)));
              setDrag(null);
            }}>
            {y.ticks.map((v) => (
              <g key={v}>
                <line x1={L} x2={L + pw} y1={Y(v)} y2={Y(v)} class="grid" />
                <text x={L - 6} y={Y(v) + 3} class="axis" text-anchor="end">{formatCount(v)}</text>
              </g>
            ))}
            {ticks.map((t) => <text key={t} x={X(t)} y={height - 4} class="axis" text-anchor="middle">{formatAxisTime(t, span, tz)}</text>)}
            {series.map((s, i) => {
              if (hidden.has(i)) return null;
              let d = '';
              let pen = false;
              for (const [t, v] of s.points) {
                if (!isFinite(v)) { pen = false; continue; }
                d += `${pen ? 'L' : 'M'}${X(t).toFixed(1)},${Y(v).toFixed(1)}`;
                pen = true;
              }
              return <path key={i} d={d} class={`line pal-s${i % PAL}`} fill="none" />;
            })}
            {hx !== null && hx >= L && <line x1={hx} x2={hx} y1={T} y2={T + ph} class="cursor" />}
            {drag && Math.abs(drag.x1 - drag.x0) > 2 && (
              <rect class="hist-sel" x={Math.min(drag.x0, drag.x1)} y={T} width={Math.abs(drag.x1 - drag.x0)} height={ph} />
            )}
          </svg>
        )}
        {hoverT !== null && hx !== null && hx >= L && !drag && (
          <div class="hist-tip" style={{ left: `${Math.min(hx + 12, width - 260)}px` }}>
            <div class="mono small">{formatTime(hoverT, tz, false)}</div>
            {series.slice(0, 12).map((s, i) => {
              const p = nearest(s);
              return hidden.has(i) || !p ? null : (
                <div key={i} class="tip-row"><span class={`dot pal-b${i % PAL}`} /><span class="ellipsis">{seriesName(s.labels)}</span><b>{formatCount(p[1])}</b></div>
              );
            })}
          </div>
        )}
      </div>
      <div class="lc-legend">
        {series.map((s, i) => (
          <button key={i} class={`legend-item ${hidden.has(i) ? 'off' : ''}`} onClick={() => {
            const n = new Set(hidden);
            if (n.has(i)) n.delete(i); else n.add(i);
            setHidden(n);
          }}>
            <span class={`dot pal-b${i % PAL}`} /><span class="mono">{seriesName(s.labels)}</span>
          </button>
        ))}
      </div>
    </div>
  );
}

export function Sparkline({ points, width = 90, height = 22, kind = 'rate', testid }: {
  points?: [number, number][];
  width?: number;
  height?: number;
  kind?: 'rate' | 'errors' | 'latency';
  testid?: string;
}) {
  if (!points || points.length < 2) return <svg width={width} height={height} class="spark empty" data-testid={testid} />;
  const t0 = points[0][0];
  const t1 = points[points.length - 1][0];
  let max = 0;
  for (const [, v] of points) if (isFinite(v)) max = Math.max(max, v);
  const X = (t: number) => (t1 === t0 ? 0 : ((t - t0) / (t1 - t0)) * (width - 2) + 1);
  const Y = (v: number) => height - 2 - (max ? (v / max) * (height - 4) : 0);
  let d = '';
  for (const [t, v] of points) d += `${d ? 'L' : 'M'}${X(t).toFixed(1)},${Y(isFinite(v) ? v : 0).toFixed(1)}`;
  const area = `${d}L${X(t1).toFixed(1)},${height - 1}L${X(t0).toFixed(1)},${height - 1}Z`;
  return (
    <svg width={width} height={height} class={`spark spark-${kind}`} data-testid={testid}>
      <path d={area} class="spark-area" />
      <path d={d} class="spark-line" fill="none" />
    </svg>
  );
}

export interface ScatterPoint {
  id: string;
  tMs: number;
  durNs: number;
  label: string;
  error?: boolean;
}

export function Scatter({ points, startMs, endMs, tz, onPick, height = 150 }: {
  points: ScatterPoint[];
  startMs: number;
  endMs: number;
  tz: TimeZone;
  onPick: (id: string) => void;
  height?: number;
}) {
  const [ref, { width }] = useSize<HTMLDivElement>();
  const [hover, setHover] = useState<ScatterPoint | null>(null);
  const L = 52, B = 18, T = 8;
  const pw = Math.max(10, width - L - 12);
  const ph = height - B - T;
  const durs = points.map((p) => Math.max(p.durNs, 1000));
  // Log scale with some room above and below, at least one decade tall.
  let llo = Math.log10(Math.min(...durs)) - 0.15;
  let lhi = Math.log10(Math.max(...durs)) + 0.15;
  if (lhi - llo < 1) {
    const mid = (lhi + llo) / 2;
    llo = mid - 0.5;
    lhi = mid + 0.5;
  }
  const Y = (d: number) => T + ph - ((Math.log10(Math.max(d, 1)) - llo) / (lhi - llo || 1)) * ph;
  const span = endMs - startMs;
  const X = (t: number) => L + ((t - startMs) / span) * pw;
  const yt: number[] = [];
  const mults = lhi - llo < 2.5 ? [1, 2, 5] : [1];
  for (let e = Math.floor(llo); e <= Math.ceil(lhi); e++)
    for (const m of mults) {
      const v = m * Math.pow(10, e);
      if (Math.log10(v) >= llo && Math.log10(v) <= lhi) yt.push(v);
    }
  const ticks = timeTicks(startMs, endMs, Math.max(2, Math.floor(pw / 110)), tzOffset(startMs, tz));
  return (
    <div class="scatter" ref={ref} data-testid="scatter">
      {width > 0 && (
        <svg width={width} height={height}>
          {yt.map((v) => (
            <g key={v}>
              <line x1={L} x2={L + pw} y1={Y(v)} y2={Y(v)} class="grid" />
              <text x={L - 6} y={Y(v) + 3} class="axis" text-anchor="end">{formatNs(v)}</text>
            </g>
          ))}
          {ticks.map((t) => <text key={t} x={X(t)} y={height - 4} class="axis" text-anchor="middle">{formatAxisTime(t, span, tz)}</text>)}
          {points.map((p) => (
            <circle key={p.id} cx={X(p.tMs)} cy={Y(p.durNs)} r={hover?.id === p.id ? 5.5 : 4} class={`pt ${p.error ? 'err' : ''}`}
              onMouseEnter={() => setHover(p)} onMouseLeave={() => setHover(null)} onClick={() => onPick(p.id)} />
          ))}
        </svg>
      )}
      {hover && (
        <div class="hist-tip" style={{ left: `${Math.min(X(hover.tMs) + 10, width - 240)}px`, top: `${Math.max(0, Y(hover.durNs) - 20)}px` }}>
          <div class="small">{hover.label}</div>
          <div class="mono small muted">{formatTime(hover.tMs, tz)} · <b>{formatNs(hover.durNs)}</b></div>
        </div>
      )}
    </div>
  );
}
