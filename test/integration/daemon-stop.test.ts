// The daemon during a real (slowed-down) pull: STATUS= follows the reconcile ("pulling 1/1 REF") on
// a real NOTIFY_SOCKET, and SIGTERM in the middle of the pull sends STOPPING=1, cancels the pull,
// records the cancelled result, releases the name and exits 0 within 5 s.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../scripts/harness/cleanup.js';
import { startPrivateBus, type PrivateBus } from '../../scripts/harness/dbus-daemon.js';
import { freePort, startSandbox, type Sandbox } from '../../scripts/harness/index.js';
import { startNotifyListener, type NotifyListener } from '../../scripts/harness/notify-listener.js';
import {
  BUS_NAME,
  MANAGER_IFACE,
  MANAGER_PATH,
  busctl,
  ensureBuilt,
  makeRoot,
  spawnDaemon,
  startSlowProxy,
  waitForName,
  writeConfig,
  type DaemonProcess,
  type SlowProxy,
} from './daemon-harness.js';

let sandbox: Sandbox;
let proxy: SlowProxy;
let bus: PrivateBus;
let notify: NotifyListener;
let daemon: DaemonProcess;
let dir: string;
let slowRef: string;

beforeAll(async () => {
  await ensureBuilt();
  const port = await freePort();
  sandbox = await startSandbox({ insecureRegistries: [`127.0.0.1:${port}`] });
  const [slow] = await sandbox.makeImages([{ name: 'slow', size: 3 * 1024 * 1024 }]);
  proxy = await startSlowProxy(port, { host: '127.0.0.1', port: sandbox.registry.port }, 100 * 1024);
  slowRef = `${proxy.host}/slow:${slow?.tag ?? 'latest'}`;
  bus = await startPrivateBus();
  notify = await startNotifyListener();
  dir = makeTempDir('daemon-stop');
  const root = await makeRoot(join(dir, 'root'), [{ name: 'slow.image', image: slowRef }]);
  const config = await writeConfig(join(dir, 'config.ini'), {
    storePath: sandbox.podman.storePath,
    podmanSocket: sandbox.podman.socketPath,
    roots: [root],
    stateDirectory: join(dir, 'state'),
  });
  daemon = spawnDaemon(bus, ['--config', config], { env: { NOTIFY_SOCKET: notify.path } });
  await waitForName(bus, daemon);
});

afterAll(async () => {
  await daemon?.stop('SIGKILL');
  await notify?.stop();
  await bus?.stop();
  await proxy?.stop();
  await sandbox?.stop();
});

const linesOf = () =>
  notify
    .datagrams()
    .filter((d) => d.pid === daemon.pid)
    .flatMap((d) => d.lines);

describe('SIGTERM in the middle of a pull', () => {
  it('STATUS= follows the reconcile into the pull of the slow image', async () => {
    const r = await busctl(bus, ['call', BUS_NAME, MANAGER_PATH, MANAGER_IFACE, 'Upgrade', 'a{sv}', '0']);
    expect(r.code, r.stderr).toBe(0);
    await notify.waitFor((m) => m.flat().includes(`STATUS=pulling 1/1 ${slowRef}`), 30_000);
    const statuses = linesOf().filter((l) => l.startsWith('STATUS='));
    const ready = linesOf().indexOf('READY=1');
    expect(ready).toBeGreaterThanOrEqual(0);
    expect(statuses).toEqual(
      expect.arrayContaining([
        'STATUS=idle',
        'STATUS=reconciling (job 1): discovering bound images',
        `STATUS=pulling 1/1 ${slowRef}`,
      ]),
    );
    expect(statuses.indexOf('STATUS=reconciling (job 1): discovering bound images')).toBeLessThan(
      statuses.indexOf(`STATUS=pulling 1/1 ${slowRef}`),
    );
  });

  it('stops with STOPPING=1 and exit 0 within 5 s, the job cancelled and the name released', async () => {
    // Still pulling: ~3 MB at 100 kB/s takes half a minute.
    expect(linesOf().some((l) => l === 'STATUS=idle, 1 bound image present')).toBe(false);
    const asked = Date.now();
    process.kill(daemon.pid, 'SIGTERM');
    const code = await daemon.exited;
    expect(code).toBe(0);
    expect(Date.now() - asked).toBeLessThan(5000);

    const lines = linesOf();
    const stopping = lines.indexOf('STOPPING=1');
    expect(stopping).toBeGreaterThan(lines.indexOf(`STATUS=pulling 1/1 ${slowRef}`));
    const state = JSON.parse(await readFile(join(dir, 'state', 'state.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(state.lastResult).toBe('cancelled');
    const owner = await busctl(bus, [
      'call',
      'org.freedesktop.DBus',
      '/org/freedesktop/DBus',
      'org.freedesktop.DBus',
      'NameHasOwner',
      's',
      BUS_NAME,
    ]);
    expect(owner.stdout.trim()).toBe('b false');
    expect(daemon.stderr()).toMatch(/reconcile 1 cancelled/);
  });

  it('left the store usable, without the cancelled image', async () => {
    const { stdout } = await sandbox.podman.podman(['images', '--format', '{{.Repository}}:{{.Tag}}']);
    expect(stdout).not.toContain('slow');
  });
});
