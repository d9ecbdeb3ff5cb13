// Decoding what cockpit.js hands over from org.bootc.BoundImages (plain JSON values) into typed views:
// the manager's properties, a job's properties, ListBoundImages rows. A value of the wrong shape
// becomes a neutral default and never throws: the page shows what it can.
import type { StagedView } from '../../src/cli/staged.js';

export type ImageState = 'present' | 'missing' | 'failed' | 'invalid';

export interface BoundImageRow {
  /** The deployment root the entry was found in; empty when the daemon does not say. */
  root: string;
  reference: string;
  sourceFile: string;
  state: ImageState | string;
  /** The image id (present), the error (failed, invalid), or empty (missing). */
  detail: string;
}

export interface ManagerView {
  state: string;
  lastResult: string;
  /** µs since the epoch; 0: never. */
  lastReconcileTime: number;
  roots: string[];
  storePath: string;
  version: string;
  /** The running job's path, "/" when none. */
  currentJob: string;
  /** The staged deployment, when the daemon offers such a property (shown as given). */
  staged: unknown;
}

export interface JobError {
  subject: string;
  message: string;
}

export interface JobView {
  path: string;
  id: number;
  state: string;
  phase: string;
  imagesTotal: number;
  imagesDone: number;
  progress: number;
  pulled: string[];
  removed: string[];
  errors: JobError[];
  result: string;
  gcSkipped: string;
  currentImage: string;
  startTime: number;
  finishTime: number;
}

export function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

export function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

export function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

function pairs(v: unknown): JobError[] {
  if (!Array.isArray(v)) return [];
  const out: JobError[] = [];
  for (const p of v as unknown[]) if (Array.isArray(p)) out.push({ subject: str(p[0]), message: str(p[1]) });
  return out;
}

/** The manager proxy's properties (a missing one reads as its empty value). */
export function decodeManager(p: Record<string, unknown>): ManagerView {
  return {
    state: str(p.State),
    lastResult: str(p.LastResult),
    lastReconcileTime: num(p.LastReconcileTime),
    roots: strings(p.Roots),
    storePath: str(p.StorePath),
    version: str(p.Version),
    currentJob: str(p.CurrentJob) || '/',
    staged: p.StagedDeployment,
  };
}

export function decodeJob(path: string, p: Record<string, unknown>): JobView {
  return {
    path,
    id: num(p.Id),
    state: str(p.State),
    phase: str(p.Phase),
    imagesTotal: num(p.ImagesTotal),
    imagesDone: num(p.ImagesDone),
    progress: Math.min(1, Math.max(0, num(p.Progress))),
    pulled: strings(p.Pulled),
    removed: strings(p.Removed),
    errors: pairs(p.Errors),
    result: str(p.Result),
    gcSkipped: str(p.GcSkipped),
    currentImage: str(p.CurrentImage),
    startTime: num(p.StartTime),
    finishTime: num(p.FinishTime),
  };
}

/**
 * Rows of ListBoundImagesByRoot (root, reference, source file, state, detail) or, from a daemon
 * without it, of ListBoundImages (reference, source file, state, detail; no root).
 */
export function decodeRows(body: unknown, withRoot: boolean): BoundImageRow[] {
  if (!Array.isArray(body)) return [];
  const rows: BoundImageRow[] = [];
  for (const r of body as unknown[]) {
    if (!Array.isArray(r)) continue;
    const f = withRoot ? r : ['', ...(r as unknown[])];
    rows.push({
      root: str(f[0]),
      reference: str(f[1]),
      sourceFile: str(f[2]),
      state: str(f[3]),
      detail: str(f[4]),
    });
  }
  return rows;
}

/** The manager's StagedDeployment (a{sv}) as the page shows it: the client's view (src/cli/staged.ts). */
export type { StagedView };

/** The StagedDeployment property as cockpit.js hands it over ({key: {t, v}}); null when nothing is staged. */
export function decodeStaged(v: unknown): StagedView | null {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return null;
  const d: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as Record<string, unknown>))
    d[k] = x && typeof x === 'object' && 'v' in x ? (x as { v: unknown }).v : x;
  const deployment = str(d.Deployment);
  if (!deployment) return null;
  return {
    deployment,
    root: str(d.Root),
    imagesTotal: num(d.ImagesTotal),
    imagesPresent: num(d.ImagesPresent),
    missing: strings(d.Missing),
    complete: d.Complete === true,
    lock: str(d.FinalizationLock),
    reason: str(d.Reason),
    attempts: num(d.Attempts),
    nextRetry: num(d.NextRetry),
  };
}
