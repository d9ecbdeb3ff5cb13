// A real Podman API service on a private store, and the podman CLI against the same store:
//   podman --root STORE --runroot RUN … system service --time=0 unix://SOCK
// Everything Podman reads or writes is isolated in a temp dir: registries.conf (the loopback
// registries marked insecure — read once, when the service starts), containers.conf, storage.conf,
// an empty auth file (so the host's login never leaks in), libpod's tmpdir; events are off.
// stop() ends the service, unmounts what it left mounted under the store (it leaves the overlay dir
// bind-mounted on itself) and removes the temp dir.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTempDir, releaseDir } from './cleanup.js';
import { httpRequest } from './http.js';
import type { RunOptions, RunResult } from './proc.js';
import { run, spawnService, waitUntil } from './proc.js';

export type StorageDriver = 'overlay' | 'vfs';

/** The podman CLI bound to one store (and its private config). */
export interface PodmanCli {
  readonly root: string;
  readonly runRoot: string;
  /** Environment pointing Podman at the private config files. */
  readonly env: NodeJS.ProcessEnv;
  /** The global flags every invocation gets (--root, --runroot, --storage-driver, …). */
  readonly globalArgs: readonly string[];
  podman(args: string[], opts?: RunOptions): Promise<RunResult>;
}

export interface PodmanService extends PodmanCli {
  readonly socketPath: string;
  /** The store directory (already resolved: what GET /info reports as DockerRootDir). */
  readonly storePath: string;
  readonly dir: string;
  /** Stops the service, unmounts leftovers, removes the temp dir. Idempotent. */
  stop(): Promise<void>;
}

export interface PodmanServiceOptions {
  /** `host:port` of registries to reach over plain HTTP. Fixed at service start. */
  insecureRegistries?: string[];
  storageDriver?: StorageDriver;
  /** More global flags of the service, e.g. `['--storage-opt', 'additionalimagestore=DIR']`. */
  extraArgs?: string[];
}

/** A podman CLI on a temp store of its own, e.g. a consumer of the bound store. */
export interface PodmanConsumer extends PodmanCli {
  stop(): Promise<void>;
}

async function writeConfig(
  dir: string,
  root: string,
  runRoot: string,
  driver: StorageDriver,
  insecure: string[],
) {
  const registries = [
    'unqualified-search-registries = []',
    ...insecure.map((host) => `\n[[registry]]\nlocation = "${host}"\ninsecure = true`),
  ].join('\n');
  await writeFile(join(dir, 'registries.conf'), registries + '\n');
  await writeFile(
    join(dir, 'containers.conf'),
    '[engine]\nevents_logger = "none"\ncgroup_manager = "cgroupfs"\n',
  );
  await writeFile(
    join(dir, 'storage.conf'),
    `[storage]\ndriver = "${driver}"\ngraphroot = "${root}"\nrunroot = "${runRoot}"\n`,
  );
  await writeFile(join(dir, 'auth.json'), '{"auths": {}}\n');
  return {
    ...process.env,
    CONTAINERS_REGISTRIES_CONF: join(dir, 'registries.conf'),
    CONTAINERS_CONF: join(dir, 'containers.conf'),
    CONTAINERS_STORAGE_CONF: join(dir, 'storage.conf'),
    REGISTRY_AUTH_FILE: join(dir, 'auth.json'),
  };
}

/**
 * The private configuration of a podman on store `root` (registries.conf with `insecure`,
 * containers.conf, storage.conf, an empty auth file, all in `dir`) and the CLI that uses it.
 */
export async function makePodmanCli(
  dir: string,
  root: string,
  driver: StorageDriver,
  insecure: string[],
  extraArgs: string[] = [],
): Promise<PodmanCli> {
  const runRoot = join(dir, 'run');
  await mkdir(root, { recursive: true });
  await mkdir(runRoot, { recursive: true });
  const env = await writeConfig(dir, root, runRoot, driver, insecure);
  const globalArgs = [
    '--root',
    root,
    '--runroot',
    runRoot,
    '--tmpdir',
    join(dir, 'tmp'),
    '--storage-driver',
    driver,
    '--events-backend',
    'none',
    '--cgroup-manager',
    'cgroupfs',
    ...extraArgs,
  ];
  return {
    root,
    runRoot,
    env,
    globalArgs,
    podman: (args, opts = {}) => run('podman', [...globalArgs, ...args], { ...opts, env: opts.env ?? env }),
  };
}

export async function startPodmanService(opts: PodmanServiceOptions = {}): Promise<PodmanService> {
  const dir = makeTempDir('pod');
  try {
    const driver = opts.storageDriver ?? 'overlay';
    const cli = await makePodmanCli(
      dir,
      join(dir, 'store'),
      driver,
      opts.insecureRegistries ?? [],
      opts.extraArgs ?? [],
    );
    const socketPath = join(dir, 'podman.sock');
    const proc = spawnService(
      'podman',
      [...cli.globalArgs, 'system', 'service', '--time=0', `unix://${socketPath}`],
      {
        env: cli.env,
        stdoutFile: join(dir, 'service.log'),
        stderrFile: join(dir, 'service.log'),
      },
    );
    let stopped = false;
    const stop = async (): Promise<void> => {
      if (stopped) return;
      stopped = true;
      await proc.stop('SIGTERM', 5000);
      releaseDir(dir);
    };
    try {
      await waitUntil(
        `podman system service on ${socketPath}`,
        async () => (await httpRequest({ url: '/_ping', socketPath, timeoutMs: 2000 })).status === 200,
        { giveUp: () => (proc.hasExited() ? `exited (see ${join(dir, 'service.log')})` : undefined) },
      );
    } catch (e) {
      await stop();
      throw e;
    }
    return { ...cli, socketPath, storePath: cli.root, dir, stop };
  } catch (e) {
    releaseDir(dir);
    throw e;
  }
}

/** A podman CLI on a fresh temp store of its own (no service). `extraArgs` are added global flags. */
export async function startPodmanCli(
  opts: { storageDriver?: StorageDriver; extraArgs?: string[]; prefix?: string } = {},
): Promise<PodmanConsumer> {
  const dir = makeTempDir(opts.prefix ?? 'cli');
  try {
    const cli = await makePodmanCli(
      dir,
      join(dir, 'store'),
      opts.storageDriver ?? 'overlay',
      [],
      opts.extraArgs ?? [],
    );
    let stopped = false;
    return {
      ...cli,
      async stop() {
        if (stopped) return;
        stopped = true;
        releaseDir(dir);
      },
    };
  } catch (e) {
    releaseDir(dir);
    throw e;
  }
}

/** A podman CLI on a fresh store of its own, with `store` as read-only additional image store. */
export function startConsumer(
  store: string,
  opts: { storageDriver?: StorageDriver } = {},
): Promise<PodmanConsumer> {
  return startPodmanCli({
    ...opts,
    prefix: 'con',
    extraArgs: ['--storage-opt', `additionalimagestore=${store}`],
  });
}
