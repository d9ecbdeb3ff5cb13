// The packages' life cycles in a real systemd: the host's systemd booted in a throwaway nspawn container
// (scripts/harness/nspawn.ts), and there, as an administrator would:
//  1. `dpkg -i` of the package (scripts/package.sh): its own maintainer scripts enable and start the
//     timer and the Podman socket; a D-Bus call activates the daemon, which reconciles a sample root
//     from a loopback registry into /usr/lib/bootc/storage;
//  2. `dpkg -i` of a newer version: the units stay enabled, the running daemon is restarted on the
//     new code (its Version property), the configuration file is kept;
//  3. `dpkg -r`: every unit stopped, the name gone from the bus, the program gone, the configuration
//     kept, the store's files and images unchanged; installed again, enabled and started again;
//  4. `dpkg -P`: the configuration, the state directory and the enablement gone, the store unchanged;
//  5. the .rpm in the same systemd, with rpm's database on the container's tmpfs: `rpm -i` (its
//     %post presets the timer and the socket: enabled), the daemon answers; `rpm -e` (its %preun
//     disables and stops them), the store unchanged.
// The package database: the container's /var is a tmpfs, so /var/lib/dpkg there is a copy of the
// host's, bound in from a temp dir; dpkg inside writes to that copy, to the /usr and /etc overlays
// and the tmpfs, never to the host (checked: the container's status file is the copy's inode, and
// the host's dpkg does not know the package afterwards).
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, reapStrays } from '../../scripts/harness/cleanup.js';
import type { MadeImage } from '../../scripts/harness/images.js';
import { makeImages } from '../../scripts/harness/images.js';
import type { NspawnMachine } from '../../scripts/harness/nspawn.js';
import { bootNspawn, waitFor } from '../../scripts/harness/nspawn.js';
import type { BuiltPackages } from '../../scripts/harness/packages.js';
import { buildPackages } from '../../scripts/harness/packages.js';
import { run, runStatus } from '../../scripts/harness/proc.js';
import type { Registry } from '../../scripts/harness/registry.js';
import { startRegistry } from '../../scripts/harness/registry.js';
import { MANAGER_BUSCTL, waitJob } from '../../scripts/harness/machine-daemon.js';
import { ensureBuilt } from './daemon-harness.js';

const DEBS = '/run/bound-imaged-debs';
const SAMPLE_ROOT = '/srv/bound-sample';
const STORE = '/usr/lib/bootc/storage';
const ENABLED = ['bound-imaged-reconcile.timer', 'bound-imaged-podman.socket', 'bound-imaged-staged.path'];
const ALL_UNITS = [
  'bound-imaged.service',
  'bound-imaged-podman.service',
  'bound-imaged-podman.socket',
  'bound-imaged-reconcile.service',
  'bound-imaged-reconcile.timer',
  'bound-imaged-staged.path',
  'bound-imaged-staged.service',
];

let registry: Registry;
let image: MadeImage;
let v1: BuiltPackages;
let v2: BuiltPackages;
let dpkgCopy: string;
let machine: NspawnMachine;
let storeBefore = '';

const managerProperty = async (name: string): Promise<unknown> =>
  machine.busJson(['get-property', ...MANAGER_BUSCTL, name]);

async function upgradeSampleRoot(): Promise<string> {
  const [job] = (await machine.busJson([
    'call',
    ...MANAGER_BUSCTL,
    'Upgrade',
    'a{sv}',
    '1',
    'root',
    's',
    SAMPLE_ROOT,
  ])) as [string];
  return waitJob(machine, job);
}

async function unitStates(prop: 'is-active' | 'is-enabled', units: string[]): Promise<string[]> {
  return (await machine.exec(['systemctl', prop, ...units])).stdout.trim().split('\n');
}

/** The store's files with their digests (lock files aside: Podman rewrites them on every open). */
const storeDigest = (): Promise<string> =>
  machine.sh(`cd ${STORE} && find . -type f ! -name '*.lock' -print0 | sort -z | xargs -0 sha256sum`);

/** Images in the store, read by the podman CLI with the store and run root of bound-imaged-podman.service. */
const storeImages = (): Promise<string> =>
  machine.sh(
    `podman --root ${STORE} --runroot /run/bound-imaged/podman images --format '{{.Repository}}:{{.Tag}}'`,
  );

async function dpkgInContainer(args: string[]): Promise<string> {
  return machine.check(['dpkg', ...args], { env: { DEBIAN_FRONTEND: 'noninteractive' }, timeoutMs: 120_000 });
}

