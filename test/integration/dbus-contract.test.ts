// The D-Bus contract against the real daemon on a private system-type dbus-daemon: the live
// introspection equals dbus/org.bootc.BoundImages.xml, every property is served with its declared
// type, non-root callers are refused Upgrade and Cancel but may read, and bad calls get clear errors
// while the daemon stays up. (Reconciles against a real store: dbus-upgrade.test.ts.)
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import dbus from 'dbus-next';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../scripts/harness/cleanup.js';
import { startPrivateBus, type PrivateBus } from '../../scripts/harness/dbus-daemon.js';
import { parseIntrospection } from '../../src/contract/introspection-xml.js';
import {
  BUS_NAME,
  JOB_IFACE,
  MANAGER_IFACE,
  MANAGER_PATH,
  NOBODY,
  REPO,
  busctl,
  connectClient,
  ensureBuilt,
  getProperty,
  makeRoot,
  rawCall,
  startDaemon,
  waitForJobEnd,
  type DaemonProcess,
} from './daemon-harness.js';

const XML = parseIntrospection(await readFile(join(REPO, 'dbus/org.bootc.BoundImages.xml'), 'utf8'));
const specOf = (name: string) => {
  const spec = XML.interfaces.find((i) => i.name === name);
  if (!spec) throw new Error(`the XML has no interface ${name}`);
  return spec;
};

let bus: PrivateBus;
let daemon: DaemonProcess;
let client: dbus.MessageBus;
let dir: string;
let jobPath: string;

beforeAll(async () => {
  await ensureBuilt();
  bus = await startPrivateBus();
  dir = makeTempDir('dbus-contract');
  const root = await makeRoot(join(dir, 'root'), []);
  daemon = await startDaemon(bus, join(dir, 'etc', 'config.ini'), {
    // No Podman here: the contract does not need one (reconciles fail, which is fine for these tests).
    storePath: join(dir, 'store'),
    podmanSocket: join(dir, 'no-podman.sock'),
    roots: [root],
    stateDirectory: join(dir, 'state'),
  });
  client = await connectClient(bus);
  const r = await busctl(bus, ['call', BUS_NAME, MANAGER_PATH, MANAGER_IFACE, 'Upgrade', 'a{sv}', '0']);
  expect(r.stderr).toBe('');
  jobPath = JSON.parse(r.stdout.trim().replace(/^o /, '')) as string;
  await waitForJobEnd(bus, jobPath);
});

afterAll(async () => {
  client?.disconnect();
  await daemon?.stop();
  await bus?.stop();
});

/** Our interfaces in `busctl introspect --xml-interface` output, standard ones left out. */
async function liveInterfaces(path: string) {
  const r = await busctl(bus, ['introspect', '--xml-interface', BUS_NAME, path]);
  expect(r.code, r.stderr).toBe(0);
  return parseIntrospection(r.stdout).interfaces.filter((i) => !i.name.startsWith('org.freedesktop.DBus.'));
}

