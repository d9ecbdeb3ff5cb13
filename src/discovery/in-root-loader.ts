// The QuadletLoader of one root: Quadlet files, drop-in directories and `.image` siblings are all
// read with the in-root rules (links resolved inside the root, regular files only, size limits).
import type { QuadletLoader } from '../quadlet/index.js';
import { FsCache, InRootError } from './in-root-path.js';
import { listInRootDirectory, readInRootFile } from './in-root-read.js';
import type { DiscoveryLimits } from './limits.js';

/** Byte order of the UTF-8 names, as systemd sorts drop-ins (strcmp). */
export function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

export function createInRootLoader(
  root: string,
  limits: DiscoveryLimits,
  cache: FsCache = new FsCache(),
): QuadletLoader {
  return {
    async read(rootPath) {
      const file = await readInRootFile(root, rootPath, limits, cache);
      return { path: file.path, text: file.text };
    },
    async listDropIns(unitRootPath) {
      let dir;
      try {
        dir = await listInRootDirectory(root, `${unitRootPath}.d`, limits, cache);
      } catch (error) {
        if (error instanceof InRootError && error.code === 'ENOENT') return [];
        throw error;
      }
      const bad = dir.invalidNames.find((name) => name.endsWith('.conf'));
      if (bad !== undefined) {
        throw new InRootError(
          'EILSEQ',
          `${unitRootPath}.d`,
          `holds a drop-in whose name is not valid UTF-8: ${bad}`,
        );
      }
      // systemd reads `*.conf` and skips hidden files.
      const base = dir.path === '/' ? '' : dir.path;
      return dir.names
        .filter((name) => name.endsWith('.conf') && !name.startsWith('.'))
        .sort(compareNames)
        .map((name) => `${base}/${name}`);
    },
  };
}
