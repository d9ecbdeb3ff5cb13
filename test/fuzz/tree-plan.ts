// Generated plans of hostile bound-images.d trees: what each entry of a root is (a good link, a loop, a
// chain, a link out of the root, to /proc or /dev, a FIFO, a socket, a device, a deep path, a bad name,
// a hostile drop-in, `.image` reference or AuthFile=) and what the bound-images.d directory itself is.
// Pure data: tree-build.ts writes a plan to disk and says what discovery must answer for it.
import fc from 'fast-check';

/** How a link that tries to leave the root is written, for a host path H outside the root. */
export type EscapeForm =
  | { form: 'host-absolute' }
  | { form: 'dotdot'; ups: number }
  | { form: 'root-dotdot'; ups: number }
  | { form: 'proc-root'; via: 'self' | 'thread-self' | '1' | 'pid' }
  | { form: 'proc-cwd' };

/** Paths a link may point at that are never a Quadlet file: kernel files and devices. */
export const SYSTEM_TARGETS = [
  '/dev/zero',
  '/dev/urandom',
  '/dev/null',
  '/dev/full',
  '/dev/stdin',
  '/dev/fd/0',
  '/proc/self/fd/0',
  '/proc/self/environ',
  '/proc/kmsg',
  '/sys/kernel/notes',
  '/dev/zero.image',
  '/proc/self/fd/0.image',
] as const;

export type Special = 'fifo' | 'socket' | 'chardev' | 'directory';

export type EntrySpec =
  | { kind: 'valid'; unit: 'image' | 'container' }
  /** `length` links between the entry and the unit (the entry itself is one more). */
  | { kind: 'chain'; length: number; absolute: boolean }
  /** A loop of `length` links through the entry (1: the entry points at itself). */
  | { kind: 'cycle'; length: number }
  /** `a -> a/x`: each step adds a component; never a repeated state, ends at the hop limit. */
  | { kind: 'growing' }
  | { kind: 'escape'; unit: 'image' | 'container'; how: EscapeForm; decoy: boolean }
  | { kind: 'system'; target: (typeof SYSTEM_TARGETS)[number] }
  | { kind: 'special-target'; what: Special | 'dangling' }
  | { kind: 'special-entry'; what: Special | 'regular' }
  | { kind: 'bad-name'; name: BadName }
  | { kind: 'deep'; depth: number }
  /** The unit directory on the way is itself a link that tries to leave the root. */
  | { kind: 'via-escaping-dir'; how: EscapeForm; decoy: boolean }
  | {
      kind: 'drop-in';
      what: 'escape' | 'dir-escape' | 'loop' | Special | 'system';
      how: EscapeForm;
      decoy: boolean;
    }
  | { kind: 'image-ref'; what: 'escape' | 'loop' | Special | 'system'; how: EscapeForm; decoy: boolean }
  | { kind: 'auth-file'; what: 'escape' | 'system' | 'fifo' | 'in-root'; how: EscapeForm; decoy: boolean };

export type BadName =
  | 'no-suffix'
  | 'only-suffix'
  | 'upper-suffix'
  | 'suffix-then-more'
  | 'not-utf8'
  | 'newline'
  | 'longest'
  | 'unicode'
  | 'leading-dot';

/** What bound-images.d itself is. Anything but a plain directory must end in a root-level answer. */
export type DirKind =
  'directory' | 'escape' | 'loop' | 'fifo' | 'socket' | 'chardev' | 'file' | 'proc-self' | 'proc-link';

export interface TreePlan {
  dir: DirKind;
  how: EscapeForm;
  entries: EntrySpec[];
  /** Plant character devices at ROOT/dev/zero and ROOT/dev/urandom (as root only). */
  devices: boolean;
}

export const escapeForm: fc.Arbitrary<EscapeForm> = fc.oneof(
  fc.constant<EscapeForm>({ form: 'host-absolute' }),
  fc.integer({ min: 1, max: 64 }).map((ups): EscapeForm => ({ form: 'dotdot', ups })),
  fc.integer({ min: 1, max: 16 }).map((ups): EscapeForm => ({ form: 'root-dotdot', ups })),
  fc.constantFrom('self', 'thread-self', '1', 'pid').map((via): EscapeForm => ({ form: 'proc-root', via })),
  fc.constant<EscapeForm>({ form: 'proc-cwd' }),
);

const special = fc.constantFrom<Special>('fifo', 'socket', 'chardev', 'directory');

