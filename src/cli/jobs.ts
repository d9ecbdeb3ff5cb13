// `bound-images jobs`: the Job objects the daemon has (running, waiting, and the last finished ones
// it keeps), oldest first, as a table or JSON. The objects are found the D-Bus way, by introspecting
// /org/bootc/BoundImages/job for its child nodes; each is then read with one GetAll. A job removed
// between the two steps is left out.
import type { TableRequest } from './args.js';
import type { BusClient } from './bus.js';
import { CliError, ExitCode, type ExitCodeValue } from './cli-error.js';
import { DBusErrorName, JOB_INTERFACE, JOB_PATH_PREFIX, jobIdOfPath } from '../contract/index.js';
import { applyJobProperties, emptyJob, type JobView } from './decode.js';
import { isoTime, jobJson, jsonDocument } from './format.js';
import type { Io } from './commands.js';
import { formatTable } from './table.js';

const INTROSPECTABLE = 'org.freedesktop.DBus.Introspectable';
const JOBS_NODE = JOB_PATH_PREFIX.slice(0, -1);
/** Errors that mean "no such object (any more)" rather than a failure. */
const GONE: ReadonlySet<string> = new Set([
  DBusErrorName.UnknownObject,
  DBusErrorName.UnknownMethod,
  'org.freedesktop.DBus.Error.UnknownInterface',
]);

function gone(err: unknown): boolean {
  return err instanceof CliError && err.dbusError !== undefined && GONE.has(err.dbusError);
}

/** The job object paths among the child nodes of an introspection document, by job number. */
export function jobPathsOf(xml: string): string[] {
  const ids = [...xml.matchAll(/<node\s+name="([^"]+)"\s*\/?>/g)]
    .map((m) => jobIdOfPath(`${JOB_PATH_PREFIX}${m[1] ?? ''}`))
    .filter((id): id is number => id !== null);
  return [...new Set(ids)].sort((a, b) => a - b).map((id) => `${JOB_PATH_PREFIX}${id}`);
}

/** Every job the daemon has, oldest first. */
export async function readJobs(bus: BusClient): Promise<JobView[]> {
  let xml: unknown;
  try {
    [xml] = await bus.call(JOBS_NODE, INTROSPECTABLE, 'Introspect');
  } catch (err) {
    if (gone(err)) return [];
    throw err;
  }
  if (typeof xml !== 'string') {
    throw new CliError(
      ExitCode.Unreachable,
      'unexpected reply from bound-imaged: Introspect did not return a string',
    );
  }
  const jobs = await Promise.all(
    jobPathsOf(xml).map(async (path) => {
      try {
        return applyJobProperties(
          emptyJob(path, jobIdOfPath(path) ?? 0),
          await bus.getAll(path, JOB_INTERFACE),
        );
      } catch (err) {
        if (gone(err)) return null;
        throw err;
      }
    }),
  );
  return jobs.filter((j): j is JobView => j !== null);
}

/** What the RESULT column says: the result of a finished job, the progress of a running one. */
function resultCell(job: JobView): string {
  if (job.state !== 'running') return job.result;
  if (job.phase === 'waiting') return 'waiting for the running reconcile';
  const progress = `${Math.floor(job.progress * 100)}%`;
  return job.currentImage === '' ? progress : `${progress}, pulling ${job.currentImage}`;
}

export function formatJobs(jobs: readonly JobView[], legend: boolean): string {
  const rows = jobs.map((j) => [
    String(j.id),
    j.state,
    j.phase,
    j.imagesTotal > 0 ? `${j.imagesDone}/${j.imagesTotal}` : '-',
    isoTime(j.startTime) ?? '-',
    String(j.startedByUid),
    resultCell(j),
  ]);
  return formatTable(['ID', 'STATE', 'PHASE', 'IMAGES', 'STARTED', 'UID', 'RESULT'], rows, {
    legend,
    empty: 'no jobs',
  });
}

export function jobsJson(jobs: readonly JobView[]): object {
  return { jobs: jobs.map(jobJson) };
}

export async function jobs(bus: BusClient, io: Io, req: TableRequest): Promise<ExitCodeValue> {
  const found = await readJobs(bus);
  if (req.json) io.stdout.write(jsonDocument(jobsJson(found)));
  else await io.writeTable(formatJobs(found, req.legend), req.pager);
  return ExitCode.Ok;
}
