// The reconcile scheduler: single flight (one reconcile at a time; a request with the same options
// joins the running or queued job), a bounded queue for other options, cancellation, and the
// registry of recent jobs (the running one, the queued ones, and the last `keepJobs` finished).
import { EventEmitter } from 'node:events';
import { Job, optionsKey, type ReconcileOptions } from './job.js';
import type { RunDeps } from './run.js';

/** Job ids are D-Bus `u`; after the last one numbering starts again at 1. */
export const MAX_JOB_ID = 0xffffffff;

/** At most this many distinct queued requests; more is refused (memory stays bounded). */
export const MAX_QUEUED = 16;

export class QueueFullError extends Error {
  constructor() {
    super(`too many reconciles queued (${MAX_QUEUED}); try again when the current one finishes`);
  }
}

export interface ReconcilerEvents {
  /** A new job object exists (export it). */
  added: [Job];
  /** A job finished (its final state is set). */
  finished: [Job];
  /** A finished job fell out of the kept history (unexport it). */
  pruned: [Job];
}

export class Reconciler extends EventEmitter<ReconcilerEvents> {
  private nextId: number;
  private readonly jobs = new Map<number, Job>();
  private readonly queue: Job[] = [];
  private current: Job | null = null;
  private loop: Promise<void> | null = null;
  private closed = false;

  /** `firstId`: the number of the first job (the daemon continues where the last process stopped). */
  constructor(
    private readonly deps: RunDeps,
    private readonly keepJobs: number,
    firstId = 1,
  ) {
    super();
    this.nextId = Number.isSafeInteger(firstId) && firstId >= 1 && firstId <= MAX_JOB_ID ? firstId : 1;
  }

  /** The running job, if any. */
  get running(): Job | null {
    return this.current;
  }

  get busy(): boolean {
    return this.current !== null || this.queue.length > 0;
  }

  /** Start (or join) a reconcile; returns its job at once. */
  start(options: ReconcileOptions, uid: number): Job {
    if (this.closed) throw new Error('the daemon is stopping');
    const key = optionsKey(options);
    const same = (j: Job | null): j is Job =>
      !!j && !j.finished && !j.cancelled && optionsKey(j.options) === key;
    if (same(this.current)) return this.current;
    const queued = this.queue.find((j) => same(j));
    if (queued) return queued;
    if (this.queue.length >= MAX_QUEUED) throw new QueueFullError();
    const job = new Job(this.nextId, options, uid);
    this.nextId = this.nextId >= MAX_JOB_ID ? 1 : this.nextId + 1;
    this.jobs.set(job.id, job);
    job.once('finished', () => this.finished(job));
    this.queue.push(job);
    this.emit('added', job);
    this.loop ??= this.drain().finally(() => {
      this.loop = null;
    });
    return job;
  }

  get(id: number): Job | undefined {
    return this.jobs.get(id);
  }

  list(): Job[] {
    return [...this.jobs.values()];
  }

  /** Cancel a job: a queued one ends at once; a running one aborts its pulls and skips GC. */
  cancel(id: number, byUid?: number): boolean {
    const job = this.jobs.get(id);
    if (!job || job.finished) return false;
    if (byUid !== undefined) job.cancelledByUid ??= byUid;
    job.abort.abort();
    const i = this.queue.indexOf(job);
    if (i >= 0) {
      this.queue.splice(i, 1);
      job.skipGc('the reconcile was cancelled');
      job.end('cancelled');
    }
    return true;
  }

  /** Cancel everything and wait for the running reconcile to stop. */
  async shutdown(): Promise<void> {
    this.closed = true;
    for (const j of [...this.queue]) this.cancel(j.id);
    if (this.current) this.current.abort.abort();
    await this.loop;
  }

  private async drain(): Promise<void> {
    for (let job = this.queue.shift(); job; job = this.queue.shift()) {
      this.current = job;
      try {
        // The job has left the queue: it is no longer waiting for another reconcile, even while the
        // run's modules (plan, pool, GC, journal: off the start path) load on the first job.
        job.setPhase('discover');
        const { runReconcile } = await import('./run.js');
        await runReconcile(job, this.deps);
      } finally {
        this.current = null;
        if (!job.finished) job.end('failed', 'internal error: reconcile ended without a result');
      }
    }
  }

  private finished(job: Job): void {
    if (this.current === job) this.current = null;
    this.emit('finished', job);
    const done = [...this.jobs.values()].filter((j) => j.finished);
    for (const old of done.slice(0, Math.max(0, done.length - this.keepJobs))) {
      this.jobs.delete(old.id);
      this.emit('pruned', old);
    }
  }
}
