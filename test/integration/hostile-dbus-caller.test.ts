// Hostile callers, against the real daemon, dbus-daemon, Podman and registry (a slow link keeps one
// reconcile running while they try to interfere):
//  - UID 65534 calling Upgrade (plain, with a `root` that is a real deployment root outside the
//    configured ones, a file, /proc, a FIFO, a missing path; with unknown options) and Cancel of a
//    running job → AccessDenied every time, before the arguments are looked at; no job created (the
//    job counter does not move), the running one untouched, the registry never asked for what the
//    offered root binds, that root neither remembered nor listed nor pulled;
//  - root's `root` option must be a directory: files, /proc/self/…, devices, FIFOs, sockets, and
//    symlinks to them, loops, dangling links → InvalidArgs, without echoing what the file holds.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, symlink } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import type dbus from 'dbus-next';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../scripts/harness/cleanup.js';
import { startPrivateBus, type PrivateBus } from '../../scripts/harness/dbus-daemon.js';
import { freePort, run, startSandbox, type Sandbox } from '../../scripts/harness/index.js';
import {
  JOB_IFACE,
  MANAGER_IFACE,
  MANAGER_PATH,
  NOBODY,
  connectClient,
  ensureBuilt,
  getProperty,
  makeRoot,
  rawCall,
  startDaemon,
  startSlowProxy,
  waitForJobEnd,
  type DaemonProcess,
  type SlowProxy,
  jobPaths,
} from './daemon-harness.js';
import {
  E,
  callsAsNobody,
  expectAnswersRead,
  expectClear,
  refused,
  variant as v,
  type NobodyCall,
} from './hostile-dbus-harness.js';

let sandbox: Sandbox;
let proxy: SlowProxy;
let bus: PrivateBus;
let daemon: DaemonProcess;
let client: dbus.MessageBus;
let socketServer: Server;
let dir: string;
let stateDir: string;
let finishedJob: string;
let secretRoot: string;
/** How many requests the registry had logged once the test images were pushed. */
let pushRequests: number;

beforeAll(async () => {
  await ensureBuilt();
  const port = await freePort();
  sandbox = await startSandbox({ insecureRegistries: [`127.0.0.1:${port}`] });
  const [slow, secret] = await sandbox.makeImages([
    { name: 'hostile/slow', size: 1024 * 1024 },
    { name: 'hostile/secret', size: 64 },
  ]);
  pushRequests = (await sandbox.registry.requests()).length;
  // ~1 MB at 64 kB/s: the pull runs ~16 s unless the test lifts the limit.
  proxy = await startSlowProxy(port, { host: '127.0.0.1', port: sandbox.registry.port }, 64 * 1024);
  bus = await startPrivateBus();
  dir = makeTempDir('hostile-caller');
  const root = await makeRoot(join(dir, 'root'), [
    { name: 'slow.image', image: `${proxy.host}/${slow?.name}:${slow?.tag}` },
  ]);
  // A real deployment root outside the configured ones, binding an image nothing else binds.
  secretRoot = await makeRoot(join(dir, 'staged'), [
    { name: 'secret.image', image: `${proxy.host}/${secret?.name}:${secret?.tag}` },
  ]);
  stateDir = join(dir, 'state');
  daemon = await startDaemon(bus, join(dir, 'config.ini'), {
    storePath: sandbox.podman.storePath,
    podmanSocket: sandbox.podman.socketPath,
    roots: [root],
    stateDirectory: stateDir,
  });
  client = await connectClient(bus);
  // A finished job for Cancel to aim at (dry run: nothing pulled).
  finishedJob = (
    await rawCall(client, MANAGER_PATH, MANAGER_IFACE, 'Upgrade', 'a{sv}', [{ 'dry-run': v('b', true) }])
  ).body[0] as string;
  expect(await waitForJobEnd(bus, finishedJob, 30_000)).toBe('s "success"');
  // Things that are not directories, for both parts.
  const links = join(dir, 'links');
  await mkdir(links);
  await run('mkfifo', [join(dir, 'fifo')]);
  await symlink('/etc/shadow', join(links, 'to-shadow'));
  await symlink('/proc/self/environ', join(links, 'to-environ'));
  await symlink(join(dir, 'fifo'), join(links, 'to-fifo'));
  await symlink(join(dir, 'nowhere'), join(links, 'dangling'));
  await symlink(join(links, 'loop-b'), join(links, 'loop-a'));
  await symlink(join(links, 'loop-a'), join(links, 'loop-b'));
  socketServer = createServer();
  await new Promise<void>((resolve) => socketServer.listen(join(links, 'sock'), resolve));
});

