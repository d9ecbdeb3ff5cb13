// The Podman API service as a fault: absent when the daemon starts, and SIGKILLed in the middle of a
// reconcile. The daemon must stay up (READY, its name owned, answering), say what is wrong and which
// socket — in the failed job's Errors, in STATUS= (a real NOTIFY_SOCKET) and in the journal (a real,
// private systemd-journald) — skip GC, leave the store as it was, and recover once a Podman service
// listens on the same socket again (restarted on the same store).
import { join } from 'node:path';
import type dbus from 'dbus-next';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../scripts/harness/cleanup.js';
import { startPrivateBus, type PrivateBus } from '../../scripts/harness/dbus-daemon.js';
import { makeImages, startRegistry, type MadeImage, type Registry } from '../../scripts/harness/index.js';
import { fieldText, startJournald, type JournaldHarness } from '../../scripts/harness/journald.js';
import { startNotifyListener, type NotifyListener } from '../../scripts/harness/notify-listener.js';
import { waitUntil } from '../../scripts/harness/proc.js';
import { MessageId } from '../../src/systemd/message-ids.js';
import {
  connectClient,
  ensureBuilt,
  makeRoot,
  setEntries,
  spawnDaemon,
  waitForName,
  writeConfig,
  type BoundEntry,
  type DaemonProcess,
  upgrade,
} from './daemon-harness.js';
import { daemonAnswers, jobEnd, jobView, liveness, type JobView } from './fault-bus.js';
import {
  startRegistryFront,
  startRestartablePodman,
  type RegistryFront,
  type RestartablePodman,
} from './fault-harness.js';
import { listStore, type ListedImage } from './reconcile-harness.js';

let registry: Registry;
let front: RegistryFront;
let podman: RestartablePodman;
let journal: JournaldHarness;
let notify: NotifyListener;
let bus: PrivateBus;
let client: dbus.MessageBus;
let daemon: DaemonProcess;
let dir: string;
let root: string;
let images: Record<string, MadeImage>;

const ref = (name: string): string => `${front.host}/${name}:${images[name]?.tag ?? 'latest'}`;
const entry = (name: string): BoundEntry => ({ name: `${name}.image`, image: ref(name) });

beforeAll(async () => {
  await ensureBuilt();
  journal = await startJournald();
  registry = await startRegistry();
  front = await startRegistryFront({ pass: registry.host });
  const made = await makeImages(registry, [
    { name: 'app' },
    { name: 'stray' },
    { name: 'big', size: 3 * 1024 * 1024 },
    { name: 'small' },
  ]);
  images = Object.fromEntries(made.map((m) => [m.name, m]));
  // Configured and its store made, but the service is not running when the daemon starts.
  podman = await startRestartablePodman({ insecureRegistries: [registry.host, front.host], start: false });
  await podman.podman(['pull', '--quiet', '--tls-verify=false', images.stray?.reference ?? '']);
  bus = await startPrivateBus();
  notify = await startNotifyListener();
  dir = makeTempDir('fault-podman');
  root = await makeRoot(join(dir, 'root'), [entry('app')]);
  const config = await writeConfig(join(dir, 'config.ini'), {
    storePath: podman.storePath,
    podmanSocket: podman.socketPath,
    roots: [root],
    stateDirectory: join(dir, 'state'),
    retries: 2,
    extra: '[pull]\ntimeout = 10',
  });
  daemon = spawnDaemon(bus, ['--config', config], {
    env: { NOTIFY_SOCKET: notify.path },
    wrap: ['nsenter', '--mount', `--target=${journal.pid}`, '--'],
  });
  await waitForName(bus, daemon);
  client = await connectClient(bus);
});

afterAll(async () => {
  client?.disconnect();
  await daemon?.stop();
  await notify?.stop();
  await bus?.stop();
  await podman?.stop();
  await front?.stop();
  await registry?.stop();
  await journal?.stop();
});

/** STATUS= lines the daemon sent so far. */
const statuses = (): string[] =>
  notify
    .datagrams()
    .filter((d) => d.pid === daemon.pid)
    .flatMap((d) => d.lines)
    .filter((l) => l.startsWith('STATUS='));

/** The daemon's journal entries with `messageId`, for job `jobId`. */
async function journalOf(messageId: string, jobId: number): Promise<Record<string, unknown>[]> {
  const found = await journal.waitForEntries(
    ['SYSLOG_IDENTIFIER=bound-imaged', `MESSAGE_ID=${messageId}`, `JOB_ID=${jobId}`],
    { timeoutMs: 10_000 },
  );
  return found;
}

const jobId = (path: string): number => Number(path.split('/').pop());

/**
 * The daemon alive while Podman is down: it owns its name, answers property reads, and answers
 * ListBoundImages with the bindings, their state `unknown` and the reason naming the socket.
 */
async function expectAliveWithoutPodman(): Promise<void> {
  expect(daemon.hasExited()).toBe(false);
  const l = await liveness(bus);
  expect(l.owner).toBe(true);
  expect(l.state).toBe('s "idle"');
  expect(l.list).toMatch(/^unknown: cannot list the store: /);
  expect(l.list).toContain(podman.socketPath);
}

