// The files a distribution package installs, checked the way systemd and D-Bus will read them:
//  - the shipped units carry the settings the service contract needs (notify, bus name, watchdog,
//    restart, socket path = the config's default, timer schedule, activation → unit name);
//  - scripts/install.sh puts everything in the FHS places under DESTDIR, honours PREFIX, ships only
//    production dependencies and never overwrites an administrator's config;
//  - `systemd-analyze security --offline=true` on the unit files: exposure ≤ 2.5;
//  - in a real systemd (nspawn): `systemd-analyze verify` passes on every installed unit, the live
//    `systemd-analyze security` exposure is ≤ 2.5, the bus knows the name as activatable, and the
//    Podman socket activates its service, which exits when idle and comes back on the next connection.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NspawnMachine } from '../../scripts/harness/nspawn.js';
import { reapStrays } from '../../scripts/harness/cleanup.js';
import { bootNspawn } from '../../scripts/harness/nspawn.js';
import type { StagedPackage } from '../../scripts/harness/package-install.js';
import { installInto, projectRoot, stagePackage } from '../../scripts/harness/package-install.js';
import { defaultConfig } from '../../src/config/index.js';
import type { UnitFile } from '../../src/quadlet/index.js';
import { lastEntry, parseUnitFile } from '../../src/quadlet/index.js';

const ROOT = projectRoot();
const UNITS = readdirSync(join(ROOT, 'systemd')).filter((f) => /\.(service|socket|timer|path)$/.test(f));
const HARDENED = ['bound-imaged.service', 'bound-imaged-reconcile.service', 'bound-imaged-staged.service'];
const MAX_EXPOSURE = 2.5;
const PACKAGE_IN_CONTAINER = '/run/bound-imaged-package';

const unit = (name: string): UnitFile =>
  parseUnitFile(readFileSync(join(ROOT, 'systemd', name), 'utf8'), name);
const value = (u: UnitFile, section: string, key: string): string | undefined =>
  lastEntry([u], section, key)?.value;
const values = (u: UnitFile, section: string, key: string): string[] =>
  u.entries.filter((e) => e.section === section && e.key === key).map((e) => e.value);

/** "→ Overall exposure level for X.service: 0.9 SAFE 😀" → 0.9 */
function exposureOf(output: string): number {
  const m = /Overall exposure level for \S+: (\d+(?:\.\d+)?)/.exec(output);
  if (!m?.[1]) throw new Error(`no exposure level in:\n${output}`);
  return Number(m[1]);
}