/** `busctl introspect` table rows of one interface: name, kind, signature, result. */
async function tableRows(path: string, iface: string): Promise<string[]> {
  const r = await busctl(bus, ['introspect', '--no-pager', BUS_NAME, path, iface]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout
    .split('\n')
    .filter((l) => l.startsWith('.'))
    .map((l) => {
      const [name, kind, signature, result] = l.split(/\s+/);
      return `${name} ${kind} ${kind === 'property' ? signature : `${signature} ${result}`}`;
    })
    .sort();
}

function xmlRows(iface: string): string[] {
  const spec = specOf(iface);
  const sig = (args: readonly { type: string }[]) => args.map((a) => a.type).join('') || '-';
  return [
    ...spec.methods.map(
      (m) =>
        `.${m.name} method ${sig(m.args.filter((a) => a.direction !== 'out'))} ${sig(m.args.filter((a) => a.direction === 'out'))}`,
    ),
    ...spec.properties.map((p) => `.${p.name} property ${p.type}`),
    ...spec.signals.map((s) => `.${s.name} signal ${sig(s.args)} -`),
  ].sort();
}

describe('introspection', () => {
  it('of /org/bootc/BoundImages equals the XML (busctl introspect)', async () => {
    expect(await liveInterfaces(MANAGER_PATH)).toEqual([specOf(MANAGER_IFACE)]);
    expect(await tableRows(MANAGER_PATH, MANAGER_IFACE)).toEqual(xmlRows(MANAGER_IFACE));
  });

  it('of a job object equals the XML', async () => {
    expect(await liveInterfaces(jobPath)).toEqual([specOf(JOB_IFACE)]);
    expect(await tableRows(jobPath, JOB_IFACE)).toEqual(xmlRows(JOB_IFACE));
  });

  it('lists the job objects under /org/bootc/BoundImages/job', async () => {
    const r = await busctl(bus, ['tree', '--list', BUS_NAME]);
    expect(r.stdout.split('\n')).toContain(jobPath);
  });

  it.each([
    [MANAGER_PATH, MANAGER_IFACE],
    ['job', JOB_IFACE],
  ])('GetAll on %s serves every declared property with its declared type', async (path, iface) => {
    const reply = await rawCall(
      client,
      path === 'job' ? jobPath : path,
      'org.freedesktop.DBus.Properties',
      'GetAll',
      's',
      [iface],
    );
    const props = reply.body[0] as Record<string, dbus.Variant>;
    const served = Object.fromEntries(Object.entries(props).map(([k, v]) => [k, v.signature]));
    expect(served).toEqual(Object.fromEntries(specOf(iface).properties.map((p) => [p.name, p.type])));
  });
});

describe('authorization', () => {
  it('refuses Upgrade from a non-root caller with AccessDenied (busctl as UID 65534), and nothing runs', async () => {
    const before = await busctl(bus, ['tree', '--list', BUS_NAME]);
    const r = await busctl(bus, ['call', BUS_NAME, MANAGER_PATH, MANAGER_IFACE, 'Upgrade', 'a{sv}', '0'], {
      uid: NOBODY,
    });
    expect(r.code).not.toBe(0);
    // busctl prints sd-bus's text for org.freedesktop.DBus.Error.AccessDenied.
    expect(r.stderr).toMatch(/Access denied/);
    const after = await busctl(bus, ['tree', '--list', BUS_NAME]);
    expect(after.stdout).toBe(before.stdout);
    expect(await getProperty(bus, MANAGER_PATH, MANAGER_IFACE, 'State')).toBe('s "idle"');
  });

  it('refuses Cancel from a non-root caller with AccessDenied', async () => {
    const r = await busctl(bus, ['call', BUS_NAME, jobPath, JOB_IFACE, 'Cancel'], { uid: NOBODY });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Access denied/);
  });

  it('names the error and the caller UID to a non-root dbus-next client (gdbus-independent check)', async () => {
    const script = `
      const dbus = (await import(${JSON.stringify(join(REPO, 'node_modules/dbus-next/index.js'))})).default;
      const bus = dbus.sessionBus({ busAddress: ${JSON.stringify(bus.address)} });
      const out = [];
      for (const [path, iface, member, sig, body] of [
        [${JSON.stringify(MANAGER_PATH)}, ${JSON.stringify(MANAGER_IFACE)}, 'Upgrade', 'a{sv}', [{}]],
        [${JSON.stringify(jobPath)}, ${JSON.stringify(JOB_IFACE)}, 'Cancel', '', []],
      ]) {
        try {
          await bus.call(new dbus.Message({ destination: ${JSON.stringify(BUS_NAME)}, path, interface: iface, member, signature: sig, body }));
          out.push('allowed');
        } catch (e) { out.push(e.type + ': ' + e.text); }
      }
      console.log(JSON.stringify(out));
      bus.disconnect();`;
    const r = await import('node:child_process').then(({ execFileSync }) =>
      execFileSync(
        'setpriv',
        [
          `--reuid=${NOBODY}`,
          `--regid=${NOBODY}`,
          '--clear-groups',
          process.execPath,
          '--input-type=module',
          '-e',
          script,
        ],
        { encoding: 'utf8', timeout: 30_000 },
      ),
    );
    expect(JSON.parse(r)).toEqual([
      `org.freedesktop.DBus.Error.AccessDenied: ${MANAGER_IFACE}.Upgrade is only allowed for root (UID 0) or through polkit action org.bootc.BoundImages.upgrade; the caller is UID ${NOBODY}, and polkit could not be asked (org.freedesktop.DBus.Error.ServiceUnknown)`,
      `org.freedesktop.DBus.Error.AccessDenied: ${JOB_IFACE}.Cancel is only allowed for root (UID 0) or through polkit action org.bootc.BoundImages.cancel; the caller is UID ${NOBODY}, and polkit could not be asked (org.freedesktop.DBus.Error.ServiceUnknown)`,
    ]);
  });

  it('lets a non-root caller read properties and call ListBoundImages', async () => {
    const state = await busctl(
      bus,
      ['get-property', BUS_NAME, MANAGER_PATH, MANAGER_IFACE, 'State', 'Version'],
      {
        uid: NOBODY,
      },
    );
    expect(state.code, state.stderr).toBe(0);
    expect(state.stdout).toMatch(/^s "idle"\ns "\d+\.\d+\.\d+.*"\n$/);
    const job = await busctl(bus, ['get-property', BUS_NAME, jobPath, JOB_IFACE, 'State'], { uid: NOBODY });
    expect(job.code, job.stderr).toBe(0);
    const list = await busctl(bus, ['call', BUS_NAME, MANAGER_PATH, MANAGER_IFACE, 'ListBoundImages'], {
      uid: NOBODY,
    });
    expect(list.stderr).not.toMatch(/Access denied/);
  });
});

