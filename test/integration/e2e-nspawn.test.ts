// End to end in a real systemd: the host's own systemd booted in a throwaway nspawn container
// (scripts/harness/nspawn.ts), the project installed into it with scripts/install.sh as a package
// would be, a loopback registry on the host, and then what an operator does:
//  1. nothing of ours runs; a root `busctl call … Upgrade` D-Bus-activates bound-imaged.service, the
//     job succeeds, the sample root's bound images are in /usr/lib/bootc/storage, pulled by the
//     socket-activated bound-imaged-podman.service;
//  2. systemctl shows it active with our STATUS=; the journal holds our MESSAGE_IDs and IMAGE= fields;
//  3. the reconcile oneshot the timer runs succeeds; with the registry broken it ends failed
//     (listed by `systemctl --failed`) and the store is unchanged; repaired, it succeeds again;
//  4. `kill -9` of the daemon → systemd restarts it; frozen with SIGSTOP under a short WatchdogSec=
//     → systemd kills it on the watchdog and restarts it;
//  5. a non-root caller's Upgrade (and Cancel) reaches the daemon, which asks the real polkitd and
//     refuses with a text naming the action (no rule allows it); reading is allowed;
//  6. a consumer Podman using the store as additionalimagestore creates a container from a bound
//     image and mounts it: the image's busybox and marker file are there.
// Teardown (also when a step fails): the container is shut down and nothing of it stays mounted.
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, reapStrays, releaseDir } from '../../scripts/harness/cleanup.js';
import type { MadeImage } from '../../scripts/harness/images.js';
import { makeImages } from '../../scripts/harness/images.js';
import type { NspawnMachine } from '../../scripts/harness/nspawn.js';
import { bootNspawn, sleep, waitFor } from '../../scripts/harness/nspawn.js';
import { MANAGER_BUSCTL, storeImages, waitJob } from '../../scripts/harness/machine-daemon.js';
import type { StagedPackage } from '../../scripts/harness/package-install.js';
import { installInto, stagePackage } from '../../scripts/harness/package-install.js';
import type { Registry } from '../../scripts/harness/registry.js';
import { startRegistry } from '../../scripts/harness/registry.js';
import { MessageId } from '../../src/systemd/message-ids.js';

const PACKAGE_IN_CONTAINER = '/run/bound-imaged-package';
const CONSUMER_IN_CONTAINER = '/var/lib/e2e-consumer';
const SAMPLE_ROOT = '/srv/bound-sample';
const STORE = '/usr/lib/bootc/storage';
const PODMAN_SOCKET = '/run/bound-imaged/podman.sock';

let registry: Registry;
let images: MadeImage[];
let extra: MadeImage;
let pkg: StagedPackage;
let consumerDir: string;
let machine: NspawnMachine;
const timings: Record<string, number> = {};

/** Repo tags in the bound store, asked through the Podman socket (the only way to the store). */
async function storeTags(): Promise<string[]> {
  const list = await storeImages(machine, PODMAN_SOCKET);
  return list.flatMap((i) => (i.RepoTags ?? []).map((t) => `${t}@${i.Id}`)).sort();
}

interface JournalEntry {
  MESSAGE?: string;
  MESSAGE_ID?: string;
  IMAGE?: string;
  _PID?: string;
}

function imageFile(ref: string): string {
  return `[Unit]\nDescription=bound image ${ref}\n\n[Image]\nImage=${ref}\n`;
}

/** Adds `<name>.image` to the sample root: Quadlet file + bound-images.d link (absolute, in-root). */
async function bind(name: string, ref: string): Promise<void> {
  await machine.sh(
    `d=${SAMPLE_ROOT}; mkdir -p $d/usr/share/containers/systemd $d/usr/lib/bootc/bound-images.d
     cat > $d/usr/share/containers/systemd/${name}.image
     ln -sf /usr/share/containers/systemd/${name}.image $d/usr/lib/bootc/bound-images.d/${name}.image`,
    { input: imageFile(ref) },
  );
}