const entrySpec: fc.Arbitrary<EntrySpec> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom('image', 'container').map((unit): EntrySpec => ({ kind: 'valid', unit })),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.oneof(fc.integer({ min: 1, max: 45 }), fc.constantFrom(38, 39, 40, 41, 60)), fc.boolean())
      .map(([length, absolute]): EntrySpec => ({ kind: 'chain', length, absolute })),
  },
  {
    weight: 2,
    arbitrary: fc.integer({ min: 1, max: 5 }).map((length): EntrySpec => ({ kind: 'cycle', length })),
  },
  { weight: 1, arbitrary: fc.constant<EntrySpec>({ kind: 'growing' }) },
  {
    weight: 4,
    arbitrary: fc
      .tuple(fc.constantFrom('image', 'container'), escapeForm, fc.boolean())
      .map(([unit, how, decoy]): EntrySpec => ({ kind: 'escape', unit, how, decoy })),
  },
  {
    weight: 2,
    arbitrary: fc.constantFrom(...SYSTEM_TARGETS).map((target): EntrySpec => ({ kind: 'system', target })),
  },
  {
    weight: 2,
    arbitrary: fc
      .oneof(special, fc.constant('dangling' as const))
      .map((what): EntrySpec => ({ kind: 'special-target', what })),
  },
  {
    weight: 2,
    arbitrary: fc
      .oneof(special, fc.constant('regular' as const))
      .map((what): EntrySpec => ({ kind: 'special-entry', what })),
  },
  {
    weight: 2,
    arbitrary: fc
      .constantFrom<BadName>(
        'no-suffix',
        'only-suffix',
        'upper-suffix',
        'suffix-then-more',
        'not-utf8',
        'newline',
        'longest',
        'unicode',
        'leading-dot',
      )
      .map((name): EntrySpec => ({ kind: 'bad-name', name })),
  },
  {
    weight: 1,
    arbitrary: fc
      .oneof({ weight: 9, arbitrary: fc.integer({ min: 2, max: 64 }) }, fc.constant(256))
      .map((depth): EntrySpec => ({ kind: 'deep', depth })),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(escapeForm, fc.boolean())
      .map(([how, decoy]): EntrySpec => ({ kind: 'via-escaping-dir', how, decoy })),
  },
  {
    weight: 3,
    arbitrary: fc
      .tuple(
        fc.constantFrom('escape', 'dir-escape', 'loop', 'fifo', 'socket', 'chardev', 'directory', 'system'),
        escapeForm,
        fc.boolean(),
      )
      .map(([what, how, decoy]): EntrySpec => ({ kind: 'drop-in', what, how, decoy })),
  },
  {
    weight: 3,
    arbitrary: fc
      .tuple(
        fc.constantFrom('escape', 'loop', 'fifo', 'socket', 'chardev', 'directory', 'system'),
        escapeForm,
        fc.boolean(),
      )
      .map(([what, how, decoy]): EntrySpec => ({ kind: 'image-ref', what, how, decoy })),
  },
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.constantFrom('escape', 'system', 'fifo', 'in-root'), escapeForm, fc.boolean())
      .map(([what, how, decoy]): EntrySpec => ({ kind: 'auth-file', what, how, decoy })),
  },
);

export const treePlan: fc.Arbitrary<TreePlan> = fc.record({
  dir: fc.oneof(
    { weight: 30, arbitrary: fc.constant<DirKind>('directory') },
    {
      weight: 1,
      arbitrary: fc.constantFrom<DirKind>(
        'escape',
        'loop',
        'fifo',
        'socket',
        'chardev',
        'file',
        'proc-self',
        'proc-link',
      ),
    },
  ),
  how: escapeForm,
  entries: fc.array(entrySpec, { minLength: 2, maxLength: 20, size: 'max' }),
  devices: fc.boolean(),
});

/**
 * Where `target`, written in a link inside directory `linkDir` (root-absolute), lands inside the root
 * when no link is on the way: `..` stops at the root, an absolute target starts at the root. `dirs`
 * are the directories the walk goes through (the kernel, and discovery, look at each before a `..`).
 */
export function inRootTarget(linkDir: string, target: string): { path: string; dirs: string[] } {
  const parts = target.startsWith('/') ? [] : linkDir.split('/').filter(Boolean);
  const dirs: string[] = [];
  for (const part of target.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      // The directory is looked at before `..` leaves it, so it must exist.
      if (parts.length > 0) dirs.push(`/${parts.join('/')}`);
      parts.pop();
      continue;
    }
    if (parts.length > 0) dirs.push(`/${parts.join('/')}`);
    parts.push(part);
  }
  return { path: `/${parts.join('/')}`, dirs };
}