describe('shipped unit files', () => {
  it('bound-imaged.service is a notify service owning the bus name, with watchdog and restart', () => {
    const u = unit('bound-imaged.service');
    expect(value(u, 'Service', 'Type')).toBe('notify');
    expect(value(u, 'Service', 'BusName')).toBe('org.bootc.BoundImages');
    expect(value(u, 'Service', 'NotifyAccess')).toBe('main');
    expect(value(u, 'Service', 'Restart')).toBe('on-failure');
    expect(value(u, 'Service', 'WatchdogSec')).toMatch(/^\d+s$/);
    // No --config: the layered configuration (vendor file, /etc file, config.d drop-ins).
    expect(value(u, 'Service', 'ExecStart')).toBe('/usr/bin/bound-imaged');
    expect(value(u, 'Service', 'StateDirectory')).toBe('bound-imaged');
    // A RuntimeDirectory=bound-imaged would be removed on stop, and the Podman socket lives there.
    // The one it has is ostree's run directory (the finalization lock), preserved.
    expect(value(u, 'Service', 'RuntimeDirectory')).toBe('ostree');
    expect(value(u, 'Service', 'RuntimeDirectoryPreserve')).toBe('yes');
    expect(value(u, 'Unit', 'Wants')).toContain('bound-imaged-podman.socket');
  });

  it.each(HARDENED)('%s is locked down: read-only system, no network, no capabilities', (name) => {
    const u = unit(name);
    expect(value(u, 'Service', 'ProtectSystem')).toBe('strict');
    expect(value(u, 'Service', 'ProtectHome')).toBe('yes');
    expect(value(u, 'Service', 'PrivateTmp')).toBe('yes');
    expect(value(u, 'Service', 'PrivateNetwork')).toBe('yes');
    expect(value(u, 'Service', 'RestrictAddressFamilies')).toBe('AF_UNIX');
    expect(value(u, 'Service', 'NoNewPrivileges')).toBe('yes');
    expect(value(u, 'Service', 'CapabilityBoundingSet')).toBe('');
    expect(values(u, 'Service', 'SystemCallFilter')).toContain('@system-service');
  });

  it('the Podman socket listens where the daemon looks for it by default', () => {
    const socket = unit('bound-imaged-podman.socket');
    const listen = value(socket, 'Socket', 'ListenStream')?.replace('%t', '/run');
    expect(listen).toBe(defaultConfig().storage.podmanSocket);
    expect(value(socket, 'Socket', 'SocketMode')).toBe('0600');
  });

  it('the Podman service serves the bootc store from the socket and exits when idle', () => {
    const service = unit('bound-imaged-podman.service');
    const exec = value(service, 'Service', 'ExecStart') ?? '';
    // The helper makes the store writable in the unit's own mount namespace, then runs Podman.
    expect(value(service, 'Service', 'PrivateMounts')).toBe('yes');
    expect(value(service, 'Service', 'ReadOnlyPaths')).toBe('-/sysroot');
    expect(exec.split(/\s+/)).toEqual([
      '/usr/lib/bound-imaged/podman-store-service',
      defaultConfig().storage.path,
      '/usr/bin/podman',
      'system',
      'service',
      '--time=60',
    ]);
    // No listen address: the socket comes from systemd (LISTEN_FDS).
    expect(exec).not.toMatch(/unix:|tcp:/);
    expect(value(service, 'Unit', 'Requires')).toBe('bound-imaged-podman.socket');
  });

  it('the timer reconciles after boot and hourly, spread and persistent, through the oneshot client', () => {
    const timer = unit('bound-imaged-reconcile.timer');
    expect(value(timer, 'Timer', 'OnBootSec')).toBeDefined();
    expect(value(timer, 'Timer', 'OnCalendar')).toBe('hourly');
    expect(value(timer, 'Timer', 'RandomizedDelaySec')).toMatch(/^\d+(min|s|m)$/);
    expect(value(timer, 'Timer', 'Persistent')).toBe('true');
    expect(value(timer, 'Install', 'WantedBy')).toBe('timers.target');
    const service = unit('bound-imaged-reconcile.service');
    expect(value(service, 'Service', 'Type')).toBe('oneshot');
    expect(value(service, 'Service', 'ExecStart')).toBe('/usr/bin/bound-images upgrade');
  });

  it('D-Bus activation hands the name to bound-imaged.service', () => {
    const text = readFileSync(join(ROOT, 'dbus', 'org.bootc.BoundImages.service'), 'utf8');
    const activation = parseUnitFile(text, 'org.bootc.BoundImages.service');
    expect(value(activation, 'D-BUS Service', 'Name')).toBe('org.bootc.BoundImages');
    expect(value(activation, 'D-BUS Service', 'SystemdService')).toBe('bound-imaged.service');
    expect(value(unit('bound-imaged.service'), 'Service', 'BusName')).toBe(
      value(activation, 'D-BUS Service', 'Name'),
    );
  });

  it('the bus policy lets only root own the name; others read, and reach Upgrade and Cancel for polkit to decide', () => {
    const policy = readFileSync(join(ROOT, 'dbus', 'org.bootc.BoundImages.conf'), 'utf8').replace(
      /<!--[\s\S]*?-->/g,
      '',
    );
    const root = /<policy user="root">([\s\S]*?)<\/policy>/.exec(policy)?.[1] ?? '';
    const others = /<policy context="default">([\s\S]*?)<\/policy>/.exec(policy)?.[1] ?? '';
    expect(root).toContain('<allow own="org.bootc.BoundImages"/>');
    expect(others).toContain('<deny own="org.bootc.BoundImages"/>');
    expect(others).toContain('<deny send_destination="org.bootc.BoundImages"/>');
    const allowedMembers = [...others.matchAll(/<allow [^>]*send_member="([^"]+)"/g)].map((m) => m[1]);
    expect(allowedMembers.sort()).toEqual([
      'Cancel',
      'Get',
      'GetAll',
      'Introspect',
      'ListBoundImages',
      'ListBoundImagesByRoot',
      'Upgrade',
    ]);
    // Upgrade only on the manager's interface, Cancel only on the job's; Properties.Set never.
    expect(others).toMatch(/send_interface="org\.bootc\.BoundImages" send_member="Upgrade"/);
    expect(others).toMatch(/send_interface="org\.bootc\.BoundImages\.Job" send_member="Cancel"/);
    expect(others).not.toMatch(/"Set"/);
  });

  it('the polkit actions file names both actions, admin authentication by default', () => {
    const policy = readFileSync(join(ROOT, 'polkit', 'org.bootc.BoundImages.policy'), 'utf8').replace(
      /<!--[\s\S]*?-->/g,
      '',
    );
    const actions = [...policy.matchAll(/<action id="([^"]+)">([\s\S]*?)<\/action>/g)];
    expect(actions.map((a) => a[1])).toEqual([
      'org.bootc.BoundImages.upgrade',
      'org.bootc.BoundImages.cancel',
    ]);
    for (const [, , body] of actions) {
      expect(body).toMatch(/<allow_any>auth_admin<\/allow_any>/);
      expect(body).toMatch(/<allow_inactive>auth_admin<\/allow_inactive>/);
      expect(body).toMatch(/<allow_active>auth_admin_keep<\/allow_active>/);
      expect(body).toMatch(/<description>[^<]+<\/description>/);
      expect(body).toMatch(/<message>[^<]+<\/message>/);
    }
  });
});