beforeAll(async () => {
  const t0 = Date.now();
  // A run killed outright may have left a container (its PID 1 outlives nspawn): end it first.
  reapStrays();
  registry = await startRegistry();
  images = await makeImages(registry, [
    { name: 'app', layers: 2, size: 4096 },
    { name: 'db', size: 2048 },
    { name: 'extra', size: 1024 },
  ]);
  extra = images.pop() as MadeImage;
  pkg = await stagePackage();
  consumerDir = makeTempDir('consumer');
  const tBoot = Date.now();
  machine = await bootNspawn({
    binds: [
      { host: pkg.dir, container: PACKAGE_IN_CONTAINER, readOnly: true },
      // The consumer's primary store must not be on the container's tmpfs /var (Podman 4.3 cannot
      // mount additional-store layers from there): a host directory, bound in.
      { host: consumerDir, container: CONSUMER_IN_CONTAINER },
    ],
  });
  timings.boot = machine.bootMs;
  timings.bootCall = Date.now() - tBoot;
  await installInto(machine, PACKAGE_IN_CONTAINER);
  await machine.sh(
    `mkdir -p /etc/containers/registries.conf.d
     printf '[[registry]]\\nlocation = "%s"\\ninsecure = true\\n' '${registry.host}' \
       > /etc/containers/registries.conf.d/50-bound-imaged-e2e.conf
     cat > /etc/bound-imaged/config.ini`,
    {
      // idle-exit = 0: the steps read and kill the running daemon (idle exit: e2e-admin.test.ts).
      input: `[discovery]\nroots = ${SAMPLE_ROOT}\n\n[pull]\nretries = 0\ntimeout = 30\n\n[daemon]\nidle-exit = 0\n`,
    },
  );
  for (const img of images) await bind(img.name, img.reference);
  timings.setup = Date.now() - t0;
});

afterAll(async () => {
  await machine?.stop();
  await registry?.stop();
  pkg?.release();
  if (consumerDir) releaseDir(consumerDir);
  console.log(`e2e timings (ms): ${JSON.stringify(timings)}`);
});

