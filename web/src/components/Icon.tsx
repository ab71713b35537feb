// A handful of inline SVG icons (no icon font, nothing fetched).
const PATHS: Record<string, string> = {
  clock: 'M8 1.5a6.5 6.5 0 1 0 0 13 6.5 6.5 0 0 0 0-13zM8 4v4l2.5 1.5',
  refresh: 'M13.5 8a5.5 5.5 0 1 1-1.6-3.9M13.5 2.5v2.8h-2.8',
  gear: 'M2 4h7M12 4h2M2 12h2M7 12h7M9 2.5v3M12 2.5v3M4 10.5v3M7 10.5v3',
  help: 'M8 1.5a6.5 6.5 0 1 0 0 13 6.5 6.5 0 0 0 0-13zM6.2 6.2a1.9 1.9 0 1 1 2.6 1.7c-.5.3-.8.6-.8 1.2v.4M8 11.3v.2',
  play: 'M4.5 2.5v11l9-5.5z',
  pause: 'M5 3v10M11 3v10',
  stop: 'M4 4h8v8H4z',
  left: 'M10 3 5 8l5 5',
  right: 'M6 3l5 5-5 5',
  down: 'M3 6l5 5 5-5',
  zoomout: 'M7 1.5a5.5 5.5 0 1 0 0 11 5.5 5.5 0 0 0 0-11zM4.5 7h5M11 11l3.5 3.5',
  plus: 'M8 3v10M3 8h10',
  minus: 'M3 8h10',
  x: 'M4 4l8 8M12 4l-8 8',
  copy: 'M5.5 5.5h8v8h-8zM2.5 10.5v-8h8',
  download: 'M8 2v8M4.5 7 8 10.5 11.5 7M2.5 13.5h11',
  trace: 'M2 3.5h7M4 7h8M6 10.5h8M2 14h4',
  logs: 'M2 3h12M2 6.5h12M2 10h9M2 13.5h11',
  context: 'M2 3h12M2 8h12M2 13h12M1 8h1',
  search: 'M7 2a5 5 0 1 0 0 10A5 5 0 0 0 7 2zM10.5 10.5 14 14',
  filterIn: 'M8 1.5a6.5 6.5 0 1 0 0 13 6.5 6.5 0 0 0 0-13zM8 5v6M5 8h6',
  filterOut: 'M8 1.5a6.5 6.5 0 1 0 0 13 6.5 6.5 0 0 0 0-13zM5 8h6',
  external: 'M9 2.5h4.5V7M13.5 2.5 7 9M11.5 9.5v4h-9v-9h4',
  sun: 'M8 5a3 3 0 1 0 0 6 3 3 0 0 0 0-6zM8 1v1.5M8 13.5V15M1 8h1.5M13.5 8H15M3 3l1 1M12 12l1 1M3 13l1-1M12 4l1-1',
  moon: 'M13.5 9.5A6 6 0 0 1 6.5 2.5a6 6 0 1 0 7 7z',
  expand: 'M5 6l3 3 3-3',
  collapse: 'M6 5l3 3-3 3',
  warn: 'M8 1.5 15 14H1zM8 6v4M8 11.8v.2',
  code: 'M5.5 4 2 8l3.5 4M10.5 4 14 8l-3.5 4',
  builder: 'M2 3h5v4H2zM9 3h5v4H9zM2 9h12v4H2z',
};

export function Icon({ name, size = 14, title }: { name: keyof typeof PATHS | string; size?: number; title?: string }) {
  return (
    <svg class="icon" width={size} height={size} viewBox="0 0 16 16" fill="none" stroke="currentColor" stroke-width="1.5"
      stroke-linecap="round" stroke-linejoin="round" aria-hidden={title ? undefined : 'true'} role={title ? 'img' : undefined}>
      {title && <title>{title}</title>}
      <path d={PATHS[name] ?? ''} fill={name === 'play' ? 'currentColor' : 'none'} />
    </svg>
  );
}
