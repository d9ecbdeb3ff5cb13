// Configured roots are paths or globs (`/ostree/deploy/*/deploy/*`). A glob counts only the
// directories it matches (ostree keeps `<deployment>.origin` files beside the deployment
// directories); a plain path is kept as written, so discovery can report it when it is missing.
import { resolve } from 'node:path';

import { glob, isDynamicPattern } from 'tinyglobby';

import { compareNames } from './in-root-loader.js';

function withoutTrailingSlash(path: string): string {
  return path.length > 1 && path.endsWith('/') ? path.replace(/\/+$/, '') || '/' : path;
}

/** Expand root patterns (absolute paths or globs) to absolute root paths, deduplicated and sorted. */
export async function expandRoots(patterns: string[]): Promise<string[]> {
  const roots = new Set<string>();
  for (const pattern of patterns) {
    if (!pattern.startsWith('/')) throw new Error(`root "${pattern}" must be an absolute path or glob`);
    if (!isDynamicPattern(pattern)) {
      roots.add(resolve(pattern));
      continue;
    }
    const matches = await glob(pattern, {
      onlyDirectories: true,
      absolute: true,
      expandDirectories: false,
      cwd: '/',
    });
    for (const match of matches) roots.add(resolve(withoutTrailingSlash(match)));
  }
  return [...roots].sort(compareNames);
}
