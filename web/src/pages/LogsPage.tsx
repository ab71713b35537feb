// Logs explorer: builder or LogQL, volume histogram, virtualised results, details, context, tail.

import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { Builder } from '../components/Builder';
import { LineChart } from '../components/Charts';
import { ContextPanel } from '../components/ContextPanel';
import { EmptyState, ErrorBox, Loading } from '../components/Feedback';
import { Histogram } from '../components/Histogram';
import { Icon } from '../components/Icon';
import { LogDetails, type FilterKind } from '../components/LogDetails';
import { highlightRegex, LogList } from '../components/LogList';
import { Highlighted, QueryEditor, type Completer, type CompletionItem } from '../components/QueryEditor';
import { copyText, download, useDelayed, useHotkeys } from '../hooks';
import { lokiLabels, lokiLabelValues, lokiMaxEntries, lokiQueryRange } from '../lib/api';
import {
  addLabelFilterStage, addSelectorMatcher, buildLogQL, completionContext, emptyBuilder, ensureParser, isMetricQuery,
  LEVEL_LABEL, lineFilterTerms, parseBuilder, PIPELINE_ITEMS, quote, SERVICE_LABEL, TOP_ITEMS, tokenize, traceLogsQuery,
  volumeQuery, type BuilderState,
} from '../lib/logql';
import {
  collectPages, LEVELS, mergeRows, parseMatrix, parseStreams, rowSpanId, rowToJson, toCsv, toNdjson, volumeBuckets, type Level, type LogRow,
  type Series, type VolumeBucket,
} from '../lib/loki';
import { settings } from '../lib/settings';
import { useStore } from '../lib/store';
import { absoluteRange, addNs, chooseStep, msToNs, resolveRange, shiftRange, stepLiteral, zoomOut } from '../lib/time';
import type { AppState } from '../lib/urlstate';
import { navigate, refresh, refreshTick } from '../router';
import { useTail } from '../tail';
import { focusQuery, toast } from '../ui';

export const DEFAULT_QUERY = buildLogQL(emptyBuilder());
const LIMITS = [100, 500, 1000, 5000, 10000];

interface LogsResult {
  rows: LogRow[];
  categorized: boolean;
  streams: number;
  tookMs: number;
  limit: number;
  /** The last page was full: older lines may exist. */
  more: boolean;
  startNs: string;
  warnings: string[];
  /** Later pages are still being read. */
  loading?: boolean;
}

interface VolumeResult {
  buckets: VolumeBucket[];
  startMs: number;
  endMs: number;
  stepS: number;
}

interface MetricResult {
  series: Series[];
  startMs: number;
  endMs: number;
  stepS: number;
  tookMs: number;
}

function escInString(v: string, q: string): string {
  return q === '`' ? v : v.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
}

