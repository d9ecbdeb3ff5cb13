// What an administrator of system daemons expects, in a real systemd with the real polkitd (the
// host's systemd booted in a throwaway nspawn container, the package installed with scripts/install.sh,
// a loopback registry on the host):
//  polkit — root is allowed without polkit; a service account allowed by a rule in
//    /etc/polkit-1/rules.d runs Upgrade and Cancel (the journal says polkit allowed it); a user a rule
//    denies, and a user no rule mentions, are refused with AccessDenied naming the action, and no job
//    starts; anyone still reads;
//  idle exit — with [daemon] idle-exit = 3 the daemon exits 0 three seconds after its last work
//    (journal: DaemonStopping, SIGNAL=idle), holding no memory; the next D-Bus call activates a new
//    process that still knows LastResult; pending work due later is handed to systemd as
//    bound-imaged.timer before the exit, which starts the daemon when the work is due, and the work
//    (a reconcile) runs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reapStrays } from '../../scripts/harness/cleanup.js';
import type { MadeImage } from '../../scripts/harness/images.js';
import { makeImages } from '../../scripts/harness/images.js';
import type { NspawnMachine } from '../../scripts/harness/nspawn.js';
import { bootNspawn, waitFor } from '../../scripts/harness/nspawn.js';
import { MANAGER_BUSCTL, waitJob } from '../../scripts/harness/machine-daemon.js';
import type { StagedPackage } from '../../scripts/harness/package-install.js';
import { installInto, stagePackage } from '../../scripts/harness/package-install.js';
import type { Registry } from '../../scripts/harness/registry.js';
import { startRegistry } from '../../scripts/harness/registry.js';
import { MessageId } from '../../src/systemd/message-ids.js';

const PACKAGE_IN_CONTAINER = '/run/bound-imaged-package';
const SAMPLE_ROOT = '/srv/bound-sample';
const IDLE_EXIT_S = 3;
const RULES = `// bound-imaged e2e: a fleet agent may reconcile; an intruder may not.
polkit.addRule(function (action, subject) {
  if (action.id.indexOf("org.bootc.BoundImages.") != 0) return polkit.Result.NOT_HANDLED;
  if (subject.user == "fleet-agent") return polkit.Result.YES;
  if (subject.user == "intruder") return polkit.Result.NO;
  return polkit.Result.NOT_HANDLED;
});
`;

let registry: Registry;
let image: MadeImage;
let pkg: StagedPackage;
let machine: NspawnMachine;
const figures: Record<string, number | string> = {};

/**
 * One call through the installed package's dbus-next, as `user`: prints the reply's body, or the
 * error's name and text (busctl prints only "Access denied" for AccessDenied). `interactive` sets
 * the ALLOW_INTERACTIVE_AUTHORIZATION header flag.
 */
const CALL_SCRIPT = `
const dbus = (await import('/usr/lib/bound-imaged/node_modules/dbus-next/index.js')).default;
const [path, iface, member, signature, interactive] = process.argv.slice(1);
const bus = dbus.systemBus();
try {
  const reply = await bus.call(new dbus.Message({ destination: 'org.bootc.BoundImages', path, interface: iface,
    member, signature, body: signature === 'a{sv}' ? [{}] : [], flags: interactive === 'yes' ? 4 : 0 }));
  console.log('ok ' + JSON.stringify(reply.body));
} catch (e) { console.log(e.type + ': ' + e.text); }
bus.disconnect();
`;
async function call(
  user: string,
  path: string,
  iface: string,
  member: string,
  interactive = false,
): Promise<string> {
  const signature = member === 'Upgrade' ? 'a{sv}' : '';
  const out = await machine.check(
    [
      'node',
      '--input-type=module',
      '-e',
      CALL_SCRIPT,
      path,
      iface,
      member,
      signature,
      interactive ? 'yes' : 'no',
    ],
    { user },
  );
  return out.trim();
}
const callUpgrade = (user: string, interactive = false) =>
  call(user, '/org/bootc/BoundImages', 'org.bootc.BoundImages', 'Upgrade', interactive);
