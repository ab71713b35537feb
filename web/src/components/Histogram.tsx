// Log volume histogram, stacked by level, with drag-to-zoom.

import { useMemo, useState } from 'preact/hooks';
import { useSize } from '../hooks';
import { formatCount, niceTicks, timeTicks, tzOffset } from '../lib/chart';
import type { Level, VolumeBucket } from '../lib/loki';
import { formatAxisTime, formatTime, type TimeZone } from '../lib/time';

const STACK: Level[] = ['critical', 'error', 'warn', 'info', 'debug', 'trace', 'unknown'];
const H = 96;
const PAD_L = 40;
const PAD_B = 16;
const PAD_T = 6;

export function Histogram({ buckets, startMs, endMs, stepS, onZoom, onLevel, tz, activeLevels = [] }: {
  buckets: VolumeBucket[];
  startMs: number;
  endMs: number;
  stepS: number;
  onZoom: (startMs: number, endMs: number) => void;
  onLevel?: (l: Level) => void;
  tz: TimeZone;
  activeLevels?: string[];
}) {
  const [ref, { width }] = useSize<HTMLDivElement>();
  const [drag, setDrag] = useState<{ x0: number; x1: number } | null>(null);
  const [hover, setHover] = useState<number | null>(null);
  const plotW = Math.max(10, width - PAD_L - 8);
  const plotH = H - PAD_B - PAD_T;
  const span = endMs - startMs;
  const x = (t: number) => PAD_L + ((t - startMs) / span) * plotW;
  const inv = (px: number) => startMs + ((Math.min(Math.max(px, PAD_L), PAD_L + plotW) - PAD_L) / plotW) * span;
  const max = useMemo(() => buckets.reduce((m, b) => Math.max(m, b.total), 0), [buckets]);
  const y = niceTicks(max, 2);
  const totals = useMemo(() => {
    const t: Partial<Record<Level, number>> = {};
    for (const b of buckets) for (const [k, v] of Object.entries(b.counts)) t[k as Level] = (t[k as Level] ?? 0) + (v ?? 0);
    return t;
  }, [buckets]);
  const stepMs = stepS * 1000;
  const gap = (stepMs / span) * plotW > 4 ? 1 : 0;
  const ticks = timeTicks(startMs, endMs, Math.max(2, Math.floor(plotW / 110)), tzOffset(startMs, tz));

  const pos = (e: MouseEvent) => {
    const r = (e.currentTarget as SVGElement).getBoundingClientRect();
    return e.clientX - r.left;
  };
  const bucketAt = (px: number) => {
    const t = inv(px);
    let lo = 0;
    let hi = buckets.length - 1;
    while (lo < hi) {
      const m = (lo + hi + 1) >> 1;
      if (buckets[m].tMs <= t) lo = m;
      else hi = m - 1;
    }
    return buckets.length ? lo : null;
  };
  const hb = hover !== null ? buckets[hover] : null;
  return (
    <div class="histogram" data-testid="histogram">
      <div class="hist-chart" ref={ref}>
        {width > 0 && (
          <svg width={width} height={H} class="hist-svg"
            onMouseDown={(e) => { const p = pos(e); setDrag({ x0: p, x1: p }); }}
            onMouseMove={(e) => {
              const p = pos(e);
              if (drag) setDrag({ ...drag, x1: p });
              setHover(p >= PAD_L ? bucketAt(p) : null);
            }}
            onMouseLeave={() => { setHover(null); setDrag(null); }}
            onMouseUp={() => {
              if (drag && Math.abs(drag.x1 - drag.x0) > 4) {
                const a = inv(Math.min(drag.x0, drag.x1));
                const b = inv(Math.max(drag.x0, drag.x1));
                if (b - a >= 1000) onZoom(a, b);
              } else if (drag && hover !== null && buckets[hover]?.total) {
                onZoom(buckets[hover].tMs, buckets[hover].tMs + stepMs);
              }
              setDrag(null);
            }}>
            {y.ticks.map((v) => {
              const yy = PAD_T + plotH - (v / y.max) * plotH;
              return (
                <g key={v}>
                  <line x1={PAD_L} x2={PAD_L + plotW} y1={yy} y2={yy} class="grid" />
                  <text x={PAD_L - 6} y={yy + 3} class="axis" text-anchor="end">{formatCount(v)}</text>
                </g>
              );
            })}
            {ticks.map((t) => (
              <text key={t} x={x(t)} y={H - 3} class="axis" text-anchor="middle">{formatAxisTime(t, span, tz)}</text>
            ))}
            {buckets.map((b, i) => {
              if (!b.total) return null;
              let acc = 0;
              const x0 = x(b.tMs);
              const w = Math.max(1, x(b.tMs + stepMs) - x0 - gap);
              return (
                <g key={b.tMs} class={hover === i ? 'hov' : ''}>
                  {STACK.map((lv) => {
                    const v = b.counts[lv];
                    if (!v) return null;
                    const h = (v / y.max) * plotH;
                    const yy = PAD_T + plotH - acc - h;
                    acc += h;
                    return <rect key={lv} x={x0} y={yy} width={w} height={Math.max(h, 0.5)} class={`bar lv-fill-${lv}`} />;
                  })}
                </g>
              );
            })}
            {drag && Math.abs(drag.x1 - drag.x0) > 2 && (
              <rect class="hist-sel" x={Math.max(PAD_L, Math.min(drag.x0, drag.x1))} y={PAD_T}
                width={Math.abs(drag.x1 - drag.x0)} height={plotH} />
            )}
          </svg>
        )}
        {hb && !drag && (
          <div class="hist-tip" style={{ left: `${Math.min(x(hb.tMs) + 12, width - 170)}px` }}>
            <div class="mono small">{formatTime(hb.tMs, tz, false)}</div>
            {STACK.filter((l) => hb.counts[l]).map((l) => (
              <div key={l} class="tip-row"><span class={`dot lv-bg-${l}`} />{l}<b>{formatCount(hb.counts[l]!)}</b></div>
            ))}
            <div class="tip-row muted">total<b>{formatCount(hb.total)}</b></div>
            <div class="muted small">click to zoom, drag to select</div>
          </div>
        )}
      </div>
      <div class="legend">
        {STACK.filter((l) => totals[l]).map((l) => (
          <button key={l} class={`legend-item ${activeLevels.includes(l) ? 'sel' : ''}`} onClick={() => onLevel?.(l)}
            title={`Show only ${l} lines`}>
            <span class={`dot lv-bg-${l}`} />
            {l}
            <span class="muted">{formatCount(totals[l]!)}</span>
          </button>
        ))}
      </div>
    </div>
  );
}
