// Validation of Upgrade's a{sv} options at the bus boundary: every key known, every variant of the
// expected type, every value in range, `root` an existing directory (resolved with realpath).
// Nothing is cast: anything unexpected becomes an InvalidArgs error naming the option.
import { realpath, stat } from 'node:fs/promises';
import { PULL_POLICIES } from '../contract/index.js';
import type { ReconcileOptions } from '../reconcile/job.js';
import { invalidArgs } from './errors.js';
import { clipName } from '../clip.js';
import { errnoCode, isRecord } from '../errors.js';

export const UPGRADE_OPTIONS = ['root', 'pull-policy', 'dry-run', 'gc'] as const;
/** Longest `root` accepted (PATH_MAX). */
const MAX_PATH = 4096;

const TYPE_WORDS: Record<string, string> = { s: 'a string', b: 'a boolean' };

interface VariantLike {
  signature: string;
  value: unknown;
}

function isVariant(v: unknown): v is VariantLike {
  return isRecord(v) && typeof v.signature === 'string';
}

/** Cleans what a caller sent of control characters and shortens it before it is echoed in an error. */
export function shown(text: string): string {
  const clean = Array.from(text, (c) => (c < ' ' || c === '\u007f' ? '?' : c)).join('');
  return clipName(clean);
}

function typed(key: string, v: VariantLike, signature: 's'): string;
function typed(key: string, v: VariantLike, signature: 'b'): boolean;
function typed(key: string, v: VariantLike, signature: 's' | 'b'): string | boolean {
  const want = signature === 's' ? 'string' : 'boolean';
  if (v.signature !== signature || typeof v.value !== want) {
    throw invalidArgs(
      `option '${key}' must be ${TYPE_WORDS[signature]} (variant type '${signature}'), got type '${shown(v.signature)}'`,
    );
  }
  return v.value as string | boolean;
}

/** Resolves `root` to a real directory path, or throws InvalidArgs saying why it cannot be used. */
export async function resolveRoot(root: string): Promise<string> {
  if (root === '' || !root.startsWith('/')) {
    throw invalidArgs(`option 'root' must be an absolute path, got '${shown(root)}'`);
  }
  if (root.length > MAX_PATH || root.includes('\0')) {
    throw invalidArgs(`option 'root' is not a valid path`);
  }
  let real: string;
  try {
    real = await realpath(root);
  } catch (err) {
    const code = errnoCode(err) ?? 'unknown error';
    if (code === 'ENOENT') throw invalidArgs(`option 'root': '${shown(root)}' does not exist`);
    if (code === 'ENOTDIR') throw invalidArgs(`option 'root': '${shown(root)}' is not a directory`);
    throw invalidArgs(`option 'root': cannot resolve '${shown(root)}' (${code})`);
  }
  let isDir: boolean;
  try {
    isDir = (await stat(real)).isDirectory();
  } catch (err) {
    throw invalidArgs(`option 'root': cannot stat '${shown(real)}' (${errnoCode(err) ?? 'unknown error'})`);
  }
  if (!isDir) {
    const via = real === root ? '' : ` (resolves to '${shown(real)}')`;
    throw invalidArgs(`option 'root': '${shown(root)}'${via} is not a directory`);
  }
  return real;
}

/**
 * Validates Upgrade's options as dbus-next unmarshals an `a{sv}` (an object of variants) and returns
 * the reconcile options; throws a ServiceError (InvalidArgs) on the first problem.
 */
export async function parseUpgradeOptions(raw: unknown): Promise<ReconcileOptions> {
  if (!isRecord(raw)) {
    throw invalidArgs('Upgrade takes one argument of type a{sv}');
  }
  const options: ReconcileOptions = { extraRoots: [], pullPolicy: 'missing', dryRun: false, gc: true };
  let root: string | null = null;
  for (const [key, value] of Object.entries(raw)) {
    if (!isVariant(value)) throw invalidArgs(`option '${shown(key)}' is not a variant`);
    switch (key) {
      case 'root':
        root = typed(key, value, 's');
        break;
      case 'pull-policy': {
        const policy = typed(key, value, 's');
        const known = PULL_POLICIES.find((p) => p === policy);
        if (!known) {
          throw invalidArgs(
            `option 'pull-policy' must be one of ${PULL_POLICIES.join(', ')}, got '${shown(policy)}'`,
          );
        }
        options.pullPolicy = known;
        break;
      }
      case 'dry-run':
        options.dryRun = typed(key, value, 'b');
        break;
      case 'gc':
        options.gc = typed(key, value, 'b');
        break;
      default:
        throw invalidArgs(`unknown option '${shown(key)}' (known options: ${UPGRADE_OPTIONS.join(', ')})`);
    }
  }
  if (root !== null) options.extraRoots = [await resolveRoot(root)];
  return options;
}
