// Trace search (form or TraceQL), duration scatter plot and results; opens TraceView.

import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { Scatter, type ScatterPoint } from '../components/Charts';
import { EmptyState, ErrorBox, Loading } from '../components/Feedback';
import { Icon } from '../components/Icon';
import { Picker } from '../components/Picker';
import { Highlighted, QueryEditor, type Completer, type CompletionItem } from '../components/QueryEditor';
import { useHotkeys } from '../hooks';
import { tempoSearch, tempoTags, tempoTagValues, type TempoSearchTrace } from '../lib/api';
import { formatCount } from '../lib/chart';
import { displayTraceId } from '../lib/otlp';
import { settings } from '../lib/settings';
import { useStore } from '../lib/store';
import { absoluteRange, formatNs, formatTime, resolveRange } from '../lib/time';
import { buildTraceQL, INTRINSICS, isTraceIdQuery, tokenizeTraceQL, tqlString, validDuration, type TraceSearch } from '../lib/traceql';
import { serviceColorIndex } from '../lib/tracetree';
import type { AppState } from '../lib/urlstate';
import { hrefOf, navigate, refreshTick } from '../router';
import { focusQuery } from '../ui';
import { TraceView } from './TraceView';

interface Row {
  id: string;
  service: string;
  name: string;
  startMs: number;
  durNs: number;
  matched: number;
  error: boolean;
}

function toRow(t: TempoSearchTrace): Row {
  const sets = t.spanSets ?? (t.spanSet ? [t.spanSet] : []);
  const matched = sets.reduce((a, s) => a + (s.matched ?? s.spans?.length ?? 0), 0);
  const error = sets.some((s) => s.spans?.some((sp) => sp.attributes?.some((a) => a.key === 'status' && JSON.stringify(a.value).includes('error'))));
  const errStats = Object.values(t.serviceStats ?? {}).some((s) => (s.errorCount ?? 0) > 0);
  return {
    id: t.traceID,
    service: t.rootServiceName ?? '<root span not yet received>',
    name: t.rootTraceName ?? '',
    startMs: t.startTimeUnixNano ? Number(BigInt(t.startTimeUnixNano) / 1_000_000n) : 0,
    durNs: (t.durationMs ?? 0) * 1e6,
    matched,
    error: error || errStats,
  };
}

function formFrom(s: AppState): TraceSearch {
  return { service: s.svc, operation: s.op, tags: s.tags, minDuration: s.minDur, maxDuration: s.maxDur, status: s.status };
}

export function TracesPage({ state }: { state: AppState }) {
  if (state.trace) return <TraceView traceId={state.trace} spanId={state.span} onBack={() => navigate({ trace: '', span: '' })} />;
  return <TraceSearchView state={state} />;
}

