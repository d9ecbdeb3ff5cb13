// The outside of the hostile trees: a base directory whose `outside` holds sentinels — valid Quadlet
// files binding `sentinel.invalid/…`, a drop-in, an auth file, a bound-images.d — and the ways a link
// in a root can be written to aim at them by their host paths (absolute, `../..`, /proc/self/root,
// /proc/self/cwd). A sentinel reference in any discovery result is a read outside the root.
import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

import type { EscapeForm } from './tree-plan.js';

export const SENTINEL = 'sentinel.invalid';

export interface Layout {
  base: string;
  outside: string;
  /** Host paths of the sentinels. */
  image: string;
  container: string;
  dropIn: string;
  dropIns: string;
  auth: string;
  bound: string;
  units: string;
}

/** A fresh base directory with the sentinels outside any root. */
export async function makeLayout(): Promise<Layout> {
  const base = await mkdtemp(join(tmpdir(), 'bi-fuzz-tree-'));
  const outside = join(base, 'outside');
  const layout: Layout = {
    base,
    outside,
    image: join(outside, 'sentinel.image'),
    container: join(outside, 'sentinel.container'),
    dropIn: join(outside, 'sentinel.conf'),
    dropIns: join(outside, 'drop-ins'),
    auth: join(outside, 'auth.json'),
    bound: join(outside, 'bound-images.d'),
    units: join(outside, 'units'),
  };
  const dropIn = `[Image]\nImage=${SENTINEL}/escaped-drop-in\n[Container]\nImage=${SENTINEL}/escaped-drop-in\n`;
  await mkdir(layout.dropIns, { recursive: true });
  await mkdir(layout.bound, { recursive: true });
  await mkdir(layout.units, { recursive: true });
  await writeFile(layout.image, `[Image]\nImage=${SENTINEL}/escaped\n`);
  await writeFile(layout.container, `[Container]\nImage=${SENTINEL}/escaped-container\n`);
  await writeFile(layout.dropIn, dropIn);
  await writeFile(join(layout.dropIns, '10.conf'), dropIn);
  await writeFile(layout.auth, `{"auths":{"${SENTINEL}":{"auth":"c2VudGluZWw6c2VjcmV0"}}}\n`);
  await writeFile(join(layout.units, 'ok.image'), `[Image]\nImage=${SENTINEL}/escaped-units\n`);
  await symlink(layout.image, join(layout.bound, 'escaped.image'));
  return layout;
}

/** How a link written in `linkDir` aims at host path `host` outside the root. */
export function escapeTarget(how: EscapeForm, host: string): string {
  switch (how.form) {
    case 'host-absolute':
      return host;
    case 'dotdot':
      return '../'.repeat(how.ups) + host.slice(1);
    case 'root-dotdot':
      return `/${'../'.repeat(how.ups)}${host.slice(1)}`;
    case 'proc-root':
      return `/proc/${how.via === 'pid' ? process.pid : how.via}/root${host}`;
    case 'proc-cwd':
      return `/proc/self/cwd/${relative(process.cwd(), host)}`;
  }
}
