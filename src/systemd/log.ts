// The daemon's logger: structured messages to journald (with SYSLOG_IDENTIFIER, PRIORITY, MESSAGE_ID
// and fields such as IMAGE=, JOB_ID=), or, when no journal socket exists, sd-daemon(3) style lines
// on stderr. The sink is chosen once, at creation. Every message and value passes the credential
// guard (redact.ts) before any sink sees it.
import { existsSync } from 'node:fs';
import type { LogFields } from './fields.js';
import { cleanValue, toJournalFields } from './fields.js';
import { createJournalSink } from './journal-sink.js';
import type { Priority } from './priority.js';
import { isPriority, priorityLevel } from './priority.js';
import type { Sink } from './stderr-sink.js';
import { createStderrSink } from './stderr-sink.js';

export type { LogFields } from './fields.js';
export type { Priority } from './priority.js';

export const DEFAULT_IDENTIFIER = 'bound-imaged';
/** Where libsystemd's sd_journal_send writes; fixed by libsystemd. */
export const JOURNAL_SOCKET = '/run/systemd/journal/socket';

export type SinkKind = 'journal' | 'stderr';

export interface LoggerOptions {
  /** `auto` (default): the journal when its socket exists at creation, stderr otherwise. */
  sink?: 'auto' | SinkKind;
  /** SYSLOG_IDENTIFIER; default `bound-imaged`. */
  identifier?: string;
  /** The stream of the stderr sink (and of the journal sink's fallback); default process.stderr. */
  stderr?: NodeJS.WritableStream;
  /** Messages less severe than this are dropped; default `info`. */
  minPriority?: Priority;
  /** The socket `auto` looks for; default /run/systemd/journal/socket. For tests. */
  journalSocket?: string;
}

type LevelMethod = (message: string, fields?: LogFields) => void;

export interface Logger {
  /** The sink chosen at creation. */
  readonly sink: SinkKind;
  log(priority: Priority, message: string, fields?: LogFields): void;
  err: LevelMethod;
  warning: LevelMethod;
  notice: LevelMethod;
  info: LevelMethod;
  debug: LevelMethod;
  /** A logger that adds `fields` to every message (a message's own fields win), e.g. `{ jobId }` for one job. */
  child(fields: LogFields): Logger;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const identifier = opts.identifier ?? DEFAULT_IDENTIFIER;
  if (!/^[^\s=]+$/.test(identifier)) {
    throw new TypeError(`log identifier '${identifier}' must be non-empty, without spaces or '='`);
  }
  const minPriority = opts.minPriority ?? 'info';
  if (!isPriority(minPriority)) throw new TypeError(`unknown minimum log priority '${String(minPriority)}'`);
  const requested = opts.sink ?? 'auto';
  if (!['auto', 'journal', 'stderr'].includes(requested))
    throw new TypeError(`unknown log sink '${requested}'`);
  const kind: SinkKind =
    requested === 'auto'
      ? existsSync(opts.journalSocket ?? JOURNAL_SOCKET)
        ? 'journal'
        : 'stderr'
      : requested;

  const stderrSink = createStderrSink(opts.stderr ?? process.stderr);
  const sink: Sink =
    kind === 'journal' ? createJournalSink({ identifier, fallback: stderrSink }) : stderrSink;
  const maxLevel = priorityLevel(minPriority);

  function make(defaults: LogFields | undefined): Logger {
    const log = (priority: Priority, message: string, fields?: LogFields): void => {
      if (!isPriority(priority)) throw new TypeError(`unknown log priority '${String(priority)}'`);
      if (priorityLevel(priority) > maxLevel) return;
      const merged = defaults === undefined ? fields : { ...defaults, ...fields };
      sink.write(priority, cleanValue(String(message)), toJournalFields(merged));
    };
    return {
      sink: kind,
      log,
      err: (message, fields) => log('err', message, fields),
      warning: (message, fields) => log('warning', message, fields),
      notice: (message, fields) => log('notice', message, fields),
      info: (message, fields) => log('info', message, fields),
      debug: (message, fields) => log('debug', message, fields),
      child: (fields) => make({ ...defaults, ...fields }),
    };
  }
  return make(undefined);
}
