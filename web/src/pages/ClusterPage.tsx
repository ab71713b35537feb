// Cluster: ring members, their state, heartbeats, ingest rates and flush lag.

import { useEffect, useState } from 'preact/hooks';
import { EmptyState, ErrorBox, Loading } from '../components/Feedback';
import { fetchCluster, type ClusterMember } from '../lib/api';
import { formatBytes, formatCount } from '../lib/chart';
import { refreshTick } from '../router';
import { useStore } from '../lib/store';

function stateClass(s: string): string {
  const u = s.toUpperCase();
  if (u === 'ACTIVE') return 'ok';
  if (u === 'JOINING' || u === 'LEAVING' || u === 'PENDING') return 'warn';
  return 'bad';
}

/** A heartbeat older than this is shown as stale (dskit's default heartbeat timeout is 1 m). */
const STALE_S = 60;

export function ClusterPage() {
  const tick = useStore(refreshTick);
  const [data, setData] = useState<{ members: ClusterMember[]; rf?: number } | null>(null);
  const [err, setErr] = useState<unknown>(null);
  const [loading, setLoading] = useState(false);
  const [auto, setAuto] = useState(true);
  const [n, setN] = useState(0);

  useEffect(() => {
    if (!auto) return;
    const t = setInterval(() => setN((x) => x + 1), 5000);
    return () => clearInterval(t);
  }, [auto]);

  useEffect(() => {
    const ac = new AbortController();
    setLoading(true);
    fetchCluster(ac.signal)
      .then((d) => {
        setData({ members: (d?.members ?? []).slice().sort((a, b) => a.id.localeCompare(b.id)), rf: d?.replicationFactor });
        setErr(null);
      })
      .catch((e) => (e as Error).name !== 'AbortError' && setErr(e))
      .finally(() => !ac.signal.aborted && setLoading(false));
    return () => ac.abort();
  }, [tick, n]);

  const members = data?.members ?? [];
  const healthy = members.filter((m) => m.state.toUpperCase() === 'ACTIVE' && m.heartbeatAgeSeconds < STALE_S).length;
  const ingest = members.reduce((a, m) => a + (m.ingestRate ?? 0), 0);
  const zones = new Set(members.map((m) => m.zone).filter(Boolean));
  return (
    <div class="page cluster-page">
      <div class="toolbar">
        <h2>Cluster</h2>
        <Loading loading={loading && !data} />
        <span class="grow" />
        <label class="check-label"><input type="checkbox" checked={auto} onChange={() => setAuto(!auto)} /> Refresh every 5 s</label>
      </div>
      <ErrorBox error={err} />
      {data && (
        <div class="cards" data-testid="cluster-summary">
          <div class="card"><div class="card-v">{members.length}</div><div class="card-l">members</div></div>
          <div class={`card ${healthy < members.length ? 'warn' : ''}`}><div class="card-v">{healthy}/{members.length}</div><div class="card-l">healthy</div></div>
          <div class="card"><div class="card-v">{data.rf ?? '–'}</div><div class="card-l">replication factor</div></div>
          <div class="card"><div class="card-v">{formatCount(ingest)}/s</div><div class="card-l">records ingested</div></div>
          {zones.size > 0 && <div class="card"><div class="card-v">{zones.size}</div><div class="card-l">zones</div></div>}
        </div>
      )}
      {data && members.length === 0 && (
        <EmptyState title="No ring members">
          The ring is empty: no ingester has registered. Check that ingesters are running and share the memberlist or KV settings.
        </EmptyState>
      )}
      {members.length > 0 && (
        <div class="table-wrap">
          <table class="table" data-testid="cluster-table">
            <thead>
              <tr>
                <th>Member</th><th>Address</th><th>Zone</th><th>State</th><th class="num">Tokens</th><th class="num">Heartbeat</th>
                <th class="num">Ingest</th><th class="num">Flush lag</th><th class="num">In memory</th><th class="num">WAL</th>
              </tr>
            </thead>
            <tbody>
              {members.map((m) => (
                <tr key={m.id} data-testid="cluster-member">
                  <td><b>{m.id}</b></td>
                  <td class="mono">{m.addr}</td>
                  <td>{m.zone || <span class="muted">–</span>}</td>
                  <td><span class={`state st-${stateClass(m.state)}`}>{m.state}</span></td>
                  <td class="num mono">{m.tokens}</td>
                  <td class={`num mono ${m.heartbeatAgeSeconds >= STALE_S ? 'err-text' : m.heartbeatAgeSeconds > 15 ? 'warn-text' : ''}`} title={m.heartbeat}>
                    {m.heartbeatAgeSeconds.toFixed(1)} s ago
                  </td>
                  <td class="num mono">{m.ingestRate !== undefined ? `${formatCount(m.ingestRate)}/s` : '–'}</td>
                  <td class={`num mono ${(m.flushLagSeconds ?? 0) > 300 ? 'err-text' : (m.flushLagSeconds ?? 0) > 60 ? 'warn-text' : ''}`}>
                    {m.flushLagSeconds !== undefined ? `${m.flushLagSeconds.toFixed(1)} s` : '–'}
                  </td>
                  <td class="num mono">{m.memoryRecords !== undefined ? formatCount(m.memoryRecords) : '–'}</td>
                  <td class="num mono">{m.walBytes !== undefined ? formatBytes(m.walBytes) : '–'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
