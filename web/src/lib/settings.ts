// User settings kept in localStorage: tenant, theme, time zone, default line limit.

import { createStore } from './store';
import type { TimeZone } from './time';

export type ThemePref = 'system' | 'dark' | 'light';

export interface Settings {
  /** Sent as X-Scope-OrgID (and as ?tenant= on the tail websocket). Empty = server default. */
  tenant: string;
  theme: ThemePref;
  tz: TimeZone;
  /** Default number of log lines per query. */
  limit: number;
  /** Wrap long lines in the results list. */
  wrap: boolean;
}

const KEY = 'strata.settings.v1';
export const DEFAULT_SETTINGS: Settings = { tenant: '', theme: 'system', tz: 'local', limit: 1000, wrap: false };

function load(): Settings {
  try {
    const raw = typeof localStorage !== 'undefined' ? localStorage.getItem(KEY) : null;
    if (raw) return { ...DEFAULT_SETTINGS, ...JSON.parse(raw) };
  } catch {
    /* ignore broken storage */
  }
  return { ...DEFAULT_SETTINGS };
}

export const settings = createStore<Settings>(load());

settings.subscribe((s) => {
  try {
    localStorage.setItem(KEY, JSON.stringify(s));
  } catch {
    /* private mode */
  }
});

export function updateSettings(patch: Partial<Settings>): void {
  settings.set((s) => ({ ...s, ...patch }));
}

/** The theme to apply now, resolving "system" through prefers-color-scheme. */
export function effectiveTheme(pref: ThemePref): 'dark' | 'light' {
  if (pref !== 'system') return pref;
  return typeof matchMedia !== 'undefined' && matchMedia('(prefers-color-scheme: light)').matches ? 'light' : 'dark';
}
