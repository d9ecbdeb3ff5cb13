// A real ostree sysroot in a temp dir, "booted" without a VM, so that Debian's ostree (2022.7) stages
// and finalizes deployments for real. libostree treats a system as booted when /run/ostree-booted
// exists and "/" is the very directory (same device and inode) of one of the sysroot's deployments.
// So every ostree command runs in a private mount and PID namespace (`unshare -mpf`), chrooted into
// the first deployment, with the host's /usr, the sysroot at /sysroot (the deployment's /ostree
// symlink leads there, as on a real host), its boot/ at /boot, a private /proc, and `run/` of this
// temp dir as /run: ostree's marker and lock land in `<dir>/run/ostree`, which a test binds into a
// container as /run/ostree. Deployments are made mutable (OSTREE_SYSROOT_DEBUG=mutable-deployments)
// so the temp dir can simply be removed.
import { mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, releaseDir } from './cleanup.js';
import { run, runStatus, type StatusResult } from './proc.js';

export interface TreeImage {
  /** File name in usr/share/containers/systemd (e.g. `app.image`); linked from bound-images.d. */
  file: string;
  reference: string;
}

export interface OstreeSysroot {
  readonly dir: string;
  /** The physical sysroot (ostree/deploy, ostree/repo, boot). */
  readonly sysroot: string;
  /** ostree's run directory as the booted deployment sees it at /run/ostree. */
  readonly ostreeRunDir: string;
  /** Commits a tree binding `images` to `branch` (kernel, os-release and merged-/usr links included). */
  commit(branch: string, images: TreeImage[]): Promise<void>;
  /** `ostree admin deploy --stage --os=os BRANCH` in the booted deployment. */
  stage(branch: string, opts?: { lockFinalization?: boolean }): Promise<void>;
  /** `ostree admin finalize-staged`, as ostree-finalize-staged.service runs it at shutdown. */
  finalize(): Promise<StatusResult>;
  /** `ostree admin undeploy INDEX`. */
  undeploy(index: number): Promise<void>;
  /** `ostree admin status`. */
  status(): Promise<string>;
  /** The boot loader entries (`version` and `options` lines), newest first as ostree orders them. */
  bootEntries(): string[];
  /** The staged deployment's directory name as ostree reports it, or null. */
  stagedName(): Promise<string | null>;
  release(): void;
}

const OSNAME = 'os';
const ENV = { ...process.env, OSTREE_SYSROOT_DEBUG: 'mutable-deployments' };

function writeTree(root: string, images: TreeImage[]): void {
  for (const d of [
    'usr/lib/modules/6.1.0',
    'usr/etc',
    'usr/lib/bootc/bound-images.d',
    'usr/share/containers/systemd',
  ]) {
    mkdirSync(join(root, d), { recursive: true });
  }
  for (const d of ['sysroot', 'run', 'boot', 'proc', 'dev', 'var', 'tmp']) mkdirSync(join(root, d));
  writeFileSync(join(root, 'usr/lib/modules/6.1.0/vmlinuz'), 'not a kernel\n');
  writeFileSync(join(root, 'usr/lib/modules/6.1.0/initramfs.img'), 'not an initramfs\n');
  writeFileSync(join(root, 'usr/etc/os-release'), 'NAME=test\nID=test\nVERSION_ID=1\n');
  for (const l of ['bin', 'lib', 'lib64', 'sbin']) symlinkSync(`usr/${l}`, join(root, l));
  symlinkSync('sysroot/ostree', join(root, 'ostree'));
  for (const img of images) {
    const file = join(root, 'usr/share/containers/systemd', img.file);
    writeFileSync(file, `[Image]\nImage=${img.reference}\n`);
    symlinkSync(
      `/usr/share/containers/systemd/${img.file}`,
      join(root, 'usr/lib/bootc/bound-images.d', img.file),
    );
  }
}

