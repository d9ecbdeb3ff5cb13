// Process-wide bookkeeping of everything the harness starts: child processes and temp dirs.
// Normal teardown is each handle's stop(); this module is the safety net behind it:
//  - on process 'exit', SIGINT and SIGTERM every tracked child is SIGKILLed, mounts under the temp
//    dirs are unmounted and the dirs removed (synchronously: 'exit' handlers cannot await);
//  - every child is spawned under `setpriv --pdeathsig SIGKILL` (see proc.ts), so the kernel kills it
//    even when this process dies by SIGKILL and no handler runs;
//  - the owner's pid, its children and dirs are recorded in <harness root>/owners/<pid>-<id>.json, so a
//    later run's reapStrays() removes what a killed run left behind.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statfsSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Parent of every temp dir the harness makes. Short on purpose: Podman refuses a --runroot longer
 * than 50 characters, and unix socket paths must stay under 108 bytes. */
export const HARNESS_ROOT = join(tmpdir(), 'bi-harness');
/** Same, on tmpfs (when /dev/shm is one), for data that is written fast and thrown away: removing
 * freshly written files from this machine's ext4 root takes ~1 s per 25 MB. */
export const HARNESS_SHM_ROOT = '/dev/shm/bi-harness';
const OWNERS_DIR = join(HARNESS_ROOT, 'owners');

interface TrackedChild {
  pid: number;
  /** The program's argv as /proc/<pid>/cmdline shows it: a reaper kills a pid only if it still runs this. */
  cmdline: string;
  kill: () => void;
}

interface OwnerRecord {
  pid: number;
  startTime: string;
  children: { pid: number; cmdline: string }[];
  dirs: string[];
}

const children = new Map<number, TrackedChild>();
const dirs = new Set<string>();
let hooksInstalled = false;

/** Field 22 of /proc/<pid>/stat (start time in clock ticks): tells a live owner from a reused pid. */
function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

export function readCmdline(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return undefined;
  }
}

// One record per module instance: vitest may load this module more than once in one process
// (worker threads, isolated files), and each instance tracks its own children.
const INSTANCE = `${process.pid}-${randomBytes(4).toString('hex')}`;

/** This process's (module instance's) record of its children and dirs, for reapStrays(). */
export function ownerRecordPath(): string {
  return join(OWNERS_DIR, `${INSTANCE}.json`);
}

function writeOwnerRecord(): void {
  mkdirSync(OWNERS_DIR, { recursive: true });
  const file = ownerRecordPath();
  if (children.size === 0 && dirs.size === 0) {
    rmSync(file, { force: true });
    return;
  }
  const record: OwnerRecord = {
    pid: process.pid,
    startTime: processStartTime(process.pid) ?? '',
    children: [...children.values()].map(({ pid, cmdline }) => ({ pid, cmdline })),
    dirs: [...dirs],
  };
  writeFileSync(`${file}.tmp`, JSON.stringify(record));
  renameSync(`${file}.tmp`, file);
}

