import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { idleStatus, readVersion, runningStatus } from './daemon.js';
import type { JobSnapshot } from './reconcile/job.js';

function snap(over: Partial<JobSnapshot>): JobSnapshot {
  return {
    id: 3,
    state: 'running',
    phase: 'discover',
    imagesTotal: 0,
    imagesDone: 0,
    progress: 0,
    pulled: [],
    removed: [],
    planned: [],
    errors: [],
    gcSkipped: null,
    startedByUid: 0,
    startTime: 1,
    finishTime: 0,
    options: { extraRoots: [], pullPolicy: 'missing', dryRun: false, gc: true },
    result: '',
    current: null,
    ...over,
  };
}

describe('STATUS= lines', () => {
  it('idle before any reconcile, with the persisted result when there is one', () => {
    expect(idleStatus(null, '')).toBe('idle');
    expect(idleStatus(null, 'failed: 1 pull(s) failed')).toBe(
      'idle, last reconcile: failed: 1 pull(s) failed',
    );
  });

  it('idle after a successful reconcile counts the images present', () => {
    const done = snap({ state: 'success', phase: 'done', imagesTotal: 7, imagesDone: 7, result: 'success' });
    expect(idleStatus(done, '')).toBe('idle, 7 bound images present');
    expect(idleStatus({ ...done, imagesTotal: 1 }, '')).toBe('idle, 1 bound image present');
  });

  it('idle after a failed, cancelled or dry run says so', () => {
    expect(idleStatus(snap({ state: 'failed', result: 'failed: 2 pull(s) failed' }), '')).toBe(
      'idle, last reconcile: failed: 2 pull(s) failed',
    );
    expect(idleStatus(snap({ state: 'cancelled', result: 'cancelled' }), '')).toBe(
      'idle, last reconcile: cancelled',
    );
    const dry = snap({ state: 'success', result: 'success', imagesTotal: 3 });
    dry.options.dryRun = true;
    expect(idleStatus(dry, '')).toBe('idle, last reconcile: success (dry run)');
  });

  it('while pulling: the image being pulled, counted among all bound images', () => {
    expect(
      runningStatus(snap({ phase: 'pull', imagesTotal: 7, imagesDone: 1, current: 'quay.io/a/b:1' })),
    ).toBe('pulling 2/7 quay.io/a/b:1');
    expect(runningStatus(snap({ phase: 'pull', imagesTotal: 2, imagesDone: 2, current: null }))).toBe(
      'pulling 2/2',
    );
  });

  it('names the job in the other phases', () => {
    expect(runningStatus(snap({ phase: 'discover' }))).toBe('reconciling (job 3): discovering bound images');
    expect(runningStatus(snap({ phase: 'gc' }))).toBe('reconciling (job 3): removing images no root binds');
  });
});

describe('readVersion', () => {
  it("reads the nearest package.json's version above the module", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'read-version-'));
    try {
      await writeFile(join(dir, 'package.json'), JSON.stringify({ version: '9.8.7' }));
      await mkdir(join(dir, 'dist', 'src'), { recursive: true });
      expect(readVersion(pathToFileURL(join(dir, 'dist', 'src') + '/'))).toBe('9.8.7');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("reads this project's version", () => {
    expect(readVersion()).toMatch(/^\d+\.\d+\.\d+/);
  });
});
