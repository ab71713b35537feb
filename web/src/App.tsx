import { useEffect, useRef, useState } from 'preact/hooks';
import { Icon } from './components/Icon';
import { Popover } from './components/Popover';
import { TimeRangePicker } from './components/TimeRangePicker';
import { useDelayed, useHotkeys } from './hooks';
import { inflight } from './lib/api';
import { effectiveTheme, settings, updateSettings, type ThemePref } from './lib/settings';
import { useStore } from './lib/store';
import { PAGES, type Page } from './lib/urlstate';
import { ClusterPage } from './pages/ClusterPage';
import { LogsPage } from './pages/LogsPage';
import { ServicesPage } from './pages/ServicesPage';
import { TracesPage } from './pages/TracesPage';
import { app, hrefOf, navigate, refresh } from './router';
import { focusQuery, helpOpen, settingsOpen, toast, toasts } from './ui';

const TITLES: Record<Page, string> = { logs: 'Logs', traces: 'Traces', services: 'Services', cluster: 'Cluster' };
const NAV_KEYS: Record<Page, string> = { logs: 'l', traces: 't', services: 's', cluster: 'c' };

const SHORTCUTS: [string, string][] = [
  ['/', 'Focus the query'],
  ['Enter / Ctrl+Enter', 'Run the query (Shift+Enter: new line)'],
  ['Ctrl+Space', 'Autocomplete'],
  ['m', 'Switch builder / code'],
  ['t', 'Toggle live tail (Logs)'],
  ['p', 'Pause / resume live tail'],
  ['j / k', 'Next / previous line or span'],
  ['o or Enter', 'Expand the selected line'],
  ['c', 'Show context of the selected line'],
  ['y', 'Copy the selected line as JSON'],
  ['r', 'Run again'],
  ['[ / ]', 'Move the time range back / forward'],
  ['z', 'Zoom out'],
  ['g then l / t / s / c', 'Go to Logs, Traces, Services, Cluster'],
  ['Esc', 'Close a panel'],
  ['?', 'This help'],
];

function Help() {
  const open = useStore(helpOpen);
  if (!open) return null;
  return (
    <div class="modal-back" onMouseDown={(e) => e.target === e.currentTarget && helpOpen.set(false)}>
      <div class="modal help" role="dialog" aria-label="Keyboard shortcuts" data-testid="help">
        <div class="modal-head"><b>Keyboard shortcuts</b><span class="grow" /><button class="ibtn" onClick={() => helpOpen.set(false)}><Icon name="x" /></button></div>
        <div class="help-body">
          <table class="kv">
            <tbody>
              {SHORTCUTS.map(([k, d]) => <tr key={k}><td class="kv-k"><kbd>{k}</kbd></td><td>{d}</td></tr>)}
            </tbody>
          </table>
        </div>
        <p class="muted small">
          Everything on screen is in the URL: copy it to share the exact view. The tenant (Settings) is sent as <code>X-Scope-OrgID</code>;
          the live-tail websocket passes it as the <code>tenant</code> query parameter because browsers cannot set websocket headers.
        </p>
      </div>
    </div>
  );
}

function SettingsPanel() {
  const open = useStore(settingsOpen);
  const s = useStore(settings);
  const [tenant, setTenant] = useState(s.tenant);
  useEffect(() => setTenant(s.tenant), [s.tenant, open]);
  const saveTenant = () => {
    if (tenant.trim() !== s.tenant) {
      updateSettings({ tenant: tenant.trim() });
      toast(tenant.trim() ? `Tenant set to ${tenant.trim()}` : 'Using the server default tenant');
      refresh();
    }
  };
  return (
    <Popover open={open} onClose={() => { saveTenant(); settingsOpen.set(false); }} align="right" class="settings-pop">
      <div class="trp-title">Settings</div>
      <label class="field">
        <span>Tenant <span class="muted">(X-Scope-OrgID)</span></span>
        <input class="input mono" value={tenant} placeholder="server default" data-testid="tenant"
          onInput={(e) => setTenant((e.target as HTMLInputElement).value)} onKeyDown={(e) => e.key === 'Enter' && saveTenant()} onBlur={saveTenant} />
      </label>
      <label class="field">
        <span>Theme</span>
        <select class="input" value={s.theme} onChange={(e) => updateSettings({ theme: (e.target as HTMLSelectElement).value as ThemePref })} data-testid="theme">
          <option value="system">Follow the system</option>
          <option value="dark">Dark</option>
          <option value="light">Light</option>
        </select>
      </label>
      <label class="field">
        <span>Time zone</span>
        <select class="input" value={s.tz} onChange={(e) => updateSettings({ tz: (e.target as HTMLSelectElement).value as 'local' | 'utc' })}>
          <option value="local">Browser local time</option>
          <option value="utc">UTC</option>
        </select>
      </label>
      <label class="field">
        <span>Default line limit</span>
        <select class="input" value={s.limit} onChange={(e) => updateSettings({ limit: Number((e.target as HTMLSelectElement).value) })}>
          {[100, 500, 1000, 5000, 10000].map((l) => <option key={l} value={l}>{l.toLocaleString()}</option>)}
        </select>
      </label>
    </Popover>
  );
}

