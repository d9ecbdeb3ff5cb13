// The fuzz worker thread: runs one generated input through the real modules (Quadlet parser and
// resolver, reference normalization, root discovery, config parser) and reports how it ended, as data.
// It runs in a worker so that the test side can bound each case's time and stop a case that hangs,
// even one stuck in synchronous code. Loaded from the sandbox's transpiled copy (sandbox.ts).
import { parentPort } from 'node:worker_threads';

import { ConfigError } from '../../src/config/config-error.js';
import { parseConfig } from '../../src/config/parse.js';
import { discoverRoot } from '../../src/discovery/discover-root.js';
import { compareNames } from '../../src/discovery/in-root-loader.js';
import { QuadletError, parseUnitFile, resolveBoundImageFile } from '../../src/quadlet/index.js';
import type { QuadletLoader } from '../../src/quadlet/index.js';
import { ReferenceError, normalizeReference } from '../../src/reference/reference.js';
import type {
  ConfigFailure,
  FuzzRequest,
  FuzzResult,
  MemoryFiles,
  ParseOutcome,
  QuadletFailure,
  ResolveOutcome,
  Unexpected,
  WorkerReply,
  WorkerRequest,
} from './fuzz-protocol.js';

function unexpected(error: unknown): Unexpected {
  if (error instanceof Error) {
    return { kind: 'unexpected', name: error.name, message: error.message, stack: error.stack ?? '' };
  }
  return { kind: 'unexpected', name: typeof error, message: String(error), stack: '' };
}

function quadletFailure(error: QuadletError): QuadletFailure {
  const failure: QuadletFailure = {
    kind: 'quadlet-error',
    file: error.file,
    detail: error.detail,
    message: error.message,
  };
  if (error.line !== undefined) failure.line = error.line;
  return failure;
}

/** A loader over in-memory files, with the contract of the real one: missing → an Error saying why. */
function memoryLoader(files: MemoryFiles): QuadletLoader {
  return {
    read(rootPath) {
      const text = files[rootPath];
      if (text === undefined) return Promise.reject(new Error(`ENOENT: ${rootPath} does not exist`));
      return Promise.resolve({ path: rootPath, text });
    },
    listDropIns(unitRootPath) {
      const dir = `${unitRootPath}.d/`;
      const names = Object.keys(files)
        .filter((path) => path.startsWith(dir) && path.endsWith('.conf'))
        .map((path) => path.slice(dir.length))
        .filter((name) => !name.includes('/') && !name.startsWith('.'))
        .sort(compareNames);
      return Promise.resolve(names.map((name) => dir + name));
    },
  };
}

function parse(unit: string, files: MemoryFiles): ParseOutcome {
  try {
    const parsed = parseUnitFile(files[unit] ?? '', unit);
    return { kind: 'parsed', sections: parsed.sections.length, entries: parsed.entries.length };
  } catch (error) {
    return error instanceof QuadletError ? quadletFailure(error) : unexpected(error);
  }
}

async function resolveUnit(unit: string, files: MemoryFiles): Promise<ResolveOutcome> {
  try {
    const spec = await resolveBoundImageFile(unit, memoryLoader(files));
    const outcome: ResolveOutcome = {
      kind: 'image',
      reference: normalizeReference(spec.image),
      sourceFile: spec.sourceFile,
    };
    if (spec.authFile !== undefined) outcome.authFile = spec.authFile;
    return outcome;
  } catch (error) {
    if (error instanceof QuadletError) return quadletFailure(error);
    if (error instanceof ReferenceError) {
      return { kind: 'reference-error', input: error.input, reason: error.reason };
    }
    return unexpected(error);
  }
}

async function run(request: FuzzRequest): Promise<FuzzResult> {
  switch (request.op) {
    case 'quadlet':
      return {
        op: 'quadlet',
        parse: parse(request.unit, request.files),
        resolve: await resolveUnit(request.unit, request.files),
      };
    case 'discover':
      try {
        return { op: 'discover', outcome: { kind: 'discovery', result: await discoverRoot(request.root) } };
      } catch (error) {
        return { op: 'discover', outcome: unexpected(error) };
      }
    case 'config':
      try {
        parseConfig(request.text, '/etc/bound-imaged/config.ini');
        return { op: 'config', outcome: { kind: 'config' } };
      } catch (error) {
        if (!(error instanceof ConfigError)) return { op: 'config', outcome: unexpected(error) };
        const failure: ConfigFailure = { kind: 'config-error', file: error.file, message: error.message };
        if (error.key !== undefined) failure.key = error.key;
        if (error.line !== undefined) failure.line = error.line;
        return { op: 'config', outcome: failure };
      }
  }
}

const port = parentPort;
if (port === null) throw new Error('fuzz-worker.js must run in a worker thread');
port.on('message', (message: WorkerRequest) => {
  const started = performance.now();
  void run(message.request).then((result) => {
    const reply: WorkerReply = { id: message.id, result, ms: performance.now() - started };
    port.postMessage(reply);
  });
});
