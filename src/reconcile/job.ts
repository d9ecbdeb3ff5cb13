// The progress model of one reconcile: a Job's state, phase, counters, per-image states and results.
// It knows nothing of D-Bus; the D-Bus layer mirrors its `changed` events as PropertiesChanged.
import { EventEmitter } from 'node:events';
import type { PlannedChange, PullPolicy } from '../contract/index.js';

export type { PlannedChange, PullPolicy } from '../contract/index.js';

export type JobState = 'running' | 'success' | 'failed' | 'cancelled';
/** `waiting`: queued behind a reconcile with other options (only one reconcile runs at a time). */
export type JobPhase = 'waiting' | 'discover' | 'pull' | 'gc' | 'done';
export type ImageState = 'present' | 'missing' | 'pulling' | 'pulled' | 'failed';

export interface ReconcileOptions {
  /** Extra deployment roots for this run (host paths), on top of the configured and remembered ones. */
  extraRoots: string[];
  pullPolicy: PullPolicy;
  dryRun: boolean;
  gc: boolean;
}

export interface JobError {
  /** A reference, a file path, or a root: what the error is about. */
  subject: string;
  message: string;
}

/** A snapshot of every public field, as the D-Bus layer, the journal and STATUS= read it. */
export interface JobSnapshot {
  id: number;
  state: JobState;
  phase: JobPhase;
  imagesTotal: number;
  imagesDone: number;
  progress: number;
  /** References pulled (never in a dry run). */
  pulled: string[];
  /** Names removed or untagged by GC (never in a dry run). */
  removed: string[];
  /** What a dry run would change, in order (empty outside a dry run). */
  planned: PlannedChange[];
  errors: JobError[];
  gcSkipped: string | null;
  startedByUid: number;
  startTime: number;
  finishTime: number;
  options: ReconcileOptions;
  /** The one-line result: `success`, `failed: …`, `cancelled`. Empty while running. */
  result: string;
  /** The image currently being pulled, for STATUS= lines. */
  current: string | null;
}

/** Names of the snapshot fields a `changed` event reports. */
export type JobField = keyof JobSnapshot;

export function optionsKey(o: ReconcileOptions): string {
  return JSON.stringify([[...o.extraRoots].sort(), o.pullPolicy, o.dryRun, o.gc]);
}

/** Microseconds since the epoch, the unit of D-Bus `t` timestamps in systemd APIs. */
export function nowUsec(): number {
  return Date.now() * 1000;
}

/**
 * A reconcile job. Mutators emit `changed` with the list of fields that moved, so listeners can send
 * one PropertiesChanged per batch; progress updates are coalesced by the caller's throttle.
 * Emits `finished` once, with the final snapshot.
 */
export class Job extends EventEmitter {
  readonly id: number;
  readonly options: ReconcileOptions;
  readonly startedByUid: number;
  readonly startTime: number = nowUsec();
  readonly abort = new AbortController();
  /** Who cancelled the job (UID), when a caller did; unset for a shutdown. */
  cancelledByUid: number | undefined;
  private s: JobState = 'running';
  private p: JobPhase = 'waiting';
  private total = 0;
  private done = 0;
  private inflight = new Map<string, number>();
  private readonly pulledList: string[] = [];
  private readonly removedList: string[] = [];
  private readonly plannedList: PlannedChange[] = [];
  private readonly errorList: JobError[] = [];
  private gcSkip: string | null = null;
  private finish = 0;
  private resultText = '';
  private currentImage: string | null = null;
  /** Per-reference state of this run's images (which pulls are in flight; not on the bus). */
  readonly images = new Map<string, ImageState>();

  constructor(id: number, options: ReconcileOptions, startedByUid: number) {
    super();
    this.id = id;
    this.options = options;
    this.startedByUid = startedByUid;
  }

  get state(): JobState {
    return this.s;
  }
  get phase(): JobPhase {
    return this.p;
  }
  get finished(): boolean {
    return this.s !== 'running';
  }
  get cancelled(): boolean {
    return this.abort.signal.aborted;
  }

