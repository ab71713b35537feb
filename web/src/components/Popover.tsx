import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';

/** A panel anchored under its trigger; closes on outside click or Escape. */
export function Popover({ open, onClose, children, align = 'left', class: cls = '' }: {
  open: boolean;
  onClose: () => void;
  children: ComponentChildren;
  align?: 'left' | 'right';
  class?: string;
}) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) return;
    const onDown = (e: MouseEvent) => {
      const el = ref.current;
      if (el && !el.contains(e.target as Node) && !(el.parentElement?.contains(e.target as Node))) onClose();
    };
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        e.preventDefault();
        onClose();
      }
    };
    document.addEventListener('mousedown', onDown);
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('mousedown', onDown);
      document.removeEventListener('keydown', onKey);
    };
  }, [open, onClose]);
  if (!open) return null;
  return (
    <div ref={ref} class={`popover ${align} ${cls}`}>
      {children}
    </div>
  );
}
