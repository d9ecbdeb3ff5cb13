// The daemon as the packages install it, for the benchmarks: the bundled tree of scripts/bundle.ts
// (esbuild, ESM, one file per entry point, the addons and lazy/ beside it), built fresh from this checkout into a directory of
// the caller's, so a figure never comes from a stale build/bundle. BENCH_DAEMON=tsc measures the
// development build (dist/src/main.js with node_modules) instead.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundle } from '../bundle.js';

export const TSC_DAEMON = fileURLToPath(new URL('../../src/main.js', import.meta.url));

export interface DaemonBuild {
  /** `bundle` (what the packages ship) or `tsc` (dist/ and node_modules). */
  kind: 'bundle' | 'tsc';
  /** The entry point node runs. */
  entry: string;
}

/** The daemon to measure: the bundle built into `dir`, or the tsc build when BENCH_DAEMON=tsc. */
export async function shippedDaemon(dir: string, env: NodeJS.ProcessEnv = process.env): Promise<DaemonBuild> {
  const kind = env.BENCH_DAEMON ?? 'bundle';
  if (kind === 'tsc') return { kind, entry: TSC_DAEMON };
  if (kind !== 'bundle') throw new Error(`BENCH_DAEMON=${kind}: expected bundle or tsc`);
  const outdir = join(dir, 'bundle');
  await bundle(outdir);
  return { kind, entry: join(outdir, 'bound-imaged.js') };
}
