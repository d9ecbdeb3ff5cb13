// The project as a distribution package, for tests: scripts/install.sh run into a DESTDIR temp dir
// (the "package"), and that tree unpacked onto a booted nspawn container the way a package manager
// would (copy onto /, `systemctl daemon-reload`, the bus re-reads its configuration).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeTempDir, releaseDir } from './cleanup.js';
import type { NspawnMachine } from './nspawn.js';
import { run } from './proc.js';

/** The checkout this module belongs to (works from scripts/harness and from dist/scripts/harness). */
export function projectRoot(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && existsSync(join(dir, 'scripts', 'install.sh'))) {
      const { name } = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string };
      if (name === 'bootc-bound-images') return dir;
    }
  }
  throw new Error(`no bound-imaged checkout above ${fileURLToPath(import.meta.url)}`);
}

export interface StagedPackage {
  /** The DESTDIR: what the package would contain. */
  readonly dir: string;
  /** Removes the DESTDIR. Idempotent. */
  release(): void;
}

/** Runs scripts/install.sh with DESTDIR set to a fresh temp dir (and any PREFIX/… variables given). */
export async function stagePackage(vars: Record<string, string> = {}): Promise<StagedPackage> {
  const root = projectRoot();
  if (!existsSync(join(root, 'dist', 'src', 'main.js'))) {
    throw new Error(`${root}/dist is not built: run 'npm run build' first`);
  }
  const dir = makeTempDir('package');
  try {
    await run('bash', [join(root, 'scripts', 'install.sh')], {
      env: { ...process.env, ...vars, DESTDIR: dir },
      timeoutMs: 120_000,
    });
  } catch (e) {
    releaseDir(dir);
    throw e;
  }
  let released = false;
  return {
    dir,
    release() {
      if (released) return;
      released = true;
      releaseDir(dir);
    },
  };
}

/**
 * Unpacks a staged package, bound read-only into the container at `containerPath`, onto its root,
 * then makes systemd and the bus pick the new files up.
 */
export async function installInto(machine: NspawnMachine, containerPath: string): Promise<void> {
  // Like a package manager: files land with their modes, directories that exist keep theirs (a plain
  // `cp -a DIR/. /` would give / the 0700 of the temp dir, and the bus, running as messagebus,
  // could no longer read anything).
  await machine.check([
    'sh',
    '-c',
    'tar -C "$0" --owner=0 --group=0 -cf - . | tar -C / --no-overwrite-dir -xf -',
    containerPath,
  ]);
  await machine.check(['systemctl', 'daemon-reload']);
  // Activates the bus if nothing did yet; a running one re-reads its policy and activation files.
  await machine.check([
    'busctl',
    'call',
    'org.freedesktop.DBus',
    '/org/freedesktop/DBus',
    'org.freedesktop.DBus',
    'ReloadConfig',
  ]);
}
