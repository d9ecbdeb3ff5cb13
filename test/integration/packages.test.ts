// The packages `npm run package` makes (scripts/package.sh into a temp dir), read back with the
// distributions' own tools: the .deb with dpkg-deb (contents, control, maintainer scripts), the
// .rpm with rpm -qp (files, config flags, requires, scriptlets), and the bundled tree run from the
// unpacked .deb. Both must hold exactly what scripts/install.sh staged, no node_modules.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../../scripts/harness/cleanup.js';
import type { BuiltPackages } from '../../scripts/harness/packages.js';
import {
  buildPackages,
  debControlFile,
  debFiles,
  rpmQuery,
  stagedFiles,
} from '../../scripts/harness/packages.js';
import { run } from '../../scripts/harness/proc.js';
import { ensureBuilt } from './daemon-harness.js';

const LIB = '/usr/lib/bound-imaged';
const UNITS = [
  'bound-imaged-podman.service',
  'bound-imaged-podman.socket',
  'bound-imaged-reconcile.service',
  'bound-imaged-reconcile.timer',
  'bound-imaged.service',
];
const ENABLED = ['bound-imaged-reconcile.timer', 'bound-imaged-podman.socket', 'bound-imaged-staged.path'];

let pkgs: BuiltPackages;
let staged: string[];

function nodeOut(args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(process.execPath, args, (err, stdout, stderr) =>
      err ? reject(new Error(`node ${args.join(' ')}: ${stderr}`)) : resolve(stdout),
    ),
  );
}

beforeAll(async () => {
  await ensureBuilt();
  pkgs = await buildPackages();
  staged = stagedFiles(pkgs.stage);
});

afterAll(() => pkgs?.dispose());

describe('the staged installation both packages are made from', () => {
  it('is the bundled tree, a few files with the two addons and no node_modules', () => {
    const lib = staged.filter((f) => f.startsWith(`${LIB}/`));
    expect(lib).toContain(`${LIB}/bound-imaged.js`);
    expect(lib).toContain(`${LIB}/bound-images.js`);
    expect(lib).toContain(`${LIB}/native/notify.node`);
    expect(lib).toContain(`${LIB}/native/journal_send.node`);
    expect(lib).toContain(`${LIB}/package.json`);
    // dbus-next's seldom used packages, one file each, required on first use (scripts/bundle.ts).
    expect(lib).toContain(`${LIB}/lazy/xml2js.cjs`);
    expect(lib).toContain(`${LIB}/lazy/event-stream.cjs`);
    expect(lib.filter((f) => f.includes('node_modules'))).toEqual([]);
    // One file per entry point (no chunks), the lazy packages, the addons, package.json, licenses.
    expect(lib.filter((f) => /\/chunk-[^/]*\.js$/.test(f))).toEqual([]);
    expect(lib.length).toBeLessThan(20);
    for (const unit of UNITS) expect(staged).toContain(`/usr/lib/systemd/system/${unit}`);
    expect(staged).toContain('/etc/bound-imaged/config.ini');
    expect(staged).toContain('/usr/lib/systemd/system-preset/80-bound-imaged.preset');
    const wrapper = readFileSync(join(pkgs.stage, 'usr/bin/bound-imaged'), 'utf8');
    expect(wrapper).toContain(`exec /usr/bin/node ${LIB}/bound-imaged.js "$@"`);
  });
});

