// sd_notify for the daemon's service manager: READY=1, STATUS=…, WATCHDOG=1 keep-alives, STOPPING=1,
// through the native `sd-notify` binding (libsystemd). Everything is a no-op when NOTIFY_SOCKET is
// unset, and the binding is only loaded on the first notification that is really sent.
import type { SdNotifyBinding } from './native.js';
import { loadSdNotify } from './native.js';
import { redactText } from './redact.js';

export interface Notifier {
  /** False when NOTIFY_SOCKET is unset: every method is then a no-op. */
  readonly enabled: boolean;
  /** The keep-alive period startWatchdog() uses (half of WATCHDOG_USEC), or undefined when the watchdog is not ours. */
  readonly watchdogIntervalMs: number | undefined;
  /** READY=1, with STATUS=text in the same datagram when given, so the manager never sees one without the other. */
  ready(status?: string): void;
  /** STATUS=text (one line, credentials redacted), shown by `systemctl status`. */
  status(text: string): void;
  /** STOPPING=1 */
  stopping(): void;
  /** Sends WATCHDOG=1 now and then every watchdogIntervalMs; idempotent; no-op without a watchdog. The timer does not keep the process alive. */
  startWatchdog(): void;
  stopWatchdog(): void;
}

/**
 * Half of WATCHDOG_USEC in milliseconds, as sd_watchdog_enabled(3) advises, when the watchdog is
 * meant for `pid`: WATCHDOG_USEC is a positive integer and WATCHDOG_PID is unset or equals `pid`.
 */
export function watchdogIntervalMs(env: NodeJS.ProcessEnv, pid: number = process.pid): number | undefined {
  const usecText = env.WATCHDOG_USEC;
  if (usecText === undefined || !/^\d+$/.test(usecText.trim())) return undefined;
  const usec = Number(usecText.trim());
  if (!Number.isSafeInteger(usec) || usec <= 0) return undefined;
  const pidText = env.WATCHDOG_PID;
  if (pidText !== undefined && pidText.trim() !== '' && Number(pidText.trim()) !== pid) return undefined;
  return Math.max(1, Math.floor(usec / 2000));
}

/** Makes STATUS= text safe: one line (a newline would start another assignment), no credentials. */
export function statusLine(text: string): string {
  return redactText(text)
    .replace(/\p{Cc}+/gu, ' ')
    .trim();
}

export interface NotifierOptions {
  /** Loads the native binding; replaceable only to observe or fail the load in tests. */
  load?: () => SdNotifyBinding;
}

/**
 * A notifier for the service manager named by `env.NOTIFY_SOCKET`. libsystemd reads NOTIFY_SOCKET
 * from the real process environment, so an `env` other than process.env may only differ from it by
 * *not* having NOTIFY_SOCKET (which disables the notifier); the watchdog settings are taken from `env`.
 */
export function createNotifier(env: NodeJS.ProcessEnv = process.env, opts: NotifierOptions = {}): Notifier {
  const load = opts.load ?? (() => loadSdNotify());
  const socket = env.NOTIFY_SOCKET;
  const enabled = socket !== undefined && socket !== '';
  if (enabled && socket !== process.env.NOTIFY_SOCKET) {
    throw new Error(
      `NOTIFY_SOCKET '${socket}' differs from the process environment's ('${process.env.NOTIFY_SOCKET ?? ''}'): ` +
        'libsystemd only reads the process environment',
    );
  }
  const intervalMs = enabled ? watchdogIntervalMs(env) : undefined;
  let binding: SdNotifyBinding | undefined;
  let timer: NodeJS.Timeout | undefined;

  const native = (): SdNotifyBinding => (binding ??= load());

  return {
    enabled,
    watchdogIntervalMs: intervalMs,
    ready(text) {
      if (!enabled) return;
      if (text === undefined) native().ready();
      else native().sendState(`READY=1\nSTATUS=${statusLine(text)}\n`);
    },
    status(text) {
      if (enabled) native().sendState(`STATUS=${statusLine(text)}\n`);
    },
    stopping() {
      if (enabled) native().stopping(process.pid);
    },
    startWatchdog() {
      if (intervalMs === undefined || timer !== undefined) return;
      const n = native();
      n.watchdog();
      timer = setInterval(() => n.watchdog(), intervalMs);
      timer.unref();
    },
    stopWatchdog() {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
    },
  };
}
