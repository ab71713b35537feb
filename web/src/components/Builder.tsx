// Query builder: service, level, "contains" terms and attribute filters, no LogQL needed.

import { useEffect, useRef, useState } from 'preact/hooks';
import type { AttrFilter, BuilderState, MatchOp } from '../lib/logql';
import { LEVELS } from '../lib/loki';
import { Icon } from './Icon';
import { Picker } from './Picker';

const BUILDER_LEVELS = LEVELS.filter((l) => l !== 'unknown');
const OPS: MatchOp[] = ['=', '!=', '=~', '!~', '>', '>=', '<', '<='];

function Terms({ label, values, onChange, placeholder, testid }: {
  label: string;
  values: string[];
  onChange: (v: string[]) => void;
  placeholder: string;
  testid: string;
}) {
  const [draft, setDraft] = useState('');
  const commit = () => {
    const t = draft.trim();
    if (t && !values.includes(t)) onChange([...values, t]);
    setDraft('');
  };
  return (
    <div class="terms" title={label}>
      <span class="terms-label">{label}</span>
      {values.map((v) => (
        <span class="chip" key={v}>
          <span class="mono">{v}</span>
          <button class="chip-x" title="Remove" onClick={() => onChange(values.filter((x) => x !== v))}><Icon name="x" size={10} /></button>
        </span>
      ))}
      <input class="terms-input" value={draft} placeholder={placeholder} data-testid={testid}
        onInput={(e) => setDraft((e.target as HTMLInputElement).value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter') { e.preventDefault(); e.stopPropagation(); commit(); }
          else if (e.key === 'Backspace' && !draft && values.length) onChange(values.slice(0, -1));
        }}
        onBlur={commit} />
    </div>
  );
}

function FilterRow({ f, onChange, onRemove, loadLabels, loadValues, idx }: {
  f: AttrFilter;
  onChange: (f: AttrFilter) => void;
  onRemove: () => void;
  loadLabels: () => Promise<string[]>;
  loadValues: (label: string) => Promise<string[]>;
  idx: number;
}) {
  const [key, setKey] = useState(f.key);
  const [value, setValue] = useState(f.value);
  const [keys, setKeys] = useState<string[]>([]);
  const [vals, setVals] = useState<string[]>([]);
  const keyRef = useRef<HTMLInputElement>(null);
  useEffect(() => { setKey(f.key); setValue(f.value); }, [f.key, f.value]);
  useEffect(() => {
    if (!f.key) keyRef.current?.focus();
  }, []);
  const commit = (patch: Partial<AttrFilter> = {}) => {
    const next = { ...f, key: key.trim(), value, ...patch };
    if (next.key !== f.key || next.value !== f.value || next.op !== f.op) onChange(next);
  };
  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      e.stopPropagation();
      commit();
    }
  };
  return (
    <div class="filter-row" data-testid="builder-filter">
      <input ref={keyRef} class="input mono fk" list={`bk-${idx}`} value={key} placeholder="attribute"
        onFocus={() => loadLabels().then(setKeys, () => {})}
        onInput={(e) => setKey((e.target as HTMLInputElement).value)} onKeyDown={onKeyDown} onBlur={() => commit()} />
      <datalist id={`bk-${idx}`}>{keys.map((k) => <option key={k} value={k} />)}</datalist>
      <select class="input fo" value={f.op} onChange={(e) => commit({ op: (e.target as HTMLSelectElement).value as MatchOp })}>
        {OPS.map((o) => <option key={o} value={o}>{o}</option>)}
      </select>
      <input class="input mono fv" list={`bv-${idx}`} value={value} placeholder="value"
        onFocus={() => key && loadValues(key.trim()).then(setVals, () => setVals([]))}
        onInput={(e) => setValue((e.target as HTMLInputElement).value)} onKeyDown={onKeyDown} onBlur={() => commit()} />
      <datalist id={`bv-${idx}`}>{vals.slice(0, 500).map((k) => <option key={k} value={k} />)}</datalist>
      <button class="ibtn" title="Remove filter" onClick={onRemove}><Icon name="x" size={12} /></button>
    </div>
  );
}

export function Builder({ state, onChange, loadServices, loadLabels, loadValues }: {
  state: BuilderState;
  onChange: (s: BuilderState) => void;
  loadServices: () => Promise<string[]>;
  loadLabels: () => Promise<string[]>;
  loadValues: (label: string) => Promise<string[]>;
}) {
  const set = (patch: Partial<BuilderState>) => onChange({ ...state, ...patch });
  return (
    <div class="builder" data-testid="builder">
      <div class="builder-row">
        <Picker label="Service" values={state.services} onChange={(services) => set({ services })} load={loadServices}
          placeholder="All services" testid="builder-service" />
        <div class="levels" role="group" aria-label="Levels">
          {BUILDER_LEVELS.map((l) => {
            const on = state.levels.includes(l);
            return (
              <button key={l} class={`lvchip lv-${l} ${on ? 'on' : ''}`} aria-pressed={on} data-testid={`builder-level-${l}`}
                onClick={() => set({ levels: on ? state.levels.filter((x) => x !== l) : [...state.levels, l] })}>
                <span class={`dot lv-bg-${l}`} />{l}
              </button>
            );
          })}
        </div>
        <Terms label="Contains" values={state.contains} onChange={(contains) => set({ contains })} placeholder="text in line, Enter" testid="builder-contains" />
        <Terms label="Not" values={state.excludes} onChange={(excludes) => set({ excludes })} placeholder="exclude text" testid="builder-excludes" />
        <button class={`btn small toggle ${state.caseInsensitive ? 'on' : ''}`} aria-pressed={state.caseInsensitive}
          title="Match text case-insensitively" onClick={() => set({ caseInsensitive: !state.caseInsensitive })}>Aa</button>
        <select class="input small-select" value={state.parser} title="Parse the line to filter on its fields"
          onChange={(e) => set({ parser: (e.target as HTMLSelectElement).value as BuilderState['parser'] })}>
          <option value="">no parser</option>
          <option value="json">json</option>
          <option value="logfmt">logfmt</option>
        </select>
        {state.filters.map((f, i) => (
          <FilterRow key={i} idx={i} f={f} loadLabels={loadLabels} loadValues={loadValues}
            onChange={(nf) => set({ filters: state.filters.map((x, j) => (j === i ? nf : x)) })}
            onRemove={() => set({ filters: state.filters.filter((_, j) => j !== i) })} />
        ))}
        <button class="btn small ghost" data-testid="builder-add-filter"
          onClick={() => set({ filters: [...state.filters, { key: '', op: '=', value: '' }] })}>
          <Icon name="plus" size={12} /> Attribute filter
        </button>
      </div>
    </div>
  );
}
