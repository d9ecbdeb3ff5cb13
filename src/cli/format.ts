// How bound-images shows things: plain event lines, the status and list texts, and the JSON
// documents of --json. Pure functions of the decoded views.
import type { PlannedChange } from '../contract/index.js';
import { stagedJson, stagedRows } from './staged.js';
import type { JobView, ListRow, ManagerView } from './decode.js';
import type { JobEvent } from './job-events.js';
import { formatTable } from './table.js';

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** One plain line per event, as `upgrade` prints them when stdout is not a terminal. */
export function eventLine(e: JobEvent): string {
  switch (e.kind) {
    case 'waiting':
      return 'waiting for the running reconcile to finish';
    case 'discovered':
      return `found ${plural(e.total, 'bound image')}`;
    case 'pulling':
      return `pulling ${e.index}/${e.total} ${e.reference}`;
    case 'pulled':
      return `pulled ${e.reference}`;
    case 'removed':
      return `removed ${e.name}`;
    case 'planned':
      return `would ${e.action} ${e.name}`;
    case 'error':
      return `error: ${e.subject}: ${e.message}`;
    case 'gc-skipped':
      return `gc skipped: ${e.reason}`;
    case 'finished':
      return e.result;
  }
}

/** µs since the epoch as ISO 8601 (UTC, whole seconds); null for 0 ("never"). */
export function isoTime(us: number): string | null {
  if (us <= 0) return null;
  return new Date(Math.floor(us / 1000)).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** "3 min ago"-style age of a µs timestamp relative to `nowMs`. */
export function age(us: number, nowMs: number): string {
  const seconds = Math.max(0, Math.round((nowMs - us / 1000) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 120) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `${hours} h ago`;
  return `${Math.round(hours / 24)} days ago`;
}

export function jobSummary(job: JobView): string {
  const parts = [job.state, job.phase];
  if (job.imagesTotal > 0) parts.push(`${job.imagesDone}/${job.imagesTotal} images`);
  parts.push(`${Math.floor(job.progress * 100)}%`);
  if (job.currentImage !== '') parts.push(`pulling ${job.currentImage}`);
  return `job ${job.id}: ${parts.join(', ')}`;
}

function table(rows: readonly (readonly [string, string])[]): string {
  const width = Math.max(...rows.map(([k]) => k.length)) + 1;
  return rows.map(([k, v]) => `${`${k}:`.padEnd(width)} ${v}`.trimEnd()).join('\n') + '\n';
}

export function formatStatus(m: ManagerView, job: JobView | null, nowMs: number): string {
  const when = isoTime(m.lastReconcileTime);
  const rows: [string, string][] = [
    ['State', m.state],
    ['Last result', m.lastResult === '' ? '(none yet)' : m.lastResult],
    ['Last reconcile', when === null ? 'never' : `${when} (${age(m.lastReconcileTime, nowMs)})`],
    ['Current job', job ? jobSummary(job) : (m.currentJob ?? 'none')],
    ['Roots', m.roots.length === 0 ? '(none)' : m.roots.join(' ')],
    ['Store', m.storePath],
    ['Version', m.version],
    ...stagedRows(m.staged, nowMs),
  ];
  return table(rows);
}

/** The list as aligned columns; the last column (detail) is not padded. `legend`: headings (--no-legend: none). */
export function formatList(rows: readonly ListRow[], legend = true): string {
  return formatTable(
    ['STATE', 'REFERENCE', 'SOURCE', 'DETAIL'],
    rows.map((r) => [r.state, r.reference, r.sourceFile, r.detail]),
    { legend, empty: 'no bound images' },
  );
}

export interface JobJson {
  job: string;
  id: number;
  state: string;
  result: string;
  phase: string;
  imagesTotal: number;
  imagesDone: number;
  progress: number;
  pulled: string[];
  removed: string[];
  errors: { subject: string; message: string }[];
  gcSkipped: string | null;
  startedByUid: number;
  startTime: string | null;
  finishTime: string | null;
  options: Record<string, string | boolean>;
  /** What a dry run would change, as data (empty outside a dry run). */
  planned: PlannedChange[];
}

export function jobJson(job: JobView): JobJson {
  return {
    job: job.path,
    id: job.id,
    state: job.state,
    result: job.result,
    phase: job.phase,
    imagesTotal: job.imagesTotal,
    imagesDone: job.imagesDone,
    progress: job.progress,
    pulled: job.pulled,
    removed: job.removed,
    errors: job.errors,
    gcSkipped: job.gcSkipped === '' ? null : job.gcSkipped,
    startedByUid: job.startedByUid,
    startTime: isoTime(job.startTime),
    finishTime: isoTime(job.finishTime),
    options: job.options,
    planned: job.planned,
  };
}

export function statusJson(m: ManagerView, job: JobView | null): object {
  return {
    state: m.state,
    lastResult: m.lastResult === '' ? null : m.lastResult,
    lastReconcileTime: isoTime(m.lastReconcileTime),
    roots: m.roots,
    storePath: m.storePath,
    version: m.version,
    currentJob: job ? jobJson(job) : null,
    staged: stagedJson(m.staged),
  };
}

export function listJson(rows: readonly ListRow[]): object {
  return { images: rows };
}

export function errorJson(code: number, message: string): object {
  return { error: message, exitCode: code };
}

export function jsonDocument(doc: object): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}
