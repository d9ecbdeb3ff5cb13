// Hostile Quadlet files (issue 6, "Hostile input"): 10,000 generated cases straight through
// parseUnitFile and resolveBoundImageFile, then 2,000 more as real files in temp roots through
// discoverRoot. Every case must end in a result or a clear error naming file and line, within its time
// bound, and the real discovery path must agree with the direct one. Seeded: CI runs the same cases.
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { makeTempRoot, removeTree } from '../../scripts/harness/tree-fixture.js';
import type { MemoryFiles, ResolveOutcome } from './fuzz-protocol.js';
import { FUZZ_SEED, HANG_MS, SLOW_CASE_MS, Tally, saveCase } from './fuzz-run.js';
import { quadletCase, toBytes, toText, type QuadletCase } from './quadlet-arbitraries.js';
import { checkAgreement, checkDirect, entryOutcome, placeCase } from './quadlet-check.js';
import { CaseTimeout, startSandbox, type Sandbox } from './sandbox.js';

const DIRECT_CASES = 10_000;
const DISK_CASES = 2_000;
/** Entries per temp root (the bound-images.d limit is 1024). */
const ENTRIES_PER_ROOT = 250;
const UNIT_DIR = '/usr/share/containers/systemd';
const LIMIT = 64 * 1024;
/** One root of ENTRIES_PER_ROOT cases: linear work, a few seconds at most on a loaded machine. */
const ROOT_HANG_MS = 30_000;

let sandbox: Sandbox;
const roots: string[] = [];
beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(async () => {
  await sandbox?.close();
  for (const root of roots) await removeTree(root);
}, 60_000);

function texts(files: Record<string, string | Uint8Array>): MemoryFiles {
  const out: MemoryFiles = {};
  for (const [path, content] of Object.entries(files)) out[path] = toText(content);
  return out;
}