describe('bad calls get clear errors and the daemon stays up', () => {
  const upgrade = (...args: string[]) =>
    busctl(bus, ['call', BUS_NAME, MANAGER_PATH, MANAGER_IFACE, 'Upgrade', ...args]);

  it.each([
    [['s', 'x'], /Upgrade takes \(a\{sv\}\), got \(s\)/],
    [
      ['a{sv}', '1', 'bogus', 'b', 'true'],
      /unknown option 'bogus' \(known options: root, pull-policy, dry-run, gc\)/,
    ],
    [
      ['a{sv}', '1', 'dry-run', 's', 'yes'],
      /option 'dry-run' must be a boolean \(variant type 'b'\), got type 's'/,
    ],
    [['a{sv}', '1', 'gc', 'u', '1'], /option 'gc' must be a boolean/],
    [['a{sv}', '1', 'pull-policy', 's', 'sometimes'], /'pull-policy' must be one of missing, always, newer/],
    [['a{sv}', '1', 'root', 's', 'relative'], /'root' must be an absolute path/],
    [['a{sv}', '1', 'root', 's', '/nonexistent/deploy'], /'\/nonexistent\/deploy' does not exist/],
    [['a{sv}', '1', 'root', 's', '/etc/hostname'], /'\/etc\/hostname' is not a directory/],
  ])('Upgrade %j', async (args, message) => {
    const r = await upgrade(...args);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(message);
  });

  it('answers InvalidArgs by name for a bad option (dbus-next client)', async () => {
    await expect(
      rawCall(client, MANAGER_PATH, MANAGER_IFACE, 'Upgrade', 'a{sv}', [
        { 'dry-run': new dbus.Variant('s', 'x') },
      ]),
    ).rejects.toMatchObject({ type: 'org.freedesktop.DBus.Error.InvalidArgs' });
    await expect(rawCall(client, MANAGER_PATH, MANAGER_IFACE, 'Upgrade', 'u', [1])).rejects.toMatchObject({
      type: 'org.freedesktop.DBus.Error.InvalidArgs',
    });
  });

  it('refuses a symlink to a file as root, naming where it resolves', async () => {
    await mkdir(join(dir, 'links'), { recursive: true });
    await writeFile(join(dir, 'links', 'target'), '');
    const { symlink } = await import('node:fs/promises');
    await symlink(join(dir, 'links', 'target'), join(dir, 'links', 'root'));
    const r = await upgrade('a{sv}', '1', 'root', 's', join(dir, 'links', 'root'));
    expect(r.stderr).toMatch(/resolves to '.*links\/target'\) is not a directory/);
  });

  it('refuses Set on a read-only property with PropertyReadOnly', async () => {
    const r = await busctl(bus, [
      'set-property',
      BUS_NAME,
      MANAGER_PATH,
      MANAGER_IFACE,
      'State',
      's',
      'idle',
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/org.bootc.BoundImages.State is read-only/);
    await expect(
      rawCall(client, jobPath, 'org.freedesktop.DBus.Properties', 'Set', 'ssv', [
        JOB_IFACE,
        'State',
        new dbus.Variant('s', 'success'),
      ]),
    ).rejects.toMatchObject({ type: 'org.freedesktop.DBus.Error.PropertyReadOnly' });
  });

  it('answers an unknown method, a finished job and a missing job with distinct errors', async () => {
    await expect(rawCall(client, MANAGER_PATH, MANAGER_IFACE, 'Reboot')).rejects.toMatchObject({
      type: 'org.freedesktop.DBus.Error.UnknownMethod',
    });
    await expect(rawCall(client, jobPath, JOB_IFACE, 'Cancel')).rejects.toMatchObject({
      type: 'org.bootc.BoundImages.Error.JobFinished',
    });
    await expect(
      rawCall(client, '/org/bootc/BoundImages/job/999999', JOB_IFACE, 'Cancel'),
    ).rejects.toMatchObject({ type: 'org.freedesktop.DBus.Error.UnknownObject' });
  });

  it('is still up and answering after all of that', async () => {
    expect(daemon.hasExited()).toBe(false);
    expect(await getProperty(bus, MANAGER_PATH, MANAGER_IFACE, 'State')).toBe('s "idle"');
    expect(daemon.stderr()).not.toMatch(/internal error|TypeError|ReferenceError/);
  });
});
