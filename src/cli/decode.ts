// Validation of what the daemon sends: property dictionaries (a{sv} as dbus-next unmarshals them),
// PropertiesChanged updates and ListBoundImages rows become typed views, or a CliError (exit 3) that
// names the property and the type it had. Unknown properties are ignored (a newer daemon may add some).
import { CliError, ExitCode, JOB_PROPERTY_TYPES, MANAGER_PROPERTY_TYPES } from './contract.js';

export interface ManagerView {
  state: string;
  lastResult: string;
  /** µs since the epoch, 0: never. */
  lastReconcileTime: number;
  roots: string[];
  storePath: string;
  version: string;
  /** The running job's path, null when none runs. */
  currentJob: string | null;
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
  startedByUid: number;
  /** µs since the epoch. */
  startTime: number;
  /** µs since the epoch, 0 while running. */
  finishTime: number;
  result: string;
  gcSkipped: string;
  currentImage: string;
  options: Record<string, string | boolean>;
}

export interface ListRow {
  reference: string;
  sourceFile: string;
  state: string;
  detail: string;
}

function unexpected(what: string): CliError {
  return new CliError(ExitCode.Unreachable, `unexpected reply from bound-imaged: ${what}`);
}

interface VariantLike {
  signature: string;
  value: unknown;
}

function isVariant(v: unknown): v is VariantLike {
  return typeof v === 'object' && v !== null && typeof (v as { signature?: unknown }).signature === 'string';
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((s) => typeof s === 'string');
}

function isPairArray(v: unknown): v is [string, string][] {
  return Array.isArray(v) && v.every((p) => Array.isArray(p) && p.length === 2 && isStringArray(p));
}

/** The value of a variant of D-Bus type `type`, checked against what dbus-next makes of that type. */
function valueOf(name: string, raw: unknown, type: string): unknown {
  if (!isVariant(raw)) throw unexpected(`property ${name} is not a variant`);
  if (raw.signature !== type)
    throw unexpected(`property ${name} has type '${raw.signature}', expected '${type}'`);
  const v = raw.value;
  const ok = (() => {
    switch (type) {
      case 's':
      case 'o':
        return typeof v === 'string';
      case 'u':
        return typeof v === 'number' && Number.isInteger(v) && v >= 0;
      case 'd':
        return typeof v === 'number';
      case 't':
        return typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v) && v >= 0);
      case 'as':
        return isStringArray(v);
      case 'a(ss)':
        return isPairArray(v);
      case 'a{sv}':
        return typeof v === 'object' && v !== null && !Array.isArray(v);
      default:
        return false;
    }
  })();
  if (!ok) throw unexpected(`property ${name} does not hold a value of type '${type}'`);
  return typeof v === 'bigint' ? Number(v) : v;
}

function asDict(raw: unknown, what: string): Record<string, unknown> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw unexpected(`${what} is not a{sv}`);
  return raw as Record<string, unknown>;
}

function plainOptions(raw: unknown): Record<string, string | boolean> {
  const out: Record<string, string | boolean> = {};
  for (const [key, v] of Object.entries(asDict(raw, 'Options'))) {
    if (isVariant(v) && (typeof v.value === 'string' || typeof v.value === 'boolean')) out[key] = v.value;
  }
  return out;
}

export function decodeManager(props: unknown): ManagerView {
  const dict = asDict(props, 'the manager properties');
  const read = <K extends keyof typeof MANAGER_PROPERTY_TYPES>(name: K): unknown =>
    name in dict ? valueOf(name, dict[name], MANAGER_PROPERTY_TYPES[name]) : undefined;
  const state = read('State');
  if (state === undefined) throw unexpected('the manager has no State property');
  const currentJob = (read('CurrentJob') as string | undefined) ?? '/';
  return {
    state: state as string,
    lastResult: (read('LastResult') as string | undefined) ?? '',
    lastReconcileTime: (read('LastReconcileTime') as number | undefined) ?? 0,
    roots: (read('Roots') as string[] | undefined) ?? [],
    storePath: (read('StorePath') as string | undefined) ?? '',
    version: (read('Version') as string | undefined) ?? '',
    currentJob: currentJob === '/' ? null : currentJob,
  };
}

/** A job before anything is known about it (its properties not read yet). */
export function emptyJob(path: string, id: number): JobView {
  return {
    path,
    id,
    state: 'running',
    phase: 'discover',
    imagesTotal: 0,
    imagesDone: 0,
    progress: 0,
    pulled: [],
    removed: [],
    errors: [],
    startedByUid: 0,
    startTime: 0,
    finishTime: 0,
    result: '',
    gcSkipped: '',
    currentImage: '',
    options: {},
  };
}

type JobPropertyName = keyof typeof JOB_PROPERTY_TYPES;

const JOB_SETTERS: { [K in JobPropertyName]: (job: JobView, value: unknown) => void } = {
  Id: (j, v) => (j.id = v as number),
  State: (j, v) => (j.state = v as string),
  Phase: (j, v) => (j.phase = v as string),
  ImagesTotal: (j, v) => (j.imagesTotal = v as number),
  ImagesDone: (j, v) => (j.imagesDone = v as number),
  Progress: (j, v) => (j.progress = Math.min(1, Math.max(0, v as number))),
  Pulled: (j, v) => (j.pulled = v as string[]),
  Removed: (j, v) => (j.removed = v as string[]),
  Errors: (j, v) =>
    (j.errors = (v as [string, string][]).map(([subject, message]) => ({ subject, message }))),
  StartedByUID: (j, v) => (j.startedByUid = v as number),
  StartTime: (j, v) => (j.startTime = v as number),
  FinishTime: (j, v) => (j.finishTime = v as number),
  Result: (j, v) => (j.result = v as string),
  GcSkipped: (j, v) => (j.gcSkipped = v as string),
  CurrentImage: (j, v) => (j.currentImage = v as string),
  Options: (j, v) => (j.options = plainOptions(v)),
};

function isJobProperty(name: string): name is JobPropertyName {
  return Object.prototype.hasOwnProperty.call(JOB_PROPERTY_TYPES, name);
}

/**
 * `base` with the properties in `changed` applied (a GetAll answer or PropertiesChanged's changed
 * dictionary); `base` itself is not modified.
 */
export function applyJobProperties(base: JobView, changed: unknown): JobView {
  const job: JobView = { ...base };
  for (const [name, raw] of Object.entries(asDict(changed, `the properties of ${base.path}`))) {
    if (!isJobProperty(name)) continue;
    JOB_SETTERS[name](job, valueOf(name, raw, JOB_PROPERTY_TYPES[name]));
  }
  return job;
}

export function decodeListRows(body: unknown): ListRow[] {
  if (
    !Array.isArray(body) ||
    !body.every((row) => Array.isArray(row) && row.length === 4 && isStringArray(row))
  ) {
    throw unexpected('ListBoundImages did not return a(ssss)');
  }
  return (body as [string, string, string, string][]).map(([reference, sourceFile, state, detail]) => ({
    reference,
    sourceFile,
    state,
    detail,
  }));
}
