// Command-line parsing of bound-images: the command word, then that command's options with
// node:util parseArgs (strict: unknown flags and stray arguments are usage errors, exit 2).
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CliError, ExitCode } from './cli-error.js';
import { JOB_PATH_PREFIX, PULL_POLICIES, jobIdOfPath, jobPath, type PullPolicy } from '../contract/index.js';
import {
  CANCEL_USAGE,
  CHECK_USAGE,
  JOBS_USAGE,
  LIST_USAGE,
  MAIN_USAGE,
  STATUS_USAGE,
  UPGRADE_USAGE,
} from './usage.js';
import { messageOf } from '../errors.js';

export interface UpgradeRequest {
  kind: 'upgrade';
  json: boolean;
  /** Absolute (resolved against the working directory when given relative). */
  root?: string;
  pullPolicy?: PullPolicy;
  dryRun: boolean;
  gc: boolean;
  wait: boolean;
}

export interface CheckRequest {
  kind: 'check';
  json: boolean;
  /** Absolute paths, in the order given; `/` when none is given. */
  roots: string[];
}

/** A command whose output is a table: `legend` (not --no-legend), `pager` (not --no-pager). */
export interface TableRequest {
  kind: 'list' | 'jobs';
  json: boolean;
  legend: boolean;
  pager: boolean;
}

export type Command =
  | { kind: 'help'; text: string }
  | { kind: 'version' }
  | { kind: 'status'; json: boolean }
  | TableRequest
  | UpgradeRequest
  | { kind: 'cancel'; json: boolean; job: string }
  | CheckRequest;

/** A bad command line: exit 2, one line on stderr with the reason and where to find the usage. */
export class UsageError extends CliError {
  constructor(reason: string, usage: string) {
    super(ExitCode.Usage, `${reason} (see '${HELP_COMMANDS.get(usage) ?? 'bound-images --help'}')`);
    this.name = 'UsageError';
  }
}

const HELP_COMMANDS = new Map<string, string>([
  [STATUS_USAGE, 'bound-images status --help'],
  [LIST_USAGE, 'bound-images list --help'],
  [JOBS_USAGE, 'bound-images jobs --help'],
  [UPGRADE_USAGE, 'bound-images upgrade --help'],
  [CANCEL_USAGE, 'bound-images cancel --help'],
  [CHECK_USAGE, 'bound-images check --help'],
]);

const COMMON = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** parseArgs' messages carry advice meant for programmers ("To specify a positional argument…"). */
function shortParseMessage(err: unknown): string {
  const first = messageOf(err).split('\n')[0] ?? '';
  const cut = first.search(/\. (To specify|Did you forget)/);
  return (cut > 0 ? first.slice(0, cut) : first).replace(/\.$/, '');
}

/** Runs a parseArgs call, turning its complaint into a UsageError with the command's usage. */
function guarded<T>(usage: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw new UsageError(shortParseMessage(err), usage);
  }
}

function noPositionals(positionals: string[], command: string, usage: string): void {
  if (positionals.length > 0) {
    throw new UsageError(`'${command}' takes no arguments, got '${positionals[0]}'`, usage);
  }
}

/** JOB of `cancel`: a job number or a job object path; returns the path. */
export function parseJobArgument(text: string): string {
  if (/^[1-9][0-9]{0,9}$/.test(text)) return jobPath(Number(text));
  if (jobIdOfPath(text) !== null) return text;
  throw new UsageError(`JOB must be a job number or ${JOB_PATH_PREFIX}N, got '${text}'`, CANCEL_USAGE);
}

function parseUpgrade(args: string[], cwd: string): Command {
  const { values, positionals } = guarded(UPGRADE_USAGE, () =>
    parseArgs({
      args,
      strict: true,
      allowPositionals: true,
      options: {
        ...COMMON,
        root: { type: 'string' },
        'pull-policy': { type: 'string' },
        'dry-run': { type: 'boolean' },
        'no-gc': { type: 'boolean' },
        'no-wait': { type: 'boolean' },
      },
    }),
  );
  if (values.help) return { kind: 'help', text: UPGRADE_USAGE };
  noPositionals(positionals, 'upgrade', UPGRADE_USAGE);
  const request: UpgradeRequest = {
    kind: 'upgrade',
    json: values.json === true,
    dryRun: values['dry-run'] === true,
    gc: values['no-gc'] !== true,
    wait: values['no-wait'] !== true,
  };
  if (values.root !== undefined) {
    if (values.root === '') throw new UsageError('--root needs a path', UPGRADE_USAGE);
    request.root = resolve(cwd, values.root);
  }
  const policy = values['pull-policy'];
  if (policy !== undefined) {
    const known = PULL_POLICIES.find((p) => p === policy);
    if (!known) {
      throw new UsageError(
        `--pull-policy must be one of ${PULL_POLICIES.join(', ')}, got '${policy}'`,
        UPGRADE_USAGE,
      );
    }
    request.pullPolicy = known;
  }
  return request;
}

