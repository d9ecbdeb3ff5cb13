// Loads the two native systemd bindings (`sd-notify`, `systemd-journald`) on first use and checks
// their shape, since neither ships types. Loading is synchronous (native-require.ts) but deferred until
// the first notification or journal line: daemon start stays fast, and log lines keep their order
// (a queued dynamic import could lose the line logged right before an exit).
import type { Priority } from './priority.js';
import { PRIORITIES } from './priority.js';
import { requireNative } from './native-require.js';

/** What we use of `sd-notify` (a wrapper around libsystemd's sd_notify, reading NOTIFY_SOCKET from the process environment). */
export interface SdNotifyBinding {
  /** sd_pid_notify(pid, 0, "READY=1") */
  ready(): void;
  /** sd_pid_notify(pid, 0, "STOPPING=1") */
  stopping(pid: number): void;
  /** sd_notify(0, "WATCHDOG=1") */
  watchdog(): void;
  /** sd_notify(0, state): newline-separated assignments. */
  sendState(state: string): void;
}

/** What we use of `systemd-journald`: one static function per priority, sending MESSAGE plus the fields through sd_journal_sendv. */
export type JournaldBinding = Record<Priority, (message: string, fields: Record<string, string>) => void>;

function loadModule(id: string, what: string): Record<string, unknown> {
  let mod: unknown;
  try {
    mod = requireNative(id);
  } catch (err) {
    throw new Error(`cannot load the native ${what} module '${id}': ${(err as Error).message}`, {
      cause: err,
    });
  }
  if ((typeof mod !== 'object' && typeof mod !== 'function') || mod === null) {
    throw new Error(`the native ${what} module '${id}' exports ${typeof mod}, not an object`);
  }
  return mod as Record<string, unknown>;
}

function requireFunctions(mod: Record<string, unknown>, id: string, names: readonly string[]): void {
  const missing = names.filter((n) => typeof mod[n] !== 'function');
  if (missing.length > 0) {
    throw new Error(`the native module '${id}' lacks ${missing.join(', ')}: is it the expected version?`);
  }
}

export function loadSdNotify(id = 'sd-notify'): SdNotifyBinding {
  const mod = loadModule(id, 'sd_notify');
  requireFunctions(mod, id, ['ready', 'stopping', 'watchdog', 'sendState']);
  return mod as unknown as SdNotifyBinding;
}

export function loadJournald(id = 'systemd-journald'): JournaldBinding {
  const mod = loadModule(id, 'journald');
  requireFunctions(mod, id, PRIORITIES);
  return mod as unknown as JournaldBinding;
}
