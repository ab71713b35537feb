// One trace: summary, waterfall, span details and the trace's logs.

import { useEffect, useMemo, useState } from 'preact/hooks';
import { ErrorBox, Loading } from '../components/Feedback';
import { Icon } from '../components/Icon';
import { LogDetails } from '../components/LogDetails';
import { highlightRegex, LogList } from '../components/LogList';
import { spanMatches, Waterfall } from '../components/Waterfall';
import { copyText, useHotkeys } from '../hooks';
import { fetchTrace, lokiQueryRange } from '../lib/api';
import { traceLogsQuery } from '../lib/logql';
import { parseStreams, rowSpanId, type LogRow } from '../lib/loki';
import { attrString, displayTraceId, type Attr, type ParsedTrace } from '../lib/otlp';
import { settings } from '../lib/settings';
import { useStore } from '../lib/store';
import { absoluteRange, formatNs, formatNsTime, formatTime, nsToMs } from '../lib/time';
import { ancestors, buildTree, criticalNs, flattenTree, serviceColorIndex, type SpanNode, type TraceTree } from '../lib/tracetree';
import { navigate, refreshTick } from '../router';
import { toast } from '../ui';

const LOG_PAD_NS = 5n * 60n * 1_000_000_000n;

function Attrs({ attrs, testid }: { attrs: Attr[]; testid?: string }) {
  if (!attrs.length) return <div class="muted small pad-s">none</div>;
  return (
    <table class="kv" data-testid={testid}>
      <tbody>
        {attrs.slice().sort((a, b) => a.key.localeCompare(b.key)).map((a) => (
          <tr key={a.key}>
            <td class="kv-k">{a.key}</td>
            <td class={`kv-v t-${a.type}`}>{attrString(a.value)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function SpanDetails({ node, tree, onClose }: { node: SpanNode; tree: TraceTree; onClose: () => void }) {
  const s = node.span;
  const cfg = useStore(settings);
  const spanLogs = () => {
    const startNs = s.startNs - LOG_PAD_NS;
    const endNs = s.endNs + LOG_PAD_NS;
    navigate({
      page: 'logs', mode: 'code', q: traceLogsQuery(s.traceId, s.spanId), exp: [], live: false,
      ...absoluteRange(nsToMs(startNs.toString()), nsToMs(endNs.toString())),
    });
  };
  return (
    <div class="span-details" data-testid="span-details">
      <div class="sd-head">
        <span class={`wf-svc svc-b${serviceColorIndex(s.service)}`} />
        <div class="sd-title">
          <div class="sd-name">{s.name}</div>
          <div class="muted small">{s.service}</div>
        </div>
        <button class="ibtn" onClick={onClose} title="Close"><Icon name="x" /></button>
      </div>
      <div class="sd-actions">
        <button class="btn small primary" onClick={spanLogs} data-testid="span-logs"><Icon name="logs" /> Logs for this span</button>
        <button class="btn small" onClick={() => copyText(s.spanId).then(() => toast('Span id copied'))}><Icon name="copy" /> Span id</button>
      </div>
      <dl class="sd-grid">
        <dt>Duration</dt><dd><b>{formatNs(node.durationNs)}</b></dd>
        <dt>Start</dt><dd>+{formatNs(node.offsetNs)} <span class="muted">({formatNsTime(s.startNs.toString(), cfg.tz).slice(11)})</span></dd>
        <dt>Self time</dt><dd>{formatNs(node.selfNs)}</dd>
        <dt>Critical</dt><dd>{formatNs(criticalNs(node))}</dd>
        <dt>Kind</dt><dd>{s.kind}</dd>
        <dt>Status</dt><dd class={s.statusCode === 'error' ? 'err-text' : ''}>{s.statusCode}{s.statusMessage && `: ${s.statusMessage}`}</dd>
        <dt>Span id</dt><dd class="mono">{s.spanId}</dd>
        <dt>Parent</dt><dd class="mono">{s.parentSpanId ? (tree.nodes.has(s.parentSpanId) ? s.parentSpanId : `${s.parentSpanId} (missing)`) : 'root'}</dd>
        {s.scope.name && <><dt>Scope</dt><dd>{s.scope.name} {s.scope.version}</dd></>}
        {s.traceState && <><dt>Trace state</dt><dd class="mono">{s.traceState}</dd></>}
      </dl>
      <div class="sd-sec">Span attributes <span class="muted">{s.attributes.length}</span></div>
      <Attrs attrs={s.attributes} testid="span-attrs" />
      <div class="sd-sec">Resource <span class="muted">{s.resource.length}</span></div>
      <Attrs attrs={s.resource} />
      {s.events.length > 0 && (
        <>
          <div class="sd-sec">Events <span class="muted">{s.events.length}</span></div>
          {s.events.map((e, i) => (
            <div key={i} class="sd-event">
              <div><span class="mono muted">+{formatNs(Number(e.timeNs - s.startNs))}</span> <b class={e.name === 'exception' ? 'err-text' : ''}>{e.name}</b></div>
              <Attrs attrs={e.attributes} />
            </div>
          ))}
        </>
      )}
      {s.links.length > 0 && (
        <>
          <div class="sd-sec">Links <span class="muted">{s.links.length}</span></div>
          {s.links.map((l, i) => (
            <div key={i} class="sd-event">
              <button class="link mono" onClick={() => navigate({ trace: l.traceId, span: l.spanId })}>
                {displayTraceId(l.traceId)} / {l.spanId}
              </button>
              <Attrs attrs={l.attributes} />
            </div>
          ))}
        </>
      )}
    </div>
  );
}

export function TraceView({ traceId, spanId, onBack }: { traceId: string; spanId: string; onBack?: () => void }) {
  const cfg = useStore(settings);
  const tick = useStore(refreshTick);
  const [trace, setTrace] = useState<ParsedTrace | null>(null);
  const [err, setErr] = useState<unknown>(null);
  const [loading, setLoading] = useState(false);
  const [collapsed, setCollapsed] = useState<Set<string>>(new Set());
  const [critical, setCritical] = useState(true);
  const [find, setFind] = useState('');
  const [logs, setLogs] = useState<LogRow[] | null>(null);
  const [logsErr, setLogsErr] = useState<unknown>(null);
  const [logsExp, setLogsExp] = useState<Set<string>>(new Set());
  const [logSel, setLogSel] = useState(-1);

  useEffect(() => {
    const ac = new AbortController();
    setLoading(true);
    setErr(null);
    setLogs(null);
    fetchTrace(traceId, ac.signal)
      .then((t) => {
        setTrace(t);
        setCollapsed(new Set());
      })
      .catch((e) => {
        if ((e as Error).name !== 'AbortError') {
          setErr(e);
          setTrace(null);
        }
      })
      .finally(() => !ac.signal.aborted && setLoading(false));
    return () => ac.abort();
  }, [traceId, tick]);

  const tree = useMemo(() => (trace ? buildTree(trace.spans) : null), [trace]);

  // The trace's logs.
  useEffect(() => {
    if (!tree || !tree.spanCount) return;
    const ac = new AbortController();
    setLogsErr(null);
    const hex = tree.traceId || traceId;
    lokiQueryRange({
      query: traceLogsQuery(hex), startNs: (tree.startNs - LOG_PAD_NS).toString(), endNs: (tree.endNs + LOG_PAD_NS).toString(),
      limit: 1000, direction: 'forward', signal: ac.signal,
    })
      .then((r) => setLogs(parseStreams(r.result, r.categorized, 'forward').rows))
      .catch((e) => (e as Error).name !== 'AbortError' && setLogsErr(e));
    return () => ac.abort();
  }, [tree]);

  const visible = useMemo(() => (tree ? flattenTree(tree, collapsed) : []), [tree, collapsed]);
  const selNode = tree && spanId ? tree.nodes.get(spanId) ?? null : null;
  // Reveal a selected span hidden under a collapsed parent.
  useEffect(() => {
    if (!tree || !spanId) return;
    const anc = ancestors(tree, spanId);
    if (anc.some((a) => collapsed.has(a))) {
      const n = new Set(collapsed);
      anc.forEach((a) => n.delete(a));
      setCollapsed(n);
    }
  }, [spanId, tree]);

  const select = (id: string) => navigate({ span: id === spanId ? '' : id }, { replace: true });
  const toggle = (id: string) => {
    const n = new Set(collapsed);
    if (n.has(id)) n.delete(id);
    else n.add(id);
    setCollapsed(n);
  };
  const move = (d: number) => {
    const i = visible.findIndex((n) => n.span.spanId === spanId);
    const next = visible[Math.max(0, Math.min(visible.length - 1, i + d))];
    if (next) navigate({ span: next.span.spanId }, { replace: true });
  };
  useHotkeys({
    j: () => move(1),
    k: () => move(-1),
    ArrowDown: () => move(1),
    ArrowUp: () => move(-1),
    Escape: () => spanId && navigate({ span: '' }, { replace: true }),
    ArrowLeft: () => spanId && tree?.nodes.get(spanId)?.children.length && !collapsed.has(spanId) && toggle(spanId),
    ArrowRight: () => spanId && collapsed.has(spanId) && toggle(spanId),
    Backspace: () => onBack?.(),
  });

  const matches = useMemo(() => (tree && find ? [...tree.nodes.values()].filter((n) => spanMatches(n, find)).length : 0), [tree, find]);
  const logsHl = useMemo(() => highlightRegex([], []), []);
  const root = tree?.mainRoot;
  const openInLogs = () => {
    if (!tree) return;
    navigate({
      page: 'logs', mode: 'code', q: traceLogsQuery(tree.traceId || traceId), exp: [], live: false,
      ...absoluteRange(nsToMs((tree.startNs - LOG_PAD_NS).toString()), nsToMs((tree.endNs + LOG_PAD_NS).toString())),
    });
  };
  return (
    <div class="trace-view" data-testid="trace-view">
      <div class="tv-head">
        {onBack && <button class="btn small ghost" onClick={onBack} title="Back to results (Backspace)"><Icon name="left" /> Results</button>}
        <div class="tv-title">
          {root ? (
            <>
              <span class={`wf-svc svc-b${serviceColorIndex(root.span.service)}`} />
              <b>{root.span.service}</b>
              <span>{root.span.name}</span>
            </>
          ) : <b>Trace</b>}
          <span class="mono muted tv-id" title="Copy trace id" onClick={() => copyText(traceId).then(() => toast('Trace id copied'))}>{displayTraceId(traceId)}</span>
        </div>
        <Loading loading={loading} />
      </div>
      <ErrorBox error={err} />
      {trace?.partial && <div class="warn-box">Partial trace: {trace.message || 'the server returned only part of this trace.'}</div>}
      {tree && tree.spanCount === 0 && !loading && <div class="warn-box">The server returned this trace with no spans.</div>}
      {tree && tree.spanCount > 0 && (
        <>
          <div class="tv-stats" data-testid="trace-stats">
            <span><span class="muted">Duration</span> <b>{formatNs(tree.durationNs)}</b></span>
            <span><span class="muted">Spans</span> <b data-testid="trace-span-count">{tree.spanCount}</b></span>
            <span><span class="muted">Services</span> <b>{tree.services.length}</b></span>
            <span><span class="muted">Depth</span> <b>{Math.max(...[...tree.nodes.values()].map((n) => n.depth)) + 1}</b></span>
            <span class={tree.errorCount ? 'err-text' : ''}><span class="muted">Errors</span> <b>{tree.errorCount}</b></span>
            <span><span class="muted">Started</span> {formatTime(nsToMs(tree.startNs.toString()), cfg.tz)}</span>
            {tree.orphans.length > 0 && <span class="warn-text" title="Spans whose parent is not in the trace">{tree.orphans.length} orphan spans</span>}
          </div>
          <div class="tv-tools">
            <button class="btn small" onClick={() => setCollapsed(new Set())}>Expand all</button>
            <button class="btn small" onClick={() => setCollapsed(new Set([...tree.nodes.values()].filter((n) => n.children.length && n.depth >= 1).map((n) => n.span.spanId)))}>Collapse</button>
            <label class="check-label"><input type="checkbox" checked={critical} onChange={() => setCritical(!critical)} /> Critical path</label>
            <span class="legend-crit"><span class="crit-swatch" /> on the critical path</span>
            <span class="grow" />
            <input class="input find" placeholder="Find span, service, attribute…" value={find} onInput={(e) => setFind((e.target as HTMLInputElement).value)} />
            {find && <span class="muted small">{matches} match{matches === 1 ? '' : 'es'}</span>}
          </div>
          <div class={`tv-main ${selNode ? 'with-details' : ''}`}>
            <Waterfall tree={tree} selected={spanId} onSelect={select} collapsed={collapsed} onToggle={toggle} showCritical={critical}
              find={find} maxHeight={Math.max(240, Math.round(window.innerHeight * 0.55))} />
            {selNode && <SpanDetails node={selNode} tree={tree} onClose={() => select(spanId)} />}
          </div>
          <div class="tv-logs">
            <div class="sec-head">
              <b>Logs of this trace</b>
              <code class="small muted">{traceLogsQuery(displayTraceId(tree.traceId || traceId))}</code>
              <span class="grow" />
              <button class="btn small" onClick={openInLogs}><Icon name="external" /> Open in Logs</button>
            </div>
            <ErrorBox error={logsErr} />
            {logs === null && !logsErr && <Loading loading label="Loading logs…" />}
            {logs && logs.length === 0 && <div class="muted pad">No logs carry this trace id (label or metadata <code>trace_id</code>) within 5 minutes of the trace.</div>}
            {logs && logs.length > 0 && (
              <LogList rows={logs} expanded={logsExp} selected={logSel} onSelect={setLogSel} highlight={logsHl} tz={cfg.tz} showDate={false}
                testid="trace-logs" autoHeight={420}
                onToggle={(id) => {
                  const n = new Set(logsExp);
                  if (n.has(id)) n.delete(id); else n.add(id);
                  setLogsExp(n);
                  const r = logs.find((x) => x.id === id);
                  const sid = r && rowSpanId(r);
                  if (sid && tree.nodes.has(sid)) navigate({ span: sid }, { replace: true });
                }}
                onOpenTrace={(tid, r) => {
                  const sid = rowSpanId(r);
                  if (tid === (tree.traceId || traceId) && sid) navigate({ span: sid }, { replace: true });
                  else navigate({ trace: tid, span: sid ?? '' });
                }}
                renderDetails={(r) => (
                  <LogDetails row={r} tz={cfg.tz} highlight={null} indexed={new Set()} actions={{
                    onFilter: (k, v, kind, op) => navigate({
                      page: 'logs', mode: 'code', live: false, exp: [],
                      q: kind === 'I' ? `{${k}${op}${JSON.stringify(v)}}` : `${traceLogsQuery(tree.traceId || traceId)} | ${k}${op}${JSON.stringify(v)}`,
                    }),
                    onContext: () => openInLogs(),
                    onOpenTrace: (tid) => tid !== (tree.traceId || traceId) && navigate({ trace: tid, span: '' }),
                  }} />
                )} />
            )}
          </div>
        </>
      )}
      {!tree && !loading && !err && <div class="muted pad">Loading trace <code>{traceId}</code>…</div>}
    </div>
  );
}
