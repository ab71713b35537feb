import { useEffect, useState } from 'preact/hooks';
import { useStore } from '../lib/store';
import { settings } from '../lib/settings';
import { describeRange, formatTime, isRelative, parseTimeExpr, QUICK_RANGES, resolveRange, shiftRange, zoomOut, type TimeRange } from '../lib/time';
import { Icon } from './Icon';
import { Popover } from './Popover';

function toInput(expr: string, tz: 'local' | 'utc'): string {
  if (isRelative(expr)) return expr;
  const v = parseTimeExpr(expr, Date.now(), tz);
  return v === null ? expr : formatTime(v, tz, false);
}

function fromInput(v: string, tz: 'local' | 'utc'): string {
  const s = v.trim();
  if (isRelative(s)) return s.replace(/\s+/g, '');
  const ms = parseTimeExpr(s, Date.now(), tz);
  return ms === null ? s : String(ms);
}

export function TimeRangePicker({ range, onChange, onRefresh }: {
  range: TimeRange;
  onChange: (r: TimeRange) => void;
  onRefresh: () => void;
}) {
  const { tz } = useStore(settings);
  const [open, setOpen] = useState(false);
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [err, setErr] = useState('');
  useEffect(() => {
    if (open) {
      setFrom(toInput(range.from, tz));
      setTo(toInput(range.to, tz));
      setErr('');
    }
  }, [open, range.from, range.to, tz]);

  const apply = () => {
    const r = { from: fromInput(from, tz), to: fromInput(to, tz) };
    try {
      resolveRange(r, Date.now(), tz);
    } catch (e) {
      setErr((e as Error).message);
      return;
    }
    onChange(r);
    setOpen(false);
  };
  const resolved = () => {
    try {
      return resolveRange(range, Date.now(), tz);
    } catch {
      return null;
    }
  };
  const shift = (f: number) => {
    const r = resolved();
    if (r) onChange(shiftRange(r, f));
  };
  const zoom = () => {
    const r = resolved();
    if (r) onChange(zoomOut(r, Date.now()));
  };
  return (
    <div class="trp">
      <div class="btn-group">
        <button class="btn icon-btn" title="Earlier ([)" onClick={() => shift(-0.5)}><Icon name="left" /></button>
        <button class="btn trp-btn" onClick={() => setOpen(!open)} data-testid="time-range" title="Time range">
          <Icon name="clock" />
          <span>{describeRange(range, tz)}</span>
          {tz === 'utc' && <span class="muted small">UTC</span>}
        </button>
        <button class="btn icon-btn" title="Later (])" onClick={() => shift(0.5)}><Icon name="right" /></button>
        <button class="btn icon-btn" title="Zoom out (z)" onClick={zoom}><Icon name="zoomout" /></button>
        <button class="btn icon-btn" title="Run again (r)" onClick={onRefresh} data-testid="refresh"><Icon name="refresh" /></button>
      </div>
      <Popover open={open} onClose={() => setOpen(false)} align="right" class="trp-pop">
        <div class="trp-grid">
          <div class="trp-abs">
            <div class="trp-title">Time range</div>
            <label class="field">
              <span>From</span>
              <input class="input mono" value={from} onInput={(e) => setFrom((e.target as HTMLInputElement).value)}
                onKeyDown={(e) => e.key === 'Enter' && apply()} data-testid="time-from" />
            </label>
            <label class="field">
              <span>To</span>
              <input class="input mono" value={to} onInput={(e) => setTo((e.target as HTMLInputElement).value)}
                onKeyDown={(e) => e.key === 'Enter' && apply()} data-testid="time-to" />
            </label>
            {err && <div class="error-inline">{err}</div>}
            <button class="btn primary" onClick={apply}>Apply range</button>
            <div class="muted small trp-help">
              Relative: <code>now-15m</code>, <code>now-1d/d</code>. Absolute: <code>2026-11-25 15:00</code>, ISO 8601 or epoch.
              Times are {tz === 'utc' ? 'UTC' : 'local'} (change in Settings). Drag on a chart to zoom.
            </div>
          </div>
          <div class="trp-quick">
            {QUICK_RANGES.map((q) => (
              <button key={q.label} class={`trp-q ${q.from === range.from && q.to === range.to ? 'sel' : ''}`}
                onClick={() => { onChange({ from: q.from, to: q.to }); setOpen(false); }}>
                {q.label}
              </button>
            ))}
          </div>
        </div>
      </Popover>
    </div>
  );
}
