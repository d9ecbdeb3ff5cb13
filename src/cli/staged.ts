// The manager's StagedDeployment property (a{sv}) as the client reads and shows it: decoded into a
// StagedView (an empty dictionary: nothing staged; unknown keys ignored, a known key of the wrong
// type refused), and the two lines of `bound-images status` that say what is staged and whether its
// finalization is locked, and why.
import { isRecord } from '../errors.js';

export interface StagedView {
  deployment: string;
  root: string;
  imagesTotal: number;
  imagesPresent: number;
  missing: string[];
  complete: boolean;
  /** `held` (by bound-imaged), `other` (someone else's lock), `none`. */
  lock: string;
  reason: string;
  attempts: number;
  /** µs since the epoch; 0 when no retry is scheduled. */
  nextRetry: number;
}

/** The dictionary's keys and their D-Bus types. */
export const STAGED_KEYS = {
  Deployment: 's',
  Root: 's',
  ImagesTotal: 'u',
  ImagesPresent: 'u',
  Missing: 'as',
  Complete: 'b',
  FinalizationLock: 's',
  Reason: 's',
  Attempts: 'u',
  NextRetry: 't',
} as const;

interface VariantLike {
  signature: string;
  value: unknown;
}

function isVariant(v: unknown): v is VariantLike {
  return isRecord(v) && typeof v.signature === 'string';
}

/** Decodes the property's value; null when nothing is staged. Throws an Error naming the bad key. */
export function decodeStaged(raw: unknown): StagedView | null {
  if (!isRecord(raw)) throw new Error('StagedDeployment is not a dictionary');
  const dict = raw;
  const get = (key: keyof typeof STAGED_KEYS): unknown => {
    const v = dict[key];
    if (v === undefined) return undefined;
    if (!isVariant(v) || v.signature !== STAGED_KEYS[key]) {
      throw new Error(`StagedDeployment.${key} is not of type '${STAGED_KEYS[key]}'`);
    }
    return typeof v.value === 'bigint' ? Number(v.value) : v.value;
  };
  const deployment = get('Deployment');
  if (deployment === undefined || deployment === '') return null;
  const str = (v: unknown): string => (typeof v === 'string' ? v : '');
  const num = (v: unknown): number => (typeof v === 'number' ? v : 0);
  const missing = get('Missing');
  return {
    deployment: str(deployment),
    root: str(get('Root')),
    imagesTotal: num(get('ImagesTotal')),
    imagesPresent: num(get('ImagesPresent')),
    missing: Array.isArray(missing) ? missing.filter((m): m is string => typeof m === 'string') : [],
    complete: get('Complete') === true,
    lock: str(get('FinalizationLock')) || 'none',
    reason: str(get('Reason')),
    attempts: num(get('Attempts')),
    nextRetry: num(get('NextRetry')),
  };
}

function inSeconds(us: number, nowMs: number): string {
  const s = Math.max(0, Math.round((us / 1000 - nowMs) / 1000));
  return s < 120 ? `${s} s` : `${Math.round(s / 60)} min`;
}

/** The `Staged:` and `Finalization:` rows of `bound-images status`. */
export function stagedRows(view: StagedView | null, nowMs: number): [string, string][] {
  if (view === null) return [['Staged', 'none']];
  const images = `${view.imagesPresent}/${view.imagesTotal} bound image${view.imagesTotal === 1 ? '' : 's'} present`;
  const retry =
    view.nextRetry > 0 ? ` (retry ${view.attempts + 1} in ${inSeconds(view.nextRetry, nowMs)})` : '';
  const lock =
    view.lock === 'held'
      ? `locked by bound-imaged: ${view.reason}${retry}`
      : view.lock === 'other'
        ? `locked, not by bound-imaged: ${view.reason}${retry}`
        : `not locked: ${view.reason}${retry}`;
  return [
    ['Staged', `${view.deployment}, ${images}`],
    ['Finalization', lock],
  ];
}

/** The same for `status --json`. */
export function stagedJson(view: StagedView | null): object | null {
  if (view === null) return null;
  return {
    ...view,
    nextRetry: view.nextRetry > 0 ? new Date(Math.floor(view.nextRetry / 1000)).toISOString() : null,
  };
}
