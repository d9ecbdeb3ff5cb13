// The distribution packages, for tests: scripts/package.sh run into a temp dir (its OUT), and the
// tools that read what it made (dpkg-deb, rpm), with their output as plain data.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, releaseDir } from './cleanup.js';
import { projectRoot } from './package-install.js';
import { run } from './proc.js';

export interface BuiltPackages {
  /** package.sh's OUT: bundle/, stage/, packages/. */
  readonly out: string;
  /** The DESTDIR install both packages were made from. */
  readonly stage: string;
  readonly version: string;
  readonly release: string;
  /** Paths of the .deb and the .rpm (undefined when not asked for). */
  readonly deb: string | undefined;
  readonly rpm: string | undefined;
  /** Removes OUT. Idempotent. */
  dispose(): void;
}

export interface BuildOptions {
  /** Default: package.json's version. */
  version?: string;
  release?: string;
  formats?: ('deb' | 'rpm')[];
}

/** Runs scripts/package.sh into a fresh temp dir (the checkout's dist/ must be built). */
export async function buildPackages(opts: BuildOptions = {}): Promise<BuiltPackages> {
  const root = projectRoot();
  if (!existsSync(join(root, 'dist', 'scripts', 'bundle.js'))) {
    throw new Error(`${root}/dist is not built: run 'npm run build' first`);
  }
  const out = makeTempDir('pkg');
  const env: NodeJS.ProcessEnv = { ...process.env, OUT: out };
  if (opts.version !== undefined) env.VERSION = opts.version;
  if (opts.release !== undefined) env.RELEASE = opts.release;
  if (opts.formats !== undefined) env.FORMATS = opts.formats.join(' ');
  try {
    await run('bash', [join(root, 'scripts', 'package.sh')], { env, timeoutMs: 240_000 });
  } catch (e) {
    releaseDir(out);
    throw e;
  }
  const built = readdirSync(join(out, 'packages'));
  const pick = (suffix: string): string | undefined => {
    const name = built.find((f) => f.endsWith(suffix));
    return name === undefined ? undefined : join(out, 'packages', name);
  };
  const manifest = readFileSync(join(out, 'bundle', 'package.json'), 'utf8');
  let disposed = false;
  return {
    out,
    stage: join(out, 'stage'),
    version: (JSON.parse(manifest) as { version: string }).version,
    release: opts.release ?? '1',
    deb: pick('.deb'),
    rpm: pick('.rpm'),
    dispose() {
      if (disposed) return;
      disposed = true;
      releaseDir(out);
    },
  };
}

/** Every file and symlink below `dir`, as absolute paths of the installed system ('/usr/…'). */
export function stagedFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => !d.isDirectory())
    .map((d) => join(d.parentPath, d.name).slice(dir.length))
    .sort();
}

/** `dpkg-deb --contents`: the regular files and symlinks, as absolute paths. */
export async function debFiles(deb: string): Promise<string[]> {
  const { stdout } = await run('dpkg-deb', ['--contents', deb]);
  return stdout
    .split('\n')
    .filter((l) => /^[-l]/.test(l))
    .map((l) => (/ \.(\/\S*)/.exec(l)?.[1] ?? '').replace(/ -> .*$/, ''))
    .filter(Boolean)
    .sort();
}

/** One control file of a .deb (`control`, `postinst`, `conffiles`, …). */
export async function debControlFile(deb: string, name: string): Promise<string> {
  return (await run('dpkg-deb', ['--info', deb, name])).stdout;
}

/** `rpm -qp --queryformat` over one package (no database involved). */
export async function rpmQuery(rpm: string, args: string[]): Promise<string> {
  return (await run('rpm', ['-qp', ...args, rpm])).stdout;
}
