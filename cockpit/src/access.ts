// Who may press "Update now" and Cancel: the one rule of the page, decided from two sources.
//
// 1. Cockpit's permission API (`cockpit.permission({ admin: true })`): true when the session's user is
//    root or the session has administrative access (a superuser bridge, so calls go out as root).
//    The daemon allows Upgrade and Cancel to UID 0, so without it the call cannot succeed.
// 2. The daemon's own answer: an `org.freedesktop.DBus.Error.AccessDenied` reply to Upgrade or Cancel
//    disables the actions with the daemon's message, whatever the permission said (an authorization
//    rule of the host may refuse a caller that Cockpit considers an administrator).
//
// While the permission is not known yet the actions stay enabled: the daemon decides.

export type ActionBlock =
  /** The daemon is not on the bus (not installed, or failed to start). */
  | { kind: 'unavailable' }
  /** Cockpit says the session has no administrative access. */
  | { kind: 'no-admin' }
  /** The daemon answered AccessDenied; `message` is its text. */
  | { kind: 'denied'; message: string };

export interface AccessFacts {
  /** cockpit.permission({admin: true}).allowed */
  permission: boolean | null;
  /** The message of the last AccessDenied answer of this page, when there was one. */
  deniedMessage: string | null;
  daemonAvailable: boolean;
}

export const ACCESS_DENIED = 'org.freedesktop.DBus.Error.AccessDenied';

/** Why the actions are disabled, or null when they are not. */
export function actionBlock(f: AccessFacts): ActionBlock | null {
  if (!f.daemonAvailable) return { kind: 'unavailable' };
  if (f.deniedMessage !== null) return { kind: 'denied', message: f.deniedMessage };
  if (f.permission === false) return { kind: 'no-admin' };
  return null;
}

/** Whether an error from cockpit.js is the daemon's (or the bus policy's) refusal. */
export function isAccessDenied(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const e = error as { name?: unknown; problem?: unknown };
  return e.name === ACCESS_DENIED || e.problem === 'access-denied';
}

/** Cockpit's problem codes that reach the page, in words. */
const PROBLEMS: Record<string, string> = {
  'not-found': 'org.bootc.BoundImages is not on the system bus',
  'access-denied': 'not permitted',
  disconnected: 'the connection to the host was lost',
  terminated: 'the session ended',
  timeout: 'no answer in time',
};

/** The text of an error from cockpit.js: its D-Bus message, else its problem code in words. */
export function errorText(error: unknown): string {
  if (error && typeof error === 'object') {
    const e = error as { message?: unknown; problem?: unknown };
    const problem = typeof e.problem === 'string' ? e.problem : '';
    if (problem && PROBLEMS[problem]) return PROBLEMS[problem];
    if (typeof e.message === 'string' && e.message) return e.message;
    if (problem) return problem;
  }
  return String(error);
}
