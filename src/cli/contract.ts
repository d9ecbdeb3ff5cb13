// The client's view of the org.bootc.BoundImages D-Bus contract: names, paths, interfaces, and the
// exit codes of the bound-images command. Kept separate from src/dbus/ (daemon internals) on purpose;
// a unit test keeps these names and the property types equal to dbus/org.bootc.BoundImages.xml.

export const BUS_NAME = 'org.bootc.BoundImages';
export const MANAGER_PATH = '/org/bootc/BoundImages';
export const MANAGER_INTERFACE = 'org.bootc.BoundImages';
export const JOB_INTERFACE = 'org.bootc.BoundImages.Job';
export const JOB_PATH_PREFIX = '/org/bootc/BoundImages/job/';
export const PROPERTIES_INTERFACE = 'org.freedesktop.DBus.Properties';

/** The properties the client reads, with the D-Bus type it expects of each. */
export const MANAGER_PROPERTY_TYPES = {
  State: 's',
  LastResult: 's',
  LastReconcileTime: 't',
  Roots: 'as',
  StorePath: 's',
  Version: 's',
  CurrentJob: 'o',
} as const;

export const JOB_PROPERTY_TYPES = {
  Id: 'u',
  State: 's',
  Phase: 's',
  ImagesTotal: 'u',
  ImagesDone: 'u',
  Progress: 'd',
  Pulled: 'as',
  Removed: 'as',
  Errors: 'a(ss)',
  StartedByUID: 'u',
  StartTime: 't',
  FinishTime: 't',
  Result: 's',
  GcSkipped: 's',
  CurrentImage: 's',
  Options: 'a{sv}',
} as const;

export const PULL_POLICIES = ['missing', 'always', 'newer'] as const;
export type PullPolicy = (typeof PULL_POLICIES)[number];

/** Job states after which nothing changes any more. */
export const FINAL_JOB_STATES: readonly string[] = ['success', 'failed', 'cancelled'];

export const ExitCode = {
  /** The command did what it was asked; for upgrade: the reconcile succeeded. */
  Ok: 0,
  /** The reconcile failed or was cancelled (or the daemon refused a request as failed). */
  Failed: 1,
  /** Bad command line. */
  Usage: 2,
  /** The daemon cannot be reached, went away, answered nonsense, or denied access. */
  Unreachable: 3,
  /** Interrupted (SIGINT/SIGTERM) while following a job; the job itself keeps running. */
  Interrupted: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** A failure that ends the command with `code` and a one-line `message` on stderr. */
export class CliError extends Error {
  constructor(
    readonly code: ExitCodeValue,
    message: string,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export function jobPath(id: number): string {
  return `${JOB_PATH_PREFIX}${id}`;
}

/** The job number of a job object path, or null when `path` is not one. */
export function jobIdOfPath(path: string): number | null {
  if (!path.startsWith(JOB_PATH_PREFIX)) return null;
  const rest = path.slice(JOB_PATH_PREFIX.length);
  return /^[1-9][0-9]{0,9}$/.test(rest) ? Number(rest) : null;
}
