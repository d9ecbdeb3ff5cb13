// Test helpers for the daemon's integration tests: build once, a deployment-root fixture, a config
// file, bound-imaged as a child process on a private bus, busctl (as root or as another user), and a
// dbus-next client connection to the same bus.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import dbus from 'dbus-next';
import { BUS_NAME, JOB_INTERFACE, MANAGER_INTERFACE, MANAGER_PATH } from '../../src/contract/index.js';
import { makeTempDir } from '../../scripts/harness/cleanup.js';
import { daemonConfigText } from '../../scripts/harness/daemon-config.js';
import type { PrivateBus } from '../../scripts/harness/dbus-daemon.js';
import { spawnService, waitUntil, type ServiceProcess } from '../../scripts/harness/proc.js';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
/** The daemon's entry point: dist/src/main.js (tsc), or the one BOUND_IMAGED_DAEMON names, e.g. the
 * bundled build/bundle/bound-imaged.js (`npm run bundle`), so the same suites run against the bundle. */
const chosenDaemonMain = process.env.BOUND_IMAGED_DAEMON;
export const DAEMON_MAIN = chosenDaemonMain
  ? resolve(REPO, chosenDaemonMain)
  : join(REPO, 'dist', 'src', 'main.js');
// The bus names the tests use are the contract's (src/contract/), under the names the tests know.
export { BUS_NAME, MANAGER_PATH };
export const MANAGER_IFACE = MANAGER_INTERFACE;
export const JOB_IFACE = JOB_INTERFACE;
export const NOBODY = 65534;

function newestMtime(dir: string, keep: (file: string) => boolean): number {
  let newest = 0;
  for (const name of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const file = join(dir, name);
    if (keep(file)) newest = Math.max(newest, statSync(file).mtimeMs);
  }
  return newest;
}

function exec(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      { env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

/** Compiles the project to dist/ when a source file is newer than the daemon's entry point. */
export async function ensureBuilt(): Promise<void> {
  if (process.env.BOUND_IMAGED_DAEMON) {
    if (!existsSync(DAEMON_MAIN)) throw new Error(`BOUND_IMAGED_DAEMON=${DAEMON_MAIN}: no such file`);
    return;
  }
  const built = existsSync(DAEMON_MAIN) ? statSync(DAEMON_MAIN).mtimeMs : 0;
  const isSource = (f: string): boolean => f.endsWith('.ts') && !f.endsWith('.test.ts');
  const newest = Math.max(
    newestMtime(join(REPO, 'src'), isSource),
    newestMtime(join(REPO, 'scripts'), isSource),
  );
  if (built >= newest) return;
  // tsc emits even when some other module has type errors; only a missing output is fatal here.
  const r = await exec('npx', ['tsc', '-p', 'tsconfig.build.json'], { timeoutMs: 300_000 });
  if (!existsSync(DAEMON_MAIN))
    throw new Error(`npm run build produced no ${DAEMON_MAIN}:\n${r.stdout}${r.stderr}`);
}

export interface BoundEntry {
  /** Entry name in bound-images.d, e.g. `app.image`. */
  name: string;
  /** The `Image=` value. */
  image: string;
}

/** A deployment root whose usr/lib/bootc/bound-images.d links (absolute, in-root) to Quadlet files. */
export async function makeRoot(dir: string, entries: BoundEntry[]): Promise<string> {
  const quadlets = join(dir, 'usr/share/containers/systemd');
  const bound = join(dir, 'usr/lib/bootc/bound-images.d');
  await mkdir(quadlets, { recursive: true });
  await mkdir(bound, { recursive: true });
  await setEntries(dir, entries);
  return dir;
}

/** Replaces the bound entries of a root made by makeRoot. */
export async function setEntries(dir: string, entries: BoundEntry[]): Promise<void> {
  const quadlets = join(dir, 'usr/share/containers/systemd');
  const bound = join(dir, 'usr/lib/bootc/bound-images.d');
  for (const old of await readdir(bound)) await rm(join(bound, old));
  for (const e of entries) {
    const section = e.name.endsWith('.container') ? 'Container' : 'Image';
    await writeFile(join(quadlets, e.name), `[${section}]\nImage=${e.image}\n`);
    await symlink(`/usr/share/containers/systemd/${e.name}`, join(bound, e.name));
  }
}

export interface DaemonConfig {
  storePath: string;
  podmanSocket: string;
  roots: string[];
  stateDirectory: string;
  keepJobs?: number;
  concurrency?: number;
  retries?: number;
  /** The global auth file; default a path that does not exist (anonymous pulls). */
  authFile?: string;
  /** [daemon] idle-exit in seconds; default 0 (the tests' daemons stay up between steps). */
  idleExit?: number;
  extra?: string;
}

export async function writeConfig(file: string, c: DaemonConfig): Promise<string> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(
    file,
    daemonConfigText({
      ...c,
      authFile: c.authFile ?? join(dirname(file), 'no-auth.json'),
      pull: [`concurrency = ${c.concurrency ?? 2}`, `retries = ${c.retries ?? 0}`, 'retry-delay = 0.1'],
      daemon: [`keep-jobs = ${c.keepJobs ?? 16}`, `idle-exit = ${c.idleExit ?? 0}`],
      extra: c.extra ?? '',
    }),
  );
  return file;
}

export interface DaemonProcess extends ServiceProcess {
  readonly dir: string;
  stderr(): string;
  stdout(): string;
}

/**
 * Starts the daemon (DAEMON_MAIN) with `args` (e.g. `['--config', file]`) on `bus`. `wrap` may prefix the
 * command (e.g. nsenter into the journald harness's namespace). Does not wait for readiness.
 */
export function spawnDaemon(
  bus: PrivateBus | null,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; wrap?: string[] } = {},
): DaemonProcess {
  const dir = makeTempDir('daemon');
  const stdoutFile = join(dir, 'stdout');
  const stderrFile = join(dir, 'stderr');
  const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env };
  if (bus) env.DBUS_SYSTEM_BUS_ADDRESS = bus.address;
  delete env.NOTIFY_SOCKET;
  if (opts.env?.NOTIFY_SOCKET) env.NOTIFY_SOCKET = opts.env.NOTIFY_SOCKET;
  const argv = [...(opts.wrap ?? []), process.execPath, DAEMON_MAIN, ...args];
  const [cmd, ...rest] = argv as [string, ...string[]];
  const proc = spawnService(cmd, rest, { env, stdoutFile, stderrFile });
  const read = (f: string) => (): string => (existsSync(f) ? readFileSync(f, 'utf8') : '');
  return Object.assign(proc, { dir, stderr: read(stderrFile), stdout: read(stdoutFile) });
}

