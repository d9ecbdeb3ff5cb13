import dbus from 'dbus-next';
import { describe, expect, it } from 'vitest';
import { CliError, ExitCode } from './cli-error.js';
import { applyJobProperties, decodeListRows, decodeManager, emptyJob } from './decode.js';

const V = (signature: string, value: unknown) => new dbus.Variant(signature, value);
const PATH = '/org/bootc/BoundImages/job/4';

function managerProps(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    State: V('s', 'idle'),
    LastResult: V('s', 'success'),
    LastReconcileTime: V('t', 1_700_000_000_000_000n),
    Roots: V('as', ['/', '/ostree/deploy/*/deploy/*']),
    StorePath: V('s', '/usr/lib/bootc/storage'),
    Version: V('s', '0.1.0'),
    CurrentJob: V('o', '/'),
    StagedDeployment: V('a{sv}', {}),
    ...over,
  };
}

function expectUnexpected(fn: () => unknown, text: string): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).code).toBe(ExitCode.Unreachable);
    expect((err as CliError).message).toContain(text);
    return;
  }
  throw new Error('no error');
}

describe('decodeManager', () => {
  it('reads every property, t as a number and "/" as no job', () => {
    expect(decodeManager(managerProps())).toEqual({
      state: 'idle',
      lastResult: 'success',
      lastReconcileTime: 1_700_000_000_000_000,
      roots: ['/', '/ostree/deploy/*/deploy/*'],
      storePath: '/usr/lib/bootc/storage',
      version: '0.1.0',
      currentJob: null,
      staged: null,
    });
    expect(decodeManager(managerProps({ CurrentJob: V('o', PATH) })).currentJob).toBe(PATH);
    const staged = { Deployment: V('s', 'os/x.0'), ImagesTotal: V('u', 1), ImagesPresent: V('u', 0) };
    expect(decodeManager(managerProps({ StagedDeployment: V('a{sv}', staged) })).staged).toMatchObject({
      deployment: 'os/x.0',
      imagesTotal: 1,
      imagesPresent: 0,
      lock: 'none',
    });
    expectUnexpected(
      () =>
        decodeManager(managerProps({ StagedDeployment: V('a{sv}', { ...staged, Missing: V('s', 'x') }) })),
      "StagedDeployment.Missing is not of type 'as'",
    );
  });

  it('ignores properties it does not know and defaults the optional ones', () => {
    const m = decodeManager({ State: V('s', 'reconciling'), Future: V('u', 1) });
    expect(m).toMatchObject({ state: 'reconciling', lastResult: '', lastReconcileTime: 0, currentJob: null });
  });

  it('rejects a wrong type naming the property, and a missing State', () => {
    expectUnexpected(
      () => decodeManager(managerProps({ State: V('u', 1) })),
      "property State has type 'u', expected 's'",
    );
    expectUnexpected(
      () => decodeManager(managerProps({ Roots: V('as', ['/', 3]) })),
      'property Roots does not hold',
    );
    expectUnexpected(
      () => decodeManager(managerProps({ Version: 'plain' })),
      'property Version is not a variant',
    );
    expectUnexpected(() => decodeManager({ Version: V('s', 'x') }), 'no State');
    expectUnexpected(() => decodeManager(null), 'not a{sv}');
  });
});

describe('applyJobProperties', () => {
  const full = {
    Id: V('u', 4),
    State: V('s', 'running'),
    Phase: V('s', 'pull'),
    ImagesTotal: V('u', 7),
    ImagesDone: V('u', 2),
    Progress: V('d', 0.25),
    Pulled: V('as', ['a:1']),
    Removed: V('as', []),
    Errors: V('a(ss)', [['b:1', 'manifest unknown']]),
    StartedByUID: V('u', 0),
    StartTime: V('t', 5_000_000n),
    FinishTime: V('t', 0n),
    Result: V('s', ''),
    GcSkipped: V('s', ''),
    CurrentImage: V('s', 'c:1'),
    Options: V('a{sv}', { 'pull-policy': V('s', 'missing'), 'dry-run': V('b', false), gc: V('b', true) }),
  };

  it('reads a GetAll answer', () => {
    expect(applyJobProperties(emptyJob(PATH, 4), full)).toEqual({
      path: PATH,
      id: 4,
      state: 'running',
      phase: 'pull',
      imagesTotal: 7,
      imagesDone: 2,
      progress: 0.25,
      pulled: ['a:1'],
      removed: [],
      errors: [{ subject: 'b:1', message: 'manifest unknown' }],
      startedByUid: 0,
      startTime: 5_000_000,
      finishTime: 0,
      result: '',
      gcSkipped: '',
      currentImage: 'c:1',
      options: { 'pull-policy': 'missing', 'dry-run': false, gc: true },
      planned: [],
    });
  });

  it('applies a partial change on top of a view without touching the base', () => {
    const base = applyJobProperties(emptyJob(PATH, 4), full);
    const next = applyJobProperties(base, { ImagesDone: V('u', 3), Pulled: V('as', ['a:1', 'c:1']) });
    expect(next).toMatchObject({ imagesDone: 3, pulled: ['a:1', 'c:1'], currentImage: 'c:1' });
    expect(base.imagesDone).toBe(2);
    expect(base.pulled).toEqual(['a:1']);
  });

  it('reads Planned as data and drops actions it does not know', () => {
    const v = applyJobProperties(emptyJob(PATH, 4), {
      Planned: V('a(ss)', [
        ['pull', 'a:1'],
        ['untag', 'b:1'],
        ['paint', 'c:1'],
      ]),
    });
    expect(v.planned).toEqual([
      { action: 'pull', name: 'a:1' },
      { action: 'untag', name: 'b:1' },
    ]);
  });

  it('clamps Progress to 0..1 and ignores unknown properties', () => {
    const v = applyJobProperties(emptyJob(PATH, 4), { Progress: V('d', 1.5), Shiny: V('s', 'x') });
    expect(v.progress).toBe(1);
    expect(applyJobProperties(v, { Progress: V('d', -2) }).progress).toBe(0);
  });

  it('rejects wrong types', () => {
    const job = emptyJob(PATH, 4);
    expectUnexpected(() => applyJobProperties(job, { ImagesDone: V('i', 3) }), 'ImagesDone');
    expectUnexpected(() => applyJobProperties(job, { ImagesDone: V('u', -1) }), 'ImagesDone');
    expectUnexpected(() => applyJobProperties(job, { Errors: V('a(ss)', [['only one']]) }), 'Errors');
    expectUnexpected(() => applyJobProperties(job, { Pulled: V('as', 'a') }), 'Pulled');
    expectUnexpected(() => applyJobProperties(job, []), 'not a{sv}');
  });
});

describe('decodeListRows', () => {
  it('reads a(ssss) rows', () => {
    expect(decodeListRows([['r', '/f', 'present', 'sha256:1']])).toEqual([
      { reference: 'r', sourceFile: '/f', state: 'present', detail: 'sha256:1' },
    ]);
    expect(decodeListRows([])).toEqual([]);
  });

  it('rejects anything else', () => {
    for (const bad of [undefined, 'x', [['r', '/f', 'present']], [['r', '/f', 'present', 1]]]) {
      expectUnexpected(() => decodeListRows(bad), 'ListBoundImages did not return a(ssss)');
    }
  });
});
