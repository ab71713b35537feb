#!/usr/bin/env node
// Browser tests of the Strata UI against a running Strata server.
//
//   STRATA_URL=http://127.0.0.1:3100 npm run e2e
//
// Environment:
//   STRATA_URL       server that serves the UI and the Loki/Tempo/UI APIs (default http://127.0.0.1:3100)
//   STRATA_OTLP_URL  OTLP/HTTP receiver for seeding spans, POST <url>/v1/traces (default http://127.0.0.1:4318)
//   STRATA_TENANT    tenant to use (sent as X-Scope-OrgID, and set in the UI settings); empty = server default
//   CHROMIUM_PATH    browser binary (default /usr/bin/chromium)
//   E2E_ONLY         comma-separated test names to run (setup always runs)
//   E2E_TIMEOUT_MS   per-step timeout (default 15000); E2E_INGEST_TIMEOUT_MS for seeding (default 60000)
//
// The tests seed their own data with a unique run id (logs through /loki/api/v1/push, spans
// through OTLP/HTTP JSON), then drive the UI. Screenshots of every page go to e2e/artifacts/.

import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';

const BASE = (process.env.STRATA_URL || 'http://127.0.0.1:3100').replace(/\/+$/, '');
const OTLP = (process.env.STRATA_OTLP_URL || 'http://127.0.0.1:4318').replace(/\/+$/, '');
const TENANT = process.env.STRATA_TENANT || '';
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const ONLY = (process.env.E2E_ONLY || '').split(',').map((s) => s.trim()).filter(Boolean);
const STEP = Number(process.env.E2E_TIMEOUT_MS || 15000);
const INGEST = Number(process.env.E2E_INGEST_TIMEOUT_MS || 60000);
const ART = fileURLToPath(new URL('./artifacts/', import.meta.url));

const RUN = randomBytes(4).toString('hex');
const SVC = 'e2e'; // log stream service_name
const FRONT = `e2e-frontend-${RUN}`; // span services
const BACK = `e2e-backend-${RUN}`;
const TRACE_ID = randomBytes(16).toString('hex');
const newSpanId = () => randomBytes(8).toString('hex');
const LOG_LINES = 30;
const ERROR_LINES = 5;
// Levels of the seeded lines (the trace line is info): what the histogram must count.
const LEVEL_COUNTS = (() => {
  const c = { error: 0, info: 1, debug: 0 };
  for (let i = 0; i < LOG_LINES; i++) c[i < ERROR_LINES ? 'error' : i % 3 ? 'info' : 'debug']++;
  return c;
})();
// More lines than Loki's default max_entries_limit_per_query (5000), in their own stream:
// a 10,000-line limit must still load them all.
const BULK = `e2e-bulk-${RUN}`;
const BULK_LINES = 5200;

// ---------------------------------------------------------------------------------------
// helpers