export function LogsPage({ state }: { state: AppState }) {
  const cfg = useStore(settings);
  const tick = useStore(refreshTick);
  const q = state.q.trim() || DEFAULT_QUERY;
  const limit = state.limit || cfg.limit;
  const metric = isMetricQuery(q);
  const [draft, setDraft] = useState(q);
  const [labels, setLabels] = useState<string[] | null>(null);
  const [logs, setLogs] = useState<LogsResult | null>(null);
  const [volume, setVolume] = useState<VolumeResult | null>(null);
  const [metricRes, setMetricRes] = useState<MetricResult | null>(null);
  const [loadingLogs, setLoadingLogs] = useState(false);
  const [loadingVol, setLoadingVol] = useState(false);
  const [loadingMore, setLoadingMore] = useState(false);
  const [err, setErr] = useState<unknown>(null);
  const [volErr, setVolErr] = useState<unknown>(null);
  const [selected, setSelected] = useState(-1);
  const [ctxRow, setCtxRow] = useState<LogRow | null>(null);
  const [paused, setPaused] = useState(false);
  const editorRef = useRef<HTMLTextAreaElement | null>(null);
  const abort = useRef<AbortController | null>(null);

  useEffect(() => setDraft(q), [q]);

  // Builder state follows the query; a query the builder cannot show switches to code.
  const parsed = useMemo(() => parseBuilder(q), [q]);
  const builder: BuilderState | null = 'state' in parsed ? parsed.state : null;
  const mode = state.mode === 'builder' && builder ? 'builder' : 'code';
  useEffect(() => {
    if (state.mode === 'builder' && !builder) navigate({ mode: 'code' }, { replace: true });
  }, [state.mode, builder]);

  const indexed = useMemo(() => new Set(labels ?? []), [labels]);
  const range = useMemo(() => {
    try {
      return resolveRange(state, Date.now(), cfg.tz);
    } catch {
      return null;
    }
  }, [state.from, state.to, cfg.tz, tick]);
  const nsRange = () => {
    const r = range ?? resolveRange({ from: 'now-1h', to: 'now' }, Date.now());
    return { startNs: msToNs(r.startMs), endNs: msToNs(r.endMs) };
  };

  // Resolves once the running query's first lines are in (or it ended): requests that
  // only help (label names, the volume histogram) wait for it, so they do not compete
  // with the first lines for the server.
  const firstLines = useRef<Promise<void> | null>(null);

  // Label names (for completion, the builder, and "is anything ingested at all?").
  useEffect(() => {
    if (!range) return;
    const { startNs, endNs } = nsRange();
    let live = true;
    // A tick later, so that a query started by this same render has registered firstLines.
    const t = setTimeout(() => {
      (firstLines.current ?? Promise.resolve()).then(() => {
        if (live) lokiLabels(startNs, endNs).then((ls) => live && setLabels(ls), () => live && setLabels(null));
      });
    }, 0);
    return () => {
      live = false;
      clearTimeout(t);
    };
  }, [range?.startMs, range?.endMs]);

  // Reads `limit` lines newest first, in pages the server accepts; `show` gets each page as
  // it arrives so the first lines are on screen while later pages load.
  const readLines = async (
    startNs: string, endNs: string, signal: AbortSignal | undefined,
    show: (p: { rows: LogRow[]; more: boolean; categorized: boolean; streams: number; warnings: string[] }, done: boolean) => void,
  ) => {
    const pageMax = await lokiMaxEntries();
    let categorized = true;
    const streams = new Set<string>();
    const warnings = new Set<string>();
    const info = (rows: LogRow[], more: boolean) => ({ rows, more, categorized, streams: streams.size, warnings: [...warnings] });
    const res = await collectPages(limit, pageMax, async (after, n) => {
      const res = await lokiQueryRange({ query: q, startNs, endNs: after === null ? endNs : addNs(after, 1), limit: n, direction: 'backward', signal });
      if (res.resultType !== 'streams') throw new Error(`Expected log lines but the server returned a ${res.resultType}.`);
      const p = parseStreams(res.result, res.categorized, 'backward');
      categorized &&= p.categorized || !p.rows.length;
      for (const r of p.rows) streams.add(JSON.stringify(r.stream));
      for (const w of res.warnings) warnings.add(w);
      return p.rows;
    }, (rows) => show(info(rows, false), false));
    show(info(res.rows, res.more), true);
  };

  // performance.mark('strata:first-rows') once the first lines of a query are painted
  // (a frame, then a task after it), for web/e2e/perf.mjs; 'strata:rows-loaded' when all
  // pages are in.
  const firstRowsMark = useRef(false);
  useEffect(() => {
    if (!logs) return;
    if (firstRowsMark.current && logs.rows.length) {
      firstRowsMark.current = false;
      requestAnimationFrame(() => setTimeout(() => {
        performance.mark('strata:first-rows', { detail: { rows: logs.rows.length } });
      }, 0));
    }
    if (!logs.loading) performance.mark('strata:rows-loaded', { detail: { rows: logs.rows.length } });
  }, [logs]);

  const run = useCallback(async () => {
    abort.current?.abort();
    if (state.live) return;
    let r;
    try {
      r = resolveRange(state, Date.now(), cfg.tz);
    } catch (e) {
      setErr(e);
      return;
    }
    const ac = new AbortController();
    abort.current = ac;
    setErr(null);
    setVolErr(null);
    setSelected(-1);
    const startNs = msToNs(r.startMs);
    const endNs = msToNs(r.endMs);
    if (metric) {
      setLogs(null);
      setVolume(null);
      setLoadingLogs(true);
      const stepS = chooseStep(r.endMs - r.startMs, 250);
      const t0 = performance.now();
      try {
        const res = await lokiQueryRange({ query: q, startNs, endNs, step: stepS, limit, signal: ac.signal });
        if (ac.signal.aborted) return;
        if (res.resultType === 'streams') throw new Error('Expected a metric result but the server returned log lines.');
        setMetricRes({ series: parseMatrix(res.result), startMs: r.startMs, endMs: r.endMs, stepS, tookMs: performance.now() - t0 });
      } catch (e) {
        if ((e as Error).name !== 'AbortError') {
          setErr(e);
          setMetricRes(null);
        }
      } finally {
        if (!ac.signal.aborted) setLoadingLogs(false);
      }
      return;
    }
    setMetricRes(null);
    setLoadingLogs(true);
    setLoadingVol(true);
    const t0 = performance.now();
    performance.mark('strata:query-start');
    firstRowsMark.current = true;
    let gotFirst = () => {};
    firstLines.current = new Promise<void>((resolve) => (gotFirst = resolve));
    const logsP = readLines(startNs, endNs, ac.signal, (p, done) => {
      gotFirst();
      if (ac.signal.aborted) return;
      setLogs({
        rows: p.rows, categorized: p.categorized, streams: p.streams, tookMs: performance.now() - t0, limit,
        more: done && p.more, startNs, warnings: p.warnings, loading: !done,
      });
    })
      .catch((e) => {
        if ((e as Error).name !== 'AbortError') {
          setErr(e);
          setLogs(null);
        }
      })
      .finally(() => {
        gotFirst();
        if (!ac.signal.aborted) setLoadingLogs(false);
      });
    const stepS = chooseStep(r.endMs - r.startMs, 100);
    const stepMs = stepS * 1000;
    const first = Math.floor(r.startMs / stepMs) * stepMs;
    const last = Math.ceil(r.endMs / stepMs) * stepMs;
    const volP = firstLines.current
      .then(() => lokiQueryRange({
        query: volumeQuery(q, stepLiteral(stepS)), startNs: msToNs(first + stepMs), endNs: msToNs(last), step: stepS,
        signal: ac.signal, source: 'logvolhist',
      }))
      .then((res) => {
        if (ac.signal.aborted) return;
        setVolume({ buckets: volumeBuckets(parseMatrix(res.result), first, last, stepS), startMs: first, endMs: last, stepS });
      })
      .catch((e) => {
        if ((e as Error).name !== 'AbortError') {
          setVolErr(e);
          setVolume(null);
        }
      })
      .finally(() => !ac.signal.aborted && setLoadingVol(false));
    await Promise.all([logsP, volP]);
  }, [q, state.from, state.to, limit, state.live, cfg.tz, metric]);

  useEffect(() => {
    run();
    return () => abort.current?.abort();
  }, [run, tick]);

  const loadOlder = async () => {
    if (!logs || !logs.rows.length) return;
    setLoadingMore(true);
    try {
      const oldest = logs.rows[logs.rows.length - 1];
      await readLines(logs.startNs, addNs(oldest.tsNs, 1), undefined, (p, done) => {
        const merged = mergeRows(logs.rows, p.rows);
        setLogs({ ...logs, rows: merged, more: done && merged.length > logs.rows.length && p.more, loading: !done });
      });
    } catch (e) {
      setErr(e);
    } finally {
      setLoadingMore(false);
    }
  };

  // Live tail.
  const tail = useTail(state.live && !metric ? q : null, paused);
  useEffect(() => setPaused(false), [state.live]);

  const rows = state.live ? tail.rows : logs?.rows ?? [];
  const expanded = useMemo(() => new Set(state.exp), [state.exp]);
  const terms = useMemo(() => lineFilterTerms(q), [q]);
  const hl = useMemo(() => highlightRegex(terms.literals, terms.regexes), [terms]);

  // Context from the URL once its row is loaded.
  useEffect(() => {
    if (state.ctx && !ctxRow) {
      const r = rows.find((x) => x.id === state.ctx);
      if (r) setCtxRow(r);
    }
    if (!state.ctx && ctxRow) setCtxRow(null);
  }, [state.ctx, rows]);

  // ----- actions
  const setQuery = (nq: string, extra: Partial<AppState> = {}) => {
    if (nq === q && !Object.keys(extra).length) refresh();
    else navigate({ q: nq === DEFAULT_QUERY ? '' : nq, exp: [], ctx: '', ...extra });
  };
  const setBuilder = (b: BuilderState) => setQuery(buildLogQL(b, indexed));
  const toggleExp = (id: string) =>
    navigate({ exp: expanded.has(id) ? state.exp.filter((x) => x !== id) : [...state.exp, id] }, { replace: true });
  const openContext = (r: LogRow) => {
    setCtxRow(r);
    navigate({ ctx: r.id }, { replace: true });
  };
  const closeContext = () => {
    setCtxRow(null);
    navigate({ ctx: '' }, { replace: true });
  };
  const openTrace = (traceId: string, r?: LogRow) =>
    navigate({ page: 'traces', trace: traceId, span: r ? rowSpanId(r) ?? '' : '' });
  const traceLogs = (traceId: string) => setQuery(traceLogsQuery(traceId), { mode: 'code' });

  const onFilter = (key: string, value: string, kind: FilterKind, op: '=' | '!=', parser?: 'json' | 'logfmt') => {
    if (mode === 'builder' && builder) {
      const b: BuilderState = { ...builder, filters: [...builder.filters] };
      if (key === SERVICE_LABEL && op === '=') b.services = [value];
      else if ((key === LEVEL_LABEL) && op === '=') b.levels = [value];
      else {
        if (kind === 'L' && parser && !b.parser) b.parser = parser;
        if (!b.filters.some((f) => f.key === key && f.op === op && f.value === value)) b.filters.push({ key, op, value });
      }
      setBuilder(b);
      return;
    }
    let nq = q;
    if (kind === 'I') nq = addSelectorMatcher(q, key, op, value);
    else {
      if (kind === 'L' && parser) nq = ensureParser(nq, parser);
      nq = addLabelFilterStage(nq, key, op, value);
    }
    setQuery(nq);
  };

  const onLevel = (l: Level) => {
    if (mode === 'builder' && builder) setBuilder({ ...builder, levels: builder.levels.length === 1 && builder.levels[0] === l ? [] : [l] });
    else setQuery(addLabelFilterStage(q, LEVEL_LABEL, '=', l));
  };

  const setMode = (m: 'builder' | 'code') => {
    if (m === 'builder') {
      const p = parseBuilder(draft.trim() || DEFAULT_QUERY);
      if ('error' in p) {
        toast(`Can't show this query in the builder: ${p.error}`, 'error');
        return;
      }
      navigate({ mode: 'builder', q: draft.trim() === DEFAULT_QUERY ? '' : draft.trim() });
    } else {
      navigate({ mode: 'code' });
      setTimeout(() => editorRef.current?.focus(), 0);
    }
  };

  const zoomTo = (a: number, b: number) => navigate({ ...absoluteRange(a, b) });

  const exportRows = (fmt: 'ndjson' | 'csv') => {
    const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
    if (fmt === 'ndjson') download(`strata-logs-${stamp}.ndjson`, toNdjson(rows), 'application/x-ndjson');
    else download(`strata-logs-${stamp}.csv`, toCsv(rows), 'text/csv');
  };

  // ----- completion
  const completer: Completer = async (text, cursor) => {
    const ctx = completionContext(text, cursor);
    const { startNs, endNs } = nsRange();
    let items: CompletionItem[] = [];
    if (ctx.kind === 'label-name') {
      const ls = await lokiLabels(startNs, endNs);
      items = ls.map((l) => ({ label: l, insert: `${l}=`, kind: 'label', chain: true }));
    } else if (ctx.kind === 'label-value' && ctx.label) {
      let vals: string[] = [];
      if (ctx.label === LEVEL_LABEL && !ctx.inSelector) vals = LEVELS.filter((l) => l !== 'unknown');
      else vals = await lokiLabelValues(ctx.label, startNs, endNs).catch(() => []);
      items = vals.map((v) => ({
        label: v,
        insert: ctx.inString ? escInString(v, ctx.quoteChar ?? '"') + (ctx.quoteChar ?? '"') : quote(v),
        kind: 'value',
      }));
    } else if (ctx.kind === 'pipeline') {
      const ls = (await lokiLabels(startNs, endNs).catch((): string[] => [])).concat([LEVEL_LABEL, 'trace_id']);
      items = [
        ...PIPELINE_ITEMS.map((p) => ({ label: p.label, insert: p.label, detail: p.detail, kind: 'keyword' as const })),
        ...[...new Set(ls)].map((l) => ({ label: l, insert: `${l}=`, detail: 'label filter', kind: 'label' as const, chain: true })),
      ];
    } else if (ctx.kind === 'top') {
      items = TOP_ITEMS.map((t) => ({ label: t.label, insert: t.insert, detail: t.detail, kind: t.insert === '{' ? 'snippet' : 'function', chain: t.insert === '{' }));
      if (ctx.prefix === '' && text.slice(cursor).startsWith('}')) items = [];
    }
    return { from: ctx.from, to: ctx.to, items };
  };

  // ----- keyboard
  useEffect(() => {
    focusQuery.fn = () => (mode === 'code' ? editorRef.current?.focus() : setMode('code'));
    return () => {
      focusQuery.fn = null;
    };
  });
  useHotkeys({
    t: () => navigate({ live: !state.live }),
    p: () => state.live && setPaused((p) => !p),
    j: () => setSelected((s) => Math.min(rows.length - 1, s + 1)),
    k: () => setSelected((s) => Math.max(0, s - 1)),
    o: () => rows[selected] && toggleExp(rows[selected].id),
    Enter: () => rows[selected] && toggleExp(rows[selected].id),
    c: () => rows[selected] && openContext(rows[selected]),
    y: () => rows[selected] && copyText(JSON.stringify(rowToJson(rows[selected]))).then(() => toast('JSON copied')),
    m: () => setMode(mode === 'builder' ? 'code' : 'builder'),
    '[': () => range && navigate({ ...shiftRange(range, -0.5) }),
    ']': () => range && navigate({ ...shiftRange(range, 0.5) }),
    z: () => range && navigate({ ...zoomOut(range, Date.now()) }),
  });

  const showLoading = useDelayed(loadingLogs);
  const noData = labels !== null && labels.length === 0;
  const spanMs = range ? range.endMs - range.startMs : 0;
  return (
    <div class="page logs-page">
      <div class="qbar">
        <div class="seg" role="tablist" aria-label="Query mode">
          <button role="tab" aria-selected={mode === 'builder'} class={mode === 'builder' ? 'on' : ''} onClick={() => setMode('builder')}
            title="Builder (m)" data-testid="mode-builder"><Icon name="builder" /> Builder</button>
          <button role="tab" aria-selected={mode === 'code'} class={mode === 'code' ? 'on' : ''} onClick={() => setMode('code')}
            title="LogQL (m)" data-testid="mode-code"><Icon name="code" /> LogQL</button>
        </div>
        <div class="qbar-query">
          {mode === 'code' ? (
            <QueryEditor value={draft} onChange={setDraft} onRun={(v) => setQuery(v.trim() || DEFAULT_QUERY)} tokenize={tokenize}
              completer={completer} inputRef={editorRef} testid="logql-input"
              placeholder='{service_name="checkout"} |= "error"   — Enter to run, Shift+Enter for a new line' />
          ) : (
            <div class="editor readonly" title="Generated LogQL — click to edit as code" onClick={() => setMode('code')} data-testid="generated-query">
              <pre class="editor-hl"><Highlighted tokens={tokenize(q)} /></pre>
            </div>
          )}
        </div>
        <select class="input limit" value={limit} title="Line limit"
          onChange={(e) => navigate({ limit: Number((e.target as HTMLSelectElement).value) })} data-testid="limit">
          {[...new Set([...LIMITS, limit])].sort((a, b) => a - b).map((l) => <option key={l} value={l}>{l.toLocaleString()} lines</option>)}
        </select>
        <button class="btn primary" onClick={() => setQuery(mode === 'code' ? draft.trim() || DEFAULT_QUERY : q)} title="Run query (Ctrl+Enter)" data-testid="run">
          Run
        </button>
        <button class={`btn live ${state.live ? 'on' : ''}`} onClick={() => navigate({ live: !state.live })} title="Live tail (t)"
          disabled={metric} data-testid="live">
          <span class="live-dot" /> Live
        </button>
      </div>
      {mode === 'builder' && builder && (
        <Builder state={builder} onChange={setBuilder}
          loadServices={() => { const { startNs, endNs } = nsRange(); return lokiLabelValues(SERVICE_LABEL, startNs, endNs); }}
          loadLabels={async () => { const { startNs, endNs } = nsRange(); return (await lokiLabels(startNs, endNs)).concat(['trace_id', 'span_id']); }}
          loadValues={(l) => { const { startNs, endNs } = nsRange(); return lokiLabelValues(l, startNs, endNs); }} />
      )}

      {state.live ? (
        <div class="tailbar" data-testid="tailbar">
          <span class={`tail-status ts-${tail.status}`}><span class="live-dot" />{paused ? 'paused' : tail.status}</span>
          <span class="mono" data-testid="tail-rate">{tail.rate.toFixed(1)} lines/s</span>
          <span class="muted">{tail.total.toLocaleString()} received{tail.dropped ? `, ${tail.dropped} dropped by the server` : ''}</span>
          {tail.message && <span class="error-inline">{tail.message}</span>}
          <span class="grow" />
          <button class="btn small" onClick={() => setPaused(!paused)} data-testid="tail-pause" title="Pause (p)">
            <Icon name={paused ? 'play' : 'pause'} /> {paused ? `Resume${tail.pending ? ` (${tail.pending} new)` : ''}` : 'Pause'}
          </button>
          <button class="btn small" onClick={tail.clear}>Clear</button>
          <button class="btn small" onClick={() => navigate({ live: false })}><Icon name="stop" /> Stop</button>
        </div>
      ) : metric ? (
        metricRes && <div class="panel"><LineChart series={metricRes.series} startMs={metricRes.startMs} endMs={metricRes.endMs} tz={cfg.tz} onZoom={zoomTo} /></div>
      ) : err && !volume?.buckets.some((b) => b.total) ? null : (
        <div class="panel hist-panel">
          {volume ? (
            <Histogram buckets={volume.buckets} startMs={volume.startMs} endMs={volume.endMs} stepS={volume.stepS} tz={cfg.tz}
              onZoom={zoomTo} onLevel={onLevel} activeLevels={builder?.levels} />
          ) : (
            <div class="hist-placeholder">{loadingVol ? <Loading loading label="Counting lines…" /> : volErr ? <span class="error-inline">Volume: {(volErr as Error).message}</span> : null}</div>
          )}
          {volume && volErr === null && loadingVol && <div class="hist-loading"><Loading loading /></div>}
        </div>
      )}

      <div class="resbar">
        {!state.live && !metric && logs && (
          <span data-testid="result-stats" data-rows={logs.rows.length} data-loading={logs.loading ? 'true' : 'false'}>
            <b>{logs.rows.length.toLocaleString()}</b> lines
            <span class="muted"> · {logs.streams} streams · {Math.round(logs.tookMs)} ms</span>
            {logs.loading && <span class="muted"> · reading more…</span>}
            {logs.more && <span class="warn-text"> · line limit reached</span>}
            {!logs.categorized && logs.rows.length > 0 && <span class="muted" title="The server did not honour X-Loki-Response-Encoding-Flags: categorize-labels"> · labels not categorised</span>}
          </span>
        )}
        {metric && metricRes && <span><b>{metricRes.series.length}</b> series <span class="muted">· step {stepLiteral(metricRes.stepS)} · {Math.round(metricRes.tookMs)} ms</span></span>}
        {logs?.warnings.map((w) => <span key={w} class="warn-text">{w}</span>)}
        {showLoading && <Loading loading label="Querying…" />}
        <span class="grow" />
        {!metric && rows.length > 0 && (
          <>
            <span class="muted small">Download</span>
            <button class="btn small" onClick={() => exportRows('ndjson')} data-testid="download-ndjson"><Icon name="download" /> NDJSON</button>
            <button class="btn small" onClick={() => exportRows('csv')} data-testid="download-csv"><Icon name="download" /> CSV</button>
          </>
        )}
      </div>

      <ErrorBox error={err} onRetry={run} />

      {!metric && (
        rows.length > 0 ? (
          <LogList rows={rows} expanded={expanded} onToggle={toggleExp} selected={selected} onSelect={setSelected} highlight={hl}
            tz={cfg.tz} showDate={spanMs > 86_400_000} onOpenTrace={openTrace} scrollKey={state.live ? 'live' : logs}
            renderDetails={(r) => (
              <LogDetails row={r} tz={cfg.tz} highlight={hl} indexed={indexed}
                actions={{ onFilter, onContext: openContext, onOpenTrace: openTrace, onTraceLogs: traceLogs }} />
            )}
            footer={!state.live && logs?.more ? (
              <button class="btn small" disabled={loadingMore} onClick={loadOlder} data-testid="load-older">
                {loadingMore ? 'Loading…' : `Load ${limit.toLocaleString()} older lines`}
              </button>
            ) : undefined} />
        ) : state.live ? (
          <EmptyState title={tail.status === 'live' ? 'Waiting for new lines…' : 'Connecting to the live tail…'}>
            New lines matching <code>{q}</code> appear here as they arrive.
          </EmptyState>
        ) : !loadingLogs && !err && logs ? (
          noData ? (
            <EmptyState title="No data yet" snippet>
              Strata has not received any logs in this time range. Send logs with OTLP (gRPC <code>localhost:4317</code>, HTTP{' '}
              <code>localhost:4318</code>) or the Loki push API, then run the query again.
            </EmptyState>
          ) : (
            <EmptyState title="No log lines match">
              Nothing matched <code>{q}</code> between the start and end of the time range. Try a longer range, fewer filters, or{' '}
              {mode === 'builder' ? 'another service.' : 'check label names with autocompletion (Ctrl+Space).'}
            </EmptyState>
          )
        ) : null
      )}
      {metric && !loadingLogs && !err && metricRes && metricRes.series.length === 0 && (
        <EmptyState title="No series">The metric query returned no data in this time range.</EmptyState>
      )}
      {ctxRow && <ContextPanel row={ctxRow} indexed={indexed} tz={cfg.tz} onClose={closeContext} />}
    </div>
  );
}