function Toasts() {
  const list = useStore(toasts);
  return (
    <div class="toasts" aria-live="polite">
      {list.map((t) => <div key={t.id} class={`toast ${t.kind}`}>{t.text}</div>)}
    </div>
  );
}

function Progress() {
  const n = useStore(inflight);
  const shown = useDelayed(n > 0, 200);
  return <div class={`progress ${shown ? 'on' : ''}`} data-testid={shown ? 'loading' : undefined} />;
}

export function App() {
  const state = useStore(app);
  const cfg = useStore(settings);
  const gPending = useRef(0);

  useEffect(() => {
    // Only on a change: setting the attribute, even to its value, restyles the whole page
    // (index.html already set it before the first paint).
    const apply = () => {
      const t = effectiveTheme(cfg.theme);
      if (document.documentElement.getAttribute('data-theme') !== t) document.documentElement.setAttribute('data-theme', t);
    };
    apply();
    if (cfg.theme !== 'system') return;
    const mq = matchMedia('(prefers-color-scheme: light)');
    mq.addEventListener('change', apply);
    return () => mq.removeEventListener('change', apply);
  }, [cfg.theme]);

  useEffect(() => {
    document.title = state.page === 'traces' && state.trace ? `Trace ${state.trace.slice(0, 8)} · Strata` : `${TITLES[state.page]} · Strata`;
  }, [state.page, state.trace]);

  const go = (p: Page) => navigate({ page: p });
  const keys: Record<string, (e: KeyboardEvent) => void> = {
    '/': (e) => { e.preventDefault(); focusQuery.fn?.(); },
    '?': () => helpOpen.set(!helpOpen.get()),
    r: () => refresh(),
    g: () => { gPending.current = Date.now(); },
    Escape: () => { helpOpen.set(false); settingsOpen.set(false); },
  };
  for (const p of PAGES) {
    const k = NAV_KEYS[p];
    const prev = keys[k];
    keys[k] = (e) => {
      if (Date.now() - gPending.current < 1000) {
        gPending.current = 0;
        e.preventDefault();
        e.stopImmediatePropagation();
        go(p);
      } else prev?.(e);
    };
  }
  // Capture phase: `g t` must win over the Logs page's `t`.
  useHotkeys(keys, true, true);

  const showRange = state.page !== 'cluster';
  const dark = effectiveTheme(cfg.theme) === 'dark';
  return (
    <div class="app">
      <Progress />
      <header class="top">
        <a class="brand" href={hrefOf({ page: 'logs' })} onClick={(e) => { e.preventDefault(); go('logs'); }}>
          <svg width="18" height="18" viewBox="0 0 16 16" aria-hidden="true"><path d="M2 4h12M4 8h10M6 12h8" stroke="currentColor" stroke-width="2" stroke-linecap="round" /></svg>
          Strata
        </a>
        <nav class="tabs">
          {PAGES.map((p) => (
            <a key={p} href={hrefOf({ page: p })} class={`tab ${state.page === p ? 'on' : ''}`} data-testid={`nav-${p}`} title={`${TITLES[p]} (g ${NAV_KEYS[p]})`}
              onClick={(e) => { if (e.ctrlKey || e.metaKey || e.shiftKey) return; e.preventDefault(); go(p); }}>
              {TITLES[p]}
            </a>
          ))}
        </nav>
        <span class="grow" />
        {cfg.tenant && <span class="tenant-badge" title="Tenant (X-Scope-OrgID)">{cfg.tenant}</span>}
        {showRange && <TimeRangePicker range={{ from: state.from, to: state.to }} onChange={(r) => navigate({ ...r })} onRefresh={refresh} />}
        <button class="btn icon-btn" title={`Switch to ${dark ? 'light' : 'dark'} theme`} data-testid="theme-toggle"
          onClick={() => updateSettings({ theme: dark ? 'light' : 'dark' })}><Icon name={dark ? 'sun' : 'moon'} /></button>
        <div class="rel">
          <button class="btn icon-btn" title="Settings" onClick={() => settingsOpen.set(!settingsOpen.get())} data-testid="settings"><Icon name="gear" /></button>
          <SettingsPanel />
        </div>
        <button class="btn icon-btn" title="Keyboard shortcuts (?)" onClick={() => helpOpen.set(true)}><Icon name="help" /></button>
      </header>
      <main class="main">
        {state.page === 'logs' && <LogsPage state={state} />}
        {state.page === 'traces' && <TracesPage state={state} />}
        {state.page === 'services' && <ServicesPage state={state} />}
        {state.page === 'cluster' && <ClusterPage />}
      </main>
      <Help />
      <Toasts />
    </div>
  );
}
