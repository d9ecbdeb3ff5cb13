// Helpers of the bound-images integration tests (cli-*.test.ts): run the built client on a private
// bus as a child process — to its end, as another user, under a pty, or in the background.
import { execFile, spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { REPO } from './daemon-harness.js';

/** The client's entry point: dist/src/cli/main.js, or the one BOUND_IMAGES_CLI names (the bundle's bound-images.js). */
const chosenCli = process.env.BOUND_IMAGES_CLI;
export const CLI = chosenCli ? resolve(REPO, chosenCli) : join(REPO, 'dist', 'src', 'cli', 'main.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface CliOptions {
  /** The environment (e.g. `bus.env()`, which sets DBUS_SYSTEM_BUS_ADDRESS). */
  env: NodeJS.ProcessEnv;
  /** Run as this UID (and GID) through setpriv. */
  uid?: number;
  cwd?: string;
  timeoutMs?: number;
}

function execToEnd(cmd: string, args: string[], opts: CliOptions): Promise<CliResult> {
  const start = Date.now();
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      { env: opts.env, cwd: opts.cwd ?? REPO, timeout: opts.timeoutMs ?? 120_000 },
      (err, stdout, stderr) => {
        resolve({
          code: err ? (typeof err.code === 'number' ? err.code : -1) : 0,
          stdout: String(stdout),
          stderr: String(stderr),
          ms: Date.now() - start,
        });
      },
    );
  });
}

/** Runs `bound-images ARGS` to its end. */
export function cli(args: string[], opts: CliOptions): Promise<CliResult> {
  const argv = [process.execPath, CLI, ...args];
  if (opts.uid === undefined) return execToEnd(argv[0] as string, argv.slice(1), opts);
  return execToEnd(
    'setpriv',
    [`--reuid=${opts.uid}`, `--regid=${opts.uid}`, '--clear-groups', ...argv],
    opts,
  );
}

/** Runs `bound-images ARGS` on a pseudo-terminal (`script`), so stdout is a TTY. */
export function cliOnTerminal(args: string[], opts: CliOptions): Promise<CliResult> {
  const command = [process.execPath, CLI, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return execToEnd('script', ['-qfec', command, '/dev/null'], {
    ...opts,
    env: { ...opts.env, TERM: 'xterm' },
  });
}

export interface BackgroundCli {
  readonly pid: number;
  stdout(): string;
  stderr(): string;
  /** The exit code, or the signal's name when killed by one. */
  readonly exited: Promise<number | string>;
  kill(signal: NodeJS.Signals): void;
}

/** Starts `bound-images ARGS` in the background (stdout and stderr are pipes). */
export function cliInBackground(args: string[], opts: CliOptions): BackgroundCli {
  const child = spawn(process.execPath, [CLI, ...args], { env: opts.env, cwd: opts.cwd ?? REPO });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | string>((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)),
  );
  return {
    pid: child.pid ?? -1,
    stdout: () => out,
    stderr: () => err,
    exited,
    kill: (signal) => child.kill(signal),
  };
}

export function lines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '');
}
