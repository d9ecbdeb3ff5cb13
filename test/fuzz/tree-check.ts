// What discovery of a hostile tree must answer (tree-build.ts says what each entry expects), and the
// reading of a strace log: between the markers, every file system call names a path inside a root,
// and none opens a FIFO, socket or device.
import type { RootDiscovery } from '../../src/types.js';
import { entryOutcome } from './quadlet-check.js';
import type { BuiltRoot } from './tree-build.js';
import { SENTINEL } from './tree-layout.js';
import { BEGIN_MARK, END_MARK } from './trace-marks.js';

/** Everything wrong with `found` for the root `built` describes (empty when all is right). */
export function checkRoot(built: BuiltRoot, found: RootDiscovery): string[] {
  const problems: string[] = [];
  const text = JSON.stringify(found);
  if (text.includes(SENTINEL)) problems.push(`a sentinel outside the root was read: ${text.slice(0, 2000)}`);
  if (found.root !== built.root) problems.push(`root ${found.root}, expected ${built.root}`);
  for (const image of found.images) {
    if (image.root !== built.root) problems.push(`image of another root: ${JSON.stringify(image)}`);
    if (!image.sourceFile.startsWith('/') || image.sourceFile.startsWith(`${built.root}/`)) {
      problems.push(`sourceFile is not root-absolute: ${image.sourceFile}`);
    }
    if (image.authFile !== undefined && !image.authFile.startsWith(`${built.root}/`)) {
      problems.push(`AuthFile outside the root: ${image.authFile}`);
    }
  }
  for (const error of found.errors) {
    if (error.root !== built.root || error.message === '')
      problems.push(`malformed error ${JSON.stringify(error)}`);
    if (error.entry !== undefined && error.file === undefined)
      problems.push(`entry error without a file: ${error.message}`);
  }

  if (built.rootExpect !== undefined) {
    const { readable, message } = built.rootExpect;
    if (found.readable !== readable) problems.push(`readable ${found.readable}, expected ${readable}`);
    if (found.images.length > 0)
      problems.push(`images found through a bound-images.d that is not a directory`);
    const first = found.errors[0];
    if (readable && found.errors.length > 0)
      problems.push(`errors where none were expected: ${text.slice(0, 500)}`);
    if (
      !readable &&
      (first === undefined || first.entry !== undefined || !(message ?? /./).test(first.message))
    ) {
      problems.push(`root error does not match ${String(message)}: ${JSON.stringify(first)}`);
    }
    return problems;
  }

  if (!found.readable) problems.push(`root unreadable: ${JSON.stringify(found.errors[0])}`);
  if (found.images.length + found.errors.length !== built.expect.size) {
    problems.push(
      `${found.images.length} images + ${found.errors.length} errors for ${built.expect.size} entries`,
    );
  }
  for (const [entry, expect] of built.expect) {
    const got = entryOutcome(found, entry);
    const shown = JSON.stringify(entry);
    if (got === undefined) {
      problems.push(`entry ${shown}: missing from the result`);
    } else if ('image' in expect) {
      if (!('image' in got))
        problems.push(`entry ${shown}: expected ${expect.image}, got error ${got.error.message}`);
      else if (got.image.reference !== expect.image || got.image.authFile !== expect.authFile) {
        problems.push(
          `entry ${shown}: expected ${expect.image} (auth ${String(expect.authFile)}), got ${JSON.stringify(got.image)}`,
        );
      }
    } else if ('image' in got) {
      problems.push(
        `entry ${shown}: expected an error like ${String(expect.error)}, got image ${got.image.reference}`,
      );
    } else if (!expect.error.test(got.error.message)) {
      problems.push(`entry ${shown}: error "${got.error.message}" does not match ${String(expect.error)}`);
    }
  }
  return problems;
}

/** One traced file system call: the syscall and its path argument. */
export interface TracedCall {
  syscall: string;
  path: string;
}

// `PID name(AT_FDCWD, "path", …` or `PID name("path", …`: the first string argument is the path asked
// for (readlink's second string is its answer, and is not taken).
const CALL = /^\d+\s+(\w+)\((?:AT_FDCWD, |-?\d+, )?"((?:[^"\\]|\\.)*)"/;

/** strace escapes bytes as \xNN and a few C escapes; turn them back into the path's bytes. */
function unescape(text: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== '\\') {
      bytes.push(...Buffer.from(text[i] ?? ''));
      continue;
    }
    const next = text[++i];
    if (next === 'x') {
      bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else
      bytes.push(
        ...Buffer.from(({ n: '\n', t: '\t', r: '\r' } as Record<string, string>)[next ?? ''] ?? next ?? ''),
      );
  }
  return Buffer.from(bytes).toString('latin1');
}

/** The file system calls strace logged between BEGIN_MARK and END_MARK. */
export function tracedCalls(log: string): TracedCall[] {
  const calls: TracedCall[] = [];
  let inside = false;
  for (const line of log.split('\n')) {
    const match = CALL.exec(line);
    if (match === null) continue;
    const [, syscall = '', raw = ''] = match;
    const path = unescape(raw);
    if (path === BEGIN_MARK) inside = true;
    else if (path === END_MARK) inside = false;
    else if (inside) calls.push({ syscall, path });
  }
  return calls;
}

const OPENS = new Set(['open', 'openat', 'openat2', 'creat']);
/** What the runtime itself reads while discovery runs: V8's heap setup and libuv's CPU count. */
const RUNTIME_PATHS = new Set(['/proc/sys/vm/overcommit_memory', '/sys/devices/system/cpu/online']);

/**
 * Calls that leave the roots, and opens of FIFOs, sockets or devices. Paths compare as latin1 bytes.
 * Calls on a descriptor (empty path) and the runtime's own reads are not discovery's.
 */
export function traceViolations(calls: TracedCall[], roots: string[], specials: string[]): string[] {
  const inRoot = (path: string): boolean =>
    roots.some((root) => path === root || path.startsWith(`${root}/`));
  const special = new Set(specials);
  const problems: string[] = [];
  for (const { syscall, path } of calls) {
    // An empty path is a call on a descriptor (fstat, AT_EMPTY_PATH): its open was checked.
    if (path === '' || RUNTIME_PATHS.has(path)) continue;
    if (!inRoot(path)) problems.push(`${syscall}("${path}") is outside every root`);
    if (OPENS.has(syscall) && special.has(path))
      problems.push(`${syscall}("${path}") opened a FIFO, socket or device`);
  }
  return problems;
}