beforeAll(async () => {
  reapStrays();
  await ensureBuilt();
  registry = await startRegistry();
  [image] = (await makeImages(registry, [{ name: 'deb-sample', size: 2048 }])) as [MadeImage];
  v1 = await buildPackages({ formats: ['deb', 'rpm'] });
  v2 = await buildPackages({ formats: ['deb'], version: `${v1.version}+upgrade1` });
  // The container's package database: a copy of the host's (its /var is a tmpfs).
  dpkgCopy = join(makeTempDir('dpkg'), 'dpkg');
  await run('cp', ['-a', '/var/lib/dpkg', dpkgCopy]);
  const debs = makeTempDir('debs');
  await run('cp', [v1.deb as string, v2.deb as string, v1.rpm as string, debs]);
  machine = await bootNspawn({
    binds: [
      { host: debs, container: DEBS, readOnly: true },
      { host: dpkgCopy, container: '/var/lib/dpkg' },
    ],
  });
  // The host is a container image whose policy-rc.d forbids starting services during package
  // installs; a booted host has none (the file is removed from the container's /usr overlay only).
  await machine.sh(`rm -f /usr/sbin/policy-rc.d
     mkdir -p /etc/containers/registries.conf.d ${SAMPLE_ROOT}/usr/share/containers/systemd ${SAMPLE_ROOT}/usr/lib/bootc/bound-images.d
     printf '[[registry]]\\nlocation = "%s"\\ninsecure = true\\n' '${registry.host}' > /etc/containers/registries.conf.d/50-deb-test.conf
     printf '[Image]\\nImage=%s\\n' '${image.reference}' > ${SAMPLE_ROOT}/usr/share/containers/systemd/sample.image
     ln -s /usr/share/containers/systemd/sample.image ${SAMPLE_ROOT}/usr/lib/bootc/bound-images.d/sample.image`);
});

afterAll(async () => {
  await machine?.stop();
  await registry?.stop();
  v1?.dispose();
  v2?.dispose();
});

