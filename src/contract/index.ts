// The D-Bus contract of org.bootc.BoundImages as one typed module the daemon (src/dbus/) and the client
// (src/cli/) both import: the interfaces generated from dbus/org.bootc.BoundImages.xml (interfaces.ts),
// the bus name and object paths, the error names, and the vocabulary of property values.
import { JOB_SPEC, MANAGER_SPEC } from './interfaces.js';
import type { PropertyName, PropertyValues } from './spec.js';

export { JOB_SPEC, MANAGER_SPEC } from './interfaces.js';
export type * from './spec.js';

export const BUS_NAME = 'org.bootc.BoundImages';
export const MANAGER_PATH = '/org/bootc/BoundImages';
export const JOB_PATH_PREFIX = '/org/bootc/BoundImages/job/';
export const MANAGER_INTERFACE = MANAGER_SPEC.name;
export const JOB_INTERFACE = JOB_SPEC.name;
export const PROPERTIES_INTERFACE = 'org.freedesktop.DBus.Properties';

export type ManagerPropertyName = PropertyName<typeof MANAGER_SPEC>;
export type JobPropertyName = PropertyName<typeof JOB_SPEC>;
/** Every manager property with its value. */
export type ManagerProperties = PropertyValues<typeof MANAGER_SPEC>;
/** Every job property with its value. */
export type JobProperties = PropertyValues<typeof JOB_SPEC>;

/** D-Bus error names the service answers with (and the client recognises by name, never by text). */
export const DBusErrorName = {
  AccessDenied: 'org.freedesktop.DBus.Error.AccessDenied',
  InvalidArgs: 'org.freedesktop.DBus.Error.InvalidArgs',
  LimitsExceeded: 'org.freedesktop.DBus.Error.LimitsExceeded',
  Failed: 'org.freedesktop.DBus.Error.Failed',
  PropertyReadOnly: 'org.freedesktop.DBus.Error.PropertyReadOnly',
  UnknownMethod: 'org.freedesktop.DBus.Error.UnknownMethod',
  UnknownObject: 'org.freedesktop.DBus.Error.UnknownObject',
  JobFinished: 'org.bootc.BoundImages.Error.JobFinished',
} as const;
export type DBusErrorNameValue = (typeof DBusErrorName)[keyof typeof DBusErrorName];

/** Values of Upgrade's `pull-policy` option. */
export const PULL_POLICIES = ['missing', 'always', 'newer'] as const;
export type PullPolicy = (typeof PULL_POLICIES)[number];

/** Job states after which nothing changes any more. */
export const FINAL_JOB_STATES: readonly string[] = ['success', 'failed', 'cancelled'];

/** The actions of a job's Planned entries (what a dry run would do). */
export const PLANNED_ACTIONS = ['pull', 'remove', 'untag'] as const;
export type PlannedAction = (typeof PLANNED_ACTIONS)[number];

/** One change a dry run would make: pull a reference, remove an image, untag an extra name. */
export interface PlannedChange {
  action: PlannedAction;
  name: string;
}

/**
 * How a dry run's change reads in Pulled/Removed, the form readers had before Planned existed: kept
 * on the bus for them, never parsed back (readers take Planned).
 */
export function dryRunText(change: PlannedChange): string {
  return `${change.name} (dry run: would ${change.action})`;
}

export function jobPath(id: number): string {
  return `${JOB_PATH_PREFIX}${id}`;
}

/** The job id of a job object path, or null when `path` is not one. */
export function jobIdOfPath(path: string): number | null {
  if (!path.startsWith(JOB_PATH_PREFIX)) return null;
  const rest = path.slice(JOB_PATH_PREFIX.length);
  return /^[1-9][0-9]{0,9}$/.test(rest) ? Number(rest) : null;
}
