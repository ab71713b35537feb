import { useEffect, useRef, useState } from 'preact/hooks';

/** True once `active` has stayed true for `delayMs` (loading indicators appear after 200 ms). */
export function useDelayed(active: boolean, delayMs = 200): boolean {
  const [shown, setShown] = useState(false);
  useEffect(() => {
    if (!active) {
      setShown(false);
      return;
    }
    const t = setTimeout(() => setShown(true), delayMs);
    return () => clearTimeout(t);
  }, [active, delayMs]);
  return shown;
}

export function isEditable(t: EventTarget | null): boolean {
  const el = t as HTMLElement | null;
  if (!el || !el.tagName) return false;
  return el.tagName === 'INPUT' || el.tagName === 'TEXTAREA' || el.tagName === 'SELECT' || el.isContentEditable;
}

export type HotkeyMap = Record<string, (e: KeyboardEvent) => void>;

/**
 * Document-level shortcuts, ignored while typing in a field. Keys are `e.key` values with
 * optional `mod+` (Ctrl or Cmd) prefix: `/`, `?`, `t`, `mod+k`, `Escape`.
 */
export function useHotkeys(map: HotkeyMap, enabled = true, capture = false): void {
  const ref = useRef(map);
  ref.current = map;
  useEffect(() => {
    if (!enabled) return;
    const on = (e: KeyboardEvent) => {
      if (e.defaultPrevented) return;
      const mod = e.ctrlKey || e.metaKey;
      const key = (mod ? 'mod+' : '') + e.key;
      const fn = ref.current[key];
      if (!fn) return;
      if (isEditable(e.target) && key !== 'Escape' && !mod) return;
      if (key === 'Enter' && (e.target as HTMLElement)?.closest?.('button, a, [role=option]')) return;
      if (e.altKey) return;
      fn(e);
    };
    document.addEventListener('keydown', on, capture);
    return () => document.removeEventListener('keydown', on, capture);
  }, [enabled, capture]);
}

/** Element size via ResizeObserver. */
export function useSize<T extends HTMLElement>(): [(el: T | null) => void, { width: number; height: number }] {
  const [size, setSize] = useState({ width: 0, height: 0 });
  const obs = useRef<ResizeObserver | null>(null);
  const setRef = (el: T | null) => {
    obs.current?.disconnect();
    obs.current = null;
    if (!el) return;
    const ro = new ResizeObserver(([e]) => {
      const r = e.contentRect;
      setSize((s) => (s.width === r.width && s.height === r.height ? s : { width: r.width, height: r.height }));
    });
    ro.observe(el);
    obs.current = ro;
  };
  useEffect(() => () => obs.current?.disconnect(), []);
  return [setRef, size];
}

/** The latest value, for callbacks that must not re-subscribe. */
export function useLatest<T>(v: T) {
  const r = useRef(v);
  r.current = v;
  return r;
}

export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const ta = document.createElement('textarea');
    ta.value = text;
    ta.style.position = 'fixed';
    ta.style.opacity = '0';
    document.body.appendChild(ta);
    ta.select();
    let ok = false;
    try {
      ok = document.execCommand('copy');
    } catch {
      ok = false;
    }
    ta.remove();
    return ok;
  }
}

export function download(name: string, text: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
