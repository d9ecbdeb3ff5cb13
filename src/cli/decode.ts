// Validation of what the daemon sends: property dictionaries (a{sv} as dbus-next unmarshals them),
// PropertiesChanged updates and ListBoundImages rows become typed views, or a CliError (exit 3) that
// names the property and the type it had. Every property is checked against its type in the shared
// contract (src/contract/); the views are filled from tables keyed by property name. Unknown
// properties are ignored (a newer daemon may add some), and so are properties no view shows.
import { decodeStaged, type StagedView } from './staged.js';
import {
  JOB_SPEC,
  MANAGER_SPEC,
  PLANNED_ACTIONS,
  type DBusValue,
  type InterfaceSpec,
  type JobProperties,
  type ManagerProperties,
  type PlannedChange,
} from '../contract/index.js';
import { isRecord, messageOf } from '../errors.js';
import { CliError, ExitCode } from './cli-error.js';

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
  /** The staged deployment, null when none (or a daemon without the property). */
  staged: StagedView | null;
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
  /** What a dry run would change (its Pulled and Removed hold the same as display text). */
  planned: PlannedChange[];
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
  return isRecord(v) && typeof v.signature === 'string';
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((s) => typeof s === 'string');
}

function isPairArray(v: unknown): v is [string, string][] {
  return Array.isArray(v) && v.every((p) => Array.isArray(p) && p.length === 2 && isStringArray(p));
}

const isCount = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/** What dbus-next makes of each D-Bus type the contract uses. */
const TYPE_CHECKS: Record<string, (v: unknown) => boolean> = {
  s: (v) => typeof v === 'string',
  o: (v) => typeof v === 'string',
  b: (v) => typeof v === 'boolean',
  u: isCount,
  d: (v) => typeof v === 'number',
  t: (v) => typeof v === 'bigint' || isCount(v),
  as: isStringArray,
  'a(ss)': isPairArray,
  'a{sv}': isRecord,
};

/** The value of a variant of D-Bus type `type`, checked against what dbus-next makes of that type. */
function valueOf(name: string, raw: unknown, type: string): unknown {
  if (!isVariant(raw)) throw unexpected(`property ${name} is not a variant`);
  if (raw.signature !== type)
    throw unexpected(`property ${name} has type '${raw.signature}', expected '${type}'`);
  const v = raw.value;
  if (!(TYPE_CHECKS[type]?.(v) ?? false))
    throw unexpected(`property ${name} does not hold a value of type '${type}'`);
  return typeof v === 'bigint' ? Number(v) : v;
}

function asDict(raw: unknown, what: string): Record<string, unknown> {
  if (!isRecord(raw)) throw unexpected(`${what} is not a{sv}`);
  return raw;
}

function plainOptions(raw: DBusValue<'a{sv}'>): Record<string, string | boolean> {
  const out: Record<string, string | boolean> = {};
  for (const [key, v] of Object.entries(raw)) {
    if (isVariant(v) && (typeof v.value === 'string' || typeof v.value === 'boolean')) out[key] = v.value;
  }
  return out;
}

function plannedChanges(pairs: DBusValue<'a(ss)'>): PlannedChange[] {
  return pairs.flatMap(([action, name]) => {
    const known = PLANNED_ACTIONS.find((a) => a === action);
    return known ? [{ action: known, name }] : [];
  });
}

/** How a view shows some properties of interface `S`: each setter takes the checked value. */
type Setters<S extends InterfaceSpec, View, Props> = {
  readonly [P in S['properties'][number]['name']]?: (view: View, value: Props[P & keyof Props]) => void;
};

/**
 * `base` with the properties in `changed` applied through `setters`, each checked against its type
 * in `spec`; `base` itself is not modified.
 */
function applyProperties<S extends InterfaceSpec, View extends object, Props>(
  spec: S,
  setters: Setters<S, View, Props>,
  base: View,
  changed: unknown,
  what: string,
): View {
  const view: View = { ...base };
  const types = new Map(spec.properties.map((p) => [p.name, p.type]));
  const table = setters as Record<string, ((view: View, value: unknown) => void) | undefined>;
  for (const [name, raw] of Object.entries(asDict(changed, what))) {
    const type = types.get(name);
    const set = table[name];
    if (type === undefined || set === undefined) continue;
    set(view, valueOf(name, raw, type));
  }
  return view;
}

const MANAGER_SETTERS: Setters<typeof MANAGER_SPEC, ManagerView, ManagerProperties> = {
  State: (m, v) => (m.state = v),
  LastResult: (m, v) => (m.lastResult = v),
  LastReconcileTime: (m, v) => (m.lastReconcileTime = v),
  Roots: (m, v) => (m.roots = v),
  StorePath: (m, v) => (m.storePath = v),
  Version: (m, v) => (m.version = v),
  CurrentJob: (m, v) => (m.currentJob = v === '/' ? null : v),
  StagedDeployment: (m, v) => {
    try {
      m.staged = decodeStaged(v);
    } catch (err) {
      throw unexpected(messageOf(err));
    }
  },
};

export function decodeManager(props: unknown): ManagerView {
  const dict = asDict(props, 'the manager properties');
  if (!('State' in dict)) throw unexpected('the manager has no State property');
  const empty: ManagerView = {
    state: '',
    lastResult: '',
    lastReconcileTime: 0,
    roots: [],
    storePath: '',
    version: '',
    currentJob: null,
    staged: null,
  };
  return applyProperties(MANAGER_SPEC, MANAGER_SETTERS, empty, dict, 'the manager properties');
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
    planned: [],
  };
}

const JOB_SETTERS: Setters<typeof JOB_SPEC, JobView, JobProperties> = {
  Id: (j, v) => (j.id = v),
  State: (j, v) => (j.state = v),
  Phase: (j, v) => (j.phase = v),
  ImagesTotal: (j, v) => (j.imagesTotal = v),
  ImagesDone: (j, v) => (j.imagesDone = v),
  Progress: (j, v) => (j.progress = Math.min(1, Math.max(0, v))),
  Pulled: (j, v) => (j.pulled = v),
  Removed: (j, v) => (j.removed = v),
  Errors: (j, v) => (j.errors = v.map(([subject, message]) => ({ subject, message }))),
  StartedByUID: (j, v) => (j.startedByUid = v),
  StartTime: (j, v) => (j.startTime = v),
  FinishTime: (j, v) => (j.finishTime = v),
  Result: (j, v) => (j.result = v),
  GcSkipped: (j, v) => (j.gcSkipped = v),
  CurrentImage: (j, v) => (j.currentImage = v),
  Options: (j, v) => (j.options = plainOptions(v)),
  Planned: (j, v) => (j.planned = plannedChanges(v)),
};

/**
 * `base` with the properties in `changed` applied (a GetAll answer or PropertiesChanged's changed
 * dictionary); `base` itself is not modified.
 */
export function applyJobProperties(base: JobView, changed: unknown): JobView {
  return applyProperties(JOB_SPEC, JOB_SETTERS, base, changed, `the properties of ${base.path}`);
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
