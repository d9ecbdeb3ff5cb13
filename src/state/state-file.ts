// The state file's format: what bound-imaged keeps across restarts (remembered roots, the last
// result and its time, the last job number, the staged deployment's lock and retry schedule), as
// versioned JSON. Parsing validates every field; anything else is corrupt. `lastJobId` may be absent
// (files written before it existed): 0.
import { isRecord, messageOf } from '../errors.js';
import { parseStagedRecord, type StagedRecord } from '../staged/staged-record.js';

export const STATE_FILE_NAME = 'state.json';
export const STATE_VERSION = 1;
/** A state file larger than this is not ours (or damaged). */
export const MAX_STATE_BYTES = 1024 * 1024;
/** At most this many remembered roots; the oldest is dropped beyond (each is a deployment). */
export const MAX_REMEMBERED_ROOTS = 256;
const MAX_RESULT_LENGTH = 4096;

export interface DaemonState {
  /** Deployment roots given with Upgrade's `root` option (real paths), oldest first. */
  rememberedRoots: string[];
  /** `success`, `failed: …`, `cancelled`, or empty before the first reconcile. */
  lastResult: string;
  /** µs since the epoch of the last finished reconcile; 0 when never. */
  lastReconcileTime: number;
  /** The number of the last job created, so a new process (after an idle exit) never reuses a job path. */
  lastJobId: number;
  /** The finalization lock we hold and the retry schedule of the staged deployment; null when none. */
  staged: StagedRecord | null;
}

/** Job ids are D-Bus `u`: after this one, numbering starts again at 1. */
export const MAX_JOB_ID = 0xffffffff;

export function emptyState(): DaemonState {
  return { rememberedRoots: [], lastResult: '', lastReconcileTime: 0, lastJobId: 0, staged: null };
}

export class StateFormatError extends Error {
  override name = 'StateFormatError';
}

/** Parses and validates the file's text; throws StateFormatError saying what is wrong. */
export function parseState(text: string): DaemonState {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new StateFormatError(`not valid JSON (${messageOf(err)})`);
  }
  if (!isRecord(raw)) throw new StateFormatError('not a JSON object');
  if (raw.version !== STATE_VERSION) {
    throw new StateFormatError(`unknown version ${JSON.stringify(raw.version)} (expected ${STATE_VERSION})`);
  }
  const { rememberedRoots, lastResult, lastReconcileTime, lastJobId = 0 } = raw;
  if (!Array.isArray(rememberedRoots) || rememberedRoots.length > MAX_REMEMBERED_ROOTS) {
    throw new StateFormatError(`rememberedRoots must be a list of at most ${MAX_REMEMBERED_ROOTS} paths`);
  }
  const roots: string[] = [];
  for (const r of rememberedRoots) {
    if (typeof r !== 'string' || !r.startsWith('/') || r.includes('\0')) {
      throw new StateFormatError(`rememberedRoots holds ${JSON.stringify(r)}, not an absolute path`);
    }
    if (!roots.includes(r)) roots.push(r);
  }
  if (typeof lastResult !== 'string' || lastResult.length > MAX_RESULT_LENGTH) {
    throw new StateFormatError('lastResult must be a string');
  }
  if (
    typeof lastReconcileTime !== 'number' ||
    !Number.isSafeInteger(lastReconcileTime) ||
    lastReconcileTime < 0
  ) {
    throw new StateFormatError('lastReconcileTime must be a non-negative integer (µs since the epoch)');
  }
  if (
    typeof lastJobId !== 'number' ||
    !Number.isSafeInteger(lastJobId) ||
    lastJobId < 0 ||
    lastJobId > MAX_JOB_ID
  ) {
    throw new StateFormatError(`lastJobId must be an integer from 0 to ${MAX_JOB_ID}`);
  }
  let staged: StagedRecord | null = null;
  try {
    staged = parseStagedRecord(raw.staged ?? null);
  } catch (err) {
    throw new StateFormatError(messageOf(err));
  }
  return { rememberedRoots: roots, lastResult, lastReconcileTime, lastJobId, staged };
}

export function serializeState(state: DaemonState): string {
  return (
    JSON.stringify(
      {
        version: STATE_VERSION,
        rememberedRoots: state.rememberedRoots,
        lastResult: state.lastResult.slice(0, MAX_RESULT_LENGTH),
        lastReconcileTime: state.lastReconcileTime,
        lastJobId: state.lastJobId,
        staged: state.staged,
      },
      null,
      2,
    ) + '\n'
  );
}