// Mounts, then chroot: $1 deployment, $2 sysroot, $3 run dir; the rest is the command.
const IN_BOOTED = `set -eu
d=$1 s=$2 r=$3; shift 3
mount --bind /usr "$d/usr"
mount --bind "$s" "$d/sysroot"
mount --bind "$s/boot" "$d/boot"
mount --bind "$r" "$d/run"
mount -t proc proc "$d/proc"
mount --bind /dev "$d/dev"
mount -t tmpfs tmpfs "$d/tmp"
touch "$d/run/ostree-booted"
exec chroot "$d" "$@"`;

export async function makeOstreeSysroot(): Promise<OstreeSysroot> {
  const dir = makeTempDir('ostree');
  const sysroot = join(dir, 'sysroot');
  const runDir = join(dir, 'run');
  let booted = '';
  try {
    mkdirSync(sysroot);
    mkdirSync(join(runDir, 'ostree'), { recursive: true });
    await run('ostree', ['admin', 'init-fs', sysroot], { env: ENV });
    await run('ostree', ['admin', 'os-init', `--sysroot=${sysroot}`, OSNAME], { env: ENV });
  } catch (e) {
    releaseDir(dir);
    throw e;
  }
  let trees = 0;

  const inBooted = (argv: string[]): Promise<StatusResult> =>
    runStatus(
      'unshare',
      [
        '-mpf',
        '--propagation',
        'private',
        '--',
        'sh',
        '-c',
        IN_BOOTED,
        'sh',
        booted,
        sysroot,
        runDir,
        ...argv,
      ],
      {
        env: ENV,
        timeoutMs: 60_000,
      },
    );
  const checked = async (argv: string[]): Promise<string> => {
    const r = await inBooted(argv);
    if (r.code !== 0)
      throw new Error(`${argv.join(' ')} (in the booted deployment): ${r.startError ?? r.stderr.trim()}`);
    return r.stdout;
  };

  const handle: OstreeSysroot = {
    dir,
    sysroot,
    ostreeRunDir: join(runDir, 'ostree'),
    async commit(branch, images) {
      const tree = join(dir, `tree-${++trees}`);
      writeTree(tree, images);
      await run(
        'ostree',
        [`--repo=${join(sysroot, 'ostree/repo')}`, 'commit', '-b', branch, `--tree=dir=${tree}`],
        {
          env: ENV,
        },
      );
    },
    async stage(branch, opts = {}) {
      await checked([
        'ostree',
        'admin',
        'deploy',
        '--stage',
        `--os=${OSNAME}`,
        ...(opts.lockFinalization ? ['--lock-finalization'] : []),
        branch,
      ]);
    },
    finalize: () => inBooted(['ostree', 'admin', 'finalize-staged']),
    async undeploy(index) {
      await checked(['ostree', 'admin', 'undeploy', String(index)]);
    },
    status: () => checked(['ostree', 'admin', 'status']),
    bootEntries() {
      const entries = join(sysroot, 'boot/loader/entries');
      return readdirSync(entries)
        .sort()
        .reverse()
        .map((f) => readFileSync(join(entries, f), 'utf8'));
    },
    async stagedName() {
      const m = /^\s+\S+ (\S+) \(staged\)$/m.exec(await handle.status());
      return m?.[1] ?? null;
    },
    release: () => releaseDir(dir),
  };

  try {
    // The deployment every later command runs in: deployed the plain way, not staged.
    await handle.commit('os/base', []);
    await run('ostree', ['admin', 'deploy', `--sysroot=${sysroot}`, `--os=${OSNAME}`, 'os/base'], {
      env: ENV,
    });
    const deployDir = join(sysroot, 'ostree/deploy', OSNAME, 'deploy');
    const name = readdirSync(deployDir).find((n) => /^[0-9a-f]{64}\.\d+$/.test(n));
    if (name === undefined) throw new Error(`ostree admin deploy left no deployment in ${deployDir}`);
    booted = join(deployDir, name);
    return handle;
  } catch (e) {
    releaseDir(dir);
    throw e;
  }
}
