// Benchmark (not a timed test): how fast bound-imaged is READY, next to a bare Node start in the
// same run, and its resident memory once idle after a first reconcile. Real parts throughout:
// a private dbus-daemon, a NOTIFY_SOCKET listener, a loopback registry and a Podman service.
//   bench ready: ours=<median>ms baseline=<median>ms ratio=<ours/baseline>   (target ≤ 4)
//   bench idle-rss: ours=<MB>MB                                               (target ≤ 80)
// With BENCH_BUNDLE=build/bundle/bound-imaged.js (npm run bundle) the bundled daemon is measured in
// the same runs, interleaved with the others, on two more lines: `bench ready-bundle`, `bench idle-rss-bundle`
// (a comma-separated list measures several bundles: `-bundle-2`, …).
import { spawn, execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeTempDir, releaseDir } from './harness/cleanup.js';
import { startPrivateBus, type PrivateBus } from './harness/dbus-daemon.js';
import { startSandbox } from './harness/index.js';
import { startNotifyListener, type NotifyListener } from './harness/notify-listener.js';
import { stackOf } from '../src/errors.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const DAEMON = join(REPO, 'dist', 'src', 'main.js');
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

async function writeConfig(dir: string, storePath: string, socket: string, root: string): Promise<string> {
  const file = join(dir, 'config.ini');
  await writeFile(
    file,
    [
      '[storage]',
      `path = ${storePath}`,
      `podman-socket = ${socket}`,
      '[discovery]',
      `roots = ${root}`,
      '[pull]',
      `auth-file = ${join(dir, 'no-auth.json')}`,
      '[daemon]',
      `state-directory = ${join(dir, 'state')}`,
      '',
    ].join('\n'),
  );
  return file;
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
  daemon: string = DAEMON,
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

function busctl(bus: PrivateBus, args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile('busctl', [`--address=${bus.address}`, ...args], (err, stdout, stderr) =>
      err ? reject(new Error(`busctl ${args.join(' ')}: ${stderr}`)) : resolve(stdout.trim()),
    ),
  );
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function idleRss(bus: PrivateBus, dir: string, daemon: string = DAEMON): Promise<number> {
  await mkdir(dir, { recursive: true });
  const sandbox = await startSandbox();
  try {
    const made = await sandbox.makeImages([
      { name: 'bench/a', layers: 2, size: 256 * 1024 },
      { name: 'bench/b', layers: 2, size: 256 * 1024 },
      { name: 'bench/c', layers: 3, size: 256 * 1024 },
    ]);
    const root = join(dir, 'root');
    const units = join(root, 'usr/share/containers/systemd');
    const bound = join(root, 'usr/lib/bootc/bound-images.d');
    await mkdir(units, { recursive: true });
    await mkdir(bound, { recursive: true });
    for (const [i, img] of made.entries()) {
      await writeFile(join(units, `b${i}.image`), `[Image]\nImage=${img.reference}\n`);
      await symlink(`/usr/share/containers/systemd/b${i}.image`, join(bound, `b${i}.image`));
    }
    const config = await writeConfig(dir, sandbox.podman.storePath, sandbox.podman.socketPath, root);
    const p = spawn(process.execPath, [daemon, '--config', config], {
      stdio: 'ignore',
      env: { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: bus.address },
    });
    try {
      for (let i = 0; i < 200; i++) {
        const owner = await busctl(bus, ['status', 'org.bootc.BoundImages']).catch(() => '');
        if (owner) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      const call = ['org.bootc.BoundImages', '/org/bootc/BoundImages', 'org.bootc.BoundImages'];
      const job = (await busctl(bus, ['call', ...call, 'Upgrade', 'a{sv}', '0'])).replace(/^o "(.*)"$/, '$1');
      for (;;) {
        const state = await busctl(bus, [
          'get-property',
          'org.bootc.BoundImages',
          job,
          'org.bootc.BoundImages.Job',
          'State',
        ]);
        if (state !== 's "running"') {
          if (state !== 's "success"') throw new Error(`first reconcile ended ${state}`);
          break;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      await new Promise((r) => setTimeout(r, 2000)); // let the heap settle after the run
      return rssMb(p.pid as number);
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
    const store = join(dir, 'store');
    await mkdir(store, { recursive: true });
    const emptyRoot = join(dir, 'empty-root');
    await mkdir(emptyRoot, { recursive: true });
    const config = await writeConfig(dir, store, join(dir, 'none.sock'), emptyRoot);
    await bareNode();
    await daemonReady(bus, notify, config); // warm the page cache
    for (const b of BUNDLED) await daemonReady(bus, notify, config, b);
    const ours: number[] = [];
    const bundled: number[][] = BUNDLED.map(() => []);
    const base: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      base.push(await bareNode());
      ours.push(await daemonReady(bus, notify, config));
      for (const [j, b] of BUNDLED.entries()) bundled[j]?.push(await daemonReady(bus, notify, config, b));
    }
    const b = median(base);
    const line = (name: string, xs: number[]): string =>
      `bench ${name}: ours=${median(xs).toFixed(1)}ms baseline=${b.toFixed(1)}ms ratio=${(median(xs) / b).toFixed(2)}`;
    console.log(line('ready', ours));
    for (const [j, xs] of bundled.entries()) console.log(line(`ready-${bundleName(j)}`, xs));
    const rss = await idleRss(bus, join(dir, 'rss'));
    console.log(`bench idle-rss: ours=${rss.toFixed(1)}MB`);
    for (const [j, b] of BUNDLED.entries()) {
      const rssBundled = await idleRss(bus, join(dir, `rss-${bundleName(j)}`), b);
      console.log(`bench idle-rss-${bundleName(j)}: ours=${rssBundled.toFixed(1)}MB`);
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
