import { describe, expect, it } from 'vitest';
import { emptyJob, type ManagerView } from './decode.js';
import {
  age,
  errorJson,
  formatList,
  formatStatus,
  isoTime,
  jobJson,
  listJson,
  statusJson,
} from './format.js';

const manager: ManagerView = {
  state: 'idle',
  lastResult: 'success',
  lastReconcileTime: Date.UTC(2026, 10, 3, 12, 0, 0) * 1000,
  roots: ['/', '/ostree/deploy/*/deploy/*'],
  storePath: '/usr/lib/bootc/storage',
  version: '0.1.0',
  currentJob: null,
  staged: null,
};
const NOW = Date.UTC(2026, 10, 3, 12, 5, 0);
const running = {
  ...emptyJob('/org/bootc/BoundImages/job/3', 3),
  phase: 'pull',
  imagesTotal: 7,
  imagesDone: 2,
  progress: 0.4,
  currentImage: 'quay.io/a/b:1',
};

describe('times', () => {
  it('prints µs timestamps as ISO 8601, 0 as never', () => {
    expect(isoTime(manager.lastReconcileTime)).toBe('2026-11-03T12:00:00Z');
    expect(isoTime(0)).toBeNull();
  });

  it('says how long ago', () => {
    const t = (ms: number) => (NOW - ms) * 1000;
    expect(age(t(5_000), NOW)).toBe('5 s ago');
    expect(age(t(5 * 60_000), NOW)).toBe('5 min ago');
    expect(age(t(3 * 3_600_000), NOW)).toBe('3 h ago');
    expect(age(t(3 * 86_400_000), NOW)).toBe('3 days ago');
    expect(age(t(-5_000), NOW)).toBe('0 s ago');
  });
});

describe('formatStatus', () => {
  it('prints one aligned line per field', () => {
    expect(formatStatus(manager, null, NOW)).toBe(
      [
        'State:          idle',
        'Last result:    success',
        'Last reconcile: 2026-11-03T12:00:00Z (5 min ago)',
        'Current job:    none',
        'Roots:          / /ostree/deploy/*/deploy/*',
        'Store:          /usr/lib/bootc/storage',
        'Version:        0.1.0',
        'Staged:         none',
        '',
      ].join('\n'),
    );
  });

  it('says never / none yet before the first reconcile, and summarizes a running job', () => {
    const text = formatStatus(
      { ...manager, state: 'reconciling', lastResult: '', lastReconcileTime: 0, currentJob: running.path },
      running,
      NOW,
    );
    expect(text).toContain('Last result:    (none yet)\n');
    expect(text).toContain('Last reconcile: never\n');
    expect(text).toContain('Current job:    job 3: running, pull, 2/7 images, 40%, pulling quay.io/a/b:1\n');
  });
});

describe('formatList', () => {
  it('aligns columns and leaves the detail unpadded', () => {
    expect(
      formatList([
        {
          reference: 'docker.io/library/nginx:latest',
          sourceFile: '/usr/share/containers/systemd/web.image',
          state: 'present',
          detail: 'sha256:ab',
        },
        { reference: 'q.io/x:1', sourceFile: '/a.container', state: 'missing', detail: '' },
      ]),
    ).toBe(
      [
        'STATE    REFERENCE                       SOURCE                                   DETAIL',
        'present  docker.io/library/nginx:latest  /usr/share/containers/systemd/web.image  sha256:ab',
        'missing  q.io/x:1                        /a.container',
        '',
      ].join('\n'),
    );
  });

  it('says so when nothing is bound', () => {
    expect(formatList([])).toBe('no bound images\n');
  });
});

describe('JSON documents', () => {
  it('status: nulls for never / none, ISO times, the current job in full', () => {
    expect(statusJson({ ...manager, lastResult: '', lastReconcileTime: 0 }, null)).toEqual({
      state: 'idle',
      lastResult: null,
      lastReconcileTime: null,
      roots: manager.roots,
      storePath: manager.storePath,
      version: '0.1.0',
      currentJob: null,
      staged: null,
    });
    expect(statusJson(manager, running)).toMatchObject({
      lastReconcileTime: '2026-11-03T12:00:00Z',
      currentJob: { job: running.path, id: 3, phase: 'pull', imagesDone: 2 },
    });
  });

  it('job: every field, times as ISO or null', () => {
    const done = {
      ...running,
      state: 'failed',
      result: 'failed: x',
      startTime: 1e15,
      finishTime: 0,
      gcSkipped: 'a pull failed',
    };
    expect(jobJson(done)).toEqual({
      job: running.path,
      id: 3,
      state: 'failed',
      result: 'failed: x',
      phase: 'pull',
      imagesTotal: 7,
      imagesDone: 2,
      progress: 0.4,
      pulled: [],
      removed: [],
      errors: [],
      gcSkipped: 'a pull failed',
      startedByUid: 0,
      startTime: '2001-09-09T01:46:40Z',
      finishTime: null,
      options: {},
      planned: [],
    });
  });

  it('list and error', () => {
    expect(listJson([])).toEqual({ images: [] });
    expect(errorJson(3, 'no bus')).toEqual({ error: 'no bus', exitCode: 3 });
  });
});
