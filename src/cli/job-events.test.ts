import { describe, expect, it } from 'vitest';
import type { JobView } from './decode.js';
import { emptyJob } from './decode.js';
import { eventLine } from './format.js';
import { finishedEvent, JobEventTracker, jobEvents, resultLine } from './job-events.js';

const PATH = '/org/bootc/BoundImages/job/2';
const job = (over: Partial<JobView>): JobView => ({ ...emptyJob(PATH, 2), ...over });

/** The plain lines a sequence of views produces, as PlainReporter prints them. */
function lines(views: JobView[]): string[] {
  const tracker = new JobEventTracker();
  return views.flatMap((v) => tracker.next(v).map(eventLine));
}

describe('jobEvents', () => {
  it('is a diff: nothing between a view and itself, everything against nothing', () => {
    const v = job({ phase: 'gc', imagesTotal: 1, imagesDone: 1, pulled: ['a:1'], removed: ['x:1'] });
    expect(jobEvents(v, v)).toEqual([]);
    expect(jobEvents(null, v).map((e) => e.kind)).toEqual(['discovered', 'pulled', 'removed']);
  });

  it('tells a reconcile as it happens: discovery, each pull, each removal', () => {
    const views = [
      job({ phase: 'discover' }),
      job({ phase: 'pull', imagesTotal: 3, imagesDone: 1, currentImage: 'q.io/a:1' }),
      job({ phase: 'pull', imagesTotal: 3, imagesDone: 2, currentImage: 'q.io/b:1', pulled: ['q.io/a:1'] }),
      job({
        phase: 'gc',
        imagesTotal: 3,
        imagesDone: 3,
        pulled: ['q.io/a:1', 'q.io/b:1'],
        removed: ['old:1'],
      }),
    ];
    expect(lines(views)).toEqual([
      'found 3 bound images',
      'pulling 2/3 q.io/a:1',
      'pulling 3/3 q.io/b:1',
      'pulled q.io/a:1',
      'pulled q.io/b:1',
      'removed old:1',
    ]);
  });

  it('announces each concurrent pull once, numbered in the order the pulls started', () => {
    const base = { phase: 'pull', imagesTotal: 4 };
    const views = [
      job({ ...base, imagesDone: 1, currentImage: 'a:1' }),
      job({ ...base, imagesDone: 1, currentImage: 'b:1' }),
      job({ ...base, imagesDone: 1, currentImage: 'a:1' }),
      job({ ...base, imagesDone: 2, currentImage: 'c:1', pulled: ['a:1'] }),
      job({ ...base, imagesDone: 3, currentImage: 'b:1', pulled: ['a:1', 'c:1'] }),
    ];
    expect(lines(views)).toEqual([
      'found 4 bound images',
      'pulling 2/4 a:1',
      'pulling 3/4 b:1',
      'pulling 4/4 c:1',
      'pulled a:1',
      'pulled c:1',
    ]);
  });

  it('numbers a pull after the images already present', () => {
    expect(lines([job({ phase: 'pull', imagesTotal: 7, imagesDone: 5, currentImage: 'x:1' })])).toContain(
      'pulling 6/7 x:1',
    );
  });

  it('announces the count before the would-pull lines of a quick dry run', () => {
    const a = job({
      phase: 'discover',
      imagesTotal: 2,
      options: { 'dry-run': true },
      pulled: ['a:1 (dry run: would pull)'],
      planned: [{ action: 'pull', name: 'a:1' }],
    });
    const b = job({ ...a, phase: 'done', state: 'success' });
    expect(lines([job({}), a, b])).toEqual(['found 2 bound images', 'would pull a:1']);
  });

  it('shows everything already done when joining a job late (first view)', () => {
    const v = job({ phase: 'gc', imagesTotal: 1, imagesDone: 1, pulled: ['a:1'], removed: ['x:1', 'y:1'] });
    expect(lines([v])).toEqual(['found 1 bound image', 'pulled a:1', 'removed x:1', 'removed y:1']);
  });

  it('never repeats a line for a view that did not change', () => {
    const v = job({ phase: 'pull', imagesTotal: 2, currentImage: 'a:1', pulled: ['z:1'] });
    expect(lines([v, { ...v }, { ...v, progress: 0.5 }])).toEqual([
      'found 2 bound images',
      'pulling 1/2 a:1',
      'pulled z:1',
    ]);
  });

  it('prints a repeated entry as often as it was added', () => {
    expect(lines([job({ removed: ['x:1'] }), job({ removed: ['x:1', 'x:1'] })])).toEqual([
      'removed x:1',
      'removed x:1',
    ]);
  });

  it('shows the dry-run markers as would-lines', () => {
    const v = job({
      phase: 'done',
      state: 'success',
      imagesTotal: 1,
      options: { 'dry-run': true },
      pulled: ['a:1 (dry run: would pull)'],
      removed: ['old:2 (dry run: would remove)'],
      planned: [
        { action: 'pull', name: 'a:1' },
        { action: 'remove', name: 'old:2' },
      ],
    });
    expect(lines([v])).toEqual(['found 1 bound image', 'would pull a:1', 'would remove old:2']);
  });

  it('a dry run says what it would untag and never that it removed anything', () => {
    const v = job({
      phase: 'done',
      state: 'success',
      options: { 'dry-run': true },
      removed: ['extra:1 (dry run: would untag)', 'old:2 (dry run: would remove)'],
      planned: [
        { action: 'untag', name: 'extra:1' },
        { action: 'remove', name: 'old:2' },
      ],
    });
    expect(lines([v])).toEqual(['found 0 bound images', 'would untag extra:1', 'would remove old:2']);
  });

  it('reports waiting, errors and a skipped GC once each', () => {
    const a = job({ phase: 'waiting' });
    const b = job({
      phase: 'pull',
      imagesTotal: 2,
      errors: [{ subject: 'b:1', message: 'manifest unknown' }],
    });
    const c = { ...b, gcSkipped: 'a pull failed' };
    expect(lines([a, a, b, c, c])).toEqual([
      'waiting for the running reconcile to finish',
      'found 2 bound images',
      'error: b:1: manifest unknown',
      'gc skipped: a pull failed',
    ]);
  });

  it('does not claim a discovery when the job failed before finding anything', () => {
    expect(
      lines([job({ phase: 'done', state: 'failed', errors: [{ subject: '/r', message: 'unreadable' }] })]),
    ).toEqual(['error: /r: unreadable']);
  });

  it('does not announce a pull once the job has ended', () => {
    expect(lines([job({ phase: 'done', state: 'cancelled', imagesTotal: 1, currentImage: 'a:1' })])).toEqual([
      'found 1 bound image',
    ]);
  });
});

describe('the final line', () => {
  it('is the Result property when the daemon sets it', () => {
    expect(eventLine(finishedEvent(job({ state: 'success', result: 'success' })))).toBe('success');
    expect(eventLine(finishedEvent(job({ state: 'failed', result: 'failed: 1 pull failed' })))).toBe(
      'failed: 1 pull failed',
    );
  });

  it('is built from State and the first error otherwise', () => {
    expect(resultLine(job({ state: 'failed', errors: [{ subject: 'a:1', message: 'boom' }] }))).toBe(
      'failed: a:1: boom',
    );
    expect(resultLine(job({ state: 'failed' }))).toBe('failed');
    expect(resultLine(job({ state: 'cancelled' }))).toBe('cancelled');
    expect(resultLine(job({ state: 'success' }))).toBe('success');
  });
});