describe('the packages in a real systemd: .deb install, upgrade, remove, purge; .rpm install, erase', () => {
  it('0. dpkg in the container works on a copy of the package database, not the host’s', async () => {
    const inside = (await machine.check(['stat', '-c', '%d:%i', '/var/lib/dpkg/status'])).trim();
    const copy = statSync(join(dpkgCopy, 'status'));
    const host = statSync('/var/lib/dpkg/status');
    expect(inside).toBe(`${copy.dev}:${copy.ino}`);
    expect(`${host.dev}:${host.ino}`).not.toBe(inside);
  });

  it('1. dpkg -i: the package’s scripts enable and start the timer and socket; a call activates the daemon', async () => {
    await dpkgInContainer(['-i', `${DEBS}/${v1.deb?.split('/').pop()}`]);
    expect(await unitStates('is-enabled', ENABLED)).toEqual(ENABLED.map(() => 'enabled'));
    expect(await unitStates('is-active', ENABLED)).toEqual(ENABLED.map(() => 'active'));
    expect(await unitStates('is-active', ['bound-imaged.service'])).toEqual(['inactive']);
    expect(
      (await machine.check(['dpkg-query', '-W', '-f', '${Status} ${Version}', 'bound-imaged'])).trim(),
    ).toBe(`install ok installed ${v1.version}-1`);

    const introspection = await machine.check(['busctl', 'introspect', ...MANAGER_BUSCTL.slice(0, 2)]);
    expect(introspection).toMatch(/^\.Upgrade\s+method\s+a\{sv\}\s+o/m);
    expect(await unitStates('is-active', ['bound-imaged.service'])).toEqual(['active']);
    expect(await managerProperty('Version')).toBe(v1.version);
    expect(await upgradeSampleRoot()).toBe('success');
    expect((await storeImages()).split('\n')).toContain(image.reference);
  });

  it('2. dpkg -i of a newer version: still enabled, the daemon restarted on the new code, config kept', async () => {
    const pidBefore = (
      await machine.check(['systemctl', 'show', '-P', 'MainPID', 'bound-imaged.service'])
    ).trim();
    await machine.sh('echo "# kept by the upgrade" >> /etc/bound-imaged/config.ini');
    await dpkgInContainer(['-i', `${DEBS}/${v2.deb?.split('/').pop()}`]);
    expect((await machine.check(['dpkg-query', '-W', '-f', '${Version}', 'bound-imaged'])).trim()).toBe(
      `${v2.version}-1`,
    );
    expect(await unitStates('is-enabled', ENABLED)).toEqual(ENABLED.map(() => 'enabled'));
    expect(await unitStates('is-active', ENABLED)).toEqual(ENABLED.map(() => 'active'));
    const version = await waitFor('the restarted daemon', async () => {
      const v = await managerProperty('Version');
      return v === v2.version ? v : undefined;
    });
    expect(version).toBe(v2.version);
    const pidAfter = (
      await machine.check(['systemctl', 'show', '-P', 'MainPID', 'bound-imaged.service'])
    ).trim();
    expect(pidAfter).not.toBe(pidBefore);
    expect(await machine.check(['tail', '-n1', '/etc/bound-imaged/config.ini'])).toBe(
      '# kept by the upgrade\n',
    );
    expect(await upgradeSampleRoot()).toBe('success');
  });

  it('3. dpkg -r: every unit stopped, the name gone, the config kept, the store unchanged', async () => {
    storeBefore = await storeDigest();
    expect(storeBefore).toMatch(/\S/);
    await dpkgInContainer(['-r', 'bound-imaged']);
    expect(await unitStates('is-active', ALL_UNITS)).toEqual(ALL_UNITS.map(() => 'inactive'));
    const owner = await machine.exec(['busctl', 'status', 'org.bootc.BoundImages']);
    expect(owner.code).not.toBe(0);
    expect((await machine.exec(['test', '-e', '/usr/lib/bound-imaged'])).code).not.toBe(0);
    expect((await machine.exec(['test', '-e', '/usr/bin/bound-imaged'])).code).not.toBe(0);
    expect((await machine.exec(['test', '-f', '/etc/bound-imaged/config.ini'])).code).toBe(0);
    // postrm keeps the enablement for a reinstallation by masking the units (dh_installsystemd's way).
    expect(await unitStates('is-enabled', ENABLED)).toEqual(ENABLED.map(() => 'masked'));
    expect(await storeDigest()).toBe(storeBefore);
    expect((await storeImages()).split('\n')).toContain(image.reference);
  });

  it('3b. dpkg -i after a removal: enabled and started again, the daemon answers; removed again', async () => {
    await dpkgInContainer(['-i', `${DEBS}/${v2.deb?.split('/').pop()}`]);
    expect(await unitStates('is-enabled', ENABLED)).toEqual(ENABLED.map(() => 'enabled'));
    expect(await unitStates('is-active', ENABLED)).toEqual(ENABLED.map(() => 'active'));
    expect(await managerProperty('Version')).toBe(v2.version);
    await dpkgInContainer(['-r', 'bound-imaged']);
    expect(await unitStates('is-active', ALL_UNITS)).toEqual(ALL_UNITS.map(() => 'inactive'));
    expect(await storeDigest()).toBe(storeBefore);
  });

  it('4. dpkg -P: config, state and enablement gone; the store still unchanged', async () => {
    await dpkgInContainer(['-P', 'bound-imaged']);
    for (const gone of ['/etc/bound-imaged', '/var/lib/bound-imaged']) {
      expect((await machine.exec(['test', '-e', gone])).code, gone).not.toBe(0);
    }
    const wants = await machine.sh(
      'ls /etc/systemd/system/timers.target.wants /etc/systemd/system/sockets.target.wants 2>/dev/null || true',
    );
    expect(wants).not.toContain('bound-imaged');
    expect((await machine.exec(['dpkg-query', '-W', 'bound-imaged'])).code).not.toBe(0);
    expect(await storeDigest()).toBe(storeBefore);
    expect((await storeImages()).split('\n')).toContain(image.reference);
  });

  it('5. the .rpm: rpm -i presets the units and the daemon answers; rpm -e disables and stops them, the store stays', async () => {
    // rpm's database in the container's tmpfs /var (Debian's rpm would use ~/.rpmdb).
    const rpm = ['rpm', '--dbpath', '/var/lib/rpm-test', '--nodeps'];
    await machine.check([...rpm, '-i', `${DEBS}/${v1.rpm?.split('/').pop()}`], { timeoutMs: 120_000 });
    expect(await unitStates('is-enabled', ENABLED)).toEqual(ENABLED.map(() => 'enabled'));
    // %systemd_post presets without --now: the units start with the next boot; the daemon itself is
    // D-Bus activated, which works at once (%post reloads systemd and the bus).
    expect(await managerProperty('Version')).toBe(v1.version);
    expect(await unitStates('is-active', ['bound-imaged.service'])).toEqual(['active']);
    await machine.check([...rpm, '-e', 'bound-imaged'], { timeoutMs: 120_000 });
    expect(await unitStates('is-enabled', ENABLED)).not.toContain('enabled');
    expect(await unitStates('is-active', ALL_UNITS)).toEqual(ALL_UNITS.map(() => 'inactive'));
    expect((await machine.exec(['test', '-e', '/usr/lib/bound-imaged'])).code).not.toBe(0);
    expect(await storeDigest()).toBe(storeBefore);
  });

  it('6. the host’s package databases never knew the package', async () => {
    const r = await runStatus('dpkg-query', ['-W', 'bound-imaged']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('no packages found matching bound-imaged');
    const q = await runStatus('rpm', ['-q', 'bound-imaged']);
    expect(q.stdout).toContain('package bound-imaged is not installed');
  });
});
