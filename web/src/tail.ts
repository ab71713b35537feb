// Live tail over the Loki websocket, with pause, a bounded buffer and a lines/s rate.

import { useEffect, useRef, useState } from 'preact/hooks';
import { tailUrl } from './lib/api';
import { mergeRows, parseTailFrame, type LogRow } from './lib/loki';
import { msToNs } from './lib/time';

export type TailStatus = 'off' | 'connecting' | 'live' | 'reconnecting' | 'closed' | 'error';

export interface TailState {
  rows: LogRow[];
  status: TailStatus;
  /** Close reason or error text. */
  message: string;
  /** Lines per second over the last 5 s. */
  rate: number;
  /** Lines received while paused, not yet shown. */
  pending: number;
  dropped: number;
  total: number;
}

const MAX_ROWS = 10_000;

export function useTail(query: string | null, paused: boolean): TailState & { clear: () => void } {
  const [st, setSt] = useState<TailState>({ rows: [], status: 'off', message: '', rate: 0, pending: 0, dropped: 0, total: 0 });
  const buffer = useRef<LogRow[]>([]); // newest first, shown + pending
  const shownCount = useRef(0);
  const pausedRef = useRef(paused);
  const arrivals = useRef<[number, number][]>([]);
  const flushTimer = useRef(0);

  const flush = () => {
    flushTimer.current = 0;
    setSt((s) => ({ ...s, rows: buffer.current, pending: 0, total: s.total }));
    shownCount.current = buffer.current.length;
  };

  useEffect(() => {
    pausedRef.current = paused;
    if (!paused) flush();
  }, [paused]);

  useEffect(() => {
    if (!query) {
      setSt((s) => ({ ...s, status: 'off', rate: 0 }));
      return;
    }
    buffer.current = [];
    arrivals.current = [];
    setSt({ rows: [], status: 'connecting', message: '', rate: 0, pending: 0, dropped: 0, total: 0 });
    let ws: WebSocket | null = null;
    let stopped = false;
    let attempts = 0;
    let retry = 0;
    const connect = () => {
      // Ask for the last minute first so the view is not empty on connect.
      const url = tailUrl(query, { limit: 100, startNs: msToNs(Date.now() - 60_000) });
      try {
        ws = new WebSocket(url);
      } catch (e) {
        setSt((s) => ({ ...s, status: 'error', message: (e as Error).message }));
        return;
      }
      ws.onopen = () => {
        attempts = 0;
        setSt((s) => ({ ...s, status: 'live', message: '' }));
      };
      ws.onmessage = (ev) => {
        let frame;
        try {
          frame = parseTailFrame(String(ev.data));
        } catch {
          return;
        }
        if (!frame.rows.length && !frame.dropped) return;
        arrivals.current.push([Date.now(), frame.rows.length]);
        buffer.current = mergeRows(buffer.current, frame.rows).slice(0, MAX_ROWS);
        setSt((s) => ({
          ...s,
          dropped: s.dropped + frame.dropped,
          total: s.total + frame.rows.length,
          pending: pausedRef.current ? s.pending + frame.rows.length : 0,
        }));
        if (!pausedRef.current && !flushTimer.current) flushTimer.current = window.setTimeout(flush, 50);
      };
      ws.onclose = (ev) => {
        if (stopped) return;
        // Like Grafana: reconnect only after an abnormal closure (1006).
        if (ev.code === 1006 && attempts < 30) {
          attempts++;
          setSt((s) => ({ ...s, status: 'reconnecting', message: `Connection lost; retrying (${attempts})…` }));
          retry = window.setTimeout(connect, Math.min(5000, 500 * attempts));
          return;
        }
        const reason = ev.reason || (ev.code === 1000 ? 'The server ended the tail.' : `Closed with code ${ev.code}.`);
        setSt((s) => ({ ...s, status: ev.code === 1000 ? 'closed' : 'error', message: reason }));
      };
      ws.onerror = () => {
        /* onclose follows with the code */
      };
    };
    connect();
    const tick = window.setInterval(() => {
      const now = Date.now();
      arrivals.current = arrivals.current.filter(([t]) => now - t <= 5000);
      const n = arrivals.current.reduce((a, [, c]) => a + c, 0);
      setSt((s) => (s.rate === n / 5 ? s : { ...s, rate: n / 5 }));
    }, 1000);
    return () => {
      stopped = true;
      clearInterval(tick);
      clearTimeout(retry);
      clearTimeout(flushTimer.current);
      flushTimer.current = 0;
      if (ws && ws.readyState <= 1) ws.close(1000, 'stopped');
    };
  }, [query]);

  return {
    ...st,
    clear: () => {
      buffer.current = [];
      setSt((s) => ({ ...s, rows: [], pending: 0 }));
    },
  };
}
