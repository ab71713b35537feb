// Small shared UI state: toasts and the help overlay.
import { createStore } from './lib/store';

export interface Toast {
  id: number;
  text: string;
  kind: 'info' | 'error';
}

export const toasts = createStore<Toast[]>([]);
let nextId = 1;

export function toast(text: string, kind: Toast['kind'] = 'info'): void {
  const id = nextId++;
  toasts.set((t) => [...t, { id, text, kind }]);
  setTimeout(() => toasts.set((t) => t.filter((x) => x.id !== id)), kind === 'error' ? 6000 : 2000);
}

export const helpOpen = createStore(false);
export const settingsOpen = createStore(false);

/** Pages register how `/` focuses their query field. */
export const focusQuery = { fn: null as null | (() => void) };
