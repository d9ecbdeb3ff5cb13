// The daemon's journal entries, read back with `journalctl -o json` from a real systemd-journald
// (a private one, in a mount namespace the daemon is started in): SYSLOG_IDENTIFIER, PRIORITY, the
// stable MESSAGE_IDs and the fields an operator filters on (IMAGE=, BOUND_SOURCE=, JOB_ID=, ROOT=),
// for readiness, pulls, a failed pull with GC skipped, a forgotten root, a refused caller — and the
// registry password of the pull with credentials appears in no entry.
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../scripts/harness/cleanup.js';
import { startPrivateBus, type PrivateBus } from '../../scripts/harness/dbus-daemon.js';
import {
  DEFAULT_TEST_CREDENTIALS,
  startSandbox,
  type MadeImage,
  type Sandbox,
} from '../../scripts/harness/index.js';
import {
  fieldText,
  startJournald,
  type JournaldHarness,
  type JournalEntry,
} from '../../scripts/harness/journald.js';
import { MessageId } from '../../src/systemd/message-ids.js';
import {
  BUS_NAME,
  MANAGER_IFACE,
  MANAGER_PATH,
  NOBODY,
  busctl,
  ensureBuilt,
  makeRoot,
  spawnDaemon,
  waitForJobEnd,
  waitForName,
  writeConfig,
  type DaemonProcess,
  upgrade,
} from './daemon-harness.js';

let sandbox: Sandbox;
let journal: JournaldHarness;
let bus: PrivateBus;
let daemon: DaemonProcess;
let dir: string;
let app: MadeImage;
let secret: MadeImage;
let missingRef: string;

const ours = ['SYSLOG_IDENTIFIER=bound-imaged'];
const byId = (id: string, count = 1) => journal.waitForEntries([...ours, `MESSAGE_ID=${id}`], { count });
const text = (e: JournalEntry | undefined, name: string) => (e ? fieldText(e, name) : undefined);

beforeAll(async () => {
  await ensureBuilt();
  journal = await startJournald();
  sandbox = await startSandbox({ auth: true });
  [app] = (await sandbox.makeImages([{ name: 'app' }])) as [MadeImage];
  [secret] = (await sandbox.makeImages([{ name: 'private' }], { auth: true })) as [MadeImage];
  missingRef = `${sandbox.registry.host}/never-pushed:1`;
  bus = await startPrivateBus();
  dir = makeTempDir('daemon-journal');
  const authFile = join(dir, 'auth.json');
  const { user, password } = DEFAULT_TEST_CREDENTIALS;
  await writeFile(
    authFile,
    JSON.stringify({
      auths: {
        [secret.reference.split('/')[0] as string]: {
          auth: Buffer.from(`${user}:${password}`).toString('base64'),
        },
      },
    }),
  );
  const root = await makeRoot(join(dir, 'root'), [
    { name: 'app.image', image: app.reference },
    { name: 'private.image', image: secret.reference },
  ]);
  const config = await writeConfig(join(dir, 'config.ini'), {
    storePath: sandbox.podman.storePath,
    podmanSocket: sandbox.podman.socketPath,
    roots: [root],
    stateDirectory: join(dir, 'state'),
    authFile,
  });
  daemon = spawnDaemon(bus, ['--config', config], {
    wrap: ['nsenter', '--mount', `--target=${journal.pid}`, '--'],
  });
  await waitForName(bus, daemon);
});

afterAll(async () => {
  await daemon?.stop();
  await bus?.stop();
  await sandbox?.stop();
  await journal?.stop();
});

