// A real, private systemd-journald for tests, without a running systemd and without touching the
// host's /run. libsystemd's sd_journal_send always writes to /run/systemd/journal/socket, so the
// journald and every process under test share a private mount namespace (`unshare --mount`) in
// which /run is a fresh tmpfs, /run/log/journal is a host temp directory (so the test can read the
// files with `journalctl -D` from outside), and /var/log/journal is hidden (no persistent writes).
// Processes enter that namespace with `nsenter --mount --target <journald pid>`. Needs root.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, releaseDir } from './cleanup.js';
import type { RunOptions, RunResult } from './proc.js';
import { run, spawnService, waitUntil } from './proc.js';

/** One entry as `journalctl -o json` prints it: strings, byte arrays for binary values, arrays for repeated fields. */
export type JournalEntry = Record<string, unknown>;

export interface JournaldHarness {
  /** Host directory holding the journal files (`journalctl -D dir`). */
  readonly dir: string;
  /** journald's pid: its mount namespace is the private one. */
  readonly pid: number;
  /** Runs a command to completion inside the namespace, where /run/systemd/journal/socket is this journald's. */
  run(command: string, args: string[], opts?: RunOptions): Promise<RunResult>;
  /** `journalctl -D dir -o json --all [matches…]`, e.g. matches `['SYSLOG_IDENTIFIER=bound-imaged']`. */
  entries(matches?: string[]): Promise<JournalEntry[]>;
  /** Polls entries(matches) until at least `count` (default 1) exist. */
  waitForEntries(matches: string[], opts?: { count?: number; timeoutMs?: number }): Promise<JournalEntry[]>;
  stop(): Promise<void>;
}

const JOURNALD_CANDIDATES = ['/lib/systemd/systemd-journald', '/usr/lib/systemd/systemd-journald'];

// A drop-in under /run (ours) named to sort last, so it wins over any journald.conf.d of the host.
const CONFIG = `[Journal]
Storage=volatile
RateLimitIntervalSec=0
ReadKMsg=no
ForwardToSyslog=no
ForwardToKMsg=no
ForwardToConsole=no
ForwardToWall=no
`;

const NAMESPACE_SETUP = `set -eu
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/systemd/journal /run/systemd/journald.conf.d /run/log/journal
cp "$2" /run/systemd/journald.conf.d/zzzz-bound-imaged-harness.conf
mount --bind "$1" /run/log/journal
if [ -d /var/log/journal ]; then mount -t tmpfs -o mode=0755 tmpfs /var/log/journal; fi
exec "$3"`;

/** A journal field's value as text (journalctl prints non-UTF-8 values as byte arrays). */
export function fieldText(entry: JournalEntry, name: string): string | undefined {
  const value = entry[name];
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && value.every((b) => typeof b === 'number'))
    return Buffer.from(value).toString('utf8');
  return undefined;
}

export async function startJournald(opts: { startTimeoutMs?: number } = {}): Promise<JournaldHarness> {
  if (process.getuid?.() !== 0) throw new Error('startJournald needs root (unshare --mount, nsenter)');
  const journald = JOURNALD_CANDIDATES.find((p) => existsSync(p));
  if (journald === undefined)
    throw new Error(`no systemd-journald binary at ${JOURNALD_CANDIDATES.join(' or ')}`);

  const base = makeTempDir('journald');
  const dir = join(base, 'journal');
  mkdirSync(dir);
  const config = join(base, 'journald.conf');
  writeFileSync(config, CONFIG);
  const logFile = join(base, 'journald.log');

  // setpriv → unshare → sh → journald, all by exec: the service's pid is journald's.
  const proc = spawnService(
    'unshare',
    [
      '--mount',
      '--propagation',
      'private',
      '--',
      '/bin/sh',
      '-c',
      NAMESPACE_SETUP,
      'sh',
      dir,
      config,
      journald,
    ],
    // journald logs about itself to kmsg by default; keep that in the harness's log file instead.
    { env: { ...process.env, SYSTEMD_LOG_TARGET: 'console' }, stdoutFile: logFile, stderrFile: logFile },
  );
  const pid = proc.pid;
  const stop = async (): Promise<void> => {
    await proc.stop();
    releaseDir(base);
  };

  try {
    // Ready when the socket exists in the namespace (seen through /proc/PID/root).
    await waitUntil(
      'systemd-journald in a private mount namespace',
      () => Promise.resolve(existsSync(`/proc/${pid}/root/run/systemd/journal/socket`)),
      {
        timeoutMs: opts.startTimeoutMs ?? 10_000,
        giveUp: () => (proc.hasExited() ? `exited: ${readFileSync(logFile, 'utf8').trim()}` : undefined),
      },
    );
  } catch (err) {
    await stop();
    throw err;
  }

  const entries = async (matches: string[] = []): Promise<JournalEntry[]> => {
    const { stdout } = await run('journalctl', ['-D', dir, '-o', 'json', '--all', '--no-pager', ...matches]);
    return stdout
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as JournalEntry);
  };

  return {
    dir,
    pid,
    // nsenter without --fork execs the command: it is the process that logs.
    run: (command, args, runOpts) =>
      run('nsenter', ['--mount', `--target=${pid}`, '--', command, ...args], runOpts),
    entries,
    async waitForEntries(matches, waitOpts = {}) {
      const count = waitOpts.count ?? 1;
      let found: JournalEntry[] = [];
      await waitUntil(
        `${count} journal entries matching ${matches.join(' ')} in ${dir}`,
        async () => (found = await entries(matches)).length >= count,
        { timeoutMs: waitOpts.timeoutMs ?? 10_000, intervalMs: 50 },
      );
      return found;
    },
    stop,
  };
}