function TraceSearchView({ state }: { state: AppState }) {
  const cfg = useStore(settings);
  const tick = useStore(refreshTick);
  const [form, setForm] = useState<TraceSearch>(formFrom(state));
  const [draftQl, setDraftQl] = useState(state.tq);
  const [rows, setRows] = useState<Row[] | null>(null);
  const [metrics, setMetrics] = useState<{ inspectedTraces?: number } | null>(null);
  const [err, setErr] = useState<unknown>(null);
  const [loading, setLoading] = useState(false);
  const [sort, setSort] = useState<'start' | 'dur'>('start');
  const [services, setServices] = useState<string[] | null>(null);
  const editorRef = useRef<HTMLTextAreaElement | null>(null);

  useEffect(() => setForm(formFrom(state)), [state.svc, state.op, state.tags, state.minDur, state.maxDur, state.status]);
  useEffect(() => setDraftQl(state.tq), [state.tq]);

  const committed = formFrom(state);
  const query = state.tmode === 'traceql' ? state.tq.trim() || '{}' : buildTraceQL(committed);
  const range = useMemo(() => {
    try {
      return resolveRange(state, Date.now(), cfg.tz);
    } catch {
      return null;
    }
  }, [state.from, state.to, cfg.tz, tick]);
  const secs = () => {
    const r = range ?? resolveRange({ from: 'now-1h', to: 'now' }, Date.now());
    return { startS: Math.floor(r.startMs / 1000), endS: Math.ceil(r.endMs / 1000) };
  };

  useEffect(() => {
    if (!range) {
      setErr(new Error('Invalid time range.'));
      return;
    }
    const ac = new AbortController();
    setLoading(true);
    setErr(null);
    const { startS, endS } = secs();
    tempoSearch({ q: query, startS, endS: Math.max(endS, startS + 1), limit: state.tlimit, signal: ac.signal })
      .then((r) => {
        setRows((r.traces ?? []).map(toRow));
        setMetrics(r.metrics ?? null);
      })
      .catch((e) => {
        if ((e as Error).name !== 'AbortError') {
          setErr(e);
          setRows(null);
        }
      })
      .finally(() => !ac.signal.aborted && setLoading(false));
    return () => ac.abort();
  }, [query, range?.startMs, range?.endMs, state.tlimit, tick]);

  // Is anything ingested at all? (for the empty state)
  useEffect(() => {
    const { startS, endS } = secs();
    tempoTagValues('resource.service.name', startS, endS).then(setServices, () => setServices(null));
  }, [range?.startMs, range?.endMs]);

  const commit = (f: TraceSearch = form) => {
    if (!validDuration(f.minDuration) || !validDuration(f.maxDuration)) return;
    navigate({ tmode: 'search', svc: f.service, op: f.operation, tags: f.tags, minDur: f.minDuration, maxDur: f.maxDuration, status: f.status });
  };
  const runQl = (v: string) => {
    const t = v.trim();
    if (isTraceIdQuery(t)) navigate({ trace: t.toLowerCase(), span: '' });
    else navigate({ tmode: 'traceql', tq: t });
  };
  const setMode = (m: 'search' | 'traceql') => {
    if (m === 'traceql') {
      navigate({ tmode: 'traceql', tq: state.tmode === 'search' ? buildTraceQL(committed) : state.tq });
      setTimeout(() => editorRef.current?.focus(), 0);
    } else navigate({ tmode: 'search' });
  };

  useEffect(() => {
    focusQuery.fn = () => (state.tmode === 'traceql' ? editorRef.current?.focus() : setMode('traceql'));
    return () => {
      focusQuery.fn = null;
    };
  });
  useHotkeys({ m: () => setMode(state.tmode === 'search' ? 'traceql' : 'search') });

  const completer: Completer = async (text, cursor) => {
    const before = text.slice(0, cursor);
    const { startS, endS } = secs();
    const val = /([\w.:]+)\s*(=|!=|=~|!~)\s*"?([^"]*)$/.exec(before);
    if (val && before.lastIndexOf('{') > before.lastIndexOf('}')) {
      const tag = val[1].replace(/^\./, '');
      const quoted = before.endsWith('"' + val[3]);
      const values = ['status'].includes(tag) ? ['error', 'ok', 'unset']
        : tag === 'kind' ? ['server', 'client', 'producer', 'consumer', 'internal']
          : await tempoTagValues(val[1].startsWith('.') ? tag : val[1], startS, endS).catch(() => []);
      const bare = tag === 'status' || tag === 'kind';
      return {
        from: cursor - val[3].length - (quoted ? 1 : 0), to: cursor,
        items: values.map((v) => ({ label: v, insert: bare ? v : tqlString(v), kind: 'value' as const })),
      };
    }
    const word = /([\w.:]*)$/.exec(before)![1];
    if (before.lastIndexOf('{') <= before.lastIndexOf('}')) return null;
    const scopes = await tempoTags(startS, endS).catch(() => []);
    const items: CompletionItem[] = INTRINSICS.slice(0, 8).map((i) => ({ label: i, insert: i, kind: 'keyword' }));
    for (const sc of scopes) {
      if (sc.scope === 'intrinsic') continue;
      const prefix = sc.scope === 'none' ? '.' : `${sc.scope}.`;
      for (const t of sc.tags) items.push({ label: prefix + t, insert: prefix + t, kind: 'label', detail: sc.scope });
    }
    return { from: cursor - word.length, to: cursor, items };
  };

  const sorted = useMemo(() => {
    if (!rows) return [];
    const r = rows.slice();
    r.sort(sort === 'start' ? (a, b) => b.startMs - a.startMs : (a, b) => b.durNs - a.durNs);
    return r;
  }, [rows, sort]);
  const maxDur = useMemo(() => Math.max(1, ...(rows ?? []).map((r) => r.durNs)), [rows]);
  const points: ScatterPoint[] = useMemo(
    () => (rows ?? []).map((r) => ({ id: r.id, tMs: r.startMs, durNs: r.durNs, label: `${r.service}: ${r.name}`, error: r.error })),
    [rows],
  );
  const open = (id: string) => navigate({ trace: id, span: '' });
  const svcValues = () => { const { startS, endS } = secs(); return tempoTagValues('resource.service.name', startS, endS); };
  const opValues = () => {
    const { startS, endS } = secs();
    return tempoTagValues('name', startS, endS, form.service ? `{resource.service.name=${tqlString(form.service)}}` : undefined);
  };

  return (
    <div class="page traces-page">
      <div class="qbar">
        <div class="seg" role="tablist">
          <button role="tab" aria-selected={state.tmode === 'search'} class={state.tmode === 'search' ? 'on' : ''} onClick={() => setMode('search')} data-testid="tmode-search">
            <Icon name="builder" /> Search
          </button>
          <button role="tab" aria-selected={state.tmode === 'traceql'} class={state.tmode === 'traceql' ? 'on' : ''} onClick={() => setMode('traceql')} data-testid="tmode-traceql">
            <Icon name="code" /> TraceQL
          </button>
        </div>
        <div class="qbar-query">
          {state.tmode === 'traceql' ? (
            <QueryEditor value={draftQl} onChange={setDraftQl} onRun={runQl} tokenize={tokenizeTraceQL} completer={completer}
              inputRef={editorRef} testid="traceql-input" placeholder='{resource.service.name="checkout" && status=error}  — or paste a trace id' />
          ) : (
            <div class="editor readonly" onClick={() => setMode('traceql')} title="Generated TraceQL — click to edit">
              <pre class="editor-hl"><Highlighted tokens={tokenizeTraceQL(query)} /></pre>
            </div>
          )}
        </div>
        <select class="input limit" value={state.tlimit} onChange={(e) => navigate({ tlimit: Number((e.target as HTMLSelectElement).value) })}>
          {[20, 50, 100, 500].map((l) => <option key={l} value={l}>{l} traces</option>)}
        </select>
        <button class="btn primary" data-testid="trace-search" onClick={() => (state.tmode === 'traceql' ? runQl(draftQl) : commit())}>Search</button>
      </div>
      {state.tmode === 'search' && (
        <div class="builder">
          <div class="builder-row">
            <Picker label="Service" multi={false} values={form.service ? [form.service] : []} load={svcValues} placeholder="Any" testid="trace-service"
              onChange={(v) => { const f = { ...form, service: v[0] ?? '', operation: '' }; setForm(f); commit(f); }} />
            <Picker label="Operation" multi={false} values={form.operation ? [form.operation] : []} load={opValues} placeholder="Any" testid="trace-operation"
              onChange={(v) => { const f = { ...form, operation: v[0] ?? '' }; setForm(f); commit(f); }} />
            <label class="inline-field">
              <span>Status</span>
              <select class="input" value={form.status} data-testid="trace-status"
                onChange={(e) => { const f = { ...form, status: (e.target as HTMLSelectElement).value as TraceSearch['status'] }; setForm(f); commit(f); }}>
                <option value="">any</option>
                <option value="error">error</option>
                <option value="ok">ok</option>
                <option value="unset">unset</option>
              </select>
            </label>
            <label class="inline-field">
              <span>Duration</span>
              <input class={`input dur ${validDuration(form.minDuration) ? '' : 'invalid'}`} placeholder="min e.g. 100ms" value={form.minDuration}
                onInput={(e) => setForm({ ...form, minDuration: (e.target as HTMLInputElement).value })} onKeyDown={(e) => e.key === 'Enter' && commit()} onBlur={() => commit()} />
              <span class="muted">–</span>
              <input class={`input dur ${validDuration(form.maxDuration) ? '' : 'invalid'}`} placeholder="max e.g. 2s" value={form.maxDuration}
                onInput={(e) => setForm({ ...form, maxDuration: (e.target as HTMLInputElement).value })} onKeyDown={(e) => e.key === 'Enter' && commit()} onBlur={() => commit()} />
            </label>
            <label class="inline-field grow">
              <span>Tags</span>
              <input class="input mono" placeholder='http.method=GET http.status_code>=500' value={form.tags} data-testid="trace-tags"
                onInput={(e) => setForm({ ...form, tags: (e.target as HTMLInputElement).value })} onKeyDown={(e) => e.key === 'Enter' && commit()} onBlur={() => commit()} />
            </label>
          </div>
          {(!validDuration(form.minDuration) || !validDuration(form.maxDuration)) && (
            <div class="error-inline pad-s">Durations need a unit: 250ms, 1.5s, 2m.</div>
          )}
        </div>
      )}
      <ErrorBox error={err} />
      {rows && rows.length > 0 && range && (
        <div class="panel">
          <Scatter points={points} startMs={range.startMs} endMs={range.endMs} tz={cfg.tz} onPick={open} />
        </div>
      )}
      <div class="resbar">
        {rows && <span data-testid="trace-count"><b>{rows.length}</b> traces{metrics?.inspectedTraces ? <span class="muted"> · {formatCount(metrics.inspectedTraces)} inspected</span> : null}</span>}
        <Loading loading={loading} label="Searching…" />
        <span class="grow" />
      </div>
      {rows && rows.length > 0 && (
        <div class="table-wrap">
          <table class="table" data-testid="trace-results">
            <thead>
              <tr>
                <th class="sortable" onClick={() => setSort('start')}>Start {sort === 'start' && '▾'}</th>
                <th>Root service: operation</th>
                <th>Trace id</th>
                <th class="sortable num" onClick={() => setSort('dur')}>Duration {sort === 'dur' && '▾'}</th>
                <th class="num">Matched</th>
              </tr>
            </thead>
            <tbody>
              {sorted.map((r) => (
                <tr key={r.id} class="clickable" onClick={() => open(r.id)} data-testid="trace-result">
                  <td class="mono nowrap">{formatTime(r.startMs, cfg.tz)}</td>
                  <td>
                    <span class={`wf-svc svc-b${serviceColorIndex(r.service)}`} /> <b>{r.service}</b>
                    <span class="muted">: </span>{r.name}
                    {r.error && <span class="badge lv-bg-error">error</span>}
                  </td>
                  <td class="mono"><a href={hrefOf({ trace: r.id, span: '' })} onClick={(e) => { if (e.ctrlKey || e.metaKey || e.shiftKey) e.stopPropagation(); else e.preventDefault(); }}>{displayTraceId(r.id)}</a></td>
                  <td class="num">
                    <span class="durbar"><span style={{ width: `${(r.durNs / maxDur) * 100}%` }} /></span>
                    <span class="mono">{r.durNs ? formatNs(r.durNs) : '<1ms'}</span>
                  </td>
                  <td class="num mono">{r.matched}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {rows && rows.length === 0 && !loading && (
        services !== null && services.length === 0 ? (
          <EmptyState title="No traces yet" snippet>
            Strata has not received any spans in this time range. Send traces with OTLP to <code>localhost:4317</code> (gRPC) or{' '}
            <code>localhost:4318</code> (HTTP):
          </EmptyState>
        ) : (
          <EmptyState title="No traces match">
            Nothing matched <code>{query}</code>. Widen the time range, or remove a filter.
            {range && (
              <div><button class="btn small" onClick={() => navigate({ ...absoluteRange(range.startMs - (range.endMs - range.startMs), range.endMs) })}>Search twice as far back</button></div>
            )}
          </EmptyState>
        )
      )}
    </div>
  );
}
