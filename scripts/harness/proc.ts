// Child processes for the harness: every one is spawned under `setpriv --pdeathsig SIGKILL` (the
// kernel kills it if this process dies, even by SIGKILL), tracked in cleanup.ts, and never detached.
// Also: free loopback ports and polling until a service answers.
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { createServer } from 'node:net';
import { trackChild, untrackChild } from './cleanup.js';

export interface RunResult {
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  input?: string | Buffer;
  timeoutMs?: number;
}

function guarded(command: string, args: string[]): [string, string[]] {
  return ['setpriv', ['--pdeathsig', 'SIGKILL', '--', command, ...args]];
}

function track(child: ChildProcess, argv: string[]): void {
  const pid = child.pid;
  if (pid === undefined) return;
  trackChild(pid, argv, () => child.kill('SIGKILL'));
  child.once('exit', () => untrackChild(pid));
}

export interface StatusResult extends RunResult {
  /** Exit status; null when killed by a signal (or the timeout), or when it could not start. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Why the command could not be started at all (`command: reason`), when that is what happened. */
  startError?: string;
}

/** Runs a command to completion and says how it ended; settles the same way whatever the status. */
export function runStatus(command: string, args: string[], opts: RunOptions = {}): Promise<StatusResult> {
  return new Promise((resolve) => {
    const [cmd, argv] = guarded(command, args);
    const child = spawn(cmd, argv, { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    track(child, [command, ...args]);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer =
      opts.timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    const output = () => ({ stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: null, signal: null, ...output(), startError: `${command}: ${e.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, ...output() });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input);
  });
}

/** Runs a command to completion; rejects with its exit status and stderr on failure. */
export async function run(command: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const r = await runStatus(command, args, opts);
  if (r.startError !== undefined) throw new Error(r.startError);
  if (r.code === 0) return { stdout: r.stdout, stderr: r.stderr };
  const how = r.signal ? `killed by ${r.signal}` : `exit status ${r.code}`;
  throw new Error(`${command} ${args.join(' ')}: ${how}\n${r.stderr.trim()}`);
}

export interface ServiceProcess {
  readonly pid: number;
  /** Settles when the process has exited (with its exit code, or null when killed by a signal). */
  readonly exited: Promise<number | null>;
  hasExited(): boolean;
  /** Sends `signal` (default SIGTERM), waits up to graceMs, then SIGKILLs. Idempotent. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

/** Starts a long-running process with stdout/stderr appended to files. */
export function spawnService(
  command: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; stdoutFile: string; stderrFile: string },
): ServiceProcess {
  const outFd = openSync(opts.stdoutFile, 'a');
  const errFd = openSync(opts.stderrFile, 'a');
  const [cmd, argv] = guarded(command, args);
  let child: ChildProcess;
  try {
    child = spawn(cmd, argv, {
      env: opts.env ?? process.env,
      stdio: ['ignore', outFd, errFd],
      detached: false,
    });
  } finally {
    closeSync(outFd);
    closeSync(errFd);
  }
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  const pid = child.pid;
  track(child, [command, ...args]);
  let done = false;
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      done = true;
      resolve(code);
    });
    child.once('error', () => {
      done = true;
      resolve(null);
    });
  });
  return {
    pid,
    exited,
    hasExited: () => done,
    async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000) {
      if (done) return;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

/**
 * Polls `probe` until it returns true. `giveUp` (checked each round) returns a reason to stop early,
 * e.g. that the service exited; the error then says what was awaited and why it failed.
 */
export async function waitUntil(
  what: string,
  probe: () => Promise<boolean>,
  opts: { timeoutMs?: number; intervalMs?: number; giveUp?: () => string | undefined } = {},
): Promise<void> {
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  for (;;) {
    if (await probe().catch(() => false)) return;
    const reason = opts.giveUp?.();
    if (reason !== undefined) throw new Error(`${what}: ${reason}`);
    if (Date.now() > deadline) throw new Error(`${what}: not ready after ${opts.timeoutMs ?? 20_000} ms`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 25));
  }
}
