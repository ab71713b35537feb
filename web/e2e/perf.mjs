#!/usr/bin/env node
// Browser performance of the logs explorer against a running Strata with data in it.
//
//   STRATA_URL=http://127.0.0.1:3100 PERF_QUERY='{service_name="checkout"} |= "needle-abc"' node e2e/perf.mjs
//
// Two measurements in headless Chromium:
//   1. first rows: the explorer opened with PERF_QUERY in the URL, in a browser warmed up by
//      one visit with the stream selector alone; milliseconds from the start of navigation
//      until the UI's performance.mark('strata:first-rows'), set one frame after the first
//      result lines are rendered (the time from query submit is logged to stderr);
//   2. scrolling: the explorer opened with PERF_SCROLL_QUERY and a PERF_SCROLL_LINES line limit
//      (read in pages the server accepts), then the virtualised list scrolled from top to
//      bottom at PERF_SCROLL_PX per frame while requestAnimationFrame deltas are recorded.
//
// Environment:
//   STRATA_URL          server (default http://127.0.0.1:3100)
//   STRATA_TENANT       tenant: X-Scope-OrgID for the checks here, and the UI's tenant setting
//   PERF_QUERY          LogQL log query for the first-rows time (required)
//   PERF_START, PERF_END  time range in unix ns (default: the last hour)
//   PERF_SCROLL_QUERY   query for the scroll test (default: the stream selector of PERF_QUERY)
//   PERF_SCROLL_LINES   lines to load and scroll through (default 10000)
//   PERF_SCROLL_PX      pixels scrolled per frame (default 400, 20 lines)
//   PERF_TIMEOUT_MS     timeout for each wait (default 120000)
//   CHROMIUM_PATH       browser (default /usr/bin/chromium)
//
// Output: exactly one JSON line on stdout,
//   {"first_rows_ms":N,"scroll_frames":N,"frame_p50_ms":N,"frame_p95_ms":N,"frame_max_ms":N,"long_frames":N,"rows_loaded":N}
// (long_frames: frames over 50 ms). Progress and details go to stderr. Exit 1 on failure.

import { chromium } from 'playwright-core';

const BASE = (process.env.STRATA_URL || 'http://127.0.0.1:3100').replace(/\/+$/, '');
const TENANT = process.env.STRATA_TENANT || '';
const QUERY = process.env.PERF_QUERY || '';
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const LINES = Number(process.env.PERF_SCROLL_LINES || 10000);
const STEP_PX = Number(process.env.PERF_SCROLL_PX || 400);
const TIMEOUT = Number(process.env.PERF_TIMEOUT_MS || 120000);
const LONG_FRAME_MS = 50;

const log = (...a) => console.error('[perf]', ...a);

/** The `{…}` stream selector at the start of a LogQL query. */
function selectorOf(q) {
  let inStr = '';
  for (let i = 0; i < q.length; i++) {
    const c = q[i];
    if (inStr) {
      if (c === '\\' && inStr !== '`') i++;
      else if (c === inStr) inStr = '';
    } else if (c === '"' || c === '`') inStr = c;
    else if (c === '}') return q.slice(q.indexOf('{'), i + 1);
  }
  return q;
}

/** The UI's time range: ms since the epoch, from ns (default the last hour). */
function range() {
  const now = Date.now();
  const ms = (ns) => String(BigInt(ns) / 1_000_000n);
  return {
    from: process.env.PERF_START ? ms(process.env.PERF_START) : String(now - 3_600_000),
    to: process.env.PERF_END ? ms(process.env.PERF_END) : String(now),
  };
}

const pct = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : 0);
const round = (n) => Math.round(n * 10) / 10;

async function openLogs(context, query, limit) {
  const { from, to } = range();
  const u = new URL(`${BASE}/logs`);
  for (const [k, v] of Object.entries({ mode: 'code', q: query, from, to, limit: String(limit) })) u.searchParams.set(k, v);
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  page.on('pageerror', (e) => log('page error:', e.message));
  // Every request with when it was sent and how long it took, relative to navigation:
  // what competed with the query for the server and the browser.
  const t0 = Date.now();
  page.on('requestfinished', (r) => {
    const t = r.timing();
    const u = new URL(r.url());
    log(`request ${u.pathname}${u.search.slice(0, 80)}: sent at ${round(t.startTime - t0)} ms, answered in ${round(t.responseEnd)} ms`);
  });
  await page.goto(u.toString(), { waitUntil: 'commit' });
  return page;
}

/** Waits for a UI performance mark; a server error shown instead fails at once. */
async function waitMark(page, name) {
  await page.waitForFunction((n) => {
    if (performance.getEntriesByName(n).length) return true;
    const err = document.querySelector('[data-testid=error]');
    if (err) throw new Error(`the UI shows an error: ${err.textContent}`);
    if (document.querySelector('[data-testid=empty]')) throw new Error('the query matched no lines');
    return false;
  }, name, { timeout: TIMEOUT, polling: 50 });
}

