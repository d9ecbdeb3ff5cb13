// The state file's format: what bound-imaged keeps across restarts (remembered roots, the last
// result and its time, the staged deployment's lock and retry schedule), as versioned JSON. Parsing
// validates every field; anything else is corrupt.
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
  /** The finalization lock we hold and the retry schedule of the staged deployment; null when none. */
  staged: StagedRecord | null;
}

export function emptyState(): DaemonState {
  return { rememberedRoots: [], lastResult: '', lastReconcileTime: 0, staged: null };
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
  const { rememberedRoots, lastResult, lastReconcileTime } = raw;
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
  let staged: StagedRecord | null = null;
  try {
    staged = parseStagedRecord(raw.staged ?? null);
  } catch (err) {
    throw new StateFormatError(messageOf(err));
  }
  return { rememberedRoots: roots, lastResult, lastReconcileTime, staged };
}

export function serializeState(state: DaemonState): string {
  return (
    JSON.stringify(
      {
        version: STATE_VERSION,
        rememberedRoots: state.rememberedRoots,
        lastResult: state.lastResult.slice(0, MAX_RESULT_LENGTH),
        lastReconcileTime: state.lastReconcileTime,
        staged: state.staged,
      },
      null,
      2,
    ) + '\n'
  );
}
