// The pure parts of `bound-images jobs`: finding job objects in an introspection document, and the
// table and JSON made of decoded jobs. The bus part is tested against the daemon in
// test/integration/cli-tables.test.ts.
import { describe, expect, it } from 'vitest';
import { emptyJob, type JobView } from './decode.js';
import { formatJobs, jobPathsOf, jobsJson } from './jobs.js';

const T0 = Date.UTC(2026, 11, 2, 9, 0, 0) * 1000;

function job(id: number, fields: Partial<JobView>): JobView {
  return { ...emptyJob(`/org/bootc/BoundImages/job/${id}`, id), startTime: T0 + id * 1_000_000, ...fields };
}

describe('jobPathsOf', () => {
  it('the numbered child nodes, by number; other nodes ignored', () => {
    const xml = `<!DOCTYPE node PUBLIC "-//freedesktop//DTD D-BUS Object Introspection 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/introspect.dtd">
<node>
  <interface name="org.freedesktop.DBus.Introspectable"><method name="Introspect"/></interface>
  <node name="10"/>
  <node name="9"/>
  <node name="x"/>
  <node name="0"/>
  <node name="2"></node>
</node>`;
    expect(jobPathsOf(xml)).toEqual([
      '/org/bootc/BoundImages/job/2',
      '/org/bootc/BoundImages/job/9',
      '/org/bootc/BoundImages/job/10',
    ]);
    expect(jobPathsOf('<node></node>')).toEqual([]);
  });
});

describe('formatJobs', () => {
  const jobs = [
    job(3, {
      state: 'failed',
      phase: 'done',
      imagesTotal: 2,
      imagesDone: 2,
      result: 'failed: 1 pull(s) failed',
    }),
    job(4, {
      state: 'running',
      phase: 'pull',
      imagesTotal: 5,
      imagesDone: 2,
      progress: 0.456,
      currentImage: 'a:1',
    }),
    job(5, { state: 'running', phase: 'waiting', startedByUid: 0 }),
  ];

  it('one row per job: id, state, phase, images, start (UTC), uid, result or progress', () => {
    expect(formatJobs(jobs, true)).toBe(
      [
        'ID  STATE    PHASE    IMAGES  STARTED               UID  RESULT',
        '3   failed   done     2/2     2026-12-02T09:00:03Z  0    failed: 1 pull(s) failed',
        '4   running  pull     2/5     2026-12-02T09:00:04Z  0    45%, pulling a:1',
        '5   running  waiting  -       2026-12-02T09:00:05Z  0    waiting for the running reconcile',
        '',
      ].join('\n'),
    );
  });

  it('--no-legend: rows only; no jobs: "no jobs", or nothing without the legend', () => {
    expect(formatJobs(jobs, false).split('\n')[0]).toMatch(/^3 {2}failed {3}done/);
    expect(formatJobs([], true)).toBe('no jobs\n');
    expect(formatJobs([], false)).toBe('');
  });
});

describe('jobsJson', () => {
  it('the jobs as the job documents of upgrade --json', () => {
    const doc = jobsJson([job(3, { state: 'success', result: 'success' })]) as {
      jobs: Record<string, unknown>[];
    };
    expect(doc.jobs).toHaveLength(1);
    expect(doc.jobs[0]).toMatchObject({ job: '/org/bootc/BoundImages/job/3', id: 3, state: 'success' });
    expect(doc.jobs[0]?.startTime).toBe('2026-12-02T09:00:03Z');
  });
});
