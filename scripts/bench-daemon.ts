// Benchmark (not a timed test): how fast bound-imaged is READY, next to a bare Node start in the
// same run, and its resident memory once idle after a first reconcile. Real parts throughout:
// a private dbus-daemon, a NOTIFY_SOCKET listener, a loopback registry and a Podman service.
// The daemon measured is the one the packages install: the bundle, built fresh by the script
// (scripts/harness/shipped-daemon.ts); the development build (dist/ and node_modules) is measured in
// the same runs, interleaved, on the `-tsc` lines.
//   bench ready: ours=<median>ms baseline=<median>ms ratio=<ours/baseline>   (target ≤ 2)
//   bench ready-tsc: …
//   bench idle-rss: ours=<MB>MB                                               (target ≤ 60)
//   bench idle-rss-tsc: …
// BENCH_BUNDLE=a.js,b.js adds other bundled daemons (e.g. built with --splitting) to the same
// runs: `bench ready-bundle`, `bench ready-bundle-2`, … and their idle-rss lines.
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { makeTempDir, releaseDir } from './harness/cleanup.js';
import { startPrivateBus, type PrivateBus } from './harness/dbus-daemon.js';
import { startSandbox } from './harness/index.js';
import { daemonAfterFirstReconcile, writeBenchConfig, writeBoundRoot } from './harness/bench-daemon-run.js';
import { processMemMb } from './harness/read-burst.js';
import { startNotifyListener, type NotifyListener } from './harness/notify-listener.js';
import { shippedDaemon, TSC_DAEMON } from './harness/shipped-daemon.js';
import { stackOf } from '../src/errors.js';

/** BENCH_BUNDLE: one or more (comma-separated) bundled daemons, measured as `ready-bundle`, `ready-bundle-2`, … */
const BUNDLED = (process.env.BENCH_BUNDLE ?? '')
  .split(',')
  .filter(Boolean)
  .map((p) => resolve(p));
const bundleName = (i: number): string => (i === 0 ? 'bundle' : `bundle-${i + 1}`);
const RUNS = Number(process.env.BENCH_RUNS ?? 9);

const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** The daemon's configuration in `dir`: the store, the socket and the root given. */
function writeConfig(dir: string, storePath: string, socket: string, root: string): Promise<string> {
  return writeBenchConfig(join(dir, 'config.ini'), {
    storePath,
    podmanSocket: socket,
    root,
    authFile: join(dir, 'no-auth.json'),
    stateDirectory: join(dir, 'state'),
  });
}

/** Process start of a bare `node -e 0` to its exit. */
function bareNode(): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = nowMs();
    const p = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    p.on('error', reject);
    p.on('exit', () => resolve(nowMs() - t0));
  });
}

/** Process start of bound-imaged to its READY=1 datagram; then SIGTERM and wait for exit. */
async function daemonReady(
  bus: PrivateBus,
  notify: NotifyListener,
  config: string,
  daemon: string,
): Promise<number> {
  const before = notify.messages().length;
  // The listener stamps datagrams with CLOCK_MONOTONIC, the clock of process.hrtime.
  const t0 = nowMs();
  const p = spawn(process.execPath, [daemon, '--config', config], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: bus.address, NOTIFY_SOCKET: notify.path },
  });
  let stderr = '';
  p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((r) => p.on('exit', () => r()));
  try {
    await notify.waitFor((m) => m.slice(before).some((lines) => lines.includes('READY=1')), 20_000);
  } catch (e) {
    p.kill('SIGKILL');
    throw new Error(`bound-imaged never became ready: ${String(e)}\n${stderr}`);
  }
  const ready = notify
    .datagrams()
    .slice(before)
    .find((d) => d.lines.includes('READY=1'));
  p.kill('SIGTERM');
  await exited;
  return (ready?.receivedAtMs ?? nowMs()) - t0;
}

async function idleRss(bus: PrivateBus, dir: string, daemon: string): Promise<number> {
  await mkdir(dir, { recursive: true });
  const sandbox = await startSandbox();
  try {
    const made = await sandbox.makeImages([
      { name: 'bench/a', layers: 2, size: 256 * 1024 },
      { name: 'bench/b', layers: 2, size: 256 * 1024 },
      { name: 'bench/c', layers: 3, size: 256 * 1024 },
    ]);
    const root = join(dir, 'root');
    await writeBoundRoot(
      root,
      made.map((img) => img.reference),
    );
    const config = await writeConfig(dir, sandbox.podman.storePath, sandbox.podman.socketPath, root);
    const p = await daemonAfterFirstReconcile(bus, daemon, config); // the heap settles 2 s after the run
    try {
      return processMemMb(p.pid as number, 'VmRSS');
    } finally {
      p.kill('SIGTERM');
      await new Promise((r) => p.once('exit', r));
    }
  } finally {
    await sandbox.stop();
  }
}

async function main(): Promise<void> {
  const dir = makeTempDir('bench-daemon');
  const bus = await startPrivateBus();
  const notify = await startNotifyListener();
  try {
    const shipped = await shippedDaemon(dir, { BENCH_DAEMON: 'bundle' });
    // Measured side by side, in this order in every run: the shipped daemon, the tsc build, extras.
    const daemons: { name: string; entry: string }[] = [
      { name: '', entry: shipped.entry },
      { name: '-tsc', entry: TSC_DAEMON },
      ...BUNDLED.map((entry, i) => ({ name: `-${bundleName(i)}`, entry })),
    ];
    const store = join(dir, 'store');
    await mkdir(store, { recursive: true });
    const emptyRoot = join(dir, 'empty-root');
    await mkdir(emptyRoot, { recursive: true });
    const config = await writeConfig(dir, store, join(dir, 'none.sock'), emptyRoot);
    await bareNode();
    for (const d of daemons) await daemonReady(bus, notify, config, d.entry); // warm the page cache
    const ready: number[][] = daemons.map(() => []);
    const base: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      base.push(await bareNode());
      for (const [j, d] of daemons.entries()) ready[j]?.push(await daemonReady(bus, notify, config, d.entry));
    }
    const b = median(base);
    for (const [j, d] of daemons.entries()) {
      const xs = ready[j] ?? [];
      console.log(
        `bench ready${d.name}: ours=${median(xs).toFixed(1)}ms baseline=${b.toFixed(1)}ms ratio=${(median(xs) / b).toFixed(2)}`,
      );
    }
    for (const [j, d] of daemons.entries()) {
      const rss = await idleRss(bus, join(dir, `rss-${j}`), d.entry);
      console.log(`bench idle-rss${d.name}: ours=${rss.toFixed(1)}MB`);
    }
  } finally {
    await notify.stop();
    await bus.stop();
    releaseDir(dir);
  }
}

main().catch((e: unknown) => {
  console.error(stackOf(e));
  process.exitCode = 1;
});