afterAll(async () => {
  socketServer?.close();
  client?.disconnect();
  await daemon?.stop();
  await bus?.stop();
  await proxy?.stop();
  await sandbox?.stop();
});

describe('a non-root caller (UID 65534) changes nothing', () => {
  it('is refused Upgrade, whatever the root option points at, and Cancel of a running job', async () => {
    const running = (await rawCall(client, MANAGER_PATH, MANAGER_IFACE, 'Upgrade', 'a{sv}', [{}]))
      .body[0] as string;
    const runningId = Number(running.split('/').at(-1));
    expect(await getProperty(bus, running, JOB_IFACE, 'State')).toBe('s "running"');

    const upgrade = (options: [string, string, unknown][]): NobodyCall => ({
      path: MANAGER_PATH,
      iface: MANAGER_IFACE,
      member: 'Upgrade',
      signature: 'a{sv}',
      options,
    });
    const cancel = (path: string): NobodyCall => ({
      path,
      iface: JOB_IFACE,
      member: 'Cancel',
      signature: '',
    });
    const outcomes = await callsAsNobody(bus, [
      upgrade([]),
      upgrade([['root', 's', secretRoot]]),
      upgrade([
        ['root', 's', secretRoot],
        ['dry-run', 'b', true],
      ]),
      upgrade([['root', 's', '/etc/shadow']]),
      upgrade([['root', 's', '/proc/self/environ']]),
      upgrade([['root', 's', '/proc/1/root']]),
      upgrade([['root', 's', join(dir, 'fifo')]]),
      upgrade([['root', 's', '/nonexistent']]),
      upgrade([['bogus', 'b', true]]),
      cancel(running),
      cancel(finishedJob),
      cancel('/org/bootc/BoundImages/job/999999'),
    ]);
    // The same answer for a real root, a file, /proc, a FIFO, a missing path and an unknown option:
    // the caller is refused before the arguments are looked at (nothing learnt about the files).
    // No polkitd on this bus: a non-root caller is refused (fail closed), the text naming the action.
    const denied = (member: string, action: string) =>
      `${E.accessDenied}: ${member} is only allowed for root (UID 0) or through polkit action ${action}; ` +
      `the caller is UID ${NOBODY}, and polkit could not be asked (org.freedesktop.DBus.Error.ServiceUnknown)`;
    expect(outcomes).toEqual([
      ...Array.from({ length: 9 }, () =>
        denied('org.bootc.BoundImages.Upgrade', 'org.bootc.BoundImages.upgrade'),
      ),
      ...Array.from({ length: 3 }, () =>
        denied('org.bootc.BoundImages.Job.Cancel', 'org.bootc.BoundImages.cancel'),
      ),
    ]);
    // The running job runs on; nothing new exists.
    expect(await getProperty(bus, running, JOB_IFACE, 'State')).toBe('s "running"');
    expect((await jobPaths(bus)).sort()).toEqual([finishedJob, running].sort());
    proxy.setRate(null);
    expect(await waitForJobEnd(bus, running, 60_000)).toBe('s "success"');

    // The next job's number follows the last one: the refused calls made none.
    const next = (
      await rawCall(client, MANAGER_PATH, MANAGER_IFACE, 'Upgrade', 'a{sv}', [{ 'dry-run': v('b', true) }])
    ).body[0] as string;
    expect(next).toBe(`/org/bootc/BoundImages/job/${runningId + 1}`);
    expect(await waitForJobEnd(bus, next, 30_000)).toBe('s "success"');
  });

  it('never made the daemon use the root it offered: not asked of the registry, not remembered, not listed', async () => {
    const requests = (await sandbox.registry.requests()).slice(pushRequests);
    // The daemon's own pull is in the log; nothing for the offered root's image is.
    expect(requests.filter((r) => r.path.includes('hostile/slow')).length).toBeGreaterThan(0);
    expect(requests.filter((r) => r.path.includes('hostile/secret'))).toEqual([]);
    expect(await getProperty(bus, MANAGER_PATH, MANAGER_IFACE, 'Roots')).not.toContain(secretRoot);
    for (const f of existsSync(stateDir) ? readdirSync(stateDir) : []) {
      expect(readFileSync(join(stateDir, f), 'utf8')).not.toContain(secretRoot);
    }
    const list = await rawCall(client, MANAGER_PATH, MANAGER_IFACE, 'ListBoundImages');
    expect(JSON.stringify(list.body)).not.toContain('secret');
    const { stdout } = await sandbox.podman.podman(['images', '--format', '{{.Repository}}']);
    expect(stdout).not.toContain('hostile/secret');
    // The refusals are in the daemon's log, with the caller's UID.
    expect(daemon.stderr()).toMatch(new RegExp(`refused Upgrade from \\S+ \\(UID ${NOBODY}\\)`));
    expect(daemon.stderr()).toMatch(new RegExp(`refused Cancel from \\S+ \\(UID ${NOBODY}\\)`));
  });
});

