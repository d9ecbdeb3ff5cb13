// The rules a hostile Quadlet case must satisfy, as pure checks returning what is wrong (or undefined):
// it ends in a result or a QuadletError/ReferenceError naming a file of the case and a line inside it,
// never another exception; and the real discovery path agrees with the direct one.
import type { DiscoveryError, RootDiscovery } from '../../src/types.js';
import type { FuzzResult, MemoryFiles, QuadletFailure, ResolveOutcome } from './fuzz-protocol.js';
import type { Content, QuadletCase } from './quadlet-arbitraries.js';

/** Where a case's files go, root-absolute: `dir/name`. */
export function placeCase(c: QuadletCase, dir: string): { unit: string; files: Record<string, Content> } {
  const files: Record<string, Content> = {};
  for (const [name, content] of Object.entries(c.files)) files[`${dir}/${name}`] = content;
  return { unit: `${dir}/${c.unit}`, files };
}

function lineCount(text: string): number {
  return (text.startsWith('\uFEFF') ? text.slice(1) : text).split(/\r\n|\r|\n/).length;
}

const KIND = /\.(image|container)$/;

/** A QuadletError must name a file of the case (or the unit's drop-in directory) and a line in it. */
function checkFailure(failure: QuadletFailure, unit: string, files: MemoryFiles): string | undefined {
  const text = files[failure.file];
  if (text === undefined && failure.file !== unit && failure.file !== `${unit}.d`) {
    return `QuadletError names ${failure.file}, which is not a file of the case`;
  }
  if (failure.line !== undefined) {
    const lines = text === undefined ? 0 : lineCount(text);
    if (!Number.isInteger(failure.line) || failure.line < 1 || failure.line > lines) {
      return `QuadletError line ${failure.line} is outside ${failure.file} (${lines} lines)`;
    }
  }
  const prefix = failure.line === undefined ? `${failure.file}: ` : `${failure.file}:${failure.line}: `;
  if (!failure.message.startsWith(prefix) || failure.detail.trim() === '') {
    return `QuadletError message does not read "FILE:LINE: what": ${failure.message.slice(0, 200)}`;
  }
  return undefined;
}

function checkResolve(outcome: ResolveOutcome, unit: string, files: MemoryFiles): string | undefined {
  switch (outcome.kind) {
    case 'unexpected':
      return `resolveBoundImageFile threw ${outcome.name}: ${outcome.message}\n${outcome.stack}`;
    case 'quadlet-error':
      return checkFailure(outcome, unit, files);
    case 'reference-error':
      return outcome.reason === '' ? 'ReferenceError without a reason' : undefined;
    case 'image':
      if (!KIND.test(unit)) return `${unit} is not a .image/.container file, yet it gave an image`;
      if (files[outcome.sourceFile] === undefined)
        return `image from ${outcome.sourceFile}, not a file of the case`;
      if (!outcome.reference.includes('/')) return `reference ${outcome.reference} is not normalized`;
      if (outcome.authFile !== undefined && !outcome.authFile.startsWith('/')) {
        return `AuthFile ${outcome.authFile} is not root-absolute`;
      }
      return undefined;
  }
}

/** What is wrong with the direct path's result for one case, or undefined. */
export function checkDirect(unit: string, files: MemoryFiles, result: FuzzResult): string | undefined {
  if (result.op !== 'quadlet') return `expected a quadlet result, got ${result.op}`;
  const { parse, resolve } = result;
  if (parse.kind === 'unexpected')
    return `parseUnitFile threw ${parse.name}: ${parse.message}\n${parse.stack}`;
  if (parse.kind === 'quadlet-error') {
    const problem = checkFailure(parse, unit, files);
    if (problem !== undefined) return `parseUnitFile: ${problem}`;
    if (parse.file !== unit) return `parseUnitFile blamed ${parse.file}, not the file it was given`;
  }
  const problem = checkResolve(resolve, unit, files);
  if (problem !== undefined) return problem;
  // The resolver parses the unit first: a unit that does not parse cannot bind anything.
  if (parse.kind === 'quadlet-error' && KIND.test(unit)) {
    if (resolve.kind !== 'quadlet-error' || resolve.file !== parse.file || resolve.line !== parse.line) {
      return `the unit does not parse (${parse.message.slice(0, 200)}) but resolving it gave ${resolve.kind}`;
    }
  }
  return undefined;
}

/** The discovery outcome of one entry: its image or its error. */
export function entryOutcome(
  found: RootDiscovery,
  entry: string,
): { image: RootDiscovery['images'][number] } | { error: DiscoveryError } | undefined {
  const image = found.images.find((i) => i.entry === entry);
  if (image !== undefined) return { image };
  const error = found.errors.find((e) => e.entry === entry);
  return error === undefined ? undefined : { error };
}

/**
 * Discovery of a case's entry against the direct path on the same text: same image, or an error
 * naming the same file and line. `direct` is undefined when the case is not comparable (a file over
 * the size limit or not UTF-8: discovery refuses it before parsing, which is checked separately).
 */
export function checkAgreement(
  root: string,
  got: ReturnType<typeof entryOutcome>,
  direct: ResolveOutcome | undefined,
): string | undefined {
  if (got === undefined) return 'the entry is in neither images nor errors';
  if ('error' in got) {
    const e = got.error;
    if (e.root !== root || e.message === '') return `malformed DiscoveryError ${JSON.stringify(e)}`;
    if (e.file === undefined || !e.file.startsWith('/') || e.file.startsWith(`${root}/`)) {
      return `DiscoveryError file ${String(e.file)} is not a root-absolute path`;
    }
  } else if (
    got.image.root !== root ||
    (got.image.authFile !== undefined && !got.image.authFile.startsWith(`${root}/`))
  ) {
    return `image outside its root: ${JSON.stringify(got.image)}`;
  }
  if (direct === undefined) return undefined;
  switch (direct.kind) {
    case 'image':
      if ('image' in got) {
        return got.image.reference === direct.reference
          ? undefined
          : `discovery bound ${got.image.reference}, the direct path ${direct.reference}`;
      }
      // The direct loader does not check AuthFile=; discovery resolves it in the root and may refuse it.
      return direct.authFile !== undefined && got.error.message.startsWith('AuthFile=')
        ? undefined
        : `discovery failed (${got.error.message.slice(0, 200)}) where the direct path bound ${direct.reference}`;
    case 'quadlet-error':
      if ('image' in got)
        return `discovery bound ${got.image.reference} where the direct path failed: ${direct.message}`;
      return got.error.file === direct.file && got.error.line === direct.line
        ? undefined
        : `discovery blamed ${got.error.file}:${got.error.line}, the direct path ${direct.file}:${direct.line}`;
    case 'reference-error':
      if ('image' in got)
        return `discovery bound ${got.image.reference}, the direct path found no valid reference`;
      return got.error.message.includes(direct.reason) ? undefined : `discovery said ${got.error.message}`;
    case 'unexpected':
      return `direct path threw ${direct.name}`;
  }
}