function onSignal(signal: NodeJS.Signals): void {
  cleanupSync();
  // Re-raise with the default action only when no one else handles this signal (vitest may).
  if (process.listenerCount(signal) === 1) {
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
  }
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', cleanupSync);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

const TMPFS_MAGIC = 0x01021994;

function shmUsable(): boolean {
  try {
    return statfsSync('/dev/shm').type === TMPFS_MAGIC;
  } catch {
    return false;
  }
}

/**
 * Creates a fresh temp dir under HARNESS_ROOT (or HARNESS_SHM_ROOT with `{ tmpfs: true }`, when
 * /dev/shm is a tmpfs), tracked until releaseDir() or process exit.
 */
export function makeTempDir(prefix: string, opts: { tmpfs?: boolean } = {}): string {
  installHooks();
  const root = opts.tmpfs && shmUsable() ? HARNESS_SHM_ROOT : HARNESS_ROOT;
  mkdirSync(root, { recursive: true });
  mkdirSync(OWNERS_DIR, { recursive: true });
  // Resolved, so the paths handed out are what services report (e.g. Podman's DockerRootDir).
  const dir = realpathSync(mkdtempSync(join(root, `${prefix}-`)));
  dirs.add(dir);
  writeOwnerRecord();
  return dir;
}

/** Unmounts every mount point at or below `dir` (deepest first, repeatedly for stacked mounts). */
export function unmountUnder(dir: string): void {
  for (let round = 0; round < 10; round++) {
    const points = mountPointsUnder(dir);
    if (points.length === 0) return;
    for (const point of points) {
      try {
        execFileSync('umount', [point], { stdio: 'ignore' });
      } catch {
        try {
          execFileSync('umount', ['-l', point], { stdio: 'ignore' });
        } catch {
          // gone already, or not ours to unmount: the next round shows which remain
        }
      }
    }
  }
  const left = mountPointsUnder(dir);
  if (left.length > 0) throw new Error(`harness: could not unmount ${left.join(', ')}`);
}

function mountPointsUnder(dir: string): string[] {
  let info: string;
  try {
    info = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  const points = info
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((p): p is string => p !== undefined)
    .map((p) => p.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8))))
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

/** Unmounts what is left under `dir`, removes it and forgets it. Idempotent. */
export function releaseDir(dir: string): void {
  unmountUnder(dir);
  rmSync(dir, { recursive: true, force: true });
  if (dirs.delete(dir)) writeOwnerRecord();
}

/** `argv` is the exec'd program's argv (cmdline is NUL-terminated per argument in /proc). */
export function trackChild(pid: number, argv: string[], kill: () => void): void {
  installHooks();
  children.set(pid, { pid, cmdline: argv.map((a) => `${a}\0`).join(''), kill });
  writeOwnerRecord();
}

export function untrackChild(pid: number): void {
  if (children.delete(pid)) writeOwnerRecord();
}

/** Kills every tracked child and removes every tracked dir, now. Safe to call repeatedly. */
export function cleanupSync(): void {
  for (const child of children.values()) {
    try {
      child.kill();
    } catch {
      // already gone
    }
  }
  children.clear();
  for (const dir of dirs) {
    try {
      unmountUnder(dir);
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // best effort at exit; reapStrays() of a later run retries
    }
  }
  dirs.clear();
  try {
    writeOwnerRecord();
  } catch {
    // the harness root may be gone
  }
}

/** For vitest afterAll / scripts' finally: everything this process started is stopped and removed. */
export function stopAll(): Promise<void> {
  cleanupSync();
  return Promise.resolve();
}

/**
 * Removes what harness runs that died without cleanup left behind: kills their recorded children
 * (only if the pid still runs the recorded command), unmounts and removes their dirs.
 * Returns how many dead owners were reaped.
 */
export function reapStrays(): number {
  if (!existsSync(OWNERS_DIR)) return 0;
  let reaped = 0;
  for (const name of readdirSync(OWNERS_DIR)) {
    if (!name.endsWith('.json')) continue;
    const file = join(OWNERS_DIR, name);
    let record: OwnerRecord;
    try {
      record = JSON.parse(readFileSync(file, 'utf8')) as OwnerRecord;
    } catch {
      rmSync(file, { force: true });
      continue;
    }
    if (record.pid === process.pid) continue;
    const alive = processStartTime(record.pid);
    if (alive !== undefined && alive === record.startTime) continue;
    for (const child of record.children) {
      if (child.cmdline !== '' && readCmdline(child.pid) === child.cmdline) {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          // exited meanwhile
        }
      }
    }
    for (const dir of record.dirs) {
      if (!dir.startsWith(`${HARNESS_ROOT}/`) && !dir.startsWith(`${HARNESS_SHM_ROOT}/`)) continue;
      try {
        unmountUnder(dir);
        rmSync(dir, { recursive: true, force: true });
      } catch {
        // leave it for the next reaper
      }
    }
    rmSync(file, { force: true });
    reaped++;
  }
  return reaped;
}
