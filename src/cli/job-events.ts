// What happened to a job between two views of it, as events the progress views print: a pure diff,
// so every line `upgrade` prints can be tested without a bus.
import { FINAL_JOB_STATES, type PlannedAction } from '../contract/index.js';
import type { JobView } from './decode.js';

export type JobEvent =
  | { kind: 'waiting' }
  | { kind: 'discovered'; total: number }
  | { kind: 'pulling'; index: number; total: number; reference: string }
  | { kind: 'pulled'; reference: string }
  | { kind: 'removed'; name: string }
  | { kind: 'planned'; action: PlannedAction; name: string }
  | { kind: 'error'; subject: string; message: string }
  | { kind: 'gc-skipped'; reason: string }
  | { kind: 'finished'; state: string; result: string };

export function isFinal(state: string): boolean {
  return FINAL_JOB_STATES.includes(state);
}

/** The job's one-line result: its Result property, else one built from State and the first error. */
export function resultLine(job: JobView): string {
  if (job.result !== '') return job.result;
  if (job.state === 'failed') {
    const first = job.errors[0];
    return first ? `failed: ${first.subject}: ${first.message}` : 'failed';
  }
  return job.state;
}

/** Items of `next` not in `prev` (both lists only grow; an item may repeat, so count occurrences). */
function added<T>(prev: readonly T[], next: readonly T[], key: (t: T) => string): T[] {
  const seen = new Map<string, number>();
  for (const p of prev) seen.set(key(p), (seen.get(key(p)) ?? 0) + 1);
  const out: T[] = [];
  for (const n of next) {
    const k = key(n);
    const left = seen.get(k) ?? 0;
    if (left > 0) seen.set(k, left - 1);
    else out.push(n);
  }
  return out;
}

const BEFORE_PLAN = new Set(['discover', 'waiting']);

/**
 * The events between `prev` (null: nothing shown yet) and `next`, in the order a reader expects:
 * waiting, discovery, current pull, pulls done, removals, planned changes, errors, GC skipped. The end is not among
 * them: only the follower knows when the job has ended (see finishedEvent).
 */
export function jobEvents(prev: JobView | null, next: JobView): JobEvent[] {
  const events: JobEvent[] = [];
  if (next.phase === 'waiting' && prev?.phase !== 'waiting') events.push({ kind: 'waiting' });

  // Announce the number of bound images once: when it is known, or when discovery is over.
  const announced = (v: JobView): boolean =>
    v.imagesTotal > 0 || (!BEFORE_PLAN.has(v.phase) && (!isFinal(v.state) || v.state === 'success'));
  if (announced(next) && !(prev !== null && announced(prev))) {
    events.push({ kind: 'discovered', total: next.imagesTotal });
  }

  if (next.currentImage !== '' && next.currentImage !== prev?.currentImage && !isFinal(next.state)) {
    events.push({
      kind: 'pulling',
      index: Math.min(next.imagesDone + 1, Math.max(next.imagesTotal, 1)),
      total: next.imagesTotal,
      reference: next.currentImage,
    });
  }

  // A dry run's Pulled and Removed only repeat its Planned as display text for older readers.
  if (next.options['dry-run'] !== true) {
    for (const reference of added(prev?.pulled ?? [], next.pulled, (s) => s)) {
      events.push({ kind: 'pulled', reference });
    }
    for (const name of added(prev?.removed ?? [], next.removed, (s) => s))
      events.push({ kind: 'removed', name });
  }
  const plannedKey = (p: { action: string; name: string }): string => `${p.action}\n${p.name}`;
  for (const p of added(prev?.planned ?? [], next.planned, plannedKey)) {
    events.push({ kind: 'planned', action: p.action, name: p.name });
  }
  for (const e of added(prev?.errors ?? [], next.errors, (x) => `${x.subject}\n${x.message}`)) {
    events.push({ kind: 'error', subject: e.subject, message: e.message });
  }
  if (next.gcSkipped !== '' && next.gcSkipped !== prev?.gcSkipped) {
    events.push({ kind: 'gc-skipped', reason: next.gcSkipped });
  }
  return events;
}

/** The last event of a job, once the follower knows it ended and has read its final properties. */
export function finishedEvent(job: JobView): JobEvent {
  return { kind: 'finished', state: job.state, result: resultLine(job) };
}

/**
 * jobEvents over a sequence of views, remembering what was shown: with several pulls in flight the
 * daemon's CurrentImage moves between them, and each image is announced as "pulling i/N" only once,
 * numbered in the order the pulls started.
 */
export class JobEventTracker {
  private prev: JobView | null = null;
  private readonly pulling = new Set<string>();
  private lastIndex = 0;

  next(view: JobView): JobEvent[] {
    const events = jobEvents(this.prev, view).flatMap((e): JobEvent[] => {
      if (e.kind !== 'pulling') return [e];
      if (this.pulling.has(e.reference)) return [];
      this.pulling.add(e.reference);
      this.lastIndex = Math.min(Math.max(e.index, this.lastIndex + 1), Math.max(e.total, 1));
      return [{ ...e, index: this.lastIndex }];
    });
    this.prev = view;
    return events;
  }
}
