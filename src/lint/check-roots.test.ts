import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { makeTempRoot, removeTree, writeTree } from '../../scripts/harness/tree-fixture.js';
import { checkRoot, checkRoots } from './check-roots.js';
import { CHECK_ROOTS } from './check-fixture.js';
import { CheckExit, exitStatusOf, summarize } from './findings.js';

const U = '/usr/share/containers/systemd';
let base: string;

beforeEach(async () => {
  base = await makeTempRoot('check');
});
afterEach(async () => {
  await removeTree(base);
});

async function rootOf(name: keyof typeof CHECK_ROOTS): Promise<string> {
  const root = join(base, name);
  await writeTree(root, CHECK_ROOTS[name]);
  return root;
}

describe('checkRoot', () => {
  it('reports every entry of a good root with its reference and no finding: exit 0', async () => {
    const report = await checkRoot(await rootOf('good'));
    expect(report.readable).toBe(true);
    expect(report.findings).toEqual([]);
    expect(report.entries).toEqual([
      { entry: 'db.image', reference: 'quay.io/example/db:16', sourceFile: `${U}/db.image`, findings: [] },
      {
        entry: 'web.container',
        reference: 'quay.io/example/web:3',
        sourceFile: `${U}/web.container`,
        findings: [],
      },
    ]);
    expect(exitStatusOf(summarize([report]))).toBe(CheckExit.Clean);
  });

  it('turns a discovery error into an error finding with file and line: exit 1', async () => {
    const report = await checkRoot(await rootOf('broken'));
    expect(report.entries.map((e) => e.entry)).toEqual(['bad.image', 'db.image']);
    expect(report.entries[0]).toEqual({
      entry: 'bad.image',
      findings: [
        {
          severity: 'error',
          rule: 'invalid',
          file: `${U}/bad.image`,
          line: 3,
          message: 'empty Image= in section [Image]',
        },
      ],
    });
    expect(exitStatusOf(summarize([report]))).toBe(CheckExit.Errors);
  });

  it('reports bootc-incompatible entries that bound-imaged binds: exit 4', async () => {
    const report = await checkRoot(await rootOf('bootc'));
    expect(
      report.entries.map((e) => [e.entry, e.reference, e.findings.map((f) => `${f.severity}:${f.rule}`)]),
    ).toEqual([
      ['private.image', 'registry.example.com/team/private:1', ['bootc:auth-file']],
      ['proxy.container', 'docker.io/library/nginx:latest', ['bootc:short-name']],
    ]);
    expect(summarize([report])).toEqual({ entries: 2, errors: 0, bootc: 2, warnings: 0 });
    expect(exitStatusOf(summarize([report]))).toBe(CheckExit.Findings);
  });

  it('reports a consumer that would pull its own copy as a warning: exit 4', async () => {
    const report = await checkRoot(await rootOf('consumer'));
    expect(report.entries[0]?.findings).toEqual([
      expect.objectContaining({ severity: 'warning', rule: 'no-bound-store', file: `${U}/web.container` }),
    ]);
    expect(exitStatusOf(summarize([report]))).toBe(CheckExit.Findings);
  });

  it('reports a missing root as an error of the root itself', async () => {
    const report = await checkRoot(join(base, 'nothing-here'));
    expect(report).toMatchObject({ readable: false, entries: [] });
    expect(report.findings).toEqual([{ severity: 'error', rule: 'invalid', message: 'root does not exist' }]);
  });

  it('finds nothing to say about a root without bound-images.d', async () => {
    const empty = join(base, 'empty');
    await writeTree(empty, { '/usr/bin': { dir: true } });
    expect(await checkRoot(empty)).toEqual({ root: empty, readable: true, findings: [], entries: [] });
  });
});

describe('checkRoots', () => {
  it('keeps the roots in the order given and counts over all of them; errors win over findings', async () => {
    const roots = [await rootOf('consumer'), await rootOf('broken'), await rootOf('good')];
    const report = await checkRoots(roots);
    expect(report.roots.map((r) => r.root)).toEqual(roots);
    expect(report.summary).toEqual({ entries: 5, errors: 1, bootc: 0, warnings: 1 });
    expect(exitStatusOf(report.summary)).toBe(CheckExit.Errors);
  });
});
