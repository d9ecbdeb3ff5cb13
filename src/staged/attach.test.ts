// attachStaged()'s hand-over with PendingWork at daemon start, on real files (temp dirs: ostree's run
// directory with a marker in ostree's format, the state file, pending-work.json). Only the reconciler
// is a stand-in that counts the reconciles started.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { EventEmitter } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultConfig } from '../config/schema.js';
import { PendingWork } from '../lifecycle/pending-work.js';
import type { Reconciler } from '../reconcile/reconciler.js';
import { StateStore } from '../state/state-store.js';
import type { Logger } from '../systemd/log.js';
import { attachStaged, STAGED_RETRY } from './attach.js';
import { encodeVardict } from './gvariant.js';
import { STAGED_MARKER } from './marker.js';

const CSUM = 'c'.repeat(64);
const quiet = (): void => undefined;
const logger = { err: quiet, warning: quiet, notice: quiet, info: quiet, debug: quiet } as unknown as Logger;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let dir: string;
let stateDir: string;
let runDir: string;
let started: number;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'staged-attach-'));
  stateDir = join(dir, 'state');
  runDir = join(dir, 'run-ostree');
  await mkdir(runDir, { recursive: true });
  started = 0;
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function daemonStart(): Promise<{ work: PendingWork; stop(): void; start(): Promise<void> }> {
  const config = defaultConfig();
  config.staged = {
    lockFinalization: true,
    ostreeRunDir: runDir,
    sysroot: join(dir, 'sysroot'),
    retryDelayMs: 1000,
    retryMaxDelayMs: 8000,
  };
  const state = await StateStore.open(stateDir, logger);
  const work = await PendingWork.open(stateDir, quiet, logger);
  const reconciler = Object.assign(new EventEmitter(), {
    busy: false,
    start: () => ({ id: ++started }),
  }) as unknown as Reconciler;
  const wiring = attachStaged({
    config,
    logger,
    reconciler,
    deps: { store: { listImages: () => Promise.resolve([]) } } as never,
    state,
    pendingWork: work,
  });
  // As startDaemon() does: the timers run before the guard has judged the deployment.
  work.arm();
  return {
    work,
    start: () => wiring.start(),
    stop: () => {
      wiring.stop();
      work.close();
    },
  };
}

async function leftByLastProcess(dueAt: number, staged: { nextRetryAt: number } | null): Promise<void> {
  const state = await StateStore.open(stateDir, logger);
  if (staged) {
    await state.setStaged({
      deployment: `os/${CSUM}.0`,
      lock: null,
      attempts: 2,
      nextRetryAt: staged.nextRetryAt,
      lockOverridden: false,
    });
  }
  await state.flush();
  const work = await PendingWork.open(stateDir, quiet, logger);
  await work.schedule(STAGED_RETRY, dueAt, 'retry the missing bound images of the staged deployment');
  work.close();
}

describe('attachStaged with PendingWork', () => {
  it('an overdue entry and a later schedule in the state file: the state file wins, one entry, no retry yet', async () => {
    const target = { target: { name: `${CSUM}.0`, osname: 'os', bootcsum: CSUM } };
    await writeFile(join(runDir, STAGED_MARKER), encodeVardict(target));
    const later = Date.now() + 60_000;
    await leftByLastProcess(Date.now() - 1000, { nextRetryAt: later });

    const d = await daemonStart();
    await sleep(30); // the overdue entry falls due before the guard has started
    await d.start();
    await sleep(30);
    expect(started).toBe(0);
    expect(d.work.list().map((e) => [e.key, e.dueAt])).toEqual([[STAGED_RETRY, later]]);
    d.stop();
  });

  it('an overdue entry, and at start no retry scheduled (nothing staged): the owed retry runs once', async () => {
    await leftByLastProcess(Date.now() - 1000, null);
    const d = await daemonStart();
    await sleep(30);
    await d.start();
    await sleep(30);
    expect(started).toBe(1);
    expect(d.work.list()).toEqual([]);
    d.stop();
  });

  it('a staged deployment with images missing and no schedule yet: retried at once through the entry', async () => {
    const target = { target: { name: `${CSUM}.0`, osname: 'os', bootcsum: CSUM } };
    await writeFile(join(runDir, STAGED_MARKER), encodeVardict(target));
    const d = await daemonStart();
    await d.start();
    await sleep(50);
    expect(started).toBe(1);
    expect(d.work.list()).toEqual([]);
    d.stop();
  });
});