describe('journal entries', () => {
  it('readiness: MESSAGE_ID DaemonReady at notice, with VERSION and STORE_PATH', async () => {
    const [ready] = await byId(MessageId.DaemonReady);
    expect(text(ready, 'PRIORITY')).toBe('5');
    expect(text(ready, 'VERSION')).toMatch(/^\d+\.\d+\.\d+/);
    expect(text(ready, 'STORE_PATH')).toBe(sandbox.podman.storePath);
    // Everything went to the journal, nothing to stderr.
    expect(daemon.stderr()).toBe('');
  });

  it('a reconcile: started, one ImagePulled per image with IMAGE, BOUND_SOURCE and JOB_ID, succeeded', async () => {
    const job = await upgrade(bus, '0');
    expect(await waitForJobEnd(bus, job)).toBe('s "success"');
    const [started] = await byId(MessageId.ReconcileStarted);
    expect(text(started, 'JOB_ID')).toBe('1');
    const pulled = await byId(MessageId.ImagePulled, 2);
    const byImage = new Map(pulled.map((e) => [text(e, 'IMAGE'), e]));
    for (const [ref, source] of [
      [app.reference, '/usr/share/containers/systemd/app.image'],
      [secret.reference, '/usr/share/containers/systemd/private.image'],
    ] as const) {
      const e = byImage.get(ref);
      expect(e, `ImagePulled for ${ref}`).toBeDefined();
      expect(text(e, 'BOUND_SOURCE')).toBe(source);
      expect(text(e, 'JOB_ID')).toBe('1');
      expect(text(e, 'PRIORITY')).toBe('6');
    }
    const [done] = await byId(MessageId.ReconcileSucceeded);
    expect(text(done, 'JOB_ID')).toBe('1');
  });

  it('a failed pull: ImagePullFailed at err, GcSkipped at warning, ReconcileFailed', async () => {
    const root = await makeRoot(join(dir, 'broken'), [{ name: 'gone.image', image: missingRef }]);
    const job = await upgrade(bus, '1', 'root', 's', root);
    expect(await waitForJobEnd(bus, job)).toBe('s "failed"');
    const [failed] = await byId(MessageId.ImagePullFailed);
    expect(text(failed, 'IMAGE')).toBe(missingRef);
    expect(text(failed, 'PRIORITY')).toBe('3');
    expect(text(failed, 'BOUND_SOURCE')).toBe('/usr/share/containers/systemd/gone.image');
    const [skipped] = await byId(MessageId.GcSkipped);
    expect(text(skipped, 'PRIORITY')).toBe('4');
    expect(text(skipped, 'JOB_ID')).toBe('2');
    await byId(MessageId.ReconcileFailed);
  });

  it('a remembered root that disappeared: RootForgotten with ROOT', async () => {
    const root = join(dir, 'broken');
    await rm(root, { recursive: true });
    const job = await upgrade(bus, '0');
    expect(await waitForJobEnd(bus, job)).toBe('s "success"');
    const [forgotten] = await byId(MessageId.RootForgotten);
    expect(text(forgotten, 'ROOT')).toBe(root);
    expect(text(forgotten, 'PRIORITY')).toBe('5');
  });

  it('a refused caller is logged with its UID', async () => {
    const r = await busctl(bus, ['call', BUS_NAME, MANAGER_PATH, MANAGER_IFACE, 'Upgrade', 'a{sv}', '0'], {
      uid: NOBODY,
    });
    expect(r.stderr).toMatch(/Access denied/);
    const [refused] = await journal.waitForEntries([...ours, `CALLER_UID=${NOBODY}`]);
    expect(text(refused, 'MESSAGE')).toMatch(
      /refused Upgrade from :1\.\d+ \(UID 65534\): org\.bootc\.BoundImages\.Upgrade is only allowed for root \(UID 0\) or through polkit action org\.bootc\.BoundImages\.upgrade/,
    );
  });

  it('never logs the registry password', async () => {
    const all = await journal.entries(ours);
    expect(all.length).toBeGreaterThan(5);
    const dump = JSON.stringify(all);
    expect(dump).not.toContain(DEFAULT_TEST_CREDENTIALS.password);
    expect(dump).not.toContain(
      Buffer.from(`${DEFAULT_TEST_CREDENTIALS.user}:${DEFAULT_TEST_CREDENTIALS.password}`).toString('base64'),
    );
  });
});