describe('the .deb', () => {
  it('holds exactly the staged files', async () => {
    expect(pkgs.deb).toMatch(/bound-imaged_.*_amd64\.deb$|bound-imaged_.*_[a-z0-9]+\.deb$/);
    expect(await debFiles(pkgs.deb as string)).toEqual(staged);
  });

  it('depends on the Node.js major its addons were built for, Podman, D-Bus and systemd', async () => {
    const control = await debControlFile(pkgs.deb as string, 'control');
    const field = (name: string): string => new RegExp(`^${name}: (.*)$`, 'm').exec(control)?.[1] ?? '';
    const major = Number(process.versions.node.split('.')[0]);
    expect(field('Package')).toBe('bound-imaged');
    expect(field('Version')).toBe(`${pkgs.version}-${pkgs.release}`);
    expect(field('Depends').split(', ')).toEqual([
      `nodejs (>= ${major}~)`,
      `nodejs (<< ${major + 1}~)`,
      'podman',
      'default-dbus-system-bus | dbus-system-bus',
      'systemd',
      'libsystemd0',
    ]);
    expect(Number(field('Installed-Size'))).toBeGreaterThan(100);
    expect((await debControlFile(pkgs.deb as string, 'conffiles')).trim()).toBe(
      '/etc/bound-imaged/config.ini',
    );
  });

  it('enables and starts the units with [Install] the Debian way, restarts the daemon on upgrade', async () => {
    const postinst = await debControlFile(pkgs.deb as string, 'postinst');
    expect(postinst).toContain(`for unit in ${ENABLED.slice().sort().join(' ')}; do`);
    expect(postinst).toContain('deb-systemd-helper unmask "$unit"');
    expect(postinst).toContain('deb-systemd-helper enable "$unit"');
    expect(postinst).toContain('deb-systemd-helper --quiet was-enabled "$unit"');
    expect(postinst).toContain('deb-systemd-invoke "$_action" "$unit"');
    expect(postinst).toContain(
      'deb-systemd-invoke try-restart bound-imaged-podman.service bound-imaged.service',
    );
    expect(postinst).toContain('systemctl --system daemon-reload');
    expect(postinst).not.toContain('@');
  });

  it('stops every unit on removal, forgets the enablement and the state on purge, never the store', async () => {
    const prerm = await debControlFile(pkgs.deb as string, 'prerm');
    expect(prerm).toContain(
      'deb-systemd-invoke stop bound-imaged-podman.socket bound-imaged-reconcile.timer bound-imaged-staged.path ' +
        'bound-imaged-podman.service bound-imaged-reconcile.service bound-imaged-staged.service bound-imaged.service',
    );
    const postrm = await debControlFile(pkgs.deb as string, 'postrm');
    expect(postrm).toContain(
      'deb-systemd-helper purge bound-imaged-podman.socket bound-imaged-reconcile.timer bound-imaged-staged.path',
    );
    expect(postrm).toContain('rm -rf /var/lib/bound-imaged');
    expect(postrm).not.toMatch(/rm [^\n]*\/usr\/lib\/bootc/);
    for (const script of ['postinst', 'prerm', 'postrm']) {
      const dir = makeTempDir('deb-script');
      const file = join(dir, script);
      writeFileSync(file, await debControlFile(pkgs.deb as string, script));
      await run('sh', ['-n', file]); // rejects on a syntax error
    }
  });

  it('runs from the unpacked tree: the bundle starts, knows its version, and its addons load', async () => {
    const root = makeTempDir('deb-x');
    await run('dpkg-deb', ['-x', pkgs.deb as string, root]);
    expect((await nodeOut([join(root, LIB, 'bound-imaged.js'), '--version'])).trim()).toBe(
      `bound-imaged ${pkgs.version}`,
    );
    expect(await nodeOut([join(root, LIB, 'bound-images.js'), '--help'])).toMatch(/^usage: bound-images/);
    const loaded = await nodeOut([
      '--input-type=module',
      '-e',
      `import { createRequire } from 'node:module';
       const req = createRequire(${JSON.stringify(join(root, LIB, 'bound-imaged.js'))});
       const n = req('./native/notify.node'), j = req('./native/journal_send.node');
       console.log(typeof n.ready, typeof j.send);`,
    ]);
    expect(loaded.trim()).toBe('function function');
  });
});

describe('the .rpm', () => {
  it('holds the staged files (plus the build-id links rpm adds), config as %config(noreplace)', async () => {
    const listed = (await rpmQuery(pkgs.rpm as string, ['-l']))
      .split('\n')
      .filter((l) => l && !l.startsWith('/usr/lib/.build-id'));
    const dirs = listed.filter((f) => !staged.includes(f));
    expect(listed.filter((f) => staged.includes(f))).toEqual(staged);
    // The directories it owns are ours alone, and it owns ours.
    for (const dir of ['/etc/bound-imaged', LIB, `${LIB}/native`, '/usr/share/doc/bound-imaged']) {
      expect(dirs).toContain(dir);
    }
    for (const dir of dirs) expect(dir).toMatch(/\/[^/]*bound-image[ds][^/]*(\/|$)/);
    const flags = await rpmQuery(pkgs.rpm as string, [
      '--queryformat',
      '[%{FILEFLAGS:fflags} %{FILENAMES}\\n]',
    ]);
    expect(flags).toMatch(/^cn \/etc\/bound-imaged\/config\.ini$/m);
    expect(await rpmQuery(pkgs.rpm as string, ['-c'])).toBe('/etc/bound-imaged/config.ini\n');
  });

  it('requires nodejs of the addons’ ABI, podman, dbus and systemd', async () => {
    const major = Number(process.versions.node.split('.')[0]);
    const requires = (await rpmQuery(pkgs.rpm as string, ['--requires'])).split('\n');
    for (const r of ['nodejs', `nodejs(abi${major})`, 'podman', 'dbus', 'systemd'])
      expect(requires).toContain(r);
    expect(requires.some((r) => r.startsWith('libsystemd.so.0'))).toBe(true);
    expect((await rpmQuery(pkgs.rpm as string, ['--queryformat', '%{VERSION}-%{RELEASE}'])).trim()).toBe(
      `${pkgs.version}-${pkgs.release}`,
    );
  });

  it('has the systemd scriptlets: preset on install, disable --now on erase, try-restart on upgrade', async () => {
    const scripts = await rpmQuery(pkgs.rpm as string, ['--scripts']);
    const section = (name: string): string => {
      const m = new RegExp(
        `^${name} scriptlet \\(using /bin/sh\\):\\n([\\s\\S]*?)(?=^\\w+ scriptlet|$(?![\\s\\S]))`,
        'm',
      ).exec(scripts);
      return m?.[1] ?? '';
    };
    expect(section('postinstall')).toMatch(
      /if \[ \$1 -eq 1 \][^\n]*\n\s*systemctl --no-reload preset bound-imaged-reconcile\.timer bound-imaged-podman\.socket bound-imaged-staged\.path/,
    );
    expect(section('preuninstall')).toMatch(
      /if \[ \$1 -eq 0 \][^\n]*\n\s*systemctl --no-reload disable --now bound-imaged-reconcile\.timer bound-imaged-podman\.socket bound-imaged-staged\.path bound-imaged-staged\.service bound-imaged\.service/,
    );
    expect(section('postuninstall')).toMatch(
      /if \[ \$1 -ge 1 \][^\n]*\n\s*systemctl try-restart bound-imaged\.service/,
    );
    expect(scripts).not.toMatch(/rm [^\n]*\/usr\/lib\/bootc/);
  });
});
