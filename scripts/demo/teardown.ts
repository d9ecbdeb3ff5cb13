// Proof of a clean teardown: what the demo started and made (read from the harness's own record of
// this process's children and temp dirs, see scripts/harness/cleanup.ts), and, after everything was
// stopped, which of those processes, dirs or mounts under them are still there.
import { existsSync, readFileSync } from 'node:fs';
import { ownerRecordPath, readCmdline } from '../harness/cleanup.js';
import { isRecord } from '../../src/errors.js';

export interface Footprint {
  /** Child processes alive when the footprint was taken, with the argv they run (NUL-separated). */
  processes: { pid: number; cmdline: string }[];
  /** Temp dirs the harness made for this process. */
  dirs: string[];
}

export interface Leftovers {
  processes: string[];
  dirs: string[];
  mounts: string[];
}

/** Parses the harness's owner record (a file this process wrote); anything malformed is an error. */
export function parseOwnerRecord(text: string, file: string): Footprint {
  const data: unknown = JSON.parse(text);
  const children = isRecord(data) ? data.children : undefined;
  const dirs = isRecord(data) ? data.dirs : undefined;
  if (!Array.isArray(children) || !Array.isArray(dirs) || !dirs.every((d) => typeof d === 'string'))
    throw new Error(`${file}: not a harness owner record (children[], dirs[])`);
  const processes = children.map((c: unknown, i) => {
    if (!isRecord(c) || typeof c.pid !== 'number' || typeof c.cmdline !== 'string')
      throw new Error(`${file}: children[${i}] is not { pid, cmdline }`);
    return { pid: c.pid, cmdline: c.cmdline };
  });
  return { processes, dirs: dirs as string[] };
}

/** Everything this process has running and made right now (empty when it has nothing). */
export function takeFootprint(): Footprint {
  const file = ownerRecordPath();
  if (!existsSync(file)) return { processes: [], dirs: [] };
  return parseOwnerRecord(readFileSync(file, 'utf8'), file);
}

function mountPoints(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((p): p is string => p !== undefined)
    .map((p) => p.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8))));
}

/** What of `fp` still exists: a process still running the same argv, a dir, a mount at or under a dir. */
export function findLeftovers(fp: Footprint): Leftovers {
  const points = mountPoints();
  return {
    processes: fp.processes
      .filter((p) => readCmdline(p.pid) === p.cmdline)
      .map((p) => `${p.pid} ${p.cmdline.split('\0').join(' ').trim()}`),
    dirs: fp.dirs.filter((d) => existsSync(d)),
    mounts: points.filter((m) => fp.dirs.some((d) => m === d || m.startsWith(`${d}/`))),
  };
}

/** The program names of a footprint's processes, for the teardown summary (`podman`, …). */
export function processNames(fp: Footprint): string[] {
  return fp.processes.map((p) => {
    const argv = p.cmdline.split('\0');
    // The daemon runs as `nsenter … -- node …/main.js`, journald as `unshare … journald`.
    if (argv.some((a) => a.endsWith('/src/main.js'))) return 'bound-imaged';
    if (argv.some((a) => a.endsWith('/src/cli/main.js'))) return 'bound-images';
    const journald = argv.find((a) => a.endsWith('/systemd-journald'));
    if (journald) return 'systemd-journald';
    return (argv[0] ?? '?').split('/').pop() ?? '?';
  });
}