describe('no Podman service when the daemon starts', () => {
  it('the daemon is ready anyway: READY=1, its name owned, idle', async () => {
    await notify.waitFor((m) => m.flat().includes('READY=1'));
    await expectAliveWithoutPodman();
  });

  it('Upgrade: a failed job naming the socket, in Errors, STATUS= and the journal; GC skipped', async () => {
    const before = await listStore(podman);
    expect(before.flatMap((i) => i.names)).toEqual([images.stray?.reference]);
    const path = await upgrade(bus, '0');
    const job = await jobEnd(client, path);
    expect(job.State).toBe('failed');
    const socketProblem = `Podman API socket ${podman.socketPath} does not exist (is the Podman service running?)`;
    expect(job.Errors).toHaveLength(1);
    expect(job.Errors[0]?.[1]).toContain(socketProblem);
    expect(job.Result).toContain(socketProblem);
    // The run ended before GC was reached (GcSkipped stays empty then): nothing removed, store as it was.
    expect(job.Removed).toEqual([]);
    expect(await listStore(podman)).toEqual(before);
    await expectAliveWithoutPodman();

    await notify.waitFor((m) => m.flat().some((l) => l.startsWith('STATUS=idle, last reconcile: failed')));
    const last = statuses().at(-1) ?? '';
    expect(last).toContain(podman.socketPath);

    const [failed] = await journalOf(MessageId.ReconcileFailed, jobId(path));
    expect(failed && fieldText(failed, 'ERROR')).toContain(socketProblem);
    expect(failed && fieldText(failed, 'PRIORITY')).toBe('3');
  });

  it('recovers once the service listens on the socket: the next Upgrade succeeds', async () => {
    await podman.start();
    const job = await jobEnd(client, await upgrade(bus, '0'));
    expect(job.State, JSON.stringify(job)).toBe('success');
    expect(job.Pulled).toEqual([ref('app')]);
    expect(job.Removed).toEqual([images.stray?.reference]);
    await notify.waitFor((m) => m.flat().includes('STATUS=idle, 1 bound image present'));
    expect(await daemonAnswers(bus)).toBe(true);
  });
});

describe('the Podman service SIGKILLed in the middle of a reconcile', () => {
  let path: string;
  let before: ListedImage[];
  let job: JobView;

  it('fails the job naming each image and the socket problem; GC skipped; the store as it was', async () => {
    await podman.podman(['pull', '--quiet', '--tls-verify=false', images.stray?.reference ?? '']);
    before = await listStore(podman);
    await setEntries(root, [entry('app'), entry('big'), entry('small')]);
    front.setMode({ pass: registry.host, bytesPerSecond: 300 * 1024 });
    const bytes = front.bytesForwarded;
    path = await upgrade(bus, '0');
    await waitUntil('the big layer flowing', () =>
      Promise.resolve(front.bytesForwarded - bytes > 128 * 1024),
    );
    expect((await jobView(client, path)).Phase).toBe('pull');
    await podman.kill();
    front.dropInFlight();
    front.setMode({ pass: registry.host });
    job = await jobEnd(client, path);

    expect(job.State).toBe('failed');
    // `small` may have been pulled before the kill; `big` was not.
    const failedRefs = job.Errors.map(([subject]) => subject);
    expect(failedRefs).toContain(ref('big'));
    for (const [subject, message] of job.Errors) {
      expect([ref('big'), ref('small')]).toContain(subject);
      expect(message).toContain(podman.socketPath);
    }
    expect(job.Removed).toEqual([]);
    expect(job.GcSkipped).toMatch(/pull\(s\) failed/);
    await expectAliveWithoutPodman();
    // The store, read without the service: what was there is still there, nothing half-pulled named.
    const after = await listStore(podman);
    for (const img of before) expect(after).toContainEqual(img);
    const added = after.filter((a) => !before.some((b) => b.id === a.id));
    expect(added.flatMap((i) => i.names).filter((n) => n !== ref('small'))).toEqual([]);
  });

  it('says so in STATUS= and in the journal, naming the socket', async () => {
    await notify.waitFor((m) =>
      m.flat().some((l) => l.startsWith('STATUS=idle, last reconcile: failed') && l !== statuses()[0]),
    );
    const last = statuses().at(-1) ?? '';
    expect(last).toMatch(/^STATUS=idle, last reconcile: failed/);
    expect(last).toContain(podman.socketPath);
    const pullFailed = await journalOf(MessageId.ImagePullFailed, jobId(path));
    const big = pullFailed.find((e) => fieldText(e, 'IMAGE') === ref('big'));
    expect(big && fieldText(big, 'ERROR')).toContain(podman.socketPath);
  });

  it('recovers when the service is back on the same socket and store', async () => {
    await podman.start();
    const again = await jobEnd(client, await upgrade(bus, '0'));
    expect(again.State, JSON.stringify(again)).toBe('success');
    const names = (await listStore(podman)).flatMap((i) => i.names).sort();
    expect(names).toEqual([ref('app'), ref('big'), ref('small')].sort());
    for (const n of names) await podman.podman(['image', 'inspect', n]);
    expect(await daemonAnswers(bus)).toBe(true);
  });
});