const callCancel = (user: string, job: string) => call(user, job, 'org.bootc.BoundImages.Job', 'Cancel');

interface Entry {
  MESSAGE?: string;
  MESSAGE_ID?: string;
  SIGNAL?: string;
  _PID?: string;
  POLKIT_ACTION?: string;
  CALLER_UID?: string;
}

const journal = (): Promise<Entry[]> => machine.journal<Entry>('bound-imaged.service');

const started = async (): Promise<number> =>
  (await journal()).filter((e) => e.MESSAGE_ID === MessageId.ReconcileStarted).length;

const uidOf = async (user: string): Promise<string> => (await machine.check(['id', '-u', user])).trim();

beforeAll(async () => {
  reapStrays();
  registry = await startRegistry();
  [image] = (await makeImages(registry, [{ name: 'admin/app', size: 2048 }])) as [MadeImage];
  pkg = await stagePackage();
  machine = await bootNspawn({
    binds: [{ host: pkg.dir, container: PACKAGE_IN_CONTAINER, readOnly: true }],
  });
  await installInto(machine, PACKAGE_IN_CONTAINER);
  await machine.sh(
    `mkdir -p /etc/containers/registries.conf.d
     printf '[[registry]]\\nlocation = "%s"\\ninsecure = true\\n' '${registry.host}' \
       > /etc/containers/registries.conf.d/50-bound-imaged-e2e.conf
     cat > /etc/bound-imaged/config.ini`,
    {
      input: `[discovery]\nroots = ${SAMPLE_ROOT}\n\n[pull]\nretries = 0\n\n[daemon]\nidle-exit = ${IDLE_EXIT_S}\n`,
    },
  );
  await machine.sh(
    `d=${SAMPLE_ROOT}; mkdir -p $d/usr/share/containers/systemd $d/usr/lib/bootc/bound-images.d
     printf '[Image]\\nImage=%s\\n' '${image.reference}' > $d/usr/share/containers/systemd/app.image
     ln -s /usr/share/containers/systemd/app.image $d/usr/lib/bootc/bound-images.d/app.image
     useradd --system --no-create-home fleet-agent
     useradd --system --no-create-home intruder
     mkdir -p /etc/polkit-1/rules.d
     cat > /etc/polkit-1/rules.d/50-bound-images-e2e.rules`,
    { input: RULES },
  );
}, 180_000);

afterAll(async () => {
  await machine?.stop();
  await registry?.stop();
  pkg?.release();
  console.log(`e2e-admin figures: ${JSON.stringify(figures)}`);
});

