// Helpers of the demo's integration test (demo.test.ts): the built demo as a child process with a
// TMPDIR and an environment marker of its own, the search for what a run left behind (processes
// carrying the marker, files in its TMPDIR, new dirs under /dev/shm/bi-harness, mounts), and reading
// its output back by section (`== N. Title ==`) and by command (`$ …`).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseOwnerRecord } from '../../scripts/demo/teardown.js';
import { REPO } from './daemon-harness.js';

export const DEMO = join(REPO, 'dist', 'scripts', 'demo.js');
const SHM_ROOT = '/dev/shm/bi-harness';
const SHARED_OWNERS = '/tmp/bi-harness/owners';

export interface DemoProcess {
  readonly tmp: string;
  readonly marker: string;
  readonly shmBefore: Set<string>;
  stdout(): string;
  stderr(): string;
  /** Exit code, or the signal name. */
  readonly exited: Promise<number | string>;
  readonly started: number;
  kill(signal: NodeJS.Signals): void;
}

export function shmEntries(): Set<string> {
  return new Set(existsSync(SHM_ROOT) ? readdirSync(SHM_ROOT) : []);
}

/** Starts the built demo with its own TMPDIR and an environment marker every descendant inherits. */
export function startDemo(args: string[], opts: { pathPrefix?: string } = {}): DemoProcess {
  // Short: Podman refuses a --runroot over 50 characters ($TMPDIR/bi-harness/pod-XXXXXX/run).
  const tmp = mkdtempSync('/tmp/bdt-');
  const marker = randomBytes(8).toString('hex');
  const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmp, BOUND_IMAGED_DEMO_TEST: marker };
  if (opts.pathPrefix) env.PATH = `${opts.pathPrefix}:${process.env.PATH ?? ''}`;
  const shmBefore = shmEntries();
  const child = spawn(process.execPath, [DEMO, ...args], { env, cwd: REPO });
  let out = '';
  let err = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (err += b.toString()));
  const exited = new Promise<number | string>((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)),
  );
  return {
    tmp,
    marker,
    shmBefore,
    stdout: () => out,
    stderr: () => err,
    exited,
    started: Date.now(),
    kill: (signal) => child.kill(signal),
  };
}

export async function waitForOutput(demo: DemoProcess, text: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!demo.stdout().includes(text)) {
    if (Date.now() > deadline) throw new Error(`no '${text}' after ${timeoutMs} ms:\n${demo.stdout()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function dirsOfOtherOwners(): Set<string> {
  const dirs = new Set<string>();
  if (!existsSync(SHARED_OWNERS)) return dirs;
  for (const name of readdirSync(SHARED_OWNERS)) {
    try {
      for (const d of parseOwnerRecord(readFileSync(join(SHARED_OWNERS, name), 'utf8'), name).dirs)
        dirs.add(d);
    } catch {
      // a record being rewritten or removed right now
    }
  }
  return dirs;
}

/** What a finished run left behind, found without trusting the demo's own report. */
export function leftovers(demo: DemoProcess): {
  processes: string[];
  files: string[];
  shm: string[];
  mounts: string[];
} {
  const processes: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      if (readFileSync(`/proc/${pid}/environ`, 'utf8').includes(`BOUND_IMAGED_DEMO_TEST=${demo.marker}\0`))
        processes.push(`${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ')}`);
    } catch {
      // exited meanwhile
    }
  }
  // The harness keeps its (then empty) bookkeeping dir bi-harness/owners; anything else is left over.
  const files = (readdirSync(demo.tmp, { recursive: true, encoding: 'utf8' }) as string[]).filter(
    (f) => f !== 'bi-harness' && f !== join('bi-harness', 'owners'),
  );
  const others = dirsOfOtherOwners();
  const shm = [...shmEntries()]
    .filter((e) => !demo.shmBefore.has(e))
    .map((e) => join(SHM_ROOT, e))
    .filter((d) => !others.has(d) && existsSync(d));
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m.startsWith(`${demo.tmp}/`) || shm.some((d) => m.startsWith(d)));
  return { processes, files, shm, mounts };
}

/** The body of each `== N. Title ==` section (and of un-numbered ones, keyed by title). */
export function sections(stdout: string): Map<string, string> {
  const map = new Map<string, string>();
  const parts = stdout.split(/^== (.+) ==$/m);
  for (let i = 1; i < parts.length; i += 2) map.set(parts[i] as string, parts[i + 1] ?? '');
  return map;
}

export function section(stdout: string, prefix: string): string {
  for (const [title, body] of sections(stdout)) if (title.startsWith(prefix)) return body;
  throw new Error(`no section '${prefix}' in:\n${stdout}`);
}

/** `text` as a regular expression that matches exactly it. */
export function esc(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export function match(text: string, re: RegExp): string {
  const m = re.exec(text);
  if (!m?.[1]) throw new Error(`${re} not found in:\n${text}`);
  return m[1];
}

/** The lines a command printed: from its `$ ` line up to the next `$ ` line or blank line. */
export function outputOf(body: string, command: string, nth = 0): string[] {
  const lines = body.split('\n');
  const starts = lines.flatMap((l, i) => (l === `$ ${command}` || l.startsWith(`$ ${command} `) ? [i] : []));
  const start = starts[nth];
  if (start === undefined) throw new Error(`no '$ ${command}' (#${nth}) in:\n${body}`);
  const rest = lines.slice(start + 1);
  const end = rest.findIndex((l) => l.startsWith('$ ') || l === '');
  return end === -1 ? rest : rest.slice(0, end);
}

export interface Refs {
  web: string;
  app: string;
  db: string;
}

export function refsOf(stdout: string): Refs {
  return {
    web: match(stdout, /^ {2}(127\.0\.0\.1:\d+\/demo\/web:1\.0) /m),
    app: match(stdout, /^ {2}(127\.0\.0\.1:\d+\/demo\/app:1\.0) /m),
    db: match(stdout, /^ {4}Image=(127\.0\.0\.1:\d+\/demo\/db@sha256:[0-9a-f]{64})$/m),
  };
}

export interface FinishedDemo {
  demo: DemoProcess;
  code: number | string;
  ms: number;
  stdout: string;
  stderr: string;
}

/** Runs the demo to its end. */
export async function runToEnd(args: string[], opts: { pathPrefix?: string } = {}): Promise<FinishedDemo> {
  const demo = startDemo(args, opts);
  const code = await demo.exited;
  return { demo, code, ms: Date.now() - demo.started, stdout: demo.stdout(), stderr: demo.stderr() };
}

/** A directory with one executable script, to put first on the demo's PATH (fault injection). */
export function shimDir(name: string, script: string): string {
  const dir = mkdtempSync('/tmp/bdt-shim-');
  writeFileSync(join(dir, name), script);
  chmodSync(join(dir, name), 0o755);
  return dir;
}
