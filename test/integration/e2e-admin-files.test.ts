// What an administrator reads and edits, installed by scripts/install.sh into a real systemd booted
// in nspawn (scripts/harness/nspawn.ts), the way a package would be:
//  1. the journal catalog: `journalctl --update-catalog` indexes it, `--list-catalog` names every
//     MESSAGE_ID, and `journalctl -x` explains a real DaemonReady entry of the daemon with its fields
//     filled in (first checked without nspawn, in a `--root` tree);
//  2. the layered configuration under the unit: a vendor file in /usr/lib/bound-imaged and a drop-in
//     in /etc/bound-imaged/config.d take effect (Roots, keep-jobs), `bound-imaged --check-config` names
//     the origin of each value; a bad drop-in makes --check-config exit 1 and the unit fail, and
//     `journalctl -x` explains its ConfigError entry, which names the drop-in, line and key;
//  3. the manual pages are where man(1) finds them, and the bash completion answers from its place.
// Teardown (also when a step fails): the container is shut down and nothing of it stays mounted.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, reapStrays, releaseDir } from '../../scripts/harness/cleanup.js';
import type { NspawnMachine } from '../../scripts/harness/nspawn.js';
import { bootNspawn, waitFor } from '../../scripts/harness/nspawn.js';
import type { StagedPackage } from '../../scripts/harness/package-install.js';
import { installInto, projectRoot, stagePackage } from '../../scripts/harness/package-install.js';
import { MANAGER_BUSCTL } from '../../scripts/harness/machine-daemon.js';
import { run } from '../../scripts/harness/proc.js';
import { MessageCatalog, MessageId } from '../../src/systemd/message-ids.js';

const PACKAGE_IN_CONTAINER = '/run/bound-imaged-package';
const VENDOR_ROOT = '/srv/vendor-root';

let pkg: StagedPackage;
let machine: NspawnMachine;
const timings: Record<string, number> = {};

/** `journalctl -x` of the unit's entries with one MESSAGE_ID, the newest `lines` entries. */
async function explained(id: string, lines = 1): Promise<string> {
  return machine.check([
    'journalctl',
    '--no-pager',
    '-x',
    '-u',
    'bound-imaged',
    `MESSAGE_ID=${id}`,
    '-n',
    `${lines}`,
  ]);
}

beforeAll(async () => {
  reapStrays();
  pkg = await stagePackage();
  machine = await bootNspawn({ binds: [{ host: pkg.dir, container: PACKAGE_IN_CONTAINER, readOnly: true }] });
  timings.boot = machine.bootMs;
  await installInto(machine, PACKAGE_IN_CONTAINER);
  const t = Date.now();
  await machine.check(['journalctl', '--update-catalog']);
  timings.updateCatalog = Date.now() - t;
});

afterAll(async () => {
  await machine?.stop();
  pkg?.release();
  console.log(`e2e-admin-files timings (ms): ${JSON.stringify(timings)}`);
});

describe('the journal catalog', () => {
  it('journalctl --update-catalog reads it without complaint (a --root tree on the host)', async () => {
    const root = makeTempDir('catalog');
    try {
      mkdirSync(join(root, 'usr/lib/systemd/catalog'), { recursive: true });
      await run('cp', [
        join(projectRoot(), 'systemd/bound-imaged.catalog'),
        join(root, 'usr/lib/systemd/catalog/'),
      ]);
      const update = await run('journalctl', [`--root=${root}`, '--update-catalog']);
      expect(update.stderr).toBe('');
      const { stdout } = await run('journalctl', [`--root=${root}`, '--list-catalog']);
      expect(
        stdout
          .trim()
          .split('\n')
          .map((l) => l.split(' ')[0])
          .sort(),
      ).toEqual(Object.values(MessageId).sort());
    } finally {
      releaseDir(root);
    }
  });

  it('once installed and indexed, --list-catalog names every MESSAGE_ID as ours', async () => {
    const list = await machine.check(['journalctl', '--list-catalog', ...Object.values(MessageId)]);
    const ours = list.split('\n').filter((l) => / bound-imaged: /.test(l));
    expect(ours.map((l) => l.split(' ')[0]).sort()).toEqual(Object.values(MessageId).sort());
  });

  it('journalctl -x explains the daemon’s DaemonReady entry, fields filled in', async () => {
    await machine.check(['systemctl', 'start', 'bound-imaged.service']);
    const version = (await machine.check(['bound-imaged', '--version'])).trim().split(' ')[1];
    const text = await waitFor('the DaemonReady entry', async () => {
      const out = await explained(MessageId.DaemonReady);
      return out.includes('░░ Subject:') ? out : undefined;
    });
    expect(text).toContain(`░░ Subject: bound-imaged ${version} is ready`);
    expect(text).toContain('░░ Defined-By: bound-imaged');
    expect(text).toContain('░░ Documentation: man:bound-imaged(8)');
    expect(text).toMatch(/░░ bound-imaged owns org\.bootc\.BoundImages on the system bus/);
    expect(text).toMatch(/store\s+(░░ )?\/usr\/lib\/bootc\/storage/);
    expect(text).not.toMatch(/@[A-Z_]+@/);
  });
});

