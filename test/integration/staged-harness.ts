// The rig of the staged-deployment tests (e2e-staged*.test.ts): a real systemd in nspawn
// (scripts/harness/nspawn.ts) with the package installed, a real ostree sysroot
// (scripts/harness/ostree-sysroot.ts) bound into the container at /sysroot and its ostree run
// directory at /run/ostree, so `ostree admin deploy --stage` on the host side writes the very marker
// the container's bound-imaged-staged.path watches, and `ostree admin finalize-staged` reads the very
// lock the daemon writes. The registry sits behind a proxy (reconcile-slow-proxy.ts) that can hold
// manifest requests, and can be taken down. The container's journal is persistent, in a host dir
// (`journalDir`), so it can be read after the container has gone down. Plus the probes the tests share:
// the lock file, the daemon's journal entries, the store, the staged deployment's id.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, reapStrays, releaseDir } from '../../scripts/harness/cleanup.js';
import { makeImages, type MadeImage } from '../../scripts/harness/images.js';
import { MACHINE_PODMAN_SOCKET, storeImages } from '../../scripts/harness/machine-daemon.js';
import { bootNspawn, waitFor as waitForEvery, type NspawnMachine } from '../../scripts/harness/nspawn.js';
import { makeOstreeSysroot, type OstreeSysroot } from '../../scripts/harness/ostree-sysroot.js';
import { installInto, stagePackage, type StagedPackage } from '../../scripts/harness/package-install.js';
import { startRegistry, type Registry } from '../../scripts/harness/registry.js';
import { startSlowProxy, type SlowProxy } from './reconcile-slow-proxy.js';

const PACKAGE_IN_CONTAINER = '/run/bound-imaged-package';

export interface StagedJournalEntry {
  MESSAGE?: string;
  MESSAGE_ID?: string;
  DEPLOYMENT?: string;
  MISSING?: string;
  REASON?: string;
  SIGNAL?: string;
  PENDING_WORK?: string;
  WAKE_AT?: string;
  _PID?: string;
  __REALTIME_TIMESTAMP?: string;
}

export interface StagedRigOptions {
  images: { name: string; size: number }[];
  /** Per ostree branch, the names (of `images`) its tree binds, each as `<name>.image`. */
  commits: Record<string, string[]>;
  /** [staged] retry-delay and retry-max-delay, in seconds. */
  retryDelayS: number;
  retryMaxDelayS: number;
  /** [daemon] idle-exit in seconds (unset: the default). */
  idleExitS?: number;
}

export interface StagedRig {
  readonly registry: Registry;
  readonly proxy: SlowProxy;
  readonly os: OstreeSysroot;
  readonly machine: NspawnMachine;
  /** Host dir of the container's persistent journal. */
  readonly journalDir: string;
  /** Per image name, its reference through the proxy. */
  readonly ref: Record<string, string>;
  readonly bootMs: number;
  lockFile(): string;
  markerFile(): string;
  /** The finalization lock's content, or null when there is none. */
  lockText(): string | null;
  /** bound-imaged.service's journal, oldest first. */
  journal(): Promise<StagedJournalEntry[]>;
  entries(messageId: string): Promise<StagedJournalEntry[]>;
  storeHas(reference: string): Promise<boolean>;
  /** `os/<checksum>.<serial>` of the staged deployment; throws when nothing is staged. */
  stagedId(): Promise<string>;
  stop(): Promise<void>;
}

/** Polls every 100 ms, for 60 s unless told otherwise. */
export const waitFor = <T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 60_000,
): Promise<T> => waitForEvery(what, probe, timeoutMs, 100);

function configText(o: StagedRigOptions): string {
  return (
    '[discovery]\nroots = /srv/bound-sample\n\n[pull]\nretries = 0\ntimeout = 30\n\n' +
    `[staged]\nsysroot = /sysroot\nretry-delay = ${o.retryDelayS}\nretry-max-delay = ${o.retryMaxDelayS}\n` +
    (o.idleExitS === undefined ? '' : `\n[daemon]\nidle-exit = ${o.idleExitS}\n`)
  );
}

export async function startStagedRig(o: StagedRigOptions): Promise<StagedRig> {
  reapStrays();
  const ref: Record<string, string> = {};
  let registry: Registry | undefined;
  let proxy: SlowProxy | undefined;
  let os: OstreeSysroot | undefined;
  let pkg: StagedPackage | undefined;
  let machine: NspawnMachine | undefined;
  let journalDir: string | undefined;
  const stop = async (): Promise<void> => {
    await machine?.stop();
    await proxy?.stop();
    await registry?.stop();
    os?.release();
    pkg?.release();
    if (journalDir) releaseDir(journalDir);
  };
  try {
    registry = await startRegistry();
    const images: MadeImage[] = await makeImages(registry, o.images);
    proxy = await startSlowProxy();
    proxy.setTarget(registry.host);
    for (const img of images) ref[img.name] = img.reference.replace(registry.host, proxy.host);
    os = await makeOstreeSysroot();
    for (const [branch, names] of Object.entries(o.commits)) {
      await os.commit(
        branch,
        names.map((n) => ({ file: `${n}.image`, reference: ref[n] ?? '' })),
      );
    }
    pkg = await stagePackage();
    journalDir = makeTempDir('staged-journal');
    machine = await bootNspawn({
      binds: [
        { host: journalDir, container: '/var/log/journal' },
        { host: pkg.dir, container: PACKAGE_IN_CONTAINER, readOnly: true },
        { host: os.ostreeRunDir, container: '/run/ostree' },
        { host: os.sysroot, container: '/sysroot', readOnly: true },
      ],
    });
    await installInto(machine, PACKAGE_IN_CONTAINER);
    await machine.sh(
      `mkdir -p /etc/containers/registries.conf.d /srv/bound-sample
       printf '[[registry]]\\nlocation = "%s"\\ninsecure = true\\n' '${proxy.host}' \
         > /etc/containers/registries.conf.d/50-bound-imaged-e2e.conf
       cat > /etc/bound-imaged/config.ini
       systemctl add-wants paths.target bound-imaged-staged.path
       systemctl start bound-imaged-staged.path`,
      { input: configText(o) },
    );
  } catch (e) {
    await stop();
    throw e;
  }
  const m = machine;
  const sysroot = os;
  const lockFile = (): string => join(sysroot.ostreeRunDir, 'staged-deployment-locked');
  const journal = (): Promise<StagedJournalEntry[]> => m.journal<StagedJournalEntry>('bound-imaged.service');
  return {
    registry,
    proxy,
    os,
    machine,
    journalDir,
    ref,
    bootMs: m.bootMs,
    lockFile,
    markerFile: () => join(sysroot.ostreeRunDir, 'staged-deployment'),
    lockText: () => (existsSync(lockFile()) ? readFileSync(lockFile(), 'utf8') : null),
    journal,
    entries: async (id) => (await journal()).filter((e) => e.MESSAGE_ID === id),
    storeHas: async (reference) =>
      (await storeImages(m, MACHINE_PODMAN_SOCKET)).some((i) => (i.RepoTags ?? []).includes(reference)),
    async stagedId() {
      const name = await sysroot.stagedName();
      if (name === null) throw new Error('nothing staged');
      return `os/${name}`;
    },
    stop,
  };
}