describe('hostile Quadlet files', () => {
  test(`${DIRECT_CASES} generated files through parseUnitFile and resolveBoundImageFile`, async () => {
    const tally = new Tally();
    const started = performance.now();
    const details = await fc.check(
      fc.asyncProperty(quadletCase, async (c) => {
        const { unit, files } = placeCase(c, UNIT_DIR);
        const memory = texts(files);
        let run;
        try {
          run = await sandbox.run({ op: 'quadlet', unit, files: memory }, HANG_MS);
        } catch (error) {
          if (error instanceof CaseTimeout) throw new Error(`${c.family}: hang (${error.message})`);
          throw error;
        }
        const problem = checkDirect(unit, memory, run.result);
        if (problem !== undefined) throw new Error(`${c.family}: ${problem}`);
        if (run.ms > SLOW_CASE_MS)
          throw new Error(`${c.family}: took ${run.ms.toFixed(0)} ms (bound ${SLOW_CASE_MS} ms)`);
        const outcome = run.result.op === 'quadlet' ? run.result.resolve : undefined;
        if (outcome?.kind === 'quadlet-error') tally.message(outcome.message);
        tally.add(`${c.family}→${outcome?.kind ?? '?'}`, run.ms, c.family);
      }),
      { seed: FUZZ_SEED, numRuns: DIRECT_CASES, endOnFailure: true },
    );
    console.log(tally.summary('Quadlet fuzz, direct', performance.now() - started));
    if (details.failed) {
      const saved = saveCase('quadlet', details.counterexample);
      expect.fail(
        `seed ${details.seed}, path ${details.counterexample === null ? '' : details.counterexamplePath}: ` +
          `${String(details.errorInstance)}\ncase saved to ${saved}`,
      );
    }
    expect(tally.cases).toBe(DIRECT_CASES);
  }, 300_000);

  test(`${DISK_CASES} generated files as real files through discoverRoot agree with the direct path`, async () => {
    const cases: QuadletCase[] = fc.sample(quadletCase, { seed: FUZZ_SEED + 1, numRuns: DISK_CASES });
    const tally = new Tally();
    const started = performance.now();
    for (let first = 0; first < cases.length; first += ENTRIES_PER_ROOT) {
      const batch = cases.slice(first, first + ENTRIES_PER_ROOT);
      const root = await makeTempRoot('fuzz-quadlet');
      roots.push(root);
      const entries: Array<{ entry: string; c: QuadletCase; direct: ResolveOutcome | undefined }> = [];
      for (const [offset, c] of batch.entries()) {
        const i = first + offset;
        const { unit, files } = placeCase(c, `${UNIT_DIR}/c${i}`);
        for (const [path, content] of Object.entries(files)) {
          await mkdir(dirname(join(root, path)), { recursive: true });
          await writeFile(join(root, path), toBytes(content));
        }
        const entry = `c${i}-${c.unit}`;
        const link = join(root, 'usr/lib/bootc/bound-images.d', entry);
        await mkdir(dirname(link), { recursive: true });
        await symlink(unit, link);
        const direct = await bounded(directOnDisk(unit, files), () => `${c.family} case ${entry}`, c);
        entries.push({ entry, c, direct });
      }
      const { result, ms } = await bounded(
        sandbox.run({ op: 'discover', root }, ROOT_HANG_MS),
        () => `discoverRoot of ${root} (cases c${first}…c${first + batch.length - 1})`,
        batch,
      );
      if (result.op !== 'discover' || result.outcome.kind !== 'discovery') {
        expect.fail(`discoverRoot threw: ${JSON.stringify(result)}`);
      }
      const found = result.outcome.result;
      expect(found.readable).toBe(true);
      expect(found.images.length + found.errors.length).toBe(batch.length);
      for (const { entry, c, direct } of entries) {
        const problem = checkAgreement(found.root, entryOutcome(found, entry), direct);
        if (problem !== undefined) {
          const saved = saveCase('quadlet-disk', c);
          expect.fail(`${c.family} entry ${entry} in ${root}: ${problem}\ncase saved to ${saved}`);
        }
        const got = entryOutcome(found, entry);
        if (got !== undefined && 'error' in got) tally.message(got.error.message);
        tally.add(
          `${c.family}→${got !== undefined && 'image' in got ? 'image' : 'error'}`,
          ms / batch.length,
          `per-entry average of a ${batch.length}-entry root, ${(ms / 1000).toFixed(1)} s in all`,
        );
      }
    }
    console.log(tally.summary('Quadlet fuzz, through discoverRoot', performance.now() - started));
    expect(tally.cases).toBe(DISK_CASES);
  }, 300_000);
});

/** `promise`, with a CaseTimeout turned into a failure naming `what`, the input saved for reproduction. */
async function bounded<T>(promise: Promise<T>, what: () => string, input: unknown): Promise<T> {
  try {
    return await promise;
  } catch (error) {
    if (!(error instanceof CaseTimeout)) throw error;
    return expect.fail(
      `${what()} hangs: ${error.message}\ninput saved to ${saveCase('quadlet-disk', input)}`,
    );
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The direct path's outcome on the text discovery will read, when discovery will read it: every file
 * of the case UTF-8 and within the size limit. Undefined otherwise (discovery refuses such a file).
 */
async function directOnDisk(
  unit: string,
  files: Record<string, string | Uint8Array>,
): Promise<ResolveOutcome | undefined> {
  // Discovery refuses an entry not named *.image / *.container before it reads the unit.
  if (!/\.(image|container)$/.test(unit)) return undefined;
  const memory: MemoryFiles = {};
  for (const [path, content] of Object.entries(files)) {
    const bytes = toBytes(content);
    if (bytes.length > LIMIT) return undefined;
    try {
      memory[path] = utf8.decode(bytes);
    } catch {
      return undefined;
    }
  }
  const { result } = await sandbox.run({ op: 'quadlet', unit, files: memory }, HANG_MS);
  return result.op === 'quadlet' ? result.resolve : undefined;
}