describe('the layered configuration under the unit', () => {
  it('a vendor file and a drop-in take effect; --check-config names where each value comes from', async () => {
    await machine.sh(
      `mkdir -p ${VENDOR_ROOT} /etc/bound-imaged/config.d
       printf '[discovery]\\nroots = / ${VENDOR_ROOT}\\n[daemon]\\nkeep-jobs = 7\\n' > /usr/lib/bound-imaged/config.ini
       printf '[daemon]\\nkeep-jobs = 3\\n' > /etc/bound-imaged/config.d/50-site.ini`,
    );
    const check = await machine.check(['bound-imaged', '--check-config']);
    expect(check).toContain(
      '#   /usr/lib/bound-imaged/config.ini\n#   /etc/bound-imaged/config.ini\n#   /etc/bound-imaged/config.d/50-site.ini\n',
    );
    expect(check).toContain(`; /usr/lib/bound-imaged/config.ini:2\nroots = / ${VENDOR_ROOT}\n`);
    expect(check).toContain('; /etc/bound-imaged/config.d/50-site.ini:2\nkeep-jobs = 3\n');

    await machine.check(['systemctl', 'restart', 'bound-imaged.service']);
    const roots = await machine.check(['busctl', '--json=short', 'get-property', ...MANAGER_BUSCTL, 'Roots']);
    expect((JSON.parse(roots) as { data: string[] }).data.slice(0, 2)).toEqual(['/', VENDOR_ROOT]);
  });

  it('a bad drop-in: --check-config exits 1, the unit fails, journalctl -x explains the ConfigError', async () => {
    await machine.sh(`printf '[pull]\\nconcurrency = 64\\n' > /etc/bound-imaged/config.d/60-bad.ini`);
    const expected =
      '/etc/bound-imaged/config.d/60-bad.ini:2: pull.concurrency: expected auto or an integer from 1 to 32, got "64"';
    const check = await machine.exec(['bound-imaged', '--check-config']);
    expect(check.code).toBe(1);
    expect(check.stderr).toBe(`bound-imaged: invalid configuration: ${expected}\n`);

    const restart = await machine.exec(['systemctl', 'restart', 'bound-imaged.service']);
    expect(restart.code).not.toBe(0);
    const text = await waitFor('the ConfigError entry', async () => {
      const out = await explained(MessageId.ConfigError);
      return out.includes('░░ Subject:') ? out : undefined;
    });
    expect(text).toContain('░░ Subject: The configuration of bound-imaged is invalid');
    expect(text).toContain('░░ Documentation: man:bound-imaged.conf(5)');
    expect(text.replace(/\n░░ /g, ' ')).toContain(`bound-imaged refused to start: ${expected}`);
    expect(MessageCatalog.ConfigError.fields).toContain('CONFIG_FILE');

    await machine.sh('rm /etc/bound-imaged/config.d/60-bad.ini; systemctl reset-failed bound-imaged.service');
    await machine.check(['systemctl', 'start', 'bound-imaged.service']);
    expect((await machine.check(['systemctl', 'is-active', 'bound-imaged.service'])).trim()).toBe('active');
  });
});

describe('manual pages and completion, where the tools look for them', () => {
  it.each([
    ['bound-imaged', 'BOUND-IMAGED(8)'],
    ['bound-images', 'BOUND-IMAGES(1)'],
    ['bound-imaged.conf', 'BOUND-IMAGED.CONF(5)'],
  ])('man %s', async (page, title) => {
    const out = await machine.check(['man', page], { env: { MANPAGER: 'cat', MANWIDTH: '80' } });
    expect(out.split('\n')[0]).toContain(title);
  });

  it('the installed bash completion completes commands and option values', async () => {
    const out = await machine.check([
      'bash',
      '--norc',
      '--noprofile',
      '-c',
      `source /usr/share/bash-completion/completions/bound-images
       complete -p bound-images
       COMP_WORDS=(bound-images upgrade --pull-policy a); COMP_CWORD=3; _bound_images; echo "[\${COMPREPLY[*]}]"`,
    ]);
    expect(out).toBe('complete -F _bound_images bound-images\n[always]\n');
  });
});