/** writeConfig(file, c), then bound-imaged on `bus` with it; resolves once it owns its name. */
export async function startDaemon(bus: PrivateBus, file: string, c: DaemonConfig): Promise<DaemonProcess> {
  const daemon = spawnDaemon(bus, ['--config', await writeConfig(file, c)]);
  try {
    await waitForName(bus, daemon);
  } catch (error) {
    await daemon.stop();
    throw error;
  }
  return daemon;
}

/** NameHasOwner for the daemon's name: true only when busctl answers `b true`. */
export async function nameHasOwner(bus: PrivateBus): Promise<boolean> {
  const r = await busctl(bus, [
    'call',
    'org.freedesktop.DBus',
    '/org/freedesktop/DBus',
    'org.freedesktop.DBus',
    'NameHasOwner',
    's',
    BUS_NAME,
  ]);
  return r.stdout.trim() === 'b true';
}

/** Waits until `name` has an owner on the bus (the daemon owns its name only when it is ready). */
export async function waitForName(
  bus: PrivateBus,
  daemon: DaemonProcess | null,
  timeoutMs = 20_000,
): Promise<void> {
  await waitUntil(`${BUS_NAME} on ${bus.address}`, () => nameHasOwner(bus), {
    timeoutMs,
    intervalMs: 50,
    giveUp: () => (daemon?.hasExited() ? `the daemon exited:\n${daemon.stderr()}` : undefined),
  });
}

/** Runs busctl on the private bus, as root or (with `uid`) as another user through setpriv. */
export function busctl(
  bus: PrivateBus,
  args: string[],
  opts: { uid?: number } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const base = ['busctl', `--address=${bus.address}`, ...args];
  if (opts.uid === undefined) return exec(base[0] as string, base.slice(1));
  return exec('setpriv', [`--reuid=${opts.uid}`, `--regid=${opts.uid}`, '--clear-groups', ...base]);
}

/** Upgrade through busctl (as root); returns the job path. `options` as busctl takes a{sv}. */
export async function upgrade(bus: PrivateBus, ...options: string[]): Promise<string> {
  const r = await busctl(bus, [
    'call',
    BUS_NAME,
    MANAGER_PATH,
    MANAGER_IFACE,
    'Upgrade',
    'a{sv}',
    ...options,
  ]);
  if (r.code !== 0) throw new Error(`Upgrade ${options.join(' ')}: ${r.stderr}`);
  const m = /^o "(.+)"$/.exec(r.stdout.trim());
  if (!m?.[1]) throw new Error(`Upgrade answered ${r.stdout}`);
  return m[1];
}