const headers = (extra = {}) => ({ ...(TENANT ? { 'X-Scope-OrgID': TENANT } : {}), ...extra });
const nowNs = () => BigInt(Date.now()) * 1_000_000n;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function http(method, url, body, extra = {}) {
  const res = await fetch(url, {
    method,
    headers: headers(body ? { 'Content-Type': 'application/json', ...extra } : extra),
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${url} → ${res.status}: ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : null;
}

async function push(streams) {
  const res = await fetch(`${BASE}/loki/api/v1/push`, {
    method: 'POST',
    headers: headers({ 'Content-Type': 'application/json' }),
    body: JSON.stringify({ streams }),
  });
  if (!res.ok && res.status !== 204) throw new Error(`push → ${res.status}: ${(await res.text()).slice(0, 300)}`);
}

async function until(what, fn, timeout = INGEST) {
  const t0 = Date.now();
  let last;
  while (Date.now() - t0 < timeout) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await sleep(500);
  }
  throw new Error(`timed out after ${timeout} ms waiting for ${what}${last ? `: ${last.message}` : ''}`);
}

function q(params) {
  return new URLSearchParams(params).toString();
}

// ---------------------------------------------------------------------------------------
// seed data

const spans = (() => {
  const t0 = nowNs() - 30n * 1_000_000_000n;
  const ms = (n) => BigInt(n) * 1_000_000n;
  const root = { id: newSpanId(), parent: '', svc: FRONT, name: 'GET /checkout', kind: 2, s: 0, e: 400, err: false };
  const a = { id: newSpanId(), parent: root.id, svc: FRONT, name: 'render', kind: 1, s: 5, e: 60, err: false };
  const b = { id: newSpanId(), parent: root.id, svc: BACK, name: 'POST /pay', kind: 3, s: 70, e: 380, err: true };
  const c = { id: newSpanId(), parent: b.id, svc: BACK, name: 'SELECT orders', kind: 3, s: 80, e: 150, err: false };
  const d = { id: newSpanId(), parent: b.id, svc: BACK, name: 'charge card', kind: 3, s: 160, e: 370, err: true };
  const e = { id: newSpanId(), parent: d.id, svc: BACK, name: 'HTTP POST provider', kind: 3, s: 170, e: 360, err: false };
  const all = [root, a, b, c, d, e];
  for (const x of all) {
    x.startNs = t0 + ms(x.s);
    x.endNs = t0 + ms(x.e);
  }
  return all;
})();
const COUNTS = {
  [FRONT]: { spans: spans.filter((s) => s.svc === FRONT).length, errors: spans.filter((s) => s.svc === FRONT && s.err).length },
  [BACK]: { spans: spans.filter((s) => s.svc === BACK).length, errors: spans.filter((s) => s.svc === BACK && s.err).length },
};
const LOG_SPAN = spans[4]; // "charge card"

function otlpTraces() {
  const bySvc = {};
  for (const s of spans) (bySvc[s.svc] ??= []).push(s);
  return {
    resourceSpans: Object.entries(bySvc).map(([svc, ss]) => ({
      resource: { attributes: [{ key: 'service.name', value: { stringValue: svc } }, { key: 'e2e.run', value: { stringValue: RUN } }] },
      scopeSpans: [{
        scope: { name: 'strata-e2e', version: '1' },
        spans: ss.map((s) => ({
          traceId: TRACE_ID,
          spanId: s.id,
          parentSpanId: s.parent,
          name: s.name,
          kind: s.kind,
          startTimeUnixNano: String(s.startNs),
          endTimeUnixNano: String(s.endNs),
          attributes: [{ key: 'e2e.run', value: { stringValue: RUN } }, { key: 'http.status_code', value: { intValue: s.err ? '500' : '200' } }],
          status: s.err ? { code: 2, message: 'e2e failure' } : { code: 1 },
          events: s.err ? [{ timeUnixNano: String(s.startNs + 1_000_000n), name: 'exception', attributes: [{ key: 'exception.message', value: { stringValue: 'declined' } }] }] : [],
        })),
      }],
    })),
  };
}

async function seed() {
  const t = nowNs();
  const values = [];
  for (let i = 0; i < LOG_LINES; i++) {
    const level = i < ERROR_LINES ? 'error' : i % 3 ? 'info' : 'debug';
    values.push([String(t - BigInt(LOG_LINES - i) * 1_000_000_000n), `run=${RUN} level=${level} msg="e2e line ${i}"`, { run: RUN }]);
  }
  values.push([String(t), `run=${RUN} level=info msg="trace-line-${RUN} calling provider"`, { run: RUN, trace_id: TRACE_ID, span_id: LOG_SPAN.id }]);
  await push([{ stream: { service_name: SVC }, values }]);
  const bulk = [];
  for (let i = 0; i < BULK_LINES; i++) {
    bulk.push([String(t - 600n * 1_000_000_000n + BigInt(i) * 100_000_000n), `bulk-${RUN} level=info n=${i} msg="bulk line for the line limit test"`]);
  }
  await push([{ stream: { service_name: BULK }, values: bulk }]);
  const res = await fetch(`${OTLP}/v1/traces`, {
    method: 'POST',
    headers: headers({ 'Content-Type': 'application/json' }),
    body: JSON.stringify(otlpTraces()),
  });
  if (!res.ok) throw new Error(`OTLP ${OTLP}/v1/traces → ${res.status}: ${(await res.text()).slice(0, 300)}`);
  // Wait until both are queryable.
  const startNs = String(t - 3600n * 1_000_000_000n);
  const endNs = String(t + 60n * 1_000_000_000n);
  await until('the seeded log lines', async () => {
    const r = await http('GET', `${BASE}/loki/api/v1/query_range?${q({ query: `{service_name="${SVC}"} |= "run=${RUN}"`, start: startNs, end: endNs, limit: '1000', direction: 'backward' })}`);
    const n = (r?.data?.result ?? []).reduce((a, s) => a + s.values.length, 0);
    return n >= LOG_LINES + 1;
  });
  await until('the seeded trace', async () => {
    const r = await http('GET', `${BASE}/api/traces/${TRACE_ID}`, null, { Accept: 'application/json' });
    const batches = r?.batches ?? r?.resourceSpans ?? r?.trace?.resourceSpans ?? [];
    const n = batches.reduce((a, b) => a + (b.scopeSpans ?? b.instrumentationLibrarySpans ?? []).reduce((x, s) => x + (s.spans?.length ?? 0), 0), 0);
    return n >= spans.length;
  });
  await until('the bulk log lines', async () => {
    const r = await http('GET', `${BASE}/loki/api/v1/query?${q({ query: `sum(count_over_time({service_name="${BULK}"}[2h]))`, time: endNs })}`);
    return Number(r?.data?.result?.[0]?.value?.[1] ?? 0) >= BULK_LINES;
  });
}

// ---------------------------------------------------------------------------------------
// runner

const results = [];
let browser;
let context;

async function newPage() {
  const page = await context.newPage();
  page.setDefaultTimeout(STEP);
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  return page;
}

async function shot(page, name) {
  await page.screenshot({ path: `${ART}${name}.png`, fullPage: false }).catch(() => {});
}

async function test(name, fn) {
  if (ONLY.length && !ONLY.includes(name)) return;
  const page = await newPage();
  const t0 = Date.now();
  try {
    await fn(page);
    if (page.errors.length) throw new Error(`uncaught errors in the page: ${page.errors.join('; ')}`);
    results.push({ name, ok: true, ms: Date.now() - t0 });
    console.log(`  ✓ ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    results.push({ name, ok: false, ms: Date.now() - t0, error: e.message });
    console.log(`  ✗ ${name}: ${e.message.split('\n')[0]}`);
    await shot(page, `FAILED-${name}`);
  } finally {
    await page.close();
  }
}

function expect(cond, msg) {
  if (!cond) throw new Error(msg);
}

const url = (path, params = {}) => `${BASE}${path}${Object.keys(params).length ? `?${q(params)}` : ''}`;
const rows = (page, scope = '') => page.locator(`${scope} [data-testid=log-row]`.trim());
async function waitRows(page, min, scope = '') {
  await page.waitForFunction(
    ([sel, n]) => document.querySelectorAll(sel).length >= n,
    [`${scope} [data-testid=log-row]`.trim(), min],
    { timeout: STEP },
  );
}
async function waitText(locator, re) {
  await locator.first().waitFor();
  const t0 = Date.now();
  while (Date.now() - t0 < STEP) {
    const t = await locator.first().innerText();
    if (re.test(t)) return t;
    await sleep(100);
  }
  throw new Error(`text ${re} not found; got "${await locator.first().innerText()}"`);
}

// ---------------------------------------------------------------------------------------
// tests

const RUN_Q = `{service_name="${SVC}"} |= "run=${RUN}"`;

async function tests() {
  await test('app loads', async (page) => {
    await page.goto(url('/'));
    await page.locator('[data-testid=nav-logs]').waitFor();
    expect(new URL(page.url()).pathname.endsWith('/logs'), `"/" should become /logs, got ${page.url()}`);
    for (const p of ['traces', 'services', 'cluster']) {
      await page.locator(`[data-testid=nav-${p}]`).click();
      expect(new URL(page.url()).pathname.endsWith(`/${p}`), `nav to ${p}: ${page.url()}`);
    }
  });

  await test('search with the builder', async (page) => {
    await page.goto(url('/logs', { mode: 'builder', from: 'now-15m' }));
    await page.locator('[data-testid=builder-service]').click();
    await page.locator('.picker-pop input').fill(SVC);
    await page.locator('.picker-opt', { hasText: new RegExp(`^\\s*✓?\\s*${SVC}$`) }).first().click();
    await page.keyboard.press('Escape');
    await page.locator('[data-testid=builder-contains]').fill(`run=${RUN}`);
    await page.locator('[data-testid=builder-contains]').press('Enter');
    const gen = await waitText(page.locator('[data-testid=generated-query]'), new RegExp(`service_name="${SVC}".*run=${RUN}`));
    expect(gen.includes(`|= "run=${RUN}"`), `generated LogQL: ${gen}`);
    await waitRows(page, LOG_LINES + 1);
    expect((await rows(page).count()) >= LOG_LINES + 1, 'all seeded lines shown');
    await shot(page, 'logs-builder');
  });

  await test('search with LogQL', async (page) => {
    await page.goto(url('/logs', { mode: 'code', from: 'now-15m' }));
    const input = page.locator('[data-testid=logql-input]');
    await input.fill(`${RUN_Q} |= "level=error"`);
    await input.press('Control+Enter');
    // Rows of the page's first query may still be on screen for a moment: give the new
    // query's answer time to replace them before counting.
    await page.waitForFunction(
      (n) => {
        const s = document.querySelector('[data-testid=result-stats]');
        return s && s.dataset.loading === 'false' && Number(s.dataset.rows) === n;
      },
      ERROR_LINES,
      { timeout: STEP },
    ).catch(() => {});
    await waitRows(page, ERROR_LINES);
    await page.waitForFunction(() => !document.querySelector('[data-testid=loading]'));
    const n = await rows(page).count();
    expect(n === ERROR_LINES, `expected ${ERROR_LINES} error lines, got ${n}`);
    expect(new URL(page.url()).searchParams.get('q')?.includes('level=error'), 'query in the URL');
    await waitText(page.locator('[data-testid=result-stats]'), new RegExp(`^${ERROR_LINES} lines`));
    await shot(page, 'logs-logql');
  });

  await test('histogram renders', async (page) => {
    await page.goto(url('/logs', { mode: 'code', q: RUN_Q, from: 'now-15m' }));
    await page.locator('[data-testid=histogram] svg').waitFor();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=histogram] rect.bar').length > 0, null, { timeout: STEP });
    // The legend counts every seeded line by level.
    const legend = (await page.locator('[data-testid=histogram] .legend').innerText()).replace(/\s+/g, ' ').trim();
    for (const [lvl, n] of Object.entries(LEVEL_COUNTS)) {
      expect(new RegExp(`\\b${lvl} ${n}\\b`).test(legend), `legend "${legend}" should count ${n} ${lvl} lines`);
    }
    const bars = await page.locator('[data-testid=histogram] rect.bar').count();
    expect(bars > 0, 'bars drawn');
    await shot(page, 'logs-histogram');
  });

  await test('line limit above the server maximum', async (page) => {
    await page.goto(url('/logs', { mode: 'code', q: `{service_name="${BULK}"} |= "bulk-${RUN}"`, from: 'now-30m', limit: '10000' }));
    await page.waitForFunction(
      (n) => {
        const s = document.querySelector('[data-testid=result-stats]');
        return document.querySelector('[data-testid=error]') || (s && s.dataset.loading === 'false' && Number(s.dataset.rows) >= n);
      },
      BULK_LINES,
      { timeout: STEP * 2 },
    );
    const err = await page.locator('[data-testid=error]').count();
    expect(err === 0, `error shown: ${err ? await page.locator('[data-testid=error]').innerText() : ''}`);
    await waitText(page.locator('[data-testid=result-stats]'), new RegExp(`^${BULK_LINES.toLocaleString('en-US')} lines`));
    // the virtualised list reaches the oldest line
    await page.locator('[data-testid=log-list]').evaluate((el) => { el.scrollTop = el.scrollHeight; });
    await page.locator('[data-testid=log-row]', { hasText: `bulk-${RUN} level=info n=0 ` }).waitFor();
  });

  await test('expand a record', async (page) => {
    await page.goto(url('/logs', { mode: 'code', q: RUN_Q, from: 'now-15m' }));
    await waitRows(page, LOG_LINES + 1);
    await rows(page).first().locator('.lrow-main').click();
    const details = page.locator('[data-testid=log-details]');
    await details.waitFor();
    await details.locator('[data-testid=field][data-key=service_name]').waitFor();
    await details.locator('[data-testid=field][data-key=run]').waitFor();
    expect(new URL(page.url()).searchParams.get('exp'), 'expanded row in the URL');
    await shot(page, 'logs-expanded');
  });

  await test('filter for a value', async (page) => {
    await page.goto(url('/logs', { mode: 'code', q: `{service_name="${SVC}"} |= "e2e line" |= "run=${RUN}"`, from: 'now-15m' }));
    await waitRows(page, 1);
    await rows(page).first().locator('.lrow-main').click();
    await page.locator('[data-testid=log-details] [data-key=run] [data-testid=filter-for]').click();
    const qv = await page.locator('[data-testid=logql-input]').inputValue();
    expect(qv.includes(`run="${RUN}"`), `query after filter-for: ${qv}`);
    await waitRows(page, LOG_LINES);
    const n = await rows(page).count();
    expect(n === LOG_LINES, `filter-for run=${RUN} should leave the ${LOG_LINES} e2e lines, got ${n}`);
    // filter out the same value: nothing left
    await rows(page).first().locator('.lrow-main').click();
    await page.locator('[data-testid=log-details] [data-key=run] [data-testid=filter-out]').click();
    const q2 = await page.locator('[data-testid=logql-input]').inputValue();
    expect(q2.includes(`run!="${RUN}"`) && !q2.includes(`run="${RUN}"`), `query after filter-out: ${q2}`);
    await page.locator('[data-testid=empty]').waitFor();
  });

  await test('live tail receives a pushed line', async (page) => {
    const marker = `tail-${RUN}-${Date.now()}`;
    await page.goto(url('/logs', { mode: 'code', q: `{service_name="${SVC}"} |= "tail-${RUN}"`, live: '1' }));
    await waitText(page.locator('.tail-status'), /live/i);
    await push([{ stream: { service_name: SVC }, values: [[String(nowNs()), `${marker} hello from the e2e test`]] }]);
    await page.locator('[data-testid=log-row]', { hasText: marker }).waitFor({ timeout: STEP * 2 });
    const rate = await page.locator('[data-testid=tail-rate]').innerText();
    expect(/lines\/s/.test(rate), `rate display: ${rate}`);
    await page.locator('[data-testid=tail-pause]').click();
    await waitText(page.locator('.tail-status'), /paused/i);
    await shot(page, 'logs-live');
  });

  await test('open a trace from a log line', async (page) => {
    await page.goto(url('/logs', { mode: 'code', q: `{service_name="${SVC}"} |= "trace-line-${RUN}"`, from: 'now-15m' }));
    await waitRows(page, 1);
    await rows(page).first().locator('[data-testid=open-trace]').click();
    await page.locator('[data-testid=waterfall]').waitFor();
    const u = new URL(page.url());
    expect(u.pathname.endsWith('/traces') && u.searchParams.get('trace') === TRACE_ID, `trace URL: ${page.url()}`);
    expect(u.searchParams.get('span') === LOG_SPAN.id, `the log's span is selected: ${page.url()}`);
    await page.locator('[data-testid=span-details]').waitFor();
  });

  await test('waterfall shows all spans', async (page) => {
    await page.goto(url('/traces', { trace: TRACE_ID }));
    await page.locator('[data-testid=waterfall]').waitFor();
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid=span-row]').length === n, spans.length, { timeout: STEP });
    expect((await page.locator('[data-testid=trace-span-count]').innerText()).trim() === String(spans.length), 'span count in the header');
    for (const s of spans) await page.locator(`[data-testid=span-row][data-span="${s.id}"]`).waitFor();
    await page.locator(`[data-testid=span-row][data-span="${LOG_SPAN.id}"]`).click();
    await page.locator('[data-testid=span-details]').waitFor();
    await waitText(page.locator('[data-testid=span-details]'), /charge card/);
    // the trace's logs are listed under the waterfall
    await waitRows(page, 1, '[data-testid=trace-logs]');
    await shot(page, 'trace');
  });

  await test("a span's logs", async (page) => {
    await page.goto(url('/traces', { trace: TRACE_ID, span: LOG_SPAN.id }));
    await page.locator('[data-testid=span-logs]').click();
    await page.waitForURL(/\/logs/);
    const qv = new URL(page.url()).searchParams.get('q') ?? '';
    expect(qv.includes(LOG_SPAN.id) && qv.includes(TRACE_ID), `span logs query: ${qv}`);
    await waitRows(page, 1);
  });

  await test('trace search', async (page) => {
    await page.goto(url('/traces', { svc: FRONT, from: 'now-15m' }));
    await page.locator('[data-testid=trace-result]').first().waitFor();
    await page.locator('[data-testid=scatter] circle').first().waitFor();
    const txt = await page.locator('[data-testid=trace-results]').innerText();
    expect(txt.includes(FRONT), 'root service listed');
    await shot(page, 'traces');
    await page.locator('[data-testid=trace-result]').first().click();
    await page.locator('[data-testid=waterfall]').waitFor();
    // TraceQL mode, and a trace id typed into the query opens the trace
    await page.goto(url('/traces', { tmode: 'traceql', from: 'now-15m' }));
    await page.locator('[data-testid=traceql-input]').fill(`{resource.service.name="${BACK}" && status=error}`);
    await page.locator('[data-testid=traceql-input]').press('Enter');
    await page.locator('[data-testid=trace-result]').first().waitFor();
    await page.locator('[data-testid=traceql-input]').fill(TRACE_ID);
    await page.locator('[data-testid=traceql-input]').press('Enter');
    await page.locator('[data-testid=waterfall]').waitFor();
  });

  await test('services table shows the right counts', async (page) => {
    await page.goto(url('/services', { from: 'now-15m' }));
    for (const svc of [FRONT, BACK]) {
      const row = page.locator(`[data-testid=service-row][data-service="${svc}"]`);
      await row.waitFor();
      const sp = (await row.locator('[data-testid=service-spans]').innerText()).replace(/\D/g, '');
      const er = (await row.locator('[data-testid=service-errors]').innerText()).replace(/\D/g, '');
      expect(sp === String(COUNTS[svc].spans), `${svc}: spans ${sp}, want ${COUNTS[svc].spans}`);
      expect(er === String(COUNTS[svc].errors), `${svc}: errors ${er}, want ${COUNTS[svc].errors}`);
    }
    await shot(page, 'services');
    await page.locator(`[data-testid=service-row][data-service="${FRONT}"]`).click();
    await page.waitForURL(/\/traces/);
    expect(new URL(page.url()).searchParams.get('svc') === FRONT, 'click-through to traces keeps the service');
  });

  await test('cluster page', async (page) => {
    await page.goto(url('/cluster'));
    await page.locator('[data-testid=cluster-member]').first().waitFor();
    await page.locator('[data-testid=cluster-summary]').waitFor();
    await shot(page, 'cluster');
  });

  await test('URL round-trips the state', async (page) => {
    const query = `${RUN_Q} |= "level=error"`;
    await page.goto(url('/logs', { mode: 'code', q: query, from: 'now-30m', limit: '500' }));
    await waitRows(page, ERROR_LINES);
    await rows(page).nth(1).locator('.lrow-main').click();
    await page.locator('[data-testid=log-details]').waitFor();
    const link = page.url();
    const expId = new URL(link).searchParams.get('exp');
    expect(expId, 'exp in the URL');
    const p2 = await newPage();
    try {
      await p2.goto(link);
      await waitRows(p2, ERROR_LINES);
      expect((await p2.locator('[data-testid=logql-input]').inputValue()) === query, 'query restored');
      expect((await p2.locator('[data-testid=limit]').inputValue()) === '500', 'limit restored');
      expect(/30 minutes/.test(await p2.locator('[data-testid=time-range]').innerText()), 'range restored');
      await p2.locator(`[data-testid=log-row][data-id="${expId}"] [data-testid=log-details]`).waitFor();
      // trace view state
      await p2.goto(url('/traces', { trace: TRACE_ID, span: LOG_SPAN.id }));
      await waitText(p2.locator('[data-testid=span-details]'), /charge card/);
      await p2.goBack();
      await waitRows(p2, ERROR_LINES);
      expect((await p2.locator('[data-testid=logql-input]').inputValue()) === query, 'Back restores the logs view');
    } finally {
      await p2.close();
    }
  });

  await test('errors show the server text', async (page) => {
    await page.goto(url('/logs', { mode: 'code', q: `{service_name="${SVC}"} |= `, from: 'now-15m' }));
    const box = page.locator('[data-testid=error]');
    await box.waitFor();
    const t = await box.innerText();
    expect(t.length > 20, `error box has the server's message: ${t}`);
  });

  await test('keyboard shortcuts and themes', async (page) => {
    await page.goto(url('/logs', { mode: 'code', q: RUN_Q, from: 'now-15m' }));
    await waitRows(page, LOG_LINES);
    await page.locator('body').click({ position: { x: 5, y: 300 } });
    await page.keyboard.press('?');
    await page.locator('[data-testid=help]').waitFor();
    await page.keyboard.press('Escape');
    await page.keyboard.press('/');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid')) === 'logql-input', '/ focuses the query');
    await page.locator('body').click({ position: { x: 5, y: 300 } });
    await page.keyboard.press('j');
    await page.keyboard.press('o');
    await page.locator('[data-testid=log-details]').waitFor();
    const before = await page.evaluate(() => document.documentElement.dataset.theme);
    await page.locator('[data-testid=theme-toggle]').click();
    const after = await page.evaluate(() => document.documentElement.dataset.theme);
    expect(before !== after, `theme toggled ${before} → ${after}`);
    await shot(page, `logs-${after}`);
    await page.keyboard.press('g');
    await page.keyboard.press('s');
    await page.waitForURL(/\/services/);
  });
}

