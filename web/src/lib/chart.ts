// Axis helpers shared by the histogram, the metric chart, the scatter plot and the waterfall.

const TIME_STEPS_MS = [
  1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000,
  900_000, 1_800_000, 3_600_000, 7_200_000, 10_800_000, 21_600_000, 43_200_000, 86_400_000, 172_800_000, 604_800_000,
];

/** Round times between start and end for axis labels (at most `max`). */
export function timeTicks(startMs: number, endMs: number, max = 8, tzOffsetMs = 0): number[] {
  const span = endMs - startMs;
  if (span <= 0 || max < 1) return [];
  const step = TIME_STEPS_MS.find((s) => span / s <= max) ?? Math.ceil(span / max / 86_400_000) * 86_400_000;
  // Align to the step in the display zone (so hourly ticks land on local hours).
  const first = Math.ceil((startMs + tzOffsetMs) / step) * step - tzOffsetMs;
  const out: number[] = [];
  for (let t = first; t <= endMs; t += step) out.push(t);
  return out;
}

/** A round maximum and tick values for a y axis starting at zero. */
export function niceTicks(max: number, count = 3): { max: number; ticks: number[] } {
  if (!(max > 0) || !isFinite(max)) return { max: 1, ticks: [0, 1] };
  const raw = max / count;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const top = Math.ceil(max / step) * step;
  const ticks: number[] = [];
  for (let v = 0; v <= top + step / 2; v += step) ticks.push(+v.toPrecision(12));
  return { max: top, ticks };
}

/** Compact number: 1234 → 1.2k, 2_500_000 → 2.5M. */
export function formatCount(v: number): string {
  if (!isFinite(v)) return '–';
  const a = Math.abs(v);
  if (a >= 1e9) return `${+(v / 1e9).toFixed(1)}G`;
  if (a >= 1e6) return `${+(v / 1e6).toFixed(1)}M`;
  if (a >= 1e4) return `${+(v / 1e3).toFixed(0)}k`;
  if (a >= 1e3) return `${+(v / 1e3).toFixed(1)}k`;
  if (a >= 100 || Number.isInteger(v)) return String(Math.round(v));
  if (a >= 1) return String(+v.toFixed(2));
  if (a === 0) return '0';
  return String(+v.toPrecision(2));
}

export function formatBytes(v: number): string {
  if (!isFinite(v)) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

/** The zone offset to add to UTC ms to get wall-clock ms in the display zone. */
export function tzOffset(ms: number, tz: 'local' | 'utc'): number {
  return tz === 'utc' ? 0 : -new Date(ms).getTimezoneOffset() * 60_000;
}