/** The job objects the daemon exports, as `busctl tree --list` shows them. */
export async function jobPaths(bus: PrivateBus): Promise<string[]> {
  const tree = await busctl(bus, ['tree', '--list', BUS_NAME]);
  return tree.stdout.split('\n').filter((l) => /\/job\/\d+$/.test(l));
}

/** `busctl get-property` of one property, as busctl prints it (e.g. `s "success"`). */
export async function getProperty(
  bus: PrivateBus,
  path: string,
  iface: string,
  name: string,
): Promise<string> {
  const r = await busctl(bus, ['get-property', BUS_NAME, path, iface, name]);
  if (r.code !== 0) throw new Error(`get-property ${path} ${name}: ${r.stderr}`);
  return r.stdout.trim();
}

/** Polls a job's State with busctl until it is no longer running; returns the final value. */
export async function waitForJobEnd(bus: PrivateBus, jobPath: string, timeoutMs = 120_000): Promise<string> {
  let state = '';
  await waitUntil(
    `${jobPath} to finish`,
    async () => {
      state = await getProperty(bus, jobPath, JOB_IFACE, 'State');
      return state !== 's "running"';
    },
    { timeoutMs, intervalMs: 100 },
  );
  return state;
}

/** A dbus-next client connection to the private bus. Disconnect it when done. */
export async function connectClient(bus: PrivateBus): Promise<dbus.MessageBus> {
  const client = dbus.sessionBus({ busAddress: bus.address });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  return client;
}

/**
 * A client connection that hands every signal the daemon sends (or only those named `member`) to
 * `onSignal`. Disconnect it when done.
 */
export async function watchSignals(
  bus: PrivateBus,
  onSignal: (msg: dbus.Message) => void,
  member?: string,
): Promise<dbus.MessageBus> {
  const client = await connectClient(bus);
  await client.call(
    new dbus.Message({
      destination: 'org.freedesktop.DBus',
      path: '/org/freedesktop/DBus',
      interface: 'org.freedesktop.DBus',
      member: 'AddMatch',
      signature: 's',
      body: [`type='signal',sender='${BUS_NAME}'${member === undefined ? '' : `,member='${member}'`}`],
    }),
  );
  client.on('message', (msg: dbus.Message) => {
    if (msg.type === dbus.MessageType.SIGNAL && (member === undefined || msg.member === member))
      onSignal(msg);
  });
  return client;
}

/** Calls a method on our service through a raw message, so the test controls signature and body. */
export async function rawCall(
  client: dbus.MessageBus,
  path: string,
  iface: string,
  member: string,
  signature = '',
  body: unknown[] = [],
): Promise<dbus.Message> {
  const reply = await client.call(
    new dbus.Message({ destination: BUS_NAME, path, interface: iface, member, signature, body }),
  );
  if (!reply) throw new Error(`no reply to ${member}`);
  return reply;
}

export interface SlowProxy {
  /** `127.0.0.1:PORT`, the registry part of references pulled through the proxy. */
  readonly host: string;
  /** Bytes per second from the registry to the client; null: no limit. */
  setRate(bytesPerSecond: number | null): void;
  stop(): Promise<void>;
}

/**
 * A TCP proxy in front of a registry that slows down what the registry sends (fault injection: a
 * slow network, so a pull is still running when a test cancels it, stops the daemon or reads STATUS).
 * Listens on `port` (chosen beforehand, so Podman can be told it is an insecure registry).
 */
export async function startSlowProxy(
  port: number,
  target: { host: string; port: number },
  bytesPerSecond: number | null,
): Promise<SlowProxy> {
  let rate = bytesPerSecond;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    sockets.add(client);
    sockets.add(upstream);
    const close = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    // Everything from the registry goes through one queue, so its end (and close) follow the last
    // delayed piece instead of cutting it off.
    let queue = Promise.resolve();
    const later = (step: () => Promise<void> | void): void => {
      queue = queue.then(step).catch(() => undefined);
    };
    client.on('error', close).on('close', close);
    upstream.on('error', () => later(close)).on('close', () => later(close));
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      upstream.pause();
      later(async () => {
        for (let off = 0; off < chunk.length; off += 16 * 1024) {
          const piece = chunk.subarray(off, off + 16 * 1024);
          const limit = rate;
          if (limit !== null) await new Promise((r) => setTimeout(r, (piece.length / limit) * 1000));
          if (client.destroyed) return;
          client.write(piece);
        }
        upstream.resume();
      });
    });
    upstream.on('end', () => later(() => new Promise<void>((resolve) => client.end(resolve))));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    host: `127.0.0.1:${port}`,
    setRate: (r) => {
      rate = r;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
