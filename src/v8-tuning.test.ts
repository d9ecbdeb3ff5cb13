import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { DAEMON_V8_FLAGS, flagsToApply } from './v8-tuning.js';

describe('flagsToApply', () => {
  it('applies every daemon flag when node was given none', () => {
    expect(flagsToApply([], undefined)).toEqual([...DAEMON_V8_FLAGS]);
    expect(flagsToApply(['--enable-source-maps'], '--max-old-space-size=100')).toEqual([...DAEMON_V8_FLAGS]);
  });

  it('leaves a flag the operator set, in either spelling, on the command line or in NODE_OPTIONS', () => {
    expect(flagsToApply(['--opt'], undefined)).toEqual(['--semi-space-growth-factor=1']);
    expect(flagsToApply([], '--trace-warnings  --semi_space_growth_factor=2')).toEqual(['--no-opt']);
    expect(flagsToApply(['--no-opt', '--semi-space-growth-factor=4'], '')).toEqual([]);
  });
});

describe('the flags in a real V8', () => {
  // A child allocates short-lived objects: with the flags its young generation keeps its initial
  // size, without them it grows; V8 accepts both flags at run time (it throws on none, so check the
  // effect, not just the call).
  const youngGeneration = (apply: boolean): number => {
    const code = `
      const v8 = require('node:v8');
      if (${apply}) for (const f of ${JSON.stringify(DAEMON_V8_FLAGS)}) v8.setFlagsFromString(f);
      let keep = [];
      for (let i = 0; i < 1e6; i++) { keep.push({ i, s: 'x' + i }); if (keep.length > 50000) keep = []; }
      const s = v8.getHeapSpaceStatistics().find((x) => x.space_name === 'new_space');
      process.stdout.write(String(s.space_size));`;
    const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    return Number(r.stdout);
  };

  it('keeps the young generation at its initial size', () => {
    const tuned = youngGeneration(true);
    const untuned = youngGeneration(false);
    expect(tuned).toBeLessThanOrEqual(2 * 1024 * 1024);
    expect(untuned).toBeGreaterThan(tuned);
  });
});
