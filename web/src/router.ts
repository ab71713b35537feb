// The app state store, kept in sync with the URL (pushState/popstate).

import { createStore } from './lib/store';
import { basePath, decodeState, DEFAULT_STATE, hrefFor, type AppState } from './lib/urlstate';

function fromLocation(prev: AppState): AppState {
  const base = basePath();
  let path = location.pathname;
  if (path.startsWith(base)) path = path.slice(base.length);
  return { ...prev, ...decodeState(path, location.search) };
}

export const app = createStore<AppState>(fromLocation(DEFAULT_STATE));

/** Bumped by the refresh button / `r`: pages re-run their queries. */
export const refreshTick = createStore(0);

export function refresh(): void {
  refreshTick.set((n) => n + 1);
}

/**
 * Moves to a new state. `replace` for changes that should not create a history entry
 * (expanding a row, typing); the default pushes so Back returns to the previous view.
 */
export function navigate(patch: Partial<AppState>, opts: { replace?: boolean } = {}): void {
  const next = { ...app.get(), ...patch };
  const href = hrefFor(next);
  const cur = location.pathname + location.search;
  if (href !== cur) {
    if (opts.replace) history.replaceState(null, '', href);
    else history.pushState(null, '', href);
  }
  app.set(next);
}

export function hrefOf(patch: Partial<AppState>): string {
  return hrefFor({ ...app.get(), ...patch });
}

if (typeof window !== 'undefined') {
  window.addEventListener('popstate', () => app.set(fromLocation(app.get())));
  // Normalise the URL once (e.g. "/" → "/logs") without adding a history entry.
  const href = hrefFor(app.get());
  if (location.pathname + location.search !== href) history.replaceState(null, '', href);
}