describe('bound-imaged in a real systemd (nspawn)', () => {
  it('1. nothing runs; Upgrade over D-Bus activates the daemon, whose job pulls through the socket-activated Podman', async () => {
    const active = await machine.exec([
      'systemctl',
      'is-active',
      'bound-imaged.service',
      'bound-imaged-podman.service',
    ]);
    expect(active.stdout.trim().split('\n')).toEqual(['inactive', 'inactive']);
    expect((await machine.exec(['test', '-e', STORE])).code).not.toBe(0);

    const t = Date.now();
    const [job] = (await machine.busJson(['call', ...MANAGER_BUSCTL, 'Upgrade', 'a{sv}', '0'])) as [string];
    expect(job).toMatch(/^\/org\/bootc\/BoundImages\/job\/\d+$/);
    const final = await waitJob(machine, job);
    timings.firstUpgrade = Date.now() - t;
    expect(final).toBe('success');

    expect((await machine.show('bound-imaged.service', 'ActiveState')).ActiveState).toBe('active');
    const tags = await storeTags();
    for (const img of images)
      expect(
        tags.some((t) => t.startsWith(`${img.reference}@`)),
        img.reference,
      ).toBe(true);
    const podmanLog = (await machine.journal<JournalEntry>('bound-imaged-podman.service'))
      .map((e) => e.MESSAGE ?? '')
      .join('\n');
    for (const img of images) expect(podmanLog).toContain(`Trying to pull ${img.reference}`);
    expect((await machine.show('bound-imaged-podman.service', 'TriggeredBy')).TriggeredBy).toBe(
      'bound-imaged-podman.socket',
    );
  });

  it('2. systemctl shows it active with our STATUS=; the journal holds our MESSAGE_IDs and IMAGE= fields', async () => {
    const props = await machine.show(
      'bound-imaged.service',
      'ActiveState',
      'SubState',
      'StatusText',
      'Type',
      'BusName',
    );
    expect(props).toMatchObject({ ActiveState: 'active', SubState: 'running', Type: 'notify' });
    expect(props.BusName).toBe('org.bootc.BoundImages');
    // systemd fills StatusText= only from the service's STATUS= notifications.
    expect(props.StatusText).toMatch(/^idle\b/);

    const entries = await waitFor('the pulled entries in the journal', async () => {
      const all = await machine.journal<JournalEntry>('bound-imaged.service');
      return all.filter((e) => e.MESSAGE_ID === MessageId.ImagePulled).length >= images.length
        ? all
        : undefined;
    });
    const ids = new Set(entries.map((e) => e.MESSAGE_ID));
    for (const id of [MessageId.DaemonReady, MessageId.ReconcileStarted, MessageId.ReconcileSucceeded]) {
      expect(ids.has(id), id).toBe(true);
    }
    const pulled = entries.filter((e) => e.MESSAGE_ID === MessageId.ImagePulled).map((e) => e.IMAGE);
    expect(pulled.sort()).toEqual(images.map((i) => i.reference).sort());
  });

  it("3. the timer's reconcile oneshot succeeds; with the registry broken it fails visibly and the store stays", async () => {
    await machine.check(['systemctl', 'start', 'bound-imaged-reconcile.service']);
    expect((await machine.show('bound-imaged-reconcile.service', 'Result')).Result).toBe('success');
    const before = await storeTags();

    await bind('extra', extra.reference);
    await registry.down();
    try {
      const r = await machine.exec(['systemctl', 'start', 'bound-imaged-reconcile.service']);
      expect(r.code).not.toBe(0);
      expect(
        (await machine.exec(['systemctl', 'is-failed', 'bound-imaged-reconcile.service'])).stdout.trim(),
      ).toBe('failed');
      const failed = await machine.check(['systemctl', '--failed', '--no-legend', '--plain']);
      expect(failed).toContain('bound-imaged-reconcile.service');
      expect(await storeTags()).toEqual(before);
      const errors = (await machine.journal<JournalEntry>('bound-imaged.service')).filter(
        (e) => e.MESSAGE_ID === MessageId.ImagePullFailed,
      );
      expect(errors.map((e) => e.IMAGE)).toContain(extra.reference);
    } finally {
      await registry.up();
    }

    await machine.check(['systemctl', 'reset-failed', 'bound-imaged-reconcile.service']);
    await machine.check(['systemctl', 'start', 'bound-imaged-reconcile.service']);
    expect((await machine.show('bound-imaged-reconcile.service', 'Result')).Result).toBe('success');
    expect((await storeTags()).some((t) => t.startsWith(`${extra.reference}@`))).toBe(true);
  });

  it('4. systemd restarts the daemon after kill -9, and kills and restarts it when it stops answering the watchdog', async () => {
    const first = await machine.show('bound-imaged.service', 'MainPID', 'NRestarts');
    // MainPID=0 (daemon not running) would make `kill -9 0` end the caller's whole process group.
    expect(Number(first.MainPID)).toBeGreaterThan(0);
    await machine.check(['kill', '-9', first.MainPID ?? '']);
    const second = await waitFor('a restart after kill -9', async () => {
      const p = await machine.show('bound-imaged.service', 'MainPID', 'NRestarts', 'ActiveState');
      return p.ActiveState === 'active' && p.MainPID !== '0' && p.MainPID !== first.MainPID ? p : undefined;
    });
    expect(Number(second.NRestarts)).toBe(Number(first.NRestarts) + 1);

    await machine.sh(
      `mkdir -p /run/systemd/system/bound-imaged.service.d
       printf '[Service]\\nWatchdogSec=2s\\nTimeoutAbortSec=2s\\n' > /run/systemd/system/bound-imaged.service.d/50-e2e-watchdog.conf
       systemctl daemon-reload
       systemctl restart bound-imaged.service`,
    );
    const fresh = await machine.show('bound-imaged.service', 'MainPID', 'NRestarts', 'WatchdogUSec');
    expect(fresh.WatchdogUSec).toBe('2s');
    await sleep(3000); // the daemon's own pings keep it alive past one watchdog period
    expect((await machine.show('bound-imaged.service', 'MainPID')).MainPID).toBe(fresh.MainPID);

    const t = Date.now();
    expect(Number(fresh.MainPID)).toBeGreaterThan(0);
    await machine.check(['kill', '-STOP', fresh.MainPID ?? '']);
    const after = await waitFor('a restart after the watchdog fired', async () => {
      const p = await machine.show('bound-imaged.service', 'MainPID', 'NRestarts', 'ActiveState');
      return p.ActiveState === 'active' && p.MainPID !== '0' && p.MainPID !== fresh.MainPID ? p : undefined;
    });
    timings.watchdogRestart = Date.now() - t;
    expect(Number(after.NRestarts)).toBe(Number(fresh.NRestarts) + 1);
    const systemdSaid = await machine.check([
      'journalctl',
      '--no-pager',
      '-o',
      'cat',
      '-u',
      'bound-imaged.service',
    ]);
    expect(systemdSaid).toMatch(/bound-imaged\.service: Watchdog timeout \(limit 2s\)!/);

    // Back to the shipped 30 s watchdog: a daemon left on the 2 s one can be killed by a loaded
    // machine's stall in the middle of a later step's call.
    await machine.sh(
      `rm -r /run/systemd/system/bound-imaged.service.d
       systemctl daemon-reload
       systemctl restart bound-imaged.service`,
    );
  });

  it('5. a non-root Upgrade and Cancel reach the daemon, which asks polkit and refuses; reading is allowed', async () => {
    const started = (await machine.journal<JournalEntry>('bound-imaged.service')).filter(
      (e) => e.MESSAGE_ID === MessageId.ReconcileStarted,
    );
    // busctl prints "Access denied" for any AccessDenied, whatever its text.
    const upgrade = await machine.exec(['busctl', 'call', ...MANAGER_BUSCTL, 'Upgrade', 'a{sv}', '0'], {
      user: 'nobody',
    });
    expect(upgrade.code).not.toBe(0);
    expect(upgrade.stderr).toContain('Access denied');
    // dbus-send prints the error's name and text: the daemon's, naming the polkit action, not
    // dbus-daemon's "Rejected send message" (the bus policy lets the call through for polkit to decide).
    const cancel = await machine.exec(
      [
        'dbus-send',
        '--system',
        '--print-reply',
        '--dest=org.bootc.BoundImages',
        '/org/bootc/BoundImages/job/1',
        'org.bootc.BoundImages.Job.Cancel',
      ],
      { user: 'nobody' },
    );
    expect(cancel.stderr).toContain(
      'org.freedesktop.DBus.Error.AccessDenied: org.bootc.BoundImages.Job.Cancel needs authentication for polkit action org.bootc.BoundImages.cancel; the caller is UID 65534',
    );
    expect(cancel.stderr).not.toContain('Rejected send message');

    expect(await machine.busJson(['get-property', ...MANAGER_BUSCTL, 'State'], { user: 'nobody' })).toBe(
      'idle',
    );
    const list = (await machine.busJson(['call', ...MANAGER_BUSCTL, 'ListBoundImages'], {
      user: 'nobody',
    })) as [string[][]];
    expect(list[0].map((row) => row[0]).sort()).toEqual([...images, extra].map((i) => i.reference).sort());
    expect(list[0].every((row) => row[2] === 'present')).toBe(true);
    const after = (await machine.journal<JournalEntry>('bound-imaged.service')).filter(
      (e) => e.MESSAGE_ID === MessageId.ReconcileStarted,
    );
    expect(after.length).toBe(started.length);
  });

  it('6. a consumer with the store as additionalimagestore creates and mounts a container of a bound image', async () => {
    const app = images[0] as MadeImage;
    const podman = [
      'podman',
      `--root=${CONSUMER_IN_CONTAINER}/store`,
      '--runroot=/run/e2e-consumer',
      `--storage-opt=additionalimagestore=${STORE}`,
    ];
    // No pull: the image must come from the bootc store, read-only.
    const id = (await machine.check([...podman, 'create', '--pull=never', app.reference, '/bin/sh'])).trim();
    try {
      const root = (await machine.check([...podman, 'mount', id])).trim();
      expect(await machine.check(['cat', `${root}/marker`])).toBe(`${app.reference}\n`);
      expect((await machine.exec(['test', '-x', `${root}/bin/busybox`])).code).toBe(0);
      expect(await machine.check([`${root}/bin/busybox`, 'echo', 'from the bound image'])).toBe(
        'from the bound image\n',
      );
    } finally {
      await machine.exec([...podman, 'umount', id]);
      await machine.exec([...podman, 'rm', '-f', id]);
    }
  });

  it('teardown stops the container and leaves no mount behind', async () => {
    const leader = machine.leaderPid;
    const dir = machine.dir;
    const t = Date.now();
    await machine.stop();
    timings.shutdown = Date.now() - t;
    expect(
      existsSync(`/proc/${leader}`) && !readFileSync(`/proc/${leader}/stat`, 'utf8').includes(') Z'),
    ).toBe(false);
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8');
    expect(mounts).not.toContain(dir);
    expect(mounts).not.toContain(consumerDir);
    expect(mounts).not.toContain(pkg.dir);
    expect(existsSync(`/run/systemd/nspawn/propagate/${machine.name}`)).toBe(false);
    expect(existsSync(dir)).toBe(false);
  });
});