  get progress(): number {
    if (this.s === 'success') return 1;
    if (this.total === 0) return this.p === 'done' ? 1 : 0;
    let partial = 0;
    for (const f of this.inflight.values()) partial += f;
    return Math.min(1, (this.done + partial) / this.total);
  }

  snapshot(): JobSnapshot {
    return {
      id: this.id,
      state: this.s,
      phase: this.p,
      imagesTotal: this.total,
      imagesDone: this.done,
      progress: this.progress,
      pulled: [...this.pulledList],
      removed: [...this.removedList],
      planned: this.plannedList.map((p) => ({ ...p })),
      errors: this.errorList.map((e) => ({ ...e })),
      gcSkipped: this.gcSkip,
      startedByUid: this.startedByUid,
      startTime: this.startTime,
      finishTime: this.finish,
      options: { ...this.options, extraRoots: [...this.options.extraRoots] },
      result: this.resultText,
      current: this.currentImage,
    };
  }

  private changed(fields: JobField[]): void {
    this.emit('changed', fields);
  }

  setPhase(phase: JobPhase): void {
    if (this.p === phase) return;
    this.p = phase;
    this.changed(['phase']);
  }

  /** Sets the image list: `present` ones count as done at once. */
  setImages(states: ReadonlyMap<string, ImageState>): void {
    this.images.clear();
    for (const [ref, st] of states) this.images.set(ref, st);
    this.total = states.size;
    this.done = [...states.values()].filter((s) => s === 'present').length;
    this.changed(['imagesTotal', 'imagesDone', 'progress']);
  }

  pullStarted(reference: string): void {
    this.images.set(reference, 'pulling');
    this.inflight.set(reference, 0);
    this.currentImage = reference;
    this.changed(['current']);
  }

  /** Fraction (0..1) of one in-flight pull; callers throttle how often they report. */
  pullProgress(reference: string, fraction: number): void {
    if (!this.inflight.has(reference)) return;
    this.inflight.set(reference, Math.max(0, Math.min(1, fraction)));
    this.changed(['progress']);
  }

  pullFinished(reference: string, ok: boolean, message?: string): void {
    this.inflight.delete(reference);
    this.images.set(reference, ok ? 'pulled' : 'failed');
    this.done += 1;
    const fields: JobField[] = ['imagesDone', 'progress'];
    if (ok) {
      this.pulledList.push(reference);
      fields.push('pulled');
    } else {
      this.errorList.push({ subject: reference, message: message ?? 'pull failed' });
      fields.push('errors');
    }
    if (this.currentImage === reference) {
      this.currentImage = this.inflight.keys().next().value ?? null;
      fields.push('current');
    }
    this.changed(fields);
  }

  addError(subject: string, message: string): void {
    this.errorList.push({ subject, message });
    this.changed(['errors']);
  }

  /** Records a change a dry run would make. */
  addPlanned(change: PlannedChange): void {
    this.plannedList.push({ ...change });
    this.changed(['planned']);
  }

  addRemoved(name: string): void {
    this.removedList.push(name);
    this.changed(['removed']);
  }

  skipGc(reason: string): void {
    this.gcSkip = reason;
    this.changed(['gcSkipped']);
  }

  get errors(): readonly JobError[] {
    return this.errorList;
  }
  get gcSkipped(): string | null {
    return this.gcSkip;
  }

  /** Ends the job once; later calls are ignored. */
  end(state: Exclude<JobState, 'running'>, reason?: string): void {
    if (this.finished) return;
    this.s = state;
    this.p = 'done';
    this.finish = nowUsec();
    this.inflight.clear();
    this.currentImage = null;
    this.resultText = state === 'failed' ? `failed: ${reason ?? 'unknown error'}` : state;
    this.changed(['state', 'phase', 'finishTime', 'progress', 'result', 'current']);
    this.emit('finished', this.snapshot());
  }
}
