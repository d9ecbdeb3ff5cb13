// Inputs the fuzz tests found to misbehave, kept as named cases (see /work/notes/bugs-quadlet.md and
// docs/reliability.md). Each runs in the sandbox worker, so a case that hangs fails at its time bound
// instead of holding the test run.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { HANG_MS, SLOW_CASE_MS } from './fuzz-run.js';
import { CaseTimeout, startSandbox, type Sandbox } from './sandbox.js';

const LIMIT = 64 * 1024;
const UNIT = '/usr/share/containers/systemd/web.image';

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(async () => {
  await sandbox?.close();
});

/** Fill `prefix…suffix` with `filler` up to the 64 KiB file limit (files discovery does read). */
function fill(prefix: string, filler: string, suffix: string): string {
  return prefix + filler.repeat(Math.floor((LIMIT - prefix.length - suffix.length) / filler.length)) + suffix;
}

async function timeToParse(text: string): Promise<number> {
  try {
    const { result, ms } = await sandbox.run({ op: 'quadlet', unit: UNIT, files: { [UNIT]: text } }, HANG_MS);
    expect(result.op === 'quadlet' && result.parse.kind !== 'unexpected').toBe(true);
    return ms;
  } catch (error) {
    if (error instanceof CaseTimeout) return Infinity;
    throw error;
  }
}

describe('regressions found by the fuzz tests', () => {
  // unit-file.ts strip() trimmed with /^[ \t\n\r]+|[ \t\n\r]+$/g: for a run of whitespace that is not
  // at the end of the line, the second branch matched the run from each start and backtracked, so a
  // 64 KiB line took ~19 s (quadratic), blocking the daemon's event loop for each such file.
  test.each([
    ['spaces inside a value', fill('[Image]\nImage=x', ' ', 'y\n')],
    ['tabs inside a value', fill('[Image]\nImage=x', '\t', 'y\n')],
    ['spaces between key and "="', fill('[Image]\nImage', ' ', '=nginx\n')],
    ['continued lines of spaces', fill('[Image]\nImage=x', ' \\\n', 'y\n')],
  ])('a 64 KiB line with whitespace inside (%s) parses in linear time', async (_name, text) => {
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(LIMIT);
    expect(await timeToParse(text)).toBeLessThan(SLOW_CASE_MS);
  });
});
