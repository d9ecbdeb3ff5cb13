// Hostile bound-images.d trees (issue 6, "Hostile input"): generated roots full of link loops, long
// chains, links out of the root (absolute, `../../..`, /proc/self/root, /proc/self/cwd), links to
// /proc and /dev, FIFOs, sockets, character devices, deep directories, bad names, hostile drop-ins,
// `.image` references and AuthFile=s. Every root must end in the answer tree-build.ts expects, within
// its time bound, with no sentinel from outside the root in any result; and under strace, discovery
// must not touch a path outside its root nor open a FIFO, socket or device.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import type { RootDiscovery } from '../../src/types.js';
import { FUZZ_SEED, HANG_MS, Tally, saveCase } from './fuzz-run.js';
import { CaseTimeout, sandboxPath, startSandbox, type Sandbox } from './sandbox.js';
import { buildRoot, type BuiltRoot } from './tree-build.js';
import { SENTINEL, makeLayout, type Layout } from './tree-layout.js';
import { checkRoot, traceViolations, tracedCalls } from './tree-check.js';
import { treePlan, type TreePlan } from './tree-plan.js';

const PLANS = 200;
/** Roots run again under strace (~50 ms each): those with entries that try to leave the root. */
const TRACED = 60;
const LEAVING = new Set(['escape', 'via-escaping-dir', 'drop-in', 'image-ref', 'auth-file', 'system']);

const run = promisify(execFile);
let sandbox: Sandbox;
let layout: Layout;
const built: Array<{ plan: TreePlan; root: BuiltRoot }> = [];
let buildMs = 0;

beforeAll(async () => {
  sandbox = await startSandbox();
  layout = await makeLayout();
  const started = performance.now();
  const plans = fc.sample(treePlan, { seed: FUZZ_SEED + 2, numRuns: PLANS });
  for (const [index, plan] of plans.entries())
    built.push({ plan, root: await buildRoot(layout, plan, index) });
  buildMs = performance.now() - started;
}, 180_000);
afterAll(async () => {
  for (const { root } of built) await root.close();
  await sandbox?.close();
  // `rm -rf` copes with any depth (fs.rm stops at PATH_MAX).
  if (layout !== undefined) await run('rm', ['-rf', layout.base]);
}, 60_000);

async function hasStrace(): Promise<boolean> {
  try {
    await run('strace', ['-o', '/dev/null', 'true']);
    return true;
  } catch {
    return false;
  }
}

describe('hostile bound-images.d trees', () => {
  test(`${PLANS} generated roots end in the expected answer, nothing read outside the root`, async () => {
    const tally = new Tally();
    const started = performance.now();
    let entries = 0;
    for (const { plan, root } of built) {
      let reply;
      try {
        reply = await sandbox.run({ op: 'discover', root: root.root }, HANG_MS);
      } catch (error) {
        if (!(error instanceof CaseTimeout)) throw error;
        expect.fail(`root ${root.root} hangs (${error.message}); plan ${JSON.stringify(plan)}`);
      }
      const { result, ms } = reply;
      if (result.op !== 'discover' || result.outcome.kind !== 'discovery') {
        expect.fail(`discoverRoot threw on ${root.root}: ${JSON.stringify(result)}`);
      }
      const found = result.outcome.result;
      const problems = checkRoot(root, found);
      if (problems.length > 0) {
        const saved = saveCase('tree', { plan, result: found });
        expect.fail(`${root.root} (plan saved to ${saved}):\n${problems.join('\n')}`);
      }
      entries += root.expect.size;
      for (const error of found.errors) tally.message(error.message);
      for (const spec of root.rootExpect === undefined ? plan.entries : []) tally.count(spec.kind);
      tally.add(`dir:${plan.dir}`, ms, root.root);
    }
    console.log(
      `${tally.summary(`Tree fuzz (${entries} entries)`, performance.now() - started)}\n` +
        `  (building the ${PLANS} roots took ${(buildMs / 1000).toFixed(1)} s)`,
    );
    expect(tally.cases).toBe(PLANS);
  }, 300_000);

  test('the escaping links are real: followed on the host, they reach the sentinels', async () => {
    const escapes = built.flatMap(({ root }) => root.escapes);
    for (const path of escapes) expect(await readFile(path, 'utf8'), path).toContain(SENTINEL);
    console.log(`${escapes.length} links that reach a sentinel on the host stayed inside their root`);
    expect(escapes.length).toBeGreaterThan(PLANS / 2);
  });

  test('under strace, discovery touches nothing outside its root and opens no FIFO, socket or device', async () => {
    // scripts/setup.sh installs strace: without it this check fails rather than pass unseen.
    expect(await hasStrace(), 'strace is not installed: run bash scripts/setup.sh as root').toBe(true);
    const picked = built
      .filter(({ plan }) => plan.dir !== 'directory' || plan.entries.some((e) => LEAVING.has(e.kind)))
      .slice(0, TRACED)
      .map(({ root }) => root);
    const log = join(layout.base, 'strace.log');
    const roots = picked.map((r) => r.root);
    const { stdout } = await run(
      'strace',
      [
        '-f',
        '-qq',
        '-s',
        '8192',
        '-e',
        'trace=%file',
        '-o',
        log,
        process.execPath,
        sandboxPath(sandbox, 'test/fuzz/discover-main.ts'),
        ...roots,
      ],
      { maxBuffer: 64 * 1024 * 1024, timeout: 60_000 },
    );
    const results = JSON.parse(stdout) as RootDiscovery[];
    expect(results.map((r) => r.root)).toEqual(roots);
    for (const [i, found] of results.entries()) expect(checkRoot(picked[i] as BuiltRoot, found)).toEqual([]);
    const calls = tracedCalls(await readFile(log, 'utf8'));
    const touched = new Set(
      calls.flatMap((c) => roots.filter((r) => c.path.startsWith(`${r}/`) || c.path === r)),
    );
    console.log(
      `strace: ${calls.length} file system calls over ${roots.length} roots, ` +
        `${picked.reduce((n, r) => n + r.specials.length, 0)} FIFOs/sockets/devices present`,
    );
    expect(
      traceViolations(
        calls,
        roots,
        picked.flatMap((r) => r.specials),
      ),
    ).toEqual([]);
    // The trace saw discovery at work in every root.
    expect(touched.size).toBe(roots.length);
  }, 120_000);
});