describe('polkit decides for non-root callers (real polkitd)', () => {
  let firstJob: string;

  it('root is allowed without asking polkit', async () => {
    const [job] = (await machine.busJson(['call', ...MANAGER_BUSCTL, 'Upgrade', 'a{sv}', '0'])) as [string];
    firstJob = job;
    expect(await waitJob(machine, job)).toBe('success');
    expect((await journal()).some((e) => e.POLKIT_ACTION !== undefined)).toBe(false);
  });

  it('a service account that a rule allows runs Upgrade and Cancel; the journal names polkit', async () => {
    const [job] = (await machine.busJson(['call', ...MANAGER_BUSCTL, 'Upgrade', 'a{sv}', '0'], {
      user: 'fleet-agent',
    })) as [string];
    expect(await waitJob(machine, job)).toBe('success');
    expect(await callUpgrade('fleet-agent')).toMatch(/^ok \["\/org\/bootc\/BoundImages\/job\/\d+"\]$/);
    const uid = await uidOf('fleet-agent');
    const allowed = await waitFor('the polkit entry', async () => {
      const e = (await journal()).find(
        (x) => x.POLKIT_ACTION === 'org.bootc.BoundImages.upgrade' && x.CALLER_UID === uid,
      );
      return e;
    });
    expect(allowed.MESSAGE).toMatch(
      new RegExp(
        `^Upgrade from :1\\.\\d+ \\(UID ${uid}\\) allowed by polkit \\(org\\.bootc\\.BoundImages\\.upgrade\\)$`,
      ),
    );
    // Cancel is authorized before the job is looked at: a finished job answers JobFinished, not AccessDenied.
    expect(await callCancel('fleet-agent', firstJob)).toMatch(
      /^org\.bootc\.BoundImages\.Error\.JobFinished: job \d+ has already finished \(success\)$/,
    );
  });

  it('a user a rule denies, and one no rule names, are refused naming the action; no job starts', async () => {
    const before = await started();
    const intruder = await uidOf('intruder');
    expect(await callUpgrade('intruder')).toBe(
      `org.freedesktop.DBus.Error.AccessDenied: org.bootc.BoundImages.Upgrade is not allowed: polkit denies action org.bootc.BoundImages.upgrade; the caller is UID ${intruder}`,
    );
    expect(await callCancel('intruder', firstJob)).toBe(
      `org.freedesktop.DBus.Error.AccessDenied: org.bootc.BoundImages.Job.Cancel is not allowed: polkit denies action org.bootc.BoundImages.cancel; the caller is UID ${intruder}`,
    );
    // No rule for nobody: the default (auth_admin) would ask for a password, which the call does not allow.
    expect(await callUpgrade('nobody')).toBe(
      'org.freedesktop.DBus.Error.AccessDenied: org.bootc.BoundImages.Upgrade needs authentication for polkit action org.bootc.BoundImages.upgrade; the caller is UID 65534: call it with interactive authorization allowed (and a polkit agent running), or have a polkit rule allow the action',
    );
    // Allowed to ask, but no authentication agent runs here: still refused, naming the action.
    const asked = await callUpgrade('nobody', true);
    figures.interactiveRefusal = asked;
    expect(asked).toMatch(
      /^org\.freedesktop\.DBus\.Error\.AccessDenied: org\.bootc\.BoundImages\.Upgrade .*polkit action org\.bootc\.BoundImages\.upgrade.*UID 65534/,
    );
    // bound-images asks for interaction only from a terminal, as systemctl does.
    const cli = await machine.exec(['bound-images', 'upgrade'], { user: 'nobody' });
    expect(cli.code).toBe(3);
    expect(cli.stderr).toContain('call it with interactive authorization allowed');
    const tty = await machine.exec(['script', '-qec', 'bound-images upgrade', '/dev/null'], {
      user: 'nobody',
    });
    expect(tty.stdout).toContain(
      'needs authentication for polkit action org.bootc.BoundImages.upgrade, and no polkit authentication agent answered',
    );
    // Reading needs nothing.
    expect(await machine.busJson(['get-property', ...MANAGER_BUSCTL, 'LastResult'], { user: 'nobody' })).toBe(
      'success',
    );
    const list = (await machine.busJson(['call', ...MANAGER_BUSCTL, 'ListBoundImages'], {
      user: 'intruder',
    })) as [string[][]];
    expect(list[0].map((r) => r[0])).toEqual([image.reference]);
    expect(await started()).toBe(before);
  });
});

