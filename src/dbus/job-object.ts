// The org.bootc.BoundImages.Job object of one reconcile job: read-only properties mirroring the
// Job's snapshot, and PropertiesChanged for the fields the Job reports as changed (progress coalesced).
import dbus from 'dbus-next';
import type { Job, JobField } from '../reconcile/job.js';
import { JOB_INTERFACE, JOB_SPEC, jobPath } from './contract.js';
import { ChangeCoalescer } from './coalescer.js';
import { configureProperties, emitChanged } from './interface-config.js';

/** PropertiesChanged for a job's Progress goes out at most this often (~4 per second). */
export const PROGRESS_INTERVAL_MS = 250;

/** Job fields → the D-Bus properties that show them (fields that never change are left out). */
const FIELD_PROPERTIES: Partial<Record<JobField, string>> = {
  state: 'State',
  phase: 'Phase',
  imagesTotal: 'ImagesTotal',
  imagesDone: 'ImagesDone',
  progress: 'Progress',
  pulled: 'Pulled',
  removed: 'Removed',
  errors: 'Errors',
  finishTime: 'FinishTime',
  result: 'Result',
  gcSkipped: 'GcSkipped',
  current: 'CurrentImage',
};

export class JobObject extends dbus.interface.Interface {
  readonly path: string;
  private readonly coalescer: ChangeCoalescer<string>;
  private readonly onChanged = (fields: JobField[]): void => {
    const names = fields.flatMap((f) => FIELD_PROPERTIES[f] ?? []);
    const urgent = fields.some((f) => f !== 'progress');
    this.coalescer.mark(names, urgent);
    this.alsoOnChanged?.(fields);
  };

  /** `alsoOnChanged` sees every change of the job, after its PropertiesChanged went out (if urgent). */
  constructor(
    readonly job: Job,
    private readonly alsoOnChanged?: (fields: JobField[]) => void,
  ) {
    super(JOB_INTERFACE);
    this.path = jobPath(job.id);
    this.coalescer = new ChangeCoalescer((names) => emitChanged(this, names), PROGRESS_INTERVAL_MS);
    job.on('changed', this.onChanged);
  }

  /** Sends any pending change now. */
  flush(): void {
    this.coalescer.flush();
  }

  /** Stops mirroring the job (before the object is unexported). */
  dispose(): void {
    this.job.off('changed', this.onChanged);
    this.coalescer.dispose();
  }

  get Id(): number {
    return this.job.id;
  }
  get State(): string {
    return this.job.state;
  }
  get Phase(): string {
    return this.job.phase;
  }
  get ImagesTotal(): number {
    return this.job.snapshot().imagesTotal;
  }
  get ImagesDone(): number {
    return this.job.snapshot().imagesDone;
  }
  get Progress(): number {
    return this.job.progress;
  }
  get Pulled(): string[] {
    return this.job.snapshot().pulled;
  }
  get Removed(): string[] {
    return this.job.snapshot().removed;
  }
  get Errors(): [string, string][] {
    return this.job.errors.map((e) => [e.subject, e.message]);
  }
  get StartedByUID(): number {
    return this.job.startedByUid;
  }
  get StartTime(): number {
    return this.job.startTime;
  }
  get FinishTime(): number {
    return this.job.snapshot().finishTime;
  }
  get Result(): string {
    return this.job.snapshot().result;
  }
  get GcSkipped(): string {
    return this.job.gcSkipped ?? '';
  }
  get CurrentImage(): string {
    return this.job.snapshot().current ?? '';
  }
  get Options(): Record<string, dbus.Variant> {
    const o = this.job.options;
    return {
      ...(o.extraRoots[0] !== undefined ? { root: new dbus.Variant('s', o.extraRoots[0]) } : {}),
      'pull-policy': new dbus.Variant('s', o.pullPolicy),
      'dry-run': new dbus.Variant('b', o.dryRun),
      gc: new dbus.Variant('b', o.gc),
    };
  }
}

configureProperties(JobObject, JOB_SPEC);
