// The org.bootc.BoundImages.Job object of one reconcile job: its properties are a table over the Job
// (JOB_PROPERTIES, one entry per property of the contract), and PropertiesChanged follows the Job's
// `changed` fields through that table (progress coalesced).
import dbus from 'dbus-next';
import { JOB_INTERFACE, JOB_SPEC, dryRunText, jobPath } from '../contract/index.js';
import type { Job, JobField } from '../reconcile/job.js';
import { ChangeCoalescer } from './coalescer.js';
import { emitChanged, propertiesMovedBy, serveProperties, type PropertyTable } from './interface-config.js';

/** PropertiesChanged for a job's Progress goes out at most this often (~4 per second). */
export const PROGRESS_INTERVAL_MS = 250;

/** Every Job property: the Job fields that move it, and its value. */
export const JOB_PROPERTIES: PropertyTable<typeof JOB_SPEC, Job, JobField> = {
  Id: { get: (j) => j.id },
  State: { fields: ['state'], get: (j) => j.state },
  Phase: { fields: ['phase'], get: (j) => j.phase },
  ImagesTotal: { fields: ['imagesTotal'], get: (j) => j.snapshot().imagesTotal },
  ImagesDone: { fields: ['imagesDone'], get: (j) => j.snapshot().imagesDone },
  Progress: { fields: ['progress'], get: (j) => j.progress },
  // In a dry run, Pulled and Removed show Planned in the form older readers parse (dryRunText).
  Pulled: {
    fields: ['pulled', 'planned'],
    get: (j) => {
      const s = j.snapshot();
      return [...s.pulled, ...s.planned.filter((p) => p.action === 'pull').map(dryRunText)];
    },
  },
  Removed: {
    fields: ['removed', 'planned'],
    get: (j) => {
      const s = j.snapshot();
      return [...s.removed, ...s.planned.filter((p) => p.action !== 'pull').map(dryRunText)];
    },
  },
  Errors: { fields: ['errors'], get: (j) => j.errors.map((e) => [e.subject, e.message]) },
  StartedByUID: { get: (j) => j.startedByUid },
  StartTime: { get: (j) => j.startTime },
  FinishTime: { fields: ['finishTime'], get: (j) => j.snapshot().finishTime },
  Result: { fields: ['result'], get: (j) => j.snapshot().result },
  GcSkipped: { fields: ['gcSkipped'], get: (j) => j.gcSkipped ?? '' },
  CurrentImage: { fields: ['current'], get: (j) => j.snapshot().current ?? '' },
  Options: {
    get: ({ options: o }) => ({
      ...(o.extraRoots[0] !== undefined ? { root: new dbus.Variant('s', o.extraRoots[0]) } : {}),
      'pull-policy': new dbus.Variant('s', o.pullPolicy),
      'dry-run': new dbus.Variant('b', o.dryRun),
      gc: new dbus.Variant('b', o.gc),
    }),
  },
  Planned: { fields: ['planned'], get: (j) => j.snapshot().planned.map((p) => [p.action, p.name]) },
};

export class JobObject extends dbus.interface.Interface {
  readonly path: string;
  private readonly coalescer: ChangeCoalescer<string>;
  private readonly onChanged = (fields: JobField[]): void => {
    const urgent = fields.some((f) => f !== 'progress');
    this.coalescer.mark(propertiesMovedBy(JOB_PROPERTIES, fields), urgent);
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
}

serveProperties(JobObject, JOB_SPEC, JOB_PROPERTIES, (o) => o.job);
