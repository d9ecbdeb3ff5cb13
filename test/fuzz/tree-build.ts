// Writes a hostile tree plan (tree-plan.ts) to disk and says what discovery must answer for each
// entry: links aim at the sentinels outside the root (tree-layout.ts); inside the root those paths
// mean ROOT/…, where a plan may plant a decoy binding `decoy.invalid/…`.
import { execFileSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';

import { escapeTarget, type Layout } from './tree-layout.js';
import { inRootTarget, type EntrySpec, type Special, type TreePlan } from './tree-plan.js';
import { IS_ROOT, RootWriter } from './tree-writer.js';

const DECOY = 'decoy.invalid/in-root';
const DECOY_DROP_IN = 'decoy.invalid/in-root-drop-in';
const BOUND = '/usr/lib/bootc/bound-images.d';
const UNITS = '/usr/share/containers/systemd';

/** What discovery must answer for one entry. */
export type Expect = { image: string; authFile?: string } | { error: RegExp };

const ANY_ERROR = /./;
const MISSING = /does not exist/;
const HOP_LIMIT = /symbolic link loop|more than 40 symbolic links/;
const SPECIAL_ERROR: Record<Special, RegExp> = {
  fifo: /FIFO/,
  socket: /socket/,
  chardev: IS_ROOT ? /character device/ : /FIFO/,
  directory: /directory/,
};

export interface BuiltRoot {
  root: string;
  /** Entry name as discovery reports it → expected answer. Empty when bound-images.d is not a directory. */
  expect: Map<string, Expect>;
  /** The answer for the root when bound-images.d is not a plain directory. */
  rootExpect?: { readable: boolean; message?: RegExp };
  /** Host paths of the FIFOs, sockets and devices made: discovery must never open them. */
  specials: string[];
  /** Host paths that reach a sentinel when read on the host (through the escaping links). */
  escapes: string[];
  close(): Promise<void>;
}

function okUnit(i: number, extra = ''): string {
  return `[Image]\nImage=fuzz.invalid/ok-${i}\n${extra}`;
}
const okRef = (i: number): string => `fuzz.invalid/ok-${i}:latest`;

/** Writes one entry; returns its name (as discovery reports it) and a thunk for the expectation. */
async function writeEntry(
  w: RootWriter,
  layout: Layout,
  spec: EntrySpec,
  i: number,
): Promise<[string, () => Expect] | undefined> {
  const unit = `${UNITS}/e${i}.image`;
  const entryLink = async (name: string, target: string): Promise<string> => {
    await w.link(`${BOUND}/${name}`, target);
    return name;
  };
  switch (spec.kind) {
    case 'valid': {
      if (spec.unit === 'image') await w.file(unit, okUnit(i));
      else {
        await w.file(`${UNITS}/e${i}.container`, `[Container]\nImage=e${i}-ref.image\n`);
        await w.file(`${UNITS}/e${i}-ref.image`, okUnit(i));
      }
      return [
        await entryLink(`e${i}.${spec.unit}`, `${UNITS}/e${i}.${spec.unit}`),
        () => ({ image: okRef(i) }),
      ];
    }
    case 'chain': {
      await w.file(unit, okUnit(i));
      for (let k = 1; k <= spec.length; k++) {
        const next = k === spec.length ? unit : spec.absolute ? `/c${i}/l${k + 1}` : `l${k + 1}`;
        await w.link(`/c${i}/l${k}`, next);
      }
      const hops = spec.length + 1;
      const name = await entryLink(`e${i}.image`, `/c${i}/l1`);
      return [name, () => (hops <= 40 ? { image: okRef(i) } : { error: HOP_LIMIT })];
    }
    case 'cycle': {
      const name = `e${i}.image`;
      if (spec.length === 1) await entryLink(name, name);
      else {
        for (let k = 1; k < spec.length; k++) {
          await w.link(`/y${i}/l${k}`, k === spec.length - 1 ? `${BOUND}/${name}` : `l${k + 1}`);
        }
        await entryLink(name, `/y${i}/l1`);
      }
      return [name, () => ({ error: HOP_LIMIT })];
    }
    case 'growing':
      return [await entryLink(`e${i}.image`, `e${i}.image/x`), () => ({ error: HOP_LIMIT })];
    case 'escape': {
      const host = spec.unit === 'image' ? layout.image : layout.container;
      const target = escapeTarget(spec.how, host);
      const section = spec.unit === 'image' ? 'Image' : 'Container';
      if (spec.decoy) await w.decoy(BOUND, target, `[${section}]\nImage=${DECOY}\n`);
      const name = await entryLink(`e${i}.${spec.unit}`, target);
      w.escape(`${BOUND}/${name}`, BOUND, spec.how);
      return [name, () => (w.reaches(BOUND, target) ? { image: `${DECOY}:latest` } : { error: MISSING })];
    }
    case 'system':
      return [await entryLink(`e${i}.image`, spec.target), () => ({ error: ANY_ERROR })];
    case 'special-target': {
      if (spec.what !== 'dangling') await w.special(unit, spec.what);
      const name = await entryLink(`e${i}.image`, unit);
      return [name, () => ({ error: spec.what === 'dangling' ? /dangling/ : SPECIAL_ERROR[spec.what] })];
    }
    case 'special-entry':
      await w.special(`${BOUND}/e${i}.image`, spec.what);
      return [`e${i}.image`, () => ({ error: /not a symbolic link/ })];
    case 'bad-name':
      return badName(w, spec.name, i);
    case 'deep': {
      const path = `/deep${i}${'/d'.repeat(spec.depth)}/ok.image`;
      await w.file(path, okUnit(i));
      return [await entryLink(`e${i}.image`, path), () => ({ image: okRef(i) })];
    }
    case 'via-escaping-dir': {
      const target = escapeTarget(spec.how, layout.units);
      await w.link(`/vd${i}`, target);
      w.escape(`/vd${i}/ok.image`, '/', spec.how);
      if (spec.decoy) await w.decoy('/', `${target}/ok.image`, `[Image]\nImage=${DECOY}\n`);
      const name = await entryLink(`e${i}.image`, `/vd${i}/ok.image`);
      return [
        name,
        () => (w.reaches('/', `${target}/ok.image`) ? { image: `${DECOY}:latest` } : { error: MISSING }),
      ];
    }
    case 'drop-in':
      return dropIn(w, layout, spec, i);
    case 'image-ref':
      return imageRef(w, layout, spec, i);
    case 'auth-file':
      return authFile(w, layout, spec, i);
  }
}

async function badName(w: RootWriter, kind: string, i: number): Promise<[string, () => Expect] | undefined> {
  await w.file(`${UNITS}/e${i}.image`, okUnit(i));
  const target = `${UNITS}/e${i}.image`;
  const named = async (name: string, expect: Expect): Promise<[string, () => Expect] | undefined> => {
    if (w.names.has(name)) return undefined;
    await w.link(`${BOUND}/${name}`, target);
    return [name, () => expect];
  };
  const notNamed: Expect = { error: /is not named \*\.image or \*\.container/ };
  switch (kind) {
    case 'no-suffix':
      return named(`e${i}`, notNamed);
    case 'only-suffix':
      return named('.image', notNamed);
    case 'upper-suffix':
      return named(`e${i}.IMAGE`, notNamed);
    case 'suffix-then-more':
      return named(`e${i}.image.bak`, notNamed);
    case 'not-utf8': {
      const bytes = Buffer.concat([
        Buffer.from(`e${i}-`),
        Buffer.from([0xff, 0xc0, 0x80]),
        Buffer.from('.image'),
      ]);
      await w.link(`${BOUND}/placeholder`, target, bytes);
      return [new TextDecoder().decode(bytes), () => ({ error: /not valid UTF-8/ })];
    }
    case 'newline':
      return named(`e${i}\nx.image`, { image: okRef(i) });
    case 'longest':
      return named(`e${i}-${'x'.repeat(255 - `e${i}-.image`.length)}.image`, { image: okRef(i) });
    case 'unicode':
      return named(`e${i}-ünï😀.image`, { image: okRef(i) });
    default:
      return named(`.e${i}.image`, { image: okRef(i) });
  }
}

async function dropIn(
  w: RootWriter,
  layout: Layout,
  spec: EntrySpec & { kind: 'drop-in' },
  i: number,
): Promise<[string, () => Expect]> {
  const unit = `${UNITS}/e${i}.image`;
  const dir = `${unit}.d`;
  await w.file(unit, okUnit(i));
  const name = `e${i}.image`;
  await w.link(`${BOUND}/${name}`, unit);
  const decoyDropIn = `[Image]\nImage=${DECOY_DROP_IN}\n`;
  switch (spec.what) {
    case 'escape': {
      const target = escapeTarget(spec.how, layout.dropIn);
      await w.link(`${dir}/10.conf`, target);
      w.escape(`${dir}/10.conf`, dir, spec.how);
      if (spec.decoy) await w.decoy(dir, target, decoyDropIn);
      return [
        name,
        () => (w.reaches(dir, target) ? { image: `${DECOY_DROP_IN}:latest` } : { error: /drop-in/ }),
      ];
    }
    case 'dir-escape': {
      const target = escapeTarget(spec.how, layout.dropIns);
      await w.link(dir, target);
      w.escape(`${dir}/10.conf`, UNITS, spec.how);
      if (spec.decoy) {
        const landing = await w.decoy(UNITS, target, '');
        await w.file(`${landing}/10.conf`, decoyDropIn);
      }
      // In the root the directory is missing (no drop-ins) or the decoy's.
      return [name, () => ({ image: w.reaches(UNITS, target) ? `${DECOY_DROP_IN}:latest` : okRef(i) })];
    }
    case 'loop':
      await w.link(`${dir}/10.conf`, '10.conf');
      return [name, () => ({ error: HOP_LIMIT })];
    case 'system':
      await w.link(`${dir}/10.conf`, '/dev/zero');
      return [name, () => ({ error: ANY_ERROR })];
    default:
      await w.special(`${dir}/10.conf`, spec.what);
      return [name, () => ({ error: SPECIAL_ERROR[spec.what as Special] })];
  }
}

async function imageRef(
  w: RootWriter,
  layout: Layout,
  spec: EntrySpec & { kind: 'image-ref' },
  i: number,
): Promise<[string, () => Expect]> {
  const container = `${UNITS}/e${i}.container`;
  const image = `${UNITS}/e${i}-x.image`;
  await w.file(container, `[Container]\nImage=e${i}-x.image\n`);
  const name = `e${i}.container`;
  await w.link(`${BOUND}/${name}`, container);
  switch (spec.what) {
    case 'escape': {
      const target = escapeTarget(spec.how, layout.image);
      await w.link(image, target);
      w.escape(image, UNITS, spec.how);
      if (spec.decoy) await w.decoy(UNITS, target, `[Image]\nImage=${DECOY}\n`);
      return [name, () => (w.reaches(UNITS, target) ? { image: `${DECOY}:latest` } : { error: MISSING })];
    }
    case 'loop':
      await w.link(image, `e${i}-x.image`);
      return [name, () => ({ error: HOP_LIMIT })];
    case 'system':
      await w.link(image, '/dev/urandom');
      return [name, () => ({ error: ANY_ERROR })];
    default:
      await w.special(image, spec.what);
      return [name, () => ({ error: SPECIAL_ERROR[spec.what as Special] })];
  }
}

async function authFile(
  w: RootWriter,
  layout: Layout,
  spec: EntrySpec & { kind: 'auth-file' },
  i: number,
): Promise<[string, () => Expect]> {
  const unit = `${UNITS}/e${i}.image`;
  const name = `e${i}.image`;
  await w.link(`${BOUND}/${name}`, unit);
  const withAuth = (value: string): Promise<void> => w.file(unit, okUnit(i, `AuthFile=${value}\n`));
  switch (spec.what) {
    case 'escape': {
      const target = escapeTarget(spec.how, layout.auth);
      await withAuth(target);
      if (spec.decoy) await w.decoy(UNITS, target, '{"auths":{}}\n');
      return [
        name,
        () => {
          // AuthFile= is made absolute lexically (`..` drops a component, as systemd does for paths in
          // unit files), so only the landing matters, not the directories on the way.
          const landing = inRootTarget(UNITS, target).path;
          return w.decoys.has(landing)
            ? { image: okRef(i), authFile: w.host(landing) }
            : { error: /AuthFile=.*does not exist/ };
        },
      ];
    }
    case 'system':
      await withAuth('/proc/self/environ');
      return [name, () => ({ error: /AuthFile=/ })];
    case 'fifo':
      await withAuth(`auth-${i}.json`);
      await w.special(`${UNITS}/auth-${i}.json`, 'fifo');
      return [name, () => ({ error: /AuthFile=.*FIFO/ })];
    case 'in-root':
      await withAuth(`auth-${i}.json`);
      await w.file(`${UNITS}/auth-${i}.json`, '{"auths":{}}\n');
      return [name, () => ({ image: okRef(i), authFile: w.host(`${UNITS}/auth-${i}.json`) })];
  }
}

/** What bound-images.d itself is, when the plan says it is not a plain directory. */
async function writeBoundDir(
  w: RootWriter,
  layout: Layout,
  plan: TreePlan,
): Promise<BuiltRoot['rootExpect']> {
  const parent = dirname(BOUND);
  switch (plan.dir) {
    case 'directory':
      await mkdir(w.host(BOUND), { recursive: true });
      return undefined;
    case 'escape':
      // In the root the target is missing: a dangling link, so what the root binds is unknown
      // (docs/bound-image-files.md): unreadable, GC skipped, nothing escaped.
      await w.link(BOUND, escapeTarget(plan.how, layout.bound));
      w.escape(`${BOUND}/escaped.image`, dirname(BOUND), plan.how);
      return { readable: false, message: /dangling symbolic link/ };
    case 'proc-self':
      await w.link(BOUND, `/proc/self/root${layout.bound}`);
      return { readable: false, message: /dangling symbolic link/ };
    case 'proc-link':
      await w.link('/proc', '/proc');
      await w.link(BOUND, `/proc/self/root${layout.bound}`);
      return { readable: false, message: /loop|more than 40/ };
    case 'loop':
      await w.link(BOUND, 'bound-images.d');
      return { readable: false, message: /loop|more than 40/ };
    case 'file':
      await w.file(BOUND, '[Image]\nImage=fuzz.invalid/not-a-dir\n');
      return { readable: false, message: /not a directory/ };
    default:
      await mkdir(w.host(parent), { recursive: true });
      await w.special(BOUND, plan.dir);
      return { readable: false, message: /not a directory/ };
  }
}

/** Write `plan` as root number `index` under the layout's base directory. */
export async function buildRoot(layout: Layout, plan: TreePlan, index: number): Promise<BuiltRoot> {
  const root = join(layout.base, `r${index}`);
  const w = new RootWriter(root);
  await mkdir(w.host(UNITS), { recursive: true });
  if (plan.devices && IS_ROOT) {
    await mkdir(w.host('/dev'), { recursive: true });
    for (const [name, minor] of [
      ['zero', '5'],
      ['urandom', '9'],
      ['zero.image', '5'],
    ] as const) {
      execFileSync('mknod', [w.host(`/dev/${name}`), 'c', '1', minor]);
      w.specials.push(w.host(`/dev/${name}`));
    }
  }
  const rootExpect = await writeBoundDir(w, layout, plan);
  const thunks: Array<[string, () => Expect]> = [];
  if (rootExpect === undefined) {
    for (const [i, spec] of plan.entries.entries()) {
      const written = await writeEntry(w, layout, spec, i);
      if (written === undefined) continue;
      w.names.add(written[0]);
      thunks.push(written);
    }
  }
  const built: BuiltRoot = {
    root,
    expect: new Map(thunks.map(([name, thunk]) => [name, thunk()])),
    specials: w.specials,
    escapes: w.escapes,
    async close() {
      await Promise.all(w.servers.map((s) => new Promise((resolve) => s.close(resolve))));
    },
  };
  if (rootExpect !== undefined) built.rootExpect = rootExpect;
  return built;
}
