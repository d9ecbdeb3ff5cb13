// A burst of concurrent ListBoundImages calls by another user (UID 65534 by default, through setpriv):
// a dbus-next client in its own process spreads `calls` calls over `connections` connections, all
// in flight at once, and reports the wall time, the latency of each call (p50, max), the rows of one
// answer, whether all answers were the same, and the errors. With the daemon's CPU time and memory
// (/proc/PID/stat, /proc/PID/status) it shows what an unprivileged caller makes the root daemon spend.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PrivateBus } from './dbus-daemon.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/dist\/$/, '/');
const NOBODY = 65534;

const CLIENT = `
const dbus = (await import(process.argv[1])).default;
const [address, calls, connections] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const buses = await Promise.all(Array.from({ length: connections }, () => new Promise((resolve, reject) => {
  const b = dbus.sessionBus({ busAddress: address });
  b.once('connect', () => resolve(b));
  b.once('error', reject);
})));
const t0 = performance.now();
const latencies = [];
const errors = [];
const answers = new Set();
let rows = -1;
await Promise.all(Array.from({ length: calls }, async (_, i) => {
  const s = performance.now();
  try {
    const reply = await buses[i % connections].call(new dbus.Message({
      destination: 'org.bootc.BoundImages', path: '/org/bootc/BoundImages',
      interface: 'org.bootc.BoundImages', member: 'ListBoundImages' }));
    rows = reply.body[0].length;
    answers.add(JSON.stringify(reply.body[0]));
  } catch (e) { errors.push(String(e.type ?? e.message) + ': ' + String(e.text ?? '')); }
  latencies.push(performance.now() - s);
}));
const wall = performance.now() - t0;
for (const b of buses) b.disconnect();
latencies.sort((a, b) => a - b);
console.log(JSON.stringify({ wall, p50: latencies[Math.floor(latencies.length / 2)] ?? 0,
  max: latencies.at(-1) ?? 0, rows, distinctAnswers: answers.size, errors }));
`;

export interface BurstResult {
  wall: number;
  p50: number;
  max: number;
  /** Rows of an answer (-1 when none succeeded). */
  rows: number;
  /** How many different answers the successful calls got. */
  distinctAnswers: number;
  errors: string[];
}

export function listBurst(
  bus: PrivateBus,
  opts: { calls: number; connections: number; uid?: number },
): Promise<BurstResult> {
  const uid = String(opts.uid ?? NOBODY);
  return new Promise((resolve, reject) =>
    execFile(
      'setpriv',
      [
        `--reuid=${uid}`,
        `--regid=${uid}`,
        '--clear-groups',
        process.execPath,
        '--input-type=module',
        '-e',
        CLIENT,
        join(REPO, 'node_modules/dbus-next/index.js'),
        bus.address,
        String(opts.calls),
        String(opts.connections),
      ],
      { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) =>
        err
          ? reject(new Error(`ListBoundImages burst: ${stderr || err.message}`))
          : resolve(JSON.parse(stdout) as BurstResult),
    ),
  );
}

/** utime + stime of a process so far, in ms. */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // USER_HZ is 100 on Linux
}

/** VmRSS (resident now) or VmHWM (peak since start or the last reset) of a process, in MB. */
export function processMemMb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Resets the process's VmHWM to its current RSS (needs to be root or its owner). */
export function resetPeakMemory(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
}