// ---------------------------------------------------------------------------------------

async function main() {
  mkdirSync(ART, { recursive: true });
  console.log(`Strata e2e: ${BASE} (OTLP ${OTLP}${TENANT ? `, tenant ${TENANT}` : ''}), run ${RUN}`);
  try {
    const res = await fetch(`${BASE}/`, { headers: headers() });
    if (!res.ok) throw new Error(`GET / → ${res.status}`);
  } catch (e) {
    console.error(`Cannot load the UI at ${BASE}: ${e.message}. Start Strata (or set STRATA_URL) first.`);
    console.log(`0 passed, 1 failed`);
    process.exit(1);
  }
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
  context = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: 'dark' });
  if (TENANT) {
    await context.addInitScript((t) => {
      const k = 'strata.settings.v1';
      const s = JSON.parse(localStorage.getItem(k) || '{}');
      localStorage.setItem(k, JSON.stringify({ ...s, tenant: t }));
    }, TENANT);
  }
  let seeded = true;
  try {
    console.log('  seeding logs and spans…');
    await seed();
    console.log(`  seeded ${LOG_LINES + 1} log lines and a ${spans.length}-span trace ${TRACE_ID}`);
  } catch (e) {
    seeded = false;
    console.log(`  ✗ setup: ${e.message}`);
    results.push({ name: 'setup', ok: false, error: e.message });
  }
  if (!seeded) console.log('  (running the tests anyway, for screenshots and diagnostics)');
  await tests();
  await browser.close();
  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed;
  console.log(`\nScreenshots in ${ART}`);
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main().catch(async (e) => {
  console.error(e);
  await browser?.close().catch(() => {});
  console.log('0 passed, 1 failed');
  process.exit(1);
});
