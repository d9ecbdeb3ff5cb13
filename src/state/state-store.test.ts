import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MessageId } from '../systemd/message-ids.js';
import { MAX_REMEMBERED_ROOTS, parseState, serializeState, StateFormatError } from './state-file.js';
import { StateStore, type StateLogger } from './state-store.js';

interface Logged {
  level: string;
  message: string;
  fields?: Record<string, string | number | undefined>;
}

function recorder(): StateLogger & { lines: Logged[] } {
  const lines: Logged[] = [];
  const at =
    (level: string) =>
    (message: string, fields?: Record<string, string | number | undefined>): void => {
      lines.push({ level, message, ...(fields ? { fields } : {}) });
    };
  return { lines, err: at('err'), warning: at('warning'), notice: at('notice') };
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'state-store-'));
});
afterEach(async () => {
  await chmod(dir, 0o755).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

describe('StateStore', () => {
  it('starts fresh and silent when there is no state file, creating the directory', async () => {
    const log = recorder();
    const store = await StateStore.open(join(dir, 'var', 'lib', 'bound-imaged'), log);
    expect(store.rememberedRoots).toEqual([]);
    expect(store.lastResult).toBe('');
    expect(store.lastReconcileTime).toBe(0);
    expect(log.lines).toEqual([]);
  });

  it('keeps roots, result and time across a restart', async () => {
    const root = await mkdtemp(join(dir, 'deploy-'));
    const a = await StateStore.open(dir, recorder());
    await a.rememberRoot(root);
    await a.recordResult('failed: 1 pull(s) failed', 1_700_000_000_123_456);
    const b = await StateStore.open(dir, recorder());
    expect(b.rememberedRoots).toEqual([root]);
    expect(b.lastResult).toBe('failed: 1 pull(s) failed');
    expect(b.lastReconcileTime).toBe(1_700_000_000_123_456);
  });

  it('remembers a root once', async () => {
    const store = await StateStore.open(dir, recorder());
    await store.rememberRoot('/a');
    await store.rememberRoot('/a');
    expect(store.rememberedRoots).toEqual(['/a']);
  });

  it('leaves no temp file behind and writes valid JSON', async () => {
    const store = await StateStore.open(dir, recorder());
    await Promise.all([store.rememberRoot('/a'), store.rememberRoot('/b'), store.recordResult('success', 1)]);
    await store.flush();
    expect(await readdir(dir)).toEqual(['state.json']);
    expect(parseState(await readFile(join(dir, 'state.json'), 'utf8'))).toEqual({
      rememberedRoots: ['/a', '/b'],
      lastResult: 'success',
      lastReconcileTime: 1,
      lastJobId: 0,
      staged: null,
    });
  });

  it('keeps the last job number; a file without one (older format) reads as 0', async () => {
    const store = await StateStore.open(dir, recorder());
    await store.recordJobId(41);
    await store.flush();
    expect((await StateStore.open(dir, recorder())).lastJobId).toBe(41);
    expect(
      parseState('{"version":1,"rememberedRoots":[],"lastResult":"","lastReconcileTime":0}').lastJobId,
    ).toBe(0);
    expect(() =>
      parseState(
        '{"version":1,"rememberedRoots":[],"lastResult":"","lastReconcileTime":0,"lastJobId":4294967296}',
      ),
    ).toThrow(/lastJobId must be an integer from 0 to 4294967295/);
  });

  it.each([
    ['not JSON', '{"version": 1, '],
    ['an array', '[]'],
    ['an unknown version', '{"version": 7, "rememberedRoots": [], "lastResult": "", "lastReconcileTime": 0}'],
    ['a relative root', '{"version": 1, "rememberedRoots": ["x"], "lastResult": "", "lastReconcileTime": 0}'],
    ['a negative time', '{"version": 1, "rememberedRoots": [], "lastResult": "", "lastReconcileTime": -1}'],
    ['an empty file', ''],
  ])('warns about a corrupt file (%s), keeps it aside and starts fresh', async (_what, text) => {
    await writeFile(join(dir, 'state.json'), text);
    const log = recorder();
    const store = await StateStore.open(dir, log);
    expect(store.rememberedRoots).toEqual([]);
    expect(store.lastResult).toBe('');
    expect(log.lines).toHaveLength(1);
    expect(log.lines[0]?.level).toBe('warning');
    expect(log.lines[0]?.message).toMatch(
      /state\.json is corrupt .*fresh state.*kept as .*state\.json\.corrupt/,
    );
    expect(await readFile(join(dir, 'state.json.corrupt'), 'utf8')).toBe(text);
    // The next write replaces the corrupt file with a valid one.
    await store.recordResult('success', 5);
    expect(parseState(await readFile(join(dir, 'state.json'), 'utf8')).lastResult).toBe('success');
  });

  it('warns and starts fresh when the state file is a directory', async () => {
    await mkdir(join(dir, 'state.json'));
    const log = recorder();
    const store = await StateStore.open(dir, log);
    expect(store.rememberedRoots).toEqual([]);
    expect(log.lines[0]?.level).toBe('warning');
  });

  it('forgets a remembered root that no longer exists, with a RootForgotten notice', async () => {
    const kept = await mkdtemp(join(dir, 'kept-'));
    const gone = await mkdtemp(join(dir, 'gone-'));
    const log = recorder();
    const store = await StateStore.open(dir, log);
    await store.rememberRoot(kept);
    await store.rememberRoot(gone);
    await rm(gone, { recursive: true });
    expect(await store.liveRoots()).toEqual([kept]);
    expect(log.lines).toEqual([
      {
        level: 'notice',
        message: `forgetting remembered root ${gone}: it no longer exists`,
        fields: { messageId: MessageId.RootForgotten, root: gone },
      },
    ]);
    const again = await StateStore.open(dir, recorder());
    expect(again.rememberedRoots).toEqual([kept]);
  });

  it('keeps a remembered root that exists but cannot be examined', async () => {
    const parent = await mkdtemp(join(dir, 'locked-'));
    const root = join(parent, 'deploy');
    await mkdir(root);
    const store = await StateStore.open(dir, recorder());
    await store.rememberRoot(root);
    // Root bypasses permissions, so make the path unresolvable another way: a loop of symlinks is
    // ELOOP ("cannot look"), not ENOENT ("gone").
    const { symlink } = await import('node:fs/promises');
    await symlink(join(dir, 'loop-b'), join(dir, 'loop-a'));
    await symlink(join(dir, 'loop-a'), join(dir, 'loop-b'));
    await store.rememberRoot(join(dir, 'loop-a'));
    expect(await store.liveRoots()).toEqual([root, join(dir, 'loop-a')]);
  });

  it('reports a failed write and keeps the state in memory', async () => {
    const log = recorder();
    const store = await StateStore.open(dir, log);
    await rm(dir, { recursive: true });
    await store.recordResult('success', 9);
    expect(store.lastResult).toBe('success');
    expect(log.lines.map((l) => l.level)).toEqual(['err']);
    expect(log.lines[0]?.message).toMatch(/cannot write the state file/);
  });

  it(`drops the oldest remembered root beyond ${MAX_REMEMBERED_ROOTS}`, async () => {
    const log = recorder();
    const store = await StateStore.open(dir, log);
    for (let i = 0; i <= MAX_REMEMBERED_ROOTS; i++) await store.rememberRoot(`/r${i}`);
    expect(store.rememberedRoots).toHaveLength(MAX_REMEMBERED_ROOTS);
    expect(store.rememberedRoots[0]).toBe('/r1');
    expect(log.lines.map((l) => l.level)).toEqual(['warning']);
  });
});

describe('state file format', () => {
  it('round-trips', () => {
    const s = {
      rememberedRoots: ['/a', '/b'],
      lastResult: 'cancelled',
      lastReconcileTime: 42,
      lastJobId: 7,
      staged: null,
    };
    expect(parseState(serializeState(s))).toEqual(s);
  });

  it('reads a file written before the staged field existed, and round-trips a staged record', () => {
    expect(
      parseState('{"version":1,"rememberedRoots":[],"lastResult":"","lastReconcileTime":0}').staged,
    ).toBe(null);
    const deployment = `os/${'a'.repeat(64)}.1`;
    const s = {
      rememberedRoots: [],
      lastResult: '',
      lastReconcileTime: 0,
      lastJobId: 0,
      staged: {
        deployment,
        lock: { token: 'f'.repeat(32), deployment, dev: 64, ino: 9, takenAt: 1_700_000_000_000 },
        attempts: 2,
        nextRetryAt: 1_700_000_060_000,
        lockOverridden: false,
      },
    };
    expect(parseState(serializeState(s))).toEqual(s);
    const bad = JSON.stringify({
      version: 1,
      rememberedRoots: [],
      lastResult: '',
      lastReconcileTime: 0,
      staged: { ...s.staged, attempts: -1 },
    });
    expect(() => parseState(bad)).toThrow(/staged\.attempts/);
  });

  it('names what is wrong', () => {
    expect(() =>
      parseState('{"version":1,"rememberedRoots":[1],"lastResult":"","lastReconcileTime":0}'),
    ).toThrow(StateFormatError);
    expect(() =>
      parseState('{"version":1,"rememberedRoots":[],"lastResult":3,"lastReconcileTime":0}'),
    ).toThrow(/lastResult/);
  });
});
