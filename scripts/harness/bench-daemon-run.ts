// What the benchmarks that run a whole bound-imaged process share: a deployment root binding given
// images (one `.image` file each, linked from bound-images.d), the daemon's configuration file for a
// store and a root, and a daemon started on a private bus and taken through a first reconcile, which
// must succeed. Used by bench-daemon (idle RSS), bench-reads and bench-pull (noop-100-activated).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BUS_NAME, JOB_INTERFACE, MANAGER_INTERFACE, MANAGER_PATH } from '../../src/contract/index.js';
import { daemonConfigText } from './daemon-config.js';
import type { PrivateBus } from './dbus-daemon.js';

const UNITS = 'usr/share/containers/systemd';
const BOUND = 'usr/lib/bootc/bound-images.d';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A deployment root binding `refs`: `b<i>.image` in the Quadlet directory, linked from bound-images.d. */
export async function writeBoundRoot(root: string, refs: readonly string[]): Promise<void> {
  await mkdir(join(root, UNITS), { recursive: true });
  await mkdir(join(root, BOUND), { recursive: true });
  for (const [i, ref] of refs.entries()) {
    await writeFile(join(root, UNITS, `b${i}.image`), `[Image]\nImage=${ref}\n`);
    await symlink(`/${UNITS}/b${i}.image`, join(root, BOUND, `b${i}.image`));
  }
}

export interface BenchConfig {
  storePath: string;
  podmanSocket: string;
  root: string;
  /** The global auth file the daemon looks for (one that does not exist: anonymous pulls). */
  authFile: string;
  stateDirectory: string;
  /** `[daemon] idle-exit` in seconds; the default (60) when absent. */
  idleExit?: number;
}

/** Writes the daemon's configuration to `file` and returns its path. */
export async function writeBenchConfig(file: string, c: BenchConfig): Promise<string> {
  await writeFile(
    file,
    daemonConfigText({
      ...c,
      roots: [c.root],
      daemon: c.idleExit === undefined ? [] : [`idle-exit = ${c.idleExit}`],
    }),
  );
  return file;
}

export function busctl(bus: PrivateBus, args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile('busctl', [`--address=${bus.address}`, ...args], (err, stdout, stderr) =>
      err ? reject(new Error(`busctl ${args.join(' ')}: ${stderr}`)) : resolve(stdout.trim()),
    ),
  );
}

/**
 * Starts `node daemon --config config` on `bus`, waits for its name, calls Upgrade and polls the job
 * until it ends (it must succeed), then waits `settleMs` so the heap settles. The caller stops the
 * process it gets.
 */
export async function daemonAfterFirstReconcile(
  bus: PrivateBus,
  daemon: string,
  config: string,
  settleMs = 2000,
): Promise<ChildProcess> {
  const p = spawn(process.execPath, [daemon, '--config', config], {
    stdio: 'ignore',
    env: { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: bus.address },
  });
  try {
    for (let i = 0; i < 200; i++) {
      if (await busctl(bus, ['status', BUS_NAME]).catch(() => '')) break;
      await sleep(50);
    }
    const call = [BUS_NAME, MANAGER_PATH, MANAGER_INTERFACE, 'Upgrade', 'a{sv}', '0'];
    const job = (await busctl(bus, ['call', ...call])).replace(/^o "(.*)"$/, '$1');
    for (;;) {
      const state = await busctl(bus, ['get-property', BUS_NAME, job, JOB_INTERFACE, 'State']);
      if (state !== 's "running"') {
        if (state !== 's "success"') throw new Error(`the first reconcile ended ${state}`);
        break;
      }
      await sleep(100);
    }
    await sleep(settleMs);
    return p;
  } catch (err) {
    p.kill('SIGTERM');
    throw err;
  }
}
