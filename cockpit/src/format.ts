// Pure presentation rules of the page: how an image id, a time, a result and a state are shown, and
// the order of the table. No DOM, no cockpit.js: unit-tested on their own.
import type { BoundImageRow } from './decode.js';

/** The first 12 hex digits of an image id (`sha256:` dropped), as `podman images` shows it. */
export function shortId(id: string): string {
  const hex = id.startsWith('sha256:') ? id.slice('sha256:'.length) : id;
  return /^[0-9a-f]{12,}$/.test(hex) ? hex.slice(0, 12) : id;
}

/** A µs-since-epoch timestamp as a local date and time; `never` for 0. */
export function formatTime(us: number, never: string, locale?: string): string {
  if (!us) return never;
  return new Date(us / 1000).toLocaleString(locale, { dateStyle: 'medium', timeStyle: 'medium' });
}

/** "3 minutes ago" (or "in 2 minutes") relative to `nowMs`, in the page's language. */
export function formatRelative(us: number, nowMs: number, locale?: string): string {
  if (!us) return '';
  const seconds = Math.round((us / 1000 - nowMs) / 1000);
  const fmt = new Intl.RelativeTimeFormat(locale, { numeric: 'auto' });
  const abs = Math.abs(seconds);
  if (abs < 60) return fmt.format(seconds, 'second');
  if (abs < 3600) return fmt.format(Math.round(seconds / 60), 'minute');
  if (abs < 86_400) return fmt.format(Math.round(seconds / 3600), 'hour');
  return fmt.format(Math.round(seconds / 86_400), 'day');
}

export type Tone = 'success' | 'danger' | 'warning' | 'info' | 'neutral';

/** The colour of a result (LastResult, a job's Result or State). */
export function resultTone(result: string): Tone {
  if (result === 'success') return 'success';
  if (result === 'cancelled') return 'warning';
  if (result === 'failed' || result.startsWith('failed')) return 'danger';
  if (result === 'running') return 'info';
  return 'neutral';
}

/** The colour of an entry's state in the store. */
export function stateTone(state: string): Tone {
  switch (state) {
    case 'present':
      return 'success';
    case 'missing':
      return 'warning';
    case 'failed':
    case 'invalid':
      return 'danger';
    default:
      return 'neutral';
  }
}

/** A progress fraction as a whole percentage, 0–100. */
export function percent(fraction: number): number {
  return Math.round(Math.min(1, Math.max(0, fraction)) * 100);
}

/** Rows with errors first (they need the reader), then by root, reference and source file. */
export function sortRows(rows: readonly BoundImageRow[]): BoundImageRow[] {
  const bad = (r: BoundImageRow): number => (r.state === 'invalid' || r.state === 'failed' ? 0 : 1);
  return [...rows].sort(
    (a, b) =>
      bad(a) - bad(b) ||
      a.root.localeCompare(b.root) ||
      a.reference.localeCompare(b.reference) ||
      a.sourceFile.localeCompare(b.sourceFile),
  );
}

/** Counts per state, for the table's summary line. */
export function countStates(rows: readonly BoundImageRow[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of rows) counts[r.state] = (counts[r.state] ?? 0) + 1;
  return counts;
}