describe('systemd-analyze security --offline on the unit files', () => {
  it.each(HARDENED)(`%s: exposure ≤ ${MAX_EXPOSURE}`, async (name) => {
    const { stdout } = await promisify(execFile)(
      'systemd-analyze',
      ['security', '--offline=true', '--no-pager', join(ROOT, 'systemd', name)],
      { env: { ...process.env, SYSTEMD_COLORS: '0' } },
    );
    expect(exposureOf(stdout)).toBeLessThanOrEqual(MAX_EXPOSURE);
  });
});

describe('scripts/install.sh', () => {
  let usr: StagedPackage;
  beforeAll(async () => {
    usr = await stagePackage();
  });
  afterAll(() => usr?.release());

  it('places daemon, client, units, bus files, config and docs in the FHS places', () => {
    const expected = [
      'usr/bin/bound-imaged',
      'usr/bin/bound-images',
      'usr/lib/bound-imaged/package.json',
      'usr/lib/bound-imaged/dist/src/main.js',
      'usr/lib/bound-imaged/dist/src/cli/main.js',
      'usr/lib/bound-imaged/podman-store-service',
      ...UNITS.map((u) => `usr/lib/systemd/system/${u}`),
      'usr/share/dbus-1/system-services/org.bootc.BoundImages.service',
      'usr/share/dbus-1/system.d/org.bootc.BoundImages.conf',
      'usr/share/dbus-1/interfaces/org.bootc.BoundImages.xml',
      'usr/share/polkit-1/actions/org.bootc.BoundImages.policy',
      'etc/bound-imaged/config.ini',
      'usr/share/doc/bound-imaged/install.md',
      ...['manifest.json', 'index.html', 'bound-images.js', 'bound-images.css'].map(
        (f) => `usr/share/cockpit/bound-images/${f}`,
      ),
      'usr/share/man/man8/bound-imaged.8',
      'usr/share/man/man1/bound-images.1',
      'usr/share/man/man5/bound-imaged.conf.5',
      'usr/lib/systemd/catalog/bound-imaged.catalog',
      'usr/share/bash-completion/completions/bound-images',
    ];
    for (const path of expected) expect(existsSync(join(usr.dir, path)), path).toBe(true);
    for (const bin of [
      'usr/bin/bound-imaged',
      'usr/bin/bound-images',
      'usr/lib/bound-imaged/podman-store-service',
    ]) {
      expect(statSync(join(usr.dir, bin)).mode & 0o111, bin).toBe(0o111);
    }
    expect(readFileSync(join(usr.dir, 'etc/bound-imaged/config.ini'), 'utf8')).toBe(
      readFileSync(join(ROOT, 'config/config.ini'), 'utf8'),
    );
    expect(readFileSync(join(usr.dir, 'usr/lib/systemd/catalog/bound-imaged.catalog'), 'utf8')).toBe(
      readFileSync(join(ROOT, 'systemd/bound-imaged.catalog'), 'utf8'),
    );
    expect(readFileSync(join(usr.dir, 'usr/share/man/man8/bound-imaged.8'), 'utf8')).toBe(
      readFileSync(join(ROOT, 'dist/man/bound-imaged.8'), 'utf8'),
    );
  });

  it("the units' Documentation= names the installed manual pages", () => {
    const pages = new Set(readdirSync(join(usr.dir, 'usr/share/man'), { recursive: true }).map(String));
    for (const name of UNITS) {
      const docs = values(unit(name), 'Unit', 'Documentation').flatMap((v) => v.split(/\s+/));
      const ours = docs.filter((d) => /^man:bound-image/.test(d));
      expect(ours.length, name).toBeGreaterThan(0);
      for (const doc of ours) {
        const [, page, section] = /^man:([a-z.-]+)\(([1-8])\)$/.exec(doc) ?? [];
        expect(pages.has(`man${section}/${page}.${section}`), `${name}: ${doc}`).toBe(true);
      }
    }
  });

  it('ships the production dependencies (native modules built) and no dev dependencies', () => {
    const modules = join(usr.dir, 'usr/lib/bound-imaged/node_modules');
    for (const dep of ['dbus-next', 'ini', 'p-limit', 'p-retry', 'cli-progress', 'tinyglobby']) {
      expect(existsSync(join(modules, dep, 'package.json')), dep).toBe(true);
    }
    expect(existsSync(join(modules, 'sd-notify/build/Release/notify.node'))).toBe(true);
    expect(existsSync(join(modules, 'systemd-journald/build/Release/journal_send.node'))).toBe(true);
    for (const dev of ['typescript', 'vitest', 'eslint', 'prettier', 'fast-check']) {
      expect(existsSync(join(modules, dev)), dev).toBe(false);
    }
    expect(
      readdirSync(join(usr.dir, 'usr/lib/bound-imaged/dist/src'), { recursive: true }).join('\n'),
    ).not.toMatch(/\.test\.js/);
  });

  it('the installed wrappers run the installed code, and nothing names the DESTDIR', async () => {
    const wrapper = readFileSync(join(usr.dir, 'usr/bin/bound-imaged'), 'utf8');
    expect(wrapper).toContain('exec /usr/bin/node /usr/lib/bound-imaged/dist/src/main.js "$@"');
    const { stdout } = await promisify(execFile)('grep', ['-rlF', usr.dir, usr.dir]).catch(
      (e: { stdout?: string; code?: number }) => (e.code === 1 ? { stdout: '' } : Promise.reject(e as Error)),
    );
    expect(stdout).toBe('');
  });

  it('honours PREFIX in paths and in the files that name them, and keeps an existing config', async () => {
    const local = await stagePackage({ PREFIX: '/usr/local' });
    try {
      const service = readFileSync(
        join(local.dir, 'usr/local/lib/systemd/system/bound-imaged.service'),
        'utf8',
      );
      expect(service).toContain('ExecStart=/usr/local/bin/bound-imaged\n');
      // The configuration's default locations follow PKGLIBDIR (and SYSCONFDIR) in the installed code.
      expect(
        readFileSync(join(local.dir, 'usr/local/lib/bound-imaged/dist/src/config/paths.js'), 'utf8'),
      ).toContain("vendor: '/usr/local/lib/bound-imaged/config.ini'");
      const reconcile = readFileSync(
        join(local.dir, 'usr/local/lib/systemd/system/bound-imaged-reconcile.service'),
        'utf8',
      );
      expect(reconcile).toContain('ExecStart=/usr/local/bin/bound-images upgrade');
      const podman = readFileSync(
        join(local.dir, 'usr/local/lib/systemd/system/bound-imaged-podman.service'),
        'utf8',
      );
      expect(podman).toContain('ExecStart=/usr/local/lib/bound-imaged/podman-store-service ');
      expect(existsSync(join(local.dir, 'usr/local/lib/bound-imaged/podman-store-service'))).toBe(true);
      expect(readFileSync(join(local.dir, 'usr/local/bin/bound-images'), 'utf8')).toContain(
        '/usr/local/lib/bound-imaged/dist/src/cli/main.js',
      );
      expect(existsSync(join(local.dir, 'usr/local/share/dbus-1/system.d/org.bootc.BoundImages.conf'))).toBe(
        true,
      );
      expect(existsSync(join(local.dir, 'usr/local/share/man/man5/bound-imaged.conf.5'))).toBe(true);
      expect(existsSync(join(local.dir, 'usr/local/lib/systemd/catalog/bound-imaged.catalog'))).toBe(true);
      expect(existsSync(join(local.dir, 'usr/local/share/bash-completion/completions/bound-images'))).toBe(
        true,
      );
      expect(readFileSync(join(local.dir, 'usr/local/share/man/man8/bound-imaged.8'), 'utf8')).toContain(
        '/usr/local/lib/bound-imaged/config.ini',
      );
      expect(existsSync(join(local.dir, 'usr/lib'))).toBe(false);

      const config = join(local.dir, 'etc/bound-imaged/config.ini');
      writeFileSync(config, '[pull]\nretries = 7\n');
      await promisify(execFile)('bash', [join(ROOT, 'scripts/install.sh')], {
        env: { ...process.env, DESTDIR: local.dir, PREFIX: '/usr/local' },
      });
      expect(readFileSync(config, 'utf8')).toBe('[pull]\nretries = 7\n');
    } finally {
      local.release();
    }
  });
});