function parseTable(kind: TableRequest['kind'], args: string[], usage: string): Command {
  const { values, positionals } = guarded(usage, () =>
    parseArgs({
      args,
      strict: true,
      allowPositionals: true,
      options: { ...COMMON, 'no-legend': { type: 'boolean' }, 'no-pager': { type: 'boolean' } },
    }),
  );
  if (values.help) return { kind: 'help', text: usage };
  noPositionals(positionals, kind, usage);
  return {
    kind,
    json: values.json === true,
    legend: values['no-legend'] !== true,
    pager: values['no-pager'] !== true,
  };
}

function parseSimple(kind: 'status', args: string[], usage: string): Command {
  const { values, positionals } = guarded(usage, () =>
    parseArgs({ args, strict: true, allowPositionals: true, options: COMMON }),
  );
  if (values.help) return { kind: 'help', text: usage };
  noPositionals(positionals, kind, usage);
  return { kind, json: values.json === true };
}

function parseCancel(args: string[]): Command {
  const { values, positionals } = guarded(CANCEL_USAGE, () =>
    parseArgs({ args, strict: true, allowPositionals: true, options: COMMON }),
  );
  if (values.help) return { kind: 'help', text: CANCEL_USAGE };
  const [job, extra] = positionals;
  if (job === undefined) throw new UsageError("'cancel' needs a JOB", CANCEL_USAGE);
  if (extra !== undefined) throw new UsageError(`'cancel' takes one JOB, got also '${extra}'`, CANCEL_USAGE);
  return { kind: 'cancel', json: values.json === true, job: parseJobArgument(job) };
}

function parseCheck(args: string[], cwd: string): Command {
  const { values, positionals } = guarded(CHECK_USAGE, () =>
    parseArgs({
      args,
      strict: true,
      allowPositionals: true,
      options: { ...COMMON, root: { type: 'string', multiple: true } },
    }),
  );
  if (values.help) return { kind: 'help', text: CHECK_USAGE };
  noPositionals(positionals, 'check', CHECK_USAGE);
  const given = values.root ?? [];
  if (given.some((root) => root === '')) throw new UsageError('--root needs a path', CHECK_USAGE);
  const roots = given.length === 0 ? ['/'] : given.map((root) => resolve(cwd, root));
  return { kind: 'check', json: values.json === true, roots };
}

/** Parses `bound-images ARGS…`; throws UsageError on anything it does not understand. */
export function parseCommandLine(argv: readonly string[], cwd: string = process.cwd()): Command {
  const [word, ...rest] = argv;
  if (word === undefined) throw new UsageError('no command given', MAIN_USAGE);
  switch (word) {
    case '-h':
    case '--help':
    case 'help':
      if (rest.length > 0 && word === 'help') return parseCommandLine([rest[0] ?? '', '--help'], cwd);
      return { kind: 'help', text: MAIN_USAGE };
    case '-V':
    case '--version':
      if (rest.length > 0) throw new UsageError(`${word} takes no arguments, got '${rest[0]}'`, MAIN_USAGE);
      return { kind: 'version' };
    case 'status':
      return parseSimple('status', rest, STATUS_USAGE);
    case 'list':
      return parseTable('list', rest, LIST_USAGE);
    case 'jobs':
      return parseTable('jobs', rest, JOBS_USAGE);
    case 'upgrade':
      return parseUpgrade(rest, cwd);
    case 'cancel':
      return parseCancel(rest);
    case 'check':
      return parseCheck(rest, cwd);
    default:
      throw new UsageError(
        word.startsWith('-') ? `the command comes first, got option '${word}'` : `unknown command '${word}'`,
        MAIN_USAGE,
      );
  }
}