describe("root's `root` option must be a directory", () => {
  const cases: [label: string, path: () => string][] = [
    ['a regular file', () => '/etc/shadow'],
    ['/proc/self/status', () => '/proc/self/status'],
    ['/proc/self/environ', () => '/proc/self/environ'],
    ['/proc/self/fd/0', () => '/proc/self/fd/0'],
    ['/dev/null', () => '/dev/null'],
    ['a FIFO', () => join(dir, 'fifo')],
    ['a unix socket', () => join(dir, 'links', 'sock')],
    ['a symlink to /etc/shadow', () => join(dir, 'links', 'to-shadow')],
    ['a symlink to /proc/self/environ', () => join(dir, 'links', 'to-environ')],
    ['a symlink to a FIFO', () => join(dir, 'links', 'to-fifo')],
    ['a dangling symlink', () => join(dir, 'links', 'dangling')],
    ['a symlink loop', () => join(dir, 'links', 'loop-a')],
    ['a path through a file', () => '/etc/shadow/usr'],
    ['a path with .. ending at a file', () => `${dir}/../../../../../../etc/shadow`],
  ];

  it.each(cases)('%s → InvalidArgs, nothing of the file in the answer', async (_label, path) => {
    const before = await jobPaths(bus);
    const r = await refused(client, [
      MANAGER_PATH,
      MANAGER_IFACE,
      'Upgrade',
      'a{sv}',
      [{ root: v('s', path()) }],
    ]);
    expectClear(r, [E.invalidArgs], /option 'root'/);
    // Neither a shadow line nor the daemon's environment comes back in the message.
    expect(r.text).not.toMatch(/root:[^ ]*:\d+:|PATH=|DBUS_SYSTEM_BUS_ADDRESS/);
    expect(await jobPaths(bus)).toEqual(before);
    await expectAnswersRead(client, daemon);
  });

  it('the daemon is up and its log has no internal error after all of it', async () => {
    await expectAnswersRead(client, daemon);
    expect(daemon.stderr()).not.toMatch(/internal error|TypeError|RangeError|ReferenceError/);
  });
});
