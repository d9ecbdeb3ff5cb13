// Hostile config.ini text (issue 6, "Config"): every known key with bad values naming key and line is
// covered by src/config/parse.test.ts; this adds generated files, good keys with hostile values,
// unknown and prototype-named keys and sections, odd line ends and bytes. Each must end in a Config
// or a ConfigError naming the file and a line inside it, never another exception, never slowly.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

import { CONFIG_KEYS } from '../../src/config/schema.js';
import type { FuzzResult } from './fuzz-protocol.js';
import { FUZZ_SEED, HANG_MS, SLOW_CASE_MS, Tally, saveCase } from './fuzz-run.js';
import { startSandbox, type Sandbox } from './sandbox.js';

const CASES = 5_000;
const FILE = '/etc/bound-imaged/config.ini';

const hostileValue = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    '0',
    '-0',
    '00000000000000000000000000000001',
    '9'.repeat(400),
    '1e400',
    'NaN',
    'Infinity',
    '0x10',
    '1_000',
    '٣',
    'true',
    'null',
    '"',
    '""',
    "'x'",
    '/a;b',
    '/a #b',
    '/\0',
    '__proto__',
    '[]',
    '/'.repeat(5000),
  ),
  fc.string({ maxLength: 60 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
);
const key = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...CONFIG_KEYS.map((k) => k.key)) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '__proto__',
      'constructor',
      'toString',
      'hasOwnProperty',
      'roots[]',
      'a.b',
      '',
    ),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
);
const section = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...new Set(CONFIG_KEYS.map((k) => k.section))) },
  { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'Pull', '', 'pull.x', 'gc]') },
  { weight: 1, arbitrary: fc.string({ maxLength: 10 }) },
);
const line = fc.oneof(
  { weight: 2, arbitrary: section.map((s) => `[${s}]`) },
  {
    weight: 6,
    arbitrary: fc.tuple(key, fc.constantFrom('=', ' = ', '\t=\t', '=='), hostileValue).map((p) => p.join('')),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom('', '; c', '# c', '  [pull]', '[pull] x', 'concurrency', '\uFEFF[pull]'),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
);
const configText = fc
  .tuple(
    fc.array(line, { maxLength: 30 }),
    fc.array(fc.constantFrom('\n', '\r\n', '\r'), { minLength: 1, maxLength: 3 }),
    fc.boolean(),
  )
  .map(
    ([lines, eols, bom]) =>
      (bom ? '\uFEFF' : '') + lines.map((l, i) => l + (eols[i % eols.length] ?? '\n')).join(''),
  );

function problem(text: string, result: FuzzResult): string | undefined {
  if (result.op !== 'config') return `expected a config result, got ${result.op}`;
  const outcome = result.outcome;
  if (outcome.kind === 'unexpected')
    return `parseConfig threw ${outcome.name}: ${outcome.message}\n${outcome.stack}`;
  if (outcome.kind === 'config') return undefined;
  if (outcome.file !== FILE) return `ConfigError names ${outcome.file}`;
  const lines = (text.startsWith('\uFEFF') ? text.slice(1) : text).split(/\r\n|\r|\n/).length;
  if (outcome.line !== undefined && (outcome.line < 1 || outcome.line > lines)) {
    return `ConfigError line ${outcome.line} outside the text (${lines} lines)`;
  }
  const prefix = outcome.line === undefined ? `${FILE}: ` : `${FILE}:${outcome.line}: `;
  if (!outcome.message.startsWith(prefix + (outcome.key === undefined ? '' : `${outcome.key}: `))) {
    return `ConfigError message does not read "FILE:LINE: key: what": ${outcome.message.slice(0, 200)}`;
  }
  return undefined;
}

let sandbox: Sandbox;
beforeAll(async () => {
  sandbox = await startSandbox();
});
afterAll(async () => {
  await sandbox?.close();
});

describe('hostile config.ini', () => {
  test(`${CASES} generated files end in a Config or a ConfigError naming file, key and line`, async () => {
    const tally = new Tally();
    const started = performance.now();
    const details = await fc.check(
      fc.asyncProperty(configText, async (text) => {
        const { result, ms } = await sandbox.run({ op: 'config', text }, HANG_MS);
        const found = problem(text, result);
        if (found !== undefined) throw new Error(found);
        if (ms > SLOW_CASE_MS) throw new Error(`took ${ms.toFixed(0)} ms (bound ${SLOW_CASE_MS} ms)`);
        if (result.op === 'config' && result.outcome.kind === 'config-error')
          tally.message(result.outcome.message);
        tally.add(result.op === 'config' ? result.outcome.kind : '?', ms, 'config');
      }),
      { seed: FUZZ_SEED + 3, numRuns: CASES },
    );
    console.log(tally.summary('Config fuzz', performance.now() - started));
    if (details.failed) {
      const saved = saveCase('config', details.counterexample);
      expect.fail(
        `seed ${details.seed}, path ${details.counterexamplePath}: ${String(details.errorInstance)}\ncase saved to ${saved}`,
      );
    }
    expect(tally.cases).toBe(CASES);
  }, 120_000);
});
