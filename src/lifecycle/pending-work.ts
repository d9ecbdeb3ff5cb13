// The hook for work the daemon owes later: "pending work due at T". A module that plans a retry (a
// staged deployment whose images are still missing, a reconcile to try again) calls
// schedule(key, dueAt, reason), and cancel(key) when it is no longer owed. The work is kept in
// <stateDirectory>/pending-work.json (atomic writes), so it survives an idle exit or a restart. When
// an entry falls due, the handler registered for its key with onDue() runs, else the default one (the
// daemon's: one reconcile with default options, which covers the configured and remembered roots).
// The idle exit reads next(): work due within the idle time keeps the daemon up; later work is handed
// to systemd as a timer that starts the daemon again (wake-timer.ts), which then finds it here.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode, isRecord, messageOf } from '../errors.js';
import { writeFileAtomic } from '../state/atomic-write.js';

export const PENDING_WORK_FILE = 'pending-work.json';
/** At most this many entries (one per key); scheduling more drops the one due last. */
export const MAX_PENDING = 64;
const MAX_TIMEOUT_MS = 2 ** 31 - 1;
const MAX_KEY = 200;
const MAX_REASON = 1000;

export interface PendingEntry {
  key: string;
  /** ms since the epoch. */
  dueAt: number;
  /** Why, for the journal and the wake timer's description. */
  reason: string;
}

export type DueHandler = (entry: PendingEntry) => void;

interface Log {
  warning(message: string, fields?: Record<string, string | number | undefined>): void;
}

function valid(e: unknown): e is PendingEntry {
  if (!isRecord(e)) return false;
  const { key, dueAt, reason } = e;
  return (
    typeof key === 'string' &&
    key !== '' &&
    key.length <= MAX_KEY &&
    typeof reason === 'string' &&
    reason.length <= MAX_REASON &&
    typeof dueAt === 'number' &&
    Number.isSafeInteger(dueAt) &&
    dueAt >= 0
  );
}

export class PendingWork {
  private readonly entries = new Map<string, PendingEntry>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly handlers = new Map<string, DueHandler>();
  private readonly listeners: Array<() => void> = [];
  private writing: Promise<void> = Promise.resolve();
  private closed = false;
  private armed = false;

  private constructor(
    readonly file: string,
    private readonly fallback: DueHandler,
    private readonly log: Log,
  ) {}

  /**
   * Loads what an earlier process left (overdue entries fall due at once, after `arm()`); a missing
   * file is no work, a damaged one is reported and ignored.
   */
  static async open(directory: string, fallback: DueHandler, log: Log): Promise<PendingWork> {
    const work = new PendingWork(join(directory, PENDING_WORK_FILE), fallback, log);
    let text: string | null = null;
    try {
      text = await readFile(work.file, 'utf8');
    } catch (err) {
      if (errnoCode(err) !== 'ENOENT') {
        log.warning(`cannot read ${work.file}: ${messageOf(err)}; no pending work is resumed`);
      }
    }
    if (text !== null) {
      try {
        const doc = JSON.parse(text) as { pending?: unknown };
        if (!Array.isArray(doc.pending)) throw new Error('"pending" is not a list');
        for (const e of doc.pending.slice(0, MAX_PENDING)) {
          if (!valid(e)) throw new Error(`not a pending entry: ${JSON.stringify(e).slice(0, 200)}`);
          work.entries.set(e.key, { key: e.key, dueAt: e.dueAt, reason: e.reason });
        }
      } catch (err) {
        work.entries.clear();
        log.warning(`${work.file} is damaged (${messageOf(err)}); no pending work is resumed`, {
          STATE_FILE: work.file,
        });
      }
    }
    return work;
  }

  /** Starts the timers (once the daemon can do the work); until then entries are only kept. */
  arm(): void {
    this.armed = true;
    for (const e of this.entries.values()) this.setTimer(e);
  }

  /** The handler for one key's work (instead of the default). */
  onDue(key: string, handler: DueHandler): void {
    this.handlers.set(key, handler);
  }

  /** Called whenever the schedule changes (the idle monitor re-evaluates). */
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** Owes `key` at `dueAt` (ms since the epoch); scheduling a key again moves it. */
  schedule(key: string, dueAt: number, reason: string): Promise<void> {
    const entry = {
      key: key.slice(0, MAX_KEY),
      dueAt: Math.max(0, Math.round(dueAt)),
      reason: reason.slice(0, MAX_REASON),
    };
    this.entries.set(entry.key, entry);
    while (this.entries.size > MAX_PENDING) {
      const last = [...this.entries.values()].sort((a, b) => b.dueAt - a.dueAt)[0] as PendingEntry;
      this.log.warning(`more than ${MAX_PENDING} pending works: dropping ${last.key} (${last.reason})`);
      this.drop(last.key);
    }
    this.setTimer(entry);
    return this.changed();
  }

  /** No longer owed. */
  cancel(key: string): Promise<void> {
    if (!this.entries.has(key)) return this.writing;
    this.drop(key);
    return this.changed();
  }

  /** The entry due first, if any. */
  next(): PendingEntry | undefined {
    let first: PendingEntry | undefined;
    for (const e of this.entries.values()) if (!first || e.dueAt < first.dueAt) first = e;
    return first;
  }

  list(): PendingEntry[] {
    return [...this.entries.values()].sort((a, b) => a.dueAt - b.dueAt);
  }

  /** Resolves when every write asked for so far has been attempted. */
  flush(): Promise<void> {
    return this.writing;
  }

  /** Stops the timers (the entries stay on disk for the next process). */
  close(): void {
    this.closed = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  private drop(key: string): void {
    this.entries.delete(key);
    const t = this.timers.get(key);
    if (t) clearTimeout(t);
    this.timers.delete(key);
  }

  private setTimer(entry: PendingEntry): void {
    if (this.closed || !this.armed) return;
    const old = this.timers.get(entry.key);
    if (old) clearTimeout(old);
    const wait = Math.min(MAX_TIMEOUT_MS, Math.max(0, entry.dueAt - Date.now()));
    this.timers.set(
      entry.key,
      setTimeout(() => {
        this.timers.delete(entry.key);
        if (this.entries.get(entry.key) !== entry) return;
        if (entry.dueAt > Date.now()) return this.setTimer(entry); // beyond one setTimeout's range
        this.drop(entry.key);
        void this.changed();
        (this.handlers.get(entry.key) ?? this.fallback)(entry);
      }, wait),
    );
  }

  private changed(): Promise<void> {
    for (const l of this.listeners) l();
    const doc = `${JSON.stringify({ pending: this.list() }, null, 2)}\n`;
    this.writing = this.writing.then(() =>
      writeFileAtomic(this.file, doc).catch((err: unknown) =>
        this.log.warning(`cannot write ${this.file}: ${messageOf(err)}`, { STATE_FILE: this.file }),
      ),
    );
    return this.writing;
  }
}
