// The fuzz sandbox: a transpiled copy of the modules under test (src/quadlet, reference, discovery,
// config) and of the fuzz worker, run in a worker thread with a watchdog. Each request has a time
// bound; a case that exceeds it (a hang, even in synchronous code) ends the worker and fails with a
// CaseTimeout, and the next request gets a fresh worker. The worker's heap is capped, so a case that
// eats memory fails alone instead of taking the test process down.
//
// Transpiling with the project's own `typescript` (types stripped, nothing else changed) is what lets
// a plain worker thread load the sources: vitest's transform does not reach into worker threads.
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

import ts from 'typescript';

import type { FuzzRequest, FuzzResult, WorkerReply, WorkerRequest } from './fuzz-protocol.js';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** Source folders the worker needs, and the fuzz files that run outside vitest. */
const SOURCE_DIRS = ['src/quadlet', 'src/reference', 'src/discovery', 'src/config'];
const SOURCE_FILES = [
  'src/types.ts',
  'src/clip.ts',
  'src/errors.ts',
  'test/fuzz/fuzz-protocol.ts',
  'test/fuzz/fuzz-worker.ts',
  'test/fuzz/discover-main.ts',
  'test/fuzz/trace-marks.ts',
];

/** Heap of the worker thread: far above what one case needs, far below the machine's memory. */
const WORKER_HEAP_MB = 768;

/** A request ran past its time bound; the worker was stopped. */
export class CaseTimeout extends Error {
  constructor(
    readonly request: FuzzRequest,
    readonly timeoutMs: number,
  ) {
    super(`${request.op} case did not finish within ${timeoutMs} ms (worker stopped)`);
    this.name = 'CaseTimeout';
  }
}

/** The worker died (crash, out of memory) while running a request. */
export class WorkerCrash extends Error {
  constructor(
    readonly request: FuzzRequest,
    message: string,
  ) {
    super(`${request.op} case crashed the worker: ${message}`);
    this.name = 'WorkerCrash';
  }
}

export interface Sandbox {
  /** Directory of the transpiled copy (REPO layout: src/…, test/fuzz/…), with node_modules linked. */
  readonly dir: string;
  run(request: FuzzRequest, timeoutMs: number): Promise<{ result: FuzzResult; ms: number }>;
  close(): Promise<void>;
}

async function transpileTree(out: string): Promise<void> {
  const files = [...SOURCE_FILES];
  for (const dir of SOURCE_DIRS) {
    for (const name of await readdir(join(REPO, dir))) {
      if (name.endsWith('.ts') && !name.endsWith('.test.ts')) files.push(`${dir}/${name}`);
    }
  }
  for (const file of files) {
    const source = await readFile(join(REPO, file), 'utf8');
    const { outputText } = ts.transpileModule(source, {
      fileName: file,
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2022,
        verbatimModuleSyntax: true,
      },
    });
    const target = join(out, file.replace(/\.ts$/, '.js'));
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, outputText);
  }
  await writeFile(join(out, 'package.json'), '{ "type": "module" }\n');
  // Bare imports (p-limit, ini, tinyglobby) resolve through the project's own node_modules.
  await symlink(join(REPO, 'node_modules'), join(out, 'node_modules'));
}

interface Pending {
  request: FuzzRequest;
  resolve(value: { result: FuzzResult; ms: number }): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

export async function startSandbox(): Promise<Sandbox> {
  const dir = await mkdtemp(join(tmpdir(), 'bound-imaged-fuzz-sandbox-'));
  await transpileTree(dir);
  const workerFile = join(dir, 'test/fuzz/fuzz-worker.js');
  let worker: Worker | undefined;
  let nextId = 1;
  const pending = new Map<number, Pending>();

  const failAll = (why: string): void => {
    for (const [id, call] of pending) {
      clearTimeout(call.timer);
      pending.delete(id);
      call.reject(new WorkerCrash(call.request, why));
    }
  };

  const spawn = (): Worker => {
    const created = new Worker(workerFile, { resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB } });
    created.on('message', (reply: WorkerReply) => {
      const call = pending.get(reply.id);
      if (call === undefined) return;
      clearTimeout(call.timer);
      pending.delete(reply.id);
      call.resolve({ result: reply.result, ms: reply.ms });
    });
    // A worker stopped by the watchdog is no longer `worker`: its exit concerns no pending call.
    created.on('error', (error) => {
      if (worker !== created) return;
      worker = undefined;
      failAll(`${error.name}: ${error.message}`);
    });
    created.on('exit', (code) => {
      if (worker !== created) return;
      worker = undefined;
      failAll(`worker exited with code ${code}`);
    });
    return created;
  };

  return {
    dir,
    run(request, timeoutMs) {
      // One case at a time: the time bound is per case.
      if (pending.size > 0) return Promise.reject(new Error('sandbox.run called while a case is running'));
      worker ??= spawn();
      const current = worker;
      const id = nextId++;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          if (worker === current) worker = undefined;
          void current.terminate();
          reject(new CaseTimeout(request, timeoutMs));
        }, timeoutMs);
        pending.set(id, { request, resolve, reject, timer });
        const message: WorkerRequest = { id, request };
        current.postMessage(message);
      });
    },
    async close() {
      const last = worker;
      worker = undefined;
      if (last !== undefined) await last.terminate();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Path of `file` (a REPO-relative .ts path) inside the sandbox, as the transpiled .js. */
export function sandboxPath(sandbox: Sandbox, file: string): string {
  return join(sandbox.dir, file.replace(/\.ts$/, '.js'));
}