async function firstRows(context, query = QUERY) {
  const page = await openLogs(context, query, 1000);
  try {
    await waitMark(page, 'strata:first-rows');
    const m = await page.evaluate(() => {
      const first = performance.getEntriesByName('strata:first-rows')[0];
      const start = performance.getEntriesByName('strata:query-start').at(-1);
      const nav = performance.getEntriesByType('navigation')[0];
      return {
        nav: first.startTime, fromSubmit: first.startTime - (start?.startTime ?? 0), rows: first.detail?.rows ?? 0,
        start: start?.startTime ?? 0, dcl: nav?.domContentLoadedEventEnd ?? 0,
      };
    });
    log(`first rows: ${round(m.nav)} ms after navigation start, ${round(m.fromSubmit)} ms after the query was sent (${m.rows} lines in the first page); DOMContentLoaded at ${round(m.dcl)} ms, query started at ${round(m.start)} ms`);
    return m.nav;
  } finally {
    await page.close();
  }
}

async function scroll(context) {
  const query = process.env.PERF_SCROLL_QUERY || selectorOf(QUERY);
  log(`scroll: loading up to ${LINES} lines of ${query}`);
  const page = await openLogs(context, query, LINES);
  try {
    await waitMark(page, 'strata:rows-loaded');
    const rows = await page.evaluate(() => performance.getEntriesByName('strata:rows-loaded').at(-1).detail?.rows ?? 0);
    const loadMs = await page.evaluate(() => performance.getEntriesByName('strata:rows-loaded').at(-1).startTime);
    log(`scroll: ${rows} lines loaded ${round(loadMs)} ms after navigation start`);
    await page.locator('[data-testid=log-list]').waitFor();
    // Settle before measuring: the first frames after loading include layout of the page.
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    const frames = await page.evaluate(
      ({ step, timeout }) =>
        new Promise((resolve, reject) => {
          const el = document.querySelector('[data-testid=log-list]');
          const deltas = [];
          let last = 0;
          const t0 = performance.now();
          const tick = (t) => {
            if (last) deltas.push(t - last);
            last = t;
            const max = el.scrollHeight - el.clientHeight;
            if (el.scrollTop >= max - 1) return resolve({ deltas, rendered: document.querySelectorAll('[data-testid=log-row]').length, height: el.scrollHeight });
            if (performance.now() - t0 > timeout) return reject(new Error(`scrolling did not reach the end within ${timeout} ms`));
            el.scrollTop = Math.min(max, el.scrollTop + step);
            requestAnimationFrame(tick);
          };
          requestAnimationFrame(tick);
        }),
      { step: STEP_PX, timeout: TIMEOUT },
    );
    // The last row must be in the DOM at the bottom: the list really rendered as it scrolled.
    const lastVisible = await page.evaluate(() => {
      const el = document.querySelector('[data-testid=log-list]');
      const box = el.getBoundingClientRect();
      return [...document.querySelectorAll('[data-testid=log-row]')].some((r) => {
        const b = r.getBoundingClientRect();
        return b.bottom > box.top && b.top < box.bottom;
      });
    });
    if (!lastVisible) throw new Error('no line is rendered in view after scrolling to the bottom');
    log(`scroll: ${frames.deltas.length} frames over ${frames.height} px, ${frames.rendered} rows in the DOM at the end`);
    return { rows, deltas: frames.deltas };
  } finally {
    await page.close();
  }
}

async function main() {
  if (!QUERY) throw new Error('set PERF_QUERY to a LogQL log query, e.g. {service_name="checkout"} |= "needle-abc"');
  const res = await fetch(`${BASE}/ready`).catch((e) => ({ ok: false, status: e.message }));
  if (!res.ok) throw new Error(`${BASE}/ready → ${res.status}`);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
  try {
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: 'dark' });
    if (TENANT) {
      await context.addInitScript((t) => {
        const k = 'strata.settings.v1';
        const s = JSON.parse(localStorage.getItem(k) || '{}');
        localStorage.setItem(k, JSON.stringify({ ...s, tenant: t }));
      }, TENANT);
    }
    // The browser is warmed up first, as a user's is: one visit to the explorer with
    // the stream selector alone (a different query, so no answer is reused), then a
    // second of quiet. A just-launched Chromium spends about two cores for seconds on
    // its own start-up, which on a 2-core machine slows the server's answer 4-6 times.
    const coldMs = await firstRows(context, selectorOf(QUERY));
    log(`warm-up (cold browser, ${selectorOf(QUERY)}): first rows ${round(coldMs)} ms after navigation start`);
    await new Promise((r) => setTimeout(r, 1000));
    const firstMs = await firstRows(context);
    const { rows, deltas } = await scroll(context);
    const sorted = [...deltas].sort((a, b) => a - b);
    const out = {
      first_rows_ms: round(firstMs),
      scroll_frames: deltas.length,
      frame_p50_ms: round(pct(sorted, 50)),
      frame_p95_ms: round(pct(sorted, 95)),
      frame_max_ms: round(sorted.at(-1) ?? 0),
      long_frames: deltas.filter((d) => d > LONG_FRAME_MS).length,
      rows_loaded: rows,
    };
    process.stdout.write(`${JSON.stringify(out)}\n`);
  } finally {
    await browser.close();
  }
}

main().catch((e) => {
  log(`failed: ${e.message}`);
  process.exit(1);
});
