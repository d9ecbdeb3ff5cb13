import { describe, expect, it } from 'vitest';
import type { ReconcileOptions } from './job.js';
import { RootSet, type RememberedRoots } from './root-set.js';

function remembered(initial: string[], live: string[] = initial): RememberedRoots & { roots: string[] } {
  const roots = [...initial];
  return {
    roots,
    get rememberedRoots() {
      return roots;
    },
    liveRoots: () => Promise.resolve(live),
    rememberRoot: (root) => {
      if (!roots.includes(root)) roots.push(root);
      return Promise.resolve();
    },
  };
}

const expand = (patterns: readonly string[]) =>
  Promise.resolve(
    patterns.flatMap((p) => (p.endsWith('/*') ? [`${p.slice(0, -1)}a`, `${p.slice(0, -1)}b`] : [p])),
  );

const options = (over: Partial<ReconcileOptions>): ReconcileOptions => ({
  extraRoots: [],
  pullPolicy: 'missing',
  dryRun: false,
  gc: true,
  ...over,
});

describe('RootSet', () => {
  it('adds the current roots (the staged deployment) to every run, without listing or remembering them', async () => {
    let current = ['/sysroot/ostree/deploy/os/deploy/abc.1'];
    const mem = remembered([]);
    const set = new RootSet(['/'], mem, expand, () => Promise.resolve(current));
    expect(await set.forRun(['/caller'])).toEqual(['/', '/sysroot/ostree/deploy/os/deploy/abc.1', '/caller']);
    expect(set.listed).toEqual(['/']);
    expect(mem.roots).toEqual([]);
    current = [];
    expect(await set.forRun([])).toEqual(['/']);
  });

  it('lists the configured roots as written, then the remembered ones not among them', () => {
    const set = new RootSet(['/', '/deploy/*'], remembered(['/staged', '/']), expand);
    expect(set.listed).toEqual(['/', '/deploy/*', '/staged']);
  });

  it('runs over the expanded configured, the live remembered and the caller roots, each once', async () => {
    const set = new RootSet(['/deploy/*'], remembered(['/staged', '/gone'], ['/staged']), expand);
    expect(await set.forRun(['/deploy/a', '/extra'])).toEqual([
      '/deploy/a',
      '/deploy/b',
      '/staged',
      '/extra',
    ]);
  });

  it('remembers a caller root, once, and never in a dry run', async () => {
    const state = remembered([]);
    const set = new RootSet(['/'], state, expand);
    expect(await set.rememberCallers(options({ extraRoots: ['/s'], dryRun: true }))).toBe(false);
    expect(state.roots).toEqual([]);
    expect(await set.rememberCallers(options({ extraRoots: ['/s'] }))).toBe(true);
    expect(await set.rememberCallers(options({ extraRoots: ['/s'] }))).toBe(false);
    expect(await set.rememberCallers(options({}))).toBe(false);
    expect(state.roots).toEqual(['/s']);
    expect(set.listed).toEqual(['/', '/s']);
  });

  it('without a state, remembers nothing and runs over the configured roots', async () => {
    const set = new RootSet(['/deploy/*'], undefined, expand);
    expect(set.listed).toEqual(['/deploy/*']);
    expect(await set.forRun([])).toEqual(['/deploy/a', '/deploy/b']);
  });
});
