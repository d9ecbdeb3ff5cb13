// The commands of bound-images over a connected bus: status, list, upgrade (follow the job to its
// end), cancel (jobs is in jobs.ts). Each returns its exit code; failures are thrown as CliError.
import type { TableRequest, UpgradeRequest } from './args.js';
import type { BusClient } from './bus.js';
import { CliError, ExitCode, type ExitCodeValue } from './cli-error.js';
import {
  DBusErrorName,
  JOB_INTERFACE,
  MANAGER_INTERFACE,
  MANAGER_PATH,
  jobIdOfPath,
} from '../contract/index.js';
import { applyJobProperties, decodeListRows, decodeManager, emptyJob, type JobView } from './decode.js';
import { JobWatch } from './follow.js';
import { formatList, formatStatus, jsonDocument, listJson, statusJson } from './format.js';
import { isFinal, resultLine } from './job-events.js';
import type { Output, Reporter } from './reporters.js';

export interface Io {
  stdout: Output;
  stderr: Output;
  /** Makes the view `upgrade` shows while following (a bar on a terminal, lines otherwise, JSON). */
  reporter(): Promise<Reporter>;
  /** Called with a function that stops following; returns a function that uninstalls the hook. */
  onInterrupt(stop: () => void): () => void;
  now(): number;
  /** Writes a table to stdout, through the pager when `pager` and stdout is a terminal. */
  writeTable(text: string, pager: boolean): Promise<void>;
}

async function readJob(bus: BusClient, path: string): Promise<JobView> {
  const id = jobIdOfPath(path) ?? 0;
  return applyJobProperties(emptyJob(path, id), await bus.getAll(path, JOB_INTERFACE));
}

export async function status(bus: BusClient, io: Io, json: boolean): Promise<ExitCodeValue> {
  const manager = decodeManager(await bus.getAll(MANAGER_PATH, MANAGER_INTERFACE));
  // The job may end between the two reads: then it is simply not shown.
  const job = manager.currentJob ? await readJob(bus, manager.currentJob).catch(() => null) : null;
  io.stdout.write(json ? jsonDocument(statusJson(manager, job)) : formatStatus(manager, job, io.now()));
  return ExitCode.Ok;
}

/** Exit 1 when the daemon could not list the store (state `unknown`): the table is shown anyway. */
export async function list(bus: BusClient, io: Io, req: TableRequest): Promise<ExitCodeValue> {
  const [body] = await bus.call(MANAGER_PATH, MANAGER_INTERFACE, 'ListBoundImages');
  const rows = decodeListRows(body);
  if (req.json) io.stdout.write(jsonDocument(listJson(rows)));
  else await io.writeTable(formatList(rows, req.legend), req.pager);
  const unknown = rows.find((r) => r.state === 'unknown');
  if (unknown === undefined) return ExitCode.Ok;
  io.stderr.write(`bound-images: the states are unknown: ${unknown.detail}\n`);
  return ExitCode.Failed;
}

function upgradeOptions(bus: BusClient, req: UpgradeRequest): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  if (req.root !== undefined) options.root = bus.variant('s', req.root);
  if (req.pullPolicy !== undefined) options['pull-policy'] = bus.variant('s', req.pullPolicy);
  if (req.dryRun) options['dry-run'] = bus.variant('b', true);
  if (!req.gc) options.gc = bus.variant('b', false);
  return options;
}

function jobPathOf(body: unknown[]): string {
  const [path] = body;
  if (typeof path !== 'string' || jobIdOfPath(path) === null) {
    throw new CliError(
      ExitCode.Unreachable,
      `unexpected reply from bound-imaged: Upgrade returned '${String(path)}'`,
    );
  }
  return path;
}

export async function upgrade(bus: BusClient, io: Io, req: UpgradeRequest): Promise<ExitCodeValue> {
  const options = upgradeOptions(bus, req);
  if (!req.wait) {
    const path = jobPathOf(await bus.call(MANAGER_PATH, MANAGER_INTERFACE, 'Upgrade', 'a{sv}', [options]));
    const id = jobIdOfPath(path);
    io.stdout.write(req.json ? jsonDocument({ job: path, id }) : `job ${id}\n`);
    return ExitCode.Ok;
  }
  // Subscribe first: whatever the job does after Upgrade created it reaches us.
  const watch = await JobWatch.start(bus);
  try {
    const path = jobPathOf(await bus.call(MANAGER_PATH, MANAGER_INTERFACE, 'Upgrade', 'a{sv}', [options]));
    const id = jobIdOfPath(path) ?? 0;
    const reporter = await io.reporter();
    reporter.start(id);
    let interrupted: (() => void) | null = null;
    const stopped = new Promise<never>((_, reject) => {
      interrupted = () =>
        reject(
          new CliError(
            ExitCode.Interrupted,
            `stopped following job ${id}; it keeps running (see 'bound-images status', or 'bound-images cancel ${id}')`,
          ),
        );
    });
    stopped.catch(() => undefined);
    const unhook = io.onInterrupt(() => interrupted?.());
    let final: JobView;
    try {
      final = await Promise.race([watch.follow(path, (view) => reporter.update(view)), stopped]);
    } catch (err) {
      reporter.abort();
      throw err;
    } finally {
      unhook();
    }
    reporter.finish(final);
    if (final.state === 'success') return ExitCode.Ok;
    io.stderr.write(`bound-images: job ${id} ${isFinal(final.state) ? resultLine(final) : final.state}\n`);
    return ExitCode.Failed;
  } finally {
    watch.close();
  }
}

/** The errors of a Cancel aimed at a path where no job object is (any more). */
const NO_SUCH_JOB: ReadonlySet<string> = new Set([DBusErrorName.UnknownObject, DBusErrorName.UnknownMethod]);

export async function cancel(bus: BusClient, io: Io, path: string, json: boolean): Promise<ExitCodeValue> {
  const id = jobIdOfPath(path);
  try {
    await bus.call(path, JOB_INTERFACE, 'Cancel');
  } catch (err) {
    if (err instanceof CliError && err.dbusError !== undefined && NO_SUCH_JOB.has(err.dbusError)) {
      throw new CliError(ExitCode.Failed, `no job ${id}: the daemon does not know ${path}`);
    }
    throw err;
  }
  io.stdout.write(
    json ? jsonDocument({ job: path, id, cancel: 'requested' }) : `cancel of job ${id} requested\n`,
  );
  return ExitCode.Ok;
}