describe('in a booted systemd (nspawn)', () => {
  let pkg: StagedPackage;
  let machine: NspawnMachine;

  beforeAll(async () => {
    // A run killed outright may have left a container (its PID 1 outlives nspawn): end it first.
    reapStrays();
    pkg = await stagePackage();
    machine = await bootNspawn({
      binds: [{ host: pkg.dir, container: PACKAGE_IN_CONTAINER, readOnly: true }],
    });
    await installInto(machine, PACKAGE_IN_CONTAINER);
  });

  afterAll(async () => {
    await machine?.stop();
    pkg?.release();
  });

  it.each(UNITS)('systemd-analyze verify %s', async (name) => {
    const r = await machine.exec(['systemd-analyze', 'verify', `/usr/lib/systemd/system/${name}`]);
    expect(r.stderr.trim()).toBe('');
    expect(r.code).toBe(0);
  });

  it.each(HARDENED)(`systemd-analyze security %s: exposure ≤ ${MAX_EXPOSURE}`, async (name) => {
    const out = await machine.check(['systemd-analyze', 'security', '--no-pager', name], {
      env: { SYSTEMD_COLORS: '0' },
    });
    const exposure = exposureOf(out);
    console.log(`systemd-analyze security ${name}: ${exposure}`);
    expect(exposure).toBeLessThanOrEqual(MAX_EXPOSURE);
  });

  it('the bus lists org.bootc.BoundImages as activatable, and nothing of ours runs yet', async () => {
    const names = await machine.check(['busctl', 'list', '--activatable', '--no-legend', '--no-pager']);
    expect(names.split('\n').map((l) => l.split(/\s+/)[0])).toContain('org.bootc.BoundImages');
    const active = await machine.exec([
      'systemctl',
      'is-active',
      'bound-imaged.service',
      'bound-imaged-podman.service',
    ]);
    expect(active.stdout.trim().split('\n')).toEqual(['inactive', 'inactive']);
  });

  it("podman-store-service refuses to change mounts in the host's mount namespace", async () => {
    // Run outside the unit (no PrivateMounts=): the container's own namespace, PID 1's.
    const r = await machine.exec([
      '/usr/lib/bound-imaged/podman-store-service',
      '/usr/lib/bootc/storage',
      '/bin/echo',
      'started',
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain("refusing to change mounts in the host's mount namespace");
    // Under unshare -m (a namespace of its own) it goes on and runs the command.
    const own = await machine.exec(
      [
        'unshare',
        '-m',
        '--',
        '/usr/lib/bound-imaged/podman-store-service',
        '/usr/lib/bootc/storage',
        '/bin/echo',
        'started',
      ],
      { env: { RUNTIME_DIRECTORY: '/run/e2e-store-service' } },
    );
    expect([own.code, own.stdout]).toEqual([0, 'started\n']);
    expect(await machine.check(['cat', '/run/e2e-store-service/storage.conf'])).toContain(
      'graphroot = "/usr/lib/bootc/storage"',
    );
  });

  it('the timer, enabled, is scheduled with its random delay and persistence', async () => {
    await machine.check(['systemctl', 'enable', '--now', 'bound-imaged-reconcile.timer']);
    const out = await machine.check([
      'systemctl',
      'show',
      'bound-imaged-reconcile.timer',
      '--property=ActiveState,Persistent,RandomizedDelayUSec,Unit,NextElapseUSecRealtime,NextElapseUSecMonotonic',
    ]);
    expect(out).toContain('ActiveState=active');
    expect(out).toContain('Persistent=yes');
    expect(out).toContain('RandomizedDelayUSec=15min');
    expect(out).toContain('Unit=bound-imaged-reconcile.service');
    expect(out).toMatch(/NextElapseUSecRealtime=\S+/);
    const timers = await machine.check([
      'systemctl',
      'list-timers',
      '--no-legend',
      '--plain',
      'bound-imaged-reconcile.timer',
    ]);
    expect(timers).toContain('bound-imaged-reconcile.service');
    await machine.check(['systemctl', 'disable', '--now', 'bound-imaged-reconcile.timer']);
  });

  it('the Podman socket starts its service on a connection; idle, it exits; the next connection brings it back', async () => {
    // The shipped --time=60 is too slow for a test: a drop-in shortens only the idle time.
    await machine.check(['mkdir', '-p', '/run/systemd/system/bound-imaged-podman.service.d']);
    await machine.check(
      ['sh', '-c', 'cat > /run/systemd/system/bound-imaged-podman.service.d/50-idle.conf'],
      {
        input:
          '[Service]\nExecStart=\nExecStart=/usr/bin/podman --root=/usr/lib/bootc/storage ' +
          '--runroot=/run/bound-imaged/podman system service --time=2\n',
      },
    );
    await machine.check(['systemctl', 'daemon-reload']);
    await machine.check(['systemctl', 'start', 'bound-imaged-podman.socket']);
    const ping = ['curl', '-sS', '--unix-socket', '/run/bound-imaged/podman.sock', 'http://d/_ping'];

    expect(await machine.check(ping)).toBe('OK');
    const first = await machine.check(['systemctl', 'show', '-P', 'MainPID', 'bound-imaged-podman.service']);
    expect(Number(first)).toBeGreaterThan(0);

    const deadline = Date.now() + 20_000;
    let state = '';
    while (Date.now() < deadline) {
      state = (await machine.exec(['systemctl', 'is-active', 'bound-imaged-podman.service'])).stdout.trim();
      if (state === 'inactive') break;
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(state).toBe('inactive');
    expect((await machine.exec(['systemctl', 'is-active', 'bound-imaged-podman.socket'])).stdout.trim()).toBe(
      'active',
    );

    expect(await machine.check(ping)).toBe('OK');
    const second = await machine.check(['systemctl', 'show', '-P', 'MainPID', 'bound-imaged-podman.service']);
    expect(Number(second)).toBeGreaterThan(0);
    expect(second).not.toBe(first);
    await machine.check(['systemctl', 'stop', 'bound-imaged-podman.service', 'bound-imaged-podman.socket']);
  });
});
