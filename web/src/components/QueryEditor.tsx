// A query field with syntax highlighting and autocompletion: a transparent textarea over a
// highlighted <pre>, both with the same font metrics.

import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { Token } from '../lib/logql';

export interface CompletionItem {
  label: string;
  insert: string;
  detail?: string;
  kind: 'label' | 'value' | 'keyword' | 'function' | 'snippet';
  /** Open completion again after inserting (e.g. a label name, then its values). */
  chain?: boolean;
  /** Cursor position relative to the start of the insert (default: its end). */
  cursor?: number;
}

export interface CompletionResult {
  from: number;
  to: number;
  items: CompletionItem[];
}

export type Completer = (text: string, cursor: number) => Promise<CompletionResult | null>;

interface Popup extends CompletionResult {
  active: number;
  x: number;
  y: number;
}

export function Highlighted({ tokens }: { tokens: Token[] }) {
  return <>{tokens.map((t, i) => (t.type === 'ws' ? t.text : <span key={i} class={`tk-${t.type}`}>{t.text}</span>))}</>;
}

export function QueryEditor({ value, onChange, onRun, tokenize, completer, placeholder, testid, inputRef, disabled }: {
  value: string;
  onChange: (v: string) => void;
  onRun: (v: string) => void;
  tokenize: (s: string) => Token[];
  completer?: Completer;
  placeholder?: string;
  testid?: string;
  inputRef?: { current: HTMLTextAreaElement | null };
  disabled?: boolean;
}) {
  const ta = useRef<HTMLTextAreaElement>(null);
  const wrap = useRef<HTMLDivElement>(null);
  const mirror = useRef<HTMLDivElement>(null);
  const [popup, setPopup] = useState<Popup | null>(null);
  const pendingCursor = useRef<number | null>(null);
  const seq = useRef(0);
  const tokens = useMemo(() => tokenize(value), [value, tokenize]);

  useEffect(() => {
    if (inputRef) inputRef.current = ta.current;
  });

  useLayoutEffect(() => {
    const c = pendingCursor.current;
    if (c !== null && ta.current) {
      ta.current.setSelectionRange(c, c);
      pendingCursor.current = null;
    }
  });

  const caretXY = (pos: number): { x: number; y: number } => {
    const m = mirror.current;
    if (!m) return { x: 0, y: 0 };
    m.textContent = value.slice(0, pos);
    const mark = document.createElement('span');
    mark.textContent = '\u200b';
    m.appendChild(mark);
    return { x: mark.offsetLeft, y: mark.offsetTop + mark.offsetHeight };
  };

  const complete = async (text: string, cursor: number) => {
    if (!completer) return;
    const my = ++seq.current;
    let res: CompletionResult | null = null;
    try {
      res = await completer(text, cursor);
    } catch {
      res = null;
    }
    if (my !== seq.current) return;
    if (!res || !res.items.length) {
      setPopup(null);
      return;
    }
    const prefix = text.slice(res.from, cursor).toLowerCase();
    const starts = res.items.filter((i) => i.label.toLowerCase().startsWith(prefix));
    const has = res.items.filter((i) => !i.label.toLowerCase().startsWith(prefix) && i.label.toLowerCase().includes(prefix));
    const items = [...starts, ...has].slice(0, 100);
    if (!items.length || (items.length === 1 && items[0].insert === text.slice(res.from, res.to))) {
      setPopup(null);
      return;
    }
    const { x, y } = caretXY(res.from);
    setPopup({ ...res, to: cursor, items, active: 0, x, y });
  };

  const apply = (item: CompletionItem) => {
    if (!popup) return;
    const to = Math.max(popup.to, ta.current?.selectionStart ?? popup.to);
    let insert = item.insert;
    // Skip a closing quote that is already there.
    const after = value.slice(to);
    if (insert.length > 1 && (insert.endsWith('"') || insert.endsWith('`')) && after.startsWith(insert[insert.length - 1])) insert = insert.slice(0, -1);
    const next = value.slice(0, popup.from) + insert + value.slice(to);
    const cur = popup.from + (item.cursor ?? insert.length) + (insert !== item.insert && item.cursor === undefined ? 1 : 0);
    pendingCursor.current = cur;
    setPopup(null);
    onChange(next);
    if (item.chain) setTimeout(() => complete(next, cur), 0);
  };

  const onKeyDown = (e: KeyboardEvent) => {
    const el = e.target as HTMLTextAreaElement;
    if (popup) {
      if (e.key === 'ArrowDown') {
        e.preventDefault();
        setPopup({ ...popup, active: (popup.active + 1) % popup.items.length });
        return;
      }
      if (e.key === 'ArrowUp') {
        e.preventDefault();
        setPopup({ ...popup, active: (popup.active - 1 + popup.items.length) % popup.items.length });
        return;
      }
      if ((e.key === 'Enter' && !e.ctrlKey && !e.metaKey && !e.shiftKey) || e.key === 'Tab') {
        e.preventDefault();
        apply(popup.items[popup.active]);
        return;
      }
      if (e.key === 'Escape') {
        e.preventDefault();
        e.stopPropagation();
        setPopup(null);
        return;
      }
    }
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey || !e.shiftKey)) {
      e.preventDefault();
      setPopup(null);
      onRun(value);
      return;
    }
    if (e.key === ' ' && e.ctrlKey) {
      e.preventDefault();
      complete(value, el.selectionStart);
      return;
    }
    if (e.key === 'Escape') {
      el.blur();
      return;
    }
    // Close brackets and skip over an existing closer.
    const pos = el.selectionStart;
    if (pos === el.selectionEnd) {
      if (e.key === '{' || e.key === '(' || e.key === '[') {
        const close = { '{': '}', '(': ')', '[': ']' }[e.key];
        const nextCh = value[pos];
        if (!nextCh || /[\s)}\]]/.test(nextCh)) {
          e.preventDefault();
          const next = value.slice(0, pos) + e.key + close + value.slice(pos);
          pendingCursor.current = pos + 1;
          onChange(next);
          setTimeout(() => complete(next, pos + 1), 0);
          return;
        }
      }
      if ((e.key === '}' || e.key === ')' || e.key === ']') && value[pos] === e.key) {
        e.preventDefault();
        el.setSelectionRange(pos + 1, pos + 1);
        setPopup(null);
        return;
      }
    }
  };

  const onInput = (e: Event) => {
    const el = e.target as HTMLTextAreaElement;
    onChange(el.value);
    const c = el.selectionStart;
    const typed = (e as InputEvent).inputType;
    if (typed && typed.startsWith('delete') && !popup) return;
    complete(el.value, c);
  };

  return (
    <div class={`editor ${disabled ? 'disabled' : ''}`} ref={wrap}>
      <pre class="editor-hl" aria-hidden="true">
        {value ? <Highlighted tokens={tokens} /> : <span class="editor-ph">{placeholder}</span>}
        {'\n'}
      </pre>
      <textarea
        ref={ta}
        class="editor-input"
        value={value}
        spellcheck={false}
        autocomplete="off"
        autocapitalize="off"
        rows={1}
        data-testid={testid}
        aria-label={placeholder}
        onInput={onInput}
        onKeyDown={onKeyDown}
        onBlur={() => setTimeout(() => setPopup(null), 150)}
        onClick={() => setPopup(null)}
      />
      <div class="editor-hl editor-mirror" ref={mirror} aria-hidden="true" />
      {popup && (
        <div class="completion" style={{ left: `${Math.min(popup.x, (wrap.current?.clientWidth ?? 600) - 320)}px`, top: `${popup.y + 2}px` }} role="listbox" data-testid="completion">
          {popup.items.map((it, i) => (
            <div key={it.label + i} role="option" aria-selected={i === popup.active} class={`completion-item ${i === popup.active ? 'active' : ''}`}
              onMouseDown={(e) => { e.preventDefault(); apply(it); }}
              ref={(el) => { if (el && i === popup.active) el.scrollIntoView({ block: 'nearest' }); }}>
              <span class={`ck ck-${it.kind}`}>{it.kind[0].toUpperCase()}</span>
              <span class="completion-label">{it.label}</span>
              {it.detail && <span class="completion-detail">{it.detail}</span>}
            </div>
          ))}
        </div>
      )}
    </div>
  );
}
