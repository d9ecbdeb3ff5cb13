// Runs a command of the demo with its output shown as it happens: on a terminal the child writes to
// it directly (so `bound-images upgrade` draws its progress bar), in a pipe its output is forwarded
// line by line and also kept for the demo's own checks. Like every harness child, it runs under
// `setpriv --pdeathsig SIGKILL` and is tracked, so Ctrl-C or a crash of the demo cannot orphan it.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { trackChild, untrackChild } from '../harness/cleanup.js';
import type { Output } from './output.js';

export interface ShownRun {
  /** Exit status; 128 + N when killed by signal N. */
  code: number;
  /** What the command wrote on stdout; empty when it wrote straight to the terminal. */
  stdout: string;
  stderr: string;
}

export interface ShownRunOptions {
  env: NodeJS.ProcessEnv;
  /** Let the child write to our terminal itself (stdout and stderr inherited, nothing captured). */
  terminal: boolean;
  timeoutMs?: number;
}

export function runShown(out: Output, argv: readonly string[], opts: ShownRunOptions): Promise<ShownRun> {
  const [command, ...args] = argv as [string, ...string[]];
  return new Promise((resolve, reject) => {
    const child = spawn('setpriv', ['--pdeathsig', 'SIGKILL', '--', command, ...args], {
      env: opts.env,
      stdio: opts.terminal ? ['ignore', 'inherit', 'inherit'] : ['ignore', 'pipe', 'pipe'],
    });
    const pid = child.pid;
    if (pid !== undefined) {
      trackChild(pid, [command, ...args], () => child.kill('SIGKILL'));
      child.once('exit', () => untrackChild(pid));
    }
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (b: Buffer) => {
      stdout += b.toString();
      out.write(b.toString());
    });
    child.stderr?.on('data', (b: Buffer) => {
      stderr += b.toString();
      process.stderr.write(b);
    });
    const timer =
      opts.timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`${command}: ${e.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const bySignal = signal ? 128 + (constants.signals[signal] ?? 0) : 1;
      resolve({ code: code ?? bySignal, stdout, stderr });
    });
  });
}
