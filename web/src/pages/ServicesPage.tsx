// Services: request rate, error rate and latency percentiles from spans, with sparklines.

import { useEffect, useMemo, useState } from 'preact/hooks';
import { Sparkline } from '../components/Charts';
import { EmptyState, ErrorBox, Loading } from '../components/Feedback';
import { Icon } from '../components/Icon';
import { fetchServices, type ServiceStats } from '../lib/api';
import { formatCount } from '../lib/chart';
import { settings } from '../lib/settings';
import { useStore } from '../lib/store';
import { chooseStep, msToNs, resolveRange } from '../lib/time';
import { formatNs } from '../lib/time';
import { serviceColorIndex } from '../lib/tracetree';
import type { AppState } from '../lib/urlstate';
import { navigate, refreshTick } from '../router';

type Col = 'name' | 'rate' | 'errorRate' | 'p50' | 'p95' | 'p99' | 'spans' | 'errors';

const COLS: { key: Col; label: string; num: boolean; title?: string }[] = [
  { key: 'name', label: 'Service', num: false },
  { key: 'rate', label: 'Rate', num: true, title: 'Spans per second' },
  { key: 'errorRate', label: 'Errors', num: true, title: 'Share of spans with status error' },
  { key: 'p50', label: 'p50', num: true },
  { key: 'p95', label: 'p95', num: true },
  { key: 'p99', label: 'p99', num: true },
  { key: 'spans', label: 'Spans', num: true },
  { key: 'errors', label: 'Error spans', num: true },
];

export function ServicesPage({ state }: { state: AppState }) {
  const cfg = useStore(settings);
  const tick = useStore(refreshTick);
  const [data, setData] = useState<ServiceStats[] | null>(null);
  const [err, setErr] = useState<unknown>(null);
  const [loading, setLoading] = useState(false);
  const [filter, setFilter] = useState(state.filter);
  useEffect(() => setFilter(state.filter), [state.filter]);

  useEffect(() => {
    let r;
    try {
      r = resolveRange(state, Date.now(), cfg.tz);
    } catch (e) {
      setErr(e);
      return;
    }
    const ac = new AbortController();
    setLoading(true);
    setErr(null);
    const step = chooseStep(r.endMs - r.startMs, 60);
    fetchServices(msToNs(r.startMs), msToNs(r.endMs), step, ac.signal)
      .then((d) => setData(d?.services ?? []))
      .catch((e) => {
        if ((e as Error).name !== 'AbortError') {
          setErr(e);
          setData(null);
        }
      })
      .finally(() => !ac.signal.aborted && setLoading(false));
    return () => ac.abort();
  }, [state.from, state.to, tick, cfg.tz]);

  const desc = state.sort.startsWith('-');
  const col = (desc ? state.sort.slice(1) : state.sort) as Col;
  const rows = useMemo(() => {
    const f = filter.toLowerCase();
    const r = (data ?? []).filter((s) => !f || s.name.toLowerCase().includes(f));
    r.sort((a, b) => {
      const va = a[col] ?? 0;
      const vb = b[col] ?? 0;
      const c = typeof va === 'string' ? va.localeCompare(vb as string) : (va as number) - (vb as number);
      return desc ? -c : c;
    });
    return r;
  }, [data, filter, col, desc]);
  const setSort = (c: Col) => navigate({ sort: col === c ? (desc ? c : `-${c}`) : c === 'name' ? c : `-${c}` }, { replace: true });
  const traces = (svc: string, extra: Partial<AppState> = {}) =>
    navigate({ page: 'traces', tmode: 'search', svc, op: '', tags: '', minDur: '', maxDur: '', status: '', trace: '', span: '', ...extra });
  const logs = (svc: string) => navigate({ page: 'logs', mode: 'builder', q: `{service_name="${svc.replace(/["\\]/g, '\\$&')}"}`, exp: [], live: false });

  return (
    <div class="page services-page">
      <div class="toolbar">
        <h2>Services</h2>
        <input class="input find" placeholder="Filter services…" value={filter} data-testid="services-filter"
          onInput={(e) => setFilter((e.target as HTMLInputElement).value)}
          onBlur={() => navigate({ filter }, { replace: true })} />
        <Loading loading={loading} />
        <span class="grow" />
        <span class="muted small">From spans in the selected time range. Click a service for its traces.</span>
      </div>
      <ErrorBox error={err} />
      {data && data.length === 0 && !loading && (
        <EmptyState title="No traces yet" snippet>
          Service statistics are computed from spans. None arrived in this time range.
        </EmptyState>
      )}
      {rows.length > 0 && (
        <div class="table-wrap">
          <table class="table services" data-testid="services-table">
            <thead>
              <tr>
                {COLS.map((c) => (
                  <th key={c.key} class={`sortable ${c.num ? 'num' : ''}`} title={c.title} onClick={() => setSort(c.key)}>
                    {c.label} {col === c.key && (desc ? '▾' : '▴')}
                  </th>
                ))}
                <th />
              </tr>
            </thead>
            <tbody>
              {rows.map((s) => (
                <tr key={s.name} class="clickable" onClick={() => traces(s.name)} data-testid="service-row" data-service={s.name}>
                  <td><span class={`wf-svc svc-b${serviceColorIndex(s.name)}`} /> <b>{s.name}</b></td>
                  <td class="num"><span class="cell-spark"><Sparkline points={s.series?.rate} kind="rate" /><span class="mono">{formatCount(s.rate)}/s</span></span></td>
                  <td class={`num ${s.errorRate > 0.05 ? 'err-text' : s.errorRate > 0 ? 'warn-text' : ''}`}>
                    <span class="cell-spark"><Sparkline points={s.series?.errors} kind="errors" /><span class="mono">{(s.errorRate * 100).toFixed(s.errorRate < 0.1 ? 2 : 1)}%</span></span>
                  </td>
                  <td class="num mono">{formatNs(s.p50)}</td>
                  <td class="num"><span class="cell-spark"><Sparkline points={s.series?.p95} kind="latency" /><span class="mono">{formatNs(s.p95)}</span></span></td>
                  <td class="num mono">{formatNs(s.p99)}</td>
                  <td class="num mono" data-testid="service-spans">{s.spans.toLocaleString()}</td>
                  <td class="num mono" data-testid="service-errors">{s.errors.toLocaleString()}</td>
                  <td class="row-actions" onClick={(e) => e.stopPropagation()}>
                    <button class="btn small ghost" onClick={() => traces(s.name, { status: 'error' })} disabled={!s.errors}>Errors</button>
                    <button class="btn small ghost" onClick={() => logs(s.name)}><Icon name="logs" /> Logs</button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
