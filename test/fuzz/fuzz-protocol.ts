// The messages between the fuzz tests and the fuzz worker thread (fuzz-worker.ts): what to run on one
// generated input, and how it ended. Outcomes are plain data: the error classes only exist in the worker.
import type { RootDiscovery } from '../../src/types.js';

/** A file handed to the in-memory Quadlet loader: root-absolute path → text as the parser sees it. */
export type MemoryFiles = Record<string, string>;

export type FuzzRequest =
  /** parseUnitFile on `unit`, then resolveBoundImageFile + normalizeReference through a loader over `files`. */
  | { op: 'quadlet'; unit: string; files: MemoryFiles }
  /** discoverRoot on a host directory, default limits. */
  | { op: 'discover'; root: string }
  /** parseConfig on config.ini text. */
  | { op: 'config'; text: string };

/** An exception of a type the module under test must never let out. */
export interface Unexpected {
  kind: 'unexpected';
  name: string;
  message: string;
  stack: string;
}

export interface QuadletFailure {
  kind: 'quadlet-error';
  file: string;
  line?: number;
  detail: string;
  message: string;
}

export type ParseOutcome =
  { kind: 'parsed'; sections: number; entries: number } | QuadletFailure | Unexpected;

export type ResolveOutcome =
  | { kind: 'image'; reference: string; sourceFile: string; authFile?: string }
  | QuadletFailure
  | { kind: 'reference-error'; input: string; reason: string }
  | Unexpected;

export interface ConfigFailure {
  kind: 'config-error';
  file: string;
  key?: string;
  line?: number;
  message: string;
}

export type FuzzResult =
  | { op: 'quadlet'; parse: ParseOutcome; resolve: ResolveOutcome }
  | { op: 'discover'; outcome: { kind: 'discovery'; result: RootDiscovery } | Unexpected }
  | {
      op: 'config';
      outcome: { kind: 'config' } | ConfigFailure | Unexpected;
    };

export interface WorkerRequest {
  id: number;
  request: FuzzRequest;
}

export interface WorkerReply {
  id: number;
  result: FuzzResult;
  /** Time the call took inside the worker, in ms. */
  ms: number;
}
