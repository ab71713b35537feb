// A searchable multi- or single-select with options loaded when opened.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { Icon } from './Icon';
import { Popover } from './Popover';

export function Picker({ label, values, onChange, load, multi = true, placeholder = 'Any', testid, renderOption }: {
  label: string;
  values: string[];
  onChange: (v: string[]) => void;
  load: () => Promise<string[]>;
  multi?: boolean;
  placeholder?: string;
  testid?: string;
  renderOption?: (v: string) => preact.ComponentChildren;
}) {
  const [open, setOpen] = useState(false);
  const [opts, setOpts] = useState<string[] | null>(null);
  const [err, setErr] = useState('');
  const [filter, setFilter] = useState('');
  const [active, setActive] = useState(0);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (!open) return;
    setFilter('');
    setActive(0);
    setErr('');
    let live = true;
    load().then((o) => live && setOpts(o), (e) => live && (setErr((e as Error).message), setOpts([])));
    setTimeout(() => input.current?.focus(), 0);
    return () => {
      live = false;
    };
  }, [open]);
  const shown = useMemo(() => {
    const all = [...new Set([...(opts ?? []), ...values])];
    const f = filter.toLowerCase();
    return (f ? all.filter((o) => o.toLowerCase().includes(f)) : all).slice(0, 300);
  }, [opts, values, filter]);
  const toggle = (v: string) => {
    if (multi) onChange(values.includes(v) ? values.filter((x) => x !== v) : [...values, v]);
    else {
      onChange(values[0] === v ? [] : [v]);
      setOpen(false);
    }
  };
  const text = values.length === 0 ? placeholder : values.length <= 2 ? values.join(', ') : `${values[0]} +${values.length - 1}`;
  return (
    <div class="picker">
      <button class={`btn picker-btn ${values.length ? 'has-value' : ''}`} onClick={() => setOpen(!open)} data-testid={testid} title={label}>
        <span class="picker-label">{label}</span>
        <span class="picker-value">{text}</span>
        <Icon name="down" size={10} />
      </button>
      <Popover open={open} onClose={() => setOpen(false)} class="picker-pop">
        <input ref={input} class="input" placeholder={`Filter ${label.toLowerCase()}…`} value={filter}
          onInput={(e) => { setFilter((e.target as HTMLInputElement).value); setActive(0); }}
          onKeyDown={(e) => {
            if (e.key === 'ArrowDown') { e.preventDefault(); setActive((a) => Math.min(a + 1, shown.length - 1)); }
            else if (e.key === 'ArrowUp') { e.preventDefault(); setActive((a) => Math.max(a - 1, 0)); }
            else if (e.key === 'Enter') {
              e.preventDefault();
              const v = shown[active] ?? filter.trim();
              if (v) toggle(v);
            }
          }} />
        <div class="picker-list" role="listbox">
          {opts === null && <div class="muted pad">Loading…</div>}
          {err && <div class="error-inline pad">{err}</div>}
          {opts !== null && shown.length === 0 && !err && (
            <div class="muted pad">{filter ? <>No match. Enter uses “{filter}”.</> : 'No values in this time range.'}</div>
          )}
          {shown.map((o, i) => (
            <div key={o} role="option" aria-selected={values.includes(o)} class={`picker-opt ${i === active ? 'active' : ''} ${values.includes(o) ? 'sel' : ''}`}
              onMouseEnter={() => setActive(i)} onMouseDown={(e) => { e.preventDefault(); toggle(o); }}>
              {multi && <span class="check">{values.includes(o) ? '✓' : ''}</span>}
              {renderOption ? renderOption(o) : o}
            </div>
          ))}
        </div>
        {multi && values.length > 0 && (
          <div class="picker-foot">
            <button class="btn small ghost" onClick={() => onChange([])}>Clear</button>
            <button class="btn small" onClick={() => setOpen(false)}>Done</button>
          </div>
        )}
      </Popover>
    </div>
  );
}