describe('idle exit in systemd', () => {
  it(`exits 0 ${IDLE_EXIT_S} s after its last work; D-Bus activation brings it back with its state`, async () => {
    const active = await machine.show('bound-imaged.service', 'MainPID', 'ActiveState');
    expect(active.ActiveState).toBe('active');
    const status = await machine.check(['cat', `/proc/${active.MainPID}/status`]);
    figures.rssWhileUpMiB = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) / 1024;
    const t0 = Date.now();
    const gone = await waitFor(
      'the idle exit',
      async () => {
        const p = await machine.show(
          'bound-imaged.service',
          'ActiveState',
          'Result',
          'MainPID',
          'MemoryCurrent',
        );
        return p.ActiveState === 'inactive' ? p : undefined;
      },
      30_000,
    );
    figures.idleExitAfterMs = Date.now() - t0;
    expect(gone.Result).toBe('success');
    expect(gone.MainPID).toBe('0');
    figures.memoryCurrentWhenGone = gone.MemoryCurrent ?? '';
    const stopping = (await journal()).filter(
      (e) => e.MESSAGE_ID === MessageId.DaemonStopping && e.SIGNAL === 'idle',
    );
    expect(stopping.at(-1)?.MESSAGE).toBe(
      `stopping (idle for ${IDLE_EXIT_S} s; D-Bus activation or the timer starts it again)`,
    );
    expect(stopping.at(-1)?._PID).toBe(active.MainPID);

    const t1 = Date.now();
    expect(await machine.busJson(['get-property', ...MANAGER_BUSCTL, 'LastResult'], { user: 'nobody' })).toBe(
      'success',
    );
    figures.activationMs = Date.now() - t1;
    const back = await machine.show('bound-imaged.service', 'ActiveState', 'MainPID');
    expect(back.ActiveState).toBe('active');
    expect(back.MainPID).not.toBe(active.MainPID);
    const ready = (await journal()).filter((e) => e.MESSAGE_ID === MessageId.DaemonReady);
    expect(ready.at(-1)?._PID).toBe(back.MainPID);
  });

  it('hands work due later to systemd as bound-imaged.timer, which starts the daemon to do it', async () => {
    await machine.check(['systemctl', 'stop', 'bound-imaged.service']);
    const dueAt = Date.now() + 15_000;
    await machine.sh(`cat > /var/lib/bound-imaged/pending-work.json`, {
      input: JSON.stringify({
        pending: [{ key: 'e2e-retry', dueAt, reason: 'a retry owed by the e2e test' }],
      }),
    });
    const reconciles = await started();
    // Any call starts it; it resumes the work, finds it due after its idle time, hands it over, exits.
    await machine.busJson(['get-property', ...MANAGER_BUSCTL, 'State']);
    const timer = await waitFor('bound-imaged.timer', async () => {
      const p = await machine.show(
        'bound-imaged.timer',
        'ActiveState',
        'NextElapseUSecRealtime',
        'Description',
      );
      return p.ActiveState === 'active' ? p : undefined;
    });
    expect(timer.Description).toBe('Start bound-imaged for pending work: a retry owed by the e2e test');
    await waitFor('the idle exit with work handed over', async () =>
      (await machine.show('bound-imaged.service', 'ActiveState')).ActiveState === 'inactive'
        ? true
        : undefined,
    );
    expect(Date.now()).toBeLessThan(dueAt);
    const handed = (await journal()).find((e) =>
      /^pending work e2e-retry handed to systemd/.test(e.MESSAGE ?? ''),
    );
    expect(handed?.MESSAGE).toMatch(
      /bound-imaged\.timer starts bound-imaged at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/,
    );

    // When due, systemd starts the daemon, which runs the work (a reconcile) and idles out again.
    const due = await waitFor(
      'the work to run',
      async () => (await journal()).find((e) => /^pending work e2e-retry is due/.test(e.MESSAGE ?? '')),
      40_000,
    );
    figures.wokeLateMs = Date.now() - dueAt;
    expect(due.MESSAGE).toMatch(/reconcile job \d+$/);
    await waitFor('the reconcile', async () => ((await started()) > reconciles ? true : undefined));
    await waitFor('the timer to unload', async () => {
      const p = await machine.show('bound-imaged.timer', 'LoadState', 'ActiveState');
      return p.ActiveState !== 'active' ? true : undefined;
    });
    expect(JSON.parse(await machine.check(['cat', '/var/lib/bound-imaged/pending-work.json']))).toEqual({
      pending: [],
    });
  });
});
