// Idle exit against a real daemon, Podman service, registry and a private dbus-daemon (the systemd
// side, D-Bus activation and the wake timer, is in e2e-admin.test.ts): with [daemon] idle-exit = 1 the
// daemon exits 0 about a second after its last call or job, having released its name and kept its
// state (job numbers continue); calls keep it up; a job keeps it up; work due within the idle time keeps it up and runs when
// due; work due later that cannot be handed to systemd (no systemd on this bus) keeps it up too.
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../scripts/harness/cleanup.js';
import { startPrivateBus, type PrivateBus } from '../../scripts/harness/dbus-daemon.js';
import { startSandbox, type MadeImage, type Sandbox } from '../../scripts/harness/index.js';
import {
  MANAGER_IFACE,
  MANAGER_PATH,
  ensureBuilt,
  getProperty,
  makeRoot,
  nameHasOwner,
  startDaemon,
  upgrade,
  waitForJobEnd,
  type DaemonConfig,
  type DaemonProcess,
} from './daemon-harness.js';

let sandbox: Sandbox;
let bus: PrivateBus;
let dir: string;
let root: string;
let app: MadeImage;
const daemons: DaemonProcess[] = [];
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function config(name: string): DaemonConfig {
  return {
    storePath: sandbox.podman.storePath,
    podmanSocket: sandbox.podman.socketPath,
    roots: [root],
    stateDirectory: join(dir, `state-${name}`),
    idleExit: 1,
  };
}

async function start(name: string): Promise<DaemonProcess> {
  const d = await startDaemon(bus, join(dir, `${name}.ini`), config(name));
  daemons.push(d);
  return d;
}

/** Resolves with the exit code, or 'running' if the daemon is still up after `ms`. */
async function exitWithin(d: DaemonProcess, ms: number): Promise<number | null | 'running'> {
  return Promise.race([d.exited, sleep(ms).then(() => 'running' as const)]);
}

beforeAll(async () => {
  await ensureBuilt();
  sandbox = await startSandbox();
  [app] = (await sandbox.makeImages([{ name: 'idle/app' }])) as [MadeImage];
  bus = await startPrivateBus();
  dir = makeTempDir('idle-exit');
  root = await makeRoot(join(dir, 'root'), [{ name: 'app.image', image: app.reference }]);
}, 120_000);

afterAll(async () => {
  for (const d of daemons) await d.stop();
  await bus?.stop();
  await sandbox?.stop();
});

describe('idle exit (idle-exit = 1)', () => {
  it('calls and a job keep it up; a second after the last, it exits 0 with its name released and state kept', async () => {
    const d = await start('a');
    // A call every 400 ms for 3 s keeps it up.
    for (let i = 0; i < 8; i++) {
      expect(await getProperty(bus, MANAGER_PATH, MANAGER_IFACE, 'State')).toBe('s "idle"');
      await sleep(400);
    }
    expect(d.hasExited()).toBe(false);
    const job = await upgrade(bus, '0');
    expect(await waitForJobEnd(bus, job)).toBe('s "success"');
    const ended = Date.now();
    const code = await exitWithin(d, 10_000);
    const after = Date.now() - ended;
    expect(code).toBe(0);
    expect(after).toBeGreaterThanOrEqual(900);
    expect(await nameHasOwner(bus)).toBe(false);
    expect(d.stderr()).toMatch(/stopping \(idle for 1 s; D-Bus activation or the timer starts it again\)/);
    const saved = JSON.parse(await readFile(join(dir, 'state-a', 'state.json'), 'utf8')) as {
      lastResult: string;
    };
    expect(saved.lastResult).toBe('success');
    console.log(`[idle] exited ${after} ms after the job ended`);

    // A new process picks up where the last one left off, job numbers included (no path is reused).
    const again = await start('a');
    expect(await getProperty(bus, MANAGER_PATH, MANAGER_IFACE, 'LastResult')).toBe('s "success"');
    const next = await upgrade(bus, '0');
    expect(Number(next.split('/').at(-1))).toBe(Number(job.split('/').at(-1)) + 1);
    expect(await waitForJobEnd(bus, next)).toBe('s "success"');
    expect(await exitWithin(again, 10_000)).toBe(0);
  });

  it('work due within the idle time keeps it up, runs when due, and then it exits', async () => {
    const state = join(dir, 'state-b');
    await mkdir(state, { recursive: true });
    const dueAt = Date.now() + 3000;
    await writeFile(
      join(state, 'pending-work.json'),
      JSON.stringify({ pending: [{ key: 'test-retry', dueAt, reason: 'a retry owed by a test' }] }),
    );
    const d = await start('b');
    expect(await exitWithin(d, 2000)).toBe('running');
    expect(await exitWithin(d, 15_000)).toBe(0);
    expect(Date.now()).toBeGreaterThan(dueAt);
    expect(d.stderr()).toMatch(/pending work test-retry is due \(a retry owed by a test\): reconcile job 1/);
    expect(d.stderr()).toMatch(/reconcile 1 finished: 1 bound image\(s\) present/);
    const left = JSON.parse(await readFile(join(state, 'pending-work.json'), 'utf8')) as {
      pending: unknown[];
    };
    expect(left.pending).toEqual([]);
  });

  it('work due later that cannot be handed to systemd keeps it up (never dropped)', async () => {
    const state = join(dir, 'state-c');
    await mkdir(state, { recursive: true });
    const entry = { key: 'later', dueAt: Date.now() + 3_600_000, reason: 'in an hour' };
    await writeFile(join(state, 'pending-work.json'), JSON.stringify({ pending: [entry] }));
    const d = await start('c');
    expect(await exitWithin(d, 4000)).toBe('running');
    expect(d.stderr()).toMatch(/staying up: pending work later could not be handed to systemd/);
    expect(await nameHasOwner(bus)).toBe(true);
    expect(existsSync(join(state, 'pending-work.json'))).toBe(true);
    await d.stop();
    const left = JSON.parse(await readFile(join(state, 'pending-work.json'), 'utf8')) as {
      pending: unknown[];
    };
    expect(left.pending).toEqual([entry]);
  });
});
